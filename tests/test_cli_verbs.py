"""``grade run|batch|class|explain|demo``: each verb is ``grade`` restricted to its own options, and
grades exactly as the old spelling does (``grade SUBMISSION``, ``grade --batch DIR``, ``--explain``).

Also the output routing API (:func:`grader.reports.routing.write_reports`) that the CLI goes through,
and :meth:`grader.result.Result.ungradable`, the one "could not be graded" every format renders.
"""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from grader.cli import VERBS, main


def _run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _stable(report: dict) -> dict:
    """A JSON report without what differs between two grades of one store (times, temp paths)."""
    report = json.loads(json.dumps(report))
    report.pop("duration_ms", None)
    for check in report["checks"]:
        check.pop("duration_ms", None)
    return report


def test_run_is_grade_submission(capsys, reference_store_file):
    code_old, old, _ = _run(capsys, str(reference_store_file), "--format", "json", "--no-probe", "-q")
    code_new, new, _ = _run(capsys, "run", str(reference_store_file), "--format", "json", "--no-probe", "-q")
    assert code_old == code_new == 1  # model.predict skipped without the probe
    assert _stable(json.loads(old)) == _stable(json.loads(new))


def test_batch_verb_is_grade_batch(capsys, reference_store_file, tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    shutil.copytree(reference_store_file, klass / "ana")
    (klass / "beto").mkdir()  # no store: an error row
    rows = {}
    for name, args in (("old", ["--batch", str(klass)]), ("new", ["batch", str(klass)])):
        out = tmp_path / name
        code, _, err = _run(capsys, *args, "--out", str(out), "--no-probe", "-j", "1", "--lang", "en")
        assert code == 1, err
        with (out / "gradebook.csv").open(encoding="utf-8", newline="") as handle:
            rows[name] = [{k: v for k, v in row.items() if "duration" not in k} for row in csv.DictReader(handle)]
    assert rows["old"] == rows["new"]
    assert [(r["student"], r["status"]) for r in rows["new"]] == [("ana", "fail"), ("beto", "error")]


def test_explain_verb_is_explain_option(capsys):
    code_old, old, _ = _run(capsys, "--explain", "registry.best_run", "--lang", "en")
    code_new, new, _ = _run(capsys, "explain", "registry.best_run", "--lang", "en")
    assert code_old == code_new == 0 and old == new and "registry.best_run" in new


@pytest.mark.parametrize(
    "args",
    [
        ["batch", "DIR", "--out", "OUT", "--format", "json"],  # a batch has no stdout report
        ["explain", "runs.count", "--out", "x"],
        ["run", "SUB", "--jobs", "2"],
        ["demo", "--students", "ana"],
        ["class", "http://127.0.0.1:9", "--only", "ana", "--out", "x"],
    ],
)
def test_a_verb_refuses_options_that_are_not_its_own(capsys, args):
    code, out, err = _run(capsys, *args, "--lang", "en")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "No such option" in err, err


def test_batch_and_class_need_out_and_class_needs_students(capsys):
    code, _, err = _run(capsys, "batch", "somewhere", "--lang", "en")
    assert code == 2 and "grade batch needs --out DIR" in err
    code, _, err = _run(capsys, "class", "http://127.0.0.1:9", "--out", "x", "--lang", "en")
    assert code == 2 and "--students" in err and "Traceback" not in err


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_each_verb_has_its_help_in_both_languages(capsys, verb):
    shown = {}
    for lang in ("es", "en"):
        code, shown[lang], _ = _run(capsys, verb, "--help", "--lang", lang)
        assert code == 0
    assert shown["es"].startswith(f"Uso: grade {verb} [OPCIONES]") and "Opciones:" in shown["es"]
    assert shown["en"].startswith(f"Usage: grade {verb} [OPTIONS]") and "Options:" in shown["en"]
    assert shown["es"] != shown["en"] and f"grade {verb}\n" not in shown["en"]  # the catalogue's help, not a stub


def test_grade_help_lists_the_verbs(capsys):
    _, out, _ = _run(capsys, "--help", "--lang", "en")
    flat = " ".join(out.split())
    for verb in VERBS:
        assert f"grade {verb}" in flat


def test_format_choices_are_the_report_registry(capsys):
    from grader.cli import OUTPUT_FORMATS
    from grader.reports import FORMATS

    assert set(OUTPUT_FORMATS) == set(FORMATS) and OUTPUT_FORMATS[0] == "text"
    code, _, err = _run(capsys, "run", "x", "--format", "nope", "--lang", "en")
    assert code == 2 and all(name in err for name in FORMATS)


def test_write_reports_writes_what_the_cli_writes(capsys, reference_store_file, tmp_path):
    from grader import grade
    from grader.reports.routing import Outputs, write_reports

    code, _, _ = _run(
        capsys, "run", str(reference_store_file), "--no-probe", "-q", "--lang", "en",
        "--out", str(tmp_path / "cli"), "--junit", str(tmp_path / "cli.xml"),
    )
    assert code == 1
    result = grade(reference_store_file, lang="en", probe=False)
    written = write_reports(result, Outputs(folder=str(tmp_path / "api"), files=(("junit", str(tmp_path / "api.xml")),)))
    assert written == [str(tmp_path / "api" / "report.json"), str(tmp_path / "api" / "report.html"), str(tmp_path / "api.xml")]
    cli_report = json.loads((tmp_path / "cli" / "report.json").read_text())
    api_report = json.loads((tmp_path / "api" / "report.json").read_text())
    assert _stable(cli_report) == _stable(api_report)
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        Outputs(files=(("pdf", "x.pdf"),))


def test_ungradable_result_is_the_same_zero_in_every_format(tmp_path):
    from grader.reports import FORMATS, render
    from grader.reports.classroom import classroom_payload
    from grader.reports.classroom50 import Context, classroom50_payload, release_body
    from grader.reports.gradescope import gradescope_payload
    from grader.result import Result
    from grader.rubric import load_rubric

    rubric = load_rubric("homework-195")
    total = sum(spec.points for spec in rubric.checks)
    result = Result.ungradable("no MLflow store in ana/", rubric, "en", input="ana/")
    assert (result.score, result.max_score, result.passed, result.exit_code) == (0, total, False, 1)
    assert {c.status for c in result.checks} == {"error"} and all(c.message == result.error for c in result.checks)
    back = Result.from_dict(json.loads(render(result, "json")))
    assert back.error == result.error and back == result
    classroom = classroom_payload(result)
    assert classroom["status"] == "error" and classroom["max_score"] == total
    assert sum(t["score"] for t in classroom["tests"]) == 0
    c50 = classroom50_payload(result, Context())
    assert (c50["score"], c50["max-score"]) == (0, total)
    assert "could not be graded" in release_body(result, c50) and "ana/" in release_body(result, c50)
    gradescope = gradescope_payload(result)
    assert gradescope["score"] == 0 and "no MLflow store in ana" in gradescope["output"]
    assert gradescope["extra_data"]["error"] == result.error
    for fmt in FORMATS:  # every format renders it, and says why
        assert "no MLflow store" in render(result, fmt) or fmt == "classroom", fmt

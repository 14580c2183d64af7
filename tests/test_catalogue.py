"""Every text a user reads, in Spanish and in English, from one catalogue (issue 16).

* The catalogue (:mod:`grader.catalogue`) is complete: each key has both languages with the same
  placeholders, and its English copies of other modules' texts are still word for word theirs.
* ``grade``'s one line on exit 2, for every kind of broken input and usage error, is in the
  language asked for: the two languages differ, and the Spanish line has no English in it.
* ``grade --explain`` speaks the chosen language, without reST markup.
* ``--no-probe`` says so on the checks it skips, with no hint of their own.
* ``--student`` says it is the student view in every report, and a hidden check's evidence shows
  nowhere else (a hidden ``integrity.metrics``' recomputed ``rmse_test`` in ``model.predict``).
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from grader.api import grade
from grader.catalogue import MESSAGES, TRANSLATABLE, placeholders, text, translate
from grader.cli import main
from grader.rubric import LANGS

# --------------------------------------------------------------------------- the catalogue


def test_every_key_has_both_languages_with_the_same_placeholders():
    bad = []
    for key, texts in MESSAGES.items():
        missing = [lang for lang in LANGS if not (texts.get(lang) or "").strip()]
        if missing:
            bad.append(f"{key}: no {', '.join(missing)}")
        elif placeholders(texts["es"]) != placeholders(texts["en"]):
            bad.append(f"{key}: es {sorted(placeholders(texts['es']))} != en {sorted(placeholders(texts['en']))}")
        elif key.startswith(TRANSLATABLE) and texts["es"] == texts["en"]:
            bad.append(f"{key}: the same text in both languages")
    assert not bad, "\n".join(bad)


def test_translate_recognises_the_english_texts_and_leaves_others_alone():
    assert translate("submission not found: /x/ana", "es") == "no se encontró la entrega: /x/ana"
    assert translate("submission not found: /x/ana", "en") == "submission not found: /x/ana"
    # the values are translated too, and counts keep their grammar
    assert translate("bad deadline: not a date/time: 'x'", "es") == "fecha límite inválida: no es una fecha/hora: 'x'"
    assert translate("1 link inside the archive was not extracted", "es") == \
        "1 enlace dentro del archivo comprimido no se extrajo"
    assert translate("3 links inside the archive were not extracted", "es").startswith("3 enlaces")
    assert translate("something the catalogue does not know", "es") == "something the catalogue does not know"
    assert translate("", "es") == ""


def _raises(func, *args, **kwargs) -> str:
    with pytest.raises(Exception) as info:
        func(*args, **kwargs)
    return str(info.value)


def test_english_copies_are_still_the_raisers_own_words(tmp_path):
    """``translate`` recognises other modules' English texts word for word: if one of them
    rewords its message, its Spanish would silently be lost. Each raiser is called for real and
    its text must match the catalogue's English."""
    from grader.rubric import load_rubric
    from grader.submission.limits import check_sqlite
    from grader.submission.locate import locate
    from grader.watchdog import GradeTimeout

    (tmp_path / "notes.txt").write_text("not a database")
    (tmp_path / "empty").mkdir()
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    cases = {
        "error.not_found": _raises(locate, str(tmp_path / "nope")),
        "error.not_a_db": _raises(locate, str(tmp_path / "notes.txt")),
        "error.scheme": _raises(locate, "s3://bucket/mlruns"),
        "error.no_store": _raises(locate, str(tmp_path / "empty")),
        "error.rubric_unknown": _raises(load_rubric, "nope"),
        "error.rubric_not_found": _raises(load_rubric, str(tmp_path / "nope.yaml")),
        "error.timeout": str(GradeTimeout(3)),
        "error.unknown_lang": _raises(grade, tmp_path, lang="fr"),
        "error.db_damaged": _raises(check_sqlite, broken),
    }
    for key, message in cases.items():
        assert translate(message, "es") != message, (key, message)
        assert translate(message, "es") == translate(message, "es", 0)  # deterministic
        pattern_keys = [k for k in MESSAGES if k.startswith(TRANSLATABLE)]
        assert key in pattern_keys


# --------------------------------------------------------------------------- exit 2, in both languages

#: Words of the grader's English that a Spanish line never says (paths and quoted values aside).
ENGLISH = re.compile(r"\b(the|not|cannot|is|are|was|found|submission|submissions|give|must|needs|goes|grades|"
                     r"invalid|such|unexpected|requires|expected|stopped|refused|supported|unknown|known|"
                     r"shipped|hand|folder|file|bad|did|mean|error:\s*internal)\b", re.IGNORECASE)


def _one_line(capsys, args: list[str]) -> str:
    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, (args, code, out, err)
    return lines[0]


def _words(line: str) -> str:
    """A line without what the user typed: quoted values, paths, URIs, option names."""
    line = line.removeprefix("grade: error: ")
    line = re.sub(r"'[^']*'|\"[^\"]*\"|«[^»]*»", " ", line)
    return " ".join(w for w in line.split() if "/" not in w and not w.startswith("-"))


@pytest.fixture(scope="module")
def broken_inputs(tmp_path_factory) -> dict[str, list[str]]:
    """Every kind of input that stops ``grade`` with exit 2, as command lines (without ``--lang``)."""
    base = tmp_path_factory.mktemp("broken")
    (base / "notes.txt").write_text("not a database")
    (base / "empty").mkdir()
    (base / "only-notebook").mkdir()
    (base / "only-notebook" / "homework.ipynb").write_text("{}")
    damaged = base / "damaged" / "mlflow.db"
    damaged.parent.mkdir()
    con = sqlite3.connect(damaged)
    con.execute("CREATE TABLE runs (x)")
    con.commit()
    con.close()
    damaged.write_bytes(damaged.read_bytes()[:100] + b"\xff" * 4000)
    return {
        "not found": [str(base / "no-such-folder")],
        "no submission": [],
        "not a database": [str(base / "notes.txt")],
        "no store": [str(base / "only-notebook")],
        "empty folder": [str(base / "empty")],
        "damaged database": [str(damaged)],
        "unsupported scheme": ["s3://bucket/mlruns"],
        "unknown rubric": ["--rubric", "nope", str(base / "empty")],
        "missing rubric file": ["--rubric", str(base / "nope.yaml"), str(base / "empty")],
        "bad deadline": ["--deadline", "soon", str(base / "empty")],
        "unknown check": ["--explain", "runs.nope"],
        "keep without demo": ["--keep", str(base / "empty")],
        "json dash with a format": [str(base / "empty"), "--json", "-", "--format", "junit"],
        "batch without out": ["--batch", str(base)],
        "batch with a submission": ["--batch", str(base), "--out", str(base / "out"), str(base / "empty")],
        "batch-only option": ["-j", "2", str(base / "empty")],
        "batch folder not found": ["--batch", str(base / "no-such"), "--out", str(base / "out")],
        "unknown option": ["--lnag", "en"],
        "not a number": ["--timeout", "soon", str(base / "empty")],
        "out of range": ["--grade-timeout", "0", str(base / "empty")],
        "extra argument": [str(base / "empty"), str(base / "notes.txt")],
        "option without value": [str(base / "empty"), "--rubric"],
    }


def test_every_exit_two_line_is_in_the_language_asked_for(broken_inputs, capsys):
    """The same broken input in Spanish and in English: two different lines, and the Spanish one
    has no English word of the grader's in it (this failed while exit-2 lines were English only)."""
    untranslated = []
    for case, args in broken_inputs.items():
        es = _one_line(capsys, [*args, "--lang", "es"] if args[-1:] != ["--rubric"] else ["--lang", "es", *args])
        en = _one_line(capsys, [*args, "--lang", "en"] if args[-1:] != ["--rubric"] else ["--lang", "en", *args])
        assert es.startswith("grade: ") and en.startswith("grade: "), (case, es, en)
        leaks = sorted({m.group(0).lower() for m in ENGLISH.finditer(_words(es))})
        if es == en or leaks:
            untranslated.append(f"{case}: {es}  (en: {en}; English words: {leaks})")
    assert not untranslated, "\n".join(untranslated)


def test_spanish_is_the_default_of_exit_two_lines(broken_inputs, capsys):
    es = _one_line(capsys, broken_inputs["not found"])
    assert es.startswith("grade: error: no se encontró la entrega: "), es


def test_an_archive_note_is_in_the_report_language(reference_store_sqlite, tmp_path):
    """A note the archive extractor writes (in English) reads in the report's language."""
    import zipfile

    archive = tmp_path / "ana.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in Path(reference_store_sqlite).rglob("*"):
            if path.is_file() and path.name == "mlflow.db":
                zf.write(path, Path("ana") / path.relative_to(reference_store_sqlite))
    notes = {lang: grade(archive, lang=lang, probe=False, workdir=tmp_path).submission.notes for lang in LANGS}
    assert any(n.startswith("extraído de ana.zip (") for n in notes["es"]), notes["es"]
    assert any(n.startswith("extracted from ana.zip (") for n in notes["en"]), notes["en"]


# --------------------------------------------------------------------------- grade --explain


@pytest.mark.parametrize("check_id", ["registry.best_run", "integrity.metrics", "notebook.final_cell"])
def test_explain_speaks_the_chosen_language_without_rest_markup(check_id, capsys):
    from grader.checks import named_settings, title_of
    from grader.rubric import load_rubric, render

    rubric = load_rubric("homework-195")
    spec = next(c for c in rubric.checks if c.id == check_id)
    shown = {}
    for lang in LANGS:
        capsys.readouterr()
        assert main(["--explain", check_id, "--lang", lang]) == 0
        shown[lang] = capsys.readouterr().out
        out = shown[lang]
        assert "`" not in out and ":func:" not in out and ":class:" not in out, out
        assert out.startswith(f"{check_id}: {title_of(rubric, spec, lang)}"), out  # {experiment}... filled in
        assert "{experiment}" not in out and "{model_name}" not in out, out
        assert text("explain.fix", lang) in out and text("explain.verifies", lang) in out
        hint_start = " ".join(render(spec.hint[lang], named_settings(rubric, spec)).replace("`", "").split())[:40]
        assert hint_start in " ".join(out.split()), (hint_start, out)
    assert shown["es"] != shown["en"]
    assert "Cómo aprobarlo:" in shown["es"] and "How to pass it:" in shown["en"]
    assert "How to pass" not in shown["es"] and "Settings (rubric YAML)" not in shown["es"]


# --------------------------------------------------------------------------- --no-probe


@pytest.mark.parametrize("lang,needle", [("es", "Omitido por --no-probe: corregí sin esa opción"),
                                         ("en", "Skipped because of --no-probe: grade without it")])
def test_no_probe_skips_say_so_and_give_no_hint(reference_store_sqlite, lang, needle, tmp_path):
    checks = {c.id: c for c in grade(reference_store_sqlite, lang=lang, probe=False, workdir=tmp_path).checks}
    for cid in ("model.predict", "integrity.metrics"):
        check = checks[cid]
        assert check.status == "skip" and needle in check.message, (cid, check.message)
        assert check.hint == "" and check.evidence["skipped_by"] == "--no-probe", (cid, check.hint)
    # the other checks are not touched
    assert all("--no-probe" not in c.message for cid, c in checks.items() if cid not in ("model.predict",
                                                                                         "integrity.metrics"))


# --------------------------------------------------------------------------- the student view


@pytest.fixture(scope="module")
def hidden_metrics_grade(reference_store_sqlite, tmp_path_factory):
    """The reference graded with the probe by a rubric that hides ``integrity.metrics``."""
    import yaml

    source = Path(__file__).resolve().parents[1] / "rubrics" / "homework-195.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    for spec in data["checks"]:
        if spec["id"] == "integrity.metrics":
            spec["visibility"] = "hidden"
    base = tmp_path_factory.mktemp("hidden")
    rubric = base / "hidden-metrics.yaml"
    rubric.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return grade(reference_store_sqlite, rubric, lang="en", workdir=base)


def test_student_view_hides_a_hidden_checks_evidence_everywhere(hidden_metrics_grade):
    from grader.reports import render

    result = hidden_metrics_grade
    checks = {c.id: c for c in result.checks}
    metrics = checks["integrity.metrics"]
    assert metrics.hidden and metrics.status == "pass", metrics
    recomputed = metrics.evidence["metrics"]["rmse_test"]["recomputed"]
    predict = checks["model.predict"]
    assert predict.status == "pass" and "test_metrics" in predict.evidence  # the instructor sees it
    view = result.for_students()
    assert view.view == "student" and result.view == "instructor"
    view_json = render(view, "json")
    report = json.loads(view_json)
    assert report["view"] == "student"
    # (the reference is honest: its logged rmse_test is the recomputed one, so the test looks for the
    # finding itself, not its value)
    assert recomputed > 0 and "test_metrics" not in view_json and "recomputed" not in view_json, "the finding leaked"
    shown = {c["id"]: c for c in report["checks"]}
    assert "test_metrics" not in shown["model.predict"]["evidence"]
    assert shown["model.predict"]["evidence"]["predictions"]  # its own evidence stays
    assert "integrity.metrics" not in shown and shown["hidden-1"]["evidence"] == {"hidden": True}
    # the logged metrics are the student's own: the runs table keeps them
    assert all(r.metrics for r in view.runs)
    assert view.for_students() == view  # idempotent


def test_every_report_of_the_student_view_says_so(hidden_metrics_grade):
    from grader.reports import render, safe

    for lang in LANGS:
        result = hidden_metrics_grade
        result = type(result).from_dict({**result.to_dict(), "lang": lang})
        student, instructor = result.for_students(), result
        sentence = text("view.student", lang)
        html = render(student, "html")
        assert 'id="student-view"' in html and sentence in html
        assert text("view.student_short", lang) in html.split("</h1>")[0]
        assert sentence in render(student, "text").splitlines()[1]
        assert safe.markdown(sentence) in render(student, "markdown")  # Markdown is always the student view
        assert json.loads(render(student, "json"))["view"] == "student"
        assert 'id="student-view"' not in render(instructor, "html") and sentence not in render(instructor, "text")
        assert json.loads(render(instructor, "json"))["view"] == "instructor"


def test_student_view_names_a_hidden_check_to_fix_first_as_the_student_sees_it():
    from grader.result import CheckResult, Result, SubmissionInfo

    checks = [
        CheckResult("model.predict", "Predicts", "fail", 0, 3, "The model did not load.", "Log it.",
                    {"key": "load_failed", "test_metrics": {"rmse_test": 0.512345}}, "hidden"),
        CheckResult("integrity.metrics", "Metrics", "skip", 0, 2,
                    "Not compared. Skipped because model.predict did not pass: fix that first.", "",
                    {"key": "probe_failed", "fix_first": "model.predict", "recomputed": 0.512345}),
    ]
    result = Result("0", "r", "R", "en", SubmissionInfo("x", "file", "3.x"), checks)
    view = result.for_students()
    metrics = view.checks[1]
    assert "model.predict" not in metrics.message and "Hidden check 1" in metrics.message
    assert metrics.evidence["fix_first"] == "hidden-1"
    assert "recomputed" not in metrics.evidence  # a number only the hidden check knows


# --------------------------------------------------------------------------- grade --help


def test_every_option_has_its_help_in_the_catalogue():
    """Each option's English help is the catalogue's ``help.<name>`` word for word (the decorator
    and the catalogue cannot drift apart), and it has a Spanish one."""
    from grader.cli import grade_command

    missing = [p.name for p in grade_command.params if getattr(p, "help", None)
               and MESSAGES.get(f"help.{p.name}", {}).get("en") != p.help]
    assert not missing, f"options whose help is not in the catalogue (help.NAME): {missing}"


def test_help_speaks_the_chosen_language(capsys):
    shown = {}
    for lang in LANGS:
        capsys.readouterr()
        assert main(["--help", "--lang", lang]) == 0
        shown[lang] = capsys.readouterr().out
    assert shown["es"].startswith("Uso: grade [OPCIONES] [ENTREGA]") and "Opciones:" in shown["es"]
    assert shown["en"].startswith("Usage: grade [OPTIONS] [SUBMISSION]") and "Options:" in shown["en"]
    assert "Muestra esta ayuda y termina." in shown["es"] and "[por defecto: homework-195]" in " ".join(shown["es"].split())
    joined = re.sub(r"-\n\s*", "-", shown["es"])  # click wraps "--students-file" at its hyphen
    for line in joined.splitlines():
        words = " ".join(w for w in _words(line).split() if not w.isupper())  # metavars, ENTREGA
        leaks = sorted({m.group(0).lower() for m in ENGLISH.finditer(words)})
        assert not leaks, (line, leaks)
    capsys.readouterr()
    assert main(["--help"]) == 0 and capsys.readouterr().out == shown["es"]  # Spanish by default

"""Classroom 50: ``grade --format classroom50`` against a JSON Schema written from Classroom 50's
contract (``grader/schemas/classroom50.schema.json``), the integer points, and the example
``examples/classroom50/autograder.py`` run the way Classroom 50's runner runs it: ``python
autograder.py`` as a subprocess in the student's checkout, with ``$CLASSROOM50_BUNDLE_DIR`` and the
runner's identity variables, for a passing, a failing and an ungradable submission.

The runner's own checks (``runner.py::validate_result`` in foundation50/classroom50) that a schema
cannot say are re-done here by :func:`runner_validate`.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from grader import cli
from grader.api import grade
from grader.reports import FORMATS, render
from grader.reports.classroom50 import (
    Context,
    classroom50_payload,
    context_from_env,
    integer_points,
    points_scale,
    release_body,
)
from grader.result import CheckResult, Result
from grader.rubric import load_rubric

REPO = Path(__file__).resolve().parents[2]
#: What the committed 2.22 store earns with the shipped rubric and --no-probe (its sweep grid is
#: another; the probe's two checks are skipped), and the total: derived from the rubric, never written.
_SHIPPED = load_rubric("homework-195")
TOTAL = sum(c.points for c in _SHIPPED.checks)
V2_SCORE = sum(c.points for c in _SHIPPED.checks if c.id not in ("exercise.sweep", "model.predict", "integrity.metrics"))
AUTOGRADER = REPO / "examples" / "classroom50" / "autograder.py"
RUNNER_ENV = {
    "CLASSROOM": "mlops-2026", "ASSIGNMENT": "homework-195", "USERNAME": "ana", "OWNER": "ana",
    "ASSIGNMENT_TYPE": "individual", "SUBMISSION_TAG": "submit/2026-12-01T10-00-00Z-abc1234",
    "COMMIT_URL": "https://github.com/org/mlops-2026-homework-195-ana/commit/abc1234",
    "RELEASE_URL": "https://github.com/org/mlops-2026-homework-195-ana/releases/tag/submit%2F2026",
    "GITHUB_ACTIONS": "true",
}


def schema() -> Draft202012Validator:
    data = json.loads((resources.files("grader") / "schemas" / "classroom50.schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(data)
    return Draft202012Validator(data)


def runner_validate(data: dict) -> None:
    """The cross-field rules of Classroom 50's runner and score collector, plus ours (sums)."""
    schema().validate(data)
    assert data["score"] <= data["max-score"]
    for row in data["tests"]:
        assert not isinstance(row["score"], bool) and row["score"] <= row["max-score"], row
        if not row["passed"] and row["max-score"] > 0:
            assert row["score"] < row["max-score"], row  # a failed check never gets full marks
    assert data["score"] == sum(t["score"] for t in data["tests"])
    assert data["max-score"] == sum(t["max-score"] for t in data["tests"])


# --------------------------------------------------------------------------- the format

@pytest.fixture(scope="module")
def graded(v2_store_file) -> Result:
    return grade(v2_store_file, "homework-195", probe=False, lang="en")


def test_format_is_registered_and_validates(graded, monkeypatch):
    assert "classroom50" in FORMATS and "classroom50" in cli.OUTPUT_FORMATS
    for name, value in RUNNER_ENV.items():
        monkeypatch.setenv(name, value)
    data = json.loads(render(graded, "classroom50"))
    runner_validate(data)
    assert (data["classroom"], data["assignment"], data["owner"]) == ("mlops-2026", "homework-195", "ana")
    assert data["submission"] == RUNNER_ENV["SUBMISSION_TAG"] and data["review"] == RUNNER_ENV["COMMIT_URL"]
    # the shipped rubric's points are whole: the same grade as every other report
    assert (data["score"], data["max-score"]) == (graded.score, graded.max_score) == (V2_SCORE, TOTAL)
    assert [t["id"] for t in data["tests"]] == [c.id for c in graded.checks]
    sweep = next(t for t in data["tests"] if t["id"] == "exercise.sweep")
    assert sweep["passed"] is False and sweep["status"] == "fail" and sweep["message"]


def test_placeholders_keep_a_local_file_valid(graded):
    data = classroom50_payload(graded, context_from_env({}))
    runner_validate(data)
    assert data["submission"].startswith("submit/") and data["owner"]


def test_fractional_points_are_scaled_and_a_failed_check_never_gets_full_marks(graded):
    checks = list(graded.checks)
    checks[0] = replace(checks[0], max_points=1.5, points=1.5, status="pass")
    checks[1] = replace(checks[1], max_points=2.0, points=1.99, status="fail")  # partial credit, not passed
    checks[2] = replace(checks[2], max_points=0.25, points=0.1, status="fail")
    result = replace(graded, checks=checks)
    assert points_scale([c.max_points for c in checks]) == 4
    data = classroom50_payload(result, Context())
    runner_validate(data)
    rows = {t["id"]: t for t in data["tests"]}
    assert (rows[checks[0].id]["score"], rows[checks[0].id]["max-score"]) == (6, 6)
    assert (rows[checks[1].id]["score"], rows[checks[1].id]["max-score"]) == (7, 8)  # floor(7.96), capped
    assert (rows[checks[2].id]["score"], rows[checks[2].id]["max-score"]) == (0, 1)
    assert rows[checks[1].id]["points"] == 1.99  # the exact points travel as an extra field
    assert "4" in release_body(result)  # the release body says what one rubric point is worth here
    # the integer grade never says more than the real one
    assert data["score"] / data["max-score"] <= result.score / result.max_score + 1e-9


def test_integer_points_caps_a_rounding_to_full_marks():
    check = CheckResult("x", "X", "fail", points=2.9999999, max_points=3, message="m")
    assert integer_points(check, 1) == (2, 3)
    assert integer_points(replace(check, points=2.5, status="warn"), 1) == (2, 3)  # rounded down, passed
    assert integer_points(replace(check, points=3, status="warn"), 1) == (3, 3)


def test_required_flag_travels_when_checks_have_it(graded):
    check = graded.checks[0]
    flagged = replace(check)
    flagged.required = True  # the lead's CheckResult.required (a field, or set here until it lands)
    data = classroom50_payload(replace(graded, checks=[flagged, *graded.checks[1:]]), Context())
    runner_validate(data)
    assert data["tests"][0]["required"] is True


def test_hidden_checks_are_masked(graded):
    checks = [replace(c, visibility="hidden") if c.id == "registry.best_run" else c for c in graded.checks]
    data = classroom50_payload(replace(graded, checks=checks), Context())
    runner_validate(data)
    text = json.dumps(data)
    assert "registry.best_run" not in text and "search_runs" not in text
    assert data["score"] == graded.score


def test_cli_writes_both_files_and_a_zero_for_an_ungradable_submission(v2_store_file, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = cli.main([str(v2_store_file), "--format", "classroom50", "--no-probe", "--lang", "en"])
    assert code == 1
    runner_validate(json.loads((tmp_path / "result.json").read_text()))
    assert f"**Score: {V2_SCORE:g} / {TOTAL:g}**" in (tmp_path / "release-body.md").read_text()
    assert f"Score: {V2_SCORE:g}/{TOTAL:g}" in capsys.readouterr().out  # the terminal summary on stdout

    empty = tmp_path / "empty"
    empty.mkdir()
    code = cli.main([str(empty), "--format", "classroom50", "--out", str(tmp_path / "out"), "--lang", "en"])
    assert code == 2
    data = json.loads((tmp_path / "out" / "result.json").read_text())
    runner_validate(data)
    assert (data["score"], data["max-score"]) == (0, TOTAL)
    assert "could not be graded" in (tmp_path / "out" / "release-body.md").read_text()


def test_sanitize_neutralises_workflow_commands():
    sanitize = runpy.run_path(str(AUTOGRADER))["sanitize"]
    text = sanitize("ok\n::error::forged\n   ::set-output name=x::y\r##[error]old\nfine :: here")
    lines = text.split("\n")
    assert not any(line.lstrip().startswith(("::", "##[")) for line in lines)
    assert lines[0] == "ok" and lines[-1] == "fine :: here" and "forged" in lines[1]


# --------------------------------------------------------------------------- the autograder, as the runner runs it

def run_autograder(checkout: Path, bundle: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    output = tmp_path / "github_output"
    output.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CLASSROOM", "MLFLOW_GRADER"))}
    env.update(RUNNER_ENV, CLASSROOM50_BUNDLE_DIR=str(bundle), GITHUB_OUTPUT=str(output),
               RUNNER_TEMP=str(tmp_path))
    proc = subprocess.run([sys.executable, str(bundle / "autograder.py")], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return proc, outputs


@pytest.fixture(scope="module")
def bundle_rubric(v2_rubric_file, tmp_path_factory) -> Path:
    """The rubric the committed 2.22 stores pass, without the two checks that load the model (the
    probe is tested elsewhere; this keeps the three autograder runs fast): 16 points."""
    data = yaml.safe_load(v2_rubric_file.read_text(encoding="utf-8"))
    data["checks"] = [c for c in data["checks"] if c["id"] not in ("model.predict", "integrity.metrics")]
    path = tmp_path_factory.mktemp("rubric") / "rubric.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def bundle(tmp_path, bundle_rubric) -> Path:
    """The assignment's folder in the config repo: the autograder and the instructor's rubric."""
    folder = tmp_path / "bundle"
    folder.mkdir()
    shutil.copy(AUTOGRADER, folder / "autograder.py")
    shutil.copy(bundle_rubric, folder / "rubric.yaml")
    return folder


HOSTILE_RUN_NAME = "rf ::error file=x.py,line=1::forged\n::warning::forged-too\r\n##[warning]old"


def checkout_of(store: Path, tmp_path: Path, name: str) -> Path:
    """A student's checkout holding ``store``, whose run names try to inject workflow commands
    into the job log (the messages quote run names), and a committed, forged result.json."""
    checkout = tmp_path / name
    shutil.copytree(store, checkout)
    for meta in checkout.glob("mlruns/*/*/meta.yaml"):
        lines = [f"run_name: {json.dumps(HOSTILE_RUN_NAME)}" if line.startswith("run_name:") else line
                 for line in meta.read_text().splitlines()]
        meta.write_text("\n".join(lines) + "\n")
    (checkout / ".git").mkdir()  # a checkout, as actions/checkout leaves it
    (checkout / "result.json").write_text('{"schema": "classroom50/result/v1", "score": 999}')  # forged
    return checkout


def assert_log_is_safe(proc: subprocess.CompletedProcess) -> None:
    for line in (proc.stdout + "\n" + proc.stderr).splitlines():
        assert not line.lstrip().startswith(("::", "##[")), line


def test_autograder_passing_submission(v2_store_file, bundle, tmp_path):
    checkout = checkout_of(v2_store_file, tmp_path, "passing")
    proc, outputs = run_autograder(checkout, bundle, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((checkout / "result.json").read_text())
    runner_validate(data)
    assert data["score"] == data["max-score"] == 16 and all(t["passed"] for t in data["tests"])
    assert data["owner"] == "ana" and data["submission"] == RUNNER_ENV["SUBMISSION_TAG"]
    assert outputs["status"] == "success" and "16/16" in outputs["summary"]
    assert "**Puntaje: 16 / 16**" in (checkout / "release-body.md").read_text()
    assert (checkout / "mlflow-grader-report.html").is_file()
    assert "already installed" in proc.stdout
    # A passing check is one line in the log (id, points, title): the messages that quote the hostile
    # run names are not printed, so nothing of them reaches the log.
    assert "forged" not in proc.stdout
    assert_log_is_safe(proc)


def test_autograder_failing_submission(make_variant_store, bundle, tmp_path):
    store = make_variant_store("staging_only", "file", "2.x")
    checkout = checkout_of(store, tmp_path, "failing")
    proc, outputs = run_autograder(checkout, bundle, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # graded: exit 0 whatever the grade
    data = json.loads((checkout / "result.json").read_text())
    runner_validate(data)
    assert 0 < data["score"] < data["max-score"]
    assert not next(t for t in data["tests"] if t["id"] == "registry.production")["passed"]
    assert outputs["status"] == "failure"
    assert_log_is_safe(proc)


def test_autograder_ungradable_submission_is_a_graded_zero(bundle, tmp_path):
    checkout = tmp_path / "nothing"
    checkout.mkdir()
    (checkout / "README.md").write_text("no store here\n")
    proc, outputs = run_autograder(checkout, bundle, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((checkout / "result.json").read_text())
    runner_validate(data)
    assert data["score"] == 0 and data["max-score"] == 16
    body = (checkout / "release-body.md").read_text()
    assert "No se pudo corregir" in body and "0 / 16" in body
    assert outputs["status"] == "failure"


def test_autograder_infrastructure_fault_exits_non_zero(tmp_path, bundle):
    (bundle / "rubric.yaml").write_text("checks: [{id: no.such.check}]\n")  # the instructor's mistake
    checkout = tmp_path / "c"
    checkout.mkdir()
    proc, _ = run_autograder(checkout, bundle, tmp_path)
    assert proc.returncode != 0
    assert not (checkout / "result.json").exists()


def test_ungradable_result_masks_hidden_checks(tmp_path, core_rubric_file):
    from grader.reports.classroom50 import write_files
    from grader.result import Result
    from grader.rubric import parse_rubric

    data = yaml.safe_load(core_rubric_file.read_text(encoding="utf-8"))
    data["checks"][0]["visibility"] = "hidden"
    rubric = parse_rubric(data)
    result_path, _ = write_files(Result.ungradable("no store", rubric, "en"), tmp_path, Context())
    payload = json.loads(result_path.read_text())
    runner_validate(payload)
    assert payload["tests"][0]["id"] == "hidden-1" and "Hidden check 1" == payload["tests"][0]["test-name"]
    assert data["checks"][0]["id"] not in result_path.read_text()


def test_docs_say_github_classroom_ended_and_their_links_resolve():
    import re

    for doc in (REPO / "docs" / "integrations.md", REPO / "examples" / "classroom" / "README.md",
                REPO / "examples" / "classroom50" / "README.md"):
        text = doc.read_text(encoding="utf-8")
        assert "2026-08-28" in text and "Classroom 50" in text, doc
        for target in re.findall(r"\]\((?!https?:|#)([^)#\s]+)", text):
            assert (doc.parent / target).exists(), (doc, target)
    integrations = (REPO / "docs" / "integrations.md").read_text(encoding="utf-8")
    assert f"**{TOTAL:g}** for `homework-195`" in integrations and "(14 for" not in integrations
    assert "gh teacher assignment add" in integrations and "Measured" in integrations
    workflow = (REPO / "examples" / "classroom" / ".github" / "workflows" / "classroom.yml").read_text()
    assert workflow.startswith("# LEGACY")

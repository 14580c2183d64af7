"""Gradebook and CI formats: GitHub Classroom, Gradescope, JUnit, Markdown; hidden checks; the
Classroom action's step script and Gradescope's run_autograder, run as their platforms run them.

Every format is rendered from the same graded result, and its points must add up to that result's.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from grader import cli
from grader.api import grade
from grader.reports import FORMATS, render, safe
from grader.reports.classroom import classroom_payload
from grader.reports.gradescope import gradescope_payload
from grader.result import Result

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GRADE_BIN = str(BIN / "grade")
EXAMPLE_WORKFLOW = REPO / "examples" / "classroom" / ".github" / "workflows" / "classroom.yml"
HIDDEN_IDS = ("runs.model", "registry.best_run")


# --------------------------------------------------------------------------- helpers

def schema(name: str) -> Draft202012Validator:
    data = json.loads((resources.files("grader") / "schemas" / f"{name}.schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(data)
    return Draft202012Validator(data)


def reporter_read(env: dict[str, str], runners: str) -> list[dict]:
    """What autograding-grading-reporter does: for each runner id, the env var
    ``<ID IN UPPER CASE>_RESULTS`` (hyphens kept), base64-decoded, parsed as JSON."""
    out = []
    for runner in runners.split(","):
        encoded = env[f"{runner.strip().upper()}_RESULTS"]
        out.append({"runner": runner.strip(), "results": json.loads(base64.b64decode(encoded).decode("utf-8"))})
    return out


def classroom_points(runner_results: list[dict]) -> tuple[float, float]:
    """The points the reporter sends to Classroom: scores over max_score, runners with max_score only."""
    total = maximum = 0
    for item in runner_results:
        results = item["results"]
        if not results["max_score"]:
            continue
        maximum += results["max_score"]
        total += sum(t["score"] for t in results["tests"])
    return total, maximum


def step_outputs(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file written with ``name=value`` lines."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs}


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def tool_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GRADER_", "AUTOGRADER_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def hidden_texts(result: Result) -> list[str]:
    """The content of the hidden checks, which no student format may contain."""
    texts = []
    for check in result.checks:
        if check.hidden:
            texts += [check.id, check.title, check.message] + ([check.hint] if check.hint else [])
    return texts


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def store(v2_store_file) -> Path:
    """A real submission: the committed MLflow 2.22 file store (no build needed, so the file runs
    in seconds; the formats do not depend on the layout). Copied before any tool runs on it."""
    return v2_store_file


@pytest.fixture(scope="module")
def graded(store, core_rubric_file) -> Result:
    """The reference submission, graded without the model probe (model.predict: skip, 0 points).
    The formats do not depend on which checks run: the six core checks (``core_rubric_file``)
    keep the numbers here (11/14) fixed as the shipped rubric grows."""
    return grade(store, core_rubric_file, probe=False, lang="en")


@pytest.fixture(scope="module")
def hidden_rubric(tmp_path_factory, core_rubric_file) -> Path:
    data = yaml.safe_load(core_rubric_file.read_text(encoding="utf-8"))
    for check in data["checks"]:
        if check["id"] in HIDDEN_IDS:
            check["visibility"] = "hidden"
    path = tmp_path_factory.mktemp("rubric") / "hidden.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def graded_hidden(store, hidden_rubric) -> Result:
    return grade(store, hidden_rubric, probe=False, lang="en")


@pytest.fixture
def failing(make_variant_store, core_rubric_file) -> Result:
    """Partial credit: nothing in Production (registry checks fail) on the committed 2.22 store."""
    return grade(make_variant_store("staging_only", "file", "2.x"), core_rubric_file, probe=False, lang="es")


@pytest.fixture
def cached_grade(monkeypatch, graded):
    """Make the CLI reuse ``graded`` (the CLI's semantics are the point, not grading again)."""
    import grader.api

    def fake(submission, rubric=None, **kwargs):
        return graded

    monkeypatch.setattr(grader.api, "grade", fake)
    return graded


# --------------------------------------------------------------------------- registry

def test_formats_are_registered():
    for name in ("classroom", "gradescope", "junit", "markdown", "text", "json", "html"):
        assert name in FORMATS
    assert set(cli.OUTPUT_FORMATS) <= set(FORMATS)


# --------------------------------------------------------------------------- GitHub Classroom

def test_classroom_output_decoded_as_the_reporter_does(graded, capsys, cached_grade):
    code, out, err = run_cli(capsys, "sub", "--format", "classroom")
    assert code == 1  # model.predict skipped: not every check passed
    assert "\n" not in out.strip() and re.fullmatch(r"[A-Za-z0-9+/=]+", out.strip())
    assert "Score: 11/14" in err  # the summary goes to stderr, stdout is only the result

    workflow = yaml.safe_load(EXAMPLE_WORKFLOW.read_text())
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    reporter = next(s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-grading-reporter"))
    outputs = {s["id"]: {"result": out.strip()} for s in steps if "id" in s}
    env = {}
    for name, value in reporter["env"].items():
        step_id = re.fullmatch(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.result\s*\}\}", value).group(1)
        env[name] = outputs[step_id]["result"]
    [item] = reporter_read(env, reporter["with"]["runners"])

    payload = item["results"]
    schema("classroom").validate(payload)
    assert payload["version"] == 1 and payload["status"] == "fail"
    assert payload["max_score"] == 14 and isinstance(payload["max_score"], int)
    assert len(payload["tests"]) == len(graded.checks)
    assert sum(t["score"] for t in payload["tests"]) == graded.score == 11
    assert classroom_points([item]) == (graded.score, graded.max_score)
    by_name = {t["name"]: t for t in payload["tests"]}
    for check in graded.checks:
        test = by_name[check.title]
        assert test["score"] == check.points
        assert test["status"] == {"pass": "pass", "skip": "fail"}[check.status]
        assert check.message in test["message"]
    assert by_name[graded.checks[-1].title]["test_code"] == "grade --explain model.predict"


def test_classroom_partial_credit_adds_up_like_every_report(failing):
    payload = classroom_payload(failing)
    schema("classroom").validate(payload)
    statuses = {c.id: c.status for c in failing.checks}
    assert statuses["registry.production"] == "fail" and statuses["runs.count"] == "pass"
    assert payload["status"] == "fail"
    assert sum(t["score"] for t in payload["tests"]) == failing.score < failing.max_score
    assert payload["max_score"] == failing.max_score
    report = json.loads(render(failing, "json"))
    gradescope = gradescope_payload(failing)
    assert report["score"] == gradescope["score"] == sum(t["score"] for t in gradescope["tests"]) == failing.score
    # Spanish feedback, with the hint for what failed
    failed = next(t for t in payload["tests"] if t["status"] == "fail")
    assert "Cómo arreglarlo" in failed["message"]


def test_classroom_status_pass_and_error(graded):
    passed = replace(graded, checks=[replace(c, status="pass", points=c.max_points) for c in graded.checks])
    assert classroom_payload(passed)["status"] == "pass"
    assert sum(t["score"] for t in classroom_payload(passed)["tests"]) == 14
    crashed = replace(graded, checks=[*graded.checks[:-1], replace(graded.checks[-1], status="error")])
    payload = classroom_payload(crashed)
    assert payload["status"] == "error" and payload["tests"][-1]["status"] == "error"
    schema("classroom").validate(payload)


def test_classroom_ungradable_submission_still_reports_zero(tmp_path, capsys, core_rubric_file):
    code, out, err = run_cli(capsys, str(tmp_path / "nothing-here"), "--format", "classroom", "--rubric", str(core_rubric_file))
    assert code == 2 and err.startswith("grade: error:")
    [item] = reporter_read({"MLFLOW_RESULTS": out.strip()}, "mlflow")
    schema("classroom").validate(item["results"])
    assert item["results"]["status"] == "error" and item["results"]["max_score"] == 14
    assert classroom_points([item]) == (0, 14)


def test_example_workflow_is_the_classroom_shape():
    workflow = yaml.safe_load(EXAMPLE_WORKFLOW.read_text())
    assert workflow["name"] == "Autograding Tests"
    job = workflow["jobs"]["run-autograding-tests"]
    assert job["if"] == "github.actor != 'github-classroom[bot]'"
    assert workflow["permissions"]["checks"] == "write"
    steps = job["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    ours = [s for s in steps if s.get("uses", "").split("@")[0].endswith("/mlflow-grader")]
    assert len(ours) == 1 and ours[0]["id"]
    reporter = steps[-1]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert reporter["with"]["runners"] == ours[0]["id"]
    assert reporter["env"] == {f"{ours[0]['id'].upper()}_RESULTS": f"${{{{ steps.{ours[0]['id']}.outputs.result }}}}"}


def test_action_is_a_composite_that_runs_the_step_script():
    action = yaml.safe_load((REPO / "action.yml").read_text())
    inputs = action["inputs"]
    assert inputs["path"]["default"] == "."
    for name in ("rubric", "python-version", "timeout"):
        assert name in inputs
    assert action["outputs"]["result"]["value"] == "${{ steps.grade.outputs.result }}"
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert "actions/setup-python" in uses and "actions/upload-artifact" in uses and "actions/cache" in uses
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert '"${{ github.action_path }}"' in install["run"]
    step = next(s for s in steps if s.get("id") == "grade")
    assert "scripts/classroom_step.sh" in step["run"] and (REPO / "scripts" / "classroom_step.sh").is_file()
    # inputs reach the script as environment variables, never pasted into the shell text
    assert "inputs." not in step["run"]
    assert step["env"]["GRADER_PATH"] == "${{ inputs.path }}"


def test_action_step_script_in_a_temp_checkout(store, tmp_path, core_rubric_file):
    checkout = tmp_path / "student-repo"
    shutil.copytree(store, checkout / "homework")
    output, summary, runner_temp = tmp_path / "output", tmp_path / "summary.md", tmp_path / "runner-temp"
    output.write_text("")
    summary.write_text("previous step\n")
    runner_temp.mkdir()
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "classroom_step.sh")],
        cwd=checkout, capture_output=True, text=True, timeout=300,
        env=tool_env(GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary), RUNNER_TEMP=str(runner_temp),
                     GRADER_PATH="homework", GRADER_LANG="en", GRADER_ARGS="--no-probe", PYTHON=sys.executable,
                     GRADER_RUBRIC=str(core_rubric_file)),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the reporter, not this step, fails the job
    assert "Score: 11/14" in proc.stderr and "grade exited with 1" in proc.stderr

    outputs = step_outputs(output)
    assert outputs["score"] == "11" and outputs["max-score"] == "14"
    [item] = reporter_read({"GRADE_RESULTS": outputs["result"]}, "grade")
    schema("classroom").validate(item["results"])
    assert classroom_points([item]) == (11, 14)

    text = summary.read_text()
    assert text.startswith("previous step\n")  # appended, as GitHub expects
    assert "**Score: 11 / 14**" in text and "`registry.best_run`" in text
    report_dir = Path(outputs["report-dir"])
    assert report_dir == runner_temp / "mlflow-grader-report"
    assert (report_dir / "report.html").read_text().lstrip().lower().startswith("<!doctype html")
    assert json.loads((report_dir / "report.json").read_text())["score"] == 11


def test_action_step_script_when_nothing_can_be_graded(tmp_path):
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "classroom_step.sh")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env=tool_env(GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary), RUNNER_TEMP=str(tmp_path),
                     GRADE=str(tmp_path / "no-such-grade")),
    )
    assert proc.returncode == 0
    [item] = reporter_read({"X_RESULTS": step_outputs(output)["result"]}, "x")
    schema("classroom").validate(item["results"])
    assert item["results"]["status"] == "error"
    assert "could not be graded" in summary.read_text()


# --------------------------------------------------------------------------- Gradescope

def test_gradescope_payload(graded):
    payload = gradescope_payload(graded)
    schema("gradescope").validate(payload)
    assert payload["score"] == sum(t["score"] for t in payload["tests"]) == graded.score
    assert sum(t["max_score"] for t in payload["tests"]) == graded.max_score
    assert [t["status"] for t in payload["tests"]] == ["passed" if c.passed else "failed" for c in graded.checks]
    assert len({t["number"] for t in payload["tests"]}) == len(graded.checks)
    assert all(t["output_format"] == "md" and t["visibility"] == "visible" for t in payload["tests"])
    assert payload["stdout_visibility"] == "hidden"
    skipped = payload["tests"][-1]
    # skipped by --no-probe: it says so, with no hint of its own (issue 16)
    assert "**Status:** skip" in skipped["output"] and "no\\-probe" in skipped["output"]
    assert "How to fix" not in skipped["output"]


def test_cli_gradescope_json_writes_results_json(tmp_path, capsys, cached_grade):
    target = tmp_path / "results" / "results.json"
    code, out, err = run_cli(capsys, "sub", "--format", "gradescope", "--json", str(target))
    assert code == 1
    assert "Score: 11/14" in out  # the summary on stdout (Gradescope keeps stdout for instructors)
    payload = json.loads(target.read_text())
    schema("gradescope").validate(payload)
    assert payload["score"] == 11
    # without --json it goes to stdout
    code, out, err = run_cli(capsys, "sub", "--format", "gradescope")
    assert json.loads(out) == payload


def test_run_autograder_against_a_fake_autograder_tree(store, tmp_path, core_rubric_file):
    root = tmp_path / "autograder"
    shutil.copytree(store, root / "submission")
    (root / "source").mkdir()
    proc = subprocess.run(
        ["bash", str(REPO / "gradescope" / "run_autograder")],
        cwd=root, capture_output=True, text=True, timeout=300,
        env=tool_env(AUTOGRADER_ROOT=str(root), GRADE=GRADE_BIN, GRADER_ARGS="--no-probe", GRADER_LANG="en",
                     GRADER_RUBRIC=str(core_rubric_file)),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Score: 11/14" in proc.stdout  # the instructor's full report, in Gradescope's stdout
    payload = json.loads((root / "results" / "results.json").read_text())
    schema("gradescope").validate(payload)
    assert payload["score"] == 11 and sum(t["max_score"] for t in payload["tests"]) == 14


def test_run_autograder_grades_a_lone_archive_and_honours_rubric_yaml(tmp_path):
    """The folder-or-archive choice and the instructor's rubric.yaml, with a stand-in `grade`."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "submission" / "homework.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (root / "source").mkdir()
    (root / "source" / "rubric.yaml").write_text("id: x\nchecks: []\n")
    fake = tmp_path / "fake-grade"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        'printf "%s\\n" "$@" > "$(dirname "$0")/args.txt"\n'
        'while [ $# -gt 0 ]; do if [ "$1" = --json ]; then echo \'{"score": 0, "tests": []}\' > "$2"; fi; shift; done\n'
    )
    fake.chmod(0o755)
    proc = subprocess.run(["bash", str(REPO / "gradescope" / "run_autograder")], capture_output=True, text=True,
                          timeout=60, env=tool_env(AUTOGRADER_ROOT=str(root), GRADE=str(fake)))
    assert proc.returncode == 0, proc.stderr
    args = (tmp_path / "args.txt").read_text().splitlines()
    assert args[0] == str(root / "submission" / "homework.zip")
    assert args[args.index("--rubric") + 1] == str(root / "source" / "rubric.yaml")
    assert args[args.index("--format") + 1] == "gradescope"
    assert args[args.index("--json") + 1] == str(root / "results" / "results.json")

    # a stand-in that writes nothing: run_autograder fails loudly instead of recording a grade
    fake.write_text("#!/usr/bin/env bash\nexit 3\n")
    proc = subprocess.run(["bash", str(REPO / "gradescope" / "run_autograder")], capture_output=True, text=True,
                          timeout=60, env=tool_env(AUTOGRADER_ROOT=str(root), GRADE=str(fake)))
    assert proc.returncode == 1 and not (root / "results" / "results.json").exists()


def test_gradescope_ungradable_submission_gets_zero(tmp_path, capsys):
    target = tmp_path / "results.json"
    code, out, err = run_cli(capsys, str(tmp_path / "missing"), "--format", "gradescope", "--json", str(target))
    assert code == 2
    payload = json.loads(target.read_text())
    schema("gradescope").validate(payload)
    assert payload["score"] == 0 and "missing" in payload["output"]


# --------------------------------------------------------------------------- JUnit

def test_junit_structure(graded, tmp_path, capsys, cached_grade):
    target = tmp_path / "junit.xml"
    code, out, err = run_cli(capsys, "sub", "--junit", str(target), "-q")
    assert code == 1 and out == ""
    root = ET.parse(target).getroot()
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    for element in (root, suite):
        for attr in ("name", "tests", "failures", "errors", "skipped", "time"):
            assert attr in element.attrib, (element.tag, attr)
        float(element.get("time"))
    assert "timestamp" in suite.attrib
    assert suite.get("tests") == str(len(graded.checks)) and suite.get("skipped") == "1"
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    props = {p.get("name"): p.get("value") for p in suite.find("properties").findall("property")}
    assert props["score"] == "11" and props["max_score"] == "14"
    cases = suite.findall("testcase")
    assert [c.get("classname") for c in cases] == [f"{graded.rubric_id}.{c.id}" for c in graded.checks]
    for case, check in zip(cases, graded.checks):
        assert case.get("name") == check.title
        float(case.get("time"))
        case_props = {p.get("name"): p.get("value") for p in case.find("properties").findall("property")}
        assert float(case_props["points"]) == check.points and float(case_props["max_points"]) == check.max_points
        outcome = [e.tag for e in case if e.tag in ("failure", "error", "skipped")]
        assert outcome == {"pass": [], "skip": ["skipped"]}[check.status]
        assert check.message in case.find("system-out").text
    assert cases[-1].find("skipped").get("message") == graded.checks[-1].message


def test_junit_failure_and_error_elements(failing):
    crashed = replace(failing, checks=[*failing.checks[:-1], replace(failing.checks[-1], status="error")])
    suite = ET.fromstring(render(crashed, "junit")).find("testsuite")
    n_fail = sum(c.status == "fail" for c in crashed.checks)
    assert int(suite.get("failures")) == n_fail > 0 and suite.get("errors") == "1"
    failures = suite.findall("testcase/failure")
    assert len(failures) == n_fail and all(f.get("type") == "fail" and f.get("message") for f in failures)
    assert suite.find("testcase/error").get("type") == "error"


# --------------------------------------------------------------------------- Markdown

def test_markdown_contains_each_check(graded, capsys, cached_grade):
    code, out, err = run_cli(capsys, "sub", "--format", "markdown")
    assert code == 1
    assert out.startswith(f"## {safe.markdown(graded.rubric_title)}")
    assert "**Score: 11 / 14**" in out
    for check in graded.checks:  # escaped as Markdown: the title renders as itself (see test_report_safety)
        assert safe.markdown(check.title) in out and f"`{check.id}`" in out
        assert f"{check.points:g}/{check.max_points:g}" in out
    assert "### What to fix" not in out  # only model.predict did not pass: skipped by --no-probe, no hint


def test_markdown_table_survives_pipes_and_newlines(graded):
    odd = replace(graded, checks=[replace(graded.checks[0], message="a | b\nc")])
    assert "| a \\| b c |" in render(odd, "markdown")


# --------------------------------------------------------------------------- hidden checks

def test_hidden_checks_masked_in_student_formats(graded_hidden, capsys, monkeypatch):
    import grader.api

    monkeypatch.setattr(grader.api, "grade", lambda *a, **k: graded_hidden)
    secrets = hidden_texts(graded_hidden)
    assert len([c for c in graded_hidden.checks if c.hidden]) == len(HIDDEN_IDS)

    classroom = json.loads(base64.b64decode(render(graded_hidden, "classroom")))
    gradescope = json.loads(render(graded_hidden, "gradescope"))
    markdown = render(graded_hidden, "markdown")
    student_views = {
        "classroom": json.dumps(classroom, ensure_ascii=False),
        "gradescope": json.dumps(gradescope, ensure_ascii=False),
        "markdown": markdown,
    }
    for flag_fmt in ("text", "json", "junit", "html"):
        quiet = [] if flag_fmt == "text" else ["-q"]  # -q drops the text summary itself
        code, out, err = run_cli(capsys, "sub", "--student", "--format", flag_fmt, *quiet)
        student_views[f"--student {flag_fmt}"] = out
    for name, text in student_views.items():
        for secret in secrets:
            assert secret not in text, (name, secret)
        assert "Hidden check 1" in text and "Hidden check 2" in text, name

    # the total stays the real one, and each hidden check keeps its points
    assert sum(t["score"] for t in classroom["tests"]) == graded_hidden.score
    assert classroom["max_score"] == graded_hidden.max_score == 14
    assert gradescope["score"] == graded_hidden.score
    assert all(t["visibility"] == "visible" for t in gradescope["tests"])  # Gradescope would hide the total
    assert f"**Score: {graded_hidden.score:g} / 14**" in markdown
    assert "2 hidden checks worth 5 points" in markdown
    masked = [t for t in classroom["tests"] if t["name"].startswith("Hidden check")]
    assert [t["score"] for t in masked] == [c.points for c in graded_hidden.checks if c.hidden] == [2, 3]
    schema("classroom").validate(classroom)
    schema("gradescope").validate(gradescope)
    schema("report").validate(json.loads(student_views["--student json"]))  # still a valid JSON report

    # the instructor's default views keep everything
    for fmt in ("text", "json"):
        code, out, err = run_cli(capsys, "sub", "--format", fmt)
        for check in graded_hidden.checks:
            assert check.title in out, (fmt, check.id)
    assert "registry.best_run" in render(graded_hidden, "junit")


def test_for_students_is_idempotent_and_a_no_op_without_hidden_checks(graded, graded_hidden):
    assert graded.for_students() == graded
    once = graded_hidden.for_students()
    assert once.for_students() == once
    assert once.score == graded_hidden.score and once.max_score == graded_hidden.max_score
    assert [c.status for c in once.checks] == [c.status for c in graded_hidden.checks]
    assert [c.id for c in once.checks if c.hidden] == ["hidden-1", "hidden-2"]
    spanish = replace(graded_hidden, lang="es").for_students()
    assert [c.title for c in spanish.checks if c.hidden] == ["Control oculto 1", "Control oculto 2"]
    # the masked result still round-trips through the JSON report
    assert Result.from_dict(once.to_dict()).checks == once.checks


# --------------------------------------------------------------------------- CLI semantics

def test_json_dash_keeps_its_meaning_and_conflicts_are_usage_errors(capsys, cached_grade):
    code, out, err = run_cli(capsys, "sub", "--json", "-")
    assert code == 1 and json.loads(out)["score"] == 11 and "Score: 11/14" in err
    code, out, err = run_cli(capsys, "sub", "--json", "-", "--format", "classroom")
    assert code == 2 and "--json -" in err and out == ""


def test_markdown_file_and_text_default(tmp_path, capsys, cached_grade):
    code, out, err = run_cli(capsys, "sub", "--markdown", str(tmp_path / "s.md"))
    assert code == 1 and "Score: 11/14" in out and err == ""
    assert "**Score: 11 / 14**" in (tmp_path / "s.md").read_text()

"""``action.yml`` for plain GitHub Actions: validated as a composite action, then its steps run as a
workflow runs them (each ``run`` step in bash with its own ``GITHUB_OUTPUT`` and
``GITHUB_STEP_SUMMARY`` files, ``${{ ... }}`` expressions filled in, later steps skipped after a
failure unless ``if: always()``); the summary, the annotations and the exit codes are checked for a
passing, a failing and an ungradable submission and each ``fail-on``.

The ``uses:`` steps (setup-python, cache, upload-artifact) are GitHub's and are not run: the one
that uploads is checked to name files that exist. The install step is not run either (it would
reinstall the grader into the test environment): the grader under test is already on PATH.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from grader.rubric import load_rubric

REPO = Path(__file__).resolve().parents[1]
#: What the committed 2.22 store earns with the shipped rubric and --no-probe (its sweep grid is
#: another; the probe's two checks are skipped), and the total: derived from the rubric, never written.
_SHIPPED = load_rubric("homework-195")
_NOT_EARNED = ("exercise.sweep", "model.predict", "integrity.metrics")
V2_SCORE = f"{sum(c.points for c in _SHIPPED.checks if c.id not in _NOT_EARNED):g}"
TOTAL = f"{sum(c.points for c in _SHIPPED.checks):g}"
ACTION = REPO / "action.yml"
BIN = Path(sys.executable).parent
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
gha = runpy.run_path(str(REPO / "scripts" / "gha_report.py"))


def load_action() -> dict:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- structure

def test_action_is_a_valid_composite_action():
    action = load_action()
    assert set(action) <= {"name", "description", "author", "branding", "inputs", "outputs", "runs"}
    assert action["name"] and action["description"]
    assert action["runs"]["using"] == "composite"
    inputs, outputs, steps = action["inputs"], action["outputs"], action["runs"]["steps"]
    for name, spec in inputs.items():
        assert spec.get("description"), name
        assert "default" in spec or spec.get("required"), name
    assert inputs["fail-on"]["default"] == "required"
    assert "legacy" in outputs["result"]["description"].lower()
    ids = []
    for step in steps:
        assert set(step) <= {"name", "id", "if", "uses", "run", "shell", "with", "env", "working-directory",
                             "continue-on-error"}, step
        assert ("uses" in step) != ("run" in step), step  # one or the other
        if "run" in step:
            assert step.get("shell") == "bash", step  # composite run steps must say their shell
            assert "inputs." not in step["run"], step  # inputs travel as env, never pasted into shell text
        else:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step
        for text in _strings(step):
            for expr in EXPR.findall(text):
                for ref in re.findall(r"inputs\.([\w-]+)", expr):
                    assert ref in inputs, (ref, step)
                for sid, _ in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr):
                    assert sid in ids, (sid, step)  # only earlier steps' outputs
        if "id" in step:
            ids.append(step["id"])
    for name, spec in outputs.items():
        assert spec.get("description") and spec.get("value"), name
        for sid, _ in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", spec["value"]):
            assert sid in ids, name
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert {"actions/setup-python", "actions/cache", "actions/upload-artifact"} <= set(uses)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"
    assert steps[-1]["name"] == "Apply fail-on"  # the verdict comes after the summary, annotations and upload


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


# --------------------------------------------------------------------------- the steps, run as a workflow

@dataclass
class Run:
    steps: list[dict] = field(default_factory=list)  # name, outcome, rc, stdout, stderr
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    summary: str = ""
    uploaded: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(s["outcome"] == "failure" for s in self.steps)

    def step(self, name: str) -> dict:
        return next(s for s in self.steps if s["name"] == name)

    @property
    def annotations(self) -> list[str]:
        return [line for line in self.step("Annotate the checks that did not pass")["stdout"].splitlines()
                if line.startswith("::")]


def run_action(workspace: Path, tmp: Path, **inputs: str) -> Run:
    action = load_action()
    values = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    values.update({k.replace("_", "-"): v for k, v in inputs.items()})
    runner_temp = tmp / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    run = Run()

    def evaluate(expr: str) -> str:
        if expr.startswith("inputs."):
            return values[expr[len("inputs."):]]
        if expr == "github.action_path":
            return str(REPO)
        if expr == "runner.temp":
            return str(runner_temp)
        if expr == "runner.os":
            return "Linux"
        if expr == "github.action_ref || 'local'":
            return "local"
        match = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
        if match:
            return run.outputs.get(match[1], {}).get(match[2], "")
        raise AssertionError(f"expression not known to this test: {expr}")

    def fill(text: str) -> str:
        return EXPR.sub(lambda m: evaluate(m[1]), text)

    for i, step in enumerate(action["runs"]["steps"]):
        condition = step.get("if", "success()")
        if run.failed and condition != "always()":
            run.steps.append({"name": step["name"], "outcome": "skipped"})
            continue
        if "uses" in step:
            if step["uses"].startswith("actions/upload-artifact"):
                paths = [fill(p).strip() for p in step["with"]["path"].splitlines() if p.strip()]
                run.uploaded = [p for p in paths if Path(p).is_file()]
            run.steps.append({"name": step["name"], "outcome": "not run (uses)"})
            continue
        if "pip install" in step["run"]:
            run.steps.append({"name": step["name"], "outcome": "not run (install)"})
            continue
        output, summary = tmp / f"output-{i}", tmp / f"summary-{i}"
        output.write_text("")
        summary.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GRADER_", "RUNNER_"))}
        env.update({k: fill(str(v)) for k, v in (step.get("env") or {}).items()})
        env.update(PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", GITHUB_OUTPUT=str(output),
                   GITHUB_STEP_SUMMARY=str(summary), RUNNER_TEMP=str(runner_temp), GITHUB_ACTIONS="true",
                   GITHUB_WORKSPACE=str(workspace))
        proc = subprocess.run(["bash", "-e", "-c", fill(step["run"])], cwd=workspace, env=env,
                              capture_output=True, text=True, timeout=600, check=False)
        run.steps.append({"name": step["name"], "outcome": "success" if proc.returncode == 0 else "failure",
                          "rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr})
        if "id" in step:
            run.outputs[step["id"]] = dict(line.split("=", 1) for line in output.read_text().splitlines()
                                           if "=" in line)
        run.summary += summary.read_text()
    return run


def student_repo(store: Path | None, tmp: Path, hostile: bool = False) -> Path:
    repo = tmp / "student-repo"
    repo.mkdir()
    if store is not None:
        shutil.copytree(store, repo / "homework")
        if hostile:  # run names quoted in messages: they must not become workflow commands
            name = json.dumps("x ::error file=a.py,line=1::forged\n::warning::forged%0Atoo")
            for meta in (repo / "homework").glob("mlruns/*/*/meta.yaml"):
                lines = [f"run_name: {name}" if line.startswith("run_name:") else line
                         for line in meta.read_text().splitlines()]
                meta.write_text("\n".join(lines) + "\n")
    return repo


def assert_log_is_safe(run: Run) -> None:
    """No line of any step's log starts a workflow command, except our own annotations (one line each)."""
    for step in run.steps:
        for stream in ("stdout", "stderr"):
            for line in step.get(stream, "").splitlines():
                if line.lstrip().startswith(("::", "##[")):
                    assert step["name"] == "Annotate the checks that did not pass" and stream == "stdout", line
                    assert re.fullmatch(r"::(error|warning)( title=[^:]*)?::[^\r\n]*", line), line


def test_failing_submission_fails_the_step_with_summary_and_annotations(v2_store_file, tmp_path):
    repo = student_repo(v2_store_file, tmp_path, hostile=True)
    run = run_action(repo, tmp_path, path="homework", lang="en", args="--no-probe")
    assert run.step("Grade")["outcome"] == "success"
    assert run.step("Apply fail-on")["rc"] == 1 and run.failed  # fail-on: required
    assert "not passed" in run.step("Apply fail-on")["stdout"]
    assert f"**Score: {V2_SCORE} / {TOTAL}**" in run.summary and "`exercise.sweep`" in run.summary
    outputs = run.outputs["grade"]
    assert (outputs["score"], outputs["max-score"], outputs["passed"]) == (V2_SCORE, TOTAL, "false")
    assert outputs["result"]  # the legacy Classroom payload is still there
    errors = [a for a in run.annotations if a.startswith("::error")]
    warnings = [a for a in run.annotations if a.startswith("::warning")]
    assert len(errors) == 1 and "Exercise 3" in errors[0] and "%0A" in errors[0]  # message + hint, escaped
    assert len(warnings) >= 2  # model.predict and integrity.metrics skipped (--no-probe), the notebook warns
    assert sorted(Path(p).name for p in run.uploaded) == ["report.html", "report.json", "summary.md"]
    # The hostile run name reached the job's outputs (the terminal summary prints passing checks on one
    # line, so in the log only when a message that names it is shown), defused everywhere.
    assert "forged" in run.summary + run.step("Grade")["stderr"]
    assert_log_is_safe(run)


def test_fail_on_never_reports_without_failing(v2_store_file, tmp_path):
    run = run_action(student_repo(v2_store_file, tmp_path), tmp_path, path="homework", args="--no-probe",
                     fail_on="never")
    assert not run.failed and run.step("Apply fail-on")["rc"] == 0
    assert run.annotations and f"**Puntaje: {V2_SCORE} / {TOTAL}**" in run.summary


@pytest.fixture(scope="module")
def passing_rubric(v2_rubric_file, tmp_path_factory) -> Path:
    """The rubric the committed 2.22 stores pass, without the two checks that load the model (the
    probe is tested elsewhere; this keeps the file fast)."""
    data = yaml.safe_load(v2_rubric_file.read_text(encoding="utf-8"))
    data["checks"] = [c for c in data["checks"] if c["id"] not in ("model.predict", "integrity.metrics")]
    path = tmp_path_factory.mktemp("rubric") / "passing.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_passing_submission_passes_required_and_any(v2_store_file, passing_rubric, tmp_path):
    for fail_on in ("required", "any"):
        tmp = tmp_path / fail_on
        tmp.mkdir()
        run = run_action(student_repo(v2_store_file, tmp), tmp, path="homework", rubric=str(passing_rubric),
                         fail_on=fail_on, args="--no-probe")
        assert not run.failed, run.steps
        total = f"{sum(c.points for c in load_rubric(passing_rubric).checks):g}"
        assert run.outputs["grade"]["passed"] == "true" and f"**Puntaje: {total} / {total}**" in run.summary
        assert not [a for a in run.annotations if a.startswith("::error")]
        assert len(run.annotations) == 1 and "notebook" in run.annotations[0].lower()  # the one warning


def test_any_is_stricter_than_required(tmp_path):
    report = {"passed": True, "score": 20, "max_score": 21,
              "checks": [{"id": "a", "status": "pass"}, {"id": "b", "status": "fail", "required": False}]}
    assert gha["should_fail"](report, "required")[0] is False
    assert gha["should_fail"](report, "any")[0] is True
    assert gha["should_fail"](report, "never")[0] is False
    assert gha["should_fail"](None, "required")[0] is True and gha["should_fail"](None, "never")[0] is False


def test_ungradable_submission_fails_unless_never(tmp_path):
    repo = student_repo(None, tmp_path)
    run = run_action(repo, tmp_path)
    assert run.step("Grade")["outcome"] == "success" and run.step("Apply fail-on")["rc"] == 1
    assert "could not be graded" in run.summary
    assert run.annotations == [("::error title=mlflow-grader::mlflow-grader produced no report: see the grading "
                                "step's log.")]
    again = tmp_path / "never"
    again.mkdir()
    assert not run_action(student_repo(None, again), again, fail_on="never").failed


def test_annotations_are_escaped_and_limited():
    checks = [{"id": f"c{i}", "title": "T: a, b", "status": "fail", "points": 0, "max_points": 1,
               "message": f"50% done\r\n::error::x {i}", "hint": "fix"} for i in range(25)]
    checks += [{"id": "w", "title": "W", "status": "warn", "points": 1, "max_points": 1, "message": "m"}]
    lines = gha["annotation_lines"]({"checks": checks})
    errors = [line for line in lines if line.startswith("::error")]
    assert len(errors) == 10 and "16 more" in errors[-1]
    assert len([line for line in lines if line.startswith("::warning")]) == 1
    first = errors[0]
    assert "\n" not in first and "\r" not in first
    assert first.startswith("::error title=T%3A a%2C b (fail%2C 0/1)::50%25 done%0D%0A::error::x 0%0Afix")
    assert gha["escape_data"]("100%\n") == "100%25%0A"


@pytest.mark.parametrize("fail_on", ["bogus"])
def test_unknown_fail_on_is_refused(tmp_path, fail_on):
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "gha_report.py"), "verdict", "x.json",
                           "--fail-on", fail_on], capture_output=True, text=True, check=False)
    assert proc.returncode == 2

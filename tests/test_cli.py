"""The ``grade`` command as a user runs it: exit codes, outputs, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from grader.rubric import load_rubric

GRADE = [sys.executable, "-c", "import sys; from grader.cli import main; sys.exit(main())"]
#: The default rubric's total: derived, never written here (tests/test_rubric.py asserts it).
MAX = sum(c.points for c in load_rubric().checks)


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*GRADE, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_json_to_stdout_is_only_json(reference_store_file):
    proc = run(str(reference_store_file), "--json", "-", "--no-probe")
    assert proc.returncode == 1  # model.predict is skipped without the probe: not a pass
    data = json.loads(proc.stdout)
    assert data["schema_version"] == 1
    assert [c["id"] for c in data["checks"]][0] == "runs.count"
    assert "Traceback" not in proc.stderr


def test_exit_zero_and_reports_written(reference_store_sqlite, tmp_path):
    out = tmp_path / "out"
    proc = run(str(reference_store_sqlite), "--out", str(out), "--lang", "en")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Score: {MAX:g}/{MAX:g}" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["passed"] is True and report["score"] == report["max_score"] == MAX
    assert (out / "report.html").read_text().lstrip().lower().startswith("<!doctype html")


def test_failing_submission_exits_one_with_spanish_message(make_variant_store, tmp_path):
    path = make_variant_store("staging_only", "file", "3.x")
    proc = run(str(path), "--no-probe", "--html", str(tmp_path / "r.html"))
    assert proc.returncode == 1
    assert "ninguna versión está en Production" in proc.stdout
    assert (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["/no/such/folder"], "submission not found"),
        ([], "give a SUBMISSION"),
        (["--lang", "fr", "."], "Invalid value"),
        (["--rubric", "nope", "."], "unknown rubric"),
        (["--explain", "runs.nope"], "unknown check id"),
        (["http://127.0.0.1:9/"], "server that is not running"),
        (["s3://bucket/mlruns"], "not supported"),
    ],
)
def test_errors_are_one_line_exit_two(args, needle, tmp_path):
    proc = run("--lang", "en", *args, cwd=tmp_path)  # in English (the Spanish lines: test_catalogue.py)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_folder_without_store_is_exit_two(tmp_path):
    (tmp_path / "notebook.ipynb").write_text("{}")
    proc = run(str(tmp_path), "--lang", "en")
    assert proc.returncode == 2
    assert "no MLflow store" in proc.stderr


def test_explain_prints_the_check_doc():
    proc = run("--explain", "registry.best_run")
    assert proc.returncode == 0
    assert "search_runs" in proc.stdout and "Fix:" in proc.stdout


def test_demo_builds_and_grades_offline(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTTP", "HTTPS"))}
    proc = subprocess.run([*GRADE, "--demo", "--out", str(tmp_path / "demo"), "--lang", "en"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Score: {MAX:g}/{MAX:g}" in proc.stdout
    assert (tmp_path / "demo" / "report.html").exists()


def test_grading_writes_nothing_outside_its_temp_space(reference_store_file, tmp_path):
    """MLflow opens sqlite:///mlflow.db in the current directory when a client has no URI: the
    grader must not let that happen, and must remove its snapshot and probe folders."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.run([*GRADE, str(reference_store_file), "-q"], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert list(cwd.iterdir()) == []
    assert list(tmp.iterdir()) == []


def test_no_noise_on_stderr_for_an_old_sqlite_store(v2_store_sqlite, v2_rubric_file):
    """A 2.x database is migrated (in the private copy): its logs and FutureWarnings stay quiet."""
    proc = run(str(v2_store_sqlite), "--rubric", str(v2_rubric_file), "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""

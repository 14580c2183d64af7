"""The fork server's warm-up (grader.batch.warm, grader.batch.warm_sql): it grades a small store of
its own, once, so it must leave nothing behind, write nothing where it runs, and keep the fork
server able to fork (one thread)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, os, sys, threading
import grader.batch.warm as warm
import grader.batch.warm_sql as warm_sql
print(json.dumps({"warm": warm.WARM, "warm_sql": warm_sql.WARM, "threads": threading.active_count(),
                  "uri": __import__("mlflow").get_tracking_uri()}))
"""


def test_warm_up_grades_a_small_store_and_leaves_nothing(tmp_path):
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    state = json.loads(proc.stdout.strip().splitlines()[-1])
    assert state["warm"] is True and state["warm_sql"] is True, state
    assert state["threads"] == 1  # the fork server forks every student: no thread may be left running
    assert list(cwd.iterdir()) == [], "the warm-up wrote where it ran (MLflow's default ./mlflow.db?)"
    assert list(tmp.iterdir()) == [], "the warm-up left its store behind"
    assert "nonexistent" not in state["uri"] and "mlflow-grader-warm" not in state["uri"]


def test_the_warm_up_store_passes_what_it_logs(tmp_path):
    """fill_small_store logs what the reading paths need (a run with the ranking metric, a version in
    Production with an alias): graded, those checks pass, so their reading paths ran."""
    from grader.api import grade
    from grader.batch.warm import fill_small_store

    store = tmp_path / "mlruns"
    fill_small_store(store.as_uri())
    result = grade(store, probe=False, lang="en")
    statuses = {c.id: c.status for c in result.checks}
    assert statuses["registry.production"] == "pass", statuses
    assert result.runs and result.runs[0].metrics.get("rmse_test") == 0.5 and result.runs[0].is_best
    assert Path(tmp_path / "mlflow.db").exists() is False

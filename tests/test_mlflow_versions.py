"""Stores written by every MLflow version the course allows grade as that version leaves them.

``fixtures/stores/mlflow-<major.minor>/{file,sqlite,default}`` were written by the reference
solution under each MLflow (see fixtures/stores/README.md and fixtures/build_version_stores.sh)
in a temp folder and then copied: every absolute path inside them is stale, as in a moved
submission. Each test copies one store to tmp (MLflow writes into what it opens, and a recent
client migrates an old ``mlflow.db`` in place), grades the copy with the real grader and the
rubric whose sweep grid matches the tiny forests, and asserts:

* the exact status of every check: a pass everywhere (``notebook.final_cell`` is a ``warn``: the
  stores hold no notebook), except where the version's own trap explains otherwise (MLflow 3.0/3.1
  cannot move a version to a stage on a file store, so that student has no Production version;
  MLflow 1.x's file store has no Model Registry at all, so that student has no ``housing-best``;
  the scikit-learn 1.1/1.2 that MLflow 1.x ran with pickled trees today's scikit-learn cannot load);
* the kind of store and the MLflow layout the report names (and, for MLflow 1.x, the version it
  detected from the models' MLmodel), and that the probe predicts the 5 rows the student's own
  final cell predicted (build-summary.json);
* that grading left the copy byte for byte as it was;
* for one store per version, that ``grade --json -`` reports the same statuses, and for all of
  them in one class, that ``grade --batch`` does.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT, tree_digest

from grader import grade

STORES_DIR = REPO_ROOT / "fixtures" / "stores"
GRADE = [sys.executable, "-c", "import sys; from grader.cli import main; sys.exit(main())"]

#: A store the reference solution finished: every check passes; no notebook is handed in.
ALL_PASS = {
    "runs.count": "pass", "runs.fields": "pass", "runs.model": "pass",
    "registry.production": "pass", "registry.best_run": "pass", "model.predict": "pass",
    "exercise.manual": "pass", "exercise.autolog": "pass", "exercise.sweep": "pass",
    "integrity.metrics": "pass", "integrity.timeline": "pass", "notebook.final_cell": "warn",
    "registry.alias": "pass",
}

#: MLflow 3.0/3.1 file store: ``transition_model_version_stage`` raises RepresenterError, the
#: student is left with version 1 of housing-best in stage None and cannot run the final cell.
#: Everything that needs a Production version cannot pass; the runs are fine.
NO_STAGE = {
    **ALL_PASS,
    "registry.production": "fail",
    "registry.best_run": "skip",
    "model.predict": "skip",
    "integrity.metrics": "skip",
}

#: MLflow 1.x file store (so also 1.x's default ``./mlruns``): it has no Model Registry,
#: ``register_model`` raises "Model Registry features are not supported by the store with URI:
#: 'file:...'" and the student is left with the runs only (a 1.x class registered in SQLite).
NO_REGISTRY = {
    **NO_STAGE,
    "registry.alias": "skip",
}

#: MLflow 1.x SQLite: registered and in Production, but the forests were pickled by scikit-learn
#: 1.1/1.2, whose tree node arrays lack the ``missing_go_to_left`` field scikit-learn >= 1.3 needs:
#: "ValueError: node array from the pickle has an incompatible dtype". The student's own
#: environment predicted (build-summary.json); the grader's scikit-learn cannot load the model.
OLD_TREES = {
    **ALL_PASS,
    "model.predict": "fail",
    "integrity.metrics": "skip",
}

#: (MLflow minor, store) -> (expected statuses, store kind the report names, MLflow layout).
#: ``default`` is a file store before 3.7 and ``sqlite:///mlflow.db`` from 3.7.
EXPECTED: dict[tuple[str, str], tuple[dict[str, str], str, str]] = {}
for _minor in ("1.26", "1.30"):  # the layout of 1.x is 2.x's: models under each run's artifacts/
    EXPECTED[(_minor, "file")] = (NO_REGISTRY, "file", "2.x")
    EXPECTED[(_minor, "sqlite")] = (OLD_TREES, "sqlite", "2.x")
    EXPECTED[(_minor, "default")] = (NO_REGISTRY, "file", "2.x")
for _minor, _layout in (("2.10", "2.x"), ("2.16", "2.x"), ("3.1", "3.x"), ("3.5", "3.x"),
                        ("3.8", "3.x"), ("3.10", "3.x"), ("3.13", "3.x"), ("3.17", "3.x")):
    _default_kind = "sqlite" if tuple(map(int, _minor.split("."))) >= (3, 7) else "file"
    _no_stage_on_file = _minor in ("3.0", "3.1")
    EXPECTED[(_minor, "file")] = (NO_STAGE if _no_stage_on_file else ALL_PASS, "file", _layout)
    EXPECTED[(_minor, "sqlite")] = (ALL_PASS, "sqlite", _layout)
    EXPECTED[(_minor, "default")] = (
        NO_STAGE if _no_stage_on_file and _default_kind == "file" else ALL_PASS, _default_kind, _layout)

#: Tests known to fail because of a grader bug, with the diagnosis (see the report of issue 11).
XFAIL: dict[tuple[str, str], str] = {}

#: The store of each version whose ``grade --json -`` output is compared too (and 1.x's SQLite:
#: its artifact URIs are relative, ``./mlruns/1/<run>/artifacts``).
CLI_STORES = sorted({(minor, "default") for minor, _ in EXPECTED} | {("1.30", "sqlite")})


def _params(keys):
    out = []
    for key in keys:
        marks = [pytest.mark.xfail(strict=True, reason=XFAIL[key])] if key in XFAIL else []
        out.append(pytest.param(*key, id=f"mlflow-{key[0]}-{key[1]}", marks=marks))
    return out


def _committed(minor: str, backend: str) -> Path:
    path = STORES_DIR / f"mlflow-{minor}" / backend
    if not path.is_dir():
        pytest.fail(f"committed store missing: {path} (rebuild: bash fixtures/build_version_stores.sh)")
    return path


def _moved_copy(tmp_path: Path, minor: str, backend: str) -> Path:
    """The committed store copied to a fresh folder (its absolute paths now point nowhere)."""
    dst = tmp_path / f"mlflow-{minor}-{backend}" / "submission"
    shutil.copytree(_committed(minor, backend), dst, symlinks=True)
    return dst


def _summary(minor: str, backend: str) -> dict:
    return json.loads((STORES_DIR / f"mlflow-{minor}" / "build-summary.json").read_text())[backend]


@pytest.mark.parametrize(("minor", "backend"), _params(sorted(EXPECTED)))
def test_committed_store_grades_as_its_version_leaves_it(tmp_path, v2_rubric_file, minor, backend):
    """``grade(path, rubric)`` on a moved copy: the exact verdict of every check, read-only."""
    expected, kind, layout = EXPECTED[(minor, backend)]
    store = _moved_copy(tmp_path, minor, backend)
    before = tree_digest(store)

    result = grade(store, v2_rubric_file, lang="en")

    statuses = {c.id: c.status for c in result.checks}
    messages = "\n".join(f"{c.id} [{c.status}] {c.message}" for c in result.checks if c.status != expected.get(c.id))
    assert statuses == expected, messages
    assert (result.submission.store, result.submission.mlflow_layout) == (kind, layout)
    assert tree_digest(store) == before, "grading modified the submission"
    checks = {c.id: c for c in result.checks}
    summary = _summary(minor, backend)
    predictions = summary["predictions"]
    if predictions is not None and expected["model.predict"] == "pass":
        # the probe, under today's MLflow, predicts what the student's final cell did
        assert checks["model.predict"].evidence["predictions"] == pytest.approx(predictions, rel=1e-9)
    if minor.startswith("1."):  # not "2.x" for the version: the MLmodel files say who wrote them
        assert result.submission.mlflow_version == summary["mlflow"]
        assert result.submission.mlflow_version.startswith("1.")
    if expected is NO_STAGE:  # the report says where the student was left (v1, in no stage), and why the rest is skipped
        message = checks["registry.production"].message
        assert "no version is in Production" in message and "v1" in message, message
    if expected in (NO_STAGE, NO_REGISTRY):
        for check_id in ("registry.best_run", "model.predict", "integrity.metrics"):
            assert "Production" in checks[check_id].message, checks[check_id].message
    if expected is NO_REGISTRY:
        assert "housing-best" in checks["registry.production"].message
    if expected is OLD_TREES:  # the old pickle's own reason, and who made it with what
        message = checks["model.predict"].message
        assert "node array from the pickle has an incompatible dtype" in message, message
        assert "expected" in message and f"scikit-learn {summary['sklearn']}" in message, message
        assert "model.predict" in checks["integrity.metrics"].message


def test_old_tree_pickle_message_says_what_was_found(tmp_path, v2_rubric_file):
    """MLflow 1.30 SQLite (scikit-learn 1.2.2 forests): ``model.predict``'s message keeps both sides
    of scikit-learn's reason, the dtype expected and the dtype found in the pickle."""
    result = grade(_moved_copy(tmp_path, "1.30", "sqlite"), v2_rubric_file, lang="en")
    message = next(c for c in result.checks if c.id == "model.predict").message
    assert "incompatible dtype" in message and "expected" in message, message
    assert re.search(r"\b(got|found)\b", message), message


@pytest.mark.parametrize(("minor", "backend"), _params(sorted(EXPECTED)))
def test_build_summary_matches_the_store(minor, backend):
    """The build summary says which MLflow wrote the store and where the student was left."""
    expected, _, _ = EXPECTED[(minor, backend)]
    summary = _summary(minor, backend)
    assert summary["mlflow"].rsplit(".", 1)[0] == minor
    assert summary["runs"] == 13 and summary["best_run_name"] == "rf-d10-n8"
    if expected["registry.production"] == "pass":  # also OLD_TREES: the student's own sklearn predicted
        assert summary["stage"] == "Production" and summary["problems"] == []
        assert len(summary["predictions"]) == 5
    elif expected is NO_REGISTRY:
        assert summary["version"] is None and summary["stage"] is None and summary["predictions"] is None
        assert summary["problems"][0]["step"] == "register_model"
        assert "Model Registry features are not supported" in summary["problems"][0]["error"]
    else:
        assert summary["stage"] == "None" and summary["predictions"] is None
        assert "RepresenterError" in summary["problems"][0]["error"]


@pytest.mark.parametrize(("minor", "backend"), _params(CLI_STORES))
def test_cli_json_gives_the_same_statuses(tmp_path, v2_rubric_file, minor, backend):
    """``grade PATH --json -`` (a fresh process, as an instructor runs it): same statuses, exit code."""
    expected, kind, _ = EXPECTED[(minor, backend)]
    store = _moved_copy(tmp_path, minor, backend)
    before = tree_digest(store)
    proc = subprocess.run([*GRADE, str(store), "--rubric", str(v2_rubric_file), "--json", "-", "--lang", "en"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False)
    assert proc.returncode == (0 if all(s in ("pass", "warn") for s in expected.values()) else 1), proc.stderr
    report = json.loads(proc.stdout)
    assert {c["id"]: c["status"] for c in report["checks"]} == expected
    assert report["submission"]["store"] == kind
    # The summary goes to stderr; an old store's migration logs and old pickles' warnings do not.
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    if minor.startswith("1."):  # the layout is 2.x's; the version is the one that wrote the models
        assert report["submission"]["mlflow_version"].startswith("1."), report["submission"]
        assert "run artifacts (MLflow 1.x/2.x)" in proc.stderr, proc.stderr
        assert f"MLflow {_summary(minor, backend)['mlflow']}" in proc.stderr, proc.stderr
    assert tree_digest(store) == before


def test_batch_gives_the_same_statuses(tmp_path, v2_rubric_file):
    """``grade --batch`` over a class holding every committed store (each student graded in a
    process forked from the warm fork server): each report has the statuses a single grade gives."""
    keys = sorted(EXPECTED)
    subs = tmp_path / "subs"
    for minor, backend in keys:
        shutil.copytree(_committed(minor, backend), subs / f"mlflow-{minor}-{backend}", symlinks=True)
    before = tree_digest(subs)
    out = tmp_path / "out"
    proc = subprocess.run([*GRADE, "--batch", str(subs), "--out", str(out), "--rubric", str(v2_rubric_file),
                           "--lang", "en", "-j", "2"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    for minor, backend in keys:
        report = json.loads((out / "students" / f"mlflow-{minor}-{backend}" / "report.json").read_text())
        assert {c["id"]: c["status"] for c in report["checks"]} == EXPECTED[(minor, backend)][0], (minor, backend)
    assert tree_digest(subs) == before

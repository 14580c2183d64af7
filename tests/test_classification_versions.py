"""The classification rubric on stores written by other MLflows: 2.x's and an older 3.x's layout.

``fixtures/stores/cancer-classification/mlflow-<major.minor>/{file,sqlite}`` hold the second course's
reference (``fixtures/reference_classification.py``: 8 runs in ``cancer-classification``, the best
by ``accuracy_test`` registered as ``cancer-best`` behind ``@champion``) written by MLflow 2.16.2
(models under each run's ``artifacts/``) and 3.1.4 (LoggedModels), built by
``SOLUTION=cancer-classification bash fixtures/build_version_stores.sh 2.16.2 3.1.4`` (see
fixtures/stores/README.md). The suite's own MLflow builds the newest layout (tests/test_task.py).

Each is graded after a move (copied to a fresh folder: its absolute paths are stale) and must pass
every check but the notebook's (no store holds one: a warning), read-only. Broken copies (the
reference's ``derive`` variants) fail the check the rubric names for each, whether the student
broke it with today's MLflow (which migrates an older SQLite store first) or with the MLflow that
wrote the store (``/tmp/mlflow-2.16.2-venv``, when it exists).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO_ROOT, tree_digest

from grader import grade
from grader.cli import main

RUBRIC = "cancer-classification"
STORES = REPO_ROOT / "fixtures" / "stores" / "cancer-classification"
#: (MLflow minor, backend) -> (store kind the report names, MLflow layout).
EXPECTED = {
    ("2.16", "file"): ("file", "2.x"),
    ("2.16", "sqlite"): ("sqlite", "2.x"),
    ("3.1", "file"): ("file", "3.x"),
    ("3.1", "sqlite"): ("sqlite", "3.x"),
}
#: Every check passes; the stores hold no notebook, so the final cell's check warns.
ALL_PASS_BUT_NOTEBOOK = {"notebook.final_cell": "warn"}
#: What each broken copy must fail, as tests/test_task.py asserts for the suite's own MLflow.
VARIANT_FAILS = {
    "few_runs": {"runs.count"},
    "worst_as_champion": {"registry.best_run"},
    "wrong_metric": {"integrity.metrics"},
    "no_registry": {"registry.production"},
}
#: The MLflow that wrote the 2.16 stores, where build_version_stores.sh makes it.
OLD_PYTHON = Path(os.environ.get("VENV_ROOT", "/tmp")) / "mlflow-2.16.2-venv" / "bin" / "python"
SCRIPT = REPO_ROOT / "fixtures" / "reference_classification.py"


def _reference_module():
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    return importlib.import_module("fixtures.reference_classification")


def _moved_copy(tmp_path: Path, minor: str, backend: str) -> Path:
    src = STORES / f"mlflow-{minor}" / backend
    if not src.is_dir():
        pytest.fail(f"committed store missing: {src} (SOLUTION=cancer-classification "
                    "bash fixtures/build_version_stores.sh 2.16.2 3.1.4)")
    dst = tmp_path / f"cancer-{minor}-{backend}" / "submission"
    shutil.copytree(src, dst, symlinks=True)
    return dst


def _statuses(result) -> dict[str, str]:
    return {c.id: c.status for c in result.checks}


def _failed(statuses: dict[str, str]) -> set[str]:
    return {cid for cid, status in statuses.items() if status == "fail"}


@pytest.mark.parametrize(("minor", "backend"), sorted(EXPECTED), ids=lambda v: str(v))
def test_committed_classification_store_passes_after_a_move(tmp_path, minor, backend):
    kind, layout = EXPECTED[(minor, backend)]
    store = _moved_copy(tmp_path, minor, backend)
    before = tree_digest(store)
    result = grade(store, RUBRIC, lang="en")
    statuses = _statuses(result)
    assert {cid: s for cid, s in statuses.items() if s != "pass"} == ALL_PASS_BUT_NOTEBOOK, statuses
    assert result.passed and result.score == result.max_score
    assert (result.submission.store, result.submission.mlflow_layout) == (kind, layout)
    summary = json.loads((STORES / f"mlflow-{minor}" / "build-summary.json").read_text())[backend]
    assert result.submission.mlflow_version == summary["mlflow"]
    predict = next(c for c in result.checks if c.id == "model.predict")
    assert [int(p) for p in predict.evidence["predictions"]] == summary["predictions"]
    best = next(c for c in result.checks if c.id == "registry.best_run")
    assert summary["best_run_id"] in json.dumps(best.evidence), best.evidence
    assert tree_digest(store) == before, "grading changed the submission"


def test_cli_json_agrees_on_the_2x_sqlite_store(tmp_path):
    store = _moved_copy(tmp_path, "2.16", "sqlite")
    api = _statuses(grade(store, RUBRIC, lang="en"))
    out = tmp_path / "report.json"
    assert main([str(store), "--rubric", RUBRIC, "--json", str(out), "-q"]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert {c["id"]: c["status"] for c in report["checks"]} == api
    assert report["submission"]["mlflow_layout"] == "2.x"


#: Variants broken with the suite's MLflow: every variant on both SQLite stores (migrated first by
#: that MLflow, as by a student who upgraded), the ranking mistake on the file stores too. (Today's
#: file store cannot change the 3.1 file store's runs at all: it finds no run without an
#: ``artifacts/`` folder, see WORST_AS_CHAMPION; the 2.16 file store is broken by 2.16 below.)
TODAY = [(minor, "sqlite", v) for minor in ("2.16", "3.1") for v in sorted(VARIANT_FAILS)] + [
    (minor, "file", "worst_as_champion") for minor in ("2.16", "3.1")
]


#: ``worst_as_champion`` on a moved store, as a student does it with today's MLflow: the client's
#: ``create_model_version(name, "runs:/RUN/model")``. ``mlflow.register_model`` (the reference's way)
#: cannot: it lists the run's artifacts at the absolute location recorded when it was logged (gone
#: after a move), then looks for a 3.x LoggedModel ("Unable to find a logged_model with artifact_path
#: model" on a 2.x store); and today's file store finds no run without an ``artifacts/`` folder
#: ("Run '...' not found" on the 3.1 file store, whose empty folders a git clone drops). The version
#: keeps the source ``runs:/RUN/model``, which MLflow 3 resolves to the run's LoggedModel ``model``.
WORST_AS_CHAMPION = r"""
import sys, mlflow
from mlflow.tracking import MlflowClient

mlflow.set_tracking_uri(sys.argv[1])
client = MlflowClient()
runs = mlflow.search_runs(experiment_names=["cancer-classification"], order_by=["metrics.accuracy_test DESC"])
worst = runs.iloc[-1].run_id
version = client.create_model_version("cancer-best", f"runs:/{worst}/model", run_id=worst)
client.set_registered_model_alias("cancer-best", "champion", version.version)
"""


def _break(src: Path, dst: Path, variant: str) -> None:
    """A broken copy of ``src`` in ``dst``, made with the suite's MLflow in a subprocess."""
    if variant != "worst_as_champion":
        _reference_module().derive(src, dst, variant)
        return
    shutil.copytree(src, dst)
    uri = f"sqlite:///{dst / 'mlflow.db'}" if (dst / "mlflow.db").exists() else f"file:{dst / 'mlruns'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_ALLOW_FILE_STORE"] = "true"
    proc = subprocess.run([sys.executable, "-c", WORST_AS_CHAMPION, uri], capture_output=True, text=True,
                          timeout=300, env=env, cwd=dst, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize(("minor", "backend", "variant"), TODAY, ids=lambda v: str(v))
def test_variant_broken_with_todays_mlflow_fails_its_check(tmp_path, minor, backend, variant):
    broken = tmp_path / "broken"
    _break(_moved_copy(tmp_path, minor, backend), broken, variant)
    result = grade(broken, RUBRIC, lang="en")
    assert _failed(_statuses(result)) == VARIANT_FAILS[variant], _statuses(result)
    if variant == "worst_as_champion":  # the worst run's model, found where MLflow finds it, predicts
        assert _statuses(result)["model.predict"] == "pass", _statuses(result)
    assert not result.passed or variant == "wrong_metric"


@pytest.mark.skipif(not OLD_PYTHON.exists(), reason=f"no MLflow 2.16.2 venv at {OLD_PYTHON.parent.parent}")
@pytest.mark.parametrize("variant", sorted(VARIANT_FAILS))
def test_variant_broken_with_the_mlflow_that_wrote_it_fails_its_check(tmp_path, variant):
    """The 2.16 file store broken by MLflow 2.16 itself: the layout stays 2.x."""
    broken = tmp_path / "broken"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    proc = subprocess.run(
        [str(OLD_PYTHON), str(SCRIPT), "--out", str(broken), "--variant", variant,
         "--derive-from", str(_moved_copy(tmp_path, "2.16", "file"))],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["mlflow"] == "2.16.2"
    result = grade(broken, RUBRIC, lang="en")
    assert _failed(_statuses(result)) == VARIANT_FAILS[variant], _statuses(result)
    assert result.submission.mlflow_layout == "2.x"


# --------------------------------------------------------------------------- through a tracking server

#: The reference's runs and registry (its own grid, split and names), logged through a server: the
#: tracking URI is the server's, the models go to its ``mlflow-artifacts:`` store.
LOG_THROUGH_SERVER = r"""
import sys
sys.path.insert(0, sys.argv[1])
import mlflow, mlflow.sklearn
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from fixtures.reference_classification import ALIAS, EXPERIMENT, MODEL, _grid

mlflow.set_tracking_uri(sys.argv[2])
mlflow.set_experiment(EXPERIMENT)
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
for name, kind, model, params in _grid():
    with mlflow.start_run(run_name=name):
        model.fit(X_train, y_train)
        pred = model.predict(X_test)
        mlflow.log_params({"model_type": kind, **params})
        mlflow.log_metrics({"accuracy_test": accuracy_score(y_test, pred), "f1_test": f1_score(y_test, pred)})
        mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle")
top = mlflow.search_runs(experiment_names=[EXPERIMENT], order_by=["metrics.accuracy_test DESC"]).iloc[0]
version = mlflow.register_model(f"runs:/{top.run_id}/model", MODEL)
MlflowClient().set_registered_model_alias(MODEL, ALIAS, version.version)
print(top.run_id)
"""


def test_classification_reference_logged_through_a_server_passes(tmp_path):
    from test_server import MlflowServer, _env, server_state

    server = MlflowServer(tmp_path / "server")
    try:
        server.wait_ready()
        proc = subprocess.run([sys.executable, "-c", LOG_THROUGH_SERVER, str(REPO_ROOT), server.uri],
                              capture_output=True, text=True, timeout=600, env=_env(), cwd=tmp_path, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        best_run = proc.stdout.strip().splitlines()[-1]
        before = server_state(server.uri)
        started = time.perf_counter()
        result = grade(server.uri, RUBRIC, lang="en")
        took = time.perf_counter() - started
        statuses = _statuses(result)
        assert {cid: s for cid, s in statuses.items() if s != "pass"} == ALL_PASS_BUT_NOTEBOOK, statuses
        assert result.submission.store == "server" and result.submission.mlflow_layout == "3.x"
        best = next(c for c in result.checks if c.id == "registry.best_run")
        assert best_run in json.dumps(best.evidence), best.evidence
        assert server_state(server.uri) == before, "grading changed the server's store"
        print(f"graded the server in {took:.1f} s")
    finally:
        server.stop()

"""A custom ``mlflow.pyfunc.PythonModel`` as the graded model: a rubric opts in with
``task.flavors: [..., pyfunc]``; its loading runs the student's own code, so the probe loads it only
with ``--trust-pickles`` (in the sandbox) and otherwise says so as the grader's error; a rubric that
does not name ``pyfunc`` refuses it as a model of another kind."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from grader import grade
from grader.probe import ProbeOptions
from grader.rubric import parse_rubric
from helpers import REPO_ROOT, load_fixtures_modules, tree_digest

#: Run in a subprocess on a copy of the reference store: log a PythonModel (defined here, so pickled
#: by value) wrapping a linear regression, register it and move it to Production.
_LOG_PYFUNC = r"""
import sys, warnings
warnings.simplefilter("ignore")
import mlflow
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LinearRegression
sys.path.insert(0, sys.argv[2])
from grader.data import FEATURES, housing

uri = f"sqlite:///{sys.argv[1]}/mlflow.db"
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
frame = housing().head(500)
inner = LinearRegression().fit(frame[FEATURES], frame["MedHouseVal"])

class Wrapped(mlflow.pyfunc.PythonModel):
    def __init__(self, model):
        self.model = model
    def predict(self, context, model_input, params=None):
        return self.model.predict(model_input[FEATURES])

mlflow.set_experiment("homework-195")
with mlflow.start_run(run_name="pyfunc") as run:
    mlflow.log_param("model_type", "PythonModel")
    mlflow.pyfunc.log_model(name="model", python_model=Wrapped(inner), pip_requirements=["scikit-learn"])
client = MlflowClient()
version = mlflow.register_model(f"runs:/{run.info.run_id}/model", "housing-best")
client.transition_model_version_stage("housing-best", version.version, "Production", archive_existing_versions=True)
print(version.version)
"""


@pytest.fixture(scope="module")
def pyfunc_store(reference_store_sqlite, tmp_path_factory):
    store = tmp_path_factory.mktemp("pyfunc") / "store"
    shutil.copytree(reference_store_sqlite, store)
    # the copy's recorded locations point into the copy first: MLflow writes there, never into the session's store
    load_fixtures_modules()  # puts the repo on sys.path
    from fixtures import habits

    habits._rewrite_paths(store, reference_store_sqlite, lambda value: value.replace(str(reference_store_sqlite.resolve()), str(store), 1))
    proc = subprocess.run([sys.executable, "-c", _LOG_PYFUNC, str(store), str(REPO_ROOT)], capture_output=True,
                          text=True, timeout=300, cwd=store)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return store


def _rubric(flavors: list[str]):
    return parse_rubric({
        "id": "pyfunc-test",
        "title": "pyfunc",
        "task": {"flavors": flavors},
        "settings": {"experiment": "homework-195", "model_name": "housing-best"},
        "checks": [{"id": "registry.production", "points": 1}, {"id": "model.predict", "points": 1}],
    })


def _predict(store, flavors: list[str], trust: bool, lang: str = "en"):
    result = grade(store, _rubric(flavors), lang=lang, probe_options=ProbeOptions(trust_pickles=trust))
    return next(c for c in result.checks if c.id == "model.predict")


def test_a_rubric_naming_pyfunc_loads_it_in_the_sandbox_with_trust_pickles(pyfunc_store):
    before = tree_digest(pyfunc_store)
    check = _predict(pyfunc_store, ["sklearn", "pyfunc"], trust=True)
    assert check.status == "pass", check.message
    assert check.evidence["isolation"]["filesystem"].startswith("Landlock"), check.evidence  # the sandbox held it
    assert tree_digest(pyfunc_store) == before


def test_without_trust_pickles_it_is_the_graders_error_saying_how(pyfunc_store):
    check = _predict(pyfunc_store, ["sklearn", "pyfunc"], trust=False)
    assert check.status == "error" and "--trust-pickles" in check.message and "PythonModel" in check.message
    spanish = _predict(pyfunc_store, ["sklearn", "pyfunc"], trust=False, lang="es")
    assert spanish.status == "error" and "No es culpa tuya" in spanish.message


def test_a_rubric_without_pyfunc_refuses_it_as_another_kind(pyfunc_store):
    for trust in (False, True):
        check = _predict(pyfunc_store, ["sklearn"], trust=trust)
        assert check.status == "fail" and "accepts sklearn models" in check.message, check.message
        assert "pyfunc model" in check.message


def test_the_default_flavours_do_not_include_pyfunc():
    from grader.task import FLAVORS, Task

    assert "pyfunc" not in Task().flavors and Task().flavors == FLAVORS
    assert json.dumps(list(FLAVORS)) == '["sklearn", "xgboost", "lightgbm"]'

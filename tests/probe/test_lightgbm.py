"""LightGBM models (``mlflow.lightgbm``), graded as XGBoost's are.

* The classification rubric (``rubrics/cancer-classification.yaml``) on a store whose @champion is
  an ``LGBMClassifier`` logged with ``mlflow.lightgbm.log_model`` (MLflow's default format, skops),
  file and SQLite, moved (every recorded path stale): every check passes. Homework 195 with an
  ``LGBMRegressor`` or a native Booster in Production is a habit of the corpus
  (``fixtures/habits.py``: ``lightgbm_sklearn``, ``lightgbm_booster``; ``tests/test_habits.py``).
* A ``lightgbm`` flavor naming a class that is not LightGBM's, or a format MLflow does not write,
  is refused before anything is loaded (a canary shows nothing ran).
* Without LightGBM where the grader runs, ``model.predict`` says how to install the extra.

LightGBM itself is only ever run in subprocesses and probes here: its OpenMP threads, once started
in the test process, would hang every probe forked from it afterwards.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT, tree_digest

pytest.importorskip("lightgbm", reason="the lightgbm extra: pip install 'mlflow-grader[lightgbm]'")

RUBRIC = REPO_ROOT / "rubrics" / "cancer-classification.yaml"
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked probe: Linux only")


def _fixtures(name: str):
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    return importlib.import_module(f"fixtures.{name}")


@pytest.fixture(scope="session")
def lightgbm_champions(tmp_path_factory) -> dict[str, Path]:
    """backend -> the classification homework with an LGBMClassifier as @champion, moved."""
    top = tmp_path_factory.mktemp("lightgbm-cancer")
    stores = {}
    for backend in ("file", "sqlite"):
        reference = top / f"ref-{backend}"
        _fixtures("reference_classification").build(reference, backend)
        work = top / f"work-{backend}"
        shutil.copytree(reference, work)
        summary = _fixtures("habits").add_lightgbm_best(work, reference, "sklearn", "cancer")
        assert summary["accuracy_test"] > 0.958, summary  # above every run of the reference
        moved = top / f"lgbm-{backend}"
        shutil.move(str(work), moved)
        stores[backend] = moved
    return stores


@pytest.mark.parametrize("backend", ["file", "sqlite"])
def test_lgbm_classifier_champion_passes(backend, lightgbm_champions):
    from grader import grade

    store = lightgbm_champions[backend]
    before = tree_digest(store)
    result = grade(store, RUBRIC, lang="en")
    assert tree_digest(store) == before
    assert {c.status for c in result.checks} == {"pass"}, [(c.id, c.status, c.message) for c in result.checks]
    predict = next(c for c in result.checks if c.id == "model.predict")
    assert len(predict.evidence["predictions"]) == 5
    assert result.passed and result.score == result.max_score


def test_the_champion_is_lightgbm_in_skops(lightgbm_champions):
    """What the grader read: MLflow's default for LightGBM's scikit-learn API (skops, no pickle)."""
    from grader.evidence.artifacts import describe_model, read_mlmodel

    store = lightgbm_champions["sqlite"]
    folders = [p.parent for p in store.rglob("MLmodel") if (p.parent / "model.skops").is_file()]
    assert len(folders) == 1, folders
    data = read_mlmodel(folders[0])
    assert data["flavors"]["lightgbm"]["model_class"] == "lightgbm.sklearn.LGBMClassifier"
    ev = describe_model(folders[0], store, "logged-model")
    assert ev.serialization_format == "skops" and ev.model_file == "model.skops" and "lightgbm" in ev.flavors


# --------------------------------------------------------------------------- refusals before loading

LGB_MLMODEL = """artifact_path: model
flavors:
  lightgbm:
    code: null
    data: {file}
    lgb_version: 4.7.0
    model_class: {model_class}
    serialization_format: {fmt}
  python_function:
    data: {file}
    loader_module: mlflow.lightgbm
    python_version: 3.11.7
mlflow_version: 3.17.2
"""


def _folder(root: Path, model_class: str, fmt: str = "cloudpickle", file: str = "model.pkl",
            payload: bytes = b"") -> Path:
    folder = root / "snap" / "m"
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text(LGB_MLMODEL.format(file=file, model_class=model_class, fmt=fmt), encoding="utf-8")
    (folder / file).write_bytes(payload or b"tree\n")
    return folder


@pytest.mark.parametrize("model_class", [
    "sklearn.ensemble._forest.RandomForestRegressor",  # a real class, but not LightGBM's
    "lightgbm.sklearn.LGBMModelEvil",
    "posix.system",
    "lightgbm.basic.Dataset",
])
def test_foreign_model_class_is_refused(model_class, tmp_path):
    from grader.probe.scan import scan_model_dir

    refusal = scan_model_dir(_folder(tmp_path, model_class))
    assert refusal and refusal.startswith("refused:") and "not one of LightGBM's models" in refusal, refusal


def test_unknown_format_and_missing_flavor_are_refused(tmp_path):
    from grader.probe.scan import scan_model_dir

    refusal = scan_model_dir(_folder(tmp_path / "a", "lightgbm.sklearn.LGBMRegressor", fmt="joblib"))
    assert refusal and "serialization_format" in refusal, refusal
    folder = _folder(tmp_path / "b", "lightgbm.basic.Booster", file="model.lgb")
    text = (folder / "MLmodel").read_text(encoding="utf-8")
    (folder / "MLmodel").write_text(text.replace("  lightgbm:\n", "  lgbm:\n"), encoding="utf-8")
    refusal = scan_model_dir(folder)
    assert refusal and "no lightgbm flavor" in refusal, refusal
    folder = _folder(tmp_path / "c", "lightgbm.basic.Booster", file="model.lgb")
    text = (folder / "MLmodel").read_text(encoding="utf-8")
    (folder / "MLmodel").write_text(text.replace("    data: model.lgb\n    lgb", "    data: ../../x.lgb\n    lgb"))
    refusal = scan_model_dir(folder)
    assert refusal and "outside the model folder" in refusal, refusal


@linux
def test_foreign_class_never_loads_in_the_probe(tmp_path):
    """A pickle that would write a canary, behind a lightgbm flavor naming another class: the probe
    refuses it before any child loads it."""
    import pickle

    from grader.evidence.model import ModelArtifactEv
    from grader.probe import ProbeOptions, probe_model

    canary = tmp_path / "canary"

    class Payload:
        def __reduce__(self):
            return (exec, (f"open({str(canary)!r}, 'w').write('pwned')",))

    _folder(tmp_path, "builtins.exec", payload=pickle.dumps(Payload()))
    model = ModelArtifactEv(kind="logged-model", path="m", model_file="model.pkl",
                            flavors=["lightgbm", "python_function"])
    ev = probe_model(model, tmp_path / "snap", ProbeOptions(timeout=60))
    assert ev.error_kind == "refused" and "not one of LightGBM's models" in ev.error, (ev.error_kind, ev.error)
    assert not canary.exists()


# --------------------------------------------------------------------------- LightGBM not installed

_WITHOUT_LIGHTGBM = """
import json, sys
sys.modules["lightgbm"] = None  # import lightgbm raises ImportError, as where the extra is missing
from grader import grade
result = grade(sys.argv[1], sys.argv[2], lang=sys.argv[3])
print(json.dumps({c.id: [c.status, c.message] for c in result.checks}))
"""


@pytest.mark.parametrize("lang", ["es"])  # the Spanish report carries the (English) instruction too
def test_without_lightgbm_model_predict_says_how_to_install_it(lang, lightgbm_champions):
    proc = subprocess.run([sys.executable, "-c", _WITHOUT_LIGHTGBM, str(lightgbm_champions["file"]), str(RUBRIC), lang],
                          capture_output=True, text=True, timeout=600, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    checks = json.loads(proc.stdout.strip().splitlines()[-1])
    status, message = checks["model.predict"]
    # the grader's error (an extra to install), not the student's fail: "No es culpa tuya"
    assert status == "error" and "pip install 'mlflow-grader[lightgbm]'" in message, checks["model.predict"]
    assert "LightGBM is not installed" in message and "No es culpa tuya" in message
    assert checks["registry.best_run"][0] == "pass"  # nothing else depends on loading the model


def test_a_defaultdict_may_only_make_plain_containers():
    """LightGBM's ``best_score_`` is a ``defaultdict(OrderedDict)``, so ``defaultdict`` is on the
    allowlist; its factory, called for any missing key, is checked after loading like every
    callable a model holds: a ``partial`` (of anything) or a function is refused."""
    import collections
    import functools

    from sklearn.linear_model import LinearRegression

    from grader.probe.unpickle import Refused, check_loaded

    model = LinearRegression()
    model.extra_ = collections.defaultdict(collections.OrderedDict)
    check_loaded(model)
    for factory in (functools.partial(print, "called"), print, collections.Counter):
        model.extra_ = collections.defaultdict(factory)
        with pytest.raises(Refused, match="default factory"):
            check_loaded(model)

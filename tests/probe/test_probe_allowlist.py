"""The checking unpickler's exact allowlist, and the refusal of callables stored as attributes.

* Every import of real models (the reference stores, a battery of regressors, pipelines and
  transformers, pickled with protocols 2 to 5 and cloudpickle) is an exact pair of the allowlist,
  and they load, pass :func:`check_loaded` and predict as an unchecked load does.
* Classes the old rule admitted ("any capitalised name of sklearn or pandas") are refused.
* A hole in the allowlist (simulated by adding ``exec``/``getattr`` to it): gadgets built of
  allowed classes that run a shell at predict time (``FunctionTransformer`` holding a callable,
  ``StackingRegressor.stack_method_``) are refused after loading; each payload writes a canary
  when loaded without the checks, and does not in the probe.
* The same for ``.skops`` files.
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.evidence.model import ModelArtifactEv
from grader.probe import ProbeOptions, probe_model, scan
from grader.probe.scan import allowed, scan_model_dir
from grader.probe.unpickle import Refused, check_loaded, checked_loads

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked probe: Linux only")

MLMODEL = """artifact_path: model
flavors:
  python_function:
    data: {file}
    loader_module: mlflow.sklearn
    predict_fn: predict
    python_version: 3.11.7
  sklearn:
    code: null
    pickled_model: {file}
    serialization_format: {fmt}
    sklearn_version: 1.9.1
mlflow_version: 3.17.2
"""


class _Recorder(pickle.Unpickler):
    def __init__(self, data: bytes, seen: set) -> None:
        super().__init__(io.BytesIO(data))
        self.seen = seen

    def find_class(self, module, name):
        self.seen.add((module, name))
        return super().find_class(module, name)


def _battery():
    import cloudpickle
    import pandas as pd
    from sklearn import (
        compose,
        ensemble,
        impute,
        linear_model,
        neighbors,
        pipeline,
        preprocessing,
        svm,
        tree,
    )
    from sklearn import calibration, discriminant_analysis, dummy, multiclass, naive_bayes, neural_network
    from sklearn.feature_selection import SelectKBest, f_regression

    rng = np.random.RandomState(0)
    x, y = rng.rand(60, 4), rng.rand(60)
    frame = pd.DataFrame(x, columns=list("abcd")).assign(cat=["u", "v", "w"] * 20)
    models = [
        linear_model.LinearRegression(), linear_model.Ridge(), linear_model.Lasso(), linear_model.SGDRegressor(),
        tree.DecisionTreeRegressor(), ensemble.RandomForestRegressor(4, n_jobs=-1), ensemble.ExtraTreesRegressor(3),
        ensemble.GradientBoostingRegressor(n_estimators=3), ensemble.HistGradientBoostingRegressor(max_iter=3),
        ensemble.AdaBoostRegressor(n_estimators=2), ensemble.BaggingRegressor(n_estimators=2),
        ensemble.VotingRegressor([("a", linear_model.Ridge()), ("b", tree.DecisionTreeRegressor())]),
        ensemble.StackingRegressor([("a", linear_model.Ridge()), ("b", tree.DecisionTreeRegressor())], cv=3),
        neighbors.KNeighborsRegressor(n_jobs=-1), svm.SVR(),
        pipeline.make_pipeline(preprocessing.StandardScaler(), ensemble.RandomForestRegressor(3)),
        pipeline.make_pipeline(impute.SimpleImputer(), preprocessing.PolynomialFeatures(2), SelectKBest(f_regression, k=3),
                               linear_model.Ridge()),
        pipeline.make_pipeline(preprocessing.FunctionTransformer(np.log1p, inverse_func=np.expm1), linear_model.Ridge()),
        compose.TransformedTargetRegressor(linear_model.LinearRegression(), func=np.log1p, inverse_func=np.expm1),
    ]
    for model in models:
        model.fit(x, y)
        for protocol in (2, 4, 5):
            yield f"{type(model).__name__}-p{protocol}", pickle.dumps(model, protocol=protocol), x
        yield f"{type(model).__name__}-cloudpickle", cloudpickle.dumps(model), x
    labels = (x[:, 0] > 0.5).astype(int)  # a classification task's target (grader.task), two and three classes
    classifiers = [
        linear_model.LogisticRegression(max_iter=200), linear_model.RidgeClassifier(), linear_model.SGDClassifier(),
        tree.DecisionTreeClassifier(), ensemble.RandomForestClassifier(4, n_jobs=-1), ensemble.ExtraTreesClassifier(3),
        ensemble.GradientBoostingClassifier(n_estimators=3), ensemble.HistGradientBoostingClassifier(max_iter=3),
        ensemble.AdaBoostClassifier(n_estimators=2), ensemble.BaggingClassifier(n_estimators=2),
        ensemble.VotingClassifier([("a", linear_model.LogisticRegression()), ("b", tree.DecisionTreeClassifier())]),
        ensemble.StackingClassifier([("a", linear_model.LogisticRegression()), ("b", tree.DecisionTreeClassifier())], cv=3),
        neighbors.KNeighborsClassifier(), svm.SVC(), svm.LinearSVC(),
        pipeline.make_pipeline(preprocessing.StandardScaler(), linear_model.LogisticRegression()),
        linear_model.SGDClassifier(loss="log_loss"), linear_model.SGDClassifier(loss="modified_huber"),
        linear_model.SGDClassifier(loss="squared_hinge"), linear_model.Perceptron(), linear_model.LogisticRegressionCV(cv=3),
        linear_model.RidgeClassifierCV(), naive_bayes.GaussianNB(), naive_bayes.BernoulliNB(),
        discriminant_analysis.LinearDiscriminantAnalysis(), discriminant_analysis.QuadraticDiscriminantAnalysis(),
        neural_network.MLPClassifier(max_iter=20), dummy.DummyClassifier(), svm.NuSVC(nu=0.3),
        multiclass.OneVsRestClassifier(linear_model.LogisticRegression()), calibration.CalibratedClassifierCV(cv=3),
    ]
    for target in (labels, (x[:, 0] * 3).astype(int)):
        for model in classifiers:
            model.fit(x, target)
            yield f"{type(model).__name__}-{len(set(target))}-classes", pickle.dumps(model, protocol=5), x
            yield f"{type(model).__name__}-{len(set(target))}-classes-cloudpickle", cloudpickle.dumps(model), x
    columns = compose.ColumnTransformer([("num", preprocessing.StandardScaler(), list("abcd")),
                                         ("cat", preprocessing.OneHotEncoder(handle_unknown="ignore"), ["cat"])])
    model = pipeline.make_pipeline(columns, ensemble.RandomForestRegressor(3)).fit(frame, y)
    yield "ColumnTransformer-frame", pickle.dumps(model), frame
    try:  # LightGBM's scikit-learn API as mlflow.lightgbm pickles it (the lightgbm extra)
        import lightgbm
    except ImportError:
        return
    # n_jobs=1: LightGBM's OpenMP threads, once started in this process, hang a probe forked from it.
    numeric = frame[list("abcd")]
    for model, target in ((lightgbm.LGBMRegressor(n_estimators=3, n_jobs=1, verbose=-1), y),
                          (lightgbm.LGBMClassifier(n_estimators=3, n_jobs=1, verbose=-1), labels),
                          (lightgbm.LGBMClassifier(n_estimators=3, n_jobs=1, verbose=-1), (x[:, 0] * 3).astype(int))):
        for data in (x, numeric):
            model.fit(data, target)
            name = f"{type(model).__name__}-{'frame' if data is numeric else 'array'}"
            for protocol in (2, 4, 5):
                yield f"{name}-p{protocol}", pickle.dumps(model, protocol=protocol), data
            yield f"{name}-cloudpickle", cloudpickle.dumps(model), data


def test_real_models_import_only_exact_pairs_load_and_predict():
    # One OpenMP thread while the battery fits and predicts in this process: an OpenMP runtime whose
    # worker threads were started here (HistGradientBoosting's) hangs any OpenMP model (XGBoost,
    # LightGBM) that a probe forked from this process predicts later in the session.
    import importlib.util

    import sklearn.ensemble  # noqa: F401 - its OpenMP runtime loaded first: threadpoolctl limits what is loaded
    from threadpoolctl import threadpool_limits

    if importlib.util.find_spec("lightgbm"):
        import lightgbm  # noqa: F401 - the system's OpenMP runtime, the one XGBoost uses too

    with threadpool_limits(limits=1, user_api="openmp"):
        _check_battery()


def _check_battery() -> None:
    for name, data, x in _battery():
        seen: set = set()
        expected = _Recorder(data, seen).load()
        refused = sorted(pair for pair in seen if not allowed(*pair))
        assert not refused, (name, refused)
        model = checked_loads(data, name)
        check_loaded(model, name)
        assert np.allclose(model.predict(x), expected.predict(x)), name


def test_reference_store_models_pass(reference_store_file, reference_store_sqlite):
    files = [p for store in (reference_store_file, reference_store_sqlite) for p in store.rglob("model.pkl")]
    assert len(files) >= 10
    for path in files:
        check_loaded(checked_loads(path.read_bytes(), path.name), path.name)


def test_committed_store_models_pass():
    """No model of a committed store is refused (a pickle too old for this scikit-learn may still fail
    to load: that is the model's ``load`` error, never a refusal)."""
    stores = Path(__file__).resolve().parents[2] / "fixtures" / "stores"
    files = list(stores.rglob("model.pkl"))
    assert files
    for path in files:
        try:
            model = checked_loads(path.read_bytes(), path.name)
        except Refused:
            raise
        except Exception:  # noqa: BLE001, S112 - incompatible with this scikit-learn, not refused
            continue
        check_loaded(model, path.name)


@pytest.mark.parametrize("module,name", [
    ("pandas.core.apply", "FrameRowApply"), ("pandas.core.frame", "DataFrame"), ("pandas", "DataFrame"),
    ("sklearn.utils._estimator_html_repr", "Estimator"), ("sklearn.pipeline", "_FitTransformFunc"),
    ("sklearn.utils", "Bunch"), ("scipy.sparse", "Anything"), ("sklearn.preprocessing._data", "scale"),
])
def test_names_the_old_rule_admitted_are_refused(module, name):
    data = f"c{module}\n{name}\n.".encode()
    with pytest.raises(Refused, match="not on the allowlist"):
        checked_loads(data, "model.pkl")


# --------------------------------------------------------------------------- gadgets of allowed classes


def _touch(canary: Path) -> str:
    return f"open({str(canary)!r}, 'w').write('pwned')"


def _function_transformer_gadget(canary: Path):
    """Pipeline: the first step turns any input into code (``str.format`` ignores its argument),
    the second ``exec``s it. Only FunctionTransformer and Pipeline are named by the model itself."""
    from sklearn.dummy import DummyRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    code = _touch(canary)
    steps = [("code", FunctionTransformer(functools.partial(str.format, code), validate=False)),
             ("run", FunctionTransformer(exec, validate=False)), ("model", DummyRegressor())]
    model = Pipeline(steps)
    model.steps[-1][1].fit(np.zeros((2, 1)), [0.0, 1.0])
    for _, step in steps[:-1]:
        step.fit(np.zeros((2, 1)))
    return model


def _stacking_gadget(canary: Path):
    """``stack_method_`` names ``__call__`` of an estimator that is ``partial(exec, code, {})``:
    predict calls ``getattr(estimator, "__call__")(X)``, i.e. ``exec(code, {}, X)``."""
    from sklearn.ensemble import StackingRegressor
    from sklearn.linear_model import LinearRegression

    x = np.random.RandomState(0).rand(20, 2)
    model = StackingRegressor([("a", LinearRegression()), ("b", LinearRegression())], cv=2).fit(x, x[:, 0])
    model.estimators_ = [functools.partial(exec, _touch(canary), {})]
    model.stack_method_ = ["__call__"]
    return model


GADGETS = {"function_transformer": _function_transformer_gadget, "stacking": _stacking_gadget}
HOLE = {("builtins", "exec"), ("builtins", "getattr"), ("builtins", "str")}


@pytest.mark.parametrize("gadget", sorted(GADGETS))
def test_gadget_really_acts_without_the_checks(gadget, tmp_path):
    """The control: loaded with plain pickle and predicting, the payload writes its canary."""
    import pandas as pd

    canary = tmp_path / "canary"
    model = pickle.loads(pickle.dumps(GADGETS[gadget](canary)))
    try:
        model.predict(pd.DataFrame(np.zeros((2, 2))))
    except Exception:  # noqa: BLE001, S110 - the model needs not predict, only act
        pass
    assert canary.read_text() == "pwned"


@linux
@pytest.mark.parametrize("gadget", sorted(GADGETS))
def test_gadget_through_a_hole_in_the_allowlist_is_refused_after_loading(gadget, tmp_path, monkeypatch):
    """The allowlist is widened (a forked probe sees it) and the file sandbox is off: only the
    check after loading stands between the gadget and the canary."""
    monkeypatch.setattr(scan, "ALLOWLIST", scan.ALLOWLIST | HOLE)
    canary = tmp_path / "canary"
    folder = tmp_path / "snap" / "m"
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text(MLMODEL.format(file="model.pkl", fmt="cloudpickle"))
    (folder / "model.pkl").write_bytes(pickle.dumps(GADGETS[gadget](canary)))
    model = ModelArtifactEv(kind="logged-model", path="m", model_file="model.pkl")
    ev = probe_model(model, tmp_path / "snap", ProbeOptions(timeout=60, launcher="fork", isolate_files=False))
    assert ev.error_kind == "refused" and "never calls" in ev.error, (ev.error_kind, ev.error)
    assert not canary.exists(), "the gadget ran"


def test_check_loaded_refuses_callables_and_method_names():
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.preprocessing import FunctionTransformer

    for model, named in ((FunctionTransformer(func=os.system), "posix.system"),
                         (FunctionTransformer(func=functools.partial(os.popen, "id")), "partial"),
                         (FunctionTransformer(func=np.log1p, kw_args={"out": print}), "print"),
                         (CountVectorizer(input="filename"), "input='filename'"),
                         (TfidfVectorizer(input="file"), "input='file'"),
                         (CountVectorizer(analyzer=eval), "eval")):
        with pytest.raises(Refused) as refused:
            check_loaded(model, "model.pkl")
        assert named in str(refused.value), str(refused.value)
    check_loaded(FunctionTransformer(np.log1p), "model.pkl")
    check_loaded(CountVectorizer(), "model.pkl")


def test_count_vectorizer_with_input_filename_really_reads_files(tmp_path):
    """Why ``input='filename'`` is refused: fitted so, the model reads whatever its input names."""
    from sklearn.feature_extraction.text import CountVectorizer

    secret = tmp_path / "secret.txt"
    secret.write_text("token s3cr3t")
    vectorizer = CountVectorizer(input="filename").fit([str(secret)])
    assert "s3cr3t" in vectorizer.vocabulary_
    with pytest.raises(Refused):
        check_loaded(vectorizer)


# --------------------------------------------------------------------------- skops


def _skops_folder(root: Path, model) -> Path:
    import skops.io as sio

    folder = root / "m"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.skops").write_bytes(sio.dumps(model))
    trusted = "".join(f"\n    - {t}" for t in sio.get_untrusted_types(file=folder / "model.skops")) or " []"
    text = MLMODEL.format(file="model.skops", fmt="skops")
    (folder / "MLmodel").write_text(text.replace("    sklearn_version: 1.9.1\n",
                                                 f"    sklearn_version: 1.9.1\n    skops_trusted_types:{trusted}\n"))
    return folder


def test_skops_gadget_types_are_refused_by_the_scan(tmp_path):
    import pandas as pd
    from pandas.core.apply import FrameRowApply
    from sklearn.preprocessing import FunctionTransformer

    folder = _skops_folder(tmp_path, FunctionTransformer(func=FrameRowApply, kw_args={"func": "query"}).fit(pd.DataFrame({"a": [1]})))
    refusal = scan_model_dir(folder)
    assert refusal and "FrameRowApply" in refusal, refusal


@linux
def test_skops_stacking_with_a_method_name_is_refused_in_the_probe(tmp_path):
    """Every type of the file is on the allowlist; ``stack_method_ = ["apply"]`` is refused after loading."""
    from sklearn.ensemble import StackingRegressor
    from sklearn.linear_model import LinearRegression

    x = np.random.RandomState(0).rand(20, 2)
    model = StackingRegressor([("a", LinearRegression()), ("b", LinearRegression())], cv=2).fit(x, x[:, 0])
    model.stack_method_ = ["apply", "predict"]
    folder = _skops_folder(tmp_path / "snap", model)
    assert scan_model_dir(folder) is None  # nothing for the static check to see
    ev = probe_model(ModelArtifactEv(kind="logged-model", path="m", model_file="model.skops", serialization_format="skops"),
                     tmp_path / "snap", ProbeOptions(timeout=60))
    assert ev.error_kind == "refused" and "'apply'" in ev.error, (ev.error_kind, ev.error)

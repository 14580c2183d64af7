"""Checks on a model folder before anything in it is loaded, and the allowlist (see :mod:`grader.probe`).

Nothing here imports, unpickles or executes anything from the submission. What is checked:

1. ``MLmodel`` (here, in the grader): the pyfunc loader must be ``mlflow.sklearn``, ``mlflow.xgboost``
   or ``mlflow.lightgbm`` (``pyfunc.load_model`` *imports* the ``loader_module`` it names, so
   ``loader_module: antigravity`` would run code without any pickle); XGBoost's and LightGBM's
   flavors must name their library's own model classes and formats; no ``code``/``code_paths``/
   ``model_code_path`` entry (that code would be put on ``sys.path`` or executed); every path it
   names (``pickled_model``, ``data``, ``model_path``) is relative, free of ``..`` and a regular
   file inside the folder.
2. ``.skops`` files (here): ``skops.io.get_untrusted_types`` lists the types skops would not trust by
   default; each must be :func:`allowed`. The ``skops_trusted_types`` list an ``MLmodel`` may carry
   is ignored: it is written by the student.
3. Pickles (``model.pkl``, pickle or cloudpickle): not scanned here but checked while they are
   loaded, in the probe's sandboxed worker, by an unpickler whose ``find_class`` refuses every
   import :func:`allowed` refuses (:mod:`grader.probe.unpickle`). A static scan of the opcode stream
   cost 0.3 to 0.4 s on a 226 MiB forest, as much as loading it; the checking unpickler costs
   nothing measurable and, being the loader itself, cannot read the bytes differently from it.

What the allowlist holds: exact ``(module, qualname)`` pairs, nothing by pattern. The estimators
and their parts (:data:`SKLEARN_CLASSES`: linear models, trees and forests, gradient boosting,
neighbours, SVMs, ``Pipeline``, ``ColumnTransformer``, the scalers and encoders, searches, XGBoost's
scikit-learn wrapper, LightGBM's ``LGBMRegressor``/``LGBMClassifier``...), exactly the pairs that
the pickles of the reference solution's models, of the committed stores and of 60 common
regressors and pipelines import (scikit-learn 1.4 to 1.9,
protocols 2, 4, 5 and cloudpickle, fitted on arrays and DataFrames: no pandas object is ever
pickled in a model, so no pandas name is allowed); the few functions a model stores as a value
(:data:`FUNCTIONS`: ``f_regression``...); NumPy's array, dtype, scalar and random-state
reconstructors, NumPy ufuncs and scalar types (``np.log1p``, ``np.float64``: checked against
``numpy``'s namespace, never ``np.load``), scipy.sparse containers, ``_codecs.encode``,
``copyreg._reconstructor`` and ``builtins`` containers. No cloudpickle helper (they rebuild code by
value), no ``builtins.getattr`` (it turns any allowed object into any of its attributes), no NumPy
1.x ``_ufunc_reconstruct`` (it imports any module by name).

Classes can call what they hold: after loading, :func:`grader.probe.unpickle.check_loaded` refuses a
model that stores a callable other than those above (``FunctionTransformer(func=...)``), a method
name other than a prediction method (``StackingRegressor.stack_method_``), or reads files
(``CountVectorizer(input="filename")``); it runs on skops models too. Anything refused can still be
graded with ``--trust-pickles``, inside the same sandbox.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from .. import yamlio
from ..evidence.model import ModelArtifactEv

#: pyfunc loader modules that may be imported.
LOADER_MODULES = {"mlflow.sklearn", "mlflow.xgboost", "mlflow.lightgbm"}
SERIALIZATION_FORMATS = {"pickle", "cloudpickle", "skops"}
#: What ``mlflow.xgboost`` may be asked to build: it imports the flavor's ``model_class`` by name,
#: so only XGBoost's own model classes pass, and its files are XGBoost's formats (no pickle).
XGBOOST_CLASSES = {
    f"xgboost.sklearn.{name}"
    for name in ("XGBRegressor", "XGBClassifier", "XGBRanker", "XGBRFRegressor", "XGBRFClassifier")
} | {"xgboost.core.Booster"}
XGBOOST_FORMATS = {"xgb", "json", "ubj"}


def xgboost_installed() -> bool:
    """Whether the grader can load XGBoost models (the optional extra ``mlflow-grader[xgboost]``).
    Only asked when a model is an XGBoost one (importing it costs a fraction of a second)."""
    try:
        import xgboost  # noqa: F401
    except ImportError:
        return False
    return True


def _check_xgboost(flavor: object) -> str | None:
    """A refusal for an ``xgboost`` flavor that names anything but XGBoost's model classes and formats,
    or that the grader cannot load (XGBoost not installed: says how to install it)."""
    if not isinstance(flavor, dict):
        return "refused: the MLmodel's python_function flavor loads mlflow.xgboost but has no xgboost flavor"
    model_class = str(flavor.get("model_class") or "xgboost.core.Booster")
    if model_class not in XGBOOST_CLASSES:
        return f"refused: the xgboost flavor asks for class {model_class[:80]!r}, not one of XGBoost's models"
    if str(flavor.get("model_format") or "xgb") not in XGBOOST_FORMATS:
        return f"refused: unknown xgboost model_format {str(flavor.get('model_format'))[:40]!r}"
    if not xgboost_installed():
        return (
            "not loaded: the model is an XGBoost model and XGBoost is not installed where the grader runs; "
            "install it with pip install 'mlflow-grader[xgboost]' and grade again"
        )
    return None


#: What ``mlflow.lightgbm`` may load: LightGBM's own classes. A ``Booster`` is LightGBM's text model
#: (``model.lgb``, parsed by LightGBM, nothing unpickled); the scikit-learn API models are written
#: with ``serialization_format`` (``model.pkl`` or ``model.skops``, checked as any other pickle or
#: skops file; a flavor without one means cloudpickle, as ``mlflow.lightgbm`` reads it).
LIGHTGBM_BOOSTER = "lightgbm.basic.Booster"
LIGHTGBM_CLASSES = {LIGHTGBM_BOOSTER} | {
    f"lightgbm.sklearn.{name}" for name in ("LGBMRegressor", "LGBMClassifier", "LGBMRanker")
}
LIGHTGBM_TEXT_FORMAT = "lightgbm-text"


def lightgbm_installed() -> bool:
    """Whether the grader can load LightGBM models (the optional extra ``mlflow-grader[lightgbm]``).
    Only asked when a model is a LightGBM one."""
    try:
        import lightgbm  # noqa: F401
    except ImportError:
        return False
    return True


def lightgbm_format(flavor: dict) -> str:
    """How ``mlflow.lightgbm`` reads the flavor's ``data`` file: :data:`LIGHTGBM_TEXT_FORMAT` for a
    ``Booster``, else its ``serialization_format`` (cloudpickle when absent, MLflow's own default)."""
    if str(flavor.get("model_class") or LIGHTGBM_BOOSTER) == LIGHTGBM_BOOSTER:
        return LIGHTGBM_TEXT_FORMAT
    return str(flavor.get("serialization_format") or "cloudpickle")


def _check_lightgbm(flavor: object) -> str | None:
    """A refusal for a ``lightgbm`` flavor that names anything but LightGBM's model classes and the
    formats MLflow writes them in, or that the grader cannot load (LightGBM not installed: says how
    to install it)."""
    if not isinstance(flavor, dict):
        return "refused: the MLmodel's python_function flavor loads mlflow.lightgbm but has no lightgbm flavor"
    model_class = str(flavor.get("model_class") or LIGHTGBM_BOOSTER)
    if model_class not in LIGHTGBM_CLASSES:
        return f"refused: the lightgbm flavor asks for class {model_class[:80]!r}, not one of LightGBM's models"
    fmt = lightgbm_format(flavor)
    if fmt != LIGHTGBM_TEXT_FORMAT and fmt not in SERIALIZATION_FORMATS:
        return f"refused: unknown lightgbm serialization_format {fmt[:40]!r}"
    if not lightgbm_installed():
        return (
            "not loaded: the model is a LightGBM model and LightGBM is not installed where the grader runs; "
            "install it with pip install 'mlflow-grader[lightgbm]' and grade again"
        )
    return None


MAX_MLMODEL_BYTES = 1024**2
MAX_SKOPS_SCHEMA_BYTES = 64 * 1024**2

_BUILTIN_SAFE = {
    "object",
    "set",
    "frozenset",
    "slice",
    "bytearray",
    "bytes",
    "complex",
    "dict",
    "list",
    "tuple",
    "int",
    "float",
    "str",
    "bool",
    "range",
    "NoneType",
    "Ellipsis",
    "NotImplemented",
}


def _pairs(module: str, *names: str) -> set[tuple[str, str]]:
    return {(module, name) for name in names}


#: The estimators and parts real models are made of: exactly the ``(module, qualname)`` pairs the
#: pickles of the reference solution's models (every habit), of the committed stores (MLflow 2.10 to
#: 3.17, scikit-learn 1.4 to 1.9) and of 60 common regressors, pipelines, transformers and searches
#: (protocols 2, 4, 5 and cloudpickle, fitted on arrays and on DataFrames) import; recorded by
#: ``tests/probe/test_probe_allowlist.py`` (which fails when a real model needs a pair that is not here).
SKLEARN_CLASSES: set[tuple[str, str]] = (
    _pairs("sklearn.linear_model._base", "LinearRegression")
    | _pairs("sklearn.linear_model._ridge", "Ridge", "RidgeCV")
    | _pairs("sklearn.linear_model._coordinate_descent", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV")
    | _pairs("sklearn.linear_model._bayes", "BayesianRidge", "ARDRegression")
    | _pairs("sklearn.linear_model._glm.glm", "PoissonRegressor", "TweedieRegressor", "GammaRegressor")
    | _pairs("sklearn.linear_model._huber", "HuberRegressor")
    | _pairs("sklearn.linear_model._least_angle", "Lars", "LassoLars", "LarsCV", "LassoLarsCV", "LassoLarsIC")
    | _pairs("sklearn.linear_model._omp", "OrthogonalMatchingPursuit")
    | _pairs("sklearn.linear_model._passive_aggressive", "PassiveAggressiveRegressor")
    | _pairs("sklearn.linear_model._quantile", "QuantileRegressor")
    | _pairs("sklearn.linear_model._ransac", "RANSACRegressor")
    | _pairs("sklearn.linear_model._stochastic_gradient", "SGDRegressor")
    | _pairs("sklearn.linear_model._theil_sen", "TheilSenRegressor")
    | _pairs("sklearn.tree._classes", "DecisionTreeRegressor", "ExtraTreeRegressor")
    | _pairs("sklearn.tree._tree", "Tree")
    | _pairs("sklearn.ensemble._forest", "RandomForestRegressor", "ExtraTreesRegressor")
    | _pairs("sklearn.ensemble._gb", "GradientBoostingRegressor")
    | _pairs("sklearn.ensemble._hist_gradient_boosting.gradient_boosting", "HistGradientBoostingRegressor")
    | _pairs("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper")
    | _pairs("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor")
    | _pairs("sklearn.ensemble._bagging", "BaggingRegressor")
    | _pairs("sklearn.ensemble._weight_boosting", "AdaBoostRegressor")
    | _pairs("sklearn.ensemble._voting", "VotingRegressor")
    | _pairs("sklearn.ensemble._stacking", "StackingRegressor")
    | _pairs("sklearn._loss.link", "IdentityLink", "LogLink", "Interval")
    | _pairs(
        "sklearn._loss.loss",
        "HalfSquaredError",
        "AbsoluteError",
        "PinballLoss",
        "HuberLoss",
        "HalfPoissonLoss",
        "HalfGammaLoss",
        "HalfTweedieLoss",
        "HalfTweedieLossIdentity",
    )
    | _pairs(
        "sklearn._loss._loss",
        "CyHalfSquaredError",
        "CyAbsoluteError",
        "CyPinballLoss",
        "CyHuberLoss",
        "CyHalfPoissonLoss",
        "CyHalfGammaLoss",
        "CyHalfTweedieLoss",
        "CyHalfTweedieLossIdentity",
    )
    | _pairs("sklearn.neighbors._regression", "KNeighborsRegressor", "RadiusNeighborsRegressor")
    | _pairs("sklearn.neighbors._kd_tree", "KDTree", "newObj")
    | _pairs("sklearn.neighbors._ball_tree", "BallTree", "newObj")
    | _pairs(
        "sklearn.metrics._dist_metrics",
        "newObj",
        "EuclideanDistance64",
        "EuclideanDistance32",
        "ManhattanDistance64",
        "ManhattanDistance32",
        "MinkowskiDistance64",
        "MinkowskiDistance32",
        "ChebyshevDistance64",
        "ChebyshevDistance32",
    )
    | _pairs("sklearn.svm._classes", "SVR", "NuSVR", "LinearSVR")
    | _pairs("sklearn.kernel_ridge", "KernelRidge")
    | _pairs("sklearn.neural_network._multilayer_perceptron", "MLPRegressor")
    | _pairs("sklearn.neural_network._stochastic_optimizers", "AdamOptimizer", "SGDOptimizer")
    | _pairs("sklearn.cross_decomposition._pls", "PLSRegression")
    | _pairs("sklearn.gaussian_process._gpr", "GaussianProcessRegressor")
    | _pairs(
        "sklearn.gaussian_process.kernels",
        "ConstantKernel",
        "Product",
        "Sum",
        "RBF",
        "WhiteKernel",
        "Matern",
        "RationalQuadratic",
        "DotProduct",
        "Hyperparameter",
    )
    | _pairs("sklearn.isotonic", "IsotonicRegression")
    | _pairs("sklearn.dummy", "DummyRegressor")
    | _pairs("sklearn.multioutput", "MultiOutputRegressor", "RegressorChain")
    | _pairs("sklearn.pipeline", "Pipeline", "FeatureUnion")
    | _pairs("sklearn.compose._column_transformer", "ColumnTransformer", "make_column_selector")
    | _pairs("sklearn.compose._target", "TransformedTargetRegressor")
    | _pairs(
        "sklearn.preprocessing._data",
        "StandardScaler",
        "MinMaxScaler",
        "MaxAbsScaler",
        "RobustScaler",
        "Normalizer",
        "QuantileTransformer",
        "PowerTransformer",
        "KernelCenterer",
        "Binarizer",
    )
    | _pairs("sklearn.preprocessing._encoders", "OneHotEncoder", "OrdinalEncoder")
    | _pairs("sklearn.preprocessing._target_encoder", "TargetEncoder")
    | _pairs("sklearn.preprocessing._function_transformer", "FunctionTransformer")
    | _pairs("sklearn.preprocessing._polynomial", "PolynomialFeatures", "SplineTransformer")
    | _pairs("sklearn.preprocessing._discretization", "KBinsDiscretizer")
    | _pairs("sklearn.impute._base", "SimpleImputer", "MissingIndicator")
    | _pairs("sklearn.impute._knn", "KNNImputer")
    | _pairs("sklearn.decomposition._pca", "PCA")
    | _pairs("sklearn.decomposition._truncated_svd", "TruncatedSVD")
    | _pairs("sklearn.decomposition._kernel_pca", "KernelPCA")
    | _pairs("sklearn.decomposition._nmf", "NMF")
    | _pairs("sklearn.feature_selection._univariate_selection", "SelectKBest", "SelectPercentile")
    | _pairs("sklearn.feature_selection._variance_threshold", "VarianceThreshold")
    | _pairs("sklearn.feature_selection._from_model", "SelectFromModel")
    | _pairs("sklearn.feature_selection._rfe", "RFE", "RFECV")
    | _pairs("sklearn.model_selection._search", "GridSearchCV", "RandomizedSearchCV")
    | _pairs("sklearn.model_selection._split", "KFold", "ShuffleSplit", "RepeatedKFold")
    | _pairs("sklearn.metrics._scorer", "_PassthroughScorer", "_Scorer")
    | _pairs("sklearn.utils._bunch", "Bunch")
    # classifiers (a classification rubric's task, see grader.task), recorded the same way
    | _pairs("sklearn.linear_model._logistic", "LogisticRegression", "LogisticRegressionCV")
    | _pairs("sklearn.linear_model._ridge", "RidgeClassifier", "RidgeClassifierCV")
    | _pairs("sklearn.linear_model._stochastic_gradient", "SGDClassifier")
    | _pairs("sklearn.linear_model._perceptron", "Perceptron")
    | _pairs("sklearn.linear_model._sgd_fast", "Hinge", "Log", "ModifiedHuber", "SquaredHinge")
    | _pairs("sklearn.tree._classes", "DecisionTreeClassifier", "ExtraTreeClassifier")
    | _pairs("sklearn.ensemble._forest", "RandomForestClassifier", "ExtraTreesClassifier")
    | _pairs("sklearn.ensemble._gb", "GradientBoostingClassifier")
    | _pairs("sklearn.ensemble._hist_gradient_boosting.gradient_boosting", "HistGradientBoostingClassifier")
    | _pairs("sklearn.ensemble._bagging", "BaggingClassifier")
    | _pairs("sklearn.ensemble._weight_boosting", "AdaBoostClassifier")
    | _pairs("sklearn.ensemble._voting", "VotingClassifier")
    | _pairs("sklearn.ensemble._stacking", "StackingClassifier")
    | _pairs("sklearn._loss.link", "LogitLink", "MultinomialLogit")
    | _pairs("sklearn._loss.loss", "HalfBinomialLoss", "HalfMultinomialLoss")
    | _pairs(
        "sklearn._loss._loss", "CyHalfBinomialLoss", "CyHalfMultinomialLoss", "__pyx_unpickle_CyHalfMultinomialLoss"
    )
    | _pairs("sklearn.neighbors._classification", "KNeighborsClassifier")
    | _pairs("sklearn.svm._classes", "SVC", "NuSVC", "LinearSVC")
    | _pairs("sklearn.naive_bayes", "GaussianNB", "BernoulliNB")
    | _pairs("sklearn.discriminant_analysis", "LinearDiscriminantAnalysis", "QuadraticDiscriminantAnalysis")
    | _pairs("sklearn.neural_network._multilayer_perceptron", "MLPClassifier")
    | _pairs("sklearn.dummy", "DummyClassifier")
    | _pairs("sklearn.preprocessing._label", "LabelEncoder", "LabelBinarizer")
    | _pairs("sklearn.multiclass", "OneVsRestClassifier")
    | _pairs("sklearn.calibration", "CalibratedClassifierCV", "_CalibratedClassifier", "_SigmoidCalibration")
    | _pairs("xgboost.sklearn", "XGBRegressor")
    | _pairs("xgboost.core", "Booster")
    # LightGBM's scikit-learn API pickled (mlflow.lightgbm, serialization_format pickle or cloudpickle);
    # the Booster's state is its text model, parsed by LightGBM
    | _pairs("lightgbm.sklearn", "LGBMRegressor", "LGBMClassifier")
    | _pairs("lightgbm.basic", "Booster")
)

#: Functions a real model stores as a value (called with the model's data only; refused anywhere
#: else, see :func:`grader.probe.unpickle.check_loaded`).
FUNCTIONS: set[tuple[str, str]] = (
    _pairs("sklearn.feature_selection._univariate_selection", "f_regression", "r_regression", "f_classif", "chi2")
    | _pairs("sklearn.feature_selection._mutual_info", "mutual_info_regression")
    | _pairs("sklearn.utils.validation", "check_array")  # HistGradientBoosting's categorical preprocessing
)

#: NumPy's, SciPy's and Python's reconstructors and containers, exactly.
ALLOWLIST: set[tuple[str, str]] = (
    {
        ("_codecs", "encode"),
        ("functools", "partial"),  # a partial's function is checked after loading
        ("copyreg", "_reconstructor"),
        ("copy_reg", "_reconstructor"),
        ("collections", "OrderedDict"),
        ("_collections", "OrderedDict"),
        ("collections", "defaultdict"),  # a LightGBM model's best_score_ (its factory: OrderedDict)
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy", "matrix"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.ma", "MaskedArray"),
        ("numpy.ma.core", "MaskedArray"),
        ("numpy.ma.core", "_mareconstruct"),
        ("numpy.random", "RandomState"),
        ("numpy.random", "Generator"),
        ("numpy.random.mtrand", "RandomState"),
        ("numpy.random._generator", "Generator"),
        ("numpy.random._pickle", "__randomstate_ctor"),
        ("numpy.random._pickle", "__generator_ctor"),
        ("numpy.random._pickle", "__bit_generator_ctor"),
        ("numpy.random._mt19937", "MT19937"),
        ("numpy.random._pcg64", "PCG64"),
        ("numpy.random._pcg64", "PCG64DXSM"),
        ("numpy.random._philox", "Philox"),
        ("numpy.random._sfc64", "SFC64"),
        ("numpy.random.bit_generator", "SeedSequence"),
        ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
        *{
            (f"scipy.sparse.{m}", f"{f}_{kind}")
            for f in ("csr", "csc", "coo", "bsr", "dia", "dok", "lil")
            for m in (f"_{f}", f)
            for kind in ("matrix", "array")
        },
    }
    | {(b, n) for b in ("builtins", "__builtin__") for n in _BUILTIN_SAFE}
    | SKLEARN_CLASSES
    | FUNCTIONS
)

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def numpy_toplevel_ok(name: str) -> bool:
    """``numpy.<name>``: ufuncs (``np.log1p``) and scalar types (``np.float64``) only, never ``np.load``."""
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is a dependency of mlflow
        return False
    obj = vars(numpy).get(name)  # no getattr: numpy's lazy __getattr__ would import submodules
    if obj is None:
        return False
    return isinstance(obj, numpy.ufunc) or (isinstance(obj, type) and issubclass(obj, (numpy.generic, numpy.dtype)))


def allowed(module: str, name: str) -> bool:
    """Whether a pickle (or a skops file) may import ``module.name``: an exact pair of
    :data:`ALLOWLIST`, or a NumPy ufunc or scalar type; nothing else of any package."""
    if not _IDENT.match(module or "") or not _IDENT.match(name or "") or "." in name:
        return False
    if (module, name) in ALLOWLIST:
        return True
    if module == "numpy":
        return numpy_toplevel_ok(name)
    return module == "_loss" and ("sklearn._loss._loss", name) in SKLEARN_CLASSES  # scikit-learn 1.6 says "_loss"


def show(module: str, name: str) -> str:
    """``module.name`` for a message: printable, at most 120 characters."""
    text = f"{module}.{name}"
    return "".join(c if c.isprintable() else "?" for c in text)[:120]


# --------------------------------------------------------------------------- skops


def _check_skops(path: Path, rel: str) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("schema.json")
            if info.file_size > MAX_SKOPS_SCHEMA_BYTES:
                return f"refused: {rel} has a schema too large to be checked"
        from skops.io import get_untrusted_types

        untrusted = get_untrusted_types(file=path)
    except Exception as exc:  # noqa: BLE001 - a broken file must be refused, whatever skops raises
        return f"refused: {rel} is not a readable skops file ({type(exc).__name__})"
    for type_name in untrusted:
        module, _, name = str(type_name).rpartition(".")
        if not allowed(module, name):
            return (
                f"refused: {rel} contains the type {show(module, name)}, "
                "which is not on the allowlist for scikit-learn models"
            )
    return None


# --------------------------------------------------------------------------- MLmodel


def _safe_relative(folder: Path, value: object, what: str) -> tuple[Path | None, str | None]:
    """``value`` as a file inside ``folder``; a refusal when it names a place outside it."""
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        return None, f"refused: MLmodel's {what} is not a file name"
    rel = Path(value.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or value.startswith(("/", "\\", "~")) or ":" in value:
        return None, f"refused: MLmodel's {what} ({value[:80]!r}) points outside the model folder"
    path = folder / rel
    if path.is_symlink():
        return None, f"refused: MLmodel's {what} is a symbolic link"
    return path, None


def _read_mlmodel(folder: Path) -> dict | str:
    mlmodel = folder / "MLmodel"
    try:
        if mlmodel.is_symlink() or not mlmodel.is_file() or mlmodel.stat().st_size > MAX_MLMODEL_BYTES:
            return "refused: MLmodel is missing, a link, or too large"
        data = yamlio.load(mlmodel.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yamlio.YAMLError, RecursionError):
        return "refused: MLmodel cannot be read"
    if not isinstance(data, dict) or not isinstance(data.get("flavors"), dict):
        return "refused: MLmodel has no flavors"
    return data


def _check_mlmodel(folder: Path, data: dict) -> tuple[str | None, list[tuple[Path, str]]]:
    """A refusal, or the files MLflow will deserialize with their formats."""
    flavors = data["flavors"]
    pyfunc = flavors.get("python_function")
    if not isinstance(pyfunc, dict):
        return "refused: MLmodel has no python_function flavor", []
    loader = pyfunc.get("loader_module")
    if loader not in LOADER_MODULES:
        return (
            f"refused: MLmodel asks MLflow to import {str(loader)[:80]!r}; only {', '.join(sorted(LOADER_MODULES))} "
            "models are loaded"
        ), []
    if loader == "mlflow.xgboost":
        refusal = _check_xgboost(flavors.get("xgboost"))
        if refusal:
            return refusal, []
    if loader == "mlflow.lightgbm":
        refusal = _check_lightgbm(flavors.get("lightgbm"))
        if refusal:
            return refusal, []
    for name, conf in flavors.items():
        if isinstance(conf, dict):
            for key in ("code", "code_paths", "model_code_path", "code_path"):
                if conf.get(key):
                    return f"refused: MLmodel's {name} flavor ships code ({key}), which loading would import or run", []
    sk = flavors.get("sklearn") if isinstance(flavors.get("sklearn"), dict) else {}
    fmt = sk.get("serialization_format") or "pickle"
    if fmt not in SERIALIZATION_FORMATS:
        return f"refused: unknown serialization_format {str(fmt)[:40]!r}", []
    # The flavor mlflow.xgboost / mlflow.lightgbm reads its file from (``data``, as pyfunc's).
    own = flavors.get(str(loader).rpartition(".")[2]) if loader != "mlflow.sklearn" else None
    own = own if isinstance(own, dict) else {}
    if loader == "mlflow.lightgbm":
        fmt = lightgbm_format(own)
    loaded: list[tuple[Path, str]] = []
    for value, what in (
        (sk.get("pickled_model"), "sklearn pickled_model"),
        (own.get("data"), f"{str(loader).rpartition('.')[2]} data"),
        (pyfunc.get("data"), "python_function data"),
        (pyfunc.get("model_path"), "python_function model_path"),
    ):
        path, refusal = _safe_relative(folder, value, what)
        if refusal:
            return refusal, []
        if path is not None and path.is_file():
            loaded.append((path, fmt))
        elif path is not None and path.is_dir() and path.resolve() != folder.resolve():
            return f"refused: MLmodel's {what} is a folder", []
    return None, loaded


def scan_model_dir(
    folder: Path, model: ModelArtifactEv | None = None, trust_pickles: bool = False, content=None
) -> str | None:
    """A one-line reason to refuse loading ``folder``, or None when it may be handed to the probe
    (whose unpickler still checks every import of a pickle, see :mod:`grader.probe.unpickle`).

    With ``trust_pickles`` nothing is refused (the probe still runs in its sandbox). ``content(path)``
    says where a file's bytes are (a snapshot's ``files.content``); by default the file itself.
    """
    if trust_pickles:
        return None
    folder = Path(folder)
    data = _read_mlmodel(folder)
    if isinstance(data, str):
        return data
    refusal, loaded = _check_mlmodel(folder, data)
    if refusal:
        return refusal
    for path, fmt in dict(loaded).items():
        if fmt == "skops":
            refusal = _check_skops(content(path) if content is not None else path, path.name)
            if refusal:
                return refusal
    return None

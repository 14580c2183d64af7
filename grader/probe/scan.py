"""Checks on a model folder before anything in it is loaded, and the allowlist (see :mod:`grader.probe`).

Nothing here imports, unpickles or executes anything from the submission. What is checked:

1. ``MLmodel`` (here, in the grader): the pyfunc loader must be ``mlflow.sklearn``
   (``pyfunc.load_model`` *imports* the ``loader_module`` it names, so ``loader_module: antigravity``
   would run code without any pickle); no ``code``/``code_paths``/``model_code_path`` entry (that code
   would be put on ``sys.path`` or executed); every path it names (``pickled_model``, ``data``,
   ``model_path``) is relative, free of ``..`` and a regular file inside the folder.
2. ``.skops`` files (here): ``skops.io.get_untrusted_types`` lists the types skops would not trust by
   default; each must be :func:`allowed`. The ``skops_trusted_types`` list an ``MLmodel`` may carry
   is ignored: it is written by the student.
3. Pickles (``model.pkl``, pickle or cloudpickle): not scanned here but checked while they are
   loaded, in the probe's sandboxed worker, by an unpickler whose ``find_class`` refuses every
   import :func:`allowed` refuses (:mod:`grader.probe.unpickle`). A static scan of the opcode stream
   cost 0.3 to 0.4 s on a 226 MiB forest, as much as loading it; the checking unpickler costs
   nothing measurable and, being the loader itself, cannot read the bytes differently from it.

What the allowlist holds, measured on RandomForest, LinearRegression and 20 other scikit-learn
estimators and pipelines pickled with protocols 2, 4, 5, cloudpickle and joblib by scikit-learn 1.6
and 1.9 (NumPy 2): the estimator classes themselves (``sklearn.*`` classes, the Cython
reconstructors ``newObj`` and ``__pyx_unpickle_*``), NumPy's array/dtype/scalar reconstruction
helpers, NumPy ufuncs (``np.log1p`` in a ``TransformedTargetRegressor``), random-state helpers,
``_codecs.encode`` and ``builtins`` containers (protocol 2), ``copyreg._reconstructor``
(protocols 0/1), pandas and scipy.sparse containers. No model needed any cloudpickle helper:
cloudpickle stores importable classes by reference, and its helpers (``_make_function``,
``subimport``, ``types.CodeType``) rebuild code by value, i.e. run the author's code, so they stay
out. Also out on purpose: ``builtins.getattr`` (it turns any allowed object into any of its
attributes; scipy.stats frozen distributions need it, so a ``RandomizedSearchCV`` holding them is
refused), NumPy 1.x's ``_ufunc_reconstruct`` (it imports any module by name), and the file or
process touching parts of the allowed libraries (``numpy.load``, ``numpy.testing``, ``pandas.io``,
``pandas.eval``, ``scipy.io``, ``sklearn.datasets``, ``sklearn.utils._testing``...). Anything
refused can still be graded with ``--trust-pickles``, inside the same sandbox.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path


from ..evidence.model import ModelArtifactEv
from .. import yamlio

#: pyfunc loader modules that may be imported.
LOADER_MODULES = {"mlflow.sklearn"}
SERIALIZATION_FORMATS = {"pickle", "cloudpickle", "skops"}
MAX_MLMODEL_BYTES = 1024**2
MAX_SKOPS_SCHEMA_BYTES = 64 * 1024**2

_BUILTIN_SAFE = {"object", "set", "frozenset", "slice", "bytearray", "bytes", "complex", "dict", "list", "tuple",
                 "int", "float", "str", "bool", "range", "NoneType", "Ellipsis", "NotImplemented"}

#: Exact ``(module, name)`` pairs that may be imported.
ALLOWLIST: set[tuple[str, str]] = {
    ("_codecs", "encode"),
    ("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor"),
    ("collections", "OrderedDict"), ("collections", "defaultdict"), ("collections", "Counter"),
    ("collections", "deque"), ("_collections", "OrderedDict"), ("_collections", "defaultdict"),
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta"),
    ("datetime", "timezone"), ("decimal", "Decimal"), ("fractions", "Fraction"),
    ("numpy", "dtype"), ("numpy", "ndarray"), ("numpy", "matrix"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy.ma", "MaskedArray"), ("numpy.ma.core", "MaskedArray"), ("numpy.ma.core", "_mareconstruct"),
    ("numpy.random", "RandomState"), ("numpy.random", "Generator"),
    ("numpy.random.mtrand", "RandomState"), ("numpy.random._generator", "Generator"),
    ("numpy.random._pickle", "__randomstate_ctor"), ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._mt19937", "MT19937"), ("numpy.random._pcg64", "PCG64"), ("numpy.random._pcg64", "PCG64DXSM"),
    ("numpy.random._philox", "Philox"), ("numpy.random._sfc64", "SFC64"),
    ("numpy.random.bit_generator", "SeedSequence"), ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("pyarrow.lib", "_restore_array"), ("pyarrow.lib", "py_buffer"), ("pyarrow.lib", "type_for_alias"),
    ("scipy.stats._distn_infrastructure", "rv_continuous_frozen"),
    ("scipy.stats._distn_infrastructure", "rv_discrete_frozen"),
} | {(b, n) for b in ("builtins", "__builtin__") for n in _BUILTIN_SAFE}

#: Packages whose classes may be imported, with the sub-packages that stay out (I/O, testing, eval).
_PACKAGES = {
    "sklearn": ("sklearn.datasets", "sklearn.utils._testing", "sklearn.utils.estimator_checks",
                "sklearn.utils._show_versions", "sklearn.externals", "sklearn.experimental", "sklearn.conftest",
                "sklearn._build_utils", "sklearn.__check_build", "sklearn.utils.parallel", "sklearn.utils._joblib",
                "sklearn.utils.fixes", "sklearn._config", "sklearn._min_dependencies"),
    "pandas": ("pandas.io", "pandas.testing", "pandas._testing", "pandas.util", "pandas.plotting", "pandas.api",
               "pandas.core.computation", "pandas.conftest", "pandas.tests", "pandas.compat"),
    "scipy.sparse": ("scipy.sparse.linalg", "scipy.sparse.csgraph"),
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
#: Module-level functions of allowed packages that only rebuild an object (no I/O).
_RECONSTRUCTORS = re.compile(r"^(newObj|__pyx_unpickle_\w+|_unpickle\w*|_new_\w+|_reconstruct\w*|_restore\w*)$")


def _in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _numpy_toplevel_ok(name: str) -> bool:
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
    """Whether a pickle may import ``module.name`` (see the module docstring for why)."""
    if not _IDENT.match(module or "") or not _IDENT.match(name or "") or "." in name:
        return False
    if (module, name) in ALLOWLIST:
        return True
    if module == "numpy":
        return _numpy_toplevel_ok(name)
    if module == "_loss" and name.startswith("Cy"):  # scikit-learn 1.6's Cython losses say module "_loss"
        return True
    if any(part == "tests" or part.startswith("test_") for part in module.split(".")):
        return False
    classlike = name.lstrip("_")[:1].isupper() or bool(_RECONSTRUCTORS.match(name))
    for package, denied in _PACKAGES.items():
        if _in_package(module, package):
            if any(_in_package(module, d) for d in denied):
                return False
            if package == "scipy.sparse":
                return classlike or bool(re.fullmatch(r"[a-z]{3}_(matrix|array)", name))
            return classlike
    if _in_package(module, "scipy.stats") and re.fullmatch(r"[a-z0-9_]+_gen", name):
        return True  # distribution classes, e.g. scipy.stats._continuous_distns.uniform_gen
    return False


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
            return f"refused: {rel} contains the type {show(module, name)}, which is not on the allowlist for scikit-learn models"
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
        return (f"refused: MLmodel asks MLflow to import {str(loader)[:80]!r}; only {', '.join(sorted(LOADER_MODULES))} "
                "models are loaded"), []
    for name, conf in flavors.items():
        if isinstance(conf, dict):
            for key in ("code", "code_paths", "model_code_path", "code_path"):
                if conf.get(key):
                    return f"refused: MLmodel's {name} flavor ships code ({key}), which loading would import or run", []
    sk = flavors.get("sklearn") if isinstance(flavors.get("sklearn"), dict) else {}
    fmt = sk.get("serialization_format") or "pickle"
    if fmt not in SERIALIZATION_FORMATS:
        return f"refused: unknown serialization_format {str(fmt)[:40]!r}", []
    loaded: list[tuple[Path, str]] = []
    for value, what in ((sk.get("pickled_model"), "sklearn pickled_model"), (pyfunc.get("data"), "python_function data"),
                        (pyfunc.get("model_path"), "python_function model_path")):
        path, refusal = _safe_relative(folder, value, what)
        if refusal:
            return refusal, []
        if path is not None and path.is_file():
            loaded.append((path, fmt))
        elif path is not None and path.is_dir() and path.resolve() != folder.resolve():
            return f"refused: MLmodel's {what} is a folder", []
    return None, loaded


def scan_model_dir(folder: Path, model: ModelArtifactEv | None = None, trust_pickles: bool = False,
                   content=None) -> str | None:
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

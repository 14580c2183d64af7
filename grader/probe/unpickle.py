"""Unpickling that checks every import against the allowlist, while MLflow loads the model.

A pickle can only run code by importing a callable (``posix.system``, ``builtins.exec``...) and
calling it. The unpickler asks :meth:`pickle.Unpickler.find_class` for every import, so refusing
there, before the import, is the check Python's documentation recommends ("Restricting Globals"),
and it cannot disagree with the loader about what the bytes mean: it *is* the loader. The allowlist
is :func:`grader.probe.scan.allowed` (see there for what it holds and why).

Inside the probe's worker, :func:`checked_unpickling` makes ``pickle.load``/``pickle.loads`` (and
``cloudpickle``'s, the same functions) use :class:`CheckedUnpickler` while
``mlflow.pyfunc.load_model`` runs: ``mlflow.sklearn`` loads ``pickle`` and ``cloudpickle`` models
with exactly those functions. Nothing else changes: an allowed model loads byte for byte as MLflow
would load it. The worker is a throwaway process, so replacing the two functions there touches no
other code. ``skops`` files are not pickles; :mod:`grader.probe.scan` checks them before loading.

Two refusals besides "not on the allowlist":

* joblib's array wrappers (``joblib.numpy_pickle.NumpyArrayWrapper``...): the file was written by
  ``joblib.dump``; ``pickle.load`` would read its raw array bytes as pickle opcodes (arbitrary code
  in a crafted file);
* a load that never reached the checked unpickler although the model is a pickle: refused after
  the fact by the worker (:attr:`Guard.calls`), so that a change in how MLflow loads can never
  silently turn the check off (what such a load ran, it ran inside the sandbox).
"""

from __future__ import annotations

import contextlib
import io
import pickle
from collections.abc import Iterator
from typing import Any

from .scan import allowed, show


class Refused(pickle.UnpicklingError):
    """The pickle imports something that is not on the allowlist (the message says what)."""


class CheckedUnpickler(pickle.Unpickler):
    """A :class:`pickle.Unpickler` that refuses any import :func:`~grader.probe.scan.allowed` refuses;
    ``label`` names the file in the refusal."""

    def __init__(self, file, *, label: str = "the model file", **options) -> None:
        super().__init__(file, **options)
        self.label = label

    def find_class(self, module: str, name: str):
        if module in ("joblib.numpy_pickle", "joblib.numpy_pickle_compat"):
            raise Refused(
                f"refused: {self.label} was written by joblib.dump: pickle.load, which MLflow uses, "
                "would run its raw array bytes as pickle opcodes"
            )
        if not allowed(module, name):
            raise Refused(
                f"refused: {self.label} would import {show(module, name)}, "
                "which is not on the allowlist for scikit-learn models"
            )
        return super().find_class(module, name)


class Guard:
    """What :func:`checked_unpickling` saw: how many loads went through the checked unpickler."""

    def __init__(self) -> None:
        self.calls = 0


@contextlib.contextmanager
def checked_unpickling(label: str = "the model file") -> Iterator[Guard]:
    """Within the block, ``pickle.load``/``loads`` and ``cloudpickle.load``/``loads`` check every import."""
    guard = Guard()

    def load(file, **options):  # pickle.load's keywords: fix_imports, encoding, errors, buffers
        guard.calls += 1
        return CheckedUnpickler(file, label=label, **options).load()

    def loads(data, /, **options):
        return load(io.BytesIO(data), **options)

    modules: list[Any] = [pickle]  # patched by attribute: typed as Any, like any monkeypatch
    try:
        import cloudpickle

        modules.append(cloudpickle)
    except ImportError:  # pragma: no cover - cloudpickle is a dependency of mlflow
        pass
    saved = [(m, m.load, m.loads) for m in modules]
    for module in modules:
        module.load, module.loads = load, loads
    try:
        yield guard
    finally:
        for module, old_load, old_loads in saved:
            module.load, module.loads = old_load, old_loads


#: Attributes naming a method the model calls on its parts, and the methods they may name.
_METHOD_ATTRIBUTES = {"stack_method", "stack_method_", "response_method", "_response_method", "method_name"}
_METHOD_NAMES = {"predict", "predict_proba", "predict_log_proba", "decision_function", "transform", "score", "auto"}
#: Class-specific attribute values: (class name, attribute) -> values a real model holds there.
_VALUE_RULES = {("CountVectorizer", "input"): {"content"}, ("CountVectorizer", "analyzer"): {"word", "char", "char_wb"}}
#: Callable parts an allowed class rebuilds itself when it is loaded (never read from the pickle).
_REBUILT_PARTS = {("scipy.interpolate._interpolate", "interp1d")}
MAX_OBJECTS = 1_000_000


#: What a ``defaultdict`` in a model may make for a missing key (see :func:`check_loaded`).
DEFAULT_FACTORIES = {("collections", "OrderedDict"), ("builtins", "dict"), ("builtins", "list")}


def check_loaded(model, label: str = "the model file") -> None:
    """Refuse (raise :class:`Refused`) a loaded model that stores a callable or a method name that
    is not one real models store: the allowlist admits classes, and some of them call what they
    hold (``FunctionTransformer(func=...)``, ``StackingRegressor.stack_method_``,
    ``CountVectorizer(input="filename")`` reads files). Called after loading, before predicting.

    What a model may hold as a callable: NumPy ufuncs and scalar types, the functions of
    :data:`grader.probe.scan.FUNCTIONS`, instances of allowed classes (a scorer, a kernel) and
    ``functools.partial`` of those; every attribute of every estimator, container and partial is
    visited, and strings in ``*method*`` attributes must name a prediction method.
    """
    import collections
    import functools
    import types

    import numpy as np

    from .scan import FUNCTIONS, SKLEARN_CLASSES, numpy_toplevel_ok

    def refuse(where: str, what: str) -> None:
        raise Refused(f"refused: {label} holds {what} in {where}, which a model of the allowlist never calls")

    def name_of(value) -> tuple[str, str]:
        if not hasattr(value, "__qualname__"):  # an instance: its class
            value = type(value)
        return str(getattr(value, "__module__", "") or ""), str(getattr(value, "__qualname__", ""))

    def callable_ok(value) -> bool:
        if isinstance(value, np.ufunc):
            return True
        if isinstance(value, type):
            return issubclass(value, (np.generic, np.dtype)) and numpy_toplevel_ok(value.__name__)
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.LambdaType)):
            return name_of(value) in FUNCTIONS
        if isinstance(value, functools.partial):
            return callable_ok(value.func)
        kind = (type(value).__module__, type(value).__qualname__)
        return kind in SKLEARN_CLASSES or kind in _REBUILT_PARTS

    seen: set[int] = set()
    stack: list[tuple[object, str]] = [(model, type(model).__name__)]
    while stack:
        value, where = stack.pop()
        if id(value) in seen or isinstance(value, (str, bytes, int, float, bool, type(None), complex)):
            continue
        seen.add(id(value))
        if len(seen) > MAX_OBJECTS:
            refuse(where, "more objects than a model is made of")
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                stack.extend((item, f"{where}[...]") for item in value.ravel()[:100_000])
            continue
        if isinstance(value, np.generic) or (type(value).__module__, type(value).__qualname__) in _REBUILT_PARTS:
            continue  # a rebuilt part holds what its owner made from plain data
        if callable(value) and not callable_ok(value):
            refuse(where, f"the callable {'.'.join(name_of(value))[:100]}")
        if isinstance(value, collections.defaultdict) and value.default_factory is not None:
            # Called for every missing key: only a plain container of the allowlist may be one
            # (a LightGBM model's best_score_ makes OrderedDicts), never a partial or a function.
            factory = value.default_factory
            if not (isinstance(factory, type) and (factory.__module__, factory.__qualname__) in DEFAULT_FACTORIES):
                refuse(where, f"the default factory {'.'.join(name_of(factory))[:100]}")
        if isinstance(value, dict):
            stack.extend((item, f"{where}[{str(key)[:40]!r}]") for key, item in value.items())
            stack.extend((key, where) for key in value if not isinstance(key, str))
        elif isinstance(value, (list, tuple, set, frozenset)):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(value))
        elif isinstance(value, functools.partial):
            stack.extend((item, f"{where}.args") for item in value.args)
            stack.extend((item, f"{where}.keywords") for item in value.keywords.values())
        elif hasattr(value, "__dict__") and not isinstance(value, type):
            cls = type(value)
            bases = {c.__name__ for c in cls.__mro__}
            for attr, item in vars(value).items():
                here = f"{where}.{attr}"
                if attr in _METHOD_ATTRIBUTES and isinstance(item, (str, list, tuple)):
                    for method in [item] if isinstance(item, str) else item:
                        if isinstance(method, str) and method not in _METHOD_NAMES:
                            refuse(here, f"the method name {method[:40]!r}")
                for (base, name), accepted in _VALUE_RULES.items():
                    if name == attr and base in bases and isinstance(item, str) and item not in accepted:
                        refuse(here, f"{attr}={item[:40]!r}")
                stack.append((item, here))


def model_of(loaded):
    """The scikit-learn object inside what ``mlflow.pyfunc.load_model`` returned (or ``loaded``)."""
    impl = getattr(loaded, "_model_impl", loaded)
    return getattr(impl, "sklearn_model", impl)


def checked_loads(data: bytes, label: str = "the model file"):
    """Unpickle ``data`` with the allowlist (raises :class:`Refused`)."""
    return CheckedUnpickler(io.BytesIO(data), label=label).load()

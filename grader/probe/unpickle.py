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
from typing import Iterator

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
            raise Refused(f"refused: {self.label} was written by joblib.dump: pickle.load, which MLflow uses, "
                          "would run its raw array bytes as pickle opcodes")
        if not allowed(module, name):
            raise Refused(f"refused: {self.label} would import {show(module, name)}, "
                          "which is not on the allowlist for scikit-learn models")
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

    modules = [pickle]
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


def checked_loads(data: bytes, label: str = "the model file"):
    """Unpickle ``data`` with the allowlist (raises :class:`Refused`)."""
    return CheckedUnpickler(io.BytesIO(data), label=label).load()

"""Find and describe logged models inside the snapshot, by reading their ``MLmodel`` files.

Never follows a symlink and never leaves the snapshot (see :func:`grader.submission.paths.inside`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import yamlio
from ..submission.paths import inside
from .model import ModelArtifactEv

MAX_MLMODEL_BYTES = 1024**2
SEARCH_DEPTH = 3
MODEL_FILES = ("model.pkl", "model.skops", "model.joblib", "model.cloudpickle")


def find_mlmodels(folder: Path, root: Path, depth: int = SEARCH_DEPTH) -> list[Path]:
    """Folders under ``folder`` (at most ``depth`` levels) that hold an ``MLmodel`` file."""
    if not folder.is_dir() or not inside(folder, root):
        return []
    hits, queue = [], [(folder, 0)]
    while queue:
        current, level = queue.pop(0)
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name == "MLmodel" and entry.is_file(follow_symlinks=False):
                hits.append(current)
            elif entry.is_dir(follow_symlinks=False) and level < depth:
                queue.append((Path(entry.path), level + 1))
    return hits


def read_mlmodel(folder: Path) -> dict | None:
    """The ``MLmodel`` in ``folder`` as a mapping; None when absent, too large or not YAML."""
    mlmodel = folder / "MLmodel"
    try:
        if not mlmodel.is_file() or mlmodel.is_symlink() or mlmodel.stat().st_size > MAX_MLMODEL_BYTES:
            return None
        data = yamlio.load(mlmodel.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yamlio.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def _dict(value: Any) -> dict:
    """``value`` when it is a mapping, else ``{}``: an ``MLmodel`` a student wrote may hold anything."""
    return value if isinstance(value, dict) else {}


def _flavor(data: dict, name: str) -> dict:
    return _dict(_dict(data.get("flavors")).get(name))


def model_file_candidates(data: dict) -> list[str]:
    """The model file an ``MLmodel`` names (sklearn ``pickled_model``, pyfunc ``model_path``/``data``,
    a custom PythonModel's ``python_model``), or the usual names when it names none."""
    sk, pyfunc = _flavor(data, "sklearn"), _flavor(data, "python_function")
    named = sk.get("pickled_model") or pyfunc.get("model_path") or pyfunc.get("data") or pyfunc.get("python_model")
    return [str(named)] if isinstance(named, str) and named else list(MODEL_FILES)


def missing_model_file(candidates: list[str]) -> str:
    """The problem to report when none of ``candidates`` is there."""
    return f"no {candidates[0]}" if len(candidates) == 1 else "no model file"


def describe_model(folder: Path, root: Path, kind: str, model_id: str | None = None) -> ModelArtifactEv:
    """What the ``MLmodel`` in ``folder`` says, and whether the model file it names is there."""
    rel = os.path.relpath(folder, root)
    ev = ModelArtifactEv(kind=kind, path=rel, model_file=None, model_id=model_id)
    mlmodel = folder / "MLmodel"
    if not inside(folder, root) or not mlmodel.is_file() or mlmodel.is_symlink():
        ev.problem = "no MLmodel"
        return ev
    data = read_mlmodel(folder)
    if data is None:
        ev.problem = "MLmodel unreadable"
        return ev
    ev.flavors = sorted(str(f) for f in _dict(data.get("flavors")))
    ev.mlflow_version = str(data.get("mlflow_version") or "") or None
    sk = _flavor(data, "sklearn")
    ev.sklearn_version = str(sk.get("sklearn_version") or "") or None
    ev.serialization_format = str(sk.get("serialization_format") or "") or None
    xgb = _flavor(data, "xgboost")
    if xgb and not sk:  # XGBoost's own formats: nothing is unpickled
        ev.serialization_format = f"xgboost-{xgb.get('model_format') or 'xgb'}"
    lgb = _flavor(data, "lightgbm")
    if lgb and not sk:  # a Booster is LightGBM's text model (model.lgb); its scikit-learn API, a pickle or skops
        if str(lgb.get("model_class") or "lightgbm.basic.Booster") == "lightgbm.basic.Booster":
            ev.serialization_format = "lightgbm-text"
        else:  # mlflow.lightgbm reads a flavor without serialization_format as cloudpickle
            ev.serialization_format = str(lgb.get("serialization_format") or "cloudpickle")
    candidates = model_file_candidates(data)
    for name in candidates:
        path = folder / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            continue
        if path.is_file() and not path.is_symlink() and inside(path, root):
            if path.stat().st_size == 0:
                ev.problem = f"{name} is empty"
            ev.model_file = name
            return ev
    ev.problem = missing_model_file(candidates)
    return ev

"""Tell a logged model's estimator class from its model file, statically.

Nothing is unpickled, imported or executed: for a pickle (``model.pkl``, pickle or cloudpickle)
the opcodes of the first bytes are walked with :mod:`pickletools` and the first scikit-learn class
the stream imports is the top object's class (pickle writes an object's class before its state);
for a ``.skops`` file the ``__module__``/``__class__`` of ``schema.json`` are read. Only a bounded
prefix is read, so a 137 MiB forest costs the same as a tiny one.
"""

from __future__ import annotations

import io
import json
import pickletools
import re
import zipfile
from pathlib import Path

PICKLE_PREFIX_BYTES = 256 * 1024
MAX_OPCODES = 20_000
MAX_SCHEMA_BYTES = 16 * 1024**2
_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9_]*$")


def _is_estimator(module: str, name: str) -> bool:
    return module.split(".")[0] in ("sklearn", "xgboost", "lightgbm") and bool(_CLASS_NAME.match(name))


def _from_pickle(path: Path) -> str | None:
    with open(path, "rb") as fh:
        head = fh.read(PICKLE_PREFIX_BYTES)
    strings: list[str] = []
    try:
        for i, (op, arg, _) in enumerate(pickletools.genops(io.BytesIO(head))):
            if i > MAX_OPCODES:
                break
            if op.name == "GLOBAL" and isinstance(arg, str) and " " in arg:
                module, name = arg.split(" ", 1)
                if _is_estimator(module, name):
                    return f"{module}.{name}"
            elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                strings.append(str(arg))
                del strings[:-2]
            elif op.name == "STACK_GLOBAL" and len(strings) == 2:
                module, name = strings
                if _is_estimator(module, name):
                    return f"{module}.{name}"
    except Exception:  # noqa: BLE001 - a truncated or odd stream: what was read so far is all we know
        return None
    return None


def _from_skops(path: Path) -> str | None:
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("schema.json")
        if info.file_size > MAX_SCHEMA_BYTES:
            return None
        schema = json.loads(zf.read(info).decode("utf-8"))
    module, name = schema.get("__module__"), schema.get("__class__")
    if isinstance(module, str) and isinstance(name, str) and name:
        return f"{module}.{name}"
    return None


def estimator_class(model_dir: Path, model_file: str | None) -> str | None:
    """The estimator class named by ``model_dir/model_file``, or None when it cannot be told."""
    if not model_file:
        return None
    path = Path(model_dir) / model_file
    try:
        if not path.is_file() or path.is_symlink():
            return None
        if path.suffix == ".skops" or zipfile.is_zipfile(path):
            return _from_skops(path)
        return _from_pickle(path)
    except Exception:  # noqa: BLE001 - never let a strange file cost more than "unknown"
        return None


def annotate(models, root: Path, content=None) -> None:
    """Set ``estimator_class`` on each :class:`ModelArtifactEv` in ``models`` (paths under ``root``).

    ``content(path)`` says where a file's bytes are (a snapshot's ``files.content``: the original
    of a model file the snapshot did not copy); by default the file itself.
    """
    seen: dict[str, str | None] = {}
    for model in models:
        if model is None or model.estimator_class or not model.model_file or not model.path:
            continue
        key = f"{model.path}/{model.model_file}"
        if key not in seen:
            path = Path(root) / model.path / model.model_file
            path = content(path) if content is not None else path
            seen[key] = estimator_class(path.parent, path.name)
        model.estimator_class = seen[key]

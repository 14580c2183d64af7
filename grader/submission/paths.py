"""Small path helpers shared by the submission and evidence layers.

Everything that follows a path from inside a submission goes through :func:`inside`: a path
that leaves the snapshot (``..``, a symlink, an absolute path of the student's machine) is
treated as missing, never read.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse


def inside(path: Path, root: Path) -> bool:
    """True when ``path``, with every symlink resolved, stays under ``root``."""
    try:
        real = Path(os.path.realpath(path))
        base = Path(os.path.realpath(root))
    except (OSError, ValueError):
        return False
    return real == base or base in real.parents


def uri_path_parts(uri: str) -> tuple[str, ...]:
    """The path components of an artifact location, whatever its scheme.

    ``file:///tmp/x/mlruns/1`` -> ``('tmp', 'x', 'mlruns', '1')``;
    ``mlflow-artifacts:/1/abc/artifacts`` -> ``('1', 'abc', 'artifacts')``; a Windows path
    ``C:\\Users\\ana\\mlruns\\1`` -> ``('C:', 'Users', 'ana', 'mlruns', '1')``.
    """
    if not uri:
        return ()
    text = uri.replace("\\", "/")
    if "://" in text or text.startswith(("file:", "mlflow-artifacts:")):
        parsed = urlparse(text)
        text = unquote(parsed.path)
        if parsed.netloc and parsed.scheme not in ("file",):
            text = parsed.netloc + "/" + text
    return tuple(p for p in text.split("/") if p and p not in (".",))


def local_path(uri: str) -> Path | None:
    """The local path a ``file:`` URI or plain absolute path names, else None."""
    if not uri:
        return None
    if uri.startswith("file:"):
        return Path(unquote(urlparse(uri).path))
    if uri.startswith("/"):
        return Path(uri)
    return None

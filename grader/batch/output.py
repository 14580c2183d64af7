"""The output folder: refused unless ours, written in a staging folder, moved in at the end."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .. import __version__
from .model import MARKER, OWNED, STAGING_PREFIX, BatchError


def prepare_out(out_dir: Path) -> bool:
    """Check that ``out_dir`` may be written; True when a previous batch's output is there."""
    if out_dir.exists() and not out_dir.is_dir():
        raise BatchError(f"--out {out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    ours = (out_dir / MARKER).is_file()
    if not ours:
        clash = [name for name in OWNED if os.path.lexists(out_dir / name)]
        if clash:
            raise BatchError(
                f"{out_dir} holds {', '.join(clash)} but was not written by grade --batch "
                f"(no {MARKER} marker): choose another --out, or empty it"
            )
    for stale in out_dir.glob(STAGING_PREFIX + "*"):  # left by an interrupted batch
        remove_tree(stale)
    return ours


def remove_tree(path: Path) -> None:
    """Remove a file, link or folder tree, whatever it is (never following a link)."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def publish(staging: Path, out_dir: Path, previous: bool) -> None:
    """Replace the previous batch's output by the staged one (only the names a batch owns)."""
    if previous:
        for name in (*OWNED, MARKER):
            remove_tree(out_dir / name)
    for name in OWNED:
        if (staging / name).exists():
            os.replace(staging / name, out_dir / name)
    marker = {
        "tool": "mlflow-grader",
        "version": __version__,
        "written": list(OWNED),
        "note": "written by grade --batch; a re-run replaces these entries",
    }
    (out_dir / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    remove_tree(staging)

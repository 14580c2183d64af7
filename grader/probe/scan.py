"""Static checks on model files before anything is unpickled (see :mod:`grader.probe`)."""

from __future__ import annotations

from pathlib import Path

from ..evidence.model import ModelArtifactEv


def scan_model_dir(folder: Path, model: ModelArtifactEv, trust_pickles: bool = False) -> str | None:
    """A one-line reason to refuse loading ``folder``, or None when it may be loaded."""
    return None

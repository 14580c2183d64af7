"""The reference submissions ``grade --demo`` builds, one per shipped rubric that has one.

A demo is a real homework done with MLflow in a temp folder (runs, registry, notebook with its
outputs), graded at once: a newcomer sees a passing report without a submission of their own.
``grade --demo --rubric ID`` picks the rubric's; adding one is a builder here and its rubric.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

Progress = Callable[[dict], None]


def _homework_195(out: Path, progress: Progress) -> dict[str, Any]:
    from .fixtures.reference_solution import build

    # 2,000 training rows: the whole homework in about 30 s, its checks as with all of them
    return build(out, "sqlite", train_rows=2000, notebook=True, progress=progress)


def _cancer_classification(out: Path, progress: Progress) -> dict[str, Any]:
    from .fixtures.reference_classification import build

    return build(out, "sqlite", notebook=True)


#: Rubric id -> builder of its reference submission into a folder.
DEMOS: dict[str, Callable[[Path, Progress], dict[str, Any]]] = {
    "homework-195": _homework_195,
    "cancer-classification": _cancer_classification,
}


def build_demo(rubric_id: str, out: Path, progress: Progress) -> dict[str, Any]:
    """Build the reference submission of ``rubric_id`` into ``out`` (KeyError: the rubric has none)."""
    return DEMOS[rubric_id](out, progress)


__all__ = ["DEMOS", "build_demo"]

"""Read the notebooks of a submission into plain :class:`~grader.evidence.model.NotebookEv` data.

Notebooks are parsed with :mod:`nbformat` and **never executed**: what a check sees is what the
student saved (sources, execution counts, outputs). Everything is bounded: the file size (the
snapshot already skips notebooks over 20 MiB), the number of cells kept, the text kept per
source and per output. A notebook that cannot be parsed becomes a :class:`NotebookEv` whose
``error`` says why, in one line, so the check can tell the student.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .model import CellEv, NotebookEv

MAX_NOTEBOOK_BYTES = 20 * 1024**2
MAX_NOTEBOOKS = 20
MAX_CELLS = 2000
MAX_SOURCE_CHARS = 20_000
MAX_OUTPUT_CHARS = 4_000


def _text(value: Any) -> str:
    """nbformat keeps multi-line strings either as one string or as a list of lines."""
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)


def _outputs(outputs: Iterable[Any] | None) -> tuple[list[str], str]:
    types, texts = [], []
    for out in outputs or ():
        if not isinstance(out, dict):
            continue
        kind = str(out.get("output_type", ""))
        types.append(kind)
        if kind == "stream":
            texts.append(_text(out.get("text")))
        elif kind in ("execute_result", "display_data"):
            data = out.get("data")
            data = data if isinstance(data, dict) else {}
            texts.append(_text(data.get("text/plain")))
        elif kind == "error":
            texts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}")
    return types, "\n".join(t for t in texts if t)[:MAX_OUTPUT_CHARS]


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:200]}" if lines else type(exc).__name__


def read_notebook(path: Path, rel: str) -> NotebookEv:
    """Parse one notebook (nbformat 4, older versions are converted); never raises."""
    import nbformat

    ev = NotebookEv(path=rel)
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            ev.error = f"larger than {MAX_NOTEBOOK_BYTES // 1024**2} MiB"
            return ev
        raw = path.read_text(encoding="utf-8")
        json.loads(raw)  # for a precise message (line, column) when it is not JSON at all
        previous = logging.root.manager.disable
        logging.disable(logging.CRITICAL)  # nbformat logs schema problems; they do not matter here
        try:
            nb = nbformat.reads(raw, as_version=4)
        finally:
            logging.disable(previous)
    except UnicodeDecodeError:
        ev.error = "not UTF-8 text: not a notebook (.ipynb is JSON)"
        return ev
    except json.JSONDecodeError as exc:
        ev.error = f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        return ev
    except Exception as exc:  # noqa: BLE001 - nbformat raises several kinds (NBFormatError, ValidationError, ...)
        ev.error = _one_line(exc)
        return ev
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        ev.error = "no list of cells: not a Jupyter notebook"
        return ev
    ev.truncated = len(cells) > MAX_CELLS
    for i, cell in enumerate(cells[:MAX_CELLS], start=1):
        if not isinstance(cell, dict):
            continue
        kind = str(cell.get("cell_type", ""))
        count = cell.get("execution_count") if kind == "code" else None
        types, text = _outputs(cell.get("outputs") if kind == "code" else ())
        ev.cells.append(
            CellEv(
                index=i,
                cell_type=kind,
                source=_text(cell.get("source"))[:MAX_SOURCE_CHARS],
                execution_count=count if isinstance(count, int) and not isinstance(count, bool) else None,
                output_types=types,
                output_text=text,
            )
        )
    return ev


def read_notebooks(paths: Iterable[Path], base: Path) -> list[NotebookEv]:
    """Every notebook in ``paths`` (files copied into the snapshot under ``base``), sorted by path,
    each named by its path relative to ``base`` as a person should read it
    (:func:`~grader.reports.safe.display_name`)."""
    from ..reports.safe import display_name

    found = []
    for path in sorted(paths)[:MAX_NOTEBOOKS]:
        try:
            rel = str(Path(path).relative_to(base))
        except ValueError:
            rel = Path(path).name
        # The name is shown in reports: bytes that are not UTF-8 become U+FFFD, controls go.
        found.append(read_notebook(Path(path), display_name(rel)))
    return found

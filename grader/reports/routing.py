"""Where a grade's reports go: one function for the CLI, the API and the GitHub Action alike.

Example::

    from grader import grade
    from grader.reports.routing import Outputs, write_reports

    result = grade("submissions/ana")
    write_reports(result, Outputs(folder="out/ana", files=(("junit", "out/ana.xml"),)))

``folder`` gets ``report.json`` and ``report.html``; ``files`` maps formats of the registry
(:data:`grader.reports.FORMATS`) to paths (``"-"`` for stdout, written through ``stdout``);
``classroom50`` is the folder of Classroom 50's two files. ``student`` renders every output from
the student view; the formats that are read by students or gradebooks (``student_view`` in the
registry) always are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..result import Result
from .registry import FORMATS, render


@dataclass(frozen=True)
class Outputs:
    """The reports to write for one result (nothing by default)."""

    #: ``(format, path)`` pairs; a path ``"-"`` goes to ``stdout``.
    files: Sequence[tuple[str, str]] = ()
    #: A folder for ``report.json`` and ``report.html`` (created when missing).
    folder: str | None = None
    #: A folder for Classroom 50's ``result.json`` and ``release-body.md``.
    classroom50: str | None = None
    #: Every output from the student view (hidden checks keep their points, lose their content).
    student: bool = False

    def __post_init__(self) -> None:
        unknown = [fmt for fmt, _ in self.files if fmt not in FORMATS]
        if unknown:
            raise ValueError(f"unknown report format {unknown[0]!r} (known: {', '.join(sorted(FORMATS))})")


def write_reports(result: Result, outputs: Outputs, stdout: Callable[[str], None] | None = None) -> list[str]:
    """Write ``result``'s reports as ``outputs`` says; returns the paths written (``"-"`` for stdout).

    A report to stdout without a ``stdout`` callable is printed as it is."""
    view = result.for_students() if outputs.student else result
    written: list[str] = []
    if outputs.classroom50 is not None:
        from .classroom50 import write_files

        written += [str(p) for p in write_files(result, outputs.classroom50)]
    targets = list(outputs.files)
    if outputs.folder is not None:
        folder = Path(outputs.folder)
        targets = [("json", str(folder / "report.json")), ("html", str(folder / "report.html")), *targets]
    for fmt, target in targets:
        text = render(view, fmt)
        if target == "-":
            (stdout or _print)(text)
        else:
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def _print(text: str) -> None:
    print(text, end="")


__all__ = ["Outputs", "write_reports"]

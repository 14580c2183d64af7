"""The registry of report formats: :func:`report` registers one, :func:`render` renders with it.

A format module imports :func:`report` from here (not from the package, which imports every
format to register it: no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..result import Result
from . import safe


@dataclass(frozen=True)
class ReportFormat:
    name: str
    render: Callable[[Result], str]
    extension: str
    description: str
    #: A gradebook's input (Classroom, Classroom 50, Gradescope): a submission that could not be
    #: graded still gets one, a graded 0 (:meth:`~grader.result.Result.ungradable`).
    grades: bool = False


FORMATS: dict[str, ReportFormat] = {}


def report(
    name: str, extension: str, description: str, *, grades: bool = False
) -> Callable[[Callable[[Result], str]], Callable[[Result], str]]:
    """Register ``func(result) -> str`` as the report format ``name`` (``grades``: see :class:`ReportFormat`)."""

    def register(func: Callable[[Result], str]) -> Callable[[Result], str]:
        FORMATS[name] = ReportFormat(name, func, extension, description, grades)
        return func

    return register


def render(result: Result, fmt: str) -> str:
    """Render ``result`` in format ``fmt`` (see :data:`FORMATS`).

    The text returned can always be written as UTF-8: a lone surrogate (a file name with bytes that
    are not UTF-8, a ``\\ud800`` escape in a store's YAML) becomes U+FFFD (:func:`.safe.unicode`)."""
    try:
        renderer = FORMATS[fmt].render
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r} (known: {', '.join(sorted(FORMATS))})") from None
    return safe.unicode(renderer(result))


__all__ = ["FORMATS", "ReportFormat", "render", "report"]

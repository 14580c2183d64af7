"""Report formats: each module renders a :class:`~grader.result.Result` and registers itself.

Adding a format is one new module with a function decorated by :func:`report` (from
:mod:`grader.reports.registry`), plus its import below. Every format reads the same result, so
scores add up the same everywhere.
"""

from __future__ import annotations

from . import classroom, classroom50, gradescope, html, json_report, junit, markdown, text  # noqa: F401  (registration)
from .registry import FORMATS, ReportFormat, render, report

__all__ = ["FORMATS", "ReportFormat", "render", "report"]

"""The HTML report (placeholder until the template lands)."""

from __future__ import annotations

import html as _html

from ..result import Result
from . import report


@report("html", ".html", "self-contained HTML report")
def render_html(result: Result) -> str:
    return f"<!doctype html><title>{_html.escape(result.rubric_title)}</title><pre>{_html.escape(str(result.to_dict()))}</pre>"

"""Markdown: the summary shown on a GitHub Actions run's page (``$GITHUB_STEP_SUMMARY``).

Always the student view (:meth:`~grader.result.Result.for_students`): hidden checks appear with
their points and status, without their content, and the total stays the real one.

Every string is escaped with :mod:`.safe` (a run name or a model's error message may hold
``<script>``, ``![x](y)``, links, ``|``): the only markup in the output is the grader's own.
"""

from __future__ import annotations

from ..catalogue import labels, store_description, text
from ..result import Result
from ..rubric import render
from . import safe
from .registry import report

ICONS = {"pass": "✅", "warn": "⚠️", "fail": "❌", "skip": "⏭️", "error": "💥"}
LABELS = labels("md")  # the catalogue's md.* texts


def _points(value: float) -> str:
    return f"{value:g}"


def _cell(text: str) -> str:
    """Text shown literally inside a Markdown table cell or a list item (see :func:`.safe.markdown`)."""
    return safe.markdown(text)


@report("markdown", ".md", "Markdown summary (GitHub step summary, student view)")
def render_markdown(result: Result) -> str:
    view = result.for_students()
    words = LABELS.get(view.lang, LABELS["en"])
    sub = view.submission
    verdict = f"✅ {words['passed']}" if view.passed else f"❌ {words['failed']}"
    breakdown = text("late.breakdown", view.lang, checks=_points(view.checks_score), penalty=_points(view.penalty))
    late = f" ({_cell(breakdown)})" if view.penalty else ""
    lines = [
        f"## {_cell(view.rubric_title)}",
        "",
        f"_{_cell(text('view.student', view.lang))}_",
        "",
        f"**{words['score']}: {_points(view.score)} / {_points(view.max_score)}** · {verdict}{late}",
        "",
        f"{words['store']}: {safe.markdown_code(sub.input)} ({_cell(store_description(sub, view.lang))})",
        "",
        f"| | {words['check']} | {words['points']} | {words['result']} |",
        "|---|---|---:|---|",
    ]
    for check in view.checks:
        name = (
            f"**{_cell(check.title)}**"
            if check.hidden
            else f"**{_cell(check.title)}**<br>{safe.markdown_code(check.id, in_table=True)}"
        )
        if not check.required:
            name += f" · _{_cell(text('label.extra', view.lang))}_"
        lines.append(
            f"| {ICONS.get(check.status, _cell(check.status))} | {name} | "
            f"{_points(check.points)}/{_points(check.max_points)} | {_cell(check.message)} |"
        )
    if not all(c.required for c in view.checks):
        lines += ["", f"_{_cell(text('label.extra_legend', view.lang))}_"]
    hidden = view.hidden_checks
    if hidden:
        total = _points(sum(c.max_points for c in hidden))
        lines += ["", f"_{render(words['hidden'], {'n': len(hidden), 'points': total})}_"]
    to_fix = [c for c in view.checks if c.status != "pass" and c.hint]
    if to_fix:
        lines += ["", f"### {words['fix']}", ""]
        lines += [f"- **{_cell(c.title)}** ({safe.markdown_code(c.id)}): {_cell(c.hint)}" for c in to_fix]
    if sub.notes:
        lines += ["", f"### {words['notes']}", ""] + [f"- {_cell(n)}" for n in sub.notes]
    return "\n".join(lines) + "\n"

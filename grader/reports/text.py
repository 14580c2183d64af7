"""The terminal summary: one line per check, the score, and what to fix.

A terminal obeys the escape sequences it is sent (clear the screen, set the window title, hide
text): every string is passed through :func:`.safe.terminal` first, and the whole summary once more.
"""

from __future__ import annotations

import textwrap

from ..catalogue import store_description, text
from ..result import Result
from . import report, safe

ICONS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP", "error": "ERR "}
LABELS = {
    "es": {"score": "Puntaje", "fix": "Cómo arreglarlo", "store": "Store", "notes": "Notas", "passed": "APROBADO",
           "failed": "NO APROBADO"},
    "en": {"score": "Score", "fix": "How to fix", "store": "Store", "notes": "Notes", "passed": "PASSED",
           "failed": "NOT PASSED"},
}


def _points(value: float) -> str:
    return f"{value:g}"


def _t(text: object) -> str:
    """One field, safe for a terminal and on one line."""
    return safe.terminal(text, one_line=True)


@report("text", ".txt", "terminal summary")
def render_text(result: Result, width: int = 100) -> str:
    words = LABELS.get(result.lang, LABELS["en"])
    sub = result.submission
    lines = [
        _t(result.rubric_title),
        f"{words['store']}: {_t(sub.input)}  [{_t(store_description(sub, result.lang))}]",
        "",
    ]
    for check in result.checks:
        extra = "" if check.required else f" ({text('label.extra', result.lang)})"
        head = (f"[{ICONS.get(check.status, _t(check.status))}] {_t(check.id):<22} "
                f"{_points(check.points):>4}/{_points(check.max_points):<4} {_t(check.title)}{extra}")
        lines.append(head)
        body = textwrap.wrap(_t(check.message), width=width - 9)
        lines += ["         " + b for b in body]
        if check.status not in ("pass",) and check.hint:
            lines += ["         " + b for b in textwrap.wrap(f"{words['fix']}: {_t(check.hint)}", width=width - 9)]
    if sub.notes:
        lines += ["", f"{words['notes']}:"] + [f"  - {_t(n)}" for n in sub.notes]
    verdict = words["passed"] if result.passed else words["failed"]
    if not all(c.required for c in result.checks):
        lines += ["", _t(text("label.extra_legend", result.lang))]
    lines += ["", f"{words['score']}: {_points(result.score)}/{_points(result.max_score)}  {verdict}"]
    return safe.terminal("\n".join(lines)) + "\n"

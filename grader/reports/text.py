"""The terminal summary: one line per check, the score, and what to fix.

A terminal obeys the escape sequences it is sent (clear the screen, set the window title, hide
text): every string is passed through :func:`.safe.terminal` first, and the whole summary once more.
"""

from __future__ import annotations

import textwrap

from ..catalogue import labels, store_description, text
from ..result import Result
from . import safe
from .registry import report

ICONS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP", "error": "ERR "}
LABELS = labels("text")  # the catalogue's text.* texts


def _points(value: float) -> str:
    return f"{value:g}"


def _t(text: object) -> str:
    """One field, safe for a terminal and on one line."""
    return safe.terminal(text, one_line=True)


#: SGR colours of each status's tag, and of the verdict (``--color``: only on a terminal).
COLOURS = {"pass": "32", "warn": "33", "fail": "31", "skip": "36", "error": "35"}


def _paint(text: str, code: str, color: bool) -> str:
    """``text`` in colour ``code`` when ``color``; ``text`` is already safe and stays so."""
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


@report("text", ".txt", "terminal summary")
def render_text(result: Result, width: int = 100) -> str:
    """The terminal summary without colour (a file, a pipe, CI logs): see :func:`render_terminal`."""
    return render_terminal(result, width=width)


def render_terminal(result: Result, *, width: int = 100, color: bool = False, failures_only: bool = False) -> str:
    """The terminal summary: a passing check is one line (status, id, points, title); any other
    shows its message and how to fix it below. ``failures_only`` leaves the passing checks out
    (one line counts them). ``color`` paints each status tag and the verdict with SGR codes: the
    only escape sequences in the output, added after every field was made safe
    (:func:`.safe.terminal`), so a student's text can never bring its own."""
    words = LABELS.get(result.lang, LABELS["en"])
    sub = result.submission
    lines = [
        _t(result.rubric_title),
        *([_t(text("view.student", result.lang))] if result.view == "student" else []),
        f"{words['store']}: {_t(sub.input)}  [{_t(store_description(sub, result.lang))}]",
        "",
    ]
    hidden = 0
    for check in result.checks:
        if failures_only and check.status == "pass":
            hidden += 1
            continue
        extra = "" if check.required else f" ({text('label.extra', result.lang)})"
        tag = _paint(f"[{ICONS.get(check.status, _t(check.status))}]", COLOURS.get(check.status, "0"), color)
        lines.append(
            f"{tag} {_t(check.id):<22} {_points(check.points):>4}/{_points(check.max_points):<4} "
            f"{_t(check.title)}{extra}"
        )
        if check.status == "pass":
            continue
        lines += ["         " + b for b in textwrap.wrap(_t(check.message), width=width - 9)]
        if check.hint:
            lines += ["         " + b for b in textwrap.wrap(f"{words['fix']}: {_t(check.hint)}", width=width - 9)]
    if hidden:
        lines.append(_t(text("text.passed_hidden", result.lang, n=hidden)))
    if sub.notes:
        lines += ["", f"{words['notes']}:"] + [f"  - {_t(n)}" for n in sub.notes]
    verdict = _paint(words["passed"] if result.passed else words["failed"], "1;32" if result.passed else "1;31", color)
    if not all(c.required for c in result.checks):
        lines += ["", _t(text("label.extra_legend", result.lang))]
    lines += ["", f"{words['score']}: {_points(result.score)}/{_points(result.max_score)}  {verdict}"]
    if result.penalty:
        lines.append(
            "  ("
            + text("late.breakdown", result.lang, checks=_points(result.checks_score), penalty=_points(result.penalty))
            + ")"
        )
    summary = "\n".join(lines)
    return (summary if color else safe.terminal(summary)) + "\n"

"""The terminal summary: one line per check, the score, and what to fix."""

from __future__ import annotations

import textwrap

from ..result import Result
from . import report

ICONS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP", "error": "ERR "}
LABELS = {
    "es": {"score": "Puntaje", "fix": "Cómo arreglarlo", "store": "Store", "notes": "Notas", "passed": "APROBADO",
           "failed": "NO APROBADO"},
    "en": {"score": "Score", "fix": "How to fix", "store": "Store", "notes": "Notes", "passed": "PASSED",
           "failed": "NOT PASSED"},
}


def _points(value: float) -> str:
    return f"{value:g}"


@report("text", ".txt", "terminal summary")
def render_text(result: Result, width: int = 100) -> str:
    words = LABELS.get(result.lang, LABELS["en"])
    sub = result.submission
    lines = [
        result.rubric_title,
        f"{words['store']}: {sub.input}  [{sub.store}, MLflow {sub.mlflow_layout}]",
        "",
    ]
    for check in result.checks:
        head = f"[{ICONS.get(check.status, check.status)}] {check.id:<22} {_points(check.points):>4}/{_points(check.max_points):<4} {check.title}"
        lines.append(head)
        body = textwrap.wrap(check.message, width=width - 9)
        lines += ["         " + b for b in body]
        if check.status not in ("pass",) and check.hint:
            lines += ["         " + b for b in textwrap.wrap(f"{words['fix']}: {check.hint}", width=width - 9)]
    if sub.notes:
        lines += ["", f"{words['notes']}:"] + [f"  - {n}" for n in sub.notes]
    verdict = words["passed"] if result.passed else words["failed"]
    lines += ["", f"{words['score']}: {_points(result.score)}/{_points(result.max_score)}  {verdict}"]
    return "\n".join(lines) + "\n"

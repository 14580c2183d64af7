"""Gradescope: ``/autograder/results/results.json`` (schema: ``grader/schemas/gradescope.schema.json``).

One test per check, with the check's points as ``score``/``max_score``, ``status`` ``passed`` or
``failed`` and the feedback in Markdown; the top-level ``score`` is the grade, the same sum as every
other report.

Hidden checks: Gradescope hides the student's *total* as soon as one test has
``visibility: hidden`` ("If test cases are hidden, students will not be able to see their total
score"), and the total must stay visible. So a check that the rubric marks ``hidden`` is sent as a
``visible`` test masked as in :meth:`~grader.result.Result.for_students` (its points and status, not
its content). Instructors get the full view in the autograder's stdout, which ``run_autograder``
fills with the text report and which this file keeps hidden from students (``stdout_visibility``).
"""

from __future__ import annotations

import json
from typing import Any

from ..catalogue import labels
from ..result import Result
from ..rubric import render
from . import safe
from .registry import report

LABELS = labels("gs")  # the catalogue's gs.* texts


def _number(value: float) -> int | float:
    value = round(float(value), 4)
    return int(value) if value.is_integer() else value


def _points(value: float) -> str:
    return f"{value:g}"


def gradescope_payload(result: Result) -> dict[str, Any]:
    """Gradescope's results.json for ``result`` (hidden checks masked, total visible)."""
    view = result.for_students()
    words = LABELS.get(view.lang, LABELS["en"])
    tests = []
    for i, check in enumerate(view.checks, start=1):
        output = safe.markdown(check.message)  # Gradescope renders it as Markdown: escaped, see .safe
        if check.status not in ("pass", "fail"):
            output += f"\n\n**{words['status']}:** {check.status}"
        if check.status != "pass" and check.hint:
            output += f"\n\n**{words['fix']}:** {safe.markdown(check.hint)}"
        tests.append(
            {
                "score": _number(check.points),
                "max_score": _number(check.max_points),
                "status": "passed" if check.passed else "failed",
                "name": check.title,
                "number": str(i),
                "output": output,
                "output_format": "md",
                "tags": ["hidden"] if check.hidden else [check.id.split(".")[0]],
                "visibility": "visible",
                "extra_data": {
                    "status": check.status,
                    **({"hidden": True} if check.hidden else {"check_id": check.id}),
                },
            }
        )
    summary = [
        f"**{safe.markdown(view.rubric_title)}**",
        "",
        f"**{words['score']}: {_points(view.score)} / {_points(view.max_score)}**",
    ]
    if view.error:  # could not be graded (Result.ungradable): the reason first
        summary[:0] = [f"**{words['error']}:** {safe.markdown(view.error)}", ""]
    hidden = view.hidden_checks
    if hidden:
        summary += [
            "",
            render(words["hidden"], {"n": len(hidden), "points": _points(sum(c.max_points for c in hidden))}),
        ]
    notes = [n for n in view.submission.notes if n != view.error]
    if notes:
        summary += ["", f"**{words['notes']}:**"] + [f"- {safe.markdown(n)}" for n in notes]
    return {
        "score": _number(view.score),
        "execution_time": max(1, round(view.duration_ms / 1000)),
        "output": "\n".join(summary),
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {
            "grader_version": view.grader_version,
            "rubric_id": view.rubric_id,
            "max_score": _number(view.max_score),
            "passed": view.passed,
            "hidden_checks": len(hidden),
            **({"error": view.error} if view.error else {}),
        },
        "tests": tests,
    }


def dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


@report("gradescope", ".json", "Gradescope results.json (hidden checks masked, total visible)", grades=True)
def render_gradescope(result: Result) -> str:
    return dumps(gradescope_payload(result))

"""GitHub Classroom: the result of a grader step, as ``autograding-grading-reporter`` reads it.

The step output ``result`` is base64 of a JSON text (schema: ``grader/schemas/classroom.schema.json``)::

    {"version": 1, "status": "pass"|"fail"|"error", "max_score": 14,
     "tests": [{"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"}]}

The reporter reads it from the environment variable ``<STEP ID IN UPPER CASE>_RESULTS`` and sends
``sum(tests[].score) / max_score`` to Classroom, so every check is one test whose ``score`` is the
check's points: partial credit adds up to exactly the grade of every other report.

This output always is the student view (:meth:`~grader.result.Result.for_students`): the run's
log and the summary are readable by the student.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from ..catalogue import labels
from ..result import Result
from . import safe
from .registry import report

#: Our check statuses -> the reporter's (``warn`` earns the points, so it is a pass; ``skip`` earns none).
STATUS = {"pass": "pass", "warn": "pass", "fail": "fail", "skip": "fail", "error": "error"}
HOW_TO_FIX = {lang: words["fix"] for lang, words in labels("classroom").items()}  # the catalogue's classroom.fix


def number(value: float) -> int | float:
    """An int when the value is integral (Classroom's ``max_score`` is an integer), else the float."""
    value = round(float(value), 4)
    return int(value) if value.is_integer() else value


def runner_status(result: Result) -> str:
    if result.passed:
        return "pass"
    if any(c.status == "error" for c in result.checks) and not any(c.status == "fail" for c in result.checks):
        return "error"
    return "fail"


def classroom_payload(result: Result) -> dict[str, Any]:
    """The reporter's JSON for ``result`` (student view)."""
    view = result.for_students()
    fix = HOW_TO_FIX.get(view.lang, HOW_TO_FIX["en"])
    tests = []
    for check in view.checks:
        message = check.message
        if check.status != "pass" and check.hint:
            message = f"{message}\n{fix}: {check.hint}"
        tests.append(
            {
                "name": check.title,
                "status": STATUS.get(check.status, "error"),
                "score": number(check.points),
                "message": message,
                "test_code": "" if check.hidden else f"grade --explain {check.id}",
                "filename": "",
                "line_no": 0,
                "duration": round(check.duration_ms),
            }
        )
    if view.penalty:  # the reporter adds up the rows: the late penalty comes off them (see spread_penalty)
        from ..catalogue import text
        from ..deadline import spread_penalty

        for test, cut in zip(tests, spread_penalty([float(t["score"]) for t in tests], view.penalty), strict=True):
            if cut:
                test["score"] = number(float(test["score"]) - cut)
                test["message"] = f"{test['message']}\n{text('late.cut', view.lang, n=cut)}"
    return {"version": 1, "status": runner_status(view), "max_score": number(view.max_score), "tests": tests}


def encode(payload: dict[str, Any]) -> str:
    """base64 of the JSON text: one line, safe for ``$GITHUB_OUTPUT``."""
    text = safe.unicode(json.dumps(payload, ensure_ascii=False, allow_nan=False))  # no lone surrogate
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode(value: str) -> dict[str, Any]:
    """The reporter's side: base64-decode, then parse the JSON."""
    return json.loads(base64.b64decode(value.strip()).decode("utf-8"))


@report("classroom", ".b64", "GitHub Classroom reporter result (base64 JSON, student view)", grades=True)
def render_classroom(result: Result) -> str:
    return encode(classroom_payload(result)) + "\n"

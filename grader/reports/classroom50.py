"""Classroom 50: the ``result.json`` (schema ``classroom50/result/v1``) and ``release-body.md`` that
a Classroom 50 autograder leaves in the student's checkout.

GitHub Classroom ended on 2026-08-28; Classroom 50 (``foundation50/classroom50``) replaces it. Its
runner (``cli/gh-teacher/skeleton/dotgithub/scripts/runner.py``) runs the assignment's
``autograder.py`` in the student's checkout, then reads ``./result.json`` and, when present,
``./release-body.md`` (the Markdown of the submission's GitHub Release). The contract, from
``schemas/result-v1.schema.json`` and ``runner.py::validate_result`` of that repository (our copy:
``grader/schemas/classroom50.schema.json``):

- a closed top level: ``schema``, ``classroom``, ``assignment``, ``assignment_type``, ``owner``,
  ``submission`` (``submit/...``), ``commit``, ``release``, ``review``, ``datetime``, ``score``,
  ``max-score``, ``tests``, and the optional ``graded_at`` and ``submitted_by``; nothing else;
- ``score`` and ``max-score`` are non-negative **integers**, ``score <= max-score``;
- each test row has ``test-name``, ``passed`` (bool) and integer ``score`` <= ``max-score``; extra
  fields on a row are kept verbatim (here: the check's ``id``, ``status``, ``message``, the exact
  ``points``/``max-points``, ``required`` when the check has that flag).

The identity fields come from the runner's environment (``CLASSROOM``, ``ASSIGNMENT``, ``OWNER`` or
``USERNAME``, ``ASSIGNMENT_TYPE``, ``SUBMISSION_TAG``, ``COMMIT_URL``, ``RELEASE_URL``,
``REVIEW_URL``); the runner stamps ``owner`` and ``assignment_type`` itself and checks the rest
against the repository, so outside Classroom 50 (a local try) placeholders keep the file valid.

Integer points. A rubric's points are numbers such as ``1.5``: every check's points are multiplied
by one scale (the smallest of :data:`SCALES` that makes every check's maximum an integer), the
earned points are rounded *down*, and a check that did not pass never gets its full marks (it gets
at most its maximum minus one), so the integer total never says more than the real grade. The
shipped rubric's points are integers (scale 1: the same 21 points as every other report).

Always the student view (:meth:`~grader.result.Result.for_students`): the Release is public to
the student.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..catalogue import labels
from ..result import CheckResult, Result
from .markdown import render_markdown
from .registry import report

SCHEMA_ID = "classroom50/result/v1"
RESULT_FILENAME = "result.json"
RELEASE_BODY_FILENAME = "release-body.md"
#: Scales tried, smallest first, to turn every check's maximum into whole points.
SCALES = (1, 2, 4, 5, 10, 20, 25, 50, 100, 1000)
_EPS = 1e-6

WORDS = labels("c50")  # the catalogue's c50.* texts


@dataclass(frozen=True)
class Context:
    """The submission's identity, as Classroom 50's runner passes it to the autograder."""

    classroom: str = "local"
    assignment: str = "local"
    assignment_type: str = "individual"
    owner: str = "local"
    submission: str = "submit/local"
    commit: str = "local"
    release: str = "local"
    review: str = ""
    datetime: str = ""  # the submission instant (UTC, ...Z); empty: now


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def context_from_env(environ: Mapping[str, str] | None = None) -> Context:
    """The :class:`Context` from the runner's environment variables (placeholders for the missing)."""
    env = os.environ if environ is None else environ

    def get(*names: str) -> str:
        for name in names:
            value = (env.get(name) or "").strip()
            if value:
                return value
        return ""

    server = get("GITHUB_SERVER_URL") or "https://github.com"
    repo, sha = get("GITHUB_REPOSITORY"), get("GITHUB_SHA")
    commit = get("COMMIT_URL") or (f"{server}/{repo}/commit/{sha}" if repo and sha else "local")
    submission = get("SUBMISSION_TAG")
    if not submission.startswith("submit/"):
        submission = "submit/local"
    kind = get("ASSIGNMENT_TYPE", "MODE")
    return Context(
        classroom=get("CLASSROOM") or "local",
        assignment=get("ASSIGNMENT") or "local",
        assignment_type=kind if kind in ("individual", "group") else "individual",
        owner=get("OWNER", "USERNAME", "GITHUB_ACTOR") or "local",
        submission=submission,
        commit=commit,
        release=get("RELEASE_URL") or "local",
        review=get("REVIEW_URL") or commit,
    )


def points_scale(max_points: list[float]) -> int:
    """The smallest scale of :data:`SCALES` that makes every maximum a whole number (else the largest)."""
    for scale in SCALES:
        if all(abs(p * scale - round(p * scale)) < _EPS for p in max_points):
            return scale
    return SCALES[-1]


def integer_points(check: CheckResult, scale: int) -> tuple[int, int]:
    """``(score, max-score)`` of one check in whole points: the earned points rounded down, and a
    check that did not pass capped below its maximum (a failed check never gets full marks)."""
    maximum = max(0, round(check.max_points * scale))
    earned = max(0, min(maximum, math.floor(check.points * scale + _EPS)))
    if not check.passed and maximum > 0 and earned >= maximum:
        earned = maximum - 1
    return earned, maximum


def _row(check: CheckResult, scale: int) -> dict[str, Any]:
    score, maximum = integer_points(check, scale)
    row: dict[str, Any] = {
        "test-name": check.title or check.id,
        "passed": bool(check.passed),
        "score": score,
        "max-score": maximum,
        "id": check.id,
        "status": check.status,
        "message": check.message,
        "points": round(float(check.points), 4),
        "max-points": round(float(check.max_points), 4),
    }
    required = getattr(check, "required", None)
    if required is not None:
        row["required"] = bool(required)
    return row


def classroom50_payload(result: Result, context: Context | None = None, scale: int | None = None) -> dict[str, Any]:
    """``result.json`` for ``result`` (student view) under ``context`` (default: :func:`context_from_env`)."""
    view = result.for_students()
    ctx = context if context is not None else context_from_env()
    scale = scale or points_scale([c.max_points for c in view.checks])
    tests = [_row(c, scale) for c in view.checks]
    if view.penalty:  # score is the sum of the rows: the late penalty (whole points, rounded up) comes off them
        from ..deadline import spread_penalty

        cuts = spread_penalty([t["score"] for t in tests], math.ceil(view.penalty * scale - _EPS))
        for test, cut in zip(tests, cuts, strict=True):
            if cut:
                test["score"] -= int(cut)
                test["late-penalty"] = int(cut)
    now = _utc_now()
    return {
        "schema": SCHEMA_ID,
        "classroom": ctx.classroom,
        "assignment": ctx.assignment,
        "assignment_type": ctx.assignment_type,
        "owner": ctx.owner,
        "submission": ctx.submission,
        "commit": ctx.commit,
        "release": ctx.release,
        "review": ctx.review or ctx.commit,
        "datetime": ctx.datetime or now,
        "graded_at": now,
        "score": sum(t["score"] for t in tests),
        "max-score": sum(t["max-score"] for t in tests),
        "tests": tests,
    }


def release_body(result: Result, payload: dict[str, Any] | None = None) -> str:
    """The Release's Markdown: the Markdown report, plus a line on the scale when it is not 1."""
    view = result.for_students()
    if view.error:  # could not be graded (Result.ungradable): the reason and the graded 0
        payload = payload or classroom50_payload(result)
        return error_body(view.error, payload["max-score"], view.lang)
    body = render_markdown(view)
    scale = points_scale([c.max_points for c in view.checks])
    if scale != 1:
        payload = payload or classroom50_payload(result)
        words = WORDS.get(view.lang, WORDS["en"])
        body += "\n_" + words["scaled"].format(scale=scale, score=payload["score"], max=payload["max-score"]) + "_\n"
    return body


def dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def write_files(result: Result, folder: str | os.PathLike, context: Context | None = None) -> tuple[Path, Path]:
    """Write ``result.json`` and ``release-body.md`` into ``folder``; returns both paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    payload = classroom50_payload(result, context)
    paths = folder / RESULT_FILENAME, folder / RELEASE_BODY_FILENAME
    paths[0].write_text(dumps(payload), encoding="utf-8")
    paths[1].write_text(release_body(result, payload), encoding="utf-8")
    return paths


def error_body(reason: str, max_score: int, lang: str = "es") -> str:
    """The Release's Markdown for a submission that could not be graded."""
    words = WORDS.get(lang, WORDS["en"])
    reason = " ".join(str(reason).split()) or "?"
    return f"## ❌ {words['error']}\n\n{reason}\n\n{words['zero'].format(max=max_score)}\n"


@report("classroom50", ".json", "Classroom 50 result.json (classroom50/result/v1, student view)", grades=True)
def render_classroom50(result: Result) -> str:
    return dumps(classroom50_payload(result))

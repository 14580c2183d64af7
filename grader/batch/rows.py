"""A student's gradebook row from its report, and the gradebook CSV."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from .. import lms
from ..reports.safe import terminal
from ..result import PASSING, Result
from ..rubric import Rubric
from .model import Entry, StudentRow


def row_from_message(entry: Entry, message: dict[str, Any], rubric: Rubric) -> StudentRow:
    duration = float(message.get("duration_s", 0.0) or 0.0)
    if message.get("ok"):
        return graded_row(entry, message["result"], duration, message.get("fingerprints") or {})
    reason = " ".join(str(message.get("error") or "could not be graded").split())[:500]
    return error_row(entry, reason, rubric, duration, detail=str(message.get("detail") or ""))


def error_row(entry: Entry, error: str, rubric: Rubric, duration_s: float = 0.0, detail: str = "") -> StudentRow:
    """The gradebook row of a student who could not be graded: every check of ``rubric`` in error, 0 points."""
    return StudentRow(
        entry.student,
        entry.name,
        entry.slug,
        "error",
        0.0,
        round(sum(spec.points for spec in rubric.checks), 4),
        {spec.id: ("error", 0.0) for spec in rubric.checks},
        error=error,
        duration_s=duration_s,
        detail=detail,
    )


def best_metric(data: dict[str, Any]) -> float | None:
    """The ranking metric of the best run in a JSON report (``data``): the first run, in
    ``search_runs`` order, that logged a finite value of it."""
    metric = (data.get("ranking") or {}).get("metric", "rmse_test")
    for run in data.get("runs") or []:
        value = (run.get("metrics") or {}).get(metric)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    return None


def graded_row(entry: Entry, data: dict[str, Any], duration: float, fingerprints: dict[str, Any]) -> StudentRow:
    """The gradebook row of a graded student, from their JSON report (``Result.to_dict()``)."""
    checks = {c["id"]: (c["status"], float(c["points"])) for c in data["checks"]}
    return StudentRow(
        entry.student,
        entry.name,
        entry.slug,
        "pass" if data["passed"] else "fail",
        float(data["score"]),
        float(data["max_score"]),
        checks,
        duration_s=duration,
        fingerprints=fingerprints,
        late=dict(data.get("late") or {}),
        best_metric=best_metric(data),
    )


def error_result(entry: Entry, reason: str, rubric: Rubric, lang: str) -> Result:
    """The report of a student that could not be graded: :meth:`Result.ungradable`."""
    return Result.ungradable(reason, rubric, lang, input=str(entry.path))


def _csv_text(value: str) -> str:
    """A text cell that a spreadsheet will not run as a formula, on one line, without escape
    sequences or control characters (a gradebook is also read with ``cat``), valid UTF-8."""
    value = terminal(value, one_line=True)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def plain_number(value: float) -> str:
    return f"{value:g}"


def gradebook_csv(
    rows: list[StudentRow], check_ids: list[str], extra_checks: list[str] | tuple[str, ...] = (), lang: str = "en"
) -> str:
    """The native gradebook: one row per student. ``status`` follows the required checks;
    ``extra_not_passed`` names the checks with ``required: false`` (``extra_checks``) that a student
    did not pass: they cost points, not the pass."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["student", "score", "max_score", "status"]
    for cid in check_ids:
        header += [f"{cid}_points", f"{cid}_status"]
    writer.writerow(
        [
            *header,
            "warnings",
            "warned_checks",
            "late_days",
            "late_penalty",
            "extra_not_passed",
            "error",
            "suspected_copy_of",
            "same_models_as",
            "copy_evidence",
            "feedback",
        ]
    )
    for row in rows:
        line = [_csv_text(row.student), plain_number(row.score), plain_number(row.max_score), row.status]
        for cid in check_ids:
            status, points = row.checks.get(cid, ("skip", 0.0))
            line += [plain_number(points), status]
        extra = [cid for cid in extra_checks if row.checks.get(cid, ("skip", 0.0))[0] not in PASSING]
        # warnings: how many checks earned their points with a warning (empty: not graded, not 0).
        line += [
            str(len(row.warned)) if row.graded else "",
            ";".join(row.warned),
            str(row.late.get("days", 0)) if row.late else "",
            plain_number(row.penalty) if row.late else "",
        ]
        line += [
            ";".join(extra) if row.graded else "",
            _csv_text(row.error),
            _csv_text(";".join(row.suspected_copy_of)),
            _csv_text(";".join(row.same_models_as)),
            _csv_text("; ".join(row.copy_evidence)),
            _csv_text(lms.feedback(row, lang=lang)),
        ]
        writer.writerow(line)
    return out.getvalue()

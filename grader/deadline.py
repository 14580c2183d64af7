"""Deadlines: ``grade --deadline 2026-06-30T23:59`` and the rubric setting ``deadline``.

Accepted forms (ISO 8601): ``2026-06-30`` (a date alone means the END of that day),
``2026-06-30T23:59``, ``2026-06-30 23:59:59``, with an optional offset ``-03:00`` or ``Z``. A time
without an offset is read in the grading machine's local time zone, as a person typing it means it.

The rubric's late policy (``late:``, see :class:`LatePolicy`) turns lateness into lost points::

    late:
      after: deadline            # the --deadline given when grading (default), or 2026-06-30T23:59-03:00
      grace_minutes: 15          # up to 15 minutes late is on time
      penalty_per_day: "10%"     # per started day late: points (1.5) or a percentage of the total
      max: "30%"                 # at most this much (points or percentage); default: up to the score

How late a submission is comes from the store itself (:func:`latest_activity`): its last run or
registry change. :func:`late_penalty` computes the points taken; :func:`grader.api.grade` keeps
them in :attr:`grader.result.Result.late` and takes them off :attr:`~grader.result.Result.score`,
so every report, the gradebook and the class summary show the same total.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_deadline(value: str | date | datetime | int | float) -> int:
    """The deadline as milliseconds since the epoch; raises ValueError with a usable message."""
    if isinstance(value, bool):
        raise ValueError(f"not a date/time: {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time.max)
    else:
        text = str(value).strip()
        if _DATE_ONLY.match(text):
            try:
                moment = datetime.combine(date.fromisoformat(text), time.max)
            except ValueError as exc:
                raise ValueError(f"not a valid date: {text!r} ({exc})") from None
        else:
            iso = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text  # Python 3.10 lacks "Z"
            try:
                moment = datetime.fromisoformat(iso)
            except ValueError:
                raise ValueError(
                    f"not an ISO date/time: {text!r} (use e.g. 2026-06-30, 2026-06-30T23:59 or 2026-06-30T23:59-03:00)"
                ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time of the grading machine
    return int(moment.timestamp() * 1000)


# --------------------------------------------------------------------------- late policy

#: Keys of the rubric's ``late:`` mapping.
LATE_KEYS = ("after", "grace_minutes", "penalty_per_day", "max")
DAY_MS = 86_400_000
#: Timestamps before 2015 or past the grading time (plus this skew) are a wrong clock, not lateness
#: (``integrity.timeline`` reports them as implausible); they never make a submission late.
EARLIEST_MS = 1_420_070_400_000
CLOCK_SKEW_MS = 10 * 60_000


@dataclass(frozen=True)
class Amount:
    """Points, or a percentage of the rubric's total (``"10%"``)."""

    value: float
    percent: bool = False

    def points(self, max_score: float) -> float:
        return self.value * max_score / 100 if self.percent else self.value

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else f"{self.value:g}"


@dataclass(frozen=True)
class LatePolicy:
    """The rubric's ``late:`` setting: what a submission loses per day after the deadline.

    ``after``: the deadline (ISO date/time, see :func:`parse_deadline`); None means ``grade
    --deadline`` (a ``--deadline`` given on the command line always wins over the rubric's, so an
    instructor can grant one student an extension). ``grace_minutes``: lateness up to this is not
    late. ``per_day``: points, or a percentage of the rubric's total, lost for each started day
    after the deadline (1 minute late past the grace is one day). ``cap``: the most the penalty may
    take (points or percentage of the total; None: up to the whole score). The score never goes
    below 0, and lateness never changes the pass (that follows the required checks).
    """

    per_day: Amount
    after: str | None = None
    grace_minutes: float = 0.0
    cap: Amount | None = None


def _amount(value: Any, key: str) -> Amount:
    text = str(value).strip() if isinstance(value, str) else None
    try:
        if isinstance(value, bool):
            raise ValueError
        if text is not None and text.endswith("%"):
            amount = Amount(float(text[:-1]), percent=True)
        else:
            amount = Amount(float(value if text is None else text))
    except (TypeError, ValueError):
        raise ValueError(
            f'late.{key} must be points (e.g. 1.5) or a percentage of the total (e.g. "10%"), not {value!r}'
        ) from None
    if not math.isfinite(amount.value) or amount.value < 0 or (amount.percent and amount.value > 100):
        limits = "between 0% and 100%" if amount.percent else "0 or more points"
        raise ValueError(f"late.{key} must be {limits}, not {value!r}")
    return amount


def parse_late_policy(raw: Any) -> LatePolicy:
    """Validate the rubric's ``late:`` mapping; raises ValueError with a message an instructor can act on."""
    if not isinstance(raw, Mapping):
        raise ValueError('late must be a mapping such as {after: deadline, penalty_per_day: "10%", max: "50%"}')
    unknown = sorted(str(k) for k in raw if k not in LATE_KEYS)
    if unknown:
        raise ValueError(f"late has no setting {', '.join(unknown)} (known: {', '.join(LATE_KEYS)})")
    if raw.get("penalty_per_day") is None:
        raise ValueError('late needs penalty_per_day: points (e.g. 1) or a percentage of the total (e.g. "10%")')
    after = raw.get("after")
    if after is None or (isinstance(after, str) and after.strip().lower() in ("", "deadline", "--deadline")):
        after_text = None
    else:
        after_text = after.isoformat() if isinstance(after, (date, datetime)) else str(after)
        try:
            parse_deadline(after if isinstance(after, (date, datetime)) else after_text)
        except ValueError as exc:
            raise ValueError(f"late.after: {exc} (or 'deadline': the --deadline given when grading)") from None
    grace = raw.get("grace_minutes", 0)
    try:
        if isinstance(grace, bool):
            raise ValueError
        grace_minutes = float(grace)
    except (TypeError, ValueError):
        raise ValueError(f"late.grace_minutes must be a number of minutes, not {grace!r}") from None
    if not math.isfinite(grace_minutes) or grace_minutes < 0:
        raise ValueError(f"late.grace_minutes must be 0 or more, not {grace!r}")
    cap = raw.get("max")
    return LatePolicy(
        per_day=_amount(raw["penalty_per_day"], "penalty_per_day"),
        after=after_text,
        grace_minutes=grace_minutes,
        cap=None if cap is None else _amount(cap, "max"),
    )


def latest_activity(evidence: Any, model_name: str) -> int | None:
    """When the submission was last worked on, as the store records it: the latest start or end of
    a run of the graded experiment, or creation or update (a stage transition, an alias move) of a
    version of the graded model; the same moments ``integrity.timeline`` compares with the deadline.
    Implausible moments (before 2015, or after the grading itself) are left out. None: no moment."""
    now = getattr(evidence, "graded_at_ms", None)
    stamps = [ms for run in evidence.runs for ms in (run.start_time, run.end_time) if ms is not None]
    for model in evidence.registered_models:
        if model.name == model_name:
            stamps += [
                ms for v in model.versions for ms in (v.creation_timestamp, v.last_updated_timestamp) if ms is not None
            ]
    plausible = [ms for ms in stamps if ms >= EARLIEST_MS and (now is None or ms <= now + CLOCK_SKEW_MS)]
    return max(plausible, default=None)


def late_penalty(
    policy: LatePolicy, deadline_ms: int | None, latest_ms: int | None, score: float, max_score: float
) -> dict[str, Any]:
    """The penalty ``policy`` gives a submission last changed at ``latest_ms`` whose checks earned
    ``score`` of ``max_score``. ``deadline_ms`` (``grade --deadline``) wins over ``policy.after``.

    Returns ``{}`` when no deadline applies; else the facts every report shows (``result.late`` and
    the JSON report's ``late``): ``after_ms``, ``latest_ms``, ``days`` (started days late, 0 when on
    time), ``grace_minutes``, ``per_day`` and ``max`` as the rubric says them (``"10%"``, ``"1.5"``),
    ``score_before`` (the checks' points) and ``penalty`` (the points taken, never more than the score).
    """
    after = deadline_ms if deadline_ms is not None else (parse_deadline(policy.after) if policy.after else None)
    if after is None:
        return {}
    days = 0
    if latest_ms is not None and latest_ms > after + policy.grace_minutes * 60_000:
        days = math.ceil((latest_ms - after) / DAY_MS)
    penalty = days * policy.per_day.points(max_score)
    if policy.cap is not None:
        penalty = min(penalty, policy.cap.points(max_score))
    penalty = round(max(0.0, min(penalty, score)), 4)
    return {
        "after_ms": after,
        "latest_ms": latest_ms,
        "days": days,
        "grace_minutes": policy.grace_minutes,
        "per_day": str(policy.per_day),
        "max": None if policy.cap is None else str(policy.cap),
        "score_before": round(score, 4),
        "penalty": penalty,
    }


def _utc(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _amount_text(amount: Amount, lang: str) -> str:
    from .catalogue import text

    return text("late.percent" if amount.percent else "late.points", lang, n=amount.value)


def late_note(late: dict[str, Any], max_score: float, lang: str = "es") -> str:
    """The report's note on a late submission (what was found, the rule, the points taken), in
    ``lang``; "" when it was on time."""
    from .catalogue import text

    if not late or not late.get("days"):
        return ""
    per_day = _amount_text(_amount(late["per_day"], "penalty_per_day"), lang)
    cap = _amount_text(_amount(late["max"], "max"), lang) if late.get("max") is not None else None
    rule = text("late.rule", lang, per_day=per_day, max=cap, grace=late.get("grace_minutes") or None)
    return text(
        "late.note",
        lang,
        latest=_utc(late.get("latest_ms")),
        after=_utc(late.get("after_ms")),
        days=late["days"],
        penalty=late["penalty"],
        rule=rule,
        before=late["score_before"],
        score=round(max(0.0, late["score_before"] - late["penalty"]), 4),
        max_score=max_score,
    )


def apply_late_policy(
    policy: LatePolicy | None, evidence: Any, checks: list, deadline_ms: int | None, lang: str = "es"
) -> tuple[dict[str, Any], list[str]]:
    """``(result.late, notes)`` for a graded submission: the policy's verdict (``{}`` without a policy
    or a deadline) and the note the reports show when points were taken."""
    if policy is None:
        return {}, []
    score = round(sum(c.points for c in checks), 4)
    max_score = round(sum(c.max_points for c in checks), 4)
    late = late_penalty(policy, deadline_ms, latest_activity(evidence, evidence.model_name), score, max_score)
    note = late_note(late, max_score, lang)
    return late, [note] if note else []


def spread_penalty(earned: list[float], penalty: float) -> list[float]:
    """How much of ``penalty`` each of ``earned`` (the checks' points, in report order) gives up, for
    the formats whose total is the sum of their rows (Classroom, Classroom 50): taken from the last
    checks first, never more than a row earned, so the rows add up to the penalized score."""
    cuts = [0.0] * len(earned)
    left = max(0.0, float(penalty))
    for i in reversed(range(len(earned))):
        if left <= 1e-9:
            break
        cut = min(max(0.0, float(earned[i])), left)
        cuts[i] = round(cut, 4)
        left -= cut
    return cuts

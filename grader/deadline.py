"""Deadlines: ``grade --deadline 2026-06-30T23:59`` and the rubric setting ``deadline``.

Accepted forms (ISO 8601): ``2026-06-30`` (a date alone means the END of that day),
``2026-06-30T23:59``, ``2026-06-30 23:59:59``, with an optional offset ``-03:00`` or ``Z``. A time
without an offset is read in the grading machine's local time zone, as a person typing it means it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

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

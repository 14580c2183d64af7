"""What a check is, and the registry that finds checks by id.

A check is a pure function of :class:`~grader.evidence.model.Evidence` and its settings that
returns an :class:`Outcome`. It never touches MLflow or files. Register one with :func:`check`::

    @check("runs.count", settings={"min_runs": 10}, messages=("ok", "too_few"), needs=("runs",))
    def runs_count(ev, s):
        '''What it checks, and how a student fixes it.'''
        n = len(ev.runs)
        return passed(n=n) if n >= s["min_runs"] else failed("too_few", n=n)

The outcome names a message *key*; the rubric YAML holds the text of each key in Spanish and
English, with ``{placeholders}`` filled from the outcome's params.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..evidence.model import Evidence

Settings = Mapping[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What a check found. ``fraction`` gives partial credit (defaults: 1 for pass/warn, else 0)."""

    status: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    fraction: float | None = None

    @property
    def credit(self) -> float:
        if self.fraction is not None:
            return max(0.0, min(1.0, float(self.fraction)))
        return 1.0 if self.status in ("pass", "warn") else 0.0


def passed(key: str = "ok", evidence: dict | None = None, **params: Any) -> Outcome:
    return Outcome("pass", key, params, evidence or {})


def warned(key: str, evidence: dict | None = None, **params: Any) -> Outcome:
    return Outcome("warn", key, params, evidence or {})


def failed(key: str, evidence: dict | None = None, fraction: float | None = None, **params: Any) -> Outcome:
    return Outcome("fail", key, params, evidence or {}, fraction)


def skipped(key: str, evidence: dict | None = None, **params: Any) -> Outcome:
    return Outcome("skip", key, params, evidence or {})


def errored(key: str, evidence: dict | None = None, **params: Any) -> Outcome:
    return Outcome("error", key, params, evidence or {})


CheckFunc = Callable[[Evidence, Settings], Outcome]


@dataclass(frozen=True)
class CheckDef:
    """A registered check: its id, function, default settings and the message keys it emits."""

    id: str
    func: CheckFunc
    settings: Mapping[str, Any]
    messages: tuple[str, ...]
    #: What the check reads: evidence sections (``runs``, ``registry``, ``models``, ``notebooks``:
    #: an unreadable section makes it an ``error``), and ``probe`` (the grader loads the graded
    #: model in the sandbox only when a check needs it) and ``test_split`` (the probe predicts the
    #: task's whole test split, not only the final cell's rows).
    needs: tuple[str, ...]

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.func.__doc__ or "")


REGISTRY: dict[str, CheckDef] = {}

#: Message keys any check may end with, whose text lives in the rubric's top-level ``messages``.
COMMON_MESSAGES = ("section_error", "check_crashed")


def check(
    check_id: str,
    *,
    settings: Mapping[str, Any] | None = None,
    messages: tuple[str, ...] = ("ok",),
    needs: tuple[str, ...] = (),
) -> Callable[[CheckFunc], CheckFunc]:
    """Register ``func`` as the check ``check_id`` (ids are stable: reports and gradebooks key on them)."""

    def register(func: CheckFunc) -> CheckFunc:
        if check_id in REGISTRY:
            raise ValueError(f"check id registered twice: {check_id}")
        if not (func.__doc__ or "").strip():
            raise ValueError(f"check {check_id} needs a docstring: what it checks and how to fix it")
        REGISTRY[check_id] = CheckDef(check_id, func, dict(settings or {}), tuple(messages), tuple(needs))
        return func

    return register

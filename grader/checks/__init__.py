"""The checks: one module per family, each check registered by id in :data:`REGISTRY`.

:func:`evaluate` runs a rubric's checks on evidence. A check that raises, or that needs a part of
the store that could not be read, ends in ``error`` with its reason; the other checks go on.
"""

from __future__ import annotations

import time
from typing import Any

from ..evidence.model import Evidence
from ..result import CheckResult
from ..rubric import Rubric, render
from .base import COMMON_MESSAGES, REGISTRY, CheckDef, Outcome, check  # noqa: F401

# Importing a family module registers its checks.
from . import exercise, integrity, model, notebook, registry, runs  # noqa: E402,F401

__all__ = ["REGISTRY", "CheckDef", "Outcome", "check", "evaluate"]


def _run_one(defn: CheckDef, evidence: Evidence, settings: dict[str, Any]) -> Outcome:
    for section in defn.needs:
        if section in evidence.errors:
            return Outcome("error", "section_error", {"section": section, "error": evidence.errors[section]})
    try:
        return defn.func(evidence, settings)
    except Exception as exc:  # a check bug must cost one check, not the grade
        return Outcome("error", "check_crashed", {"error": f"{type(exc).__name__}: {exc}"})


def evaluate(evidence: Evidence, rubric: Rubric, lang: str = "es") -> list[CheckResult]:
    """Run every check of ``rubric`` on ``evidence`` and render its texts in ``lang``."""
    results = []
    for spec in rubric.checks:
        defn = REGISTRY[spec.id]
        settings = {**rubric.settings, **defn.settings, **spec.settings}
        started = time.perf_counter()
        outcome = _run_one(defn, evidence, settings)
        elapsed = (time.perf_counter() - started) * 1000
        template = rubric.text(spec.messages.get(outcome.key) or rubric.messages.get(outcome.key), lang)
        if not template:
            template = f"[{outcome.key}] " + ", ".join(f"{k}={{{k}}}" for k in outcome.params)
        results.append(
            CheckResult(
                id=spec.id,
                title=rubric.text(spec.title, lang),
                status=outcome.status,
                points=round(spec.points * outcome.credit, 4),
                max_points=spec.points,
                message=render(template, outcome.params),
                hint="" if outcome.status == "pass" else render(rubric.text(spec.hint, lang), outcome.params),
                evidence={"key": outcome.key, **outcome.evidence},
                visibility=spec.visibility,
                duration_ms=round(elapsed, 3),
                required=spec.required,
            )
        )
    return results

"""The checks: one module per family, each check registered by id in :data:`REGISTRY`.

:func:`evaluate` runs a rubric's checks on evidence. A check that raises, or that needs a part of
the store that could not be read, ends in ``error`` with its reason; the other checks go on.

A check that is skipped because something another check verifies is missing (no runs, no
Production version...) does not repeat advice of its own: its message names that other check, the
one to fix first, and it shows no hint (:data:`AFTER`). An informational check (0 points) that is
skipped shows no hint either.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..evidence.model import Evidence
from ..result import CheckResult
from ..rubric import RUBRIC_SETTINGS, CheckSpec, Rubric, render

# Importing a family module registers its checks.
from . import exercise, integrity, model, notebook, registry, runs  # noqa: F401
from .base import COMMON_MESSAGES, REGISTRY, CheckDef, Outcome, check  # noqa: F401

__all__ = [
    "AFTER",
    "EVIDENCE_KEYS",
    "REGISTRY",
    "CheckDef",
    "Outcome",
    "check",
    "check_settings",
    "checks_by_evidence",
    "evaluate",
    "evidence_key",
]

#: The settings that say which evidence a check reads: the experiment whose runs it sees (in the
#: order of ``metric``/``order``, as ``search_runs(order_by=...)`` gives them) and the registered
#: model it judges. A check whose own settings name another experiment or model (a homework with
#: ``homework-195`` and ``homework-195-tuning``, or two registered models) is evaluated on the
#: evidence of those names; every other check on the rubric-wide one.
EVIDENCE_KEYS = ("experiment", "model_name", "metric", "order")

#: One value per :data:`EVIDENCE_KEYS` name, in that order: ``("homework-195", "housing-best",
#: "rmse_test", "ASC")``.
EvidenceKey = tuple[str, ...]

#: For each key a check may be skipped with, the checks that verify what is missing, in the order
#: to fix them: a skipped check names the first of these that is in the rubric and did not pass.
AFTER: dict[str, tuple[str, ...]] = {
    "no_runs": ("runs.count",),  # no finished runs in the experiment
    "no_production": ("registry.production",),  # no version in the stage
    "missing_model": ("registry.production",),  # no registered model at all
    "probe_failed": ("model.predict",),  # the model did not load or predict
    "no_test_metrics": ("model.predict",),  # the probe gave no recomputed metrics
    "not_logged": ("runs.fields",),  # the Production run lacks rmse_test/r2_test
    "no_run": ("registry.best_run", "runs.count"),  # the version's run is not in the experiment
}


def _run_one(defn: CheckDef, evidence: Evidence, settings: dict[str, Any]) -> Outcome:
    for section in defn.needs:
        if section in evidence.errors:
            return Outcome("error", "section_error", {"section": section, "error": evidence.errors[section]})
    try:
        return defn.func(evidence, settings)
    except Exception as exc:  # noqa: BLE001 - a check bug must cost one check, not the grade
        return Outcome("error", "check_crashed", {"error": f"{type(exc).__name__}: {exc}"})


def _fix_first(outcome: Outcome, statuses: dict[str, str]) -> str | None:
    """The check to fix before this skipped one can be evaluated: the first of :data:`AFTER`'s
    candidates for its key that the rubric has and that did not pass (None: no such check)."""
    if outcome.status != "skip":
        return None
    return next((cid for cid in AFTER.get(outcome.key, ()) if statuses.get(cid) not in (None, "pass", "warn")), None)


def check_settings(rubric: Rubric, spec) -> dict[str, Any]:
    """The settings a check runs with, the later winning: the check's built-in defaults, what the
    rubric's task says (``rows``, ``task_kind``), the rubric-wide ``settings``, then the rubric's own
    for that check (as the rubric file documents it)."""
    task = {"rows": rubric.task.rows, "task_kind": rubric.task.kind}
    return {**REGISTRY[spec.id].settings, **task, **rubric.settings, **spec.settings}


def evidence_key(settings: Mapping[str, Any]) -> EvidenceKey:
    """Which evidence settings select (:data:`EVIDENCE_KEYS`): the rubric-wide settings give the
    graded one; a check's (:func:`check_settings`) give the one it is evaluated on."""
    return tuple(str(settings.get(name, RUBRIC_SETTINGS[name][0])) for name in EVIDENCE_KEYS)


def checks_by_evidence(rubric: Rubric) -> dict[EvidenceKey, list[CheckSpec]]:
    """The rubric's checks grouped by the evidence each reads (:func:`evidence_key` of its settings),
    the rubric-wide key first (even when no check reads it: reports and fingerprints do)."""
    groups: dict[EvidenceKey, list[CheckSpec]] = {evidence_key(rubric.settings): []}
    for spec in rubric.checks:
        groups.setdefault(evidence_key(check_settings(rubric, spec)), []).append(spec)
    return groups


def named_settings(rubric: Rubric, spec) -> dict[str, Any]:
    """The settings a check's texts may name (``{experiment}``, ``{min_runs}``...): its plain values."""
    return {k: v for k, v in check_settings(rubric, spec).items() if isinstance(v, (str, int, float, list))}


def title_of(rubric: Rubric, spec, lang: str) -> str:
    """A check's title in ``lang``, its ``{placeholders}`` filled from its settings."""
    return render(rubric.text(spec.title, lang), named_settings(rubric, spec))


def evaluate(
    evidence: Evidence,
    rubric: Rubric,
    lang: str = "es",
    *,
    others: Mapping[EvidenceKey, Evidence] | None = None,
) -> list[CheckResult]:
    """Run every check of ``rubric`` on ``evidence`` and render its texts in ``lang``.

    ``others`` holds the evidence of the other experiments and models the rubric's checks name
    (keyed by :func:`evidence_key`, see :func:`checks_by_evidence`): a check whose settings name
    one is evaluated on it, every other check on ``evidence``.

    Every check runs first; then the texts are rendered, so that a skipped check can name the
    check it waits for wherever that one sits in the rubric.
    """
    from ..catalogue import text

    ran = []
    for spec in rubric.checks:
        defn = REGISTRY[spec.id]
        settings = check_settings(rubric, spec)
        seen = others.get(evidence_key(settings), evidence) if others else evidence
        started = time.perf_counter()
        outcome = _run_one(defn, seen, settings)
        ran.append((spec, outcome, (time.perf_counter() - started) * 1000))
    statuses = {spec.id: outcome.status for spec, outcome, _ in ran}
    # A skipped check names a check to fix first only among those that read the same evidence.
    keys = {spec.id: evidence_key(check_settings(rubric, spec)) for spec in rubric.checks}

    results = []
    for spec, outcome, elapsed in ran:
        # Titles, hints and messages may name any setting ({experiment}, {model_name}, {metric},
        # {min_runs}...): a rubric that changes only settings reads right. A check's own params win.
        named = named_settings(rubric, spec)
        params = {**named, **outcome.params}
        template = rubric.text(spec.messages.get(outcome.key) or rubric.messages.get(outcome.key), lang)
        if not template:
            template = f"[{outcome.key}] " + ", ".join(f"{k}={{{k}}}" for k in outcome.params)
        message = render(template, params)
        evidence_out = {"key": outcome.key, **outcome.evidence}
        after = _fix_first(outcome, {cid: st for cid, st in statuses.items() if keys[cid] == keys[spec.id]})
        if after:
            message = f"{message} {text('skip.after', lang, check=after)}"
            evidence_out["fix_first"] = after
        # Skipped because the probe is off (grade --no-probe): says so, and gives no advice of its own.
        no_probe = outcome.status == "skip" and outcome.key == "not_probed"
        if no_probe:
            message = f"{message} {text('skip.no_probe', lang)}"
            evidence_out["skipped_by"] = "--no-probe"
        quiet = (
            outcome.status == "pass" or after is not None or no_probe or (outcome.status == "skip" and spec.points == 0)
        )
        results.append(
            CheckResult(
                id=spec.id,
                title=title_of(rubric, spec, lang),
                status=outcome.status,
                points=round(spec.points * outcome.credit, 4),
                max_points=spec.points,
                message=message,
                hint="" if quiet else render(rubric.text(spec.hint, lang), params),
                evidence=evidence_out,
                visibility=spec.visibility,
                duration_ms=round(elapsed, 3),
                required=spec.required,
            )
        )
    return results

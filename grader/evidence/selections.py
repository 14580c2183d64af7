"""Selections: which parts of the evidence the homework is judged on, as MLflow itself picks them.

Pure functions of the evidence and the rubric's settings, read by the checks, the API (the runs
table, the probe) and the evidence layer alike (a tracking server downloads only the graded
version's model), so that all of them select the same version and the same runs:

- :func:`production_version`: the version graded as the rubric's stage (or alias);
- :func:`counted_runs`: the runs that count (statuses, not a parent that only groups others).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Evidence, RegisteredModelEv, RunEv, VersionEv

Settings = Mapping[str, Any]


#: Aliases that may stand for the stage when the rubric sets ``accept_alias: true``.
DEFAULT_ALIASES = ("production", "champion")


def production_version(ev: Evidence, s: Settings) -> VersionEv | None:
    """The version in the rubric's stage (the highest one when several are), as MLflow's
    ``get_latest_versions(stages=[stage])`` and ``models:/NAME/STAGE`` pick it; with the rubric
    setting ``accept_alias: true`` and no version in the stage, the version an accepted alias
    (``@production``, ``@champion``) points at."""
    model = ev.registered(s["model_name"])
    if model is None:
        return None
    versions = model.in_stage(s["stage"])
    if versions:
        return versions[0]
    return alias_version(model, s)[1] if s.get("accept_alias") else None


def alias_version(model: RegisteredModelEv, s: Settings) -> tuple[str | None, VersionEv | None]:
    """The first accepted alias set on ``model`` and the version it points at (or ``(None, None)``)."""
    wanted = [str(a).lstrip("@").lower() for a in s.get("accepted_aliases") or DEFAULT_ALIASES]
    by_name = {a.lower(): (a, v) for a, v in model.aliases.items()}
    for alias in wanted:
        if alias in by_name:
            name, number = by_name[alias]
            version = next((v for v in model.versions if v.version == number), None)
            if version is not None:
                return name, version
    return None, None


def counted_runs(ev: Evidence, s: Settings) -> list[RunEv]:
    """The runs that count for the homework: active, in one of the counted statuses, and not a
    parent run that only groups others (see :func:`group_runs`)."""
    statuses = {st.upper() for st in s.get("count_statuses", ("FINISHED",))}
    groups = {r.run_id for r in group_runs(ev, s)}
    return [r for r in ev.runs if r.status.upper() in statuses and r.run_id not in groups]


def group_runs(ev: Evidence, s: Settings) -> list[RunEv]:
    """Parent runs that only group nested ones (``with mlflow.start_run(run_name="sweep"):`` around
    ``start_run(nested=True)``): some run names them as ``mlflow.parentRunId``, and they have
    neither a model nor the ranking metric. They are a way to organise runs, not runs of a model."""
    parents = {r.tags.get("mlflow.parentRunId") for r in ev.runs}
    metric = str(s.get("metric", "rmse_test"))
    return [r for r in ev.runs if r.run_id in parents and not r.models and r.metrics.get(metric) is None]


__all__ = ["DEFAULT_ALIASES", "alias_version", "counted_runs", "group_runs", "production_version"]

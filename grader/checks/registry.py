"""Checks on the Model Registry: the Production version and whether it is the best run."""

from __future__ import annotations

from ..evidence.model import Evidence, RegisteredModelEv
from ..evidence.selections import DEFAULT_ALIASES, alias_version, production_version  # noqa: F401 - re-exported
from .base import Outcome, Settings, check, failed, passed, skipped, warned


def _describe(model: RegisteredModelEv) -> str:
    # A version in no stage is MLflow's stage "None": shown as the bare version, never as "None".
    versions = "; ".join(
        f"v{v.version}: {v.current_stage}" if v.current_stage not in (None, "", "None") else f"v{v.version}"
        for v in sorted(model.versions, key=lambda v: v.version)
    )
    aliases = ", ".join(f"@{a} -> v{v}" for a, v in sorted(model.aliases.items()))
    return versions + (f" ({aliases})" if aliases else "") if versions else "-"


@check(
    "registry.production",
    settings={},
    messages=("ok", "several", "missing_model", "no_stage", "alias"),
    needs=("registry",),
)
def registry_production(ev: Evidence, s: Settings) -> Outcome:
    """A registered model named exactly ``model_name`` exists with at least one version in
    stage ``stage`` (Production). With the rubric setting ``accept_alias: true``, an alias
    ``@production`` or ``@champion`` counts in place of the stage.

    Fix: ``mlflow.register_model(f"runs:/{run_id}/model", "housing-best")`` and then
    ``MlflowClient().transition_model_version_stage("housing-best", version, "Production")``.
    """
    name, stage = s["model_name"], s["stage"]
    model = ev.registered(name)
    found = {m.name: _describe(m) for m in ev.registered_models}
    if model is None:
        others = [f"{n} [{d}]" for n, d in found.items()] or "-"
        return failed("missing_model", evidence={"registered": found}, model_name=name, found=others)
    in_stage = model.in_stage(stage)
    alias, by_alias = alias_version(model, s) if s.get("accept_alias") and not in_stage else (None, None)
    if by_alias is not None:
        return passed(
            "alias",
            evidence={"registered": found, "version": by_alias.version, "run_id": by_alias.run_id, "alias": alias},
            model_name=name,
            stage=stage,
            alias=f"@{alias}",
            version=by_alias.version,
        )
    if not in_stage:
        return failed(
            "no_stage",
            evidence={"registered": found},
            model_name=name,
            stage=stage,
            versions=_describe(model),
            aliases=[f"@{a}" for a in sorted(model.aliases)] or "-",
        )
    top = in_stage[0]
    evidence = {"version": top.version, "run_id": top.run_id, "in_stage": [v.version for v in in_stage]}
    if len(in_stage) > 1:
        return warned(
            "several",
            evidence=evidence,
            model_name=name,
            stage=stage,
            version=top.version,
            versions=[f"v{v.version}" for v in in_stage],
        )
    return passed(evidence=evidence, model_name=name, stage=stage, version=top.version)


def _metric(run, metric: str) -> str:
    value = run.metrics.get(metric) if run else None
    return "-" if value is None else f"{value:.4f}"


@check(
    "registry.best_run",
    settings={},
    messages=("ok", "mismatch", "prod_run_deleted", "no_production", "no_runs"),
    needs=("runs", "registry"),
)
def registry_best_run(ev: Evidence, s: Settings) -> Outcome:
    """The acceptance rule: the Production version's ``run_id`` equals the ``run_id`` of the first
    row of ``mlflow.search_runs(experiment_names=[experiment], order_by=["metrics.rmse_test ASC"])``
    (MLflow's own order: deleted runs excluded, runs without the metric last).

    Fix: register the top run of that search (``df.iloc[0].run_id``), or move Production to
    its version; if you deleted that run, restore it or register the new best.
    """
    version = production_version(ev, s)
    if version is None:
        return skipped("no_production", model_name=s["model_name"], stage=s["stage"])
    if not ev.runs:
        return skipped("no_runs", experiment=ev.experiment_name)
    metric = s["metric"]
    best = ev.runs[0]
    prod_run = ev.run(version.run_id)
    params = {
        "version": version.version,
        "best_run": best.label,
        "best_value": _metric(best, metric),
        "order": str(s.get("order", "ASC")),
        "prod_run": prod_run.label if prod_run else (version.run_id or "-"),
        "prod_value": _metric(prod_run, metric),
        "metric": metric,
    }
    evidence = {"best_run_id": best.run_id, "production_run_id": version.run_id, "version": version.version}
    if version.run_id == best.run_id:
        return passed(evidence=evidence, **params)
    if prod_run is not None and prod_run.lifecycle_stage == "deleted":
        return failed("prod_run_deleted", evidence=evidence, **params)
    return failed("mismatch", evidence=evidence, **params)


@check(
    "registry.alias",
    settings={},
    messages=("none", "used", "accepted", "alias_only", "conflict", "missing_model"),
    needs=("registry",),
)
def registry_alias(ev: Evidence, s: Settings) -> Outcome:
    """Informational: whether the student used model-version aliases, the way MLflow >= 2.9
    recommends instead of stages (``set_registered_model_alias("housing-best", "champion", v)``,
    loaded with ``models:/housing-best@champion``). Aliases alone are a hint, not a failure; the
    rubric setting ``accept_alias: true`` lets ``@production``/``@champion`` count in place of the
    stage for registry.production, registry.best_run and model.predict. It fails only when an
    accepted alias and the stage point at different versions (the two URIs load different models).

    Fix: this homework checks the stage: ``MlflowClient().transition_model_version_stage(
    "housing-best", version, "Production")`` (the FutureWarning about stages is expected; they
    still work). Keep ``@champion``/``@production`` on that same version if you use aliases too.
    """
    name, stage = s["model_name"], s["stage"]
    model = ev.registered(name)
    if model is None:
        return skipped("missing_model", model_name=name)
    aliases = [f"@{a} -> v{v}" for a, v in sorted(model.aliases.items())]
    evidence = {"aliases": dict(model.aliases)}
    if not model.aliases:
        return passed("none", evidence=evidence, model_name=name, stage=stage)
    alias, by_alias = alias_version(model, s)
    in_stage = model.in_stage(stage)
    common = {"model_name": name, "stage": stage, "aliases": aliases}
    if by_alias is not None and in_stage and in_stage[0].version != by_alias.version:
        return failed(
            "conflict",
            evidence=evidence,
            alias=f"@{alias}",
            alias_version=by_alias.version,
            version=in_stage[0].version,
            **common,
        )
    if by_alias is not None and not in_stage:
        if s.get("accept_alias"):
            return passed("accepted", evidence=evidence, alias=f"@{alias}", version=by_alias.version, **common)
        return warned("alias_only", evidence=evidence, alias=f"@{alias}", version=by_alias.version, **common)
    return passed("used", evidence=evidence, **common)

"""Checks on the Model Registry: the Production version and whether it is the best run."""

from __future__ import annotations

from ..evidence.model import Evidence, RegisteredModelEv
from ..evidence.selections import DEFAULT_ALIASES, alias_version, production_version  # noqa: F401 - re-exported
from .base import Outcome, Settings, Texts, check, failed, passed, skipped, warned


def _describe(model: RegisteredModelEv) -> str:
    # A version in no stage is MLflow's stage "None": shown as the bare version, never as "None".
    versions = "; ".join(
        f"v{v.version}: {v.current_stage}" if v.current_stage not in (None, "", "None") else f"v{v.version}"
        for v in sorted(model.versions, key=lambda v: v.version)
    )
    aliases = ", ".join(f"@{a} -> v{v}" for a, v in sorted(model.aliases.items()))
    return versions + (f" ({aliases})" if aliases else "") if versions else "-"


#: registry.production's default texts: a rubric overrides any of them, per key and language.
REGISTRY_PRODUCTION_TEXTS = Texts(
    title={
        "es": "Modelo registrado {model_name} con una versión en {stage}",
        "en": "Registered model {model_name} with a version in {stage}",
    },
    messages={
        "ok": {
            "es": "«{model_name}» tiene la versión {version} en {stage}.",
            "en": "'{model_name}' has version {version} in {stage}.",
        },
        "several": {
            "es": (
                "«{model_name}» tiene varias versiones en {stage} ({versions}); cuenta la más alta, v{version}. "
                "Conviene dejar una sola."
            ),
            "en": (
                "'{model_name}' has several versions in {stage} ({versions}); the highest, v{version}, counts. "
                "Better leave only one."
            ),
        },
        "missing_model": {
            "es": "No hay un modelo registrado llamado «{model_name}».[[ Modelos registrados: {found}.]]",
            "en": "There is no registered model named '{model_name}'.[[ Registered models: {found}.]]",
        },
        "no_stage": {
            "es": (
                "«{model_name}» existe pero ninguna versión está en {stage}. Versiones (con su stage, si tienen): "
                "{versions}.[[ Aliases: {aliases}.]]"
            ),
            "en": (
                "'{model_name}' exists but no version is in {stage}. Versions (with their stage, if any): "
                "{versions}.[[ Aliases: {aliases}.]]"
            ),
        },
        "alias": {
            "es": (
                "«{model_name}» no tiene versión en {stage}, pero {alias} apunta a la versión {version}: esta "
                "rúbrica acepta el alias en lugar del stage."
            ),
            "en": (
                "'{model_name}' has no version in {stage}, but {alias} points at version {version}: this rubric "
                "accepts the alias in place of the stage."
            ),
        },
    },
    hint={
        "es": (
            'Registrá el mejor run con mlflow.register_model(f"runs:/{{run_id}}/model", "{model_name}") y pasalo a '
            '{stage} con MlflowClient().transition_model_version_stage("{model_name}", version, "{stage}"). Si da '
            "RESOURCE_ALREADY_EXISTS, el modelo ya existe: registrá una versión nueva con el mismo nombre. El aviso "
            "de que los stages están deprecated (MLflow >= 2.9) es esperable: siguen funcionando."
        ),
        "en": (
            'Register the best run with mlflow.register_model(f"runs:/{{run_id}}/model", "{model_name}") and move it '
            'to {stage} with MlflowClient().transition_model_version_stage("{model_name}", version, "{stage}"). On '
            "RESOURCE_ALREADY_EXISTS the model exists already: register a new version under the same name. The "
            "warning that stages are deprecated (MLflow >= 2.9) is expected: they still work."
        ),
    },
)


@check(
    "registry.production",
    settings={},
    messages=("ok", "several", "missing_model", "no_stage", "alias"),
    texts=REGISTRY_PRODUCTION_TEXTS,
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


#: registry.best_run's default texts: a rubric overrides any of them, per key and language.
REGISTRY_BEST_RUN_TEXTS = Texts(
    title={
        "es": "La versión en {stage} es el mejor run por {metric} (criterio de aceptación)",
        "en": "The {stage} version is the best run by {metric} (acceptance rule)",
    },
    messages={
        "ok": {
            "es": (
                "La versión {version} en {stage} viene del run {best_run}, el primero de search_runs ordenado por "
                "{metric} {order} ({metric} = {best_value})."
            ),
            "en": (
                "{stage} version {version} comes from run {best_run}, the first of search_runs ordered by {metric} "
                "{order} ({metric} = {best_value})."
            ),
        },
        "mismatch": {
            "es": (
                "La versión {version} en {stage} viene del run {prod_run} ({metric} = {prod_value}), pero el primero "
                "de search_runs por {metric} {order} es {best_run} ({metric} = {best_value})."
            ),
            "en": (
                "{stage} version {version} comes from run {prod_run} ({metric} = {prod_value}), but the first of "
                "search_runs by {metric} {order} is {best_run} ({metric} = {best_value})."
            ),
        },
        "prod_run_deleted": {
            "es": (
                "La versión {version} en {stage} viene del run {prod_run}, que está borrado: search_runs no lo "
                "devuelve y su primer resultado es {best_run} ({metric} = {best_value})."
            ),
            "en": (
                "{stage} version {version} comes from run {prod_run}, which is deleted: search_runs does not return "
                "it, and its first row is {best_run} ({metric} = {best_value})."
            ),
        },
        "no_production": {
            "es": "No se puede comparar: «{model_name}» no tiene versión en {stage}.",
            "en": "Cannot compare: '{model_name}' has no version in {stage}.",
        },
        "no_runs": {
            "es": "No se puede comparar: «{experiment}» no tiene runs activos.",
            "en": "Cannot compare: '{experiment}' has no active runs.",
        },
    },
    hint={
        "es": (
            'Buscá el mejor con df = mlflow.search_runs(experiment_names=["{experiment}"], '
            'order_by=["metrics.{metric} {order}"]), registrá df.iloc[0].run_id y pasá esa versión a {stage}. Si '
            "borraste ese run, restauralo (MlflowClient().restore_run) o registrá el nuevo mejor."
        ),
        "en": (
            'Find the best with df = mlflow.search_runs(experiment_names=["{experiment}"], '
            'order_by=["metrics.{metric} {order}"]), register df.iloc[0].run_id and move that version to {stage}. If '
            "you deleted that run, restore it (MlflowClient().restore_run) or register the new best."
        ),
    },
)


@check(
    "registry.best_run",
    settings={},
    messages=("ok", "mismatch", "prod_run_deleted", "no_production", "no_runs"),
    texts=REGISTRY_BEST_RUN_TEXTS,
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


#: registry.alias's default texts: a rubric overrides any of them, per key and language.
REGISTRY_ALIAS_TEXTS = Texts(
    title={
        "es": "Aliases del Model Registry (informativo)",
        "en": "Model Registry aliases (informational)",
    },
    messages={
        "none": {
            "es": (
                "«{model_name}» no usa aliases; el stage {stage} es lo que pide esta tarea. (Desde MLflow 2.9 se "
                "recomiendan aliases como @champion en lugar de stages.)"
            ),
            "en": (
                "'{model_name}' uses no aliases; the stage {stage} is what this homework asks for. (Since MLflow 2.9 "
                "aliases such as @champion are recommended over stages.)"
            ),
        },
        "used": {
            "es": (
                "Usaste aliases ({aliases}), como recomienda MLflow >= 2.9, de forma coherente con el stage {stage}. "
                "Bien."
            ),
            "en": "You used aliases ({aliases}), as MLflow >= 2.9 recommends, consistently with stage {stage}. Good.",
        },
        "accepted": {
            "es": (
                "Ninguna versión está en {stage}, pero {alias} apunta a v{version} y esta rúbrica acepta el alias en "
                "lugar del stage.[[ Aliases: {aliases}.]]"
            ),
            "en": (
                "No version is in {stage}, but {alias} points at v{version} and this rubric accepts the alias in "
                "place of the stage.[[ Aliases: {aliases}.]]"
            ),
        },
        "alias_only": {
            "es": (
                "Usaste {alias} -> v{version} (lo que recomienda MLflow >= 2.9), pero esta tarea pide el stage "
                "{stage} y ninguna versión de «{model_name}» lo tiene.[[ Aliases: {aliases}.]]"
            ),
            "en": (
                "You used {alias} -> v{version} (what MLflow >= 2.9 recommends), but this homework asks for stage "
                "{stage} and no version of '{model_name}' is in it.[[ Aliases: {aliases}.]]"
            ),
        },
        "conflict": {
            "es": (
                "{alias} apunta a v{alias_version} pero el stage {stage} está en v{version}: "
                "models:/{model_name}{alias} y models:/{model_name}/{stage} cargan modelos distintos."
            ),
            "en": (
                "{alias} points at v{alias_version} but stage {stage} is on v{version}: models:/{model_name}{alias} "
                "and models:/{model_name}/{stage} load different models."
            ),
        },
        "missing_model": {
            "es": "No hay un modelo registrado «{model_name}»: nada que revisar.",
            "en": "There is no registered model '{model_name}': nothing to look at.",
        },
    },
    hint={
        "es": (
            "El aviso de MLflow de que el stage {stage} está deprecated (FutureWarning) es esperable: los stages "
            "siguen funcionando y esta tarea los pide. Pasá la versión a {stage} con "
            'MlflowClient().transition_model_version_stage("{model_name}", version, "{stage}"); si además usás '
            'aliases (MlflowClient().set_registered_model_alias("{model_name}", "champion", version)), que apunten a '
            "esa misma versión."
        ),
        "en": (
            "MLflow's warning that the {stage} stage is deprecated (FutureWarning) is expected: stages still work "
            "and this homework asks for them. Move the version to {stage} with "
            'MlflowClient().transition_model_version_stage("{model_name}", version, "{stage}"); if you also use '
            'aliases (MlflowClient().set_registered_model_alias("{model_name}", "champion", version)), point them at '
            "that same version."
        ),
    },
)


@check(
    "registry.alias",
    settings={},
    messages=("none", "used", "accepted", "alias_only", "conflict", "missing_model"),
    texts=REGISTRY_ALIAS_TEXTS,
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

"""Checks on the experiment's runs: how many, what each logged, and their models."""

from __future__ import annotations

import difflib
import math
import re

from ..evidence.model import Evidence
from ..evidence.selections import counted_runs, group_runs  # noqa: F401 - re-exported
from .base import Outcome, Settings, Texts, check, failed, passed, skipped, warned


def _missing_experiment(ev: Evidence, s: Settings) -> Outcome:
    names = [e.name for e in ev.experiments if e.lifecycle_stage == "active"]
    deleted = [e.name for e in ev.experiments if e.lifecycle_stage != "active" and e.name == ev.experiment_name]
    if deleted:
        return failed("experiment_deleted", experiment=ev.experiment_name)
    hide = s.get("hide_experiments")  # a class on one shared store: never name a classmate's experiment
    if hide:
        pattern = re.compile(str(hide))
        hidden = [n for n in names if pattern.match(n)]
        names = [n for n in names if n not in hidden]
    close = difflib.get_close_matches(ev.experiment_name, names, n=3, cutoff=0.6)
    return failed(
        "missing_experiment",
        evidence={
            "experiments": names,
            "close_matches": close,
            **({"hidden_experiments": len(hidden)} if hide else {}),
        },
        experiment=ev.experiment_name,
        found=names or "-",
        close=close or "-",
    )


#: runs.count's default texts: a rubric overrides any of them, per key and language.
RUNS_COUNT_TEXTS = Texts(
    title={
        "es": "Al menos {min_runs} runs terminados en el experimento {experiment}",
        "en": "At least {min_runs} finished runs in experiment {experiment}",
    },
    messages={
        "ok": {
            "es": (
                "Encontré {n} {n:plural:run terminado|runs terminados} (FINISHED) en «{experiment}»; se "
                "{min_runs:plural:pide|piden} al menos {min_runs}."
            ),
            "en": (
                "Found {n} finished (FINISHED) {n:plural:run|runs} in '{experiment}'; at least {min_runs} "
                "{min_runs:plural:is|are} required."
            ),
        },
        "too_few": {
            "es": (
                "Encontré {n} {n:plural:run terminado|runs terminados} en «{experiment}», se esperaban al menos "
                "{min_runs}.[[ No cuentan: {not_counted}.]]"
            ),
            "en": (
                "Found {n} finished {n:plural:run|runs} in '{experiment}', expected at least {min_runs}.[[ Not "
                "counted: {not_counted}.]]"
            ),
        },
        "missing_experiment": {
            "es": (
                "No existe un experimento llamado exactamente «{experiment}».[[ Experimentos encontrados: "
                "{found}.]][[ Parecidos: {close}.]]"
            ),
            "en": (
                "There is no experiment named exactly '{experiment}'.[[ Experiments found: {found}.]][[ Similar: "
                "{close}.]]"
            ),
        },
        "experiment_deleted": {
            "es": "El experimento «{experiment}» existe pero está borrado (deleted).",
            "en": "Experiment '{experiment}' exists but is deleted.",
        },
    },
    hint={
        "es": (
            'Usá mlflow.set_experiment("{experiment}") (nombre exacto) antes de los runs, dejá que cada bloque `with '
            "mlflow.start_run():` termine sin error y no borres runs que necesitás. Si el nombre quedó mal, "
            "renombralo con MlflowClient().rename_experiment(...). Si tus runs no aparecen (ni en la UI), se "
            "guardaron en otro --backend-store-uri: entregá la carpeta que muestra mlflow.get_tracking_uri(). Con "
            "MLflow >= 3.13 el store ./mlruns se rechaza salvo con MLFLOW_ALLOW_FILE_STORE=true; o usá "
            'mlflow.set_tracking_uri("sqlite:///mlflow.db") y entregá mlflow.db + mlruns/.'
        ),
        "en": (
            'Call mlflow.set_experiment("{experiment}") (exact name) before the runs, let every `with '
            "mlflow.start_run():` block end without error, and do not delete runs you need. If the name is wrong, "
            "rename it with MlflowClient().rename_experiment(...). If your runs do not show up (nor in the UI), they "
            "went to another --backend-store-uri: hand in the folder mlflow.get_tracking_uri() shows. MLflow >= 3.13 "
            "refuses the ./mlruns store unless MLFLOW_ALLOW_FILE_STORE=true; or use "
            'mlflow.set_tracking_uri("sqlite:///mlflow.db") and hand in mlflow.db + mlruns/.'
        ),
    },
)


@check(
    "runs.count",
    settings={"min_runs": 10, "count_statuses": ["FINISHED"]},
    messages=("ok", "too_few", "missing_experiment", "experiment_deleted"),
    texts=RUNS_COUNT_TEXTS,
    needs=("experiments", "runs"),
)
def runs_count(ev: Evidence, s: Settings) -> Outcome:
    """The experiment named exactly as the rubric says holds at least ``min_runs`` active runs
    whose status is FINISHED (deleted, RUNNING and FAILED runs do not count).

    Fix: log the runs in ``mlflow.set_experiment("homework-195")`` (exact name), let each
    ``with mlflow.start_run():`` block end normally, and do not delete runs you need.
    """
    if ev.experiment is None:
        return _missing_experiment(ev, s)
    runs = counted_runs(ev, s)
    n, need = len(runs), int(s["min_runs"])
    others = sorted({r.status for r in ev.runs} - {r.status for r in runs})
    not_counted = [f"{sum(r.status == st for r in ev.runs)} {st}" for st in others]
    if ev.deleted_runs:
        not_counted.append(f"{len(ev.deleted_runs)} deleted")
    evidence = {"counted": n, "active": len(ev.runs), "deleted": len(ev.deleted_runs)}
    if n >= need:
        return passed(evidence=evidence, n=n, min_runs=need, experiment=ev.experiment.name)
    return failed(
        "too_few", evidence=evidence, n=n, min_runs=need, experiment=ev.experiment.name, not_counted=not_counted
    )


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


#: runs.fields's default texts: a rubric overrides any of them, per key and language.
RUNS_FIELDS_TEXTS = Texts(
    title={
        "es": "Cada run tiene {param} y las métricas {metrics}",
        "en": "Every run has {param} and the metrics {metrics}",
    },
    messages={
        "ok": {
            "es": "{n:plural:El run tiene|Los {n} runs tienen} {fields}.",
            "en": "{n:plural:The run has|All {n} runs have} {fields}.",
        },
        "missing": {
            "es": (
                "{n_bad} de {n} {n:plural:run|runs} no {n_bad:plural:tiene|tienen} todo lo pedido ({fields}). Falta: "
                "{problems}."
            ),
            "en": (
                "{n_bad} of {n} {n:plural:run|runs} {n_bad:plural:lacks|lack} something required ({fields}). "
                "Missing: {problems}."
            ),
        },
        "tag_only": {
            "es": (
                "Todos los runs tienen las métricas, pero «{param}» está como tag (no como param) en: {runs}. Se "
                "acepta, aunque lo pedido es un param."
            ),
            "en": (
                "All runs have the metrics, but '{param}' is a tag (not a param) in: {runs}. Accepted, though a "
                "param was asked for."
            ),
        },
        "no_runs": {
            "es": "No hay runs terminados en «{experiment}» para revisar.",
            "en": "There are no finished runs in '{experiment}' to look at.",
        },
    },
    hint={
        "es": (
            'En cada run: mlflow.log_param("{param}", ...) y mlflow.log_metric(nombre, valor) para cada métrica de '
            "{metrics}, con valores numéricos finitos."
        ),
        "en": (
            'In each run: mlflow.log_param("{param}", ...) and mlflow.log_metric(name, value) for each metric of '
            "{metrics}, with finite numbers."
        ),
    },
)


@check(
    "runs.fields",
    settings={
        "param": "model_type",
        "metrics": ["rmse_test", "r2_test"],
        "accept_tag": True,
        "count_statuses": ["FINISHED"],
    },
    messages=("ok", "missing", "tag_only", "no_runs"),
    texts=RUNS_FIELDS_TEXTS,
    needs=("runs",),
)
def runs_fields(ev: Evidence, s: Settings) -> Outcome:
    """Every counted run has the param ``model_type`` (a tag is accepted, with a note) and the
    metrics ``rmse_test`` and ``r2_test`` as finite numbers.

    Fix: in each run call ``mlflow.log_param("model_type", ...)``,
    ``mlflow.log_metric("rmse_test", rmse)`` and ``mlflow.log_metric("r2_test", r2)``.
    """
    runs = counted_runs(ev, s)
    if not runs:
        return skipped("no_runs", experiment=ev.experiment_name)
    param = s["param"]
    problems, tag_only = [], []
    for run in runs:
        lacks = []
        if param not in run.params:
            if s["accept_tag"] and param in run.tags:
                tag_only.append(run.label)
            else:
                lacks.append(param)
        for metric in s["metrics"]:
            if metric not in run.metrics:
                lacks.append(metric)
            elif not _finite(run.metrics[metric]):
                lacks.append(f"{metric}={run.metrics[metric]}")
        if lacks:
            problems.append(f"{run.label}: {', '.join(lacks)}")
    evidence = {"runs": len(runs), "incomplete": problems, "param_as_tag": tag_only}
    fields = [param, *s["metrics"]]
    if problems:
        return failed(
            "missing", evidence=evidence, n_bad=len(problems), n=len(runs), problems="; ".join(problems), fields=fields
        )
    if tag_only:
        return warned("tag_only", evidence=evidence, param=param, runs=tag_only, n=len(runs))
    return passed(evidence=evidence, n=len(runs), fields=fields)


#: runs.model's default texts: a rubric overrides any of them, per key and language.
RUNS_MODEL_TEXTS = Texts(
    title={
        "es": "Cada run tiene su modelo logueado",
        "en": "Every run has its model logged",
    },
    messages={
        "ok": {
            "es": "{n:plural:El run tiene|Los {n} runs tienen} un modelo logueado (MLmodel + archivo del modelo).",
            "en": "{n:plural:The run has|All {n} runs have} a logged model (MLmodel + model file).",
        },
        "missing": {
            "es": (
                "{n_bad} de {n} {n:plural:run|runs} no {n_bad:plural:tiene|tienen} un modelo logueado utilizable: "
                "{problems}."
            ),
            "en": "{n_bad} of {n} {n:plural:run|runs} {n_bad:plural:has|have} no usable logged model: {problems}.",
        },
        "no_runs": {
            "es": "No hay runs terminados en «{experiment}» para revisar.",
            "en": "There are no finished runs in '{experiment}' to look at.",
        },
        "no_artifacts": {
            "es": (
                "{store} registra {n} {n:plural:run|runs}, pero la entrega no trae ninguno de sus artefactos (los "
                "modelos): falta la carpeta mlruns/ que está junto a {store}."
            ),
            "en": (
                "{store} records {n} {n:plural:run|runs}, but the submission holds none of their artifacts (the "
                "models): the mlruns/ folder beside {store} is missing."
            ),
        },
    },
    hint={
        "es": (
            'Dentro de cada `with mlflow.start_run():` llamá mlflow.sklearn.log_model(modelo, name="model") '
            '(artifact_path="model" en MLflow 2.x) y entregá la carpeta mlruns/ completa, con los artefactos. En '
            'MLflow >= 3.14 un RandomForest necesita serialization_format="cloudpickle" (o skops_trusted_types).'
        ),
        "en": (
            'Inside each `with mlflow.start_run():` call mlflow.sklearn.log_model(model, name="model") '
            '(artifact_path="model" in MLflow 2.x) and hand in the whole mlruns/ folder, artifacts included. With '
            'MLflow >= 3.14 a RandomForest needs serialization_format="cloudpickle" (or skops_trusted_types).'
        ),
    },
)


@check(
    "runs.model",
    settings={"count_statuses": ["FINISHED"]},
    messages=("ok", "missing", "no_runs", "no_artifacts"),
    texts=RUNS_MODEL_TEXTS,
    needs=("runs", "models"),
)
def runs_model(ev: Evidence, s: Settings) -> Outcome:
    """Every counted run has a logged model: an ``MLmodel`` file plus its model file, in the run's
    artifacts (MLflow 2.x) or as a LoggedModel whose source run is the run (MLflow 3.x).

    Fix: call ``mlflow.sklearn.log_model(model, name="model")`` (``artifact_path=`` in MLflow 2.x)
    inside each ``with mlflow.start_run():`` block, and hand in the artifacts folder too.
    """
    runs = counted_runs(ev, s)
    if not runs:
        return skipped("no_runs", experiment=ev.experiment_name)
    if ev.artifacts_missing and not any(run.has_model for run in runs):  # said once, not once per run
        return failed("no_artifacts", evidence={"runs": len(runs)}, n=len(runs), store=ev.store_name or "mlflow.db")
    problems = []
    for run in runs:
        if run.has_model:
            continue
        broken = [m.problem for m in run.models if m.problem]
        problems.append(f"{run.label}: {broken[0]}" if broken else run.label)
    evidence = {"runs": len(runs), "without_model": problems}
    if problems:
        return failed("missing", evidence=evidence, n_bad=len(problems), n=len(runs), problems="; ".join(problems))
    return passed(evidence=evidence, n=len(runs))

"""Checks on the experiment's runs: how many, what each logged, and their models."""

from __future__ import annotations

import difflib
import math
import re

from ..evidence.model import Evidence
from ..evidence.selections import counted_runs, group_runs  # noqa: F401 - re-exported
from .base import Outcome, Settings, check, failed, passed, skipped, warned


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


@check(
    "runs.count",
    settings={"min_runs": 10, "count_statuses": ["FINISHED"]},
    messages=("ok", "too_few", "missing_experiment", "experiment_deleted"),
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


@check(
    "runs.fields",
    settings={
        "param": "model_type",
        "metrics": ["rmse_test", "r2_test"],
        "accept_tag": True,
        "count_statuses": ["FINISHED"],
    },
    messages=("ok", "missing", "tag_only", "no_runs"),
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


@check(
    "runs.model",
    settings={"count_statuses": ["FINISHED"]},
    messages=("ok", "missing", "no_runs", "no_artifacts"),
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

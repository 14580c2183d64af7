"""``grade rubric init --from REFERENCE``: a rubric scaffold read off an instructor's own solution.

An instructor of another course points at the store their reference solution wrote; what it says
becomes a rubric to edit (never executed, read through the same private snapshot as grading):

- the experiment (the one with most finished runs) and the minimum runs (its finished runs);
- the registered model whose versions come from that experiment, and how the best is marked: the
  stage of its newest staged version, or (no stage) its alias, with ``accept_alias: true``;
- the metrics every run logged, the ranking metric (the one by which the registered run is the
  best, higher-is-better names such as ``accuracy``/``r2``/``f1`` ranked ``DESC``) and its order;
- the param every run logged (``model_type`` when there is one);
- the task: the data columns the registered model expects (its signature), matched against the
  data sets the grader knows (California Housing, scikit-learn's), the kind (classifier or
  regressor) and the measure of each metric. When the data is not one of those, the ``task:``
  section is written with ``data: REPLACE-ME.csv``: loading the rubric then says to fill it in.

The checks are those of the shipped rubric of the same kind (``homework-195`` for a regression,
``cancer-classification`` for a classification, their exercises left out), without texts: each
check's default texts name the settings, so the scaffold grades at once and says the course's own
names; edit points, checks and any text from there (``docs/rubrics.md``).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import yamlio
from .errors import SubmissionError
from .evidence.selections import DEFAULT_ALIASES

#: Words in a metric's name that mean higher is better (else lower is: rmse, mae, loss, error...).
HIGHER_IS_BETTER = ("r2", "acc", "f1", "auc", "precision", "recall", "score", "balanced")
#: A metric's name -> the task's measure (the first pattern that matches).
MEASURES = (
    (r"rmse", "rmse"),
    (r"(^|_)mse", "mse"),
    (r"mae", "mae"),
    (r"mape", "mape"),
    (r"r2", "r2"),
    (r"balanced", "balanced_accuracy"),
    (r"acc", "accuracy"),
    (r"f1", "f1"),
    (r"precision", "precision"),
    (r"recall", "recall"),
)


@dataclass
class Found:
    """What the reference store says, before it becomes YAML."""

    experiment: str = ""
    finished_runs: int = 0
    model_name: str = ""
    stage: str = ""
    alias: str = ""
    metrics: list[str] = field(default_factory=list)
    metric: str = ""
    order: str = "ASC"
    param: str = ""
    kind: str = "regression"
    columns: list[str] = field(default_factory=list)
    data: str = ""
    target: str = ""
    #: The split that reproduces the registered run's logged metrics, when one was found.
    split: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _order_of(metric: str) -> str:
    return "DESC" if any(word in metric.lower() for word in HIGHER_IS_BETTER) else "ASC"


def _measure_of(metric: str) -> str | None:
    return next((measure for pattern, measure in MEASURES if re.search(pattern, metric.lower())), None)


def _known_data(columns: list[str]) -> tuple[str, str]:
    """``(data, target)`` of the data set the grader knows whose features are ``columns``, else ("", "")."""
    from .task import SHIPPED, SKLEARN_DATASETS, load_frame

    if not columns:
        return "", ""
    if columns == list(load_frame(SHIPPED, "").columns[:-1]):
        return SHIPPED, "MedHouseVal"
    for name in SKLEARN_DATASETS:
        frame = load_frame(f"sklearn:{name}", "")
        if columns == [c for c in frame.columns if c != "target"]:
            return f"sklearn:{name}", "target"
    return "", ""


def _alias_rank(item: tuple[str, int]) -> tuple[int, str]:
    """How an alias ranks as "the graded one": ``production``, ``champion`` (in the order of
    :data:`~grader.evidence.selections.DEFAULT_ALIASES`) before any other, then by name."""
    name = item[0]
    order = [a.lower() for a in DEFAULT_ALIASES]
    return (order.index(name.lower()) if name.lower() in order else len(order), name)


def _signature_columns(mlmodel: Path) -> list[str]:
    try:
        data = yamlio.load(mlmodel.read_text(encoding="utf-8"))
        inputs = json.loads(((data or {}).get("signature") or {}).get("inputs") or "[]")
    except (OSError, ValueError, yamlio.YAMLError, AttributeError, TypeError):
        return []
    return [str(c["name"]) for c in inputs if isinstance(c, dict) and c.get("name")]


def read_reference(reference: str | os.PathLike, data: str | None = None, target: str | None = None) -> Found:
    """Read what :func:`scaffold` needs from the reference store at ``reference`` (read-only).

    ``data`` (``california_housing``, ``sklearn:NAME`` or a CSV path) and ``target`` name the
    homework's data set when the registered model's signature does not tell it."""
    from .evidence.remote import collect_source
    from .sources import open_source

    found = Found()
    with open_source(reference) as snap:
        overview = collect_source(snap, "", "", fetch=False)
        best_count, best_ev = -1, None
        for experiment in overview.experiments:
            if experiment.lifecycle_stage != "active":
                continue
            ev = collect_source(snap, experiment.name, "", fetch=False)
            finished = [r for r in ev.runs if r.status == "FINISHED"]
            if len(finished) > best_count:
                best_count, best_ev = len(finished), ev
        if best_ev is None or best_count <= 0:
            raise SubmissionError(f"{reference}: no experiment with finished runs to read a rubric from")
        runs = [r for r in best_ev.runs if r.status == "FINISHED"]
        found.experiment, found.finished_runs = best_ev.experiment_name, len(runs)
        run_ids = {r.run_id for r in runs}
        registered = [m for m in best_ev.registered_models if any(v.run_id in run_ids for v in m.versions)]
        common_metrics = [k for k in runs[0].metrics if all(k in r.metrics for r in runs)]
        common_params = [k for k in runs[0].params if all(k in r.params for r in runs)]
        # what the model scores on the test rows: not the training set's metrics, nor autolog's
        found.metrics = [m for m in common_metrics if "train" not in m.lower() and not m.startswith("system/")]
        found.param = "model_type" if "model_type" in common_params else (common_params[0] if common_params else "")
        graded = None
        if registered:
            model = registered[0]
            found.model_name = model.name
            staged = [v for v in model.versions if v.current_stage not in ("", "None", None)]
            if staged:  # Production first, then the newest version in another stage
                graded = max(staged, key=lambda v: (v.current_stage == "Production", v.version))
                found.stage = graded.current_stage
            elif model.aliases:  # the aliases MLflow's docs use for "the one in use" first
                found.alias, number = min(model.aliases.items(), key=_alias_rank)
                graded = next((v for v in model.versions if v.version == number), None)
        else:
            found.notes.append("no registered model comes from this experiment's runs")
        found.metric, found.order = _ranking(runs, found.metrics, graded.run_id if graded else None)
        if graded is not None and graded.model is not None:
            found.columns = _signature_columns(snap.root / graded.model.path / "MLmodel")
            estimator = graded.model.estimator_class or ""
            if estimator.endswith("Classifier") or "Logistic" in estimator or "SVC" in estimator:
                found.kind = "classification"
        if found.kind == "regression" and any(
            _measure_of(m) in ("accuracy", "f1", "balanced_accuracy") for m in found.metrics
        ):
            found.kind = "classification"
        found.data, found.target = _known_data(found.columns)
        if data:
            found.data = (
                data if data.startswith("sklearn:") or data == "california_housing" else str(Path(data).resolve())
            )
            found.target = target or ("MedHouseVal" if data == "california_housing" else "target")
        elif not found.data:
            found.notes.append("the data set is not known (the model has no signature): give --data, or edit task:")
        if found.data and graded is not None and graded.model is not None:
            run = next((r for r in runs if r.run_id == graded.run_id), None)
            if run is not None:
                found.split = _find_split(found, snap, graded.model, run.metrics)
    return found


#: The splits courses use, tried in this order: test_size x random_state x stratify.
SPLIT_SIZES = (0.2, 0.25, 0.3, 0.33, 0.1, 0.15)
SPLIT_SEEDS = (42, 0, 1, 123, 7, 2024, 2025, 2026, 10, 100, 1234, 12345)


def _find_split(found: Found, snap, model, logged: dict) -> dict[str, Any]:
    """The split whose test rows give the registered model's logged metrics exactly: the model
    predicts the whole data set once, in the sandboxed probe, then each candidate split is scored
    on its own rows. {} when none reproduces them (the scaffold then says so)."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    from .probe import ProbeOptions, probe_model
    from .task import Task

    measures = {m: _measure_of(m) for m in found.metrics if _measure_of(m) and isinstance(logged.get(m), float)}
    task = Task(
        data=found.data,
        target=found.target,
        kind=found.kind,
        whole_data=True,
        metrics=tuple((m, v) for m, v in measures.items() if v),
        rows=1,
    )
    if not task.metrics:
        return {}
    _, y = task.split()
    probe = probe_model(
        model, snap.root, ProbeOptions(task=task, whole_split=True, rows=1, timeout=120), files=snap.files
    )
    predictions = probe.details.get("all_predictions")
    if not probe.ok or not isinstance(predictions, list) or len(predictions) != len(y):
        found.notes.append(
            f"the split could not be found: the model did not predict ({probe.error or 'no predictions'})"
        )
        return {}
    predicted = np.asarray(predictions, dtype=object)
    index = np.arange(len(y))
    for stratify in (False, True) if found.kind == "classification" else (False,):
        for size in SPLIT_SIZES:
            for seed in SPLIT_SEEDS:
                _, test = train_test_split(index, test_size=size, random_state=seed, stratify=y if stratify else None)
                sub = Task(**{**task.__dict__, "whole_data": False})
                scores = sub.score(list(predicted[test]), y.iloc[test])
                if scores and all(
                    abs(scores[m] - float(logged[m])) <= 1e-9 * max(1.0, abs(float(logged[m]))) for m in measures
                ):
                    return {"test_size": size, "random_state": seed, **({"stratify": True} if stratify else {})}
    found.notes.append("no usual split reproduces the logged metrics: set task.split by hand")
    return {}


def _ranking(runs, metrics: list[str], graded_run: str | None) -> tuple[str, str]:
    """The metric (and order) by which ``graded_run`` is the best run; else the first metric."""
    import math

    def best(metric: str, order: str) -> str | None:
        values = [
            (r.metrics[metric], r.run_id)
            for r in runs
            if isinstance(r.metrics.get(metric), (int, float)) and math.isfinite(r.metrics[metric])
        ]
        if not values:
            return None
        return (max if order == "DESC" else min)(values)[1]

    ranked = sorted(metrics, key=lambda m: (not m.endswith("_test"), metrics.index(m)))
    for metric in ranked:
        if graded_run is not None and best(metric, _order_of(metric)) == graded_run:
            return metric, _order_of(metric)
    metric = ranked[0] if ranked else "rmse_test"
    return metric, _order_of(metric)


def scaffold(found: Found) -> str:
    """The rubric YAML for ``found``: the checks of the shipped rubric of its kind (ids, points,
    required), re-set for ``found``, without texts: every check's default texts name the settings
    (experiment, model, stage or alias, metric), so they follow what is written here."""
    from .rubric import shipped_folder

    base_id = "cancer-classification" if found.kind == "classification" else "homework-195"
    base = yamlio.load((shipped_folder() / f"{base_id}.yaml").read_text(encoding="utf-8"))
    metrics = [m for m in found.metrics if _measure_of(m)] or found.metrics[:2]
    checks = []
    for check in base["checks"]:
        if check["id"].startswith("exercise."):  # a course's own exercises: write yours
            continue
        check = {k: v for k, v in check.items() if k not in ("title", "hint", "messages")}
        if check["id"] == "runs.count":
            check["settings"] = {"min_runs": found.finished_runs}
        if check["id"] == "runs.fields":
            check["settings"] = {"param": found.param or "model_type", "metrics": metrics}
        checks.append(check)
    settings: dict[str, Any] = {
        "experiment": found.experiment,
        "model_name": found.model_name or "REPLACE-ME",
        "stage": found.stage or "Production",
        "metric": found.metric,
        "order": found.order,
    }
    if found.alias:
        settings |= {"accept_alias": True, "accepted_aliases": [found.alias]}
    rubric: dict[str, Any] = {
        "id": f"{found.experiment}-rubric",
        "title": {"es": f"Tarea: {found.experiment}", "en": f"Homework: {found.experiment}"},
    }
    task = _task(found, metrics)
    if task is not None:
        rubric["task"] = task
    rubric |= {"settings": settings, "checks": checks}
    header = [
        f"# Rubric scaffold written by `grade rubric init` from the store of experiment {found.experiment!r}.",
        "# Edit it: points, which checks count (required: true|false), titles, hints and messages. Each check",
        "# has default texts naming these settings (grade explain CHECK_ID shows them); give only those you",
        f"# want different, per language. The checks are those of the shipped rubric {base_id!r}. See docs/rubrics.md.",
        *(f"# Note: {n}" for n in found.notes),
        "",
    ]
    return "\n".join(header) + yamlio.dump(rubric)


def _task(found: Found, metrics: list[str]) -> dict[str, Any] | None:
    measures = {m: _measure_of(m) for m in metrics if _measure_of(m)}
    if found.kind == "regression":
        measures = {k: v for k, v in measures.items() if v in ("rmse", "mse", "mae", "mape", "r2")}
    else:
        measures = {
            k: v for k, v in measures.items() if v in ("accuracy", "balanced_accuracy", "f1", "precision", "recall")
        }
    if (
        found.data == "california_housing"
        and found.kind == "regression"
        and set(measures) == {"rmse_test", "r2_test"}
        and found.split in ({}, {"test_size": 0.2, "random_state": 42})
    ):
        return None  # class 195's task, the default
    task: dict[str, Any] = {
        "data": found.data or "REPLACE-ME.csv",
        "target": found.target or "REPLACE-ME",
        "kind": found.kind,
        "split": found.split or {"test_size": 0.2, "random_state": 42},
        "metrics": measures,
        "rows": 5,
    }
    return task


def init_rubric(reference: str | os.PathLike, data: str | None = None, target: str | None = None) -> str:
    """The rubric scaffold (YAML text) for the reference solution's store at ``reference``."""
    return scaffold(read_reference(reference, data, target))


__all__ = ["Found", "init_rubric", "read_reference", "scaffold"]

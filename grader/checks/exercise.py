"""Checks on the class's exercises, as the runs in the experiment show them: manual tracking of
two model kinds (exercise 1), autolog (exercise 2) and the hyperparameter sweep (exercise 3)."""

from __future__ import annotations

import re

from ..evidence.model import Evidence, RunEv
from .base import Outcome, Settings, check, failed, passed, skipped
from .runs import counted_runs

#: Normalised spellings of each model kind a student may log as ``model_type``.
KINDS = {
    "LinearRegression": ("linearregression", "linreg", "linear", "lr", "ols", "linearregressor", "regresionlineal"),
    "RandomForestRegressor": ("randomforestregressor", "randomforest", "rf", "rfr", "randomforestregression",
                              "bosquealeatorio"),
}


def _normalise(text: str) -> str:
    last = str(text).strip().rsplit(".", 1)[-1]  # "sklearn.ensemble._forest.RandomForestRegressor"
    return re.sub(r"[^a-z0-9]", "", last.lower())


def kind_of(text: str | None) -> str | None:
    """``LinearRegression`` / ``RandomForestRegressor`` for any usual spelling of them, else None."""
    if not text:
        return None
    norm = _normalise(text)
    for kind, spellings in KINDS.items():
        if norm in spellings:
            return kind
    return None


def model_class(run: RunEv, param: str = "model_type") -> tuple[str | None, str]:
    """What the run trained, and where that was read: the ``model_type`` param (or tag), autolog's
    ``estimator_class`` tag, or the class named in the logged model file."""
    for value, source in (
        (run.params.get(param), f"param {param}"),
        (run.tags.get(param), f"tag {param}"),
        (run.tags.get("estimator_class"), "tag estimator_class"),
        *((m.estimator_class, "model file") for m in run.models),
    ):
        if value:
            return str(value), source
    return None, "-"


@check(
    "exercise.manual",
    settings={"param": "model_type", "kinds": ["LinearRegression", "RandomForestRegressor"],
              "count_statuses": ["FINISHED"]},
    messages=("ok", "missing", "no_runs"),
    needs=("runs", "models"),
)
def exercise_manual(ev: Evidence, s: Settings) -> Outcome:
    """Exercise 1: among the counted runs there is at least one ``LinearRegression`` and at least
    one ``RandomForestRegressor``. A run's model kind is read from its ``model_type`` param (or
    tag; usual spellings such as ``linear_regression`` or ``rf`` are understood), else from
    autolog's ``estimator_class`` tag, else from the class named in the logged model file (read
    statically, never unpickled).

    Fix: train both models, each in its own ``with mlflow.start_run():`` block, and log
    ``mlflow.log_param("model_type", "LinearRegression")`` (or ``"RandomForestRegressor"``). With
    MLflow >= 3.14, ``mlflow.sklearn.log_model`` refuses a RandomForest unless you pass
    ``serialization_format="cloudpickle"`` (or ``skops_trusted_types``).
    """
    runs = counted_runs(ev, s)
    if not runs:
        return skipped("no_runs", experiment=ev.experiment_name)
    found: dict[str, list[str]] = {}
    unknown = []
    for run in runs:
        text, source = model_class(run, s["param"])
        kind = kind_of(text)
        if kind:
            found.setdefault(kind, []).append(run.label)
        else:
            unknown.append(f"{run.label}: {text or '?'}")
    wanted = list(s["kinds"])
    missing = [k for k in wanted if k not in found]
    seen = sorted({str(model_class(r, s["param"])[0] or "?") for r in runs})
    evidence = {"found": found, "unrecognised": unknown}
    if missing:
        return failed("missing", evidence=evidence, missing=missing, found=seen, n=len(runs))
    return passed(evidence=evidence, kinds=[f"{k} ({len(found[k])})" for k in wanted], n=len(runs))


def is_autolog(run: RunEv) -> bool:
    """``mlflow.sklearn.autolog()`` tags the run with ``estimator_class``/``estimator_name`` and
    logs ``training_*`` metrics (``training_score``, ``training_r2_score``...)."""
    return "estimator_class" in run.tags or "estimator_name" in run.tags or any(
        k.startswith("training_") for k in run.metrics)


@check(
    "exercise.autolog",
    settings={"count_statuses": ["FINISHED"]},
    messages=("ok", "none", "no_model", "no_runs"),
    needs=("runs", "models"),
)
def exercise_autolog(ev: Evidence, s: Settings) -> Outcome:
    """Exercise 2: at least one counted run was made with ``mlflow.sklearn.autolog()`` (it carries
    autolog's tags ``estimator_class``/``estimator_name`` or its ``training_*`` metrics) and has
    its model logged.

    Fix: call ``mlflow.sklearn.autolog()`` *before* training and run ``model.fit(...)`` inside
    ``with mlflow.start_run():``. Autolog logs the model only for a ``.fit()`` it sees (and not
    with ``log_models=False``); a ``.fit()`` outside your run ends up in a run autolog opens by
    itself.
    """
    runs = counted_runs(ev, s)
    if not runs:
        return skipped("no_runs", experiment=ev.experiment_name)
    auto = [r for r in runs if is_autolog(r)]
    evidence = {"autolog_runs": [r.label for r in auto]}
    if not auto:
        return failed("none", evidence=evidence, n=len(runs), experiment=ev.experiment_name)
    with_model = [r for r in auto if r.has_model]
    if not with_model:
        return failed("no_model", evidence=evidence, runs=[r.label for r in auto])
    best = with_model[0]
    metrics = sorted(k for k in best.metrics if k.startswith("training_"))
    return passed(evidence=evidence, run=best.label, n_auto=len(auto),
                  estimator=best.tags.get("estimator_name") or best.tags.get("estimator_class") or "?",
                  metrics=metrics[:3] or "-")


def _as_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


@check(
    "exercise.sweep",
    settings={"max_depth": [3, 5, 10, 15, 20], "n_estimators": [50, 200], "count_statuses": ["FINISHED"]},
    messages=("ok", "missing", "no_params", "no_runs"),
    needs=("runs",),
)
def exercise_sweep(ev: Evidence, s: Settings) -> Outcome:
    """Exercise 3: the counted runs cover every combination of the params ``max_depth`` x
    ``n_estimators`` of the rubric's grid ({3, 5, 10, 15, 20} x {50, 200}: 10 runs). Values are
    compared as integers (``"10"`` and ``"10.0"`` are the same); the message lists the missing
    combinations.

    Fix: loop over both lists and log one run per combination::

        for d in [3, 5, 10, 15, 20]:
            for n in [50, 200]:
                with mlflow.start_run(run_name=f"rf-d{d}-n{n}"):
                    mlflow.log_params({"max_depth": d, "n_estimators": n, "model_type": "RandomForestRegressor"})
                    ...
    """
    runs = counted_runs(ev, s)
    if not runs:
        return skipped("no_runs", experiment=ev.experiment_name)
    depths = [int(d) for d in s["max_depth"]]
    sizes = [int(n) for n in s["n_estimators"]]
    grid = [(d, n) for d in depths for n in sizes]
    covered: dict[tuple[int, int], str] = {}
    with_params = 0
    for run in runs:
        d, n = _as_int(run.params.get("max_depth")), _as_int(run.params.get("n_estimators"))
        if "max_depth" in run.params and "n_estimators" in run.params:
            with_params += 1
        if d is not None and n is not None:
            covered.setdefault((d, n), run.label)
    if not with_params:
        names = sorted({k for r in runs for k in r.params})
        return failed("no_params", evidence={"params": names}, params=names[:15] or "-", n=len(runs))
    missing = [f"max_depth={d}, n_estimators={n}" for d, n in grid if (d, n) not in covered]
    extra = [f"({d}, {n})" for d, n in sorted(covered) if (d, n) not in grid]
    evidence = {"covered": {f"{d},{n}": label for (d, n), label in covered.items()}, "missing": missing,
                "outside_grid": extra}
    done = len(grid) - len(missing)
    if missing:
        return failed("missing", evidence=evidence, missing="; ".join(missing), n_missing=len(missing),
                      done=done, total=len(grid), outside=extra or "-")
    return passed(evidence=evidence, total=len(grid), depths=depths, sizes=sizes)

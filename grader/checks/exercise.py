"""Checks on the class's exercises, as the runs in the experiment show them: manual tracking of
two model kinds (exercise 1), autolog (exercise 2) and the hyperparameter sweep (exercise 3)."""

from __future__ import annotations

import itertools
import re
from typing import Any

from ..evidence.model import Evidence, RunEv
from .base import Outcome, Settings, Texts, check, failed, passed, skipped
from .runs import counted_runs

#: Normalised spellings of model kinds a student may log as ``model_type`` (besides the class name
#: itself, which always matches; a rubric adds its own with the setting ``aliases``).
KINDS = {
    "LinearRegression": ("linearregression", "linreg", "linear", "lr", "ols", "linearregressor", "regresionlineal"),
    "RandomForestRegressor": (
        "randomforestregressor",
        "randomforest",
        "rf",
        "rfr",
        "randomforestregression",
        "bosquealeatorio",
    ),
    "RandomForestClassifier": ("randomforestclassifier", "randomforest", "rf", "rfc", "bosquealeatorio"),
    "LogisticRegression": ("logisticregression", "logreg", "logistic", "logit", "regresionlogistica"),
    "DecisionTreeRegressor": ("decisiontreeregressor", "decisiontree", "tree", "dt", "arboldedecision"),
    "DecisionTreeClassifier": ("decisiontreeclassifier", "decisiontree", "tree", "dt", "arboldedecision"),
    "GradientBoostingRegressor": ("gradientboostingregressor", "gradientboosting", "gbr", "gbm"),
    "GradientBoostingClassifier": ("gradientboostingclassifier", "gradientboosting", "gbc", "gbm"),
    "XGBRegressor": ("xgbregressor", "xgboost", "xgb"),
    "XGBClassifier": ("xgbclassifier", "xgboost", "xgb"),
    "LGBMRegressor": ("lgbmregressor", "lightgbm", "lgbm", "lgb"),
    "LGBMClassifier": ("lgbmclassifier", "lightgbm", "lgbm", "lgb"),
}


def _normalise(text: str) -> str:
    last = str(text).strip().rsplit(".", 1)[-1]  # "sklearn.ensemble._forest.RandomForestRegressor"
    return re.sub(r"[^a-z0-9]", "", last.lower())


def spellings(kind: str, aliases: dict | None = None) -> set[str]:
    """Every normalised spelling that stands for ``kind``: its own name, the usual ones, the rubric's."""
    extra = (aliases or {}).get(kind) or []
    return {_normalise(kind), *KINDS.get(kind, ()), *(_normalise(a) for a in extra)}


def kind_of(
    text: str | None, wanted=("LinearRegression", "RandomForestRegressor"), aliases: dict | None = None
) -> str | None:
    """The kind of ``wanted`` that ``text`` (a ``model_type``, a class name) spells, else None."""
    if not text:
        return None
    norm = _normalise(text)
    return next((kind for kind in wanted if norm in spellings(kind, aliases)), None)


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


#: exercise.manual's default texts: a rubric overrides any of them, per key and language.
EXERCISE_MANUAL_TEXTS = Texts(
    title={
        "es": "Hay runs de cada tipo de modelo pedido: {kinds}",
        "en": "There are runs of each model kind asked for: {kinds}",
    },
    messages={
        "ok": {
            "es": "{n:plural:En el único run hay|Entre los {n} runs hay}: {kinds}.",
            "en": "{n:plural:The only run is|Among the {n} runs there are}: {kinds}.",
        },
        "missing": {
            "es": (
                "No encontré ningún run de {missing} {n:plural:en el único run|entre los {n} runs}.[[ Tipos de "
                "modelo encontrados (model_type, tag estimator_class o archivo del modelo): {found}.]]"
            ),
            "en": (
                "No run of {missing} {n:plural:in the only run|among the {n} runs}.[[ Model kinds found (model_type, "
                "estimator_class tag or model file): {found}.]]"
            ),
        },
        "no_runs": {
            "es": "No hay runs terminados en «{experiment}» para revisar.",
            "en": "There are no finished runs in '{experiment}' to look at.",
        },
    },
    hint={
        "es": (
            "Entrená cada tipo de modelo pedido ({kinds}), cada uno en su propio `with mlflow.start_run():`, y "
            'logueá su nombre de clase con mlflow.log_param("{param}", ...).'
        ),
        "en": (
            "Train each model kind asked for ({kinds}), each in its own `with mlflow.start_run():`, and log its "
            'class name with mlflow.log_param("{param}", ...).'
        ),
    },
)


@check(
    "exercise.manual",
    settings={
        "param": "model_type",
        "kinds": ["LinearRegression", "RandomForestRegressor"],
        "aliases": {},
        "count_statuses": ["FINISHED"],
    },
    messages=("ok", "missing", "no_runs"),
    texts=EXERCISE_MANUAL_TEXTS,
    needs=("runs", "models"),
)
def exercise_manual(ev: Evidence, s: Settings) -> Outcome:
    """Exercise 1: among the counted runs there is at least one run of each model kind of the
    setting ``kinds`` (class 195: ``LinearRegression`` and ``RandomForestRegressor``; any class
    name works). A run's model kind is read from its ``param`` (``model_type``) param or tag, else
    from autolog's ``estimator_class`` tag, else from the class named in the logged model file
    (read statically, never unpickled); names are compared normalised (case, ``_``, a module
    prefix), usual spellings are understood (``linear_regression``, ``rf``, ``xgboost``), and the
    setting ``aliases`` (``{XGBRegressor: [boosting]}``) adds a course's own.

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
    wanted = [str(k) for k in s["kinds"]]
    aliases = s.get("aliases") or {}
    for run in runs:
        # every source the run has (param, tag, autolog's tag, the model file) may name a wanted kind
        texts = [
            t
            for t in (
                run.params.get(s["param"]),
                run.tags.get(s["param"]),
                run.tags.get("estimator_class"),
                *(m.estimator_class for m in run.models),
            )
            if t
        ]
        kind = next((k for k in (kind_of(t, wanted, aliases) for t in texts) if k), None)
        if kind:
            found.setdefault(kind, []).append(run.label)
        else:
            unknown.append(f"{run.label}: {(texts or ['?'])[0]}")
    missing = [k for k in wanted if k not in found]
    seen = sorted({str(model_class(r, s["param"])[0] or "?") for r in runs})
    evidence = {"found": found, "unrecognised": unknown}
    if missing:
        return failed("missing", evidence=evidence, missing=missing, found=seen, n=len(runs))
    return passed(evidence=evidence, kinds=[f"{k} ({len(found[k])})" for k in wanted], n=len(runs))


def is_autolog(run: RunEv) -> bool:
    """``mlflow.sklearn.autolog()`` tags the run with ``estimator_class``/``estimator_name`` and
    logs ``training_*`` metrics (``training_score``, ``training_r2_score``...)."""
    return (
        "estimator_class" in run.tags
        or "estimator_name" in run.tags
        or any(k.startswith("training_") for k in run.metrics)
    )


#: exercise.autolog's default texts: a rubric overrides any of them, per key and language.
EXERCISE_AUTOLOG_TEXTS = Texts(
    title={
        "es": "Un run hecho con mlflow.sklearn.autolog(), con su modelo",
        "en": "A run made with mlflow.sklearn.autolog(), with its model",
    },
    messages={
        "ok": {
            "es": (
                "El run {run} se hizo con autolog ({estimator}[[; métricas {metrics}]]) y tiene el modelo logueado "
                "({n_auto} {n_auto:plural:run|runs} con autolog en total)."
            ),
            "en": (
                "Run {run} was made with autolog ({estimator}[[; metrics {metrics}]]) and has its model logged "
                "({n_auto} autolog {n_auto:plural:run|runs} in all)."
            ),
        },
        "none": {
            "es": (
                "{n:plural:El único run de «{experiment}» no fue hecho con autolog: no tiene|Ninguno de los {n} runs "
                "de «{experiment}» fue hecho con autolog: ninguno tiene} los tags estimator_class/estimator_name ni "
                "métricas training_* que autolog registra."
            ),
            "en": (
                "{n:plural:The only run in '{experiment}' was not made with autolog: it has none of|None of the {n} "
                "runs in '{experiment}' was made with autolog: none has} the estimator_class/estimator_name tags or "
                "the training_* metrics autolog records."
            ),
        },
        "no_model": {
            "es": "Hay runs con autolog ({runs}) pero ninguno tiene el modelo logueado.",
            "en": "There are autolog runs ({runs}) but none has its model logged.",
        },
        "no_runs": {
            "es": "No hay runs terminados en «{experiment}» para revisar.",
            "en": "There are no finished runs in '{experiment}' to look at.",
        },
    },
    hint={
        "es": (
            "Llamá mlflow.sklearn.autolog() ANTES de entrenar y hacé el model.fit(...) DENTRO de `with "
            "mlflow.start_run():`. Autolog loguea el modelo solo si ve el .fit() (y no con log_models=False); un "
            ".fit() fuera de tu run termina en otro run que autolog abre solo."
        ),
        "en": (
            "Call mlflow.sklearn.autolog() BEFORE training and run model.fit(...) INSIDE `with mlflow.start_run():`. "
            "Autolog logs the model only for a .fit() it sees (and not with log_models=False); a .fit() outside your "
            "run ends up in another run autolog opens by itself."
        ),
    },
)


@check(
    "exercise.autolog",
    settings={"count_statuses": ["FINISHED"]},
    messages=("ok", "none", "no_model", "no_runs"),
    texts=EXERCISE_AUTOLOG_TEXTS,
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
    return passed(
        evidence=evidence,
        run=best.label,
        n_auto=len(auto),
        estimator=best.tags.get("estimator_name") or best.tags.get("estimator_class") or "?",
        metrics=metrics[:3] or "-",
    )


#: exercise.sweep's default texts: a rubric overrides any of them, per key and language.
EXERCISE_SWEEP_TEXTS = Texts(
    title={
        "es": "Los runs cubren cada combinación de la grilla del sweep",
        "en": "The runs cover every combination of the sweep's grid",
    },
    messages={
        "ok": {
            "es": "{total:plural:Está la única combinación|Están las {total} combinaciones} de {grid}.",
            "en": "{total:plural:The only combination|All {total} combinations} of {grid} {total:plural:is|are} there.",
        },
        "missing": {
            "es": (
                "Hay {done} de {total} {total:plural:combinación|combinaciones} del sweep. Faltan ({n_missing}): "
                "{missing}.[[ Combinaciones fuera de la grilla: {outside}.]]"
            ),
            "en": (
                "{done} of {total} sweep {total:plural:combination is|combinations are} there. Missing "
                "({n_missing}): {missing}.[[ Combinations outside the grid: {outside}.]]"
            ),
        },
        "no_params": {
            "es": (
                "{n:plural:El único run no tiene|Ninguno de los {n} runs tiene} todos los params de la grilla "
                "({grid_params}).[[ Params encontrados: {params}.]]"
            ),
            "en": (
                "{n:plural:The only run does not have|None of the {n} runs has} all the grid's params "
                "({grid_params}).[[ Params found: {params}.]]"
            ),
        },
        "no_runs": {
            "es": "No hay runs terminados en «{experiment}» para revisar.",
            "en": "There are no finished runs in '{experiment}' to look at.",
        },
    },
    hint={
        "es": (
            "Un run por combinación de la grilla: un for por cada param de la grilla y, dentro de cada `with "
            "mlflow.start_run():`, mlflow.log_params(...) con esos valores. Los nombres de los params tienen que ser "
            "exactamente los de la grilla."
        ),
        "en": (
            "One run per combination of the grid: one for loop per param of the grid and, inside each `with "
            "mlflow.start_run():`, mlflow.log_params(...) with those values. The params must be named exactly as in "
            "the grid."
        ),
    },
)


@check(
    "exercise.sweep",
    settings={"max_depth": [3, 5, 10, 15, 20], "n_estimators": [50, 200], "grid": {}, "count_statuses": ["FINISHED"]},
    messages=("ok", "missing", "no_params", "no_runs"),
    texts=EXERCISE_SWEEP_TEXTS,
    needs=("runs",),
)
def exercise_sweep(ev: Evidence, s: Settings) -> Outcome:
    """Exercise 3: the counted runs cover every combination of the rubric's grid: the setting
    ``grid`` (``{learning_rate: [0.01, 0.1], max_depth: [3, 6]}``, any params and values), or
    class 195's ``max_depth`` x ``n_estimators`` ({3, 5, 10, 15, 20} x {50, 200}: 10 runs) when
    ``grid`` is empty. Values are compared as numbers when both are (``"10"``, ``"10.0"`` and
    ``10`` are the same), else as text; the message lists the missing combinations.

    Fix: loop over the grid and log one run per combination::

        for d in [3, 5, 10, 15, 20]:
            for n in [50, 200]:
                with mlflow.start_run(run_name=f"rf-d{d}-n{n}"):
                    mlflow.log_params({"max_depth": d, "n_estimators": n, "model_type": "RandomForestRegressor"})
                    ...
    """
    runs = counted_runs(ev, s)
    if not runs:
        return skipped("no_runs", experiment=ev.experiment_name)
    grid_setting = s.get("grid") or {"max_depth": s["max_depth"], "n_estimators": s["n_estimators"]}
    names = [str(k) for k in grid_setting]
    axes = [[_value(v) for v in grid_setting[k]] for k in grid_setting]
    grid = list(itertools.product(*axes))
    covered: dict[tuple, str] = {}
    with_params = 0
    for run in runs:
        if all(name in run.params for name in names):
            with_params += 1
            covered.setdefault(tuple(_value(run.params[name]) for name in names), run.label)
    if not with_params:
        found = sorted({k for r in runs for k in r.params})
        return failed("no_params", evidence={"params": found}, params=found[:15] or "-", n=len(runs), grid_params=names)

    def show(combo: tuple) -> str:
        return ", ".join(f"{name}={_text(v)}" for name, v in zip(names, combo, strict=True))

    missing = [show(c) for c in grid if c not in covered]
    extra = [f"({', '.join(_text(v) for v in c)})" for c in sorted(covered, key=str) if c not in grid]
    evidence = {
        "covered": {",".join(_text(v) for v in c): label for c, label in covered.items()},
        "missing": missing,
        "outside_grid": extra,
        "grid": {name: [_text(v) for v in axis] for name, axis in zip(names, axes, strict=True)},
    }
    described = " x ".join(
        f"{name} ({', '.join(_text(v) for v in axis)})" for name, axis in zip(names, axes, strict=True)
    )
    axis_texts = [[_text(v) for v in axis] for axis in axes]
    legacy: dict[str, Any] = {"depths": axis_texts[0], "sizes": axis_texts[1]} if len(axes) == 2 else {}
    done = len(grid) - len(missing)
    if missing:
        return failed(
            "missing",
            evidence=evidence,
            missing="; ".join(missing),
            n_missing=len(missing),
            done=done,
            total=len(grid),
            outside=extra or "-",
            grid=described,
        )
    return passed(evidence=evidence, total=len(grid), grid=described, **legacy)


def _value(value) -> float | str:
    """A grid value as compared: a number when it reads as one (``"10.0"`` is 10), else its text."""
    try:
        number = float(str(value).strip())
    except ValueError:
        return str(value).strip()
    return number if number == number else str(value).strip()  # NaN compares as its text


def _text(value: float | str) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:g}"
    return value

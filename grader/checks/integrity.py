"""Integrity checks: do the logged numbers and times tell the truth about the submission?

These never accuse: a mismatch says what was found and by how much, and names the innocent
explanation when the numbers are consistent with one (another train/test split, a clock).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from ..evidence.model import Evidence
from .base import Outcome, Settings, Texts, check, failed, passed, skipped, warned
from .registry import production_version

#: Times before this are not plausible for an MLflow run (ms since the epoch, 2015-01-01 UTC).
EARLIEST_MS = 1_420_070_400_000


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _close(a: float, b: float, rel: float, abs_: float) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def _implied_variance(rmse: float, r2: float) -> float | None:
    """Variance of y on the split the pair (rmse, r2) was computed on: r2 = 1 - rmse^2 / var(y)."""
    if not (_finite(rmse) and _finite(r2)) or r2 >= 1:
        return None
    return rmse * rmse / (1 - r2)


def _by(fail_or_warn: str, key: str, **kwargs) -> Outcome:
    return warned(key, **kwargs) if fail_or_warn == "warn" else failed(key, **kwargs)


#: integrity.metrics's default texts: a rubric overrides any of them, per key and language.
INTEGRITY_METRICS_TEXTS = Texts(
    title={
        "es": "Las métricas logueadas del modelo en {stage} coinciden con las recalculadas",
        "en": "The {stage} model's logged metrics match the recomputed ones",
    },
    messages={
        "ok": {
            "es": (
                "Recalculadas por el corrector sobre el split de test ({n_rows} filas), las métricas del run {run} "
                "coinciden (tolerancia relativa {rel_tol}), logueado vs recalculado: {compared}."
            ),
            "en": (
                "Recomputed by the grader on the test split ({n_rows} rows), the metrics of run {run} match "
                "(relative tolerance {rel_tol}), logged vs recomputed: {compared}."
            ),
        },
        "mismatch": {
            "es": (
                "Las métricas logueadas en el run {run} no coinciden con lo que da su modelo sobre el split de test "
                "de la tarea ({n_rows} filas), logueado vs recalculado: {compared}. La diferencia no se explica por "
                "otro split: ¿se loguearon métricas de otro modelo o de otro entrenamiento, o se editaron a mano?"
            ),
            "en": (
                "The metrics logged in run {run} do not match what its model gives on the task's test split "
                "({n_rows} rows), logged vs recomputed: {compared}. Another split does not explain the difference: "
                "were metrics of another model or another fit logged, or edited by hand?"
            ),
        },
        "other_split": {
            "es": (
                "Las métricas del run {run} difieren de las recalculadas sobre el split de la tarea ({compared}), "
                "pero son coherentes entre sí: parecen calculadas sobre otro split de test. No es un error grave."
            ),
            "en": (
                "The metrics of run {run} differ from those recomputed on the task's split ({compared}), but are "
                "consistent with each other: they look computed on another test split. Not a serious problem."
            ),
        },
        "logged_mse": {
            "es": (
                "El RMSE logueado en el run {run} ({rmse_logged}) es el cuadrado del recalculado "
                "({rmse_recomputed}): se logueó el MSE, no el RMSE."
            ),
            "en": (
                "The RMSE logged in run {run} ({rmse_logged}) is the square of the recomputed one "
                "({rmse_recomputed}): the MSE was logged, not the RMSE."
            ),
        },
        "not_logged": {
            "es": "No se puede comparar: el run {run} no tiene {metrics} como número.",
            "en": "Cannot compare: run {run} has no numeric {metrics}.",
        },
        "no_test_metrics": {
            "es": (
                "No se comparó: el corrector no recalculó las métricas del modelo en esta corrida (el probe no "
                "devolvió test_metrics)."
            ),
            "en": (
                "Not compared: the grader did not recompute the model's metrics in this run (the probe returned no "
                "test_metrics)."
            ),
        },
        "not_probed": {
            "es": "No se comparó: el modelo no se probó en esta corrida (probe desactivado).",
            "en": "Not compared: the model was not probed in this run (probe disabled).",
        },
        "probe_failed": {
            "es": (
                "No se comparó: el modelo en {stage} no pudo cargarse o predecir ({error}); ver el control "
                "model.predict."
            ),
            "en": "Not compared: the {stage} model could not be loaded or predict ({error}); see check model.predict.",
        },
        "no_production": {
            "es": "No se comparó: «{model_name}» no tiene versión en {stage}.",
            "en": "Not compared: '{model_name}' has no version in {stage}.",
        },
        "no_run": {
            "es": "No se comparó: la versión {version} apunta al run {run_id}, que no está en el experimento.",
            "en": "Not compared: version {version} points at run {run_id}, which is not in the experiment.",
        },
    },
    hint={
        "es": (
            "Calculá las métricas con el mismo modelo que logueás y sobre el split de test de la tarea, y logueálas "
            "tal como salen (un RMSE es la raíz del MSE). Nunca edites valores logueados a mano."
        ),
        "en": (
            "Compute the metrics with the same model you log and on the task's test split, and log them as they come "
            "(an RMSE is the root of the MSE). Never edit logged values by hand."
        ),
    },
)


@check(
    "integrity.metrics",
    settings={"rel_tol": 0.001, "abs_tol": 1e-6, "split_variance_tol": 0.08, "severity": "fail"},
    messages=(
        "ok",
        "mismatch",
        "other_split",
        "logged_mse",
        "not_logged",
        "no_test_metrics",
        "not_probed",
        "probe_failed",
        "no_production",
        "no_run",
    ),
    texts=INTEGRITY_METRICS_TEXTS,
    needs=("runs", "registry", "probe", "test_split"),
)
def integrity_metrics(ev: Evidence, s: Settings) -> Outcome:
    """The Production run's logged metrics that the rubric's task names (class 195: ``rmse_test``
    and ``r2_test``) match what the Production model gives when the sandboxed probe predicts the
    task's whole test split (class 195: California Housing, ``train_test_split(X, y,
    test_size=0.2, random_state=42)``, 4,128 rows), within a relative tolerance ``rel_tol``. The
    texts get ``{compared}`` (every metric, logged vs recomputed) and ``{mismatched}``; with an
    ``rmse`` and an ``r2`` measure also ``{rmse_logged}``, ``{r2_pct}``... When both differ but the
    pair (rmse, r2) is consistent with a test set
    like the canonical one (the variance of y it implies, ``rmse**2 / (1 - r2)``, within
    ``split_variance_tol`` of the canonical one: random splits agree within a few %), the message says
    the metrics were probably computed on another split (a warning, not a failure). Logging the
    MSE as ``rmse_test`` is recognised. Skipped when the probe did not recompute the metrics.

    Fix: compute the metrics of the model you log, on the split of the course, and log them as
    they come: ``Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=42)``,
    ``rmse = np.sqrt(mean_squared_error(yte, model.predict(Xte)))``,
    ``mlflow.log_metric("rmse_test", rmse)``, ``mlflow.log_metric("r2_test", r2_score(yte, ...))``.
    Never edit logged values by hand.
    """
    version = production_version(ev, s)
    if version is None:
        return skipped("no_production", model_name=s["model_name"], stage=s["stage"])
    probe = ev.probe
    if probe is None:
        return skipped("not_probed")
    if not probe.ok:
        return skipped("probe_failed", error=probe.error or "?")
    recomputed = probe.details.get("test_metrics")
    if not isinstance(recomputed, dict):
        return skipped("no_test_metrics")
    measures = recomputed.get("measures") or {"rmse_test": "rmse", "r2_test": "r2"}
    names = [k for k in measures if k in recomputed]
    if not names or not all(_finite(recomputed.get(k)) for k in names):
        return skipped("no_test_metrics")
    run = ev.run(version.run_id)
    if run is None:
        return skipped("no_run", version=version.version, run_id=version.run_id or "-")
    logged = {k: run.metrics.get(k) for k in names}
    lacking = [k for k in names if not _finite(logged[k])]
    if lacking:
        return skipped("not_logged", run=run.label, metrics=lacking)
    rel, abs_ = float(s["rel_tol"]), float(s["abs_tol"])
    n_rows = recomputed.get("n_rows", "?")
    diffs: dict[str, dict[str, float]] = {}
    for k in names:
        value = logged[k]
        assert value is not None  # _finite: not lacking
        lg, rc = float(value), float(recomputed[k])
        diffs[k] = {"logged": lg, "recomputed": rc, "diff": lg - rc, "rel": (lg - rc) / abs(rc) if rc else math.inf}
    ok = {k: _close(d["logged"], d["recomputed"], rel, abs_) for k, d in diffs.items()}
    evidence = {
        "run_id": run.run_id,
        "version": version.version,
        "n_rows": n_rows,
        "metrics": {k: {kk: round(vv, 6) if _finite(vv) else None for kk, vv in d.items()} for k, d in diffs.items()},
    }
    params: dict[str, Any] = {
        "run": run.label,
        "version": version.version,
        "n_rows": n_rows,
        "rel_tol": f"{rel:g}",
        # every metric of the task, for a rubric's own texts: "accuracy_test 0.9510 vs 0.9580 (-0.73%)"
        "compared": "; ".join(
            f"{k} {d['logged']:.4f} vs {d['recomputed']:.4f} ({_pct(d['rel'])})" for k, d in diffs.items()
        ),
        "mismatched": [k for k in names if not ok[k]],
    }
    # rmse_logged, r2_pct...: the texts of regression rubrics (whatever the logged names are)
    by_measure = {m: k for k, m in measures.items() if k in diffs}
    for measure in ("rmse", "r2"):
        if measure in by_measure:
            d = diffs[by_measure[measure]]
            params.update(
                {
                    f"{measure}_logged": f"{d['logged']:.4f}",
                    f"{measure}_recomputed": f"{d['recomputed']:.4f}",
                    f"{measure}_diff": f"{d['diff']:+.4f}",
                    f"{measure}_pct": _pct(d["rel"]),
                }
            )
    if all(ok.values()):
        return passed(evidence=evidence, **params)
    severity = str(s["severity"])
    if "rmse" in by_measure:
        rmse = diffs[by_measure["rmse"]]
        if not ok[by_measure["rmse"]] and _close(rmse["logged"], rmse["recomputed"] ** 2, rel, abs_):
            return _by(severity, "logged_mse", evidence=evidence, **params)
        if "r2" in by_measure and not any(ok.values()):
            r2 = diffs[by_measure["r2"]]
            v_logged = _implied_variance(rmse["logged"], r2["logged"])
            v_canonical = _implied_variance(rmse["recomputed"], r2["recomputed"])
            if v_logged and v_canonical:
                ratio = v_logged / v_canonical
                evidence["variance_ratio"] = round(ratio, 4)
                if abs(ratio - 1) <= float(s["split_variance_tol"]):
                    return warned("other_split", evidence=evidence, **params)
    return _by(severity, "mismatch", evidence=evidence, **params)


def _pct(rel: float) -> str:
    return f"{100 * rel:+.2f}%" if math.isfinite(rel) else "-"


def _some(items: list[str], most: int = 8) -> str:
    return "; ".join(items[:most]) + (f"; ... (+{len(items) - most})" if len(items) > most else "")


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    try:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return str(ms)


#: integrity.timeline's default texts: a rubric overrides any of them, per key and language.
INTEGRITY_TIMELINE_TEXTS = Texts(
    title={
        "es": "Fechas de los runs plausibles (y antes de la fecha límite, si hay)",
        "en": "Plausible run times (and before the deadline, if any)",
    },
    messages={
        "ok": {
            "es": (
                "{n:plural:La única fecha (de un run o una versión) es plausible|Las {n} fechas de runs y versiones "
                "son plausibles}; la última es {latest}."
            ),
            "en": (
                "{n:plural:The only run or version time is|All {n} run and version times are} plausible; the latest "
                "is {latest}."
            ),
        },
        "ok_deadline": {
            "es": (
                "{n:plural:La única fecha (de un run o una versión) es plausible y anterior|Las {n} fechas de runs y "
                "versiones son plausibles y anteriores} a la fecha límite ({deadline}); la última es {latest}."
            ),
            "en": (
                "{n:plural:The only run or version time is|All {n} run and version times are} plausible and before "
                "the deadline ({deadline}); the latest is {latest}."
            ),
        },
        "implausible": {
            "es": (
                "{n} {n:plural:fecha no plausible|fechas no plausibles}: {problems}. ¿El reloj de la computadora "
                "estaba mal, o se editaron a mano?"
            ),
            "en": (
                "{n} implausible {n:plural:time|times}: {problems}. Was the computer's clock wrong, or were they "
                "edited by hand?"
            ),
        },
        "late": {
            "es": "{n} {n:plural:cambio|cambios} después de la fecha límite ({deadline}): {problems}.",
            "en": "{n} {n:plural:change|changes} after the deadline ({deadline}): {problems}.",
        },
        "no_runs": {
            "es": "No hay runs en «{experiment}» para revisar.",
            "en": "There are no runs in '{experiment}' to look at.",
        },
        "bad_deadline": {
            "es": "La fecha límite de la rúbrica ({deadline}) no se entiende: {error}. Avisá al docente.",
            "en": "The rubric's deadline ({deadline}) cannot be read: {error}. Tell the instructor.",
        },
    },
    hint={
        "es": (
            "Hacé los runs y el registro antes de la fecha límite y entregá el store como quedó; no edites "
            "start_time/end_time a mano. Si el reloj de tu computadora está mal, corregilo y volvé a correr el "
            "notebook, o avisá al docente."
        ),
        "en": (
            "Make the runs and the registry changes before the deadline and hand in the store as it was; do not edit "
            "start_time/end_time by hand. If your computer's clock is wrong, fix it and rerun the notebook, or tell "
            "the instructor."
        ),
    },
)


@check(
    "integrity.timeline",
    settings={"severity": "warn", "clock_skew_minutes": 10, "deadline": None},
    messages=("ok", "ok_deadline", "implausible", "late", "no_runs", "bad_deadline"),
    texts=INTEGRITY_TIMELINE_TEXTS,
    needs=("runs", "registry"),
)
def integrity_timeline(ev: Evidence, s: Settings) -> Outcome:
    """Runs have plausible times (an end not before the start, nothing before 2015 nor in the
    future beyond ``clock_skew_minutes``), and, when a deadline is given (``grade --deadline
    2026-06-30T23:59``, or the setting ``deadline``), no run started or ended and no registry
    change (a model version created, or updated: stage transitions and alias moves update it)
    happened after it. Reported as ``severity`` (warn by default: a clock can be wrong).

    Fix: do the work before the deadline and hand in the store as it was then; do not edit
    ``start_time``/``end_time`` by hand. If your computer's clock is wrong, fix it and rerun the
    notebook, or tell the instructor.
    """
    deadline = ev.deadline_ms
    if deadline is None and s.get("deadline") not in (None, ""):
        from ..deadline import parse_deadline

        try:
            deadline = parse_deadline(s["deadline"])
        except ValueError as exc:
            return Outcome("error", "bad_deadline", {"deadline": str(s["deadline"]), "error": str(exc)})
    now = ev.graded_at_ms
    skew = int(float(s["clock_skew_minutes"]) * 60_000)
    odd: list[str] = []
    stamps = []  # (label, kind, ms)
    for run in ev.runs:
        start, end = run.start_time, run.end_time
        if start is not None and end is not None and end < start:
            odd.append(f"{run.label}: end_time {_when(end)} < start_time {_when(start)}")
        for what, ms in (("start_time", start), ("end_time", end)):
            if ms is not None:
                stamps.append((run.label, what, ms))
        if run.status.upper() == "FINISHED" and start is None:
            odd.append(f"{run.label}: start_time = None")
    for model in ev.registered_models:
        if model.name != s["model_name"]:
            continue
        for v in model.versions:
            for what, ms in (
                ("creation_timestamp", v.creation_timestamp),
                ("last_updated_timestamp", v.last_updated_timestamp),
            ):
                if ms is not None:
                    stamps.append((f"{v.name} v{v.version}", what, ms))
    latest_by_label: dict[str, tuple[str, int]] = {}
    for label, what, ms in stamps:
        if ms < EARLIEST_MS:
            odd.append(f"{label}: {what} {_when(ms)} < 2015")
        elif now is not None and ms > now + skew:
            odd.append(f"{label}: {what} {_when(ms)} > {_when(now)}")
        elif deadline is not None and ms > deadline and ms >= latest_by_label.get(label, ("", -1))[1]:
            latest_by_label[label] = (what, ms)
    late = [
        f"{label}: {what} {_when(ms)}" for label, (what, ms) in sorted(latest_by_label.items(), key=lambda i: -i[1][1])
    ]
    if not ev.runs and not stamps:
        return skipped("no_runs", experiment=ev.experiment_name)
    severity = str(s["severity"])
    evidence = {"implausible": odd, "after_deadline": late, "deadline_ms": deadline}
    latest = max((ms for _, _, ms in stamps), default=None)
    common = {"deadline": _when(deadline), "latest": _when(latest)}
    if odd:
        return _by(severity, "implausible", evidence=evidence, n=len(odd), problems=_some(odd), **common)
    if late:
        return _by(severity, "late", evidence=evidence, n=len(late), problems=_some(late), **common)
    return passed("ok" if deadline is None else "ok_deadline", evidence=evidence, n=len(stamps), **common)

"""Checks on the Production model itself, loaded and run by the sandboxed probe."""

from __future__ import annotations

import math
from typing import Any

from ..evidence.model import Evidence
from .base import Outcome, Settings, Texts, check, errored, failed, passed, skipped
from .registry import production_version

#: Probe failures that are the grader's or the machine's, not the student's.
_GRADER_SIDE = {"timeout", "crash", "internal"}


#: model.predict's default texts: a rubric overrides any of them, per key and language.
MODEL_PREDICT_TEXTS = Texts(
    title={
        "es": "El modelo en {stage} carga y predice {rows} filas de test",
        "en": "The {stage} model loads and predicts {rows} test rows",
    },
    messages={
        "ok": {
            "es": (
                "El modelo en {stage} cargó desde la entrega y predijo {rows} {rows:plural:fila|filas} de test: "
                "{predictions}. Hecho con {made_with}; corregido con {graded_with}."
            ),
            "en": (
                "The {stage} model loaded from the submission and predicted {rows} test {rows:plural:row|rows}: "
                "{predictions}. Made with {made_with}; graded with {graded_with}."
            ),
        },
        "bad_output": {
            "es": "El modelo cargó pero devolvió {n} valores ({predictions}); se esperaban {rows} números finitos.",
            "en": "The model loaded but returned {n} values ({predictions}); {rows} finite numbers were expected.",
        },
        "missing_model": {
            "es": "No encontré en la entrega los archivos del modelo en {stage}: {error}",
            "en": "The {stage} model's files are not in the submission: {error}",
        },
        "load_failed": {
            "es": (
                "El modelo en {stage} no se pudo cargar o no predijo: {error}. Hecho con {made_with}; corregido con "
                "{graded_with}."
            ),
            "en": (
                "The {stage} model could not be loaded or did not predict: {error}. Made with {made_with}; graded "
                "with {graded_with}."
            ),
        },
        "refused": {
            "es": "El modelo no se cargó por seguridad: {error}",
            "en": "The model was not loaded, for safety: {error}",
        },
        "probe_error": {
            "es": "No se pudo probar el modelo: {error}",
            "en": "The model could not be probed: {error}",
        },
        "unsupported": {
            "es": "El corrector no puede cargar este modelo donde corre ({error}). No es culpa tuya: avisale al "
            "docente.",
            "en": "The grader cannot load this model where it runs ({error}). Not your fault: tell the instructor.",
        },
        "sandbox": {
            "es": (
                "El entorno aislado del corrector no dejó al modelo hacer algo que necesita ({error}). No es culpa "
                "tuya: avisá al docente."
            ),
            "en": (
                "The grader's sandbox refused something the model needs ({error}). Not your fault: tell the instructor."
            ),
        },
        "no_production": {
            "es": "No se puede probar: «{model_name}» no tiene versión en {stage}.",
            "en": "Cannot probe: '{model_name}' has no version in {stage}.",
        },
        "not_probed": {
            "es": "El modelo no se probó en esta corrida (probe desactivado).",
            "en": "The model was not probed in this run (probe disabled).",
        },
    },
    hint={
        "es": (
            'En una celda nueva: model = mlflow.pyfunc.load_model("models:/{model_name}/{stage}"); '
            "model.predict(X_test.head({rows})). Logueá el modelo con mlflow.sklearn.log_model y entregá mlruns/ "
            "completo (con artefactos)."
        ),
        "en": (
            'In a new cell: model = mlflow.pyfunc.load_model("models:/{model_name}/{stage}"); '
            "model.predict(X_test.head({rows})). Log the model with mlflow.sklearn.log_model and hand in the whole "
            "mlruns/ folder (with artifacts)."
        ),
    },
)


@check(
    "model.predict",
    settings={"rows": 5},
    messages=(
        "ok",
        "bad_output",
        "missing_model",
        "load_failed",
        "refused",
        "probe_error",
        "unsupported",
        "sandbox",
        "no_production",
        "not_probed",
    ),
    texts=MODEL_PREDICT_TEXTS,
    needs=("registry", "probe"),
)
def model_predict(ev: Evidence, s: Settings) -> Outcome:
    """The Production version's model, loaded from the submission itself (never from a path on
    the grading machine), predicts ``rows`` rows of the rubric's test split (class 195: California
    Housing, ``test_size=0.2, random_state=42``) and returns that many finite numbers (a label
    each, number or text, when the task is a classification).

    Fix: load ``mlflow.pyfunc.load_model("models:/housing-best/Production")`` in a fresh notebook
    and predict ``X_test.head(5)``; log the model with ``mlflow.sklearn.log_model`` and hand in
    its artifacts (the whole ``mlruns/`` folder).
    """
    if production_version(ev, s) is None:
        return skipped("no_production", model_name=s["model_name"], stage=s["stage"])
    probe = ev.probe
    if probe is None:
        return skipped("not_probed")
    made = ", ".join(f"{k} {v}" for k, v in sorted(probe.made_with.items())) or "-"
    graded = ", ".join(f"{k} {v}" for k, v in sorted(probe.graded_with.items())) or "-"
    evidence = {
        "model_path": probe.model_path,
        "made_with": probe.made_with,
        "graded_with": probe.graded_with,
        "probe_ms": round(probe.duration_ms, 1),
        **probe.details,
    }
    common: dict[str, Any] = {"made_with": made, "graded_with": graded, "rows": int(s["rows"])}
    if not probe.ok:
        error = probe.error or "?"
        if probe.error_kind == "missing":
            return failed("missing_model", evidence=evidence, error=error, **common)
        if probe.error_kind == "refused":
            return failed("refused", evidence=evidence, error=error, **common)
        if probe.error_kind == "unsupported":  # a flavour whose library the grader lacks: the instructor's to fix
            return errored("unsupported", evidence=evidence, error=error, **common)
        if probe.error_kind == "sandbox":  # the probe's sandbox refused something: the grader's problem
            return errored("sandbox", evidence=evidence, error=error, **common)
        if probe.error_kind in _GRADER_SIDE:
            return errored("probe_error", evidence=evidence, error=error, **common)
        return failed("load_failed", evidence=evidence, error=error, **common)
    preds = probe.predictions
    if s.get("task_kind") == "classification":  # a label each: a number or a text, never nothing
        usable = [p for p in preds if p is not None and str(p).strip() != "" and not _nan(p)]
    else:
        usable = [p for p in preds if isinstance(p, (int, float)) and not isinstance(p, bool) and math.isfinite(p)]
    evidence["predictions"] = preds
    shown = [
        f"{p:.3f}" if isinstance(p, float) and s.get("task_kind") != "classification" else str(p) for p in preds[:10]
    ]
    if len(preds) != int(s["rows"]) or len(usable) != len(preds):
        return failed("bad_output", evidence=evidence, n=len(preds), predictions=shown, **common)
    return passed(evidence=evidence, predictions=shown, **common)


def _nan(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)

"""The texts a user reads outside a check's own messages, in every language the grader speaks.

One catalogue: each key has a Spanish and an English text with ``{placeholders}``. Code names a
key (``text("store.graded", lang, path=...)``); nothing user-facing is written twice. Check
messages live beside their checks in the rubric; these are the grader's own words: why a
submission cannot be graded, which store was graded, labels of reports.
"""

from __future__ import annotations

from typing import Any

from .rubric import LANGS, render

MESSAGES: dict[str, dict[str, str]] = {
    # grade --demo: what it is doing while it builds the reference submission.
    "demo.building": {
        "es": "Armando la entrega de referencia en {path} (la tarea completa con MLflow: unos 30 s)...",
        "en": "Building the reference submission in {path} (the whole homework with MLflow: about 30 s)...",
    },
    "demo.step.run": {
        "es": "[{done}/{total}] entrenando y logueando el run {name}",
        "en": "[{done}/{total}] training and logging run {name}",
    },
    "demo.step.register": {
        "es": "registrando el mejor run como «{model_name}» y pasándolo a Production",
        "en": "registering the best run as '{model_name}' and moving it to Production",
    },
    "demo.step.predict": {
        "es": "cargando models:/{model_name}/Production y prediciendo 5 filas",
        "en": "loading models:/{model_name}/Production and predicting 5 rows",
    },
    "demo.step.notebook": {
        "es": "guardando el notebook homework-195.ipynb con sus salidas",
        "en": "saving the notebook homework-195.ipynb with its outputs",
    },
    "demo.grading": {"es": "Corrigiendo la entrega de referencia...", "en": "Grading the reference submission..."},
    "demo.kept": {
        "es": "La entrega de la demo queda en {path} (--keep): corregila de nuevo con grade {path}",
        "en": "The demo's submission is kept in {path} (--keep): grade it again with grade {path}",
    },
    "demo.no_report": {
        "es": "No se escribió ningún informe: grade --demo --out CARPETA escribe report.html y report.json en CARPETA.",
        "en": "No report was written: grade --demo --out DIR writes report.html and report.json into DIR.",
    },
    # The last line of a class graded with --batch or --students.
    "batch.done": {
        "es": "Se corrigieron {n} {n:plural:entrega|entregas} en {seconds} s ({jobs} {jobs:plural:proceso|procesos} a la vez): "
              "{passed} {passed:plural:aprobó|aprobaron}, {failed} no {failed:plural:aprobó|aprobaron} y {errors} no se "
              "{errors:plural:pudo|pudieron} corregir[[; {copies} {copies:plural:posible copia|posibles copias}]].",
        "en": "Graded {n} {n:plural:submission|submissions} in {seconds} s ({jobs} {jobs:plural:job|jobs}): {passed} passed, "
              "{failed} failed, {errors} could not be graded[[; {copies} suspected {copies:plural:copy|copies}]].",
    },
    "class.done": {
        "es": "Se corrigieron {n} {n:plural:estudiante|estudiantes} en {seconds} s: {passed} {passed:plural:aprobó|aprobaron}, "
              "{failed} no {failed:plural:aprobó|aprobaron} y {errors} no se {errors:plural:pudo|pudieron} corregir.",
        "en": "Graded {n} {n:plural:student|students} in {seconds} s: {passed} passed, {failed} failed, "
              "{errors} could not be graded.",
    },
    # The terminal summary with --failures-only.
    "text.passed_hidden": {
        "es": "(y {n} {n:plural:control aprobado|controles aprobados}, sin mostrar por --failures-only)",
        "en": "(and {n} passed {n:plural:check|checks}, not shown because of --failures-only)",
    },
    # A check skipped because another one did not pass (grader.checks.evaluate).
    "skip.after": {
        "es": "Se omitió porque no pasó {check}: arreglá eso primero.",
        "en": "Skipped because {check} did not pass: fix that first.",
    },
    # Submissions that cannot be graded (exit 2).
    "artifacts_without_runs": {
        "es": "{where} tiene solo los artefactos de MLflow (modelos en {folder}/), sin los runs: falta el archivo "
              "{db} que los registra. Entregá {db} junto con {folder}/ (la carpeta donde corriste el notebook los tiene a los dos).",
        "en": "{where} holds only MLflow's artifacts (models in {folder}/), without the runs: the {db} file that records "
              "them is missing. Hand in {db} together with {folder}/ (the folder you ran the notebook in has both).",
    },
    # Partial hand-ins that can be graded: said once in the report's notes.
    "runs_without_artifacts": {
        "es": "{db} registra {n} runs, pero la entrega no trae sus artefactos (la carpeta {folder}/ con los modelos): "
              "entregá también {folder}/, la que está junto a {db}.",
        "en": "{db} records {n} runs, but the submission does not hold their artifacts (the {folder}/ folder with the "
              "models): hand in {folder}/ too, the one beside {db}.",
    },
    # Several stores in one hand-in.
    "store.graded": {
        "es": "Se encontraron {n} stores de MLflow; se corrigió {graded} ({why}). Los otros: {others}. Para elegir otro: grade --store RUTA.",
        "en": "{n} MLflow stores were found; {graded} was graded ({why}). The others: {others}. To pick another: grade --store PATH.",
    },
    "store.why.experiment": {
        "es": "tiene el experimento «{experiment}» con {runs} runs",
        "en": "it holds experiment '{experiment}' with {runs} runs",
    },
    "store.why.runs": {
        "es": "ninguno tiene el experimento «{experiment}»; es el que tiene más runs ({runs})",
        "en": "none holds experiment '{experiment}'; it has the most runs ({runs})",
    },
    "store.why.chosen": {"es": "elegido con --store", "en": "chosen with --store"},
    "store.summary": {"es": "{path} ({experiments})", "en": "{path} ({experiments})"},
    "store.no_runs": {"es": "sin runs", "en": "no runs"},
    "store.experiment_runs": {"es": "«{name}»: {runs} runs", "en": "'{name}': {runs} runs"},
    # Labels of the store line in reports.
    "label.store": {"es": "Store", "en": "Store"},
    "label.layout": {"es": "formato de artefactos", "en": "artifact layout"},
    "label.layout.2.x": {"es": "artefactos en el run (MLflow 1.x/2.x)", "en": "run artifacts (MLflow 1.x/2.x)"},
    "label.layout.3.x": {"es": "LoggedModels (MLflow 3.x)", "en": "LoggedModels (MLflow 3.x)"},
    "label.layout.unknown": {"es": "desconocido", "en": "unknown"},
    "label.written_by": {"es": "escrito con MLflow {version}", "en": "written by MLflow {version}"},
    "label.version_unknown": {"es": "versión de MLflow desconocida", "en": "MLflow version unknown"},
    "label.schema": {"es": "esquema de base de datos {revision}", "en": "database schema {revision}"},
    "label.required": {"es": "obligatorio", "en": "required"},
    "label.extra": {"es": "extra", "en": "extra"},
    "label.warn": {"es": "avisos", "en": "warnings"},
    "label.extra_legend": {
        "es": "extra: suma puntos pero no decide la aprobación (la aprobación sigue a los puntos obligatorios).",
        "en": "extra: earns points but does not decide the pass (the pass follows the required checks).",
    },
}


def text(key: str, lang: str = "es", **params: Any) -> str:
    """The catalogue's text for ``key`` in ``lang`` (falling back to English), placeholders filled."""
    texts = MESSAGES[key]
    return render(texts.get(lang) or texts["en"], params)


def languages_complete() -> list[str]:
    """Keys missing a language (a test keeps this empty)."""
    return [f"{key}:{lang}" for key, texts in MESSAGES.items() for lang in LANGS if not texts.get(lang)]


def store_description(submission: Any, lang: str = "es") -> str:
    """How reports describe the graded store: its kind, its artifact layout, and the MLflow
    version that wrote it (or its database schema, or "unknown"), e.g. ``sqlite, run artifacts
    (MLflow 1.x/2.x), written by MLflow 1.26.1``."""
    layout = getattr(submission, "mlflow_layout", "unknown")
    parts = [str(getattr(submission, "store", "")), text(f"label.layout.{layout}" if f"label.layout.{layout}" in MESSAGES
                                                           else "label.layout.unknown", lang)]
    version = getattr(submission, "mlflow_version", "")
    revision = getattr(submission, "schema_revision", "")
    if version:
        parts.append(text("label.written_by", lang, version=version))
    elif revision:
        parts.append(text("label.schema", lang, revision=revision))
    else:
        parts.append(text("label.version_unknown", lang))
    return ", ".join(p for p in parts if p)

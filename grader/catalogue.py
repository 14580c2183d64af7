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

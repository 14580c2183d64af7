"""The texts a user reads outside a check's own messages, in every language the grader speaks.

One catalogue: each key has a Spanish and an English text with ``{placeholders}``. Code names a
key (``text("store.graded", lang, path=...)``); nothing user-facing is written twice. Check
messages live beside their checks in the rubric; these are the grader's own words: why a
submission cannot be graded, which store was graded, labels of reports.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
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
    # What a student sees instead of a hidden check's title and message (grader.result.CheckResult.masked).
    "hidden.title": {"es": "Control oculto {n}", "en": "Hidden check {n}"},
    "hidden.message": {
        "es": "Este control es oculto: cuenta en el total ({max} puntos), pero su contenido no se muestra.",
        "en": "This check is hidden: it counts toward the total ({max} points), but its content is not shown.",
    },
    # grade rubric init --from REFERENCE (grader.cli_rubric)
    "rubric.init.exists": {
        "es": "{path} ya existe: elegí otro --out (no se escribió nada)",
        "en": "{path} exists already: give another --out (nothing was written)",
    },
    "rubric.init.wrote": {
        "es": "Escribí {path}: editala y corregí con grade ENTREGA --rubric {path}",
        "en": "Wrote {path}: edit it, then grade SUBMISSION --rubric {path}",
    },
    "rubric.init.fill_in": {
        "es": "grade rubric init: aviso: {error} (completá los valores REPLACE-ME)",
        "en": "grade rubric init: note: {error} (fill in the REPLACE-ME values)",
    },
    "demo.no_reference": {
        "es": "la rúbrica {rubric} no tiene una entrega de referencia para --demo (la tienen: {demos})",
        "en": "rubric {rubric} has no reference submission for --demo (these do: {demos})",
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
        "{errors:plural:pudo|pudieron} corregir[[; {warned} con avisos]][[; {late} con descuento por atraso]]"
        "[[; {copies} {copies:plural:posible copia|posibles copias}]].",
        "en": "Graded {n} {n:plural:submission|submissions} in {seconds} s ({jobs} {jobs:plural:job|jobs}): {passed} passed, "
        "{failed} failed, {errors} could not be graded[[; {warned} with warnings]][[; {late} lost points for lateness]]"
        "[[; {copies} suspected {copies:plural:copy|copies}]].",
    },
    "class.done": {
        "es": "Se corrigieron {n} {n:plural:estudiante|estudiantes} en {seconds} s: {passed} {passed:plural:aprobó|aprobaron}, "
        "{failed} no {failed:plural:aprobó|aprobaron} y {errors} no se {errors:plural:pudo|pudieron} corregir"
        "[[; {warned} con avisos]][[; {late} con descuento por atraso]].",
        "en": "Graded {n} {n:plural:student|students} in {seconds} s: {passed} passed, {failed} failed, "
        "{errors} could not be graded[[; {warned} with warnings]][[; {late} lost points for lateness]].",
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
    # The rubric's late policy (grader.deadline): the note a late submission's report shows.
    "late.note": {
        "es": "Entrega tardía: el último cambio del store ({latest}) es {days} {days:plural:día|días} después del plazo "
        "({after}). Se {penalty:plural:descuenta|descuentan} {penalty} {penalty:plural:punto|puntos} ({rule}): "
        "{before} → {score} de {max_score}.",
        "en": "Late: the store's last change ({latest}) is {days} {days:plural:day|days} after the deadline ({after}). "
        "{penalty} {penalty:plural:point is|points are} taken off ({rule}): {before} → {score} of {max_score}.",
    },
    "late.rule": {
        "es": "{per_day} por día de atraso[[, como máximo {max}]][[, con {grace} min de gracia]]",
        "en": "{per_day} per day late[[, at most {max}]][[, after {grace} minutes of grace]]",
    },
    "late.points": {"es": "{n} {n:plural:punto|puntos}", "en": "{n} {n:plural:point|points}"},
    # Classroom and Classroom 50 add up their rows: a row that gives up points to the penalty says so.
    "late.cut": {
        "es": "Descuento por entrega tardía: -{n} {n:plural:punto|puntos}.",
        "en": "Late penalty: -{n} {n:plural:point|points}.",
    },
    "late.percent": {"es": "{n}% del total", "en": "{n}% of the total"},
    # Beside the score when the late policy took points: why the checks' points add up to more.
    "late.breakdown": {
        "es": "{checks} de los controles − {penalty} por entrega tardía",
        "en": "{checks} from the checks − {penalty} late penalty",
    },
    "label.extra_legend": {
        "es": "extra: suma puntos pero no decide la aprobación (la aprobación sigue a los puntos obligatorios).",
        "en": "extra: earns points but does not decide the pass (the pass follows the required checks).",
    },
    # Labels of the HTML report (grader.reports.html).
    "html.report": {"es": "Reporte de corrección", "en": "Grading report"},
    "html.score": {"es": "Puntaje", "en": "Score"},
    "html.passed": {"es": "Aprobado", "en": "Passed"},
    "html.failed": {"es": "No aprobado", "en": "Not passed"},
    "html.checks_passed": {"es": "{n} de {total} criterios cumplidos", "en": "{n} of {total} checks passed"},
    "html.submission": {"es": "Entrega", "en": "Submission"},
    "html.input": {"es": "Entrada", "en": "Input"},
    "html.store": {"es": "Store", "en": "Store"},
    "html.layout": {"es": "Formato y versión", "en": "Layout and version"},
    "html.experiment": {"es": "Experimento", "en": "Experiment"},
    "html.notes": {"es": "Notas", "en": "Notes"},
    "html.checks": {"es": "Criterios de la rúbrica", "en": "Rubric checks"},
    "html.check": {"es": "Criterio", "en": "Check"},
    "html.status": {"es": "Estado", "en": "Status"},
    "html.points": {"es": "Puntos", "en": "Points"},
    "html.found": {"es": "Qué se encontró", "en": "What was found"},
    "html.fix": {"es": "Cómo arreglarlo", "en": "How to fix"},
    "html.evidence": {"es": "Evidencia", "en": "Evidence"},
    "html.hidden": {"es": "oculto", "en": "hidden"},
    "html.hidden_title": {
        "es": "Criterio oculto: el estudiante no ve este detalle",
        "en": "Hidden check: students do not see this detail",
    },
    "html.runs": {"es": "Runs del experimento", "en": "Runs of the experiment"},
    "html.runs_order": {
        "es": "En el orden de search_runs (por {metric} ascendente).",
        "en": "In search_runs order (by {metric} ascending).",
    },
    "html.rank": {"es": "#", "en": "#"},
    "html.run_name": {"es": "Run", "en": "Run"},
    "html.run_id": {"es": "Run ID", "en": "Run ID"},
    "html.run_status": {"es": "Estado", "en": "Status"},
    "html.model_type": {"es": "model_type", "en": "model_type"},
    "html.has_model": {"es": "Modelo", "en": "Model"},
    "html.yes": {"es": "sí", "en": "yes"},
    "html.no": {"es": "no", "en": "no"},
    "html.best": {"es": "mejor", "en": "best"},
    "html.best_title": {
        "es": "Primer run de search_runs por {metric} {order}",
        "en": "First run of search_runs by {metric} {order}",
    },
    "html.production": {"es": "Production", "en": "Production"},
    "html.production_title": {"es": "Run de la versión en Production", "en": "Run of the Production version"},
    "html.not_counted": {"es": "no cuenta", "en": "not counted"},
    "html.not_counted_title": {
        "es": "Este run no cuenta (no terminó como FINISHED)",
        "en": "This run does not count (it did not end as FINISHED)",
    },
    "html.no_runs": {"es": "No hay runs para mostrar.", "en": "There are no runs to show."},
    "html.chart": {"es": "{metric} por run", "en": "{metric} per run"},
    "html.chart_note": {
        "es": "Barras más cortas son mejores; la del mejor run está resaltada.",
        "en": "Shorter bars are better; the best run's bar is highlighted.",
    },
    "html.no_value": {"es": "sin valor", "en": "no value"},
    "html.more": {"es": "… y {n} más", "en": "… and {n} more"},
    "html.grader": {"es": "Corregido con mlflow-grader {version}", "en": "Graded with mlflow-grader {version}"},
    "html.rubric": {"es": "rúbrica {id}", "en": "rubric {id}"},
    "html.took": {"es": "en {seconds} s", "en": "in {seconds} s"},
    "html.pass": {"es": "aprobado", "en": "pass"},
    "html.warn": {"es": "aviso", "en": "warning"},
    "html.fail": {"es": "falla", "en": "fail"},
    "html.skip": {"es": "omitido", "en": "skipped"},
    "html.error": {"es": "error", "en": "error"},
    # Labels of the terminal summary (grader.reports.text).
    "text.score": {"es": "Puntaje", "en": "Score"},
    "text.fix": {"es": "Cómo arreglarlo", "en": "How to fix"},
    "text.store": {"es": "Store", "en": "Store"},
    "text.notes": {"es": "Notas", "en": "Notes"},
    "text.passed": {"es": "APROBADO", "en": "PASSED"},
    "text.failed": {"es": "NO APROBADO", "en": "NOT PASSED"},
    # Labels of the Markdown summary (grader.reports.markdown).
    # Gradescope's results.json (grader/reports/gradescope.py).
    "gs.score": {"es": "Puntaje", "en": "Score"},
    "gs.fix": {"es": "Cómo arreglarlo", "en": "How to fix"},
    "gs.status": {"es": "Estado", "en": "Status"},
    "gs.notes": {"es": "Notas", "en": "Notes"},
    "gs.hidden": {
        "es": "{n} {n:plural:control oculto suma|controles ocultos suman} {points} puntos: "
        "cuentan en el total, su contenido no se muestra.",
        "en": "{n} hidden {n:plural:check|checks} worth {points} points count toward the total; "
        "their content is not shown.",
    },
    "gs.error": {"es": "No se pudo corregir la entrega", "en": "The submission could not be graded"},
    # The legacy GitHub Classroom reporter's rows (grader/reports/classroom.py).
    "classroom.fix": {"es": "Cómo arreglarlo", "en": "How to fix"},
    # Classroom 50's release-body.md (grader/reports/classroom50.py).
    "c50.scaled": {
        "es": "Classroom 50 cuenta puntos enteros: cada punto de la rúbrica vale {scale} aquí ({score} / {max}).",
        "en": "Classroom 50 counts whole points: each rubric point is worth {scale} here ({score} / {max}).",
    },
    "c50.error": {"es": "No se pudo corregir la entrega", "en": "The submission could not be graded"},
    "c50.zero": {
        "es": "La nota es 0 / {max}: corregí lo que se indica y volvé a entregar.",
        "en": "The grade is 0 / {max}: fix what is said above and submit again.",
    },
    "md.score": {"es": "Puntaje", "en": "Score"},
    "md.passed": {"es": "aprobado", "en": "passed"},
    "md.failed": {"es": "no aprobado", "en": "not passed"},
    "md.check": {"es": "Punto", "en": "Check"},
    "md.points": {"es": "Puntos", "en": "Points"},
    "md.result": {"es": "Resultado", "en": "Result"},
    "md.fix": {"es": "Qué arreglar", "en": "What to fix"},
    "md.notes": {"es": "Notas", "en": "Notes"},
    "md.store": {"es": "Store", "en": "Store"},
    "md.hidden": {
        "es": "{n} {n:plural:control oculto suma|controles ocultos suman} {points} puntos; cuentan en el total "
        "pero su contenido no se muestra.",
        "en": "{n} hidden {n:plural:check|checks} worth {points} points count toward the total; their content is "
        "not shown.",
    },
    # Labels of a check's evidence in the HTML report (the evidence's keys: ``ev.<key>``; a key
    # without one is shown as it is, underscores as spaces).
    "ev.active": {"es": "activos", "en": "active"},
    "ev.after_deadline": {"es": "después del plazo", "en": "after the deadline"},
    "ev.alias": {"es": "alias", "en": "alias"},
    "ev.aliases": {"es": "alias", "en": "aliases"},
    "ev.autolog_runs": {"es": "runs de autolog", "en": "autolog runs"},
    "ev.best_run": {"es": "mejor run", "en": "best run"},
    "ev.best_run_id": {"es": "id del mejor run", "en": "best run id"},
    "ev.best_value": {"es": "mejor valor", "en": "best value"},
    "ev.cell": {"es": "celda", "en": "cell"},
    "ev.close_matches": {"es": "nombres parecidos", "en": "close matches"},
    "ev.compared": {"es": "comparados", "en": "compared"},
    "ev.counted": {"es": "contados", "en": "counted"},
    "ev.covered": {"es": "cubiertas", "en": "covered"},
    "ev.deadline": {"es": "plazo", "en": "deadline"},
    "ev.deadline_ms": {"es": "plazo (ms)", "en": "deadline (ms)"},
    "ev.deleted": {"es": "borrados", "en": "deleted"},
    "ev.diff": {"es": "diferencia", "en": "difference"},
    "ev.error": {"es": "error", "en": "error"},
    "ev.experiments": {"es": "experimentos", "en": "experiments"},
    "ev.fix_first": {"es": "arreglar primero", "en": "fix first"},
    "ev.found": {"es": "encontrados", "en": "found"},
    "ev.graded_with": {"es": "corregido con", "en": "graded with"},
    "ev.hidden": {"es": "oculto", "en": "hidden"},
    "ev.hidden_experiments": {"es": "experimentos ocultos", "en": "hidden experiments"},
    "ev.implausible": {"es": "inverosímiles", "en": "implausible"},
    "ev.in_stage": {"es": "en la etapa", "en": "in the stage"},
    "ev.incomplete": {"es": "incompletos", "en": "incomplete"},
    "ev.isolation": {"es": "aislamiento del probe", "en": "probe isolation"},
    "ev.kinds": {"es": "tipos", "en": "kinds"},
    "ev.latest": {"es": "último", "en": "latest"},
    "ev.launcher": {"es": "lanzador", "en": "launcher"},
    "ev.load_ms": {"es": "carga", "en": "load"},
    "ev.logged": {"es": "logueado", "en": "logged"},
    "ev.made_with": {"es": "hecho con", "en": "made with"},
    "ev.metrics": {"es": "métricas", "en": "metrics"},
    "ev.mismatched": {"es": "no coinciden", "en": "mismatched"},
    "ev.missing": {"es": "faltan", "en": "missing"},
    "ev.model_path": {"es": "ruta del modelo", "en": "model path"},
    "ev.n_rows": {"es": "filas", "en": "rows"},
    "ev.measures": {"es": "medidas", "en": "measures"},
    "ev.not_held": {"es": "no se cumplió", "en": "not held"},
    "ev.notebook": {"es": "notebook", "en": "notebook"},
    "ev.notebooks": {"es": "notebooks", "en": "notebooks"},
    "ev.no_outputs": {"es": "sin salidas", "en": "no outputs"},
    "ev.output": {"es": "salida", "en": "output"},
    "ev.output_type": {"es": "tipo de salida", "en": "output type"},
    "ev.outside_grid": {"es": "fuera de la grilla", "en": "outside the grid"},
    "ev.parallelism": {"es": "paralelismo", "en": "parallelism"},
    "ev.param_as_tag": {"es": "param como tag", "en": "param as a tag"},
    "ev.params": {"es": "params", "en": "params"},
    "ev.predict_ms": {"es": "predicción", "en": "prediction"},
    "ev.predictions": {"es": "predicciones", "en": "predictions"},
    "ev.probe_ms": {"es": "duración del probe", "en": "probe time"},
    "ev.production_run_id": {"es": "id del run en Production", "en": "Production run id"},
    "ev.recomputed": {"es": "recalculado", "en": "recomputed"},
    "ev.registered": {"es": "registrados", "en": "registered"},
    "ev.rel": {"es": "diferencia relativa", "en": "relative difference"},
    "ev.run": {"es": "run", "en": "run"},
    "ev.run_id": {"es": "id del run", "en": "run id"},
    "ev.runs": {"es": "runs", "en": "runs"},
    "ev.scan_ms": {"es": "revisión del modelo", "en": "model scan"},
    "ev.section": {"es": "parte del store", "en": "part of the store"},
    "ev.skipped_by": {"es": "omitido por", "en": "skipped by"},
    "ev.stage": {"es": "etapa", "en": "stage"},
    "ev.test_metrics": {"es": "métricas recalculadas", "en": "recomputed metrics"},
    "ev.unreadable": {"es": "ilegibles", "en": "unreadable"},
    "ev.unrecognised": {"es": "no reconocidos", "en": "unrecognised"},
    "ev.uri": {"es": "URI", "en": "URI"},
    "ev.variance_ratio": {"es": "razón de varianzas", "en": "variance ratio"},
    "ev.version": {"es": "versión", "en": "version"},
    "ev.without_model": {"es": "sin modelo", "en": "without a model"},
    # ------------------------------------------------------------------ the command line (exit 2)
    # grade --help: the command's help and each option's, in the language of --lang (the options'
    # English here is what the click decorators say; tests/test_catalogue.py keeps them equal).
    "help.usage": {"es": "Uso: ", "en": "Usage: "},
    "help.options": {"es": "Opciones", "en": "Options"},
    "help.metavar": {"es": "[OPCIONES] [ENTREGA]", "en": "[OPTIONS] [SUBMISSION]"},
    "help.command": {
        "es": "Corrige una ENTREGA de la tarea de MLflow: una carpeta con mlruns/ y/o mlflow.db, una carpeta mlruns/, "
        "un archivo mlflow.db o una URI file:/sqlite:; o, en solo lectura, un servidor de tracking "
        "(http(s)://HOST:PUERTO; credenciales en MLFLOW_TRACKING_USERNAME/PASSWORD o TOKEN) o un store "
        "PostgreSQL (postgresql://USUARIO@HOST/BASE --artifacts CARPETA).\n\n"
        "Una clase en un servidor: grade URI --experiment 'homework-195-{student}' [--model-name "
        "'housing-best-{student}'] --students ana,beto (o --students-file ARCHIVO) --out SALIDA.\n\n"
        "Una clase entera: grade --batch CARPETA --out SALIDA [-j N]. Cada carpeta o archivo comprimido de "
        "CARPETA es un estudiante (su nombre es el id); SALIDA recibe students/<id>/report.json y report.html, "
        "gradebook.csv y summary.html. Correrlo de nuevo reemplaza lo que escribió el anterior en SALIDA. "
        "Códigos de salida de un batch: 0 todos corregidos y aprobados; 1 alguno no aprobó o no se pudo "
        "corregir (una fila de error); 2 el batch no pudo correr (no existe CARPETA, no hay entregas, SALIDA "
        "rechazada).\n\n"
        "Comandos: grade run ENTREGA, grade batch CARPETA, grade class URI, grade explain CONTROL, grade demo, "
        "grade rubric init (cada uno con su --help y solo sus opciones).",
        "en": "Grade an MLflow homework SUBMISSION: a folder holding mlruns/ and/or mlflow.db, an mlruns/ folder, an "
        "mlflow.db file, or a file:/sqlite: URI; or, read-only, a tracking server (http(s)://HOST:PORT; "
        "credentials from MLFLOW_TRACKING_USERNAME/PASSWORD or TOKEN) or a PostgreSQL backend store "
        "(postgresql://USER@HOST/DB --artifacts DIR).\n\n"
        "One class on one server: grade URI --experiment 'homework-195-{student}' [--model-name "
        "'housing-best-{student}'] --students ana,beto (or --students-file FILE) --out OUT.\n\n"
        "Whole class: grade --batch DIR --out OUT [-j N]. Each folder or archive in DIR is one student (its "
        "name is the id); OUT gets students/<id>/report.json and report.html, gradebook.csv and summary.html. "
        "A re-run replaces what the previous batch wrote in OUT. Exit codes of a batch: 0 every student graded "
        "and passed; 1 some student failed or could not be graded (an error row); 2 the batch could not run "
        "(no such DIR, no submissions in it, OUT refused).\n\n"
        "Commands: grade run SUBMISSION, grade batch DIR, grade class URI, grade explain CHECK_ID, grade demo, "
        "grade rubric init (each with its own --help and only its options).",
    },
    # grade VERB --help: each verb's usage line and help (its options' help are the help.* above).
    "help.metavar.run": {"es": "[OPCIONES] ENTREGA", "en": "[OPTIONS] SUBMISSION"},
    "help.metavar.batch": {"es": "[OPCIONES] CARPETA --out SALIDA", "en": "[OPTIONS] DIR --out OUT"},
    "help.metavar.class": {
        "es": "[OPCIONES] URI --students ID,ID,... --out SALIDA",
        "en": "[OPTIONS] URI --students ID,ID,... --out OUT",
    },
    "help.metavar.explain": {"es": "[OPCIONES] CONTROL", "en": "[OPTIONS] CHECK_ID"},
    "help.metavar.demo": {"es": "[OPCIONES]", "en": "[OPTIONS]"},
    "help.verb.run": {
        "es": "Corrige una ENTREGA: una carpeta con mlruns/ y/o mlflow.db, una carpeta mlruns/, un archivo "
        "mlflow.db, una URI file:/sqlite:, un servidor de tracking (http(s)://) o un store PostgreSQL; "
        "igual que grade ENTREGA.",
        "en": "Grade a SUBMISSION: a folder holding mlruns/ and/or mlflow.db, an mlruns/ folder, an mlflow.db "
        "file, a file:/sqlite: URI, a tracking server (http(s)://) or a PostgreSQL store; the same as "
        "grade SUBMISSION.",
    },
    "help.verb.batch": {
        "es": "Corrige una clase entera: cada carpeta o archivo comprimido de CARPETA es un estudiante (su nombre "
        "es el id; o un solo archivo con todos, como la descarga de Moodle o Canvas). SALIDA recibe "
        "students/<id>/report.json y report.html, gradebook.csv y summary.html. Códigos de salida: 0 todos "
        "aprobados; 1 alguno no aprobó o no se pudo corregir; 2 el batch no pudo correr.",
        "en": "Grade a whole class: each folder or archive in DIR is one student (its name is the id; or one "
        "archive of them all, such as a Moodle or Canvas bulk download). OUT gets students/<id>/report.json and "
        "report.html, gradebook.csv and summary.html. Exit codes: 0 every student passed; 1 some student "
        "failed or could not be graded; 2 the batch could not run.",
    },
    "help.verb.class": {
        "es": "Corrige una clase en un servidor de tracking o un store compartido: el experimento de cada "
        "estudiante (--experiment 'homework-195-{student}', --model-name 'housing-best-{student}') en SALIDA, "
        "como grade batch.",
        "en": "Grade a class on one tracking server or shared store: each student's experiment "
        "(--experiment 'homework-195-{student}', --model-name 'housing-best-{student}') into OUT, as "
        "grade batch does.",
    },
    "help.verb.explain": {
        "es": "Muestra qué verifica un CONTROL de la rúbrica, sus puntos, cómo aprobarlo y sus ajustes.",
        "en": "Print what a rubric's CHECK_ID verifies, its points, how to pass it and its settings.",
    },
    "help.verb.demo": {
        "es": "Construye la entrega de referencia (runs, registro, notebook) en una carpeta temporal y la corrige; "
        "la carpeta se borra al terminar (--keep la conserva). Con --out CARPETA, los informes van allí.",
        "en": "Build the reference submission (runs, registry, notebook) in a temp folder and grade it; the folder "
        "is removed afterwards (--keep keeps it). With --out DIR, the reports go to DIR.",
    },
    # The placeholders of option values in grade --help.
    "metavar.FILE": {"es": "ARCHIVO", "en": "FILE"},
    "metavar.DIR": {"es": "CARPETA", "en": "DIR"},
    "metavar.NAME": {"es": "NOMBRE", "en": "NAME"},
    "metavar.SECONDS": {"es": "SEGUNDOS", "en": "SECONDS"},
    "metavar.CHECK_ID": {"es": "CONTROL", "en": "CHECK_ID"},
    "metavar.PATH": {"es": "RUTA", "en": "PATH"},
    "metavar.COLUMN": {"es": "COLUMNA", "en": "COLUMN"},
    "metavar.TEXT": {"es": "TEXTO", "en": "TEXT"},
    "metavar.FLOAT": {"es": "NÚMERO", "en": "FLOAT"},
    "help.help": {"es": "Muestra esta ayuda y termina.", "en": "Show this message and exit."},
    "help.version": {"es": "Muestra la versión y termina.", "en": "Show the version and exit."},
    "help.rubric": {"es": "Id de la rúbrica o archivo YAML.", "en": "Rubric id or YAML file."},
    "help.lang": {"es": "Idioma de los mensajes.", "en": "Language of messages."},
    "help.fmt": {"es": "Qué va a la salida estándar.", "en": "What goes to stdout."},
    "help.json_out": {
        "es": "Escribe el informe JSON en ARCHIVO ('-' para la salida estándar); con --format gradescope, el "
        "results.json de Gradescope.",
        "en": "Write the JSON report to FILE ('-' for stdout); with --format gradescope, Gradescope's results.json.",
    },
    "help.html_out": {"es": "Escribe el informe HTML en ARCHIVO.", "en": "Write the HTML report to FILE."},
    "help.junit_out": {
        "es": "Escribe JUnit XML (un testcase por control) en ARCHIVO.",
        "en": "Write JUnit XML (one testcase per check) to FILE.",
    },
    "help.markdown_out": {
        "es": "Escribe el resumen en Markdown (vista del estudiante) en ARCHIVO.",
        "en": "Write the Markdown summary (student view) to FILE.",
    },
    "help.out_dir": {
        "es": "Escribe report.json y report.html en CARPETA (con --batch: los informes de la clase).",
        "en": "Write report.json and report.html into DIR (with --batch: the class's reports).",
    },
    "help.student": {
        "es": "Vista del estudiante en todas las salidas: los controles ocultos muestran sus puntos, no su contenido.",
        "en": "Student view in every output: hidden checks show their points, not their content.",
    },
    "help.timeout": {
        "es": "Segundos que puede tardar el probe del modelo (la corrección entera: --grade-timeout).",
        "en": "Seconds the model probe may take (the whole grade: --grade-timeout).",
    },
    "help.grade_timeout": {
        "es": "Segundos que puede tardar la corrección entera (copia, MLflow, controles, probe): pasado ese tiempo, "
        "sale con 2 y una línea. Con --batch: por estudiante, como --student-timeout.  [por defecto: 600, o "
        "--timeout + 120 si es más]",
        "en": "Seconds the whole grade may take (copy, MLflow, checks, probe): past it, exit 2 with one line. With "
        "--batch: per student, as --student-timeout.  [default: 600, or --timeout + 120 if more]",
    },
    "help.trust_pickles": {
        "es": "Carga modelos pickle aunque la lista permitida los rechace (siempre en el entorno aislado).",
        "en": "Load pickled models even if the allowlist refuses them (still sandboxed).",
    },
    "help.no_probe": {
        "es": "No carga el modelo (model.predict se omite).",
        "en": "Do not load the model (model.predict is skipped).",
    },
    "help.deadline": {
        "es": "Fecha límite, p. ej. 2026-06-30T23:59 o 2026-06-30 (el final de ese día), hora local salvo que se dé un "
        "desfase: integrity.timeline marca los runs y cambios del registro posteriores.",
        "en": "Deadline, e.g. 2026-06-30T23:59 or 2026-06-30 (end of that day), local time unless an offset is given: "
        "integrity.timeline flags runs and registry changes after it.",
    },
    "help.demo": {
        "es": "Arma la entrega de referencia (runs, registro, notebook) en una carpeta temporal y la corrige; la "
        "carpeta se borra al final (--keep la conserva). Con --out CARPETA, los informes van a CARPETA.",
        "en": "Build the reference submission (runs, registry, notebook) in a temp folder and grade it; the folder "
        "is removed afterwards (--keep keeps it). With --out DIR, the reports go to DIR.",
    },
    "help.keep": {
        "es": "Con --demo: conserva la entrega armada (se muestra su ruta).",
        "en": "With --demo: keep the built submission (its path is printed).",
    },
    "help.explain": {
        "es": "Muestra qué verifica un control y cómo aprobarlo.",
        "en": "Print what a check verifies and how to pass it.",
    },
    "help.quiet": {"es": "Sin resumen en la terminal.", "en": "No terminal summary."},
    "help.failures_only": {
        "es": "Resumen en la terminal: solo los controles que no pasaron.",
        "en": "Terminal summary: only the checks that did not pass.",
    },
    "help.batch_dir": {
        "es": "Corrige cada entrega de CARPETA (una carpeta o un archivo comprimido por estudiante; o uno con todas, "
        "como una descarga de Moodle o Canvas) en --out: informes, gradebook.csv, summary.html.",
        "en": "Grade every submission in DIR (one folder or archive per student; or one archive of them all, such as "
        "a Moodle or Canvas bulk download) into --out: reports, gradebook.csv, summary.html.",
    },
    "help.jobs": {
        "es": "Con --batch: estudiantes corregidos a la vez (por defecto, la cantidad de núcleos); con --students: 1 "
        "por defecto.",
        "en": "With --batch: students graded at once (the number of cores by default); with --students: 1 by default.",
    },
    "help.student_timeout": {
        "es": "Con --batch (y --students -j N): segundos que puede tardar un estudiante en total.  "
        "[por defecto: 2 x --timeout + 60]",
        "en": "With --batch (and --students -j N): seconds one student may take in all.  [default: 2 x --timeout + 60]",
    },
    "help.gradebook_format": {
        "es": "Con --batch: gradebook.csv en el formato de importación de Moodle (planilla de calificación) o de "
        "Canvas.  [por defecto: native]",
        "en": "With --batch: gradebook.csv in Moodle's (grading worksheet) or Canvas's import format.  [default: native]",
    },
    "help.roster": {
        "es": "Con --batch: CSV que relaciona estudiantes (columna student) con ids del LMS (lms_id, name, email, "
        "sis_user_id...).",
        "en": "With --batch: CSV mapping students (column student) to LMS ids (lms_id, name, email, sis_user_id...).",
    },
    "help.lms_assignment": {
        "es": "Con --gradebook-format canvas: la columna de la tarea, p. ej. 'Homework 195 (4567)'.  [por defecto: el "
        "id de la rúbrica]",
        "en": "With --gradebook-format canvas: the assignment's column, e.g. 'Homework 195 (4567)'.  [default: the "
        "rubric id]",
    },
    "help.only": {
        "es": "Con --batch: corrige de nuevo solo a este estudiante en el --out existente (sus informes y su fila del "
        "gradebook).",
        "en": "With --batch: regrade only this student into the existing --out (their reports and gradebook row).",
    },
    "help.experiment": {
        "es": "Corrige el experimento NOMBRE en lugar del de la rúbrica (un servidor compartido da uno a cada "
        "estudiante); con --students, un patrón como 'homework-195-{student}'.",
        "en": "Grade experiment NAME instead of the rubric's (a shared server gives each student their own); with "
        "--students, a pattern such as 'homework-195-{student}'.",
    },
    "help.model_name": {
        "es": "Modelo registrado a corregir en lugar del de la rúbrica; con --students puede llevar {student}.",
        "en": "Registered model to grade instead of the rubric's; with --students it may hold {student}.",
    },
    "help.store": {
        "es": "El store a corregir cuando la ENTREGA tiene varios (una ruta dentro de ella, p. ej. mlflow.db o "
        "copy/mlruns).",
        "en": "The store to grade when SUBMISSION holds several (a path inside it, e.g. mlflow.db or copy/mlruns).",
    },
    "help.artifacts": {
        "es": "Con una ENTREGA postgresql://: la carpeta con los artefactos de los experimentos.",
        "en": "With a postgresql:// SUBMISSION: the folder holding the experiments' artifacts.",
    },
    "help.students": {
        "es": "Corrige el experimento de cada estudiante de la ENTREGA (--experiment con {student}) en --out.",
        "en": "Grade each student's experiment in SUBMISSION (--experiment with {student}) into --out.",
    },
    "help.students_file": {
        "es": "Como --students, un id de estudiante por línea.",
        "en": "Like --students, one student id per line.",
    },
    # The one line a user reads when grade stops; ``{message}`` is already in the user's language.
    "cli.error": {"es": "grade: error: {message}", "en": "grade: error: {message}"},
    "cli.internal": {"es": "grade: error interno: {error}", "en": "grade: internal error: {error}"},
    "cli.aborted": {"es": "grade: cancelado", "en": "grade: aborted"},
    "cli.interrupted": {"es": "grade: interrumpido", "en": "grade: interrupted"},
    # Usage errors of grade itself (grader.cli).
    "usage.give_submission": {
        "es": "indicá una ENTREGA para corregir, o --demo",
        "en": "give a SUBMISSION to grade, or --demo",
    },
    "usage.keep": {
        "es": "--keep va con --demo (conserva la entrega que arma la demo)",
        "en": "--keep goes with --demo (it keeps the submission the demo builds)",
    },
    "usage.json_dash": {
        "es": "--json - escribe el informe JSON en la salida estándar: no puede ir con --format {fmt}",
        "en": "--json - prints the JSON report on stdout: it cannot go with --format {fmt}",
    },
    "usage.unknown_check": {
        "es": "no existe el control {check} (los que hay: {known})",
        "en": "unknown check id {check} (known: {known})",
    },
    "usage.batch_no_submission": {
        "es": "--batch corrige una carpeta de entregas: no indiques una ENTREGA ni --demo",
        "en": "--batch grades a folder of submissions: give no SUBMISSION nor --demo",
    },
    "usage.batch_conflict": {
        "es": "{options} no puede ir con --batch (escribe sus informes en --out)",
        "en": "{options} cannot go with --batch (it writes its reports into --out)",
    },
    "usage.batch_remote": {
        "es": "--experiment, --model-name, --artifacts y --students no van con --batch",
        "en": "--experiment, --model-name, --artifacts and --students do not go with --batch",
    },
    "usage.batch_only": {
        "es": "-j/--jobs, --student-timeout, --gradebook-format, --roster, --lms-assignment y --only van con --batch "
        "(-j y --student-timeout también con --students)",
        "en": "-j/--jobs, --student-timeout, --gradebook-format, --roster, --lms-assignment and --only go with --batch "
        "(-j and --student-timeout with --students too)",
    },
    "usage.class_students": {
        "es": "grade class URI corrige el experimento de cada estudiante: indica --students ana,beto o "
        "--students-file ARCHIVO (y --experiment 'homework-195-{student}')",
        "en": "grade class URI grades each student's experiment: give --students ana,beto or "
        "--students-file FILE (and --experiment 'homework-195-{student}')",
    },
    "usage.students_conflict": {
        "es": "--students escribe sus informes en --out: no indiques --demo, --format, --json, "
        "--html, --junit, --markdown ni --student",
        "en": "--students writes its reports into --out: give no --demo, --format, --json, "
        "--html, --junit, --markdown nor --student",
    },
    "usage.students_submission": {
        "es": "--students corrige el experimento de cada estudiante en una ENTREGA (un servidor de tracking, un "
        "store PostgreSQL o una carpeta con un store): indicala",
        "en": "--students grades each student's experiment in one SUBMISSION (a tracking URI, a PostgreSQL store "
        "or a store folder): give it",
    },
    "usage.needs_out": {
        "es": "{option} necesita --out CARPETA (donde van los informes, gradebook.csv y summary.html)",
        "en": "{option} needs --out DIR (where the reports, gradebook.csv and summary.html go)",
    },
    # Click's own messages, as click 8 writes them in English (translated by :func:`translate`).
    "click.no_such_option_hint": {
        "es": "no existe la opción {name}. ¿Quisiste decir {options}?",
        "en": "No such option {name}. Did you mean {options}?",
    },
    "click.no_such_option": {"es": "no existe la opción {name}.", "en": "No such option {name}."},
    "click.invalid_value": {"es": "valor inválido para {param}: {detail}", "en": "Invalid value for {param}: {detail}"},
    "click.not_one_of": {
        "es": "{value} no es una de estas opciones: {choices}.",
        "en": "{value} is not one of {choices}.",
    },
    "click.not_a_number": {"es": "{value} no es un número válido ({kind}).", "en": "{value} is not a valid {kind}."},
    "click.not_in_range": {"es": "{value} no está en el rango {range}.", "en": "{value} is not in the range {range}."},
    "click.requires_argument": {
        "es": "la opción {name} necesita un valor.",
        "en": "Option {name} requires an argument.",
    },
    "click.missing_argument": {"es": "falta el argumento {name}.", "en": "Missing argument {name}."},
    "click.missing_option": {"es": "falta la opción {name}.", "en": "Missing option {name}."},
    "click.extra_argument": {"es": "sobra un argumento ({args})", "en": "Got unexpected extra argument ({args})"},
    "click.extra_arguments": {"es": "sobran argumentos ({args})", "en": "Got unexpected extra arguments ({args})"},
    # Why a submission cannot be graded, as other modules raise them in English (translated by
    # :func:`translate`; the English text must stay the raiser's own, word for word).
    "error.not_found": {"es": "no se encontró la entrega: {path}", "en": "submission not found: {path}"},
    # An option of grade that the kind of source given does not take (grader/sources/base.py).
    "error.store_one": {
        "es": "--store elige un almacén dentro de una carpeta: {what} es un solo almacén",
        "en": "--store picks one store inside a folder: {what} is one store",
    },
    "error.artifacts_postgres": {
        "es": "--artifacts va con un almacén postgresql://, no con {what}",
        "en": "--artifacts goes with a postgresql:// backend store, not with {what}",
    },
    "error.kind_folder": {"es": "una carpeta o un archivo", "en": "a folder or a file"},
    "error.kind_server": {"es": "un servidor de tracking", "en": "a tracking server"},
    "error.kind_database": {"es": "una URI de base de datos", "en": "a database URI"},
    "error.not_a_db": {
        "es": "{path} es un archivo pero no es una base SQLite de MLflow (ni un archivo comprimido que se pueda leer)",
        "en": "{path} is a file but not an MLflow SQLite database (nor a supported archive)",
    },
    "error.scheme": {
        "es": "las entregas {scheme}:// no se pueden corregir; entregá una carpeta, mlruns/ o mlflow.db, o corregí "
        "un servidor de tracking http(s):// o un store postgresql://",
        "en": "{scheme}:// submissions are not supported; hand in a folder, mlruns/ or mlflow.db, or grade an "
        "http(s):// tracking server or a postgresql:// backend store",
    },
    "error.no_store": {
        "es": "no hay ningún store de MLflow en {path}: se esperaba una carpeta mlruns/ (con carpetas de "
        "experimentos y meta.yaml) o un mlflow.db",
        "en": "no MLflow store in {path}: expected an mlruns/ folder (with experiment folders and meta.yaml) or an "
        "mlflow.db",
    },
    "error.store_pick": {
        "es": "--store {store}: no es ninguno de los stores encontrados en {path} ({names})",
        "en": "--store {store}: not one of the stores found in {path} ({names})",
    },
    "error.db_open": {
        "es": "{label} no se puede abrir como base de datos: {error}",
        "en": "{label} cannot be opened as a database: {error}",
    },
    "error.db_unreadable": {
        "es": "{name} no es una base SQLite legible: {error}",
        "en": "{name} is not a readable SQLite database: {error}",
    },
    # SQLite's own words (sqlite3.DatabaseError), as they follow the texts above.
    "error.sqlite_malformed": {
        "es": "la imagen de la base de datos está dañada",
        "en": "database disk image is malformed",
    },
    "error.sqlite_not_db": {"es": "el archivo no es una base de datos", "en": "file is not a database"},
    "error.db_damaged": {
        "es": "{label} es una base SQLite dañada: {error}",
        "en": "{label} is a damaged SQLite database: {error}",
    },
    "error.mlflow_open": {
        "es": "MLflow no puede abrir el store {name}: {error}",
        "en": "MLflow cannot open the store {name}: {error}",
    },
    "error.timeout": {
        "es": "la corrección tardó más de {seconds} s (--grade-timeout): se detuvo",
        "en": "grading took more than {seconds} s (--grade-timeout): stopped",
    },
    # A student of a batch whose grading process did not answer (grader/batch/pool.py).
    "batch.student_timeout": {
        "es": "la corrección tardó más de {seconds} s (tiempo límite por estudiante): se detuvo",
        "en": "grading took more than {seconds} s (timeout): stopped",
    },
    "batch.student_died": {
        "es": "error interno: el proceso que corregía murió con {signal}{why}",
        "en": "internal error: the grading process died with {signal}{why}",
    },
    "batch.student_oom": {
        "es": " (matado, probablemente por falta de memoria)",
        "en": " (killed, probably out of memory)",
    },
    "batch.student_exited": {
        "es": "error interno: el proceso que corregía terminó con código {code} sin dar un resultado",
        "en": "internal error: the grading process exited with code {code} without a result",
    },
    "error.archive_unreadable": {
        "es": "{name} no es un archivo comprimido legible: {error}",
        "en": "{name} is not a readable archive: {error}",
    },
    "error.rubric_not_found": {
        "es": "no se encontró el archivo de rúbrica: {path}",
        "en": "rubric file not found: {path}",
    },
    "error.rubric_unknown": {
        "es": "no existe la rúbrica {name} (rúbricas incluidas: {known}; o indicá la ruta de un YAML)",
        "en": "unknown rubric {name} (shipped rubrics: {known}; or give a YAML file path)",
    },
    "error.rubric_yaml": {
        "es": "la rúbrica {source} no es YAML válido: {error}",
        "en": "rubric {source} is not valid YAML: {error}",
    },
    "error.unknown_lang": {
        "es": "idioma desconocido {given} (usá uno de: {langs})",
        "en": "unknown language {given} (use one of: {langs})",
    },
    "error.bad_deadline": {"es": "fecha límite inválida: {error}", "en": "bad deadline: {error}"},
    "error.not_a_date": {"es": "no es una fecha/hora: {value}", "en": "not a date/time: {value}"},
    "error.server_refused": {
        "es": "no se pudo conectar con el servidor de tracking en {url}: conexión rechazada "
        "(ConnectionRefusedError, {tries}): la URI apunta a un servidor que no está corriendo; inicialo "
        "(mlflow server --host ... --port ...) o revisá el host y el puerto",
        "en": "cannot connect to the tracking server at {url}: connection refused (ConnectionRefusedError, "
        "{tries}): the tracking URI points at a server that is not running; start it (mlflow server --host "
        "... --port ...) or check the host and port",
    },
    "error.server_host": {
        "es": "no se pudo resolver el host de la URI de tracking {url}: revisá cómo está escrita",
        "en": "cannot resolve the host of the tracking URI {url}: check its spelling",
    },
    "error.refused_count": {
        "es": "se rechazó {what}: tiene {count} {unit}, más que los {limit} que puede tener una entrega (leerlos "
        "llevaría minutos y gigabytes)",
        "en": "refused {what}: it holds {count} {unit}, more than the {limit} a submission may hold (reading them "
        "would take minutes and gigabytes)",
    },
    "error.unit_rows": {"es": "filas de params, tags y métricas", "en": "rows of params, tags and metrics"},
    "error.not_iso": {
        "es": "no es una fecha/hora ISO: {value} (por ejemplo 2026-06-30, 2026-06-30T23:59 o 2026-06-30T23:59-03:00)",
        "en": "not an ISO date/time: {value} (use e.g. 2026-06-30, 2026-06-30T23:59 or 2026-06-30T23:59-03:00)",
    },
    "error.not_valid_date": {
        "es": "no es una fecha válida: {value} ({error})",
        "en": "not a valid date: {value} ({error})",
    },
    "error.roster_read": {
        "es": "no se puede leer la lista de estudiantes {path}: {error}",
        "en": "cannot read the roster {path}: {error}",
    },
    "error.roster_column": {
        "es": "la lista de estudiantes {path} necesita una columna 'student' (y lms_id, name, "
        "email... según haga falta)",
        "en": "the roster {path} needs a 'student' column (and lms_id, name, email... as needed)",
    },
    "error.attempts": {"es": "{n} {n:plural:intento|intentos}", "en": "{n} {n:plural:attempt|attempts}"},
    "error.batch_not_found": {
        "es": "no se encontró la carpeta de entregas: {path}",
        "en": "submissions folder not found: {path}",
    },
    "error.batch_empty": {
        "es": "no hay entregas en {path}: se espera una carpeta o un archivo comprimido por estudiante",
        "en": "no submissions in {path}: expected one folder or archive per student",
    },
    "error.batch_out": {
        "es": "--out no puede ser la carpeta de entregas ni una carpeta que la contenga",
        "en": "--out must not be the submissions folder nor one of its parents",
    },
    # Notes of a graded submission that other modules write in English (translated by :func:`translate`).
    "note.extracted": {
        "es": "extraído de {name} ({n} {n:plural:archivo|archivos})",
        "en": "extracted from {name} ({n} {n:plural:file|files})",
    },
    "note.archive_links": {
        "es": "{n} {n:plural:enlace dentro del archivo comprimido no se extrajo|enlaces dentro del archivo "
        "comprimido no se extrajeron}",
        "en": "{n} {n:plural:link inside the archive was|links inside the archive were} not extracted",
    },
    "note.symlinks": {
        "es": "{n} {n:plural:enlace simbólico de la entrega se ignoró|enlaces simbólicos de la entrega se "
        "ignoraron} (nunca se siguen)",
        "en": "{n} symbolic link(s) in the submission were ignored (never followed)",
    },
    "note.deep": {
        "es": "{n} {n:plural:carpeta anidada|carpetas anidadas} a más de {depth} niveles no se "
        "{n:plural:copió|copiaron}",
        "en": "{n} folder(s) nested deeper than {depth} levels were not copied",
    },
    "note.big_notebook": {
        "es": "se omitió el notebook {path}: pesa más de {mib} MiB",
        "en": "notebook {path} skipped: larger than {mib} MiB",
    },
    # grade --explain CHECK_ID
    "explain.points": {
        "es": "{points} {points:plural:punto|puntos}, {required}",
        "en": "{points} {points:plural:point|points}, {required}",
    },
    "explain.hidden": {"es": "oculto: el estudiante ve solo sus puntos", "en": "hidden: students see only its points"},
    "explain.verifies": {"es": "Qué verifica (de la documentación del control, en inglés):", "en": "What it verifies:"},
    "explain.fix": {"es": "Cómo aprobarlo:", "en": "How to pass it:"},
    "explain.messages": {"es": "Lo que puede decir:", "en": "What it may say:"},
    "explain.settings": {"es": "Ajustes (YAML de la rúbrica): {settings}", "en": "Settings (rubric YAML): {settings}"},
    "explain.no_settings": {"es": "ninguno", "en": "none"},
    "explain.not_in_rubric": {
        "es": "(este control no está en la rúbrica {rubric})",
        "en": "(this check is not in the rubric {rubric})",
    },
    # Progress of a class (grade --batch, --students).
    "batch.bar": {"es": "Corrigiendo", "en": "Grading"},
    "batch.bar_failures": {"es": "Corrigiendo ({n} sin aprobar)", "en": "Grading ({n} not passed)"},
    "status.pass": {"es": "aprobado", "en": "pass"},
    "status.warn": {"es": "aviso", "en": "warn"},
    "status.fail": {"es": "no aprobado", "en": "fail"},
    "status.skip": {"es": "omitido", "en": "skip"},
    "status.error": {"es": "error", "en": "error"},
    # A check skipped because the probe is off (grade --no-probe): it says so and gives no hint.
    "skip.no_probe": {
        "es": "Omitido por --no-probe: corregí sin esa opción para evaluarlo.",
        "en": "Skipped because of --no-probe: grade without it to evaluate this check.",
    },
    # The student view (grade --student; Markdown, Classroom and Gradescope always): every report says so.
    "view.student": {
        "es": "Vista del estudiante: los controles ocultos muestran solo su estado y sus puntos.",
        "en": "Student view: hidden checks show only their status and points.",
    },
    "view.student_short": {"es": "vista del estudiante", "en": "student view"},
    # The feedback column of the gradebooks (native, Moodle's, Canvas's: grader.lms.feedback).
    "feedback.not_graded": {"es": "{score}: no se pudo corregir: {error}", "en": "{score}: not graded: {error}"},
    "feedback.to_fix": {"es": "a arreglar: {checks}", "en": "to fix: {checks}"},
    "feedback.all_passed": {"es": "todos los controles aprobados", "en": "every check passed"},
    "feedback.warnings": {"es": "avisos: {checks}", "en": "warnings: {checks}"},
    "feedback.late": {
        "es": "{days} {days:plural:día|días} de atraso: -{penalty} {penalty:plural:punto|puntos}",
        "en": "late {days} {days:plural:day|days}: -{penalty} {penalty:plural:point|points}",
    },
    "feedback.report": {"es": "(informe de mlflow-grader: {path})", "en": "(mlflow-grader report: {path})"},
    # summary.html of grade --batch (grader/reports/summary_page.py, templates/summary.html.j2): summary.<name> is
    # the template's t.<name>.
    "summary.title": {"es": "Corrección por lote", "en": "Batch grading"},
    "summary.students": {"es": "estudiantes", "en": "students"},
    "summary.passed": {"es": "aprobados", "en": "passed"},
    "summary.failed": {"es": "no aprobados", "en": "failed"},
    "summary.errors": {"es": "no se pudieron corregir", "en": "could not be graded"},
    "summary.warned": {"es": "con avisos", "en": "with warnings"},
    "summary.late": {"es": "con descuento por atraso", "en": "lost points for lateness"},
    "summary.mean": {"es": "puntaje medio", "en": "mean score"},
    "summary.median": {"es": "mediana", "en": "median"},
    "summary.took": {"es": "tardó", "en": "took"},
    "summary.jobs": {"es": "{n:plural:proceso|procesos} en paralelo", "en": "parallel {n:plural:job|jobs}"},
    "summary.distribution": {"es": "Distribución de puntajes", "en": "Score distribution"},
    "summary.distribution_note": {
        "es": "Puntajes de {n:plural:la entrega corregida|las {n} entregas corregidas} (sobre {max}).",
        "en": "Scores of the {n} graded {n:plural:submission|submissions} (out of {max}).",
    },
    "summary.not_drawn": {
        "es": "{n:plural:La que no se pudo corregir no se dibuja|Las {n} que no se pudieron corregir no se dibujan}.",
        "en": "{n:plural:The one that could not be graded is|The {n} that could not be graded are} not drawn.",
    },
    "summary.histogram": {"es": "Histograma de puntajes", "en": "Histogram of scores"},
    "summary.checks": {"es": "Tasa de aprobación por criterio", "en": "Pass rate per check"},
    "summary.checks_note": {
        "es": "Un aviso suma los puntos pero no es un aprobado limpio (por ejemplo, falta el notebook): la barra muestra "
        "en verde los aprobados y en ámbar los avisos, y la columna de avisos los cuenta aparte.",
        "en": "A warning earns the points but is not a clean pass (a missing notebook, say): the bar shows the passes "
        "in green and the warnings in amber, and the warnings column counts them apart.",
    },
    "summary.check": {"es": "Criterio", "en": "Check"},
    "summary.points": {"es": "Puntos", "en": "Points"},
    "summary.passed_col": {"es": "Aprobaron", "en": "Passed"},
    "summary.rate": {"es": "Tasa", "en": "Rate"},
    "summary.clean": {"es": "{n} {n:plural:limpio|limpios}", "en": "{n} clean"},
    "summary.warn": {"es": "Avisos", "en": "Warnings"},
    "summary.fail": {"es": "No aprobados", "en": "Failed"},
    "summary.error": {"es": "Error", "en": "Error"},
    "summary.skip": {"es": "Omitidos", "en": "Skipped"},
    "summary.hidden": {"es": "oculto", "en": "hidden"},
    "summary.metric": {"es": "Mejor {metric} de cada estudiante", "en": "Each student's best {metric}"},
    "summary.metric_note": {
        "es": "El mejor run de cada entrega según {metric} ({order}), como lo ordena search_runs.[[ {missing} sin {metric} "
        "no se {missing:plural:dibuja|dibujan}.]]",
        "en": "Each submission's best run by {metric} ({order}), as search_runs orders them.[[ {missing} without "
        "{metric} {missing:plural:is|are} not drawn.]]",
    },
    "summary.metric_asc": {"es": "menor es mejor", "en": "lower is better"},
    "summary.metric_desc": {"es": "mayor es mejor", "en": "higher is better"},
    "summary.metric_none": {"es": "Ninguna entrega registró {metric}.", "en": "No submission logged {metric}."},
    "summary.metric_bins": {
        "es": "{n} {n:plural:entrega|entregas} entre {lo} y {hi}",
        "en": "{n} {n:plural:submission|submissions} between {lo} and {hi}",
    },
    "summary.copies": {"es": "Posibles copias", "en": "Suspected copies"},
    "summary.copies_note": {
        "es": "Los run ids son UUID aleatorios: dos stores que comparten uno vienen del mismo lugar. Se comparan todos los "
        "experimentos y modelos registrados de cada store, no solo el experimento corregido.",
        "en": "Run ids are random UUIDs: two stores that share one come from the same place. Every experiment and "
        "registered model of each store is compared, not only the graded experiment.",
    },
    "summary.no_copies": {
        "es": "Ningún par de entregas comparte un run id.",
        "en": "No two submissions share a run id.",
    },
    "summary.weaker": {
        "es": "Solo archivos de modelo idénticos (evidencia más débil)",
        "en": "Identical model files only (weaker evidence)",
    },
    "summary.weaker_note": {
        "es": "Entrenar con los mismos datos, semilla e hiperparámetros y las mismas versiones de las librerías da archivos "
        "de modelo idénticos byte a byte: estos pares pueden haber trabajado por separado. Revisalos; no concluyas "
        "solo por esto.",
        "en": "Training with the same data, seed and hyper-parameters under the same library versions gives byte-identical "
        "model files, so these pairs may well have worked independently. Look at them, do not conclude from them alone.",
    },
    "summary.students_col": {"es": "Estudiantes", "en": "Students"},
    "summary.evidence": {"es": "Evidencia", "en": "Evidence"},
    "summary.details": {"es": "Detalle", "en": "Details"},
    "summary.shared_runs": {"es": "Run ids compartidos", "en": "Shared run ids"},
    "summary.same_files": {"es": "Archivos de modelo idénticos", "en": "Identical model files"},
    "summary.more": {"es": "y {n} más", "en": "and {n} more"},
    "summary.common": {"es": "No se toman como evidencia", "en": "Not taken as evidence"},
    "summary.common_models": {
        "es": "{n} {n:plural:archivo de modelo presente|archivos de modelo presentes} en {t} o más entregas (el resultado "
        "común de la tarea)",
        "en": "{n} model {n:plural:file|files} found in {t} or more submissions (the assignment's common outcome)",
    },
    "summary.common_runs": {
        "es": "{n} {n:plural:run id presente|run ids presentes} en {t} o más entregas (material que recibió toda la clase)",
        "en": "{n} run {n:plural:id|ids} found in {t} or more submissions (material the whole class received)",
    },
    "summary.failing": {"es": "Entregas no aprobadas o sin corregir", "en": "Failing and ungraded submissions"},
    "summary.score": {"es": "Puntaje", "en": "Score"},
    "summary.status": {"es": "Estado", "en": "Status"},
    "summary.missed": {"es": "No cumplidos / motivo", "en": "Not passed / reason"},
    "summary.all_passed": {"es": "Todas las entregas aprobaron.", "en": "Every submission passed."},
    "summary.slowest": {"es": "Entregas más lentas", "en": "Slowest submissions"},
    "summary.seconds": {"es": "Segundos", "en": "Seconds"},
    "summary.all": {"es": "Todas las entregas", "en": "All submissions"},
    "summary.student": {"es": "Estudiante", "en": "Student"},
    "summary.reports": {"es": "Informes", "en": "Reports"},
    "summary.late_col": {"es": "Atraso", "en": "Late"},
    "summary.late_cell": {
        "es": "{days} {days:plural:día|días}: -{penalty}",
        "en": "{days} {days:plural:day|days}: -{penalty}",
    },
    "summary.suspected": {"es": "Posible copia de", "en": "Suspected copy of"},
    "summary.same_models": {"es": "Mismos modelos que", "en": "Same model files as"},
    "summary.ignored": {"es": "Ignorado en la carpeta de entregas", "en": "Ignored in the submissions folder"},
    "summary.gradebook": {"es": "planilla", "en": "gradebook"},
    "summary.strong": {"es": "fuerte", "en": "strong"},
    "summary.weaker_badge": {"es": "más débil", "en": "weaker"},
    "summary.n_runs": {
        "es": "{n} {n:plural:run id compartido|run ids compartidos}",
        "en": "{n} shared run {n:plural:id|ids}",
    },
    "summary.n_models": {
        "es": "{n} {n:plural:archivo de modelo idéntico|archivos de modelo idénticos}",
        "en": "{n} identical model {n:plural:file|files}",
    },
    # Why a child of the submissions folder was not graded (grader.batch.discover, grader.lms).
    "summary.why.hidden": {"es": "entrada oculta o del sistema", "en": "hidden or system entry"},
    "summary.why.symlink": {"es": "enlace simbólico (no se sigue)", "en": "symbolic link (not followed)"},
    "summary.why.out": {"es": "la carpeta de salida", "en": "the output folder"},
    "summary.why.other": {"es": "ni carpeta ni archivo comprimido", "en": "not a folder nor an archive"},
    "summary.why.moodle_plugin": {
        "es": "entrega de Moodle de otro tipo (no de archivo)",
        "en": "Moodle submission of another plugin (not a file submission)",
    },
}


def text(key: str, lang: str = "es", **params: Any) -> str:
    """The catalogue's text for ``key`` in ``lang`` (falling back to English), placeholders filled."""
    texts = MESSAGES[key]
    return render(texts.get(lang) or texts["en"], params)


def labels(prefix: str) -> dict[str, dict[str, str]]:
    """A report's labels, ``{lang: {name: text}}``, from the catalogue's ``PREFIX.name`` keys (the
    texts keep their ``{placeholders}``: the report fills them)."""
    out: dict[str, dict[str, str]] = {lang: {} for lang in LANGS}
    for key, texts in MESSAGES.items():
        if key.startswith(prefix + "."):
            for lang in LANGS:
                out[lang][key[len(prefix) + 1 :]] = texts.get(lang) or texts["en"]
    return out


def languages_complete() -> list[str]:
    """Keys missing a language (a test keeps this empty)."""
    return [f"{key}:{lang}" for key, texts in MESSAGES.items() for lang in LANGS if not texts.get(lang)]


def store_description(submission: Any, lang: str = "es") -> str:
    """How reports describe the graded store: its kind, its artifact layout, and the MLflow
    version that wrote it (or its database schema, or "unknown"), e.g. ``sqlite, run artifacts
    (MLflow 1.x/2.x), written by MLflow 1.26.1``."""
    layout = getattr(submission, "mlflow_layout", "unknown")
    parts = [
        str(getattr(submission, "store", "")),
        text(f"label.layout.{layout}" if f"label.layout.{layout}" in MESSAGES else "label.layout.unknown", lang),
    ]
    version = getattr(submission, "mlflow_version", "")
    revision = getattr(submission, "schema_revision", "")
    if version:
        parts.append(text("label.written_by", lang, version=version))
    elif revision:
        parts.append(text("label.schema", lang, revision=revision))
    else:
        parts.append(text("label.version_unknown", lang))
    return ", ".join(p for p in parts if p)


#: The catalogue keys whose English text other modules write themselves (exceptions, notes):
#: :func:`translate` recognises those texts and says them in another language.
TRANSLATABLE = ("click.", "error.", "note.")


def _pattern(template: str) -> re.Pattern[str] | None:
    """A regular expression matching what ``template`` renders to (its placeholders captured by
    name; a count ``n``/``n_*`` only as digits; a ``{n:plural:one|other}`` as either form), or
    None when the template uses syntax it cannot match (optional parts, forms with placeholders)."""
    if "[[" in template:
        return None
    out, seen = [], set()
    for literal, name, spec, _ in string.Formatter().parse(template):
        out.append(re.escape(literal))
        if name is None:
            continue
        if spec and spec.startswith("plural:"):
            forms = spec[len("plural:") :].split("|")
            if any("{" in f for f in forms):
                return None
            out.append("(?:" + "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)) + ")")
        elif name in seen:
            out.append(f"(?P={name})")
        else:
            seen.add(name)
            out.append(f"(?P<{name}>\\d+)" if name == "n" or name.startswith("n_") else f"(?P<{name}>.+?)")
    return re.compile("".join(out), re.DOTALL)


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    """Every translatable key's English pattern, the most specific (longest fixed text) first."""
    found = []
    for key, texts in MESSAGES.items():
        if key.startswith(TRANSLATABLE) and (pattern := _pattern(texts["en"])) is not None:
            fixed = len(re.sub(r"\{[^}]*\}", "", texts["en"]))
            found.append((fixed, key, pattern))
    return [(key, pattern) for _, key, pattern in sorted(found, key=lambda f: -f[0])]


def translate(message: str, lang: str = "es", _depth: int = 0) -> str:
    """``message``, written in English by code that does not know the user's language (a
    :class:`~grader.errors.SubmissionError` raised deep in the store reader, click's usage errors,
    a note of the archive extractor), in ``lang``: when it is one of the catalogue's texts
    (:data:`TRANSLATABLE`), that text in ``lang`` with the same values; the values themselves are
    translated too (``bad deadline: not a date/time: 'x'``). Any other message comes back as it is.
    """
    if lang == "en" or not message or _depth > 3:
        return message
    for key, pattern in _patterns():
        match = pattern.fullmatch(message)
        if match:
            params = {name: translate(value, lang, _depth + 1) for name, value in match.groupdict().items()}
            return text(key, lang, **params)
    return message


def placeholders(template: str) -> set[str]:
    """The names of ``template``'s placeholders, those inside plural forms included."""
    names = set()
    for _, name, spec, _ in string.Formatter().parse(template.replace("[[", "").replace("]]", "")):
        if name:
            names.add(name)
        if spec and spec.startswith("plural:"):
            names |= placeholders(spec[len("plural:") :])
    return names

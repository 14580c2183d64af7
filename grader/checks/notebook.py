"""Checks on the notebook handed in with the store (read as saved: never executed)."""

from __future__ import annotations

import re
from typing import Any

from ..evidence.model import CellEv, Evidence, NotebookEv
from .base import Outcome, Settings, Texts, check, failed, passed, warned
from .registry import DEFAULT_ALIASES

_LOAD = re.compile(r"\bload_model\s*\(\s*(?:model_uri\s*=\s*)?([^\s,\)]+)?")
_PREDICT = re.compile(r"\.predict\s*\(")
_URI = re.compile(r"""models:/[^\s"'\)\]]+""")
_FSTRING_VAR = re.compile(r"\{\s*(\w+)\s*\}")
_ASSIGN = re.compile(r"""^\s*(\w+)\s*(?::\s*\w+\s*)?=\s*f?["']([^"'\n]+)["']""", re.M)
_NUMBER = re.compile(r"[-+]?\d+\.\d*(?:[eE][-+]?\d+)?")


def _rows_patterns(rows: int) -> list[re.Pattern]:
    n = int(rows)
    patterns = [
        rf"\.head\(\s*(?:n\s*=\s*)?{n}\s*\)",
        rf"\[\s*(?:0\s*)?:\s*{n}\s*(?:,[^\]]*)?\]",
        rf"\.sample\(\s*(?:n\s*=\s*)?{n}\b",
        rf"\.iloc\[\s*(?:0\s*)?:\s*{n}\b",
        rf"\.tail\(\s*(?:n\s*=\s*)?{n}\s*\)",
        rf"\brange\(\s*{n}\s*\)",
    ]
    if n == 5:
        patterns += [r"\.head\(\s*\)", r"\.tail\(\s*\)"]  # pandas' default is 5 rows
    return [re.compile(p) for p in patterns]


def _assignments(nb: NotebookEv) -> dict[str, str]:
    values: dict[str, str] = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            for name, value in _ASSIGN.findall(cell.source):
                values[name] = value
    return values


def _resolve(text: str, values: dict[str, str]) -> str:
    """Fill f-string placeholders ``{MODEL_NAME}`` with the notebook's string assignments."""
    return _FSTRING_VAR.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _uris(cell: CellEv, values: dict[str, str]) -> list[str]:
    """The ``models:/`` URIs a cell's ``load_model`` call uses (literal, f-string or variable)."""
    found = [u.rstrip("/") for u in _URI.findall(_resolve(cell.source, values))]
    for arg in _LOAD.findall(cell.source):
        if re.fullmatch(r"\w+", arg or "") and arg in values and values[arg].startswith("models:/"):
            found.append(_resolve(values[arg], values).rstrip("/"))
    return list(dict.fromkeys(found))


def _targets(s: Settings) -> set[str]:
    name, stage = s["model_name"], s["stage"]
    targets = {f"models:/{name}/{stage}".lower()}
    if s.get("accept_alias"):
        targets |= {
            f"models:/{name}@{str(a).lstrip('@')}".lower() for a in s.get("accepted_aliases") or DEFAULT_ALIASES
        }
    return targets


def _find(nb: NotebookEv, s: Settings):
    """(load cell, predict cell, other models:/ URIs loaded) for the last cell that loads a target."""
    values = _assignments(nb)
    targets = _targets(s)
    code = [c for c in nb.cells if c.cell_type == "code"]
    found, others = None, []
    for i, cell in enumerate(code):
        if not _LOAD.search(cell.source):
            continue
        uris = _uris(cell, values)
        if any(u.lower() in targets for u in uris):
            following = [c for c in code[i : i + 3] if _PREDICT.search(c.source)]
            found = (cell, following[0] if following else None)
        else:
            others += uris
    return found, others


def _shows_rows(cell: CellEv, rows: int, patterns: list[re.Pattern]) -> bool:
    if any(p.search(cell.source) for p in patterns):
        return True
    text = cell.output_text
    if "array(" in text or text.strip().startswith("["):
        return len(_NUMBER.findall(text)) == int(rows)
    return False


def _by(severity: str, key: str, **kwargs) -> Outcome:
    return warned(key, **kwargs) if severity == "warn" else failed(key, **kwargs)


#: notebook.final_cell's default texts: a rubric overrides any of them, per key and language.
NOTEBOOK_FINAL_CELL_TEXTS = Texts(
    title={
        "es": "El notebook tiene la celda final que carga models:/{model_name}/{stage} y predice {rows} filas",
        "en": "The notebook has the final cell that loads models:/{model_name}/{stage} and predicts {rows} rows",
    },
    messages={
        "ok": {
            "es": (
                "En {notebook}, la celda {cell} carga {uri} y predice {rows} {rows:plural:fila|filas}, con su salida "
                "guardada: {output}"
            ),
            "en": (
                "In {notebook}, cell {cell} loads {uri} and predicts {rows} {rows:plural:row|rows}, with its output "
                "saved: {output}"
            ),
        },
        "no_notebook": {
            "es": (
                "La entrega no trae ningún notebook (.ipynb): la tarea pide el notebook junto con mlruns/, así que "
                "no se pudo revisar la celda final."
            ),
            "en": (
                "The submission has no notebook (.ipynb): the homework asks for the notebook along with mlruns/, so "
                "the final cell could not be checked."
            ),
        },
        "unreadable": {
            "es": "No se pudo leer ningún notebook: {problems}.",
            "en": "No notebook could be read: {problems}.",
        },
        "no_cell": {
            "es": "Ninguna celda de {notebooks} carga {uri} con load_model.",
            "en": "No cell of {notebooks} loads {uri} with load_model.",
        },
        "wrong_uri": {
            "es": "Hay celdas que cargan un modelo, pero no {uri}: {found}.",
            "en": "Some cells load a model, but not {uri}: {found}.",
        },
        "no_predict": {
            "es": (
                "En {notebook}, la celda {cell} carga {uri} pero ni ella ni las dos siguientes llaman a .predict(...)."
            ),
            "en": "In {notebook}, cell {cell} loads {uri} but neither it nor the next two call .predict(...).",
        },
        "no_outputs": {
            "es": (
                "En {notebook}, la celda {cell} carga {uri} y predice, pero no tiene salidas guardadas, así que no "
                "se ve la predicción: ejecutala y guardá el notebook sin borrar las salidas."
            ),
            "en": (
                "In {notebook}, cell {cell} loads {uri} and predicts, but has no saved outputs, so the prediction "
                "cannot be seen: run it and save the notebook without clearing outputs."
            ),
        },
        "error_output": {
            "es": "En {notebook}, la celda {cell} terminó con un error: {error}",
            "en": "In {notebook}, cell {cell} ended with an error: {error}",
        },
        "no_rows": {
            "es": (
                "En {notebook}, la celda {cell} predice, pero no se ve que sea sobre {rows} {rows:plural:fila|filas} "
                "(por ejemplo X_test.head({rows}))."
            ),
            "en": (
                "In {notebook}, cell {cell} predicts, but not visibly on {rows} {rows:plural:row|rows} (for example "
                "X_test.head({rows}))."
            ),
        },
    },
    hint={
        "es": (
            "Agregá al final del notebook una celda: model = "
            'mlflow.pyfunc.load_model("models:/{model_name}/{stage}"); model.predict(X_test.head({rows})). '
            "Ejecutala, guardá el notebook con las salidas (no las borres) y entregalo junto a mlruns/."
        ),
        "en": (
            'Add a last cell to the notebook: model = mlflow.pyfunc.load_model("models:/{model_name}/{stage}"); '
            "model.predict(X_test.head({rows})). Run it, save the notebook with its outputs (do not clear them) and "
            "hand it in next to mlruns/."
        ),
    },
)


@check(
    "notebook.final_cell",
    settings={"rows": 5, "if_missing": "warn", "severity": "fail"},
    messages=(
        "ok",
        "no_notebook",
        "unreadable",
        "no_cell",
        "wrong_uri",
        "no_predict",
        "no_outputs",
        "error_output",
        "no_rows",
    ),
    texts=NOTEBOOK_FINAL_CELL_TEXTS,
    needs=("notebooks",),
)
def notebook_final_cell(ev: Evidence, s: Settings) -> Outcome:
    """The submission's notebook (any ``*.ipynb``, parsed with nbformat, never executed) has a
    code cell that loads ``models:/housing-best/Production`` with ``mlflow.pyfunc.load_model``
    (a literal, an f-string or a variable holding the URI) and, in that cell or the next two,
    predicts ``rows`` (5) test rows (``X_test.head(5)``, ``X_test[:5]``, ``.iloc[:5]``... or an
    output with 5 numbers), with its outputs saved and no error among them. Without any notebook
    the result is ``if_missing`` (warn by default: a bare ``mlruns/`` is gradable); with the
    rubric setting ``accept_alias: true``, ``models:/housing-best@champion`` (or
    ``@production``) is accepted too.

    Fix: add a last cell ``model = mlflow.pyfunc.load_model("models:/housing-best/Production")``
    followed by ``model.predict(X_test.head(5))``, run it, save the notebook with its outputs
    (do not clear them) and hand it in next to ``mlruns/``.
    """
    readable = [nb for nb in ev.notebooks if nb.error is None]
    if not ev.notebooks:
        return _by(str(s["if_missing"]), "no_notebook")
    broken = [f"{nb.path}: {nb.error}" for nb in ev.notebooks if nb.error]
    severity = str(s["severity"])
    uri = f"models:/{s['model_name']}/{s['stage']}"
    rows = int(s["rows"])
    evidence: dict = {"notebooks": [nb.path for nb in ev.notebooks], "unreadable": broken}
    if not readable:
        return _by(severity, "unreadable", evidence=evidence, problems="; ".join(broken))
    hits, others = [], []
    for nb in readable:
        found, loaded = _find(nb, s)
        others += [f"{u} ({nb.path})" for u in loaded]
        if found:
            hits.append((nb, *found))
    common: dict[str, Any] = {"uri": uri, "rows": rows, "notebooks": [nb.path for nb in readable]}
    if not hits:
        evidence["other_uris"] = others
        if others:
            return _by(severity, "wrong_uri", evidence=evidence, found=others[:5], **common)
        return _by(severity, "no_cell", evidence=evidence, **common)
    # Prefer a notebook whose cell passes; report the most complete attempt otherwise.
    patterns = _rows_patterns(rows)
    outcomes: list[tuple[int, str, dict[str, Any]]] = []
    for nb, load, pred in hits:
        where = {"notebook": nb.path, "cell": load.index}
        cells = [load] if pred is None or pred is load else [load, pred]
        errors = [c for c in cells if "error" in c.output_types]
        if errors:
            text = errors[0].output_text.splitlines()
            outcomes.append((3, "error_output", {**where, "error": text[-1][:200] if text else "?"}))
        elif pred is None:
            outcomes.append((1, "no_predict", where))
        elif pred.execution_count is None or not pred.output_types:
            outcomes.append((2, "no_outputs", {**where, "cell": pred.index}))
        elif not _shows_rows(pred, rows, patterns):
            outcomes.append((4, "no_rows", {**where, "cell": pred.index}))
        else:
            shown = pred.output_text.strip().splitlines()
            outcomes.append((9, "ok", {**where, "cell": pred.index, "output": (shown[0][:120] if shown else "-")}))
    _rank, key, params = max(outcomes, key=lambda o: o[0])
    evidence.update(params)
    if key == "ok":
        return passed(evidence=evidence, **common, **params)
    if key == "no_outputs":  # the right cell, only not run or saved without outputs: it is there
        return warned(key, evidence=evidence, **common, **params)
    return _by(severity, key, evidence=evidence, **common, **params)

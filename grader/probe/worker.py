"""The probe's child process: load one MLflow model folder, predict, write JSON. Nothing else.

Run by :mod:`grader.probe.runner` in a sandboxed child, never in the grader's own process: forked
from the grader (:mod:`grader.probe.fork`) or as ``python -m grader.probe.worker REQUEST.json``.
The request names the model folder, the rows, where to write the result, and whether pickles
are checked while they load (:mod:`grader.probe.unpickle`; off only with ``--trust-pickles``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
import warnings


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:400]}" if text else type(exc).__name__


def _refusal_in(exc: BaseException) -> str | None:
    """The checking unpickler's refusal, when a loader wrapped it in an exception of its own."""
    from .unpickle import Refused

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, Refused):
            return str(exc)[:500]
        exc = exc.__cause__ or exc.__context__
    return None


def _plain(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)[:100]
    return number if math.isfinite(number) else None


def run(request: dict) -> dict:
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    started = time.perf_counter()
    try:
        import numpy as np
        import pandas as pd
        import mlflow
        import mlflow.pyfunc

        from .unpickle import checked_unpickling

        if os.environ.get("MLFLOW_TRACKING_URI"):  # a forked worker inherits the grader's URI
            mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
        # suppress_warnings: no requirements check (about 1 s); the report compares the versions itself.
        if request.get("trust_pickles"):
            model = mlflow.pyfunc.load_model(request["model_dir"], suppress_warnings=True)
        else:
            with checked_unpickling(request.get("model_file") or "the model file") as guard:
                model = mlflow.pyfunc.load_model(request["model_dir"], suppress_warnings=True)
            if request.get("pickled") and guard.calls == 0:
                return {"ok": False, "stage": "refused", "error": "refused: MLflow loaded the pickled model without "
                        "the checking unpickler; the probe does not run it unchecked"}
    except BaseException as exc:  # noqa: BLE001 - the student's model may raise anything
        refusal = _refusal_in(exc)
        if refusal:
            return {"ok": False, "stage": "refused", "error": refusal}
        return {"ok": False, "stage": "load", "error": _line(exc)}
    loaded = time.perf_counter()
    try:
        frame = pd.DataFrame(request["rows"], columns=request["columns"])
        output = model.predict(frame)
        values = np.asarray(output, dtype=object).ravel().tolist()
    except BaseException as exc:  # noqa: BLE001
        return {"ok": False, "stage": "predict", "error": _line(exc)}
    timings = {"load_ms": round(1000 * (loaded - started), 1), "predict_ms": round(1000 * (time.perf_counter() - loaded), 1)}
    return {"ok": True, "predictions": [_plain(v) for v in values], "output_type": type(output).__name__, "timings": timings}


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as fh:
        request = json.load(fh)
    result = run(request)
    with open(request["result"], "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The probe's child process: load one MLflow model folder, predict, write JSON. Nothing else.

Run as ``python -m grader.probe.worker REQUEST.json`` by :mod:`grader.probe.runner`, never
in the grader's own process. The request names the model folder, the rows and where to
write the result.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import warnings


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:400]}" if text else type(exc).__name__


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
    try:
        import numpy as np
        import pandas as pd
        import mlflow.pyfunc

        model = mlflow.pyfunc.load_model(request["model_dir"])
    except BaseException as exc:  # noqa: BLE001 - the student's model may raise anything
        return {"ok": False, "stage": "load", "error": _line(exc)}
    try:
        frame = pd.DataFrame(request["rows"], columns=request["columns"])
        output = model.predict(frame)
        values = np.asarray(output, dtype=object).ravel().tolist()
    except BaseException as exc:  # noqa: BLE001
        return {"ok": False, "stage": "predict", "error": _line(exc)}
    return {"ok": True, "predictions": [_plain(v) for v in values], "output_type": type(output).__name__}


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as fh:
        request = json.load(fh)
    result = run(request)
    with open(request["result"], "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())

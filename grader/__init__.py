"""mlflow-grader: grade MLflow homework submissions.

The pipeline is visible in the sub-packages::

    submission -> snapshot (private rebased copy) -> evidence (plain data read from MLflow)
               -> checks (pure functions of evidence and rubric settings) -> result -> reports

Use it from Python with :func:`grader.grade` or from the shell with ``grade``.
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"


def _no_mlflow_telemetry() -> None:
    """Grading is offline: MLflow 3's usage telemetry (a background thread that calls home) stays off,
    unless ``MLFLOW_DISABLE_TELEMETRY`` says otherwise. It also keeps the grader single-threaded, which
    lets the model probe be forked from it (:mod:`grader.probe.fork`)."""
    if "MLFLOW_DISABLE_TELEMETRY" in _os.environ:
        return
    _os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    client = _sys.modules.get("mlflow.telemetry.client")
    if client is not None:  # MLflow was imported first: drop the client it made
        try:
            client.set_telemetry_client()
        except Exception:  # noqa: BLE001 - telemetry is MLflow's business
            pass


_no_mlflow_telemetry()


def grade(*args, **kwargs):
    """Grade a submission; see :func:`grader.api.grade`."""
    from .api import grade as _grade

    return _grade(*args, **kwargs)


__all__ = ["__version__", "grade"]

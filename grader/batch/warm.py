"""Imported once by batch grading's fork server (:mod:`grader.batch`): pays MLflow's and
scikit-learn's import cost, and reads the homework's test rows, before any student is forked.
MLflow's SQL stores are :mod:`grader.batch.warm_sql`'s, imported only for classes that may use them.

Importing this module never raises: a failure here only makes each student pay the imports.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Mapping
from typing import Any

WARM = False


def fill_small_store(uri: str) -> None:
    """Log into the store at ``uri`` what the homework logs, once (an experiment, a run with a metric,
    a param and a tag, a registered model whose version is in Production with an alias): the
    reading paths a grade takes (MLflow's loading of runs, versions, tags and aliases; SQLAlchemy's
    statements) only run when there are rows to read."""
    from mlflow.tracking import MlflowClient

    from ..evidence.reader import global_tracking_uri, quiet_mlflow
    from ..rubric import DEFAULT_RUBRIC, load_rubric

    settings = load_rubric(DEFAULT_RUBRIC).settings
    # MLflow 3's file store writes only with MLFLOW_ALLOW_FILE_STORE; its registry builds an
    # MlflowClient() of the global URI (by default ./mlflow.db, in whatever folder this runs).
    with quiet_mlflow(), global_tracking_uri(uri):
        _log_homework(MlflowClient(tracking_uri=uri, registry_uri=uri), settings)


def _log_homework(client: Any, settings: Mapping[str, Any]) -> None:
    from mlflow.entities import Metric, Param, RunTag

    experiment = client.create_experiment(str(settings.get("experiment", "homework-195")))
    run = client.create_run(experiment)
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric(str(settings.get("metric", "rmse_test")), 0.5, 0, 0)],
        params=[Param("model_type", "warm-up")],
        tags=[RunTag("mlflow.runName", "warm-up")],
    )
    client.set_terminated(run_id)
    name = str(settings.get("model_name", "housing-best"))
    client.create_registered_model(name, tags={"warm": "up"})
    version = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id, tags={"warm": "up"})
    client.transition_model_version_stage(name, version.version, "Production")
    client.set_registered_model_alias(name, "champion", version.version)


def _grade_a_small_file_store() -> None:
    """Grade (no probe) a small file store made here, once: MLflow's and the grader's first calls in
    a process (YAML loaders, entity classes, the checks' texts) are paid here, not by each student
    forked from here. In a temp dir removed at once."""
    import shutil
    import tempfile
    from pathlib import Path

    from ..api import grade

    folder = Path(tempfile.mkdtemp(prefix="mlflow-grader-warm-"))
    try:
        store = folder / "mlruns"
        fill_small_store(store.as_uri())
        grade(store, probe=False, workdir=folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Importing creates objects by the hundred thousand, none of them garbage: the collector's passes over
# them made a third of the fork server's start (measured: 3.1 s with it, 2.1 s without), which every
# batch waits for.
gc.disable()
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # imported for what importing them costs, not for their names
        import mlflow
        import mlflow.pyfunc
        import mlflow.sklearn
        import mlflow.tracking  # noqa: F401
        import sklearn.ensemble
        import sklearn.linear_model
        import sklearn.tree

        from .. import api  # noqa: F401
        from ..data import test_rows
        from ..probe import fork, runner, unpickle, worker  # noqa: F401
        from ..reports import render  # noqa: F401

        rows = test_rows(5)
        for name in (
            "mlflow.store.tracking.file_store",
            "mlflow.store.model_registry.file_store",
            "grader.checks",
            "grader.evidence.reader",
            "grader.fingerprints",
            "grader.reports.html",
        ):
            try:
                __import__(name)
            except Exception:  # noqa: BLE001
                pass
        try:  # what the first set_tracking_uri imports (MLflow's tracing and OpenTelemetry metrics)
            from ..evidence.reader import global_tracking_uri

            with global_tracking_uri("file:///nonexistent-mlflow-grader-warm-up"):
                pass
        except Exception:  # noqa: BLE001
            pass
        try:  # what scikit-learn imports on a first predict from a DataFrame (narwhals, validation)
            sklearn.linear_model.LinearRegression().fit(rows, range(len(rows))).predict(rows)
        except Exception:  # noqa: BLE001
            pass
        try:
            _grade_a_small_file_store()
        except Exception:  # noqa: BLE001 - a warm-up only
            pass
        try:  # compile the report template once
            from ..reports import html

            html.warm_up()
        except Exception:  # noqa: BLE001
            pass
        runner._versions()  # the grader's MLflow and scikit-learn versions, which every probe report names
    WARM = True
except BaseException:  # noqa: BLE001 - never take the fork server down
    WARM = False

# What is loaded now stays as it is in every student: the garbage collector of a forked student need
# not visit (and so copy, page by page) the fork server's objects.
gc.freeze()
gc.enable()

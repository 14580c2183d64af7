"""Imported once by batch grading's fork server (:mod:`grader.batch`): pays MLflow's and
scikit-learn's import cost, and reads the homework's test rows, before any student is forked.
MLflow's SQL stores are :mod:`grader.batch.warm_sql`'s, imported only for classes that may use them.

Importing this module never raises: a failure here only makes each student pay the imports.
"""

from __future__ import annotations

import gc
import warnings

WARM = False

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
        try:  # compile the report template once
            from ..reports import html

            html.warm_up()
        except Exception:  # noqa: BLE001
            pass
    WARM = True
except BaseException:  # noqa: BLE001 - never take the fork server down
    WARM = False

# What is loaded now stays as it is in every student: the garbage collector of a forked student need
# not visit (and so copy, page by page) the fork server's objects.
gc.freeze()

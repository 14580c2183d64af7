"""Imported once by batch grading's fork server (:mod:`grader.batch`): pays MLflow's and
scikit-learn's import cost, and reads the homework's test rows, before any student is forked.

Importing this module never raises: a failure here only makes each student pay the imports.
"""

from __future__ import annotations

import warnings

WARM = False

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow  # noqa: F401
        import mlflow.pyfunc  # noqa: F401
        import mlflow.sklearn  # noqa: F401
        import mlflow.tracking  # noqa: F401
        import sklearn.ensemble  # noqa: F401
        import sklearn.linear_model  # noqa: F401
        import sklearn.tree  # noqa: F401

        from . import api  # noqa: F401
        from .data import test_rows
        from .probe import runner, worker  # noqa: F401
        from .reports import render  # noqa: F401

        test_rows(5)
        try:  # the first MlflowClient builds its store registry; later ones reuse it
            from mlflow.tracking._tracking_service.utils import _tracking_store_registry  # noqa: F401
        except Exception:  # noqa: BLE001
            pass
    WARM = True
except BaseException:  # noqa: BLE001 - never take the fork server down
    WARM = False

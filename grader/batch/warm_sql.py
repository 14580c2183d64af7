"""Imported by batch grading's fork server after :mod:`grader.batch.warm` when a submission of the
class may hold a SQLite store (:func:`grader.batch.may_use_database`): MLflow's SQLAlchemy stores
(with SQLAlchemy and Alembic, about 1.4 s) and their ORM mappers (about 0.5 s on first use).

It also computes MLflow's latest schema revision once: MLflow's store checks every database it
opens against it, and finds it by parsing all of Alembic's migration scripts (about 35 ms, twice per
student: the tracking and the registry store). The head revision is a constant of the installed
MLflow, so the students forked from here read the one computed in the fork server.

Importing this module never raises: a failure here only makes each SQLite student pay the imports.
"""

from __future__ import annotations

import gc
import warnings

WARM = False


def _cache_schema_head() -> None:
    """Make ``mlflow.store.db.utils._get_latest_schema_revision`` compute its constant once (when
    this MLflow has it: a private function, so nothing happens where it is missing)."""
    import functools

    from mlflow.store.db import utils

    latest = getattr(utils, "_get_latest_schema_revision", None)
    if callable(latest) and not hasattr(latest, "cache_info"):
        cached = functools.cache(latest)
        cached()
        utils._get_latest_schema_revision = cached


try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow.store.model_registry.sqlalchemy_store
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
        from sqlalchemy.orm import configure_mappers

        configure_mappers()
        _cache_schema_head()
    WARM = True
except BaseException:  # noqa: BLE001 - never take the fork server down
    WARM = False

gc.freeze()

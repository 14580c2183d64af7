"""Imported by batch grading's fork server after :mod:`grader.batch.warm` when a submission of the
class may hold a SQLite store (:func:`grader.batch.may_use_database`): MLflow's SQLAlchemy stores
(with SQLAlchemy and Alembic, about 1.4 s) and their ORM mappers (about 0.5 s on first use).

Importing this module never raises: a failure here only makes each SQLite student pay the imports.
"""

from __future__ import annotations

import gc
import warnings

WARM = False

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow.store.model_registry.sqlalchemy_store
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
        from sqlalchemy.orm import configure_mappers

        configure_mappers()
    WARM = True
except BaseException:  # noqa: BLE001 - never take the fork server down
    WARM = False

gc.freeze()

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


def _grade_a_small_store() -> None:
    """Grade (no probe) a small SQLite store made here: SQLAlchemy compiles each statement MLflow
    sends, and builds its per-class caches, on first use in a process; done once here (0.35 s),
    the students forked from here find them made (measured on the reference's store: a student's
    grade without the probe 0.19 CPU s in a process forked before, 0.13 after). The tables are
    made from MLflow's own table models at the head revision (what migrating a new database gives,
    without the migrations' 2 s), in a temp dir removed at once; the rows by MLflow's client
    (:func:`grader.batch.warm.fill_small_store`)."""
    import shutil
    import tempfile
    from pathlib import Path

    import sqlalchemy
    from mlflow.store.db import utils
    from mlflow.store.db.base_sql_model import Base
    from mlflow.store.model_registry.dbmodels import models as _registry  # noqa: F401 - the tables
    from mlflow.store.tracking.dbmodels import models as _tracking  # noqa: F401 - the tables

    from ..api import grade
    from .warm import fill_small_store

    folder = Path(tempfile.mkdtemp(prefix="mlflow-grader-warm-"))
    try:
        db = folder / "mlflow.db"
        engine = sqlalchemy.create_engine(f"sqlite:///{db}")
        try:
            for table in Base.metadata.sorted_tables:  # one by one: an index this SQLite refuses costs its table only
                try:
                    table.create(engine, checkfirst=True)
                except Exception:  # noqa: BLE001
                    pass
            with engine.begin() as conn:
                conn.execute(
                    sqlalchemy.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
                )
                conn.execute(
                    sqlalchemy.text("INSERT INTO alembic_version VALUES (:head)"),
                    {"head": utils._get_latest_schema_revision()},
                )
        finally:
            engine.dispose()
        fill_small_store(f"sqlite:///{db}")
        grade(db, probe=False, workdir=folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


gc.disable()  # as in grader.batch.warm: nothing imported is garbage
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow.store.model_registry.sqlalchemy_store
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
        from sqlalchemy.orm import configure_mappers

        configure_mappers()
        _cache_schema_head()
        try:
            _grade_a_small_store()
        except Exception:  # noqa: BLE001 - a warm-up only
            pass
    WARM = True
except BaseException:  # noqa: BLE001 - never take the fork server down
    WARM = False

gc.freeze()
gc.enable()

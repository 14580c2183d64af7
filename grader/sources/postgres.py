"""A PostgreSQL backend store (``postgresql://``), read in place and read-only.

:func:`preflight_postgres` reads ``alembic_version`` through a plain read-only connection and refuses
a database whose schema revision is not the installed MLflow's head (MLflow would migrate it in
place) or whose schema is incomplete (MLflow would create tables). MLflow then opens the store
through a URI whose sessions are read-only (``default_transaction_read_only=on``): even an
attempted write fails. Artifacts come from ``--artifacts DIR``, copied and rebased like a folder
submission's.

The password (from the URI, ``?password=`` or the person's own ``PGPASSWORD``) is never put into
the process environment, nor into the URI MLflow is given: the source builds the SQLAlchemy engine
itself, with the password in the driver's connect arguments and a ``NullPool`` (no connection
outlives a query), and registers it as the engine of that URI in MLflow's SQL stores while the
source is open (:class:`_Engines`), so every MLflow client of the URI uses it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from ..errors import SubmissionError
from .base import OneStore, Source, SourceKind, SourceRequest, register
from .opened import RemoteSource
from .secrets import redact, scrub, secret_forms

POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg")
PG_CONNECT_TIMEOUT = 5
READ_ONLY_OPTION = "-c default_transaction_read_only=on"


def _pg_driver() -> str:
    """SQLAlchemy's driver name: psycopg2 (the ``[postgres]`` extra), else psycopg 3 when installed
    (SQLAlchemy >= 2.1 picks psycopg 3 for a bare ``postgresql://``)."""
    import importlib.util

    for module, name in (("psycopg2", "psycopg2"), ("psycopg", "psycopg")):
        if importlib.util.find_spec(module) is not None:
            return name
    raise SubmissionError(
        "reading a PostgreSQL store needs a PostgreSQL driver: pip install 'mlflow-grader[postgres]' (psycopg2-binary)"
    )


def postgres_uris(text: str) -> tuple[str, str | None, str]:
    """``(the URI MLflow opens, the password, the URI to show)`` for a PostgreSQL URI.

    The URI MLflow opens holds no password (the engine gets it, see :func:`engine_for`), makes every
    session read-only and says who is connecting (``application_name``)."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise SubmissionError(f"not a valid PostgreSQL URI: {redact(text)} ({exc})") from None
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    password = unquote(parts.password) if parts.password is not None else None
    password = password or next((v for k, v in pairs if k.lower() == "password"), None)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if parts.username is not None:
        netloc = quote(unquote(parts.username), safe="") + "@" + netloc
    options = " ".join([v for k, v in pairs if k == "options"] + [READ_ONLY_OPTION])
    query = [
        (k, v)
        for k, v in pairs
        if k.lower() != "password" and k not in ("options", "application_name", "connect_timeout")
    ]
    query += [("options", options), ("application_name", "mlflow-grader"), ("connect_timeout", str(PG_CONNECT_TIMEOUT))]
    mlflow_uri = urlunsplit(
        (f"postgresql+{_pg_driver()}", netloc, parts.path, urlencode(query, quote_via=quote, safe="/"), "")
    )
    return mlflow_uri, password, redact(text)


def _pg_error(exc: BaseException, shown: str, secrets: tuple[str, ...]) -> SubmissionError:
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())
    low = text.lower()
    if "connection refused" in low:
        why = "connection refused: the database server is not running (or listens on another host or port)"
    elif "password authentication failed" in low or "no password supplied" in low or "authentication failed" in low:
        why = "authentication failed: check the user name and the password (PGPASSWORD or the URI)"
    elif "does not exist" in low and "database" in low:
        why = "the database does not exist: check the name after the last / of the URI"
    elif "timeout" in low or "timed out" in low:
        why = f"no answer within {PG_CONNECT_TIMEOUT} s: check the host and that the server is running"
    elif "could not translate host name" in low:
        why = "unknown host: check its spelling"
    else:
        why = text[:200]
    return SubmissionError(scrub(f"cannot read the PostgreSQL store {shown}: {why}", secrets))


def schema_head() -> str:
    """The schema revision the installed MLflow expects (the head of its alembic scripts)."""
    from mlflow.store.db.utils import _get_latest_schema_revision

    return _get_latest_schema_revision()


def describe_revision(revision: str) -> str:
    """Whether ``revision`` is older than this MLflow's head, or unknown to it (a newer MLflow's)."""
    try:
        from alembic.script import ScriptDirectory
        from mlflow.store.db.utils import _get_alembic_config

        script = ScriptDirectory.from_config(_get_alembic_config(db_url=""))
        if script.get_revision(revision) is None:
            raise LookupError
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        return "unknown to this MLflow: written by a newer MLflow"
    return "older: written by an older MLflow"


def engine_for(mlflow_uri: str, password: str | None) -> Any:
    """A SQLAlchemy engine for ``mlflow_uri`` with ``password`` in the driver's connect arguments
    (never in the URI nor the environment) and no pool: each session opens and closes its connection."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    connect_args = {"password": password} if password is not None else {}
    return sqlalchemy.create_engine(mlflow_uri, poolclass=NullPool, connect_args=connect_args)


def preflight_postgres(
    mlflow_uri: str, shown: str, secrets: tuple[str, ...] = (), password: str | None = None
) -> dict[str, Any]:
    """Read the schema revision and the experiments through a read-only connection; refuse (one
    line) a database MLflow would have to migrate or complete. Nothing is written."""
    import sqlalchemy

    engine = engine_for(mlflow_uri, password)
    try:
        try:
            with engine.connect() as con:
                read_only = con.exec_driver_sql("SHOW transaction_read_only").scalar()
                if str(read_only).lower() != "on":
                    raise SubmissionError(
                        f"cannot open a read-only session on the PostgreSQL store {shown} "
                        "(a connection pooler dropping the options?): refusing to read it"
                    )
                tables = set(sqlalchemy.inspect(con).get_table_names())
                if "experiments" not in tables or "alembic_version" not in tables:
                    raise SubmissionError(
                        f"the PostgreSQL database {shown} holds no MLflow tracking store "
                        "(no experiments/alembic_version tables): check the database name"
                    )
                revisions = [r[0] for r in con.exec_driver_sql("SELECT version_num FROM alembic_version")]
                experiments = {
                    str(i): str(loc or "")
                    for i, loc in con.exec_driver_sql("SELECT experiment_id, artifact_location FROM experiments")
                }
                names = {str(i): str(n) for i, n in con.exec_driver_sql("SELECT experiment_id, name FROM experiments")}
        except SubmissionError:
            raise
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise _pg_error(exc, shown, secrets) from None
        head = schema_head()
        found = revisions[0] if len(revisions) == 1 else ",".join(revisions) or "(none)"
        if found != head:
            from mlflow import __version__ as mlflow_version

            raise SubmissionError(
                f"the PostgreSQL store {shown} is at MLflow schema revision {found} "
                f"({describe_revision(found)}), but this grader's MLflow {mlflow_version} reads revision {head} only: "
                "refusing to read it, since MLflow would migrate it in place (a grader never modifies a database); "
                "grade it with a grader on the MLflow that wrote it, or grade a copy (pg_dump) after "
                "'mlflow db upgrade' on the copy"
            )
        import mlflow.store.model_registry.sqlalchemy_store  # registers the registry's tables
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401 - registers the tracking tables
        from mlflow.store.db.utils import _all_tables_exist

        if not _all_tables_exist(engine):
            raise SubmissionError(
                f"the PostgreSQL store {shown} is at revision {found} but lacks some of MLflow's "
                "tables: MLflow would create them; refusing to read it"
            )
    finally:
        engine.dispose()
    return {"revision": found, "experiments": experiments, "names": names}


class _Engines:
    """The engines this package registered in MLflow's SQL stores, by URI, with their holders.

    MLflow's ``SqlAlchemyStore`` (tracking and registry) keeps one engine per database URI in a
    class-level map and creates it from the URI alone; registering the source's own engine there
    first is how the password reaches MLflow without the environment. Several sources of the same
    URI (a class on one database, graded in threads) share it; the last one to close removes and
    disposes of it. (Two different passwords for the same user, database and host at once: the
    first one's engine serves both.)"""

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _held: ClassVar[dict[str, tuple[int, Any]]] = {}

    @classmethod
    def _maps(cls) -> list[dict[str, Any]]:
        from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        return [SqlAlchemyStore._engine_map, RegistryStore._engine_map]

    @classmethod
    def hold(cls, mlflow_uri: str, password: str | None) -> None:
        with cls._lock:
            count, engine = cls._held.get(mlflow_uri, (0, None))
            if engine is None:
                engine = engine_for(mlflow_uri, password)
                for engines in cls._maps():
                    stale = engines.pop(mlflow_uri, None)  # made by MLflow from the bare URI: not ours
                    if stale is not None:
                        stale.dispose()
                    engines[mlflow_uri] = engine
            cls._held[mlflow_uri] = (count + 1, engine)

    @classmethod
    def release(cls, mlflow_uri: str) -> None:
        with cls._lock:
            count, engine = cls._held.pop(mlflow_uri, (0, None))
            if count > 1:
                cls._held[mlflow_uri] = (count - 1, engine)
                return
            for engines in cls._maps():
                if engines.get(mlflow_uri) is engine:
                    del engines[mlflow_uri]
            if engine is not None:
                engine.dispose()


def open_postgres(
    text: str,
    artifacts: str | os.PathLike | None = None,
    experiment_hint: str | None = None,
    workdir: str | os.PathLike | None = None,
) -> RemoteSource:
    """Check the database (:func:`preflight_postgres`), copy the graded experiment's artifacts from
    ``artifacts`` into a private folder, and return the :class:`RemoteSource`."""
    from ..submission.locate import Located
    from ..submission.snapshot import Rebaser, copy_artifacts

    mlflow_uri, password, shown = postgres_uris(text)
    secrets = tuple(secret_forms(password) + secret_forms(os.environ.get("PGPASSWORD")))
    root = None
    source = None
    try:
        info = preflight_postgres(mlflow_uri, shown, secrets, password)
        root = Path(tempfile.mkdtemp(prefix="mlflow-grader-remote-", dir=workdir))
        source = RemoteSource(
            input=shown,
            kind="postgresql",
            tracking_uri=mlflow_uri,
            root=root,
            secrets=secrets,
            schema_revision=info["revision"],
        )
        _Engines.hold(mlflow_uri, password)
        source.cleanups.append(lambda: _Engines.release(mlflow_uri))
        source.notes.append(
            f"read from the PostgreSQL store {shown} (schema revision {info['revision']}) "
            "through read-only transactions"
        )
        locations: dict[str, str] = info["experiments"]
        for exp_id in locations:
            source.experiment_dirs[exp_id] = root / "artifacts" / exp_id
        source.rebaser = Rebaser(root, source.experiment_dirs)
        if artifacts is None:
            source.notes.append(
                "no --artifacts DIR given: the models cannot be read (give the folder that holds "
                "the experiments' artifact folders)"
            )
            return source
        base = Path(artifacts).expanduser()
        if not base.is_dir():
            raise SubmissionError(f"--artifacts folder not found: {artifacts}")
        base = base.absolute()
        graded = [i for i, n in info["names"].items() if n == experiment_hint] if experiment_hint else list(locations)
        located = Located(input=shown, base=base, kind="postgresql", store=base / "(postgresql)")
        missing, links = copy_artifacts(located, {i: locations[i] for i in graded}, source)
        if missing:
            source.notes.append(f"no artifacts folder for experiment id(s) {', '.join(missing)} in {artifacts}")
        if links:
            source.notes.append(f"{links} symbolic link(s) in {artifacts} were ignored (never followed)")
        return source
    except BaseException:
        if source is not None:
            source.close()
        elif root is not None:
            shutil.rmtree(root, ignore_errors=True)
        raise


class PostgresSource(OneStore):
    """``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB``: a backend store, read in place, read-only;
    its artifacts from ``--artifacts DIR``."""

    kind = "postgresql"
    what = "error.kind_database"
    takes = frozenset({"artifacts"})

    def _open(self) -> RemoteSource:
        r = self.request
        return open_postgres(r.text, artifacts=r.artifacts, experiment_hint=r.experiment_hint, workdir=r.workdir)


def _build(request: SourceRequest) -> Source:
    return PostgresSource(request)


register(SourceKind("postgresql", POSTGRES_SCHEMES, _build))

__all__ = [
    "POSTGRES_SCHEMES",
    "PostgresSource",
    "describe_revision",
    "engine_for",
    "open_postgres",
    "postgres_uris",
    "preflight_postgres",
    "schema_head",
]

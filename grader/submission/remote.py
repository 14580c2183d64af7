"""Former home of the remote sources, kept so that ``grader.submission.remote`` names still import.

Every kind of source now lives in :mod:`grader.sources` (one module per kind, a registry, the
:class:`~grader.sources.base.Source` protocol); secrets and redaction in
:mod:`grader.sources.secrets`. The names below are re-exports of those.
"""

from __future__ import annotations

from ..sources.base import kind_of, open_source
from ..sources.opened import RemoteSource
from ..sources.postgres import (
    PG_CONNECT_TIMEOUT,
    POSTGRES_SCHEMES,
    READ_ONLY_OPTION,
    describe_revision,
    open_postgres,
    postgres_uris,
    preflight_postgres,
    schema_head,
)
from ..sources.secrets import SECRET_KEYS, ServerCredentials, redact, scrub, secret_forms
from ..sources.server import (
    MLFLOW_HTTP_ENV,
    PREFLIGHT_ATTEMPTS,
    PREFLIGHT_TIMEOUT,
    SERVER_SCHEMES,
    open_server,
    preflight_server,
    split_server_uri,
)


def remote_kind(text: str) -> str | None:
    """``"server"`` or ``"postgresql"`` for a source read in place, else None (a folder or a file)."""
    name = kind_of(text).name
    return name if name in ("server", "postgresql") else None


__all__ = [
    "MLFLOW_HTTP_ENV",
    "PG_CONNECT_TIMEOUT",
    "POSTGRES_SCHEMES",
    "PREFLIGHT_ATTEMPTS",
    "PREFLIGHT_TIMEOUT",
    "READ_ONLY_OPTION",
    "SECRET_KEYS",
    "SERVER_SCHEMES",
    "RemoteSource",
    "ServerCredentials",
    "describe_revision",
    "open_postgres",
    "open_server",
    "open_source",
    "postgres_uris",
    "preflight_postgres",
    "preflight_server",
    "redact",
    "remote_kind",
    "schema_head",
    "scrub",
    "secret_forms",
    "split_server_uri",
]

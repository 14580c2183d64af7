"""Submissions that live on a tracking server (``http(s)://``) or in a PostgreSQL backend store.

:func:`open_source` is what :func:`grader.api.grade` opens: a folder, a database file or an archive
goes to :func:`grader.submission.open_submission` (a private rebased copy); a tracking URI gives a
:class:`RemoteSource`, which is, like :class:`~grader.submission.snapshot.Snapshot`, an
:class:`~grader.submission.snapshot.OpenedStore` (``tracking_uri``, ``root``, ``kind``, ``notes``,
``notebooks``, ``experiment_dirs``, ``schema_revision``, ``files``, ``layout()``, ``close()``: the
protocol the readers read), and is read by :mod:`grader.evidence.remote`.

Strictly read-only, and never trusted blindly:

* ``http(s)://``: before MLflow is involved, :func:`preflight_server` asks the server one read-only
  question (``GET /api/2.0/mlflow/experiments/search?max_results=1``) with :mod:`urllib`, bounded
  timeouts and retries, no redirects followed, and turns every way it can fail (refused, down, slow,
  401/403, 5xx, HTML instead of JSON) into one line that says what to check. MLflow's own HTTP
  retries and timeouts are then set to small bounded values for the grader's process only
  (:data:`MLFLOW_HTTP_ENV`), and restored by :meth:`RemoteSource.close`.
* ``postgresql://``: :func:`preflight_postgres` reads ``alembic_version`` through a plain read-only
  connection and refuses a database whose schema revision is not the installed MLflow's head (MLflow
  would migrate it in place) or whose schema is incomplete (MLflow would create tables). MLflow then
  opens the store through a URI whose sessions are read-only (``default_transaction_read_only=on``):
  even an attempted write fails. Artifacts come from ``--artifacts DIR``, copied and rebased like a
  folder submission's.

Credentials (``user:pass@`` in the URI, ``MLFLOW_TRACKING_PASSWORD``, ``MLFLOW_TRACKING_TOKEN``,
``PGPASSWORD``) never appear in a report, log or message: the URI shown is :func:`redact`-ed, a
password from the URI is moved into the environment variable MLflow (or libpq) reads for the
duration of the grade, so the URI MLflow sees holds none, and every message read back from MLflow
goes through :meth:`RemoteSource.scrub`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from ..errors import SubmissionError
from .snapshot import ModelFiles, Snapshot

SERVER_SCHEMES = ("http", "https")
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2")
#: Query parameters whose values are secrets (redacted wherever a URI is shown).
SECRET_KEYS = ("password", "passwd", "pwd", "token", "secret", "access_token", "api_key", "apikey", "sslpassword")

#: The preflight: seconds per attempt and attempts (retries only for refused, timeouts and 5xx).
#: ``MLFLOW_GRADER_HTTP_TIMEOUT`` / ``MLFLOW_GRADER_HTTP_ATTEMPTS`` override them.
PREFLIGHT_TIMEOUT = 5.0
PREFLIGHT_ATTEMPTS = 3
PREFLIGHT_BACKOFF = 0.5
MAX_PREFLIGHT_BODY = 1024**2
#: MLflow's own HTTP client, for the grader's process only while a server is graded (its defaults
#: are 7 retries with a backoff factor of 2 and a 120 s timeout: minutes before a dead server fails).
MLFLOW_HTTP_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
PG_CONNECT_TIMEOUT = 5
READ_ONLY_OPTION = "-c default_transaction_read_only=on"


# --------------------------------------------------------------------------- URIs and secrets


def remote_kind(text: str) -> str | None:
    """``"server"`` for ``http(s)://``, ``"postgresql"`` for a PostgreSQL URI, else None."""
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in SERVER_SCHEMES:
        return "server"
    if scheme in POSTGRES_SCHEMES:
        return "postgresql"
    return None


def redact(text: str) -> str:
    """``text`` with a URI's password and secret query values replaced by ``***`` (user names stay)."""
    if "://" not in text:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return "<unparsable URI>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = (userinfo.split(":", 1)[0] + ":***" if ":" in userinfo else userinfo) + "@" + host
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() in SECRET_KEYS else v) for k, v in pairs], safe="/:,*")
    if netloc == parts.netloc and query == parts.query:
        return text  # nothing secret: echoed as given (urlunsplit would turn sqlite://// into sqlite://)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _secret_forms(value: str | None) -> list[str]:
    if not value or len(value) < 3:  # a 1-2 character "secret" would garble every message
        return []
    return list(dict.fromkeys([value, quote(value, safe=""), unquote(value)]))


def scrub(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """``text`` with every secret replaced by ``***``, and any URI's password redacted."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    if "://" in text and "@" in text:
        text = " ".join(redact(word) if "://" in word and "@" in word else word for word in text.split(" "))
    return text


class _Env:
    """Set environment variables for the grader's own process, and put them back afterwards."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, name: str, value: str | None) -> None:
        if name not in self._saved:
            self._saved[name] = os.environ.get(name)
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()


# --------------------------------------------------------------------------- the source


@dataclass
class RemoteSource:
    """A tracking server or a PostgreSQL store, with a private folder for what is downloaded."""

    input: str  # the URI as given, redacted
    kind: str  # "server" | "postgresql"
    tracking_uri: str  # what MLflow opens: never holds a credential
    root: Path  # private temp folder: downloaded artifacts, copied --artifacts, notebooks
    notes: list[str] = field(default_factory=list)
    experiment_dirs: dict[str, Path] = field(default_factory=dict)  # postgresql: exp id -> artifacts copy
    notebooks: list[Path] = field(default_factory=list)
    secrets: tuple[str, ...] = ()
    server_version: str | None = None
    schema_revision: str = ""  # postgresql: the Alembic revision read by preflight_postgres
    #: postgresql: maps a stored artifact location to its place in ``root`` (a snapshot Rebaser).
    rebaser: Any = None
    #: server: a model described from its listing -> where to download it (see grader.evidence.remote).
    remote_models: dict[str, Any] = field(default_factory=dict)
    #: Everything here is a real file (downloaded or copied): nothing is deferred.
    files: ModelFiles = field(default_factory=ModelFiles)
    _env: _Env = field(default_factory=_Env, repr=False)

    def layout(self) -> str:
        return "unknown"  # told from the models the reader finds

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)

    def close(self) -> None:
        self._env.restore()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> RemoteSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_source(
    submission: str | os.PathLike,
    experiment_hint: str | None = None,
    workdir: str | os.PathLike | None = None,
    artifacts: str | os.PathLike | None = None,
    store: str | os.PathLike | None = None,
) -> Snapshot | RemoteSource:
    """A folder/database/archive -> its private snapshot; a tracking URI -> a :class:`RemoteSource`."""
    text = os.fspath(submission)
    kind = remote_kind(text)
    if kind is None:
        if artifacts is not None:
            raise SubmissionError("--artifacts goes with a postgresql:// backend store, not with a folder or a file")
        from . import open_submission

        return open_submission(submission, experiment_hint=experiment_hint, workdir=workdir, store=store)
    if store is not None:
        raise SubmissionError(
            "--store picks one store inside a folder: a tracking server or a database URI is one store"
        )
    if kind == "server":
        if artifacts is not None:
            raise SubmissionError(
                "--artifacts goes with a postgresql:// backend store: a tracking server serves its own artifacts"
            )
        return open_server(text, workdir=workdir)
    return open_postgres(text, artifacts=artifacts, experiment_hint=experiment_hint, workdir=workdir)


# --------------------------------------------------------------------------- tracking server


@dataclass
class ServerCredentials:
    username: str | None = None
    password: str | None = None
    token: str | None = None

    def __repr__(self) -> str:  # never print a secret by accident
        password, token = "***" if self.password else None, "***" if self.token else None
        return f"ServerCredentials(username={self.username!r}, password={password}, token={token})"

    def header(self) -> str | None:
        if self.username is not None and self.password is not None:
            return "Basic " + b64encode(f"{self.username}:{self.password}".encode()).decode()
        if self.token:
            return f"Bearer {self.token}"
        return None

    @property
    def given(self) -> bool:
        return self.header() is not None


def split_server_uri(text: str, environ: Mapping[str, str] | None = None) -> tuple[str, ServerCredentials]:
    """``(base URI without credentials, credentials)``: the URI's ``user:pass@`` wins over
    ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD``; ``MLFLOW_TRACKING_TOKEN`` is a bearer token."""
    environ = os.environ if environ is None else environ
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise SubmissionError(f"not a valid tracking URI: {redact(text)} ({exc})") from None
    if not parts.hostname:
        raise SubmissionError(f"not a valid tracking URI (no host): {redact(text)}")
    creds = ServerCredentials(
        username=environ.get("MLFLOW_TRACKING_USERNAME"),
        password=environ.get("MLFLOW_TRACKING_PASSWORD"),
        token=environ.get("MLFLOW_TRACKING_TOKEN"),
    )
    if parts.username is not None:
        creds.username = unquote(parts.username)
        creds.password = unquote(parts.password) if parts.password is not None else creds.password
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host + (f":{port}" if port else "")
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), netloc, path, "", "")), creds


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is reported, never followed (credentials must not travel to another place)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _tls_context() -> ssl.SSLContext:
    """The TLS settings MLflow's client would use (``MLFLOW_TRACKING_INSECURE_TLS``,
    ``MLFLOW_TRACKING_SERVER_CERT_PATH``), so the preflight agrees with it."""
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    cafile = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH")
    return ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()


def _env_number(name: str, default: float, minimum: float) -> float:
    try:
        return max(minimum, float(os.environ.get(name, default)))
    except ValueError:
        return default


def _error_snippet(body: bytes) -> str:
    """MLflow's JSON error (``error_code: message``), or nothing, in at most 160 characters."""
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    text = ": ".join(str(data[k]) for k in ("error_code", "message") if data.get(k))
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:160]


def preflight_server(
    base: str, creds: ServerCredentials, *, timeout: float | None = None, attempts: int | None = None
) -> dict[str, Any]:
    """Ask the server one read-only question before MLflow is involved; raise
    :class:`SubmissionError` with one actionable line when it cannot be graded.

    Returns ``{"version": ...}`` (the server's MLflow version when it tells it)."""
    timeout = timeout or _env_number("MLFLOW_GRADER_HTTP_TIMEOUT", PREFLIGHT_TIMEOUT, 0.1)
    attempts = int(attempts or _env_number("MLFLOW_GRADER_HTTP_ATTEMPTS", PREFLIGHT_ATTEMPTS, 1))
    shown = redact(base)
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=_tls_context()))
    headers = {"Accept": "application/json", "User-Agent": "mlflow-grader"}
    authorization = creds.header()
    if authorization:
        headers["Authorization"] = authorization
    url = f"{base}/api/2.0/mlflow/experiments/search?max_results=1"
    last: str = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(PREFLIGHT_BACKOFF * 2 ** (attempt - 1))
        request = urllib.request.Request(url, headers=headers, method="GET")  # noqa: S310 - http(s) (SERVER_SCHEMES)
        try:
            with opener.open(request, timeout=timeout) as response:
                body = response.read(MAX_PREFLIGHT_BODY)
                ctype = response.headers.get("Content-Type", "")
                status = response.status
        except urllib.error.HTTPError as exc:
            status, ctype = exc.code, exc.headers.get("Content-Type", "") if exc.headers else ""
            try:
                body = exc.read(64 * 1024)
            except OSError:
                body = b""
            if status in (500, 502, 503, 504) and attempt + 1 < attempts:
                last = f"HTTP {status}"
                continue
            _raise_for_status(shown, status, ctype, body, creds, exc.headers, attempts=attempt + 1)
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ConnectionRefusedError):
                last = "refused"
                continue
            if isinstance(reason, (TimeoutError, socket.timeout)):
                last = "timeout"
                continue
            if isinstance(reason, socket.gaierror):
                raise SubmissionError(
                    f"cannot resolve the host of the tracking URI {shown}: check its spelling"
                ) from None
            if isinstance(reason, ssl.SSLError):
                raise SubmissionError(
                    f"TLS error talking to {shown} ({type(reason).__name__}: {str(reason)[:120]}): "
                    "check https/http and the server's certificate"
                ) from None
            if isinstance(reason, OSError):
                last = f"{type(reason).__name__}: {reason.strerror or reason}"
                continue
            raise SubmissionError(f"cannot reach the tracking server at {shown}: {str(reason)[:160]}") from None
        except TimeoutError:
            last = "timeout"
            continue
        except (ConnectionError, OSError) as exc:  # reset, aborted, a read that failed half way
            last = f"{type(exc).__name__}"
            continue
        else:
            if status != 200:
                _raise_for_status(shown, status, ctype, body, creds, {}, attempts=attempt + 1)
            _require_json(shown, ctype, body)
            return {"version": _server_version(opener, base, headers, timeout)}
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    if last == "refused":
        raise SubmissionError(
            f"cannot connect to the tracking server at {shown}: connection refused (ConnectionRefusedError, {tries}): "
            "the tracking URI points at a server that is not running; start it (mlflow server --host ... --port ...) "
            "or check the host and port"
        )
    if last == "timeout":
        raise SubmissionError(
            f"the tracking server at {shown} did not answer within {timeout:g} s ({tries}): "
            "check that it is running and not overloaded, and that the URI is right"
        )
    if last.startswith("HTTP 5"):
        raise SubmissionError(
            f"the tracking server at {shown} keeps failing with {last} (server error, {tries}): "
            "check the server's log (is its backend store reachable and up to date?)"
        )
    raise SubmissionError(f"cannot reach the tracking server at {shown} ({last}, {tries}): check that it is running")


def _raise_for_status(
    shown: str, status: int, ctype: str, body: bytes, creds: ServerCredentials, headers, attempts: int
) -> None:
    if status == 401:
        if creds.given:
            raise SubmissionError(
                f"the tracking server at {shown} rejected the credentials (HTTP 401): check "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)"
            )
        raise SubmissionError(
            f"the tracking server at {shown} requires credentials (HTTP 401): set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)"
        )
    if status == 403:
        raise SubmissionError(
            f"the tracking server at {shown} refused access (HTTP 403): the user "
            f"{creds.username or '(none)'} needs READ permission on the experiments and models"
        )
    if 300 <= status < 400:
        where = ""
        location = headers.get("Location") if headers else None
        if location:
            loc = urlsplit(location)
            where = (
                f" to {urlunsplit((loc.scheme, loc.hostname or '', loc.path, '', ''))}"
                if loc.scheme
                else f" to {loc.path}"
            )
        raise SubmissionError(
            f"{shown} redirects (HTTP {status}){where} instead of answering MLflow's REST API: "
            "a login page or a proxy? Use the tracking server's own URI"
        )
    if status == 404:
        raise SubmissionError(
            f"{shown} has no MLflow REST API (HTTP 404 for /api/2.0/mlflow/experiments/search): "
            "not an MLflow tracking server, or the URI lacks the server's path prefix (--static-prefix)"
        )
    if status >= 500:
        snippet = _error_snippet(body)
        raise SubmissionError(
            f"the tracking server at {shown} failed with HTTP {status} (server error"
            + (f": {snippet}" if snippet else "")
            + f", {attempts} attempt{'s' if attempts != 1 else ''}): "
            "check the server's log (is its backend store reachable and up to date?)"
        )
    snippet = _error_snippet(body)
    raise SubmissionError(
        f"the tracking server at {shown} answered HTTP {status}"
        + (f" ({snippet})" if snippet else "")
        + ": not what an MLflow tracking server answers; check the tracking URI"
    )


def _require_json(shown: str, ctype: str, body: bytes) -> None:
    text = body.lstrip()[:512].lower()
    if "json" not in ctype.lower() or text.startswith((b"<!doctype", b"<html", b"<")):
        what = (
            "HTML" if b"<html" in text or text.startswith(b"<!doctype") else (ctype.split(";")[0] or "no content type")
        )
        raise SubmissionError(
            f"{shown} answered with {what}, not JSON: it is not an MLflow tracking server "
            "(a web page, a login page or a proxy?); check the tracking URI"
        )
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SubmissionError(
            f"{shown} answered with malformed JSON: it is not an MLflow tracking server "
            "(or a proxy cut the answer); check the tracking URI"
        ) from None
    if not isinstance(data, dict):
        raise SubmissionError(f"{shown} answered JSON that is not MLflow's: check the tracking URI")


def _server_version(opener, base: str, headers: dict, timeout: float) -> str | None:
    try:
        request = urllib.request.Request(f"{base}/version", headers=headers)  # noqa: S310 - http(s), see open_source
        with opener.open(request, timeout=timeout) as response:
            text = response.read(64).decode("ascii", "replace").strip()
    except Exception:  # noqa: BLE001 - only informative
        return None
    return text if text and len(text) < 40 and all(c.isalnum() or c in ".+-_" for c in text) else None


def open_server(text: str, workdir: str | os.PathLike | None = None) -> RemoteSource:
    """Check the server (:func:`preflight_server`), then return its :class:`RemoteSource` with MLflow's
    HTTP settings and the credentials in this process's environment until ``close()``."""
    base, creds = split_server_uri(text)
    secrets = tuple(s for v in (creds.password, creds.token) for s in _secret_forms(v))
    try:
        info = preflight_server(base, creds)
    except SubmissionError as exc:
        raise SubmissionError(scrub(str(exc), secrets)) from None
    root = Path(tempfile.mkdtemp(prefix="mlflow-grader-remote-", dir=workdir))
    source = RemoteSource(
        input=redact(text),
        kind="server",
        tracking_uri=base,
        root=root,
        secrets=secrets,
        server_version=info.get("version"),
    )
    env = source._env
    for name, value in MLFLOW_HTTP_ENV.items():
        env.set(name, value)
    if creds.username is not None and creds.password is not None:
        env.set("MLFLOW_TRACKING_USERNAME", creds.username)
        env.set("MLFLOW_TRACKING_PASSWORD", creds.password)
    env.set("MLFLOW_TRACKING_URI", None)  # MLflow must only ever see the URI the grader passes
    version = f" (MLflow {source.server_version})" if source.server_version else ""
    source.notes.append(f"read over the tracking server {redact(base)}{version}, read-only")
    return source


# --------------------------------------------------------------------------- PostgreSQL


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

    The URI MLflow opens holds no password (it goes to ``PGPASSWORD`` meanwhile), makes every
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


def preflight_postgres(mlflow_uri: str, shown: str, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read the schema revision and the experiments through a read-only connection; refuse (one
    line) a database MLflow would have to migrate or complete. Nothing is written."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    engine = sqlalchemy.create_engine(mlflow_uri, poolclass=NullPool)
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


def open_postgres(
    text: str,
    artifacts: str | os.PathLike | None = None,
    experiment_hint: str | None = None,
    workdir: str | os.PathLike | None = None,
) -> RemoteSource:
    """Check the database (:func:`preflight_postgres`), copy the graded experiment's artifacts from
    ``artifacts`` into a private folder, and return the :class:`RemoteSource`."""
    from .locate import Located
    from .snapshot import Rebaser, copy_artifacts

    mlflow_uri, password, shown = postgres_uris(text)
    secrets = tuple(_secret_forms(password) + _secret_forms(os.environ.get("PGPASSWORD")))
    env = _Env()
    if password is not None:
        env.set("PGPASSWORD", password)
    root = None
    try:
        info = preflight_postgres(mlflow_uri, shown, secrets)
        root = Path(tempfile.mkdtemp(prefix="mlflow-grader-remote-", dir=workdir))
        source = RemoteSource(
            input=shown,
            kind="postgresql",
            tracking_uri=mlflow_uri,
            root=root,
            secrets=secrets,
            schema_revision=info["revision"],
            _env=env,
        )
        env.set("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")  # no connection outlives the grade
        env.set("MLFLOW_TRACKING_URI", None)
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
        env.restore()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
        raise


__all__ = [
    "RemoteSource",
    "open_postgres",
    "open_server",
    "open_source",
    "preflight_postgres",
    "preflight_server",
    "redact",
    "remote_kind",
    "schema_head",
    "scrub",
]

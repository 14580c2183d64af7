"""A tracking server (``http(s)://``), read read-only over MLflow's REST API.

Before MLflow is involved, :func:`preflight_server` asks the server one read-only question
(``GET /api/2.0/mlflow/experiments/search?max_results=1``) with :mod:`urllib`, bounded timeouts and
retries, no redirects followed, and turns every way it can fail (refused, down, slow, 401/403, 5xx,
HTML instead of JSON) into one line that says what to check.

Credentials (``user:pass@`` in the URI, else ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD``
or ``MLFLOW_TRACKING_TOKEN`` as the person running the grader set them, else ``credentials=``) stay
with the opened source and are handed to MLflow explicitly, never through ``os.environ``:

* the tracking and registry stores are MLflow's own ``RestStore``\\ s built with a host-creds callable
  (``RestStore(get_host_creds)``, the way MLflow's REST plugins authenticate) that returns this
  source's :class:`~mlflow.utils.rest_utils.MlflowHostCreds` (:func:`host_creds`);
* artifacts are listed and downloaded by MLflow's HTTP artifact repositories, subclassed so that
  every request carries the same credentials (:class:`CredentialedArtifacts`), read-only.

So two servers (or one server with two users) can be read at once in one process. Only MLflow's
HTTP retries and timeouts (:data:`MLFLOW_HTTP_ENV`, settings MLflow reads from the environment
only) are set for the process while any server is open (:class:`~grader.sources.opened.SharedSettings`).
"""

from __future__ import annotations

import json
import os
import posixpath
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ..errors import SubmissionError
from .base import OneStore, Source, SourceKind, SourceRequest, register
from .opened import RemoteSource, SharedSettings
from .secrets import ServerCredentials, redact, scrub

SERVER_SCHEMES = ("http", "https")

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
#: Held while any server is open; MLflow must only ever see the URI the grader passes.
HTTP_SETTINGS = {**MLFLOW_HTTP_ENV, "MLFLOW_TRACKING_URI": None}


def split_server_uri(text: str, environ: Mapping[str, str] | None = None) -> tuple[str, ServerCredentials]:
    """``(base URI without credentials, credentials)``: the URI's ``user:pass@`` wins over
    ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD``; ``MLFLOW_TRACKING_TOKEN`` is a bearer token.
    The environment is only read (``environ``: another mapping to read instead)."""
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


# --------------------------------------------------------------------------- MLflow, with this source's credentials


def host_creds(host: str, creds: ServerCredentials) -> Any:
    """MLflow's ``MlflowHostCreds`` for ``host`` with ``creds`` (Basic wins over a token, as in
    :meth:`ServerCredentials.header`). TLS settings are MLflow's own (``MLFLOW_TRACKING_INSECURE_TLS``,
    ``MLFLOW_TRACKING_SERVER_CERT_PATH``, ``MLFLOW_TRACKING_CLIENT_CERT_PATH``): settings, not secrets."""
    from mlflow.environment_variables import (
        MLFLOW_TRACKING_CLIENT_CERT_PATH,
        MLFLOW_TRACKING_INSECURE_TLS,
        MLFLOW_TRACKING_SERVER_CERT_PATH,
    )
    from mlflow.utils.rest_utils import MlflowHostCreds

    basic = creds.username is not None and creds.password is not None
    return MlflowHostCreds(
        host=host,
        username=creds.username if basic else None,
        password=creds.password if basic else None,
        token=None if basic else creds.token,
        ignore_tls_verification=MLFLOW_TRACKING_INSECURE_TLS.get(),
        client_cert_path=MLFLOW_TRACKING_CLIENT_CERT_PATH.get(),
        server_cert_path=MLFLOW_TRACKING_SERVER_CERT_PATH.get(),
    )


def server_client(base: str, creds: ServerCredentials) -> Any:
    """An ``MlflowClient`` for the server at ``base`` whose tracking and registry stores are
    ``RestStore(get_host_creds)`` with this source's credentials (MLflow's default store would read
    them from the environment)."""
    from mlflow.store.model_registry.rest_store import RestStore as RegistryRestStore
    from mlflow.store.tracking.rest_store import RestStore
    from mlflow.tracking import MlflowClient
    from mlflow.tracking._model_registry.client import ModelRegistryClient
    from mlflow.tracking._tracking_service.client import TrackingServiceClient

    get_creds = partial(host_creds, base, creds)
    tracking_store, registry_store = RestStore(get_creds), RegistryRestStore(get_creds)

    class Tracking(TrackingServiceClient):
        @property
        def store(self):
            return tracking_store

    class Registry(ModelRegistryClient):
        @property
        def store(self):
            return registry_store

    client = MlflowClient(tracking_uri=base, registry_uri=base)  # builds no connection
    # MlflowClient reaches its stores through these two (see MlflowClient.__init__ and _get_registry_client).
    client._tracking_client = Tracking(base)
    client._registry_client_lazy = Registry(base, base)  # type: ignore[attr-defined]  # MLflow sets it lazily
    return client


def artifact_repository(uri: str, base: str, creds: ServerCredentials) -> Any:
    """MLflow's repository for an artifact URI the server serves (``mlflow-artifacts:`` or
    ``http(s)`` on its host), every request with ``creds``; read-only."""
    from mlflow.entities import FileInfo
    from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository
    from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository
    from mlflow.utils.rest_utils import augmented_raise_for_status, http_request
    from mlflow.utils.uri import validate_path_is_safe

    class CredentialedArtifacts:
        """Mixed in before MLflow's class: the requests MLflow would authenticate from the environment
        carry this source's credentials; downloads stream through the server (no presigned URLs)."""

        artifact_uri: str

        @property
        def _host_creds(self):
            return host_creds(self.artifact_uri, creds)

        @property
        def _artifact_server_host_creds(self):
            return host_creds(self.artifact_uri.partition("/api/2.0/mlflow-artifacts/artifacts")[0], creds)

        def _is_multipart_download_enabled(self) -> bool:
            return False

        def list_artifacts(self, path=None):
            # HttpArtifactRepository.list_artifacts, with these credentials instead of the environment's.
            endpoint = "/mlflow-artifacts/artifacts"
            url, tail = self.artifact_uri.split(endpoint, maxsplit=1)
            root = tail.lstrip("/")
            params = {"path": posixpath.join(root, path) if path else root}
            resp = http_request(host_creds(url, creds), endpoint, "GET", params=params)
            augmented_raise_for_status(resp)
            infos = []
            for f in resp.json().get("files", []):
                rel = validate_path_is_safe(f["path"])
                size = int(f["file_size"]) if "file_size" in f else None
                infos.append(FileInfo(posixpath.join(path, rel) if path else rel, f["is_dir"], size))
            one_file = len(infos) == 1 and not infos[0].is_dir and path is not None
            if one_file and infos[0].path == posixpath.join(path, posixpath.basename(path)):
                return []  # MLflow's contract: a path naming one file lists nothing
            return sorted(infos, key=lambda f: f.path)

        def _refuse(self, *args, **kwargs):
            raise PermissionError("the grader reads a tracking server's artifacts, never writes them")

        log_artifact = log_artifacts = delete_artifacts = _refuse

    class ServedArtifacts(CredentialedArtifacts, MlflowArtifactsRepository):
        pass

    class HostArtifacts(CredentialedArtifacts, HttpArtifactRepository):
        pass

    if urlsplit(uri).scheme == "mlflow-artifacts":
        return ServedArtifacts(uri, tracking_uri=base)
    return HostArtifacts(uri, tracking_uri=base)


# --------------------------------------------------------------------------- the source


def open_server(
    text: str, workdir: str | os.PathLike | None = None, credentials: ServerCredentials | None = None
) -> RemoteSource:
    """Check the server (:func:`preflight_server`), then return its :class:`RemoteSource`, whose
    client and artifact repositories carry the credentials (nothing secret in ``os.environ``)."""
    base, creds = split_server_uri(text)
    if credentials is not None:
        creds = credentials
    secrets = creds.secrets()
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
        connect=partial(server_client, base, creds),
        repository=partial(_repository, base=base, creds=creds),
    )
    settings = SharedSettings(HTTP_SETTINGS)
    settings.hold()
    source.cleanups.append(settings.release)
    version = f" (MLflow {source.server_version})" if source.server_version else ""
    source.notes.append(f"read over the tracking server {redact(base)}{version}, read-only")
    return source


def _repository(uri: str, *, base: str, creds: ServerCredentials) -> Any:
    return artifact_repository(uri, base, creds)


class ServerSource(OneStore):
    """``http(s)://HOST[:PORT][/PREFIX]``: a tracking server, read in place over its REST API."""

    kind = "server"
    what = "error.kind_server"

    def _open(self) -> RemoteSource:
        return open_server(self.request.text, self.request.workdir, self.request.credentials)


def _build(request: SourceRequest) -> Source:
    return ServerSource(request)


register(SourceKind("server", SERVER_SCHEMES, _build))

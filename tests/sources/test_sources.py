"""grader/sources/: the registry of kinds, one place for secrets, and credentials that never enter
``os.environ`` (each opened source hands its own to MLflow), without a tracking server of MLflow's.

The credential tests talk to a tiny HTTP server of the test's own (loopback, its own thread,
stopped after the test) that answers every MLflow REST call with an empty JSON object and records
the ``Authorization`` header of each request: that is what MLflow's client really sent. The real
``mlflow server`` tests (grades, a class in parallel, basic auth) are in tests/sources/test_server.py.
"""

from __future__ import annotations

import base64
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from grader.errors import SubmissionError
from grader.sources import (
    RemoteSource,
    ServerCredentials,
    SharedSettings,
    SourceKind,
    kind_of,
    kinds,
    open_source,
    redact,
    register,
    scrub,
    secret_forms,
    source_for,
    unregister,
)
from grader.sources.secrets import CREDENTIAL_VARIABLES

LOOPBACK = "127.0.0.1"


# --------------------------------------------------------------------------- the registry


def test_every_kind_is_registered_with_its_schemes():
    registered = kinds()
    assert list(registered) == ["folder", "postgresql", "server", "sqlite"]
    assert registered["server"].schemes == ("http", "https")
    assert "postgresql" in registered["postgresql"].schemes
    assert registered["sqlite"].schemes == ("sqlite",) and registered["folder"].schemes == ("file",)


@pytest.mark.parametrize("text,kind", [
    ("http://127.0.0.1:5000", "server"),
    ("HTTPS://mlflow.example.org/prefix", "server"),
    ("postgresql://ana@db/mlflow", "postgresql"),
    ("postgresql+psycopg2://ana@db/mlflow", "postgresql"),
    ("sqlite:///abs/mlflow.db", "sqlite"),
    ("file:///abs/mlruns", "folder"),
    ("submissions/ana", "folder"),
    ("submission.zip", "folder"),
    ("C:\\Users\\ana\\mlruns", "folder"),  # a drive letter is not a scheme
])
def test_kind_of_a_submission(text, kind):
    assert kind_of(text).name == kind


def test_a_sqlite_file_without_a_scheme_is_the_sqlite_kind(tmp_path):
    import sqlite3

    db = tmp_path / "backend.db"
    sqlite3.connect(db).close()  # an empty file: not a database yet
    assert kind_of(str(db)).name == "folder"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.close()
    assert kind_of(str(db)).name == "sqlite"
    assert kind_of(str(tmp_path)).name == "folder"


def test_adding_a_kind_is_one_registration(tmp_path):
    """What a new kind's module does: a class with kind/open/describe/close, and register()."""
    opened = []

    class Memory:
        kind = "memory"

        def __init__(self, request):
            self.request = request

        def describe(self):
            return redact(self.request.text)

        def open(self):
            store = RemoteSource(input=self.describe(), kind="memory", tracking_uri="memory:", root=tmp_path / "m")
            store.root.mkdir()
            opened.append(store)
            return store

        def close(self):
            pass

    register(SourceKind("memory", ("memory",), Memory))
    try:
        assert kind_of("memory://u:secret-pw@x").name == "memory"
        assert source_for("memory://u:secret-pw@x").describe() == "memory://u:***@x"
        with open_source("memory://u:secret-pw@x", experiment_hint="e") as store:
            assert store.kind == "memory" and store.root.is_dir()
        assert not opened[0].root.exists()
        with pytest.raises(ValueError, match="already taken"):
            register(SourceKind("other", ("memory",), Memory))
        with pytest.raises(ValueError, match="twice"):
            register(SourceKind("memory", ("memory2",), Memory))
    finally:
        unregister("memory")
    assert kind_of("memory://x").name == "folder"


@pytest.mark.parametrize("text,options,english,spanish", [
    ("submissions/ana", {"artifacts": "x"}, "--artifacts goes with a postgresql:// backend store, not with a folder or a file",
     "--artifacts va con un almacén postgresql://, no con una carpeta o un archivo"),
    ("http://127.0.0.1:1", {"artifacts": "x"}, "--artifacts goes with a postgresql:// backend store, not with a tracking server",
     "--artifacts va con un almacén postgresql://, no con un servidor de tracking"),
    ("http://127.0.0.1:1", {"store": "x"}, "--store picks one store inside a folder: a tracking server is one store",
     "--store elige un almacén dentro de una carpeta: un servidor de tracking es un solo almacén"),
    ("postgresql://u@127.0.0.1:1/db", {"store": "x"}, "--store picks one store inside a folder: a database URI is one store",
     "--store elige un almacén dentro de una carpeta: una URI de base de datos es un solo almacén"),
])
def test_options_a_kind_does_not_take_are_refused_before_anything_is_opened(text, options, english, spanish):
    """One table of refusals (sources.base.REFUSALS) for every kind; each said in both languages."""
    from grader.catalogue import translate

    with pytest.raises(SubmissionError) as caught:
        open_source(text, **options)
    assert str(caught.value) == english
    assert translate(str(caught.value), "es") == spanish


def test_the_old_module_still_exports_its_names():
    from grader.submission import RemoteSource as FromPackage
    from grader.submission import open_source as from_package
    from grader.submission.remote import (
        MLFLOW_HTTP_ENV,
        RemoteSource as FromRemote,
        ServerCredentials as OldCredentials,
        open_postgres,
        open_server,
        open_source as from_remote,
        postgres_uris,
        preflight_postgres,
        preflight_server,
        redact as old_redact,
        remote_kind,
        schema_head,
        scrub as old_scrub,
    )

    assert FromPackage is FromRemote is RemoteSource and from_package is from_remote is open_source
    assert OldCredentials is ServerCredentials and old_redact is redact and old_scrub is scrub
    assert remote_kind("http://h:1") == "server" and remote_kind("postgres://u@h/d") == "postgresql"
    assert remote_kind("mlruns") is None and remote_kind("sqlite:///x.db") is None
    assert MLFLOW_HTTP_ENV and all(map(callable, (open_postgres, open_server, postgres_uris, preflight_postgres,
                                                  preflight_server, schema_head)))


# --------------------------------------------------------------------------- secrets, in one module


def test_redact_scrub_and_secret_forms():
    assert redact("http://ana:pw-123@host:5000/x") == "http://ana:***@host:5000/x"
    assert redact("postgresql://u@h/db?password=pw-123&sslmode=require") == "postgresql://u@h/db?password=***&sslmode=require"
    assert redact("sqlite:////abs/mlflow.db") == "sqlite:////abs/mlflow.db"
    assert secret_forms("p@ss/1") == ["p@ss/1", "p%40ss%2F1"]
    assert secret_forms("ab") == []  # too short to replace anywhere
    assert scrub("failed: p%40ss%2F1 and p@ss/1 at https://u:x@h/", secret_forms("p@ss/1")) == \
        "failed: *** and *** at https://u:***@h/"


def test_server_credentials_never_print_a_secret():
    creds = ServerCredentials(username="ta", password="ta-secret-1", token="tok-secret-2")
    assert "secret" not in repr(creds) and "ta" in repr(creds)
    assert creds.header() == "Basic " + base64.b64encode(b"ta:ta-secret-1").decode()  # Basic wins, as in MLflow
    assert ServerCredentials(token="tok-secret-2").header() == "Bearer tok-secret-2"
    assert not ServerCredentials(username="ta").given
    assert set(creds.secrets()) == {"ta-secret-1", "tok-secret-2"}


def test_shared_settings_are_held_by_count_and_restored(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "9")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    values = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}
    first, second = SharedSettings(values), SharedSettings(values)
    first.hold()
    second.hold()
    first.hold()  # holding twice counts once
    first.release()
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "2"  # the second still holds them
    second.release()
    second.release()
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "9"
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ


# --------------------------------------------------------------------------- credentials, per source


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request with ``{}`` (an MLflow REST answer with nothing in it) and records who asked."""

    def do_GET(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1024**2))
        with self.server.lock:
            self.server.seen.append((self.path.split("?")[0], self.headers.get("Authorization")))
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET  # noqa: N815 - search_experiments is a POST

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    httpd = ThreadingHTTPServer((LOOPBACK, 0), _Recorder)
    httpd.daemon_threads = True
    httpd.seen, httpd.lock = [], threading.Lock()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    watchdog = threading.Timer(60, httpd.shutdown)
    watchdog.daemon = True
    watchdog.start()
    httpd.uri = f"http://{LOOPBACK}:{httpd.server_address[1]}"
    try:
        yield httpd
    finally:
        watchdog.cancel()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def _no_credentials_in(environ) -> None:
    for name in CREDENTIAL_VARIABLES:
        assert name not in environ, name
    for value in environ.values():
        assert "secret" not in value


def test_two_sources_with_their_own_credentials_at_once_in_threads(recorder, monkeypatch):
    """Each source's MLflow client, registry client and artifact repository send that source's
    credentials, from two threads at once, and os.environ never holds any of them."""
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    host = recorder.uri.split("//")[1]
    both_in = threading.Barrier(2, timeout=30)
    environs: list[dict] = []
    errors: list[BaseException] = []

    def read(uri: str, credentials: ServerCredentials | None) -> None:
        try:
            with open_source(uri, credentials=credentials) as source:
                assert source.kind == "server" and "secret" not in source.tracking_uri
                client = source.client()
                both_in.wait()  # both sources open, their clients built: now read at once
                environs.append(dict(os.environ))
                for _ in range(3):
                    assert list(client.search_experiments()) == []
                    assert list(client.search_registered_models()) == []
                repo = source.artifact_repository("mlflow-artifacts:/1/abc/artifacts")
                assert repo.list_artifacts() == []
                with pytest.raises(PermissionError):
                    repo.log_artifact(__file__)
                environs.append(dict(os.environ))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    threads = [
        threading.Thread(target=read, args=(f"http://ta:ta-secret-pw@{host}", None)),
        threading.Thread(target=read, args=(recorder.uri, ServerCredentials(token="tok-secret-42"))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    environs.append(dict(os.environ))
    for environ in environs:
        _no_credentials_in(environ)
    basic = "Basic " + base64.b64encode(b"ta:ta-secret-pw").decode()
    by_auth: dict[str | None, set[str]] = {}
    for path, auth in recorder.seen:
        by_auth.setdefault(auth, set()).add(path)
    assert set(by_auth) == {basic, "Bearer tok-secret-42"}, by_auth  # no request went without its credentials
    for paths in by_auth.values():
        assert {"/api/2.0/mlflow/experiments/search", "/api/2.0/mlflow/registered-models/search",
                "/api/2.0/mlflow-artifacts/artifacts"} <= paths
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ  # the shared settings went with the last source


def test_a_source_opened_with_credentials_from_the_environment_leaves_them_as_they_were(recorder, monkeypatch):
    """The person's own MLFLOW_TRACKING_* are read, never written, moved or removed."""
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ana")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "ana-secret-pw")
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    before = dict(os.environ)
    with open_source(recorder.uri) as source:
        list(source.client().search_experiments())
        assert {k: os.environ.get(k) for k in CREDENTIAL_VARIABLES} == {k: before.get(k) for k in CREDENTIAL_VARIABLES}
    assert dict(os.environ) == before
    assert {auth for _, auth in recorder.seen} == {"Basic " + base64.b64encode(b"ana:ana-secret-pw").decode()}

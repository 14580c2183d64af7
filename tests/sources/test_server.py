"""Submissions on a REAL tracking server and in a REAL PostgreSQL store, graded read-only (issue 6).

* One ``mlflow server`` for the module (SQLite backend in a temp dir, ``--serve-artifacts``, a free
  port on 127.0.0.1), loaded with the reference solution three times: the homework's own names
  (``homework-195``/``housing-best``) and two students' (``homework-195-ana``/``housing-best-ana``,
  13 runs; ``homework-195-beto``, 5 runs). Its whole state is compared before and after grading.
* One ``mlflow server --app-name basic-auth`` (needs Flask-WTF: skipped with a reason without it).
* Faults: a closed port, and a tiny HTTP server of the test's own (loopback only, bounded, stops
  itself) that answers 500 / 401 / 403 / 404 / HTML / a redirect, or too slowly.
* PostgreSQL: ``GRADER_TEST_PG_DSN`` (``.ci/run`` installs and starts Debian's PostgreSQL and sets
  it), a role that may create databases; skipped with a reason when it is not set or not reachable.

Every server started here is stopped at the end (its process group, by id); every loop is bounded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from helpers import load_fixtures_modules, tree_digest

reference_solution, _ = load_fixtures_modules()

GRADE = [sys.executable, "-c", "import sys; from grader.cli import main; sys.exit(main())"]
LOOPBACK = "127.0.0.1"
SERVER_START_TIMEOUT = 240
ADMIN_PASSWORD = "admin-pw-4c1d9e"
TA_PASSWORD = "ta-secret-7f3b2a"
PG_PASSWORD_IN_URI = "grader-test-pw"  # .ci/run's; only checked for when the DSN holds it
#: The main server's names and sizes (small models: the default grid, 300 training rows).
STUDENTS = {
    "ana": {"n_estimators": [2, 3]},                      # 13 runs, sweep grid not the course's
    "beto": {"n_estimators": [2, 3], "max_depths": [3]},  # 5 runs: too few
}
TIMINGS: dict[str, float] = {}


# --------------------------------------------------------------------------- helpers


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    """The test's environment without MLflow's variables (nothing redirects a child elsewhere)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PG"))}
    env.update(PYTHONWARNINGS="ignore", **extra)
    return env


def grade_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*GRADE, *args], capture_output=True, text=True, env=env or _env(), timeout=timeout)


def one_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    return lines[0]


class MlflowServer:
    """A real ``mlflow server`` on 127.0.0.1 in its own process group (stopped by its id)."""

    def __init__(self, workdir: Path, app_name: str | None = None, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.uri = f"http://{LOOPBACK}:{self.port}"
        self.artifacts = workdir / "artifacts"
        self.db = workdir / "mlflow.db"
        self.log = workdir / "server.log"
        cmd = [sys.executable, "-m", "mlflow", "server", "--host", LOOPBACK, "--port", str(self.port),
               "--backend-store-uri", f"sqlite:///{self.db}", "--serve-artifacts",
               "--artifacts-destination", str(self.artifacts), "--workers", "1"]
        if app_name:
            cmd += ["--app-name", app_name]
        workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", **(env or {})),
                                         start_new_session=True)

    def wait_ready(self, timeout: float = SERVER_START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"mlflow server not ready within {timeout} s:\n{self.tail()}")

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)


def _build(out: Path, uri: str, env: dict[str, str] | None = None, **options) -> dict:
    started = time.perf_counter()
    summary = reference_solution.build(out, "sqlite", env=env, tracking_uri=uri, train_rows=300, timeout=400, **options)
    TIMINGS[f"build {out.name}"] = time.perf_counter() - started
    return summary


def server_state(uri: str) -> dict:
    """Everything a grade could change on a server: experiments, runs (params, metrics, tags),
    registered models (tags, aliases), versions (stages, tags), logged models."""
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exps = client.search_experiments(view_type=ViewType.ALL, max_results=1000)
    ids = [e.experiment_id for e in exps]
    runs = client.search_runs(ids, run_view_type=ViewType.ALL, max_results=5000)
    models = client.search_registered_models(max_results=1000)
    versions = client.search_model_versions(max_results=10000)
    logged = client.search_logged_models(experiment_ids=ids, max_results=1000)
    return {
        "experiments": sorted((e.experiment_id, e.name, e.lifecycle_stage, e.artifact_location, e.last_update_time,
                               sorted(e.tags.items())) for e in exps),
        "runs": sorted((r.info.run_id, r.info.status, r.info.lifecycle_stage, r.info.start_time, r.info.end_time,
                        r.info.artifact_uri, sorted(r.data.params.items()), sorted(r.data.metrics.items()),
                        sorted(r.data.tags.items())) for r in runs),
        "registered_models": sorted((m.name, m.description, m.last_updated_timestamp, sorted(m.tags.items()),
                                     sorted((m.aliases or {}).items())) for m in models),
        "versions": sorted((v.name, int(v.version), v.current_stage, v.run_id, v.source, v.status,
                            v.last_updated_timestamp, sorted(v.tags.items()), sorted(v.aliases or [])) for v in versions),
        "logged_models": sorted((m.model_id, m.name, str(m.status), m.source_run_id, m.last_updated_timestamp,
                                 sorted(m.tags.items()), sorted(m.params.items())) for m in logged),
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- the main server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real tracking server loaded with the reference solution under three names."""
    base = tmp_path_factory.mktemp("mlflow-server")
    started = time.perf_counter()
    srv = MlflowServer(base / "server")
    try:
        srv.wait_ready()
        TIMINGS["server start"] = time.perf_counter() - started
        with ThreadPoolExecutor(max_workers=3) as pool:
            main = pool.submit(_build, base / "homework", srv.uri)
            students = {name: pool.submit(_build, base / name, srv.uri, experiment_name=f"homework-195-{name}",
                                          model_name=f"housing-best-{name}", **opts)
                        for name, opts in STUDENTS.items()}
            srv.builds = {"main": main.result(), **{n: f.result() for n, f in students.items()}}
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def graded_server(server, tmp_path_factory):
    """``grade URI`` once, with the server's whole state taken before and after."""
    out = tmp_path_factory.mktemp("graded-server")
    before = (server_state(server.uri), tree_digest(server.artifacts), _sha256(server.db))
    started = time.perf_counter()
    proc = grade_cli(server.uri, "--lang", "en", "--json", str(out / "report.json"), "--html", str(out / "report.html"))
    TIMINGS["grade server (probe)"] = time.perf_counter() - started
    after = (server_state(server.uri), tree_digest(server.artifacts), _sha256(server.db))
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").is_file() else None
    return proc, report, before, after


def _check(report: dict, check_id: str) -> dict:
    return next(c for c in report["checks"] if c["id"] == check_id)


def _statuses(report: dict) -> dict[str, str]:
    return {c["id"]: c["status"] for c in report["checks"]}


def test_server_reference_passes_every_check(graded_server, server):
    proc, report, *_ = graded_server
    assert report is not None, proc.stderr
    checks = {c["id"]: c for c in report["checks"]}
    not_passed = {cid: c["message"] for cid, c in checks.items() if c["status"] not in ("pass", "warn")}
    assert not not_passed
    assert proc.returncode == 0 and report["passed"], proc.stderr
    assert checks["integrity.metrics"]["status"] == "pass"  # the downloaded model, recomputed in the sandbox
    predict = checks["model.predict"]
    assert predict["status"] == "pass"
    assert predict["evidence"]["predictions"] == pytest.approx(server.builds["main"]["predictions"])
    assert predict["evidence"]["model_path"].startswith("models/housing-best-v1")
    assert checks["registry.best_run"]["evidence"]["best_run_id"] == server.builds["main"]["best_run_id"]
    sub = report["submission"]
    assert sub["input"] == server.uri and sub["store"] == "server" and sub["mlflow_layout"] == "3.x"
    assert any("read-only" in n for n in sub["notes"])
    assert len(report["runs"]) == 13
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).resolve().parents[2] / "grader" / "schemas" / "report.schema.json").read_text())
    jsonschema.validate(report, schema)


def test_grading_leaves_the_server_unchanged(graded_server):
    proc, report, before, after = graded_server
    assert report is not None, proc.stderr
    state_before, artifacts_before, db_before = before
    state_after, artifacts_after, db_after = after
    assert len(state_before["runs"]) == 13 + 13 + 5
    assert len(state_before["registered_models"]) == 3 and len(state_before["logged_models"]) == 31
    assert state_after == state_before
    assert artifacts_after == artifacts_before, "the server's artifact store changed"
    assert db_after == db_before, "the server's database file changed"


def test_experiment_and_model_name_override(server):
    proc = grade_cli(server.uri, "--experiment", "homework-195-beto", "--model-name", "housing-best-beto",
                     "--no-probe", "--json", "-", "--lang", "en")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    statuses = _statuses(report)
    assert report["experiment"] == "homework-195-beto"
    assert statuses["runs.count"] == "fail" and statuses["registry.production"] == "pass"
    assert "homework-195-beto" in report["checks"][0]["message"]
    assert len(report["runs"]) == 5

    proc = grade_cli(server.uri, "--experiment", "homework-195-ana", "--model-name", "housing-best-ana",
                     "--no-probe", "--json", "-", "--lang", "en")
    report = json.loads(proc.stdout)
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["runs.count"]["status"] == "pass" and checks["registry.best_run"]["status"] == "pass"
    assert checks["registry.best_run"]["evidence"]["best_run_id"] == server.builds["ana"]["best_run_id"]
    assert "housing-best-ana" in checks["registry.production"]["message"]


def test_class_on_one_server(server, tmp_path):
    """``--experiment 'homework-195-{student}' --students ...``: one report per student, a gradebook."""
    roster = tmp_path / "roster.txt"
    roster.write_text("# extra students\ncarla\nana\n")
    out = tmp_path / "out"
    started = time.perf_counter()
    proc = grade_cli(server.uri, "--experiment", "homework-195-{student}", "--model-name", "housing-best-{student}",
                     "--students", "ana,beto", "--students-file", str(roster), "--out", str(out), "--no-probe",
                     "--lang", "en")
    TIMINGS["class of 3 (no probe)"] = time.perf_counter() - started
    assert proc.returncode == 1, proc.stderr
    rows = {line.split(",")[0]: line for line in (out / "gradebook.csv").read_text().splitlines()[1:]}
    assert sorted(rows) == ["ana", "beto", "carla"]
    for student, experiment in (("ana", "homework-195-ana"), ("beto", "homework-195-beto"), ("carla", "homework-195-carla")):
        report = json.loads((out / "students" / student / "report.json").read_text())
        assert report["experiment"] == experiment
        assert (out / "students" / student / "report.html").is_file()
    ana = json.loads((out / "students" / "ana" / "report.json").read_text())
    beto = json.loads((out / "students" / "beto" / "report.json").read_text())
    carla = json.loads((out / "students" / "carla" / "report.json").read_text())
    assert _statuses(ana)["runs.count"] == "pass" and _statuses(ana)["registry.best_run"] == "pass"
    assert _statuses(beto)["runs.count"] == "fail"
    assert carla["checks"][0]["evidence"]["key"] == "missing_experiment"
    assert carla["checks"][0]["evidence"]["hidden_experiments"] >= 2  # ana's and beto's, not named
    assert "homework-195-ana" not in carla["checks"][0]["message"]
    # A shared server: no student's report names another student's registered model or experiment.
    for student, others in (("ana", ("housing-best-beto", "homework-195-beto")), ("beto", ("housing-best-ana", "homework-195-ana")),
                            ("carla", ("housing-best-ana", "housing-best-beto", "homework-195-ana", "homework-195-beto"))):
        text = (out / "students" / student / "report.json").read_text()
        assert not any(other in text for other in others), student
    assert "housing-best-beto" in _check(beto, "registry.production")["message"]
    assert (out / "summary.html").is_file()
    assert "[3/3]" in proc.stderr


def _class_outcome(out: Path) -> dict:
    """Per student, what a grade decided (statuses, points, messages), without timings."""
    outcome = {}
    for folder in sorted((out / "students").iterdir()):
        report = json.loads((folder / "report.json").read_text())
        outcome[folder.name] = (report["score"], report["passed"],
                                [(c["id"], c["status"], c["points"], c["message"]) for c in report["checks"]])
    return outcome


def test_class_on_one_server_in_parallel_gives_the_same_rows(server, tmp_path):
    """``jobs=3`` grades the students at once (each in a warm process, the probe forked from it): same
    rows, same order, same verdicts as one at a time."""
    from grader.batch.server import grade_class

    def run(jobs: int):
        seen = []
        started = time.perf_counter()
        batch = grade_class(server.uri, tmp_path / f"out-{jobs}", ["ana", "beto", "carla"],
                            experiment="homework-195-{student}", model_name="housing-best-{student}", lang="en",
                            jobs=jobs, progress=lambda done, total, failures, row: seen.append((done, row.student)))
        TIMINGS[f"class of 3 in-process (probe), -j {jobs}"] = time.perf_counter() - started
        return batch, seen

    one, one_seen = run(1)
    three, three_seen = run(3)
    assert (one.jobs, three.jobs) == (1, 3)
    assert [d for d, _ in three_seen] == [1, 2, 3] and sorted(s for _, s in three_seen) == ["ana", "beto", "carla"]
    assert [r.student for r in three.rows] == [r.student for r in one.rows] == ["ana", "beto", "carla"]
    for a, b in zip(one.rows, three.rows):
        assert (a.status, a.score, a.checks, a.error) == (b.status, b.score, b.checks, b.error), a.student
    assert _class_outcome(one.out_dir) == _class_outcome(three.out_dir)
    assert (one.out_dir / "gradebook.csv").read_text().splitlines()[1:] == \
        (three.out_dir / "gradebook.csv").read_text().splitlines()[1:]
    assert one.rows[0].checks["model.predict"][0] == "pass"  # ana's model: downloaded and probed
    for student in ("ana", "beto"):  # a worker ends MLflow's download threads: its probe is forked, not spawned
        report = json.loads((three.out_dir / "students" / student / "report.json").read_text())
        assert _check(report, "model.predict")["evidence"]["launcher"] == "fork", student
    # the command line, as an instructor runs it: grade class URI --students ... -j 3 (the same rows)
    proc = grade_cli("class", server.uri, "--experiment", "homework-195-{student}", "--model-name",
                     "housing-best-{student}", "--students", "ana,beto,carla", "-j", "3", "--lang", "en",
                     "--out", str(tmp_path / "out-cli"))
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert (tmp_path / "out-cli" / "gradebook.csv").read_text().splitlines()[1:] == \
        (one.out_dir / "gradebook.csv").read_text().splitlines()[1:]


def test_a_class_takes_the_folder_batchs_options(server, tmp_path, monkeypatch):
    """One BatchOptions for both kinds of class: its student timeout reaches the server class's pool
    (it had none), a bad deadline is said once before any student, and the same options grade a
    folder batch."""
    from grader.batch import BatchError, BatchOptions, grade_batch
    from grader.batch import server as class_module
    from grader.batch.server import grade_class

    seen = []
    real = class_module.run_pool

    def recording(tasks, jobs, timeout, on_done, sql=True, work=None):
        seen.append((len(tasks), jobs, timeout))
        return real(tasks, jobs, timeout, on_done, sql=sql, work=work)

    monkeypatch.setattr(class_module, "run_pool", recording)
    options = BatchOptions(lang="en", jobs=2, probe=False, student_timeout=321)
    batch = grade_class(server.uri, tmp_path / "out", ["ana", "beto"], experiment="homework-195-{student}",
                        model_name="housing-best-{student}", options=options)
    assert seen == [(2, 2, 321.0)]
    assert [r.student for r in batch.rows] == ["ana", "beto"] and batch.rows[0].checks["runs.count"][0] == "pass"
    with pytest.raises(BatchError, match="bad deadline"):
        grade_class(server.uri, tmp_path / "out2", ["ana"], experiment="homework-195-{student}",
                    options=BatchOptions(deadline="not a date"))
    assert not (tmp_path / "out2").exists()
    klass = tmp_path / "klass"
    klass.mkdir()
    (klass / "empty").mkdir()
    folder = grade_batch(klass, tmp_path / "out3", options=options)
    assert folder.jobs == 2 and folder.rows[0].status == "error" and "no MLflow store" in folder.rows[0].error


def test_students_need_a_pattern(server, tmp_path):
    proc = grade_cli(server.uri, "--experiment", "homework-195", "--students", "ana", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "{student}" in one_line(proc)


# --------------------------------------------------------------------------- basic auth


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """``mlflow server --app-name basic-auth``, a small build by the admin, and a READ-only user "ta"."""
    pytest.importorskip("flask_wtf", reason="mlflow server --app-name basic-auth needs Flask-WTF (the test extra)")
    base = tmp_path_factory.mktemp("mlflow-auth-server")
    config = base / "basic_auth.ini"
    config.write_text("[mlflow]\ndefault_permission = READ\n"
                      f"database_uri = sqlite:///{base / 'basic_auth.db'}\nadmin_username = admin\n"
                      f"admin_password = {ADMIN_PASSWORD}\n"
                      "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
                      "auth_cache_ttl_seconds = 300\n")
    srv = MlflowServer(base / "server", app_name="basic-auth",
                       env={"MLFLOW_AUTH_CONFIG_PATH": str(config), "MLFLOW_FLASK_SERVER_SECRET_KEY": uuid.uuid4().hex})
    try:
        srv.wait_ready()
        admin = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD}
        srv.build = _build(base / "auth-build", srv.uri, env=admin, n_estimators=[2, 3], max_depths=[3])
        request = urllib.request.Request(
            f"{srv.uri}/api/2.0/mlflow/users/create", method="POST",
            data=json.dumps({"username": "ta", "password": TA_PASSWORD}).encode(),
            headers={"Content-Type": "application/json",
                     "Authorization": "Basic " + __import__("base64").b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        yield srv
    finally:
        srv.stop()


def _no_secret(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text


def test_basic_auth_with_credentials_from_the_environment(auth_server, tmp_path):
    env = _env(MLFLOW_TRACKING_USERNAME="ta", MLFLOW_TRACKING_PASSWORD=TA_PASSWORD)
    proc = grade_cli(auth_server.uri, "--lang", "en", "--json", str(tmp_path / "r.json"), "--html",
                     str(tmp_path / "r.html"), env=env)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    statuses = _statuses(report)
    assert statuses["registry.production"] == "pass" and statuses["model.predict"] == "pass", report["checks"]
    assert statuses["runs.count"] == "fail"  # the small build has 5 runs
    _no_secret(TA_PASSWORD, proc.stdout, proc.stderr, (tmp_path / "r.json").read_text(), (tmp_path / "r.html").read_text())


def test_basic_auth_credentials_in_the_uri_are_redacted(auth_server, tmp_path):
    host = urlsplit(auth_server.uri).netloc
    proc = grade_cli(f"http://ta:{TA_PASSWORD}@{host}", "--no-probe", "--json", "-", "--html", str(tmp_path / "r.html"))
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["submission"]["input"] == f"http://ta:***@{host}"
    assert _statuses(report)["registry.production"] == "pass"
    _no_secret(TA_PASSWORD, proc.stdout, proc.stderr, (tmp_path / "r.html").read_text())


def test_two_users_graded_at_once_never_put_credentials_in_the_environment(auth_server, monkeypatch):
    """Two grades in threads, each with its own user in the URI (admin and ta), both inside MLflow's
    reads at the same moment: each is graded with its own credentials, and os.environ holds none of
    them, before, while (checked inside the reader, by both threads) or after."""
    from grader.api import grade
    from grader.evidence.remote import ServerReader

    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    barrier = threading.Barrier(2, timeout=60)
    environs: list[dict] = []
    read_runs = ServerReader.read_runs

    def read_runs_at_once(self):
        barrier.wait()  # both grades are inside MLflow's reads now
        environs.append(dict(os.environ))
        read_runs(self)
        environs.append(dict(os.environ))

    monkeypatch.setattr(ServerReader, "read_runs", read_runs_at_once)
    host = urlsplit(auth_server.uri).netloc
    uris = {"admin": f"http://admin:{ADMIN_PASSWORD}@{host}", "ta": f"http://ta:{TA_PASSWORD}@{host}"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {user: pool.submit(grade, uri, lang="en", probe=False) for user, uri in uris.items()}
        results = {user: f.result(timeout=120) for user, f in futures.items()}
    environs.append(dict(os.environ))
    assert len(environs) == 5
    for environ in environs:
        assert not {"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"} & set(environ)
        _no_secret(ADMIN_PASSWORD, *environ.values())
        _no_secret(TA_PASSWORD, *environ.values())
    for user, result in results.items():
        statuses = {c.id: c.status for c in result.checks}
        assert statuses["registry.production"] == "pass" and statuses["runs.count"] == "fail", (user, statuses)
        assert len(result.runs) == 5
        assert result.submission.input == f"http://{user}:***@{host}"


@pytest.mark.parametrize("creds,needle", [
    ({"MLFLOW_TRACKING_USERNAME": "ta", "MLFLOW_TRACKING_PASSWORD": "wrong-" + TA_PASSWORD}, "rejected the credentials"),
    ({}, "requires credentials"),
], ids=["wrong-password", "no-credentials"])
def test_basic_auth_refusals_are_one_line(auth_server, creds, needle):
    proc = grade_cli(auth_server.uri, env=_env(**creds))
    assert proc.returncode == 2
    line = one_line(proc)
    assert needle in line and "HTTP 401" in line
    _no_secret(TA_PASSWORD, line)


# --------------------------------------------------------------------------- faults


class _Fault(BaseHTTPRequestHandler):
    """Answers every request the way ``server.mode`` says (the server counts the requests)."""

    def do_GET(self):  # noqa: N802
        self.server.hits += 1
        mode = self.server.mode
        if mode == "slow":
            time.sleep(2.0)
            return self._send(200, "application/json", b"{}")
        if mode == "500":
            return self._send(500, "application/json", b'{"error_code": "INTERNAL_ERROR", "message": "database is down"}')
        if mode in ("401", "403", "404"):
            return self._send(int(mode), "text/plain", b"no")
        if mode == "json":
            return self._send(200, "application/json", b'{"experiments": []}')
        if mode == "html":
            return self._send(200, "text/html; charset=utf-8", b"<!doctype html><html><body>Welcome</body></html>")
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "https://login.example.invalid/sso?next=/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return self._send(200, "text/plain", b"?")

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def fault_server():
    """A tiny HTTP server on 127.0.0.1 (its own thread), stopped after the test or after 60 s."""
    httpd = ThreadingHTTPServer((LOOPBACK, 0), _Fault)
    httpd.daemon_threads = True
    httpd.mode, httpd.hits = "500", 0
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


@pytest.mark.parametrize("mode,needles,hits", [
    ("500", ("HTTP 500", "server error", "INTERNAL_ERROR: database is down", "3 attempts"), 3),
    ("401", ("requires credentials",), 1),
    ("403", ("HTTP 403", "READ permission"), 1),
    ("404", ("not an MLflow tracking server",), 1),
    ("html", ("HTML, not JSON", "not an MLflow tracking server"), 1),
    ("redirect", ("redirects (HTTP 302) to https://login.example.invalid/sso",), 1),
    ("slow", ("did not answer within 0.5 s", "2 attempts"), 2),
])
def test_server_faults_exit_two_with_one_line(fault_server, mode, needles, hits):
    fault_server.mode = mode
    started = time.perf_counter()
    proc = grade_cli(fault_server.uri, env=_env(MLFLOW_GRADER_HTTP_TIMEOUT="0.5", MLFLOW_GRADER_HTTP_ATTEMPTS="2")
                     if mode == "slow" else None)
    assert proc.returncode == 2
    line = one_line(proc)
    for needle in needles:
        assert needle in line
    assert fault_server.hits == hits  # bounded retries, none for a final answer
    assert time.perf_counter() - started < 60


def test_closed_port_says_the_server_is_not_running():
    port = _free_port()  # bound, then closed: nothing listens there
    started = time.perf_counter()
    proc = grade_cli(f"http://{LOOPBACK}:{port}", "--lang", "en")
    assert proc.returncode == 2
    line = one_line(proc)
    assert "ConnectionRefusedError" in line and "server that is not running" in line
    assert time.perf_counter() - started < 30


def test_mlflow_http_settings_are_bounded_and_restored(monkeypatch, fault_server):
    """The grader's process gets small MLflow HTTP retries/timeouts while grading, and its own back."""
    from grader.submission.remote import MLFLOW_HTTP_ENV, open_server

    fault_server.mode = "json"
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "9")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    source = open_server(fault_server.uri)
    try:
        for name, value in MLFLOW_HTTP_ENV.items():
            assert os.environ[name] == value
    finally:
        source.close()
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "9"
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ
    assert not source.root.exists()


# --------------------------------------------------------------------------- PostgreSQL


def _pg_dsn() -> str:
    dsn = os.environ.get("GRADER_TEST_PG_DSN")
    if not dsn:
        pytest.skip("GRADER_TEST_PG_DSN is not set: no PostgreSQL server to test against (.ci/run starts one)")
    return dsn


def _pg_connect(dsn: str, dbname: str | None = None):
    psycopg2 = pytest.importorskip("psycopg2", reason="psycopg2 (the [postgres] and [test] extras) is not installed")
    parts = urlsplit(dsn)
    conn = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username, password=parts.password,
                            dbname=dbname or parts.path.lstrip("/") or "postgres", connect_timeout=5)
    conn.autocommit = True
    return conn


def _with_db(dsn: str, dbname: str, scheme: str = "postgresql", password: bool = True) -> str:
    parts = urlsplit(dsn)
    user = parts.username + (f":{parts.password}" if password and parts.password else "")
    return urlunsplit((scheme, f"{user}@{parts.hostname}:{parts.port or 5432}", f"/{dbname}", "", ""))


def pg_state(dsn: str, dbname: str) -> dict:
    """Every table of the database and its rows (what a grade must not change)."""
    conn = _pg_connect(dsn, dbname)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            tables = [r[0] for r in cur.fetchall()]
            state = {}
            for table in tables:
                cur.execute(f'SELECT * FROM "{table}"')
                state[table] = sorted(repr(row) for row in cur.fetchall())
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = 'mlflow-grader'",
                        (dbname,))
            state["grader connections still open"] = cur.fetchone()[0]
            return state
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pg_store(tmp_path_factory):
    """A PostgreSQL database loaded with the reference solution (MLflow as the client, artifacts in a folder)."""
    dsn = _pg_dsn()
    try:
        admin = _pg_connect(dsn)
    except Exception as exc:  # noqa: BLE001 - the reason is the skip message
        pytest.skip(f"PostgreSQL at {urlsplit(dsn).hostname}:{urlsplit(dsn).port} is not reachable: "
                    f"{' '.join(str(exc).split())[:200]}")
    name = f"mlflow_grader_{uuid.uuid4().hex[:10]}"
    created = [name]
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        out = tmp_path_factory.mktemp("pg-build") / "submission"
        summary = _build(out, _with_db(dsn, name, "postgresql+psycopg2"))
        yield {"dsn": dsn, "db": name, "artifacts": out, "summary": summary, "admin": admin, "created": created}
    finally:
        for db in created:
            with contextlib.suppress(Exception):
                admin.cursor().execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.close()


def test_postgres_store_is_graded_read_only(pg_store, tmp_path):
    dsn, db = pg_store["dsn"], pg_store["db"]
    before, artifacts_before = pg_state(dsn, db), tree_digest(pg_store["artifacts"])
    started = time.perf_counter()
    proc = grade_cli(_with_db(dsn, db), "--artifacts", str(pg_store["artifacts"]), "--lang", "en",
                     "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html"))
    TIMINGS["grade postgresql (probe)"] = time.perf_counter() - started
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    checks = {c["id"]: c for c in report["checks"]}
    not_passed = {cid: c["message"] for cid, c in checks.items() if c["status"] not in ("pass", "warn")}
    assert not not_passed and proc.returncode == 0
    assert checks["model.predict"]["evidence"]["predictions"] == pytest.approx(pg_store["summary"]["predictions"])
    assert report["submission"]["store"] == "postgresql"
    assert pg_state(dsn, db) == before
    assert before["grader connections still open"] == 0
    assert tree_digest(pg_store["artifacts"]) == artifacts_before
    password = urlsplit(dsn).password
    if password:
        assert ":***@" in report["submission"]["input"]
        _no_secret(password, proc.stdout, proc.stderr, (tmp_path / "r.json").read_text(), (tmp_path / "r.html").read_text())


def test_postgres_password_never_enters_the_environment(pg_store, monkeypatch):
    """Two grades of the store at once (threads, both inside MLflow's reads together): the password
    reaches the driver through the engine the source registered, never PGPASSWORD; afterwards no
    engine of the grader's is left in MLflow's SQL stores."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    from grader.api import grade
    from grader.evidence.remote import PostgresReader
    from grader.sources.postgres import postgres_uris

    password = urlsplit(pg_store["dsn"]).password
    if not password:
        pytest.skip("GRADER_TEST_PG_DSN holds no password: nothing to keep out of the environment")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    barrier = threading.Barrier(2, timeout=60)
    environs: list[dict] = []
    read_runs = PostgresReader.read_runs

    def read_runs_at_once(self):
        barrier.wait()
        environs.append(dict(os.environ))
        read_runs(self)

    monkeypatch.setattr(PostgresReader, "read_runs", read_runs_at_once)
    uri = _with_db(pg_store["dsn"], pg_store["db"])
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(grade, uri, lang="en", probe=False, artifacts=pg_store["artifacts"]) for _ in range(2)]
        results = [f.result(timeout=120) for f in futures]
    environs.append(dict(os.environ))
    for environ in environs:
        assert "PGPASSWORD" not in environ
        _no_secret(password, *(v for k, v in environ.items() if k != "GRADER_TEST_PG_DSN"))  # the test's own
    for result in results:
        statuses = {c.id: c.status for c in result.checks}
        assert statuses["runs.count"] == "pass" and statuses["registry.best_run"] == "pass", statuses
    assert postgres_uris(uri)[0] not in SqlAlchemyStore._engine_map


def test_postgres_sessions_refuse_writes(pg_store):
    """Even a write MLflow would attempt fails: the grader's sessions are read-only."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    from grader.submission.remote import postgres_uris

    uri, password, _ = postgres_uris(_with_db(pg_store["dsn"], pg_store["db"]))
    assert password is None or password not in uri
    engine = sqlalchemy.create_engine(uri, poolclass=NullPool, connect_args={"password": password} if password else {})
    try:
        with engine.connect() as con:
            with pytest.raises(sqlalchemy.exc.DBAPIError, match="read-only transaction"):
                con.exec_driver_sql("INSERT INTO experiments (name, lifecycle_stage) VALUES ('x', 'active')")
    finally:
        engine.dispose()


def test_postgres_other_schema_revision_is_refused_untouched(pg_store):
    """A database at another alembic revision: refused before MLflow touches it, not migrated."""
    from alembic.script import ScriptDirectory
    from mlflow.store.db.utils import _get_alembic_config, _get_latest_schema_revision

    head = _get_latest_schema_revision()
    older = ScriptDirectory.from_config(_get_alembic_config(db_url="")).get_revision(head).down_revision
    older = older[0] if isinstance(older, tuple) else older
    dsn, copy = pg_store["dsn"], pg_store["db"] + "_old"
    pg_store["created"].append(copy)
    cur = pg_store["admin"].cursor()
    cur.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{pg_store["db"]}"')
    conn = _pg_connect(dsn, copy)
    try:
        conn.cursor().execute("UPDATE alembic_version SET version_num = %s", (older,))
    finally:
        conn.close()
    before = pg_state(dsn, copy)
    proc = grade_cli(_with_db(dsn, copy), "--artifacts", str(pg_store["artifacts"]))
    assert proc.returncode == 2
    line = one_line(proc)
    assert f"schema revision {older}" in line and head in line and "refusing" in line and "older" in line
    assert pg_state(dsn, copy) == before
    assert before["alembic_version"] == [repr((older,))]


def test_postgres_not_running_is_one_line():
    pytest.importorskip("psycopg2", reason="psycopg2 (the [postgres] and [test] extras) is not installed")
    proc = grade_cli(f"postgresql://student@{LOOPBACK}:{_free_port()}/mlflow", "--artifacts", ".")
    assert proc.returncode == 2
    assert "not running" in one_line(proc)


def test_timings_report(request):
    """Not a check: prints what the module measured (pytest -s shows it)."""
    if TIMINGS:
        print("\n" + "\n".join(f"  {k}: {v:.1f} s" for k, v in TIMINGS.items()))


# --------------------------------------------------------------------------- names (no server)


def test_names_override_the_rubric_and_its_checks():
    from grader.errors import GraderError
    from grader.names import with_names
    from grader.rubric import load_rubric

    rubric = load_rubric("homework-195")
    named = with_names(rubric, experiment="homework-195-ana", model_name="housing-best-ana")
    assert named.settings["experiment"] == "homework-195-ana" and named.settings["model_name"] == "housing-best-ana"
    assert rubric.settings["experiment"] == "homework-195"  # the loaded rubric is untouched
    for spec in named.checks:
        assert spec.settings.get("model_name", "housing-best-ana") == "housing-best-ana"
    assert with_names(rubric) is rubric
    with pytest.raises(GraderError, match="--students"):
        with_names(rubric, experiment="homework-195-{student}")


def test_redaction_of_uris():
    from grader.submission.remote import redact, scrub

    assert redact("http://ana:pw-123@host:5000/x") == "http://ana:***@host:5000/x"
    assert redact("postgresql://u@h/db?password=pw-123&sslmode=require") == "postgresql://u@h/db?password=***&sslmode=require"
    assert redact("/home/ana/mlruns") == "/home/ana/mlruns"
    assert scrub("failed: pw-123 at https://u:other@h/", ["pw-123"]) == "failed: *** at https://u:***@h/"

"""The probe's sandbox with models that really run (see grader/probe/runner.py and sandbox.py).

* A forest trained with ``n_jobs=-1`` (joblib's thread pool needs a POSIX semaphore in /dev/shm)
  predicts what an unsandboxed load predicts, forked, spawned and in ``grade --batch``; without a
  mount namespace joblib runs sequentially, with the same predictions.
* A refusal by the sandbox is the grader's ``error`` ("not your fault"), never a ``fail``.
* The parent decides: forged result/isolation files, a forged frame and a killed worker are a crash;
  the isolation facts are measured by the grader.
* No secret reaches the probe (the environ block, ``os.environ``, ``posix.environ``, libc's
  strings, ``/proc/<pid>/environ``); /dev holds only what Python needs; the host's /dev/shm is
  hidden; no process of the probe outlives it (a ``setsid`` sleeper).

Every payload would act if the sandbox did not hold (a canary file, a secret read).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from helpers import REPO_ROOT, load_fixtures_modules

from grader.api import grade
from grader.evidence.model import ModelArtifactEv
from grader.probe import ProbeOptions, probe_model, sandbox
from grader.probe.runner import landlock_abi

reference_solution, _ = load_fixtures_modules()
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox's isolation is Linux-only")
needs_landlock = pytest.mark.skipif(landlock_abi() < 1, reason="kernel without Landlock")

MLMODEL = """artifact_path: model
flavors:
  python_function:
    data: model.pkl
    env: {conda: conda.yaml, virtualenv: python_env.yaml}
    loader_module: mlflow.sklearn
    predict_fn: predict
    python_version: 3.11.7
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.9.1
mlflow_version: 3.17.2
"""


class Exec:
    """Unpickling runs ``code`` (only with ``trust_pickles``: "a hole in the allowlist")."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (exec, (self.code, {}))


def _payload_model(root: Path, code: str) -> ModelArtifactEv:
    folder = root / "m"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLmodel").write_text(MLMODEL)
    (folder / "model.pkl").write_bytes(pickle.dumps(Exec(code)))
    return ModelArtifactEv(kind="logged-model", path="m", model_file="model.pkl")


def _observed(ev) -> dict:
    assert "OBS" in (ev.error or ""), (ev.error_kind, ev.error)
    return json.loads(ev.error.split("OBS", 1)[1])


def _status(result, check_id: str):
    return next(c for c in result.checks if c.id == check_id)


def _processes_with(tag: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if tag.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
            except OSError:
                continue
    return found


# --------------------------------------------------------------------------- n_jobs=-1


@pytest.fixture(scope="module")
def n_jobs_store(tmp_path_factory):
    """A reference submission whose every forest was trained with n_jobs=-1 (small grids: fast)."""
    out = tmp_path_factory.mktemp("n-jobs") / "submission"
    summary = reference_solution.build(out, "file", train_rows=300, n_estimators=[4, 8], max_depths=[3, 5],
                                       habits=["n_jobs"])
    return out, summary


@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_n_jobs_forest_predicts_as_unsandboxed(n_jobs_store, launcher):
    store, summary = n_jobs_store
    result = grade(store, lang="en", probe_options=ProbeOptions(launcher=launcher, timeout=120))
    check = _status(result, "model.predict")
    assert check.status == "pass", check.message
    assert check.evidence["launcher"] == launcher
    assert check.evidence["predictions"] == pytest.approx(summary["predictions"], rel=1e-9)
    assert _status(result, "integrity.metrics").status == "pass"  # the whole split predicted too
    if check.evidence["isolation"].get("shm", "").startswith("private"):
        assert check.evidence["parallelism"] == "joblib as trained (private /dev/shm)"


def test_n_jobs_forest_without_mount_namespace_runs_joblib_sequentially(n_jobs_store, monkeypatch):
    """The fallback: no mount namespace, so no private /dev/shm; joblib is told to run in-process."""
    store, summary = n_jobs_store
    monkeypatch.setattr(sandbox, "enter_namespaces", _net_only)
    for launcher in ("fork", "spawn"):
        check = _status(grade(store, lang="en", probe_options=ProbeOptions(launcher=launcher, timeout=120)), "model.predict")
        assert check.status == "pass", (launcher, check.message)
        assert check.evidence["predictions"] == pytest.approx(summary["predictions"], rel=1e-9)
        assert check.evidence["parallelism"] == "joblib sequential (no private /dev/shm)"
        isolation = check.evidence["isolation"]
        assert isolation["shm"].startswith("none") and "private /dev/shm" in isolation["not_held"], isolation
        assert "PID namespace" in isolation["not_held"] and isolation["processes"].startswith("session")


def _net_only(libc, network):
    """enter_namespaces as on a kernel that gives only a network namespace."""
    flags = sandbox.CLONE_NEWNET if network else 0
    return {"flags": flags, "user": False} if flags and libc.unshare(flags) == 0 else {"flags": 0, "user": False}


def test_n_jobs_forest_passes_in_batch(n_jobs_store, tmp_path):
    from grader.batch import grade_batch

    store, summary = n_jobs_store
    subs = tmp_path / "subs"
    subs.mkdir()
    _copy(store, subs / "ana")
    grade_batch(subs, tmp_path / "out", jobs=1, lang="en", probe_options=ProbeOptions(timeout=120))
    report = json.loads((tmp_path / "out" / "students" / "ana" / "report.json").read_text())
    check = next(c for c in report["checks"] if c["id"] == "model.predict")
    assert check["status"] == "pass", check["message"]
    assert check["evidence"]["predictions"] == pytest.approx(summary["predictions"], rel=1e-9)
    single = _status(grade(store, lang="en"), "model.predict")
    assert single.status == check["status"]
    if check["evidence"]["isolation"].get("shm", "").startswith("private"):
        assert check["evidence"]["parallelism"] == "joblib as trained (private /dev/shm)"


def _copy(src: Path, dst: Path) -> None:
    import shutil

    shutil.copytree(src, dst, symlinks=True)


# --------------------------------------------------------------------------- the sandbox's refusals


@needs_landlock
@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_sandbox_refusal_is_the_graders_error(tmp_path, launcher):
    secret = tmp_path / "outside.txt"
    secret.write_text("s3cr3t")
    model = _payload_model(tmp_path / "snap", f"open({str(secret)!r}).read()")
    ev = probe_model(model, tmp_path / "snap", ProbeOptions(trust_pickles=True, timeout=60, launcher=launcher))
    assert ev.error_kind == "sandbox" and "PermissionError" in ev.error, (ev.error_kind, ev.error)
    from test_security import _model_predict_status

    assert _model_predict_status(ev) == "error"
    for lang, words in (("en", "not your fault"), ("es", "no es culpa tuya")):
        assert words in _model_predict_message(ev, lang).lower()


def _model_predict_message(probe, lang: str) -> str:
    from grader.checks import evaluate
    from grader.evidence.model import Evidence, RegisteredModelEv, VersionEv
    from grader.rubric import load_rubric

    ev = Evidence(experiment_name="homework-195", model_name="housing-best", store_kind="file", layout="3.x")
    ev.registered_models = [RegisteredModelEv("housing-best", [VersionEv("housing-best", 1, "Production", "r", "s")])]
    ev.probe = probe
    return next(c for c in evaluate(ev, load_rubric("homework-195"), lang) if c.id == "model.predict").message


# --------------------------------------------------------------------------- the parent decides


FORGE = """
import json, os, signal
home = os.environ["HOME"]
fake = {"ok": True, "predictions": [1.0] * 5, "output_type": "ndarray"}
open(os.path.join(home, "result.json"), "w").write(json.dumps(fake))
open(os.path.join(home, "isolation.json"), "w").write(json.dumps({"network": "FORGED", "filesystem": "FORGED"}))
for fd in range(3, os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") < 65536 else 65536):  # every descriptor the worker may hold
    try:
        body = json.dumps(fake).encode()
        os.write(fd, len(body).to_bytes(4, "big") + body)
    except OSError:
        pass
MODE
"""


@pytest.mark.parametrize("launcher", ["fork", "spawn"])
@pytest.mark.parametrize("mode", ["import ctypes; ctypes.string_at(0)", "os._exit(3)", "pass"])
def test_forged_results_and_a_killed_worker_are_a_crash(tmp_path, launcher, mode):
    """Forged result.json/isolation.json (the old channel) and forged frames: then the worker dies
    (segfault), exits non-zero, or goes on and sends its own result (two results): a crash."""
    model = _payload_model(tmp_path / "snap", FORGE.replace("MODE", mode))
    ev = probe_model(model, tmp_path / "snap", ProbeOptions(trust_pickles=True, timeout=60, launcher=launcher))
    assert not ev.ok and ev.error_kind == "crash", (ev.error_kind, ev.error)
    isolation = ev.details["isolation"]
    assert "FORGED" not in json.dumps(isolation)
    assert isolation["measured"].startswith("by the grader"), isolation


@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_isolation_is_measured_by_the_grader(tmp_path, launcher):
    model = _payload_model(tmp_path / "snap", "raise RuntimeError('OBS{}')")
    ev = probe_model(model, tmp_path / "snap", ProbeOptions(trust_pickles=True, timeout=60, launcher=launcher))
    isolation = ev.details["isolation"]
    assert isolation["measured"].startswith("by the grader from /proc"), isolation
    assert isolation["no_new_privs"] == "yes" and isolation["sockets"].startswith("socket() refused")
    assert isolation["network"] != "none"
    if os.geteuid() == 0:  # root can always have every namespace
        assert isolation["not_held"] == ("nothing" if landlock_abi() >= 6 else isolation["not_held"]), isolation
        assert isolation["processes"].startswith("PID namespace") and isolation["capabilities"] == "none"


# --------------------------------------------------------------------------- secrets, /dev, survivors


SECRET_SCRIPT = """
import json, os, sys
sys.path[:0] = {tests!r}
from pathlib import Path
from grader.probe import ProbeOptions, probe_model
from test_probe_sandbox import _payload_model
code = {seek!r}.format(reversed=os.environ["REVERSED_SECRET"].encode(), grader=os.getpid())  # never reads the secret
model = _payload_model(Path({root!r}), code)
ev = probe_model(model, Path({root!r}), ProbeOptions(trust_pickles=True, timeout=60, launcher={launcher!r}))
print(json.dumps({{"kind": ev.error_kind, "error": ev.error}}))
"""

SEEK = """
import ctypes, json, os, posix
needle = bytearray({reversed!r})[::-1]  # the secret exists only here (the code holds it reversed)
secret = bytes(needle)
r = {{}}
def t(name, f):
    try:
        r[name] = secret in f()
    except BaseException as e:
        r[name] = type(e).__name__
t("environ_file", lambda: open("/proc/self/environ", "rb").read())
t("grader_environ", lambda: open("/proc/{grader}/environ", "rb").read())
t("os_environ", lambda: repr(dict(os.environ)).encode())
t("posix_environ", lambda: repr(posix.environ).encode())
def libc_environ():
    env = ctypes.POINTER(ctypes.c_char_p).in_dll(ctypes.CDLL(None), "environ")
    out, i = b"", 0
    while env[i]:
        out += env[i] + b"\\0"
        i += 1
    return out
t("libc_environ", libc_environ)
def stack():  # the block the kernel shows as /proc/self/environ, read from memory
    fields = open("/proc/self/stat", "rb").read().rsplit(b")", 1)[1].split()
    return ctypes.string_at(int(fields[47]), int(fields[48]) - int(fields[47]))
t("environ_block", stack)
del secret
def memory():  # every readable mapping of the process, but the needle itself
    skip = ctypes.addressof(ctypes.c_char.from_buffer(needle))
    found = False
    for line in open("/proc/self/maps"):
        parts = line.split()
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        if "r" not in parts[1] or (parts[5:] or [""])[0].startswith("[v") or hi - lo > 1 << 31:
            continue
        try:
            data = ctypes.string_at(lo, hi - lo)
        except Exception:
            continue
        i = data.find(needle)
        while i >= 0:
            found = found or lo + i != skip
            i = data.find(needle, i + 1)
    return b"x" if found else b""
secret = b"x"
t("memory", memory)
raise RuntimeError("OBS" + json.dumps(r))
"""


@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_no_secret_of_the_graders_environment_reaches_the_probe(tmp_path, launcher):
    """A grader started with GITHUB_TOKEN in its environment (so it is in the kernel's environ block
    and libc's strings, as in CI): a model that runs code finds it nowhere."""
    secret = "ghp_" + uuid.uuid4().hex
    root = tmp_path / "snap"
    script = SECRET_SCRIPT.format(tests=[str(Path(__file__).resolve().parent), str(REPO_ROOT / "tests")], root=str(root), launcher=launcher, seek=SEEK)
    env = {**os.environ, "GITHUB_TOKEN": secret, "REVERSED_SECRET": secret[::-1], "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run([sys.executable, "-c", script], check=False, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert secret not in out["error"]
    seen = json.loads(out["error"].split("OBS", 1)[1])
    assert seen["os_environ"] is False and seen["posix_environ"] is False, seen
    assert seen["libc_environ"] is False and seen["environ_block"] is False, seen
    assert seen["memory"] is False, "the secret is somewhere in the probe's memory"
    assert seen["environ_file"] is not True and seen["grader_environ"] is not True, seen
    if landlock_abi() >= 1:  # never readable, not even the probe's own
        assert seen["environ_file"] == "PermissionError", seen


DEV = """
import json, os
r = {{}}
def t(name, f):
    try:
        v = f(); r[name] = v if isinstance(v, bool) else "OK"
    except BaseException as e:
        r[name] = type(e).__name__
t("urandom", lambda: open("/dev/urandom", "rb").read(4))
t("null", lambda: open("/dev/null", "w").write("x"))
t("host_shm", lambda: open({canary!r}, "rb").read())
t("host_shm_list", lambda: {canary_name!r} in os.listdir("/dev/shm"))
t("shm_write", lambda: open("/dev/shm/probe-own", "w").write("x"))
t("kmsg", lambda: open("/dev/kmsg", "rb").read(1))
t("mem", lambda: open("/dev/mem", "rb").read(1))
t("tty", lambda: open("/dev/tty", "rb"))
t("dev_list", lambda: os.listdir("/dev"))
raise RuntimeError("OBS" + json.dumps(r))
"""


@needs_landlock
@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_dev_holds_only_what_python_needs_and_not_the_hosts_shm(tmp_path, launcher):
    name = f"mlflow-grader-canary-{uuid.uuid4().hex[:8]}"
    canary = Path("/dev/shm") / name
    canary.write_text("classmate's snapshot")
    try:
        model = _payload_model(tmp_path / "snap", DEV.format(canary=str(canary), canary_name=name))
        ev = probe_model(model, tmp_path / "snap", ProbeOptions(trust_pickles=True, timeout=60, launcher=launcher))
        seen = _observed(ev)
    finally:
        canary.unlink()
    assert seen["urandom"] == "OK" and seen["null"] == "OK", seen
    assert seen["host_shm"] != "OK" and seen["host_shm_list"] is not True, seen
    for device in ("kmsg", "mem", "tty", "dev_list"):
        assert seen[device] != "OK", (device, seen)
    if ev.details["isolation"]["shm"].startswith("private"):
        assert seen["shm_write"] == "OK" and not (Path("/dev/shm") / "probe-own").exists()
    else:
        assert seen["shm_write"] != "OK"


@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_no_process_of_the_probe_outlives_it(tmp_path, launcher):
    """A model starts a sleeper in a session of its own (``setsid``) and returns: gone after the probe."""
    tag = uuid.uuid4().hex
    code = (f"import subprocess, sys\n"
            f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', '{tag}'], start_new_session=True,\n"
            f"                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
            f"import time; time.sleep(1.5)\n"
            f"raise RuntimeError('OBS{{}}')\n")
    model = _payload_model(tmp_path / "snap", code)
    ev = probe_model(model, tmp_path / "snap", ProbeOptions(trust_pickles=True, timeout=60, launcher=launcher))
    assert ev.error_kind == "load", (ev.error_kind, ev.error)
    deadline = time.monotonic() + 5
    while _processes_with(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = _processes_with(tag)
    if ev.details["isolation"]["processes"].startswith("PID namespace"):
        assert not survivors, "a process of the probe outlived it"
    else:  # said in the report
        assert "PID namespace" in ev.details["isolation"]["not_held"]
        for pid in survivors:
            os.kill(pid, 9)


@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_without_pid_namespace_the_session_is_killed_and_the_report_says_so(tmp_path, launcher, monkeypatch):
    """The fallback: no PID namespace. A child of the model in the probe's session is killed with it;
    one that left the session is not, and ``not_held`` says that the PID namespace is missing."""
    monkeypatch.setattr(sandbox, "enter_namespaces", _net_only)
    stay, leave = uuid.uuid4().hex, uuid.uuid4().hex
    code = "import subprocess, sys, time\n" + "".join(
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', '{tag}'], start_new_session={new},\n"
        f"                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        for tag, new in ((stay, False), (leave, True))) + "time.sleep(1.5)\nraise RuntimeError('OBS{}')\n"
    model = _payload_model(tmp_path / "snap", code)
    try:
        ev = probe_model(model, tmp_path / "snap", ProbeOptions(trust_pickles=True, timeout=60, launcher=launcher))
        isolation = ev.details["isolation"]
        assert isolation["processes"].startswith("session") and "PID namespace" in isolation["not_held"], isolation
        deadline = time.monotonic() + 5
        while _processes_with(stay) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _processes_with(stay), "a process in the probe's session outlived it"
    finally:
        for pid in _processes_with(stay) + _processes_with(leave):
            os.kill(pid, 9)

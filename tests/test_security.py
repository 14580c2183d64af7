"""The model probe on hostile models: the checks refuse, the sandbox contains.

* A planted pickle payload (``os.system("touch /tmp/PWNED-...")``) never runs, through every entry
  point (folder, ``mlruns/``, ``mlflow.db``, zip, tgz, ``file:`` URI), and ``model.predict`` says why.
* The checking unpickler lets every real scikit-learn model through (reference stores, protocols 2
  to 5, cloudpickle) and refuses the classic gadgets (``exec``, ``eval``, ``getattr``, ``subprocess``,
  cloudpickle's by-value functions, memo tricks, joblib's raw arrays); the static checks refuse
  ``MLmodel`` code and loader tricks and untrusted skops types. Both launchers (fork, spawn).
* With ``trust_pickles`` the payload runs, inside the sandbox: no network, no credentials in the
  environment, no writes or reads outside its temp dir, no signal to the grader; a memory hog, a
  sleeper (and its grandchild) and a segfault each end as that check's ``error``.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import pickletools
import shutil
import socket
import sys
import tarfile
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from grader.api import grade
from grader.evidence.model import ModelArtifactEv
from grader.probe import ProbeOptions, probe_model
from grader.probe.runner import landlock_abi
from grader.probe.scan import scan_model_dir
from grader.probe.unpickle import Refused, checked_loads, checked_unpickling
from helpers import load_fixtures_modules, tree_digest

_, variants = load_fixtures_modules()
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox's isolation is Linux-only")
needs_landlock = pytest.mark.skipif(landlock_abi() < 1, reason="kernel without Landlock")

MLMODEL = """artifact_path: model
flavors:
  python_function:
    data: {file}
    env: {{conda: conda.yaml, virtualenv: python_env.yaml}}
    loader_module: mlflow.sklearn
    predict_fn: predict
    python_version: 3.11.7
  sklearn:
    code: null
    pickled_model: {file}
    serialization_format: {fmt}
    sklearn_version: 1.9.1
mlflow_version: 3.17.2
"""


class System:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class Exec:
    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (exec, (self.code, {}))


def _model_folder(root: Path, payload: bytes, fmt: str = "cloudpickle", file: str = "model.pkl") -> ModelArtifactEv:
    folder = root / "m"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLmodel").write_text(MLMODEL.format(file=file, fmt=fmt))
    (folder / file).write_bytes(payload)
    return ModelArtifactEv(kind="logged-model", path="m", model_file=file)


def _production_model_dir(store: Path) -> Path:
    view = variants.open_store(store)
    try:
        return view.version_model_dir(view.production_version())
    finally:
        view.close()


def _marker() -> Path:
    return Path("/tmp") / f"PWNED-{uuid.uuid4().hex[:12]}"


# --------------------------------------------------------------------------- planted payload, every entry point


@pytest.fixture(scope="module")
def planted(reference_store_file, reference_store_sqlite, tmp_path_factory):
    """Copies of both reference stores whose Production model.pkl runs ``touch MARKER`` when unpickled."""
    marker = _marker()
    base = tmp_path_factory.mktemp("planted")
    out = {"marker": marker}
    for backend, src in (("file", reference_store_file), ("sqlite", reference_store_sqlite)):
        dst = base / backend / "submission"
        shutil.copytree(src, dst, symlinks=True)
        model_dir = _production_model_dir(dst)
        target = model_dir / "model.pkl"
        if not target.is_file():  # a skops Production model: make it a pickled one
            (model_dir / "MLmodel").write_text(MLMODEL.format(file="model.pkl", fmt="cloudpickle"))
        target.write_bytes(pickle.dumps(System(f"touch {marker}")))
        out[backend] = dst
    zpath = base / "planted.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(out["file"].rglob("*")):
            zf.write(p, Path("ana") / "homework" / p.relative_to(out["file"]))
    tpath = base / "planted.tgz"
    with tarfile.open(tpath, "w:gz") as tf:
        tf.add(out["sqlite"], arcname="submission")
    out["zip"], out["tgz"] = zpath, tpath
    yield out
    marker.unlink(missing_ok=True)


ENTRY_POINTS = {
    "folder": lambda p: p["file"],
    "mlruns": lambda p: p["file"] / "mlruns",
    "sqlite-folder": lambda p: p["sqlite"],
    "mlflow.db": lambda p: p["sqlite"] / "mlflow.db",
    "file-uri": lambda p: p["file"].as_uri(),
    "zip": lambda p: p["zip"],
    "tgz": lambda p: p["tgz"],
    "file-uri-archive": lambda p: p["tgz"].as_uri(),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_planted_payload_never_runs(planted, entry):
    submission = ENTRY_POINTS[entry](planted)
    source = planted["sqlite" if entry in ("sqlite-folder", "mlflow.db", "tgz", "file-uri-archive") else "file"]
    before = tree_digest(source)
    result = grade(submission, lang="en")
    check = next(c for c in result.checks if c.id == "model.predict")
    assert check.status == "fail", (check.status, check.message)
    assert check.evidence["key"] == "refused"
    assert "posix.system" in check.message or "os.system" in check.message, check.message
    assert not planted["marker"].exists(), "the payload ran"
    assert tree_digest(source) == before


@linux
@needs_landlock
@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_model_file_left_in_the_submission_is_read_only_to_the_probe(tmp_path, monkeypatch, launcher):
    """The probe loads a model file the snapshot did not copy from the submission itself: a payload
    (trusted, so it runs) can read it through its link, and can neither write it nor read a sibling."""
    from grader.submission import snapshot

    monkeypatch.setattr(snapshot, "DEFER_BYTES", 1)
    sub = tmp_path / "sub"
    (sub / "mlruns" / "0" / "r" / "artifacts" / "model").mkdir(parents=True)
    folder = sub / "mlruns" / "0" / "r" / "artifacts" / "model"
    (folder.parent / "secret.txt").write_text("s3cr3t")
    code = ("import json, os\nr = {}\np = os.path.join(os.environ['HOME'], 'model', 'model.pkl')\n"
            "r['link'] = os.path.islink(p)\n"
            "for name, f in (('read', lambda: open(p, 'rb').read(1)), ('write', lambda: open(p, 'ab').write(b'x')),\n"
            "                ('sibling', lambda: open(os.path.join(os.path.dirname(os.path.realpath(p)), '..', 'secret.txt')).read())):\n"
            "    try:\n        f(); r[name] = 'OK'\n    except BaseException as e:\n        r[name] = type(e).__name__\n"
            "raise RuntimeError('OBS' + json.dumps(r))\n")
    (folder / "MLmodel").write_text(MLMODEL.format(file="model.pkl", fmt="cloudpickle"))
    (folder / "model.pkl").write_bytes(pickle.dumps(Exec(code)))
    before = tree_digest(sub)
    files = snapshot.ModelFiles()
    root = tmp_path / "snap"
    snapshot._copy_tree(sub, root, snapshot._Budget(), files=files)
    placeholder = root / "mlruns" / "0" / "r" / "artifacts" / "model" / "model.pkl"
    assert files.content(placeholder) == folder / "model.pkl"
    model = ModelArtifactEv(kind="run-artifact", path="mlruns/0/r/artifacts/model", model_file="model.pkl")
    ev = probe_model(model, root, ProbeOptions(trust_pickles=True, timeout=60, launcher=launcher), files=files)
    assert ev.error_kind == "load" and "OBS" in (ev.error or ""), ev.error
    seen = json.loads(ev.error.split("OBS", 1)[1])
    assert seen == {"link": True, "read": "OK", "write": "PermissionError", "sibling": "PermissionError"}, seen
    assert tree_digest(sub) == before


@linux
@needs_landlock
def test_trusted_payload_runs_only_inside_the_sandbox(planted):
    """--trust-pickles skips the refusal; the payload runs, but cannot write outside its temp dir."""
    result = grade(planted["file"], lang="en", probe_options=ProbeOptions(trust_pickles=True, timeout=60))
    check = next(c for c in result.checks if c.id == "model.predict")
    assert check.status in ("fail", "error")  # os.system's return value is no model
    assert "Landlock" in check.evidence["isolation"]["filesystem"]
    assert not planted["marker"].exists(), "the trusted payload wrote outside the sandbox"


@linux
@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_probe_refuses_payload_while_loading(tmp_path, launcher):
    """The refusal comes from the worker's checking unpickler, with either launcher; nothing runs."""
    marker = _marker()
    model = _model_folder(tmp_path, pickle.dumps(System(f"touch {marker}")))
    assert scan_model_dir(tmp_path / "m") is None  # pickles are checked while they load, not before
    ev = probe_model(model, tmp_path, ProbeOptions(timeout=60, launcher=launcher))
    assert not ev.ok and ev.error_kind == "refused", (ev.error_kind, ev.error)
    assert "model.pkl would import posix.system" in ev.error and "allowlist" in ev.error
    assert ev.details["launcher"] == launcher
    assert not marker.exists(), "the payload ran"


@linux
def test_auto_launcher_forks_only_a_single_threaded_grader(tmp_path):
    """A thread running in the grader (its locks could be held at the fork) means a new interpreter."""
    import threading

    model = _model_folder(tmp_path, pickle.dumps([1.0]))
    assert probe_model(model, tmp_path, ProbeOptions(timeout=60)).details["launcher"] == (
        "fork" if threading.active_count() == 1 else "spawn")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        ev = probe_model(model, tmp_path, ProbeOptions(timeout=60))
    finally:
        stop.set()
        thread.join()
    assert ev.details["launcher"] == "spawn"
    assert ev.error_kind == "predict"  # a list is no model: loaded, then failed to predict
    with pytest.raises(ValueError, match="unknown probe launcher"):
        probe_model(model, tmp_path, ProbeOptions(launcher="thread"))


# --------------------------------------------------------------------------- the checks before and while loading


def _sklearn_pickles():
    import cloudpickle
    import numpy as np
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.RandomState(0)
    x, y = rng.rand(40, 3), rng.rand(40)
    models = [LinearRegression().fit(x, y), RandomForestRegressor(3, random_state=np.random.RandomState(1)).fit(x, y),
              make_pipeline(StandardScaler(), LinearRegression()).fit(x, y),
              TransformedTargetRegressor(LinearRegression(), func=np.log1p, inverse_func=np.expm1).fit(x, y)]
    for model in models:
        for protocol in (2, 4, 5):
            yield f"{type(model).__name__}-p{protocol}", pickle.dumps(model, protocol=protocol)
        yield f"{type(model).__name__}-cloudpickle", cloudpickle.dumps(model)


def test_reference_models_pass_the_scan(reference_store_file, reference_store_sqlite):
    folders = [p.parent for store in (reference_store_file, reference_store_sqlite) for p in store.rglob("MLmodel")]
    assert len(folders) >= 20
    for folder in folders:
        assert scan_model_dir(folder) is None, folder


def test_sklearn_models_pass_the_checking_unpickler():
    import numpy as np

    probe = np.random.RandomState(2).rand(4, 3)
    for name, data in _sklearn_pickles():
        model, expected = checked_loads(data), pickle.loads(data)
        assert type(model) is type(expected), name
        assert np.allclose(model.predict(probe), expected.predict(probe)), name


def test_reference_model_files_pass_the_checking_unpickler(reference_store_file, reference_store_sqlite):
    files = [p for store in (reference_store_file, reference_store_sqlite) for p in store.rglob("model.pkl")]
    assert len(files) >= 10
    for path in files:
        assert checked_loads(path.read_bytes(), path.name) is not None, path


def test_checked_unpickling_covers_pickle_and_cloudpickle_and_restores_them():
    import cloudpickle

    originals = (pickle.load, pickle.loads, cloudpickle.load, cloudpickle.loads)
    payload = pickle.dumps(System("id"))
    with checked_unpickling("model.pkl") as guard:
        for load in (pickle.loads, cloudpickle.loads, lambda d: pickle.load(io.BytesIO(d)), lambda d: cloudpickle.load(io.BytesIO(d))):
            with pytest.raises(Refused, match="model.pkl would import posix.system"):
                load(payload)
        assert pickle.loads(pickle.dumps([1, {"a": 2}])) == [1, {"a": 2}]
    assert guard.calls == 5
    assert (pickle.load, pickle.loads, cloudpickle.load, cloudpickle.loads) == originals


def _stack_global_via_memo(module: str, name: str) -> bytes:
    """``STACK_GLOBAL`` whose strings come from the memo, not from the opcodes just before it."""
    return (b"\x80\x04" + b"\x8c" + bytes([len(module)]) + module.encode() + b"\x940"
            + b"\x8c" + bytes([len(name)]) + name.encode() + b"\x940"
            + b"h\x00h\x01\x93" + b"\x8c\x04true\x85R.")


def _lambda_pickle() -> bytes:
    import cloudpickle

    return cloudpickle.dumps(lambda x: x)


HOSTILE_PICKLES = {
    "os.system": (lambda: pickle.dumps(System("id")), "system"),
    "exec": (lambda: pickle.dumps(Exec("print(1)")), "builtins.exec"),
    "eval-protocol0": (lambda: b"c__builtin__\neval\n(S'1+1'\ntR.", "__builtin__.eval"),
    "posix-protocol0": (lambda: b"cposix\nsystem\n(S'id'\ntR.", "posix.system"),
    "subprocess": (lambda: b"csubprocess\nPopen\n(S'id'\ntR.", "subprocess.Popen"),
    "getattr": (lambda: b"cbuiltins\ngetattr\n(cnumpy\nndarray\nS'tofile'\ntR.", "builtins.getattr"),
    "memo-stack-global": (lambda: _stack_global_via_memo("os", "system"), "os.system"),
    "cloudpickle-lambda": (_lambda_pickle, "cloudpickle"),
    "numpy-load": (lambda: b"cnumpy\nload\n(S'/etc/passwd'\ntR.", "numpy.load"),
    "numpy-testing": (lambda: b"cnumpy.testing._private.utils\nrunstring\n(S'1'\n(dtR.", "runstring"),
    "ufunc-reconstruct": (lambda: b"cnumpy.core\n_ufunc_reconstruct\n(S'os'\nS'system'\ntR.", "_ufunc_reconstruct"),
    "sklearn-datasets": (lambda: b"csklearn.datasets\ndump_svmlight_file\n(tR.", "sklearn.datasets"),
    "pandas-read-pickle": (lambda: b"cpandas\nread_pickle\n(S'x'\ntR.", "pandas.read_pickle"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_PICKLES))
def test_checking_unpickler_refuses_hostile_pickles(case):
    make, named = HOSTILE_PICKLES[case]
    data = make()
    pickletools.dis(io.BytesIO(data), out=io.StringIO())  # a well-formed pickle, not garbage
    with pytest.raises(Refused) as refused:
        checked_loads(data, "model.pkl")
    refusal = str(refused.value)
    assert refusal.startswith("refused: model.pkl") and named in refusal, refusal
    assert "\n" not in refusal


def test_joblib_files_are_refused_or_unreadable_never_run(tmp_path):
    import zlib

    import joblib
    import numpy as np

    path = tmp_path / "model.joblib"
    joblib.dump({"coef": np.arange(5.0)}, path)
    with pytest.raises(Refused, match="joblib.dump"):
        checked_loads(path.read_bytes())
    with pytest.raises(pickle.UnpicklingError):  # compressed: pickle.load cannot even start
        checked_loads(zlib.compress(pickle.dumps(System("id"))))


def test_garbage_model_file_is_left_to_the_loader(tmp_path):
    _model_folder(tmp_path, b"NOT A MODEL" + bytes(range(256)))
    assert scan_model_dir(tmp_path / "m") is None  # nothing to import: loading will fail, not run


MLMODEL_TRICKS = {
    "loader-module": ("loader_module: mlflow.sklearn", "loader_module: antigravity", "antigravity"),
    "code-dir": ("    code: null", "    code: code", "ships code"),
    "pyfunc-code": ("    predict_fn: predict", "    predict_fn: predict\n    code: code", "ships code"),
    "data-dotdot": ("    data: model.pkl", "    data: ../../../other/model.pkl", "outside"),
    "data-absolute": ("    data: model.pkl", "    data: /etc/passwd", "outside"),
    "pickled-absolute": ("    pickled_model: model.pkl", "    pickled_model: /home/x/model.pkl", "outside"),
    "unknown-format": ("serialization_format: cloudpickle", "serialization_format: dill", "serialization_format"),
}


@pytest.mark.parametrize("case", sorted(MLMODEL_TRICKS))
def test_scan_refuses_mlmodel_tricks(tmp_path, case):
    old, new, named = MLMODEL_TRICKS[case]
    _model_folder(tmp_path, pickle.dumps([1, 2]))
    mlmodel = tmp_path / "m" / "MLmodel"
    text = mlmodel.read_text()
    assert old in text
    mlmodel.write_text(text.replace(old, new))
    refusal = scan_model_dir(tmp_path / "m")
    assert refusal and named in refusal, refusal


def test_scan_refuses_malformed_mlmodel(tmp_path):
    _model_folder(tmp_path, pickle.dumps([1]))
    (tmp_path / "m" / "MLmodel").write_text("flavors: [unclosed\n  - : :")
    assert scan_model_dir(tmp_path / "m").startswith("refused: MLmodel")


def test_skops_untrusted_types_are_refused(tmp_path):
    import numpy as np
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    transformer = FunctionTransformer(func=os.system).fit(np.zeros((2, 2)))
    folder_model = _model_folder(tmp_path, sio.dumps(transformer), fmt="skops", file="model.skops")
    refusal = scan_model_dir(tmp_path / folder_model.path)
    assert refusal and "system" in refusal, refusal
    # a real skops model (LinearRegression, as MLflow >= 3.14 writes it) passes
    from sklearn.linear_model import LinearRegression

    (tmp_path / "m" / "model.skops").write_bytes(sio.dumps(LinearRegression().fit(np.eye(3), [1, 2, 3])))
    assert scan_model_dir(tmp_path / "m") is None
    (tmp_path / "m" / "model.skops").write_bytes(b"PK\x03\x04 truncated")
    assert "not a readable skops file" in scan_model_dir(tmp_path / "m")


# --------------------------------------------------------------------------- the sandbox


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.1)
    yield server
    server.close()


OBSERVE = """
import json, os, socket
r = {{}}
def t(name, f):
    try:
        f(); r[name] = "OK"
    except BaseException as e:
        r[name] = type(e).__name__
r["env"] = sorted(k for k in os.environ if any(w in k for w in ("TOKEN", "PASSWORD", "SECRET", "AWS", "KEY")))
r["cwd_is_home"] = os.getcwd() == os.environ.get("HOME")
t("tcp", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2).close())
t("unix", lambda: socket.socket(socket.AF_UNIX).connect({unix!r}))
t("write", lambda: open({outside!r}, "w").write("x"))
t("read", lambda: open({secret!r}).read())
t("home_write", lambda: open(os.path.join(os.environ["HOME"], "ok.txt"), "w").write("x"))
t("signal_parent", lambda: os.kill({grader}, 0))
t("parent_environ", lambda: open("/proc/%d/environ" % {grader}, "rb").read())
raise RuntimeError("OBS" + json.dumps(r, separators=(",", ":")))
"""


@linux
@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_sandbox_isolation(launcher, tmp_path, listener, monkeypatch):
    for name in ("GITHUB_TOKEN", "MLFLOW_TRACKING_PASSWORD", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"):
        monkeypatch.setenv(name, "leak-me")
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t")
    unix_path = str(tmp_path / "agent.sock")
    unix_server = socket.socket(socket.AF_UNIX)
    unix_server.bind(unix_path)
    unix_server.listen(1)
    outside = _marker()
    code = OBSERVE.format(port=listener.getsockname()[1], unix=unix_path, outside=str(outside), secret=str(secret),
                          grader=os.getpid())
    root = tmp_path / "snap"
    model = _model_folder(root, pickle.dumps(Exec(code)))
    try:
        ev = probe_model(model, root, ProbeOptions(trust_pickles=True, timeout=60, launcher=launcher))
    finally:
        unix_server.close()
    assert ev.error_kind == "load" and "OBS" in (ev.error or ""), ev.error
    seen = json.loads(ev.error.split("OBS", 1)[1])
    assert seen["env"] == [], "credentials reached the probe"
    assert seen["cwd_is_home"] is True
    assert seen["tcp"] != "OK" and seen["unix"] != "OK", seen
    with pytest.raises(OSError):
        listener.accept()  # nothing ever connected
    assert seen["home_write"] == "OK"
    isolation = ev.details["isolation"]
    assert isolation["network"] != "none", isolation
    if landlock_abi() >= 1:
        assert seen["write"] != "OK" and not outside.exists()
        assert seen["read"] != "OK"
        assert seen["parent_environ"] != "OK"
        assert "Landlock" in isolation["filesystem"]
    if landlock_abi() >= 6:
        assert seen["signal_parent"] != "OK"
    outside.unlink(missing_ok=True)


@linux
@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_memory_hog_is_an_error(launcher, tmp_path):
    model = _model_folder(tmp_path, pickle.dumps(Exec("x = bytearray(20 * 1024**3)")))
    ev = probe_model(model, tmp_path, ProbeOptions(trust_pickles=True, timeout=60, memory_mb=4096, launcher=launcher))
    assert not ev.ok and ev.error_kind == "crash", (ev.error_kind, ev.error)
    assert "memory" in ev.error and "4096 MiB" in ev.error
    result_status = _model_predict_status(ev)
    assert result_status == "error"


@linux
@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_sleeper_and_its_grandchild_hit_the_timeout(launcher, tmp_path):
    tag = uuid.uuid4().hex
    code = (f"import subprocess, sys, time\n"
            f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', '{tag}'])\n"
            f"time.sleep(120)\n")
    model = _model_folder(tmp_path, pickle.dumps(Exec(code)))
    started = time.monotonic()
    ev = probe_model(model, tmp_path, ProbeOptions(trust_pickles=True, timeout=6, launcher=launcher))
    assert time.monotonic() - started < 20
    assert ev.error_kind == "timeout" and "6 s" in ev.error
    assert _model_predict_status(ev) == "error"
    time.sleep(0.2)
    assert not _processes_with(tag), "the model's child survived the timeout"


@linux
@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_segfault_is_an_error(launcher, tmp_path):
    model = _model_folder(tmp_path, pickle.dumps(Exec("import ctypes; ctypes.string_at(0)")))
    ev = probe_model(model, tmp_path, ProbeOptions(trust_pickles=True, timeout=60, launcher=launcher))
    assert ev.error_kind == "crash" and "SIGSEGV" in ev.error and "segmentation fault" in ev.error
    assert _model_predict_status(ev) == "error"


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


def _model_predict_status(probe) -> str:
    """How the model.predict check judges a probe result (with a Production version present)."""
    from grader.checks import evaluate
    from grader.evidence.model import Evidence, RegisteredModelEv, VersionEv
    from grader.rubric import load_rubric

    ev = Evidence(experiment_name="homework-195", model_name="housing-best", store_kind="file", layout="3.x")
    ev.registered_models = [RegisteredModelEv("housing-best", [VersionEv("housing-best", 1, "Production", "r", "s")])]
    ev.probe = probe
    checks = evaluate(ev, load_rubric("homework-195"), "en")
    return next(c for c in checks if c.id == "model.predict").status

"""Run :mod:`grader.probe.worker` in a restricted child process and read back its JSON."""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import grader

from ..evidence.model import ModelArtifactEv, ProbeEv

CLONE_NEWNET = 0x40000000
MAX_RESULT_BYTES = 4 * 1024**2
#: Environment variables the child keeps; everything else (tokens, credentials) is dropped.
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT")


@dataclass(frozen=True)
class ProbeOptions:
    timeout: float = 60.0
    memory_mb: int = 8192
    trust_pickles: bool = False
    rows: int = 5
    isolate_network: bool = True


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist, label in (("mlflow", "mlflow"), ("scikit-learn", "scikit-learn")):
        try:
            out[label] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def _limit_child(memory_mb: int, isolate_network: bool):
    def apply() -> None:  # runs in the child between fork and exec
        os.setsid()
        limits = [(resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, 256 * 1024**2)]
        if memory_mb:
            limits.append((resource.RLIMIT_AS, memory_mb * 1024**2))
        for which, value in limits:
            try:
                resource.setrlimit(which, (value, value))
            except (ValueError, OSError):
                pass
        if isolate_network and sys.platform.startswith("linux"):
            try:  # a new, empty network namespace: no interface but a down loopback
                ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNET)
            except (OSError, AttributeError):
                pass

    return apply


def _child_env(home: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    package_parent = str(Path(grader.__file__).resolve().parent.parent)
    env.update(HOME=str(home), TMPDIR=str(home), PYTHONPATH=package_parent, PYTHONDONTWRITEBYTECODE="1",
               PYTHONHASHSEED="0", MLFLOW_TRACKING_URI=(home / "nowhere").as_uri(), NO_PROXY="*")
    return env


def probe_model(model: ModelArtifactEv | None, snapshot_root: Path, options: ProbeOptions = ProbeOptions()) -> ProbeEv:
    """Load the model at ``model.path`` (inside the snapshot) and predict the homework's test rows."""
    graded_with = _versions()
    made_with = {k: v for k, v in (("mlflow", model and model.mlflow_version), ("scikit-learn", model and model.sklearn_version)) if v}
    if model is None or not model.path:
        return ProbeEv(ok=False, error="the version's model folder (MLmodel) was not found in the submission",
                       error_kind="missing", graded_with=graded_with)
    base = dict(model_path=model.path, made_with=made_with, graded_with=graded_with)
    if not model.ok:
        return ProbeEv(ok=False, error=f"{model.path}: {model.problem}", error_kind="missing", **base)
    folder = snapshot_root / model.path

    from .scan import scan_model_dir

    refusal = scan_model_dir(folder, model, trust_pickles=options.trust_pickles)
    if refusal:
        return ProbeEv(ok=False, error=refusal, error_kind="refused", **base)

    from ..data import test_rows

    rows = test_rows(options.rows)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mlflow-grader-probe-") as tmp:
        home = Path(tmp)
        request = home / "request.json"
        result = home / "result.json"
        request.write_text(json.dumps({"model_dir": str(folder), "columns": list(rows.columns),
                                       "rows": rows.to_numpy().tolist(), "result": str(result)}))
        cmd = [sys.executable, "-m", "grader.probe.worker", str(request)]
        try:
            proc = subprocess.Popen(cmd, cwd=home, env=_child_env(home), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    preexec_fn=_limit_child(options.memory_mb, options.isolate_network))
        except OSError as exc:
            return ProbeEv(ok=False, error=f"could not start the probe: {exc}", error_kind="internal", **base)
        try:
            _, stderr = proc.communicate(timeout=options.timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            return ProbeEv(ok=False, error=f"loading and predicting took more than {options.timeout:g} s (timeout)",
                           error_kind="timeout", duration_ms=(time.perf_counter() - started) * 1000, **base)
        elapsed = (time.perf_counter() - started) * 1000
        payload = _read_result(result)
        if payload is None:
            return ProbeEv(ok=False, error=_death(proc.returncode, stderr), error_kind="crash", duration_ms=elapsed, **base)
    if not payload.get("ok"):
        return ProbeEv(ok=False, error=str(payload.get("error", "?"))[:500], error_kind=str(payload.get("stage", "load")),
                       duration_ms=elapsed, **base)
    predictions = payload.get("predictions")
    if not isinstance(predictions, list):
        predictions = []
    return ProbeEv(ok=True, predictions=predictions[:1000], n_rows=len(rows), duration_ms=elapsed,
                   details={"output_type": str(payload.get("output_type", ""))[:100]}, **base)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def _read_result(path: Path) -> dict | None:
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_RESULT_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _death(returncode: int | None, stderr: bytes | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        why = {"SIGKILL": " (probably out of memory)", "SIGSEGV": " (segmentation fault)"}.get(name, "")
        return f"the probe process died with {name}{why}"
    tail = (stderr or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    if "MemoryError" in tail[0]:
        return "the model needs more memory than the probe allows (MemoryError)"
    return f"the probe process exited with code {returncode} without a result {tail[0][:200]}".strip()

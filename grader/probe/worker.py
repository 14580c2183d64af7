"""The probe's child process: load one MLflow model folder, predict, send JSON. Nothing else.

Run by :mod:`grader.probe.runner` in a sandboxed child, never in the grader's own process: forked
from the grader (:mod:`grader.probe.fork`) or as ``python -m grader.probe.worker REQUEST.json
RESULT_FD GO_FD``; the result goes back over the grader's pipe (:mod:`grader.probe.channel`).
The request names the model folder, the rows, and whether pickles
are checked while they load (:mod:`grader.probe.unpickle`; off only with ``--trust-pickles``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
import warnings
from typing import Any


def _line(exc: BaseException) -> str:
    """The exception in one line: its type and its first lines joined (the first alone can end in
    a colon, e.g. scikit-learn's "node array from the pickle has an incompatible dtype:", with the
    expected and the found dtype on the next two lines: each line is kept, shortened if long)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    text = lines[0][:300]
    for line in lines[1:4]:
        text = (
            text.rstrip(".")
            + (" " if text.endswith(":") else "; ")
            + (line if len(line) <= 300 else line[:297] + "...")
        )
    return f"{type(exc).__name__}: {text}"


def _refusal_in(exc: BaseException | None) -> str | None:
    """The checking unpickler's refusal, when a loader wrapped it in an exception of its own."""
    from .unpickle import Refused

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, Refused):
            return str(exc)[:500]
        exc = exc.__cause__ or exc.__context__
    return None


def _sandbox_refusal(exc: BaseException | None) -> bool:
    """Whether the sandbox refused something (``EACCES``/``EPERM``): the grader's problem, not the
    student's (a legitimate model never touches what the probe may not)."""
    import errno

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _plain(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)[:100]
    return number if math.isfinite(number) else None


#: Below this, a model's loading is not worth a reserved heap.
RESERVE_MIN_BYTES = 16 * 1024**2
#: At most this much heap is reserved (``mallopt`` takes an ``int``).
RESERVE_MAX_BYTES = 1536 * 1024**2


def _reserve_heap(nbytes: int) -> int:
    """Grow the heap by ``nbytes`` and have the kernel fill it now (Linux's ``MADV_POPULATE_WRITE``,
    glibc's ``mallopt``): what unpickling a large model then allocates comes from it. Returns the
    bytes reserved (0 where anything is missing: the model then loads as it would anyway).

    Why: a 226 MiB forest takes about 450 MiB while it unpickles (the pickle's bytes and each tree's
    copy of them), in pieces of about 1 MiB that glibc would each ``mmap`` and the kernel fault in page
    by page; one populated heap costs the kernel the same zeroing without the 116,000 faults nor the
    mappings: measured 0.32 -> 0.26 s for that forest's load. Done before any of the model's code
    runs, inside the sandbox, in this short-lived process only. Arrays over 32 MiB (glibc's largest
    threshold) are still mapped one by one: for a model made of a few such arrays the reserve only
    costs its zeroing (about 0.3 ms per MiB).
    """
    nbytes = min(int(nbytes), RESERVE_MAX_BYTES)
    if nbytes < RESERVE_MIN_BYTES or not sys.platform.startswith("linux"):
        return 0
    try:
        import ctypes
        import platform

        if platform.libc_ver()[0] != "glibc":
            return 0
        libc = ctypes.CDLL(None, use_errno=True)
        libc.sbrk.restype = ctypes.c_void_p
        libc.sbrk.argtypes = [ctypes.c_ssize_t]
        libc.malloc.restype = ctypes.c_void_p
        libc.malloc.argtypes = [ctypes.c_size_t]
        libc.free.argtypes = [ctypes.c_void_p]
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        m_trim_threshold, m_top_pad, m_mmap_threshold, madv_populate_write = -1, -2, -3, 23
        libc.mallopt(m_mmap_threshold, 32 * 1024**2)  # the model's arrays from the heap, not a mapping each
        libc.mallopt(m_trim_threshold, 2**31 - 1)  # and what is freed stays there, for the next ones
        libc.mallopt(m_top_pad, nbytes)
        before = libc.sbrk(0)
        block = libc.malloc(16 * 1024**2)  # more than the heap has free: it grows, by the pad too
        libc.free(block)
        after = libc.sbrk(0)
        if not before or not after or after <= before:
            return 0
        if libc.madvise(before, after - before, madv_populate_write) != 0:
            return 0  # a kernel before 5.14: the pages are faulted in as they are used
        return after - before
    except (OSError, AttributeError, ValueError):
        return 0


def run(request: dict) -> dict:
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    started = time.perf_counter()
    _reserve_heap(2 * int(request.get("model_bytes") or 0))  # what unpickling takes: see _reserve_heap
    try:
        import mlflow
        import mlflow.pyfunc
        import numpy as np
        import pandas as pd

        from .unpickle import check_loaded, checked_unpickling, model_of

        if os.environ.get("MLFLOW_TRACKING_URI"):  # a forked worker inherits the grader's URI
            mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
        # suppress_warnings: no requirements check (about 1 s); the report compares the versions itself.
        if request.get("trust_pickles"):
            model = mlflow.pyfunc.load_model(request["model_dir"], suppress_warnings=True)
        else:
            with checked_unpickling(request.get("model_file") or "the model file") as guard:
                model = mlflow.pyfunc.load_model(request["model_dir"], suppress_warnings=True)
            if request.get("pickled") and guard.calls == 0:
                return {
                    "ok": False,
                    "stage": "refused",
                    "error": "refused: MLflow loaded the pickled model without "
                    "the checking unpickler; the probe does not run it unchecked",
                }
            check_loaded(model_of(model), request.get("model_file") or "the model file")
    except BaseException as exc:  # noqa: BLE001 - the student's model may raise anything
        refusal = _refusal_in(exc)
        if refusal:
            return {"ok": False, "stage": "refused", "error": refusal}
        return {"ok": False, "stage": "sandbox" if _sandbox_refusal(exc) else "load", "error": _line(exc)}
    loaded = time.perf_counter()
    try:
        rows = np.load(request["rows_file"], allow_pickle=False) if "rows_file" in request else request["rows"]
        frame = pd.DataFrame(rows, columns=request["columns"])
        output = model.predict(frame)
        values = np.asarray(output, dtype=object).ravel().tolist()
    except BaseException as exc:  # noqa: BLE001
        return {"ok": False, "stage": "sandbox" if _sandbox_refusal(exc) else "predict", "error": _line(exc)}
    timings = {
        "load_ms": round(1000 * (loaded - started), 1),
        "predict_ms": round(1000 * (time.perf_counter() - loaded), 1),
    }
    return {
        "ok": True,
        "predictions": [_plain(v) for v in values],
        "output_type": type(output).__name__,
        "timings": timings,
    }


def _parallelism() -> str:
    """Let the model run as it was trained (joblib ``n_jobs`` threads or processes), or say why not.

    joblib's thread and process pools need POSIX semaphores, made in ``/dev/shm``: the probe has a
    private one when the kernel gives it a mount namespace (see :mod:`grader.probe.sandbox`). Without
    one joblib would fail with ``PermissionError``; it is then told to run every job in this process
    (the same predictions, one core). A forked probe is no daemon, whatever the process it was
    forked from was (a batch's student process is one: joblib would refuse process pools there).
    """
    import multiprocessing
    import multiprocessing.process
    import multiprocessing.resource_tracker

    multiprocessing.process.current_process()._config.pop("daemon", None)  # type: ignore[attr-defined]  # private, no stub
    # As in a fresh interpreter on Linux: "fork" (semaphores unlinked at once, no resource tracker),
    # and no tracker inherited from a batch's fork server (its descriptor is closed here).
    multiprocessing.set_start_method("fork", force=True)
    # Private attributes of multiprocessing's and loky's trackers and executor: typed Any on purpose.
    trackers: list[Any] = [multiprocessing.resource_tracker._resource_tracker]
    loky: Any = sys.modules.get("joblib.externals.loky.reusable_executor")
    if loky is not None:  # the grader's process pool (its workers are not this process's children)
        loky._executor = loky._executor_kwargs = None
    loky_tracker = sys.modules.get("joblib.externals.loky.backend.resource_tracker")
    if loky_tracker is not None:
        trackers.append(loky_tracker._resource_tracker)
    for tracker in trackers:
        tracker._fd, tracker._pid = None, None
    try:
        from _multiprocessing import SemLock

        SemLock(0, 0, 1, name=f"/mlflow-grader-probe-{os.getpid()}", unlink=True)
        return "joblib as trained (private /dev/shm)"
    except (ImportError, OSError):
        pass
    try:
        import joblib._multiprocessing_helpers
        import joblib._parallel_backends
        import joblib.parallel

        for module in (joblib._multiprocessing_helpers, joblib._parallel_backends, joblib.parallel):
            module.mp = None  # what joblib sets itself when it finds no semaphores at import
    except ImportError:
        pass
    return "joblib sequential (no private /dev/shm)"


def _standard_streams() -> None:
    """``sys.stdout``/``sys.stderr`` on this process's own descriptors 1 and 2 (``/dev/null`` and the
    probe's stderr file). A forked worker inherits the grader's stream objects, which may write to a
    descriptor closed here (pytest's capture, a notebook's): a model whose library prints while it
    loads or predicts (LightGBM's log callback calls ``print``) would fail with ``EBADF``."""
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115 - for the process's life
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)  # noqa: SIM115


def main() -> int:
    """``worker REQUEST RESULT_FD GO_FD``: wait for the grader's go, run, send the result frame."""
    from . import channel

    _standard_streams()

    out_fd, go_fd = int(sys.argv[2]), int(sys.argv[3])
    with open(sys.argv[1], encoding="utf-8") as fh:
        request = json.load(fh)
    if os.read(go_fd, 1) != b"g":  # the grader measures the sandbox before any model code runs
        return 1
    os.close(go_fd)
    parallelism = _parallelism()
    result = run(request)
    result["parallelism"] = parallelism
    channel.send(out_fd, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

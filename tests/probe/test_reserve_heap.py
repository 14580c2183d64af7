"""The probe's child reserves and fills the heap a large model's unpickling takes
(grader.probe.worker._reserve_heap): the kernel fills it at once, small models are left alone, and
a model predicts the same with it as without."""

from __future__ import annotations

import json
import os
import platform
import sys
import warnings
from pathlib import Path

import pytest

from grader.probe import worker

LINUX_GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def _kernel_at_least(major: int, minor: int) -> bool:
    try:
        found = tuple(int(p) for p in platform.release().split("-")[0].split(".")[:2])
    except ValueError:
        return False
    return found >= (major, minor)


def _in_child(fn) -> dict:
    """``fn()`` in a forked child (mallopt and the heap it grows must not touch the test's process)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read)
            os.write(write, json.dumps(fn()).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def _resident() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_small_models_reserve_nothing():
    assert worker._reserve_heap(worker.RESERVE_MIN_BYTES - 1) == 0
    assert worker._reserve_heap(0) == 0


@pytest.mark.skipif(not LINUX_GLIBC, reason="the heap is reserved with glibc on Linux only")
def test_the_heap_is_grown_and_filled_at_once():
    def reserve():
        before = _resident()
        reserved = worker._reserve_heap(96 * 1024**2)
        return {"reserved": reserved, "grown": _resident() - before}

    seen = _in_child(reserve)
    if _kernel_at_least(5, 14):  # MADV_POPULATE_WRITE
        assert seen["reserved"] >= 96 * 1024**2, seen
        assert seen["grown"] >= 0.9 * seen["reserved"], seen
    else:  # pragma: no cover - older kernels fault the pages in as they are used
        assert seen["reserved"] == 0, seen


def test_a_large_model_predicts_the_same_with_the_heap_reserved(tmp_path):
    """A forest of about 20 MiB (over the threshold), loaded by the probe's own code both ways."""
    import mlflow.sklearn
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor

    from grader.data import FEATURES, housing, test_split

    frame = housing()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = RandomForestRegressor(n_estimators=12, random_state=0).fit(frame[FEATURES], frame["MedHouseVal"])
        mlflow.sklearn.save_model(model, tmp_path / "model", serialization_format="cloudpickle")
    size = sum(p.stat().st_size for p in (tmp_path / "model").iterdir())
    assert 2 * size >= worker.RESERVE_MIN_BYTES, size
    x_test, _ = test_split()
    np.save(tmp_path / "rows.npy", x_test.to_numpy())
    request = {
        "model_dir": str(tmp_path / "model"),
        "columns": list(x_test.columns),
        "rows_file": str(tmp_path / "rows.npy"),
        "model_file": "model.pkl",
        "pickled": True,
        "trust_pickles": False,
    }

    def probe(model_bytes: int):
        return lambda: worker.run({**request, "model_bytes": model_bytes})

    plain, reserved = _in_child(probe(0)), _in_child(probe(size))
    assert plain["ok"] and reserved["ok"], (plain, reserved)
    assert reserved["predictions"] == plain["predictions"]
    assert len(plain["predictions"]) == len(x_test)
    assert plain["predictions"] == pytest.approx(list(model.predict(x_test)))
    assert not any(Path(tmp_path).glob("**/registered_model_meta")), "the probe wrote into the model folder"

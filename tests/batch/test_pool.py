"""The batch's pool (grader.batch.pool.run_pool), which a folder of submissions and a class on one
server share: a process per student, a death or a timeout costs one row, every task answered once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from grader.batch import pool


class Taken:
    """A snapshot taken ahead, as the pool hands it to a student (picklable, closable)."""

    copied_bytes = 0

    def close(self) -> None:
        pass


def work(task: dict) -> dict:
    """Importable by name (the fork server imports it): what the task asks, and who did it."""
    if task["do"] == "opened":
        return {"ok": True, "opened": isinstance(task.get("opened"), Taken), "at": time.monotonic()}
    if task["do"] == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if task["do"] == "hang":
        time.sleep(60)
    if task["do"] == "raise":
        raise ValueError("broken on purpose\nsecond line")
    return {"ok": True, "pid": os.getpid()}


def _tasks(tmp_path: Path, actions: list[str]) -> list[dict]:
    tasks = []
    for i, action in enumerate(actions):
        workdir = tmp_path / f"w{i}"
        workdir.mkdir()
        tasks.append({"slug": f"s{i}", "lang": "en", "workdir": str(workdir), "do": action})
    return tasks


def _run(tasks: list[dict], jobs: int, timeout: float = 30.0, ahead=None) -> dict[str, dict]:
    seen: dict[str, dict] = {}

    def done(task: dict, message: dict) -> None:
        assert task["slug"] not in seen, "a task answered twice"
        seen[task["slug"]] = message

    pool.run_pool(tasks, jobs, timeout, done, sql=False, work=work, ahead=ahead)
    return seen


def test_each_student_has_a_process_of_their_own(tmp_path):
    """The probe is forked from the student's process: no classmate graded before may be in its memory."""
    tasks = _tasks(tmp_path, ["ok"] * 5)
    seen = _run(tasks, jobs=2)
    assert len({seen[f"s{i}"]["pid"] for i in range(5)}) == 5
    assert all(not Path(t["workdir"]).exists() for t in tasks), "a student's workdir left behind"


def test_a_dead_worker_costs_only_its_student(tmp_path):
    seen = _run(_tasks(tmp_path, ["ok", "die", "ok", "raise", "ok"]), jobs=1)
    assert seen["s1"]["ok"] is False and "SIGKILL" in seen["s1"]["error"], seen["s1"]
    assert seen["s3"]["ok"] is False and seen["s3"]["error"] == "internal error: ValueError: broken on purpose"
    assert "Traceback" in seen["s3"]["detail"]
    assert seen["s0"]["ok"] and seen["s2"]["ok"] and seen["s4"]["ok"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_hanging_student_is_killed_at_the_timeout_and_the_rest_go_on(tmp_path, jobs):
    started = time.monotonic()
    seen = _run(_tasks(tmp_path, ["ok", "hang", "ok", "ok"]), jobs=jobs, timeout=3.0)
    assert time.monotonic() - started < 30
    assert seen["s1"]["ok"] is False and "3 s" in seen["s1"]["error"], seen["s1"]
    assert all(seen[f"s{i}"]["ok"] for i in (0, 2, 3))


def test_a_student_whose_copy_is_still_being_taken_is_graded_after_the_next_one(tmp_path):
    """The pool does not wait for a long copy (a large store) while another student is ready: s1's
    copy ends only once a classmate after s1 is done, and s1 is still handed it."""
    import threading

    from grader.batch.ahead import Ahead

    release = threading.Event()

    def opener(task):
        if task["slug"] == "s1":
            release.wait(30)
        return Taken()

    tasks = _tasks(tmp_path, ["opened"] * 4)
    order: list[str] = []

    def done(task: dict, message: dict) -> None:
        assert message["ok"], message
        order.append(task["slug"] + ("+" if message["opened"] else ""))
        if task["slug"] in ("s2", "s3"):
            release.set()

    ahead = Ahead(tasks, opener).start()  # run_pool starts it too: a second start does nothing
    deadline = time.monotonic() + 10
    while not ahead.taking(tasks[1]):  # s0 taken, s1 being taken when the pool starts
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        pool.run_pool(tasks, 1, 60.0, done, sql=False, work=work, ahead=ahead)
    finally:
        release.set()
    assert order[0] == "s0+", order
    assert "s1+" in order and order.index("s1+") > 1, order  # handed its copy, after a classmate

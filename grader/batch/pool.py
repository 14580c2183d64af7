"""The pool: one process per student, forked from a warm fork server, at most ``jobs`` at once; a
student past their timeout, or whose process died, costs only their own row."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import time
import traceback
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import wait as wait_any
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..catalogue import text

if TYPE_CHECKING:
    from .ahead import Ahead


def _child(conn, task: dict[str, Any], work: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Grade one student (runs in a process forked from the warm fork server) and send the answer."""
    try:
        os.setpgrp()  # a timeout kills the whole group: this process and its model probe
    except OSError:
        pass
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # MLflow's warnings must not draw over the progress bar
        os.dup2(null, fd)
    os.close(null)
    try:
        message = work(task)
    except BaseException as exc:  # noqa: BLE001 - becomes this student's error row
        message = {"ok": False, "error": f"internal error: {_one_line(exc)}", "detail": traceback.format_exc()[-4000:]}
    try:
        conn.send(message)
    finally:
        conn.close()


def grade_one(task: dict[str, Any]) -> dict[str, Any]:
    """The folder batch's work (in a worker): grade one student's submission, write their two reports."""
    from ..api import grade
    from ..errors import SubmissionError, localized
    from ..reports import render

    started = time.perf_counter()
    try:
        extra = {"deadline": task["deadline"]} if task.get("deadline") is not None else {}
        result = grade(
            task["path"],
            task["rubric"],
            lang=task["lang"],
            probe=task["probe"],
            probe_options=task["probe_options"],
            workdir=task["workdir"],
            opened=task.get("opened"),  # the snapshot taken ahead (grader.batch.ahead), if any
            **extra,
        )
    except SubmissionError as exc:  # the row says why in the class's language (the gradebook, summary.html)
        return {"ok": False, "error": localized(exc, task["lang"]), "duration_s": time.perf_counter() - started}
    folder = Path(task["report_dir"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(render(result, "json"), encoding="utf-8")
    (folder / "report.html").write_text(render(result, "html"), encoding="utf-8")
    return {
        "ok": True,
        "result": result.to_dict(),
        "fingerprints": result.fingerprints,
        "duration_s": time.perf_counter() - started,
    }


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def _context(sql: bool = True):
    """A fork server that imported MLflow once (and its SQL stores when ``sql``), or (where there is
    no fork server) spawn. The preload applies when this process starts its fork server."""
    try:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["grader.batch.warm", *(["grader.batch.warm_sql"] if sql else [])])
        return ctx
    except ValueError:  # pragma: no cover - platforms without fork server
        return multiprocessing.get_context("spawn")


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def may_use_database(path: Path) -> bool:
    """Whether a submission may hold a SQLite store (an archive, or a file named like a database in
    its first two levels): then the fork server also imports MLflow's SQL stores (about 1 s, see
    :mod:`grader.batch.warm_sql`), which a class of ``mlruns/`` folders never uses. A miss only costs
    speed: a student whose store the fork server did not preload imports it in its own process."""
    if not path.is_dir() or path.is_symlink():
        return True
    from ..submission.locate import database_files, walk_folders

    return any(database_files(folder) for folder in walk_folders(path, max_depth=1))


def run_pool(
    tasks: list[dict[str, Any]],
    jobs: int,
    timeout: float,
    on_done: Callable[[dict, dict], None],
    sql: bool = True,
    work: Callable[[dict[str, Any]], dict[str, Any]] = grade_one,
    ahead: Ahead | None = None,
) -> None:
    """``work(task)`` for each task in a process of its own forked from the warm fork server, ``jobs``
    at a time; ``on_done(task, message)`` here, in order of completion. ``sql``: preload MLflow's
    SQL stores in the fork server. ``work`` must be importable by name (it is sent to the fork
    server); each task needs ``slug``, ``lang`` and ``workdir`` (removed after the student).

    A student still running after ``timeout`` seconds has their process killed with everything it
    started (the model probe) and gets an error message; so does a student whose process died (a
    crash, the kernel's out-of-memory killer).

    One process per student, not a worker reused from one student to the next: the model probe is
    forked from it, so a model's code (sandboxed, but able to read the memory it was forked with)
    must not find the classmates graded before in that memory. Reusing workers was measured on the
    reference class: about 0.05 CPU s per student saved (3,900 page copies and MLflow's first
    calls), not worth that.

    ``ahead``: the tasks' snapshots taken ahead (:mod:`grader.batch.ahead`), started here once the
    fork server is on its way (its imports leave the other cores idle); each task is claimed from
    it when its turn comes, and it is closed (what was not claimed removed) before this returns."""
    ctx = _context(sql)
    pending = deque(tasks)
    running: dict[Any, tuple[dict, Any, float]] = {}  # conn -> (task, process, deadline)
    started: dict[Any, float] = {}
    try:
        if ahead is not None:
            _start_fork_server(ctx)
            ahead.start()
        while pending or running:
            while pending and len(running) < jobs:
                if ahead is not None and len(pending) > 1 and ahead.taking(pending[0]):
                    pending[0], pending[1] = pending[1], pending[0]  # a long copy: its student comes next
                task = pending.popleft()
                if ahead is not None:
                    task = ahead.claim(task)
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(send, task, work), name=f"grade-{task['slug']}", daemon=True)
                proc.start()
                send.close()
                running[recv] = (task, proc, time.monotonic() + timeout)
                started[recv] = time.monotonic()
            next_deadline = min(d for _, _, d in running.values())
            waitables = list(running) + [p.sentinel for _, p, _ in running.values()]
            wait_any(waitables, timeout=max(0.0, next_deadline - time.monotonic()))
            now = time.monotonic()
            for conn in list(running):
                task, proc, deadline = running[conn]
                message = None
                if conn.poll():
                    try:
                        message = conn.recv()
                    except (EOFError, OSError):
                        message = None
                    else:
                        proc.join(10)
                if message is None and proc.is_alive() and now < deadline:
                    continue
                if message is None:
                    if proc.is_alive():
                        _kill_group(proc)
                        why = text("batch.student_timeout", task.get("lang", "en"), seconds=f"{timeout:g}")
                        message = {"ok": False, "error": why}
                    else:
                        proc.join()
                        message = {"ok": False, "error": _death(proc.exitcode, task.get("lang", "en"))}
                elif proc.is_alive():
                    _kill_group(proc)
                message.setdefault("duration_s", time.monotonic() - started.pop(conn))
                conn.close()
                del running[conn]
                shutil.rmtree(task["workdir"], ignore_errors=True)
                on_done(task, message)
    finally:
        if ahead is not None:
            ahead.close()
        for conn, (task, proc, _) in running.items():
            _kill_group(proc)
            conn.close()
            shutil.rmtree(task["workdir"], ignore_errors=True)


def _start_fork_server(ctx) -> None:
    """Start the fork server now (its imports run in it, this process goes on), not at the first
    student's start."""
    if ctx.get_start_method() != "forkserver":
        return
    try:
        from multiprocessing import forkserver

        forkserver.ensure_running()
    except (OSError, ValueError):  # pragma: no cover - it is started at the first student instead
        pass


def _kill_group(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass
    try:
        proc.kill()
    except Exception:  # noqa: BLE001
        pass
    proc.join(5)


def _death(exitcode: int | None, lang: str = "en") -> str:
    """Why a student's grading process ended without a result, in ``lang``."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        why = text("batch.student_oom", lang) if name == "SIGKILL" else ""
        return text("batch.student_died", lang, signal=name, why=why)
    return text("batch.student_exited", lang, code=exitcode)

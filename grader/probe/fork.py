"""Start the probe's worker by forking this process instead of starting a new interpreter.

Why: a fresh ``python -m grader.probe.worker`` imports MLflow, pandas and scikit-learn again (2 to 3
seconds, most of a single grade's cost) although the grader that starts it has them imported already.
A forked child has them for free. It gets exactly what a spawned worker gets (see
:mod:`grader.probe.runner`): its own cwd, scrubbed environment, standard streams, the same
``prepare`` function with the limits and the sandbox, every other inherited file descriptor closed;
then it runs :func:`grader.probe.worker.main` and exits without returning to the caller's code.

Forking is only safe from a process with a single thread: a lock another thread held at the fork
(logging's, an import lock) stays locked for ever in the child. :func:`can_fork` says whether this
process qualifies; the runner falls back to a new interpreter when it does not.

:class:`ForkedWorker` offers the part of :class:`subprocess.Popen` the runner uses: ``pid``,
``returncode``, ``poll``, ``wait(timeout)`` (raising :class:`subprocess.TimeoutExpired`) and ``kill``.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path


def can_fork() -> bool:
    """Whether the probe may be forked from this process: Linux, and no other Python thread running."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1


def _max_fd() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 1 << 20)
    except (ValueError, OSError):
        return 4096


class ForkedWorker:
    """The probe worker in a child forked from this process (see the module docstring).

    ``stderr`` is a file descriptor the child's standard error goes to (stdin and stdout are
    ``/dev/null``); ``prepare`` runs in the child before the worker, as ``preexec_fn`` would.
    """

    def __init__(
        self,
        request: Path,
        *,
        cwd: Path,
        env: dict[str, str],
        stderr: int,
        prepare: Callable[[], None] | None = None,
        keep_fds: tuple[int, ...] = (),
        args: list[str] | None = None,
        keep_env: frozenset[str] | None = None,
    ) -> None:
        self.args = ["<forked grader.probe.worker>", *(args or [str(request)])]
        self.returncode: int | None = None
        for stream in (sys.stdout, sys.stderr):  # nothing buffered here may be written twice
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the forked child, which never returns
            self._run_child(self.args[1:], cwd, env, stderr, prepare, keep_fds, keep_env)
        self.pid = pid
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self._pidfd = None

    @staticmethod
    def _run_child(
        args: list[str], cwd: Path, env: dict[str, str], stderr: int, prepare, keep_fds, keep_env
    ) -> None:  # pragma: no cover
        code = 1
        try:
            import gc

            gc.disable()  # no finalizer may close a descriptor number that gets reused below
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)
            os.dup2(stderr, 2)
            low = 3
            for fd in sorted(fd for fd in keep_fds if fd > 2):  # the pipes to the grader stay, nothing else
                os.closerange(low, fd)
                os.set_inheritable(fd, True)
                low = fd + 1
            os.closerange(low, _max_fd())
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
                signal.signal(sig, signal.SIG_DFL)
            os.chdir(cwd)
            if keep_env is not None:  # the grader's memory holds its environment: overwrite the values
                import ctypes

                from .sandbox import scrub_inherited_environment

                scrub_inherited_environment(ctypes.CDLL(None, use_errno=True), set(keep_env))
            os.environ.clear()
            os.environ.update(env)
            if prepare is not None:
                prepare()
            tempfile.tempdir = None
            sys.dont_write_bytecode = True
            sys.argv = ["grader.probe.worker", *args]
            from . import worker

            code = worker.main() or 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001
            try:
                traceback.print_exc()
            except BaseException:  # noqa: BLE001
                pass
            code = 1
        finally:
            try:
                sys.stderr.flush()
            except BaseException:  # noqa: BLE001
                pass
            os._exit(code)

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, None
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status) if status is not None else -signal.SIGKILL
                self._close_pidfd()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        start = time.monotonic()
        delay = 0.001
        while (code := self.poll()) is None:
            if timeout is None:
                try:
                    code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
                except ChildProcessError:
                    code = -signal.SIGKILL
                self.returncode = code
                self._close_pidfd()
                break
            remaining = start + timeout - time.monotonic()
            if remaining <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout)
            if self._pidfd is not None:  # wakes up the moment the child exits
                select.select([self._pidfd], [], [], remaining)
            else:
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 0.02)
        return code

    def kill(self) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

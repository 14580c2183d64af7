"""One overall time limit for a whole ``grade`` (``--grade-timeout``), besides the probe's own.

The probe already has a limit (``--timeout``: the sandboxed child is killed). Everything else runs
in the grader's own process (copying the store, MLflow reading it, the checks), and a hostile
store can make that slow. :func:`time_limit` bounds the whole grade:

1. At the limit, ``SIGALRM`` raises :class:`GradeTimeout` in the main thread, wherever Python is:
   the ``with`` blocks unwind (the snapshot is removed, a running probe is killed by its runner)
   and ``grade`` exits 2 with one line. :class:`GradeTimeout` derives from :class:`BaseException`
   so that the many ``except Exception`` that turn a broken part of a store into a check's
   ``error`` do not swallow it.
2. Python drops an exception raised while it runs a finalizer or a weakref callback, so the alarm
   repeats every :data:`RETRY_S` seconds until one unwinds the grade (and a grade that finished
   anyway after its limit still raises); the dropped ones are not printed ("Exception ignored
   in ...", a traceback on stderr where one line is promised). Should unwinding hang for :data:`GRACE_S` seconds, the
   signal's default action ends the process.

No thread is started (the probe is forked from the grader only while it has a single thread, see
:mod:`grader.probe.fork`), so a signal is all there is: it interrupts Python between bytecodes, and
a single long call into C (one SQLite query) holds it off until it returns. Only in the main thread
of a process on a platform with ``SIGALRM`` (not Windows); elsewhere there is no overall limit.
``grade --batch`` does not use this: each student runs in its own process, which the batch kills
at its own limit (an error row).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Seconds a whole ``grade`` may take by default (the reference submission takes about 5 s).
DEFAULT_GRADE_TIMEOUT = 600.0
#: Seconds after the limit before the process is ended, should unwinding hang.
GRACE_S = 15.0
#: Seconds between alarms once the limit is reached, until one is not swallowed.
RETRY_S = 0.2


class GradeTimeout(BaseException):
    """The whole grade took longer than its limit."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"grading took more than {seconds:g} s (--grade-timeout): stopped")
        self.seconds = seconds


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`GradeTimeout` in this (main) thread after ``seconds``; None or <= 0: no limit."""
    usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if not seconds or seconds <= 0 or not usable:
        yield
        return

    expired: list[float] = []  # when the limit was reached (monotonic), once it was

    def on_alarm(signum, frame) -> None:
        now = time.monotonic()
        expired.append(now)
        if now - expired[0] >= GRACE_S:  # unwinding hangs: the next alarm ends the process
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.setitimer(signal.ITIMER_REAL, 0.01)
            return
        # Again soon: Python drops an exception raised while it runs a finalizer or a weakref
        # callback ("Exception ignored in ..."), so one alarm may be swallowed.
        signal.setitimer(signal.ITIMER_REAL, RETRY_S)
        # What libraries log while the grade unwinds is the stop itself, not news: SQLAlchemy, its
        # query interrupted, logs "Error closing cursor" with a traceback (seen in CI, on stderr
        # above the one line promised). Silent until the limit's block is left.
        logging.disable(logging.CRITICAL)
        raise GradeTimeout(seconds)

    previous_hook = sys.unraisablehook

    def on_unraisable(unraisable) -> None:
        # A GradeTimeout that a finalizer swallowed is expected (the next alarm follows): silent.
        if not isinstance(unraisable.exc_value, GradeTimeout):
            previous_hook(unraisable)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    previous_disable = logging.root.manager.disable
    sys.unraisablehook = on_unraisable
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        sys.unraisablehook = previous_hook
        logging.disable(previous_disable)
    if expired:  # every alarm was swallowed and the grade finished late: still over its limit
        raise GradeTimeout(seconds)


__all__ = ["DEFAULT_GRADE_TIMEOUT", "GradeTimeout", "time_limit"]

"""Snapshots taken ahead: while the fork server imports MLflow and scikit-learn (about 2 s, one core
busy and the others idle), a thread of the batch's own process copies the next students'
submissions into their private snapshots, in the pool's order; each student's process then grades
the snapshot it is handed instead of taking it (:func:`grader.api.grade`'s ``opened``).

The digests that copy detection takes of each large model file (:mod:`grader.fingerprints`) are
computed there too. Measured on the reference class (2 cores): the snapshot and the digests were
about 0.13 CPU s of a student's 0.8 in the student's process (0.04 here, in a process that does not
pay for its first touch of every page); the fork server's imports leave one core idle for about 2 s:
a class of 40 has them all done there, out of the part of the batch that keeps every core busy.

Only an optimisation, never a difference in what is graded: each snapshot is what the student's own
process would take (the same :func:`~grader.sources.open_source`, the same experiment hint, inside
the student's own work folder). Whatever goes wrong ahead (a submission that cannot be opened, a
copy that hangs, an exception of any kind) leaves that student to take their own snapshot, as
without this module, and so to get the same verdict and the same message. The snapshots held ahead
are bounded (:data:`MAX_HELD_BYTES`, :data:`MAX_HELD`), and removed when the batch ends, whatever
happens.

Copying is what a student's process does first, on the same untrusted files, by the same code that
never follows a link and never runs anything from the submission (:mod:`grader.submission.snapshot`);
the large model files are hashed (read, never loaded) and MLflow is not imported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

#: At most this many bytes of copies held ahead for students not yet dispatched.
MAX_HELD_BYTES = 512 * 1024**2
#: At most this many copies held ahead.
MAX_HELD = 256
#: How long the pool waits for a snapshot being taken when its student's turn comes (then the
#: student takes their own, and the late one is removed).
CLAIM_WAIT_S = 10.0

_PENDING, _TAKING, _READY, _CLAIMED = "pending", "taking", "ready", "claimed"


def open_for(task: dict[str, Any]) -> Any:
    """What a student's :func:`~grader.api.grade` would open for this task (a folder batch's task),
    with the digests copy detection takes of its large model files already computed."""
    from ..sources import open_source

    opened = open_source(task["path"], experiment_hint=task["experiment"], workdir=task["workdir"])
    files = getattr(opened, "files", None)
    if files is not None:
        files.digest_deferred()
    return opened


class Ahead:
    """Takes ``tasks``' snapshots with ``opener`` in a thread of this process, in order, ahead of
    the pool, which :meth:`claim`\\ s each task when its turn comes.

    ``opener(task)`` returns an opened store with ``close()`` (and ``copied_bytes``, what it holds)
    or raises; it runs in the thread. ``then()``, when every task is taken, is whatever else the
    batch's process may prepare meanwhile (the summary page's template). Use as a context manager
    (or :meth:`start` and :meth:`close`).
    """

    def __init__(
        self,
        tasks: list[dict[str, Any]],
        opener: Callable[[dict[str, Any]], Any] = open_for,
        *,
        max_bytes: int = MAX_HELD_BYTES,
        max_held: int = MAX_HELD,
        claim_wait: float = CLAIM_WAIT_S,
        then: Callable[[], object] | None = None,
    ) -> None:
        self._order = [t["slug"] for t in tasks]
        self._tasks = {t["slug"]: t for t in tasks}
        self._state = dict.fromkeys(self._order, _PENDING)
        self._opened: dict[str, Any] = {}
        self._held_bytes = 0
        #: Tasks handed a snapshot taken ahead, so far.
        self.handed = 0
        self._opener, self._max_bytes, self._max_held, self._claim_wait = opener, max_bytes, max_held, claim_wait
        self._then = then
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="mlflow-grader-ahead", daemon=True)

    # ------------------------------------------------------------------ the pool's side

    def start(self) -> Ahead:
        """Start taking snapshots (once: a second call does nothing)."""
        if self._thread.ident is None:
            self._thread.start()
        return self

    def taking(self, task: dict[str, Any]) -> bool:
        """Whether ``task``'s snapshot is being taken right now (the pool grades another one first)."""
        with self._cond:
            return self._state.get(task["slug"]) == _TAKING

    def claim(self, task: dict[str, Any]) -> dict[str, Any]:
        """``task`` as its student's process gets it: with ``opened`` (the snapshot taken ahead)
        when there is one, else as it is (the student takes their own)."""
        slug = task["slug"]
        with self._cond:
            if self._state.get(slug) == _TAKING:
                self._cond.wait_for(lambda: self._state[slug] != _TAKING, timeout=self._claim_wait)
            state = self._state.get(slug)
            self._state[slug] = _CLAIMED
            opened = self._opened.pop(slug, None) if state == _READY else None
            if opened is not None:
                self._held_bytes -= _size(opened)
                self.handed += 1
                self._cond.notify_all()  # room for the next one
        return {**task, "opened": opened} if opened is not None else task

    def close(self) -> None:
        """Stop taking snapshots and remove those not claimed."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.ident is not None:  # started (a pool that failed to start may close it unstarted)
            self._thread.join(timeout=self._claim_wait)
        with self._cond:
            left, self._opened = list(self._opened.values()), {}
            self._held_bytes = 0
        for opened in left:
            _close(opened)

    def __enter__(self) -> Ahead:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the thread's side

    def _next(self) -> str | None:
        """The next task to take, once there is room for it; None when there is nothing left to do."""
        with self._cond:
            while True:
                if self._stopped:
                    return None
                slug = next((s for s in self._order if self._state[s] == _PENDING), None)
                if slug is None:
                    return None
                if len(self._opened) < self._max_held and self._held_bytes < self._max_bytes:
                    self._state[slug] = _TAKING
                    return slug
                self._cond.wait()

    def _run(self) -> None:
        while (slug := self._next()) is not None:
            try:
                opened = self._opener(self._tasks[slug])
            except BaseException:  # noqa: BLE001 - the student's own process will meet it and say why
                opened = None
            with self._cond:
                if opened is not None and self._state[slug] == _TAKING and not self._stopped:
                    self._opened[slug] = opened
                    self._held_bytes += _size(opened)
                    self._state[slug] = _READY
                    opened = None
                elif self._state[slug] == _TAKING:
                    self._state[slug] = _CLAIMED  # failed: the student takes their own
                self._cond.notify_all()
            if opened is not None:  # claimed while it was taken (the pool stopped waiting), or stopped
                _close(opened)
        if self._then is not None and not self._stopped:
            try:
                self._then()
            except Exception:  # noqa: BLE001 - a warm-up only: what it prepares is made again when used
                pass


def _size(opened: Any) -> int:
    return int(getattr(opened, "copied_bytes", 0) or 0)


def _close(opened: Any) -> None:
    try:
        opened.close()
    except Exception:  # noqa: BLE001 - a removal that fails leaves files in the batch's scratch dir, removed with it
        pass


__all__ = ["Ahead", "open_for"]

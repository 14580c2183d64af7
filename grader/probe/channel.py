"""The probe's only way back to the grader: length-prefixed JSON frames on a pipe the grader holds.

The grader makes two pipes before it starts the child: the *result* pipe (the child writes, the
grader reads) and the *go* pipe (the grader writes one byte, the child waits for it). The child
sends exactly two frames:

1. the isolation it set up, written by the grader's own code before any byte of the model is read;
   the grader then measures what it can of it from ``/proc/<child>`` (namespaces, seccomp,
   ``no_new_privs``, capabilities, mounts) while the child waits, and only then sends *go*;
2. the worker's result (predictions or an error).

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON, each bounded by the reader.
Nothing is read from a file the child could write, and the grader decides the outcome: a child that
exits non-zero or is killed is a crash whatever it wrote (see :mod:`grader.probe.runner`).
"""

from __future__ import annotations

import json
import os
import select
import time

HEADER = 4


def send(fd: int, data: dict) -> None:
    """Write ``data`` as one frame to ``fd`` (blocking; raises ``OSError`` when the grader is gone)."""
    body = json.dumps(data, separators=(",", ":")).encode("utf-8")
    view = memoryview(len(body).to_bytes(HEADER, "big") + body)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class Reader:
    """Reads frames from the result pipe's read end, never past a deadline or a size bound.

    ``pidfd`` (a pidfd of the child, or None) ends the wait as soon as the child exits: a process the
    model started and that still holds the pipe's write end cannot keep the grader waiting.
    """

    def __init__(self, fd: int, pidfd: int | None) -> None:
        self.fd = fd
        self.pidfd = pidfd
        self.buffer = bytearray()
        self.closed = False
        self.exited = False

    def _fill(self, deadline: float, wanted: int) -> None:
        while len(self.buffer) < wanted and not self.closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            watch = [self.fd] + ([self.pidfd] if self.pidfd is not None and not self.exited else [])
            ready, _, _ = select.select(watch, [], [], remaining if not self.exited else 0)
            if self.exited and not ready:
                self.closed = True  # the child is gone and nothing more is buffered
                return
            if self.pidfd in ready:
                self.exited = True
            if self.fd in ready:
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    self.closed = True
                self.buffer += chunk

    def frame(self, deadline: float, limit: int) -> dict | None:
        """The next frame as a dict; None on end of pipe, timeout, a frame over ``limit`` bytes or
        one that is not a JSON object (the caller then treats the child as crashed)."""
        self._fill(deadline, HEADER)
        if len(self.buffer) < HEADER:
            return None
        size = int.from_bytes(self.buffer[:HEADER], "big")
        if size > limit:
            self.closed = True
            return None
        self._fill(deadline, HEADER + size)
        if len(self.buffer) < HEADER + size:
            return None
        body = bytes(self.buffer[HEADER : HEADER + size])
        del self.buffer[: HEADER + size]
        try:
            data = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        return data if isinstance(data, dict) else None

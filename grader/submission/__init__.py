"""Submission -> private rebased snapshot.

:func:`open_submission` accepts a folder, an ``mlruns/`` folder, an ``mlflow.db`` file or a
``file:``/``sqlite:`` URI, finds the store in it (:mod:`.locate`), and returns a
:class:`~grader.submission.snapshot.Snapshot`: a private copy whose artifact paths point into
the copy (:mod:`.snapshot`). Use it as a context manager; the copy is removed on exit.
"""

from __future__ import annotations

import os

from .locate import Located, locate
from .snapshot import Snapshot, make_snapshot


def open_submission(submission: str | os.PathLike, experiment_hint: str | None = None,
                    workdir: str | os.PathLike | None = None) -> Snapshot:
    """Locate the store in ``submission`` and return its private rebased snapshot."""
    return make_snapshot(locate(submission, experiment_hint), workdir=workdir)


__all__ = ["Located", "Snapshot", "locate", "make_snapshot", "open_submission"]

"""Submission -> private rebased snapshot.

:func:`open_submission` accepts a folder, an ``mlruns/`` folder, an ``mlflow.db`` file, a
``file:``/``sqlite:`` URI, or a ``.zip``/``.tar.gz``/``.tgz`` archive of any of these (extracted
safely by :mod:`.archive` into the grader's temp space, then located like a folder and removed as
soon as the snapshot is taken). It finds the store (:mod:`.locate`), and returns a
:class:`~grader.submission.snapshot.Snapshot`: a private copy whose artifact paths point into
the copy (:mod:`.snapshot`). Use it as a context manager; the copy is removed on exit.

:func:`~grader.submission.remote.open_source` also accepts a tracking server (``http(s)://``) or a
PostgreSQL backend store (``postgresql://``), read in place and read-only (:mod:`.remote`).
"""

from __future__ import annotations

import os
from pathlib import Path

from .archive import extract_archive, is_archive, remove_extracted
from .locate import Located, locate, path_of_uri
from .snapshot import ModelFiles, Snapshot, make_snapshot


def open_submission(
    submission: str | os.PathLike,
    experiment_hint: str | None = None,
    workdir: str | os.PathLike | None = None,
    store: str | os.PathLike | None = None,
) -> Snapshot:
    """Locate the store in ``submission`` (``store``: the one to grade among several, see
    :func:`~grader.submission.locate.locate`) and return its private rebased snapshot."""
    text = os.fspath(submission)
    path = (path_of_uri(text) if text.startswith("file:") else None) or Path(text).expanduser()
    if not is_archive(path):
        return make_snapshot(locate(submission, experiment_hint, store), workdir=workdir)
    extracted = extract_archive(path, workdir=workdir)
    try:
        located = locate(extracted.root, experiment_hint, store)
        located.input = text
        located.notes += [f"extracted from {path.name} ({extracted.files} files)", *extracted.notes]
        return make_snapshot(located, workdir=workdir, defer_models=False)  # the extraction is removed below
    finally:
        remove_extracted(extracted)  # the snapshot is a full private copy: the extraction is not needed


from .remote import RemoteSource, open_source  # noqa: E402 - remote.py imports open_submission lazily

__all__ = [
    "Located",
    "ModelFiles",
    "RemoteSource",
    "Snapshot",
    "locate",
    "make_snapshot",
    "open_source",
    "open_submission",
]

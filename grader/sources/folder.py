"""A folder, an ``mlruns/`` folder, an archive, or a ``file:`` URI: copied into a private, rebased
:class:`~grader.submission.snapshot.Snapshot` (see :mod:`grader.submission`), which is what the
readers read. The fallback kind: whatever no other kind claims is looked for as a path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import SubmissionError
from .base import Source, SourceKind, SourceRequest, register
from .secrets import redact

if TYPE_CHECKING:
    from ..submission.snapshot import Snapshot


class SnapshotSource:
    """A store on disk (a folder, an archive, a database file), read through its private copy."""

    kind = "folder"

    def __init__(self, request: SourceRequest) -> None:
        if request.artifacts is not None:
            raise SubmissionError("--artifacts goes with a postgresql:// backend store, not with a folder or a file")
        self.request = request
        self.opened: Any = None

    def describe(self) -> str:
        return redact(self.request.text)

    def open(self) -> Snapshot:
        from ..submission import open_submission  # here: grader.submission imports this package

        r = self.request
        self.opened = open_submission(r.text, experiment_hint=r.experiment_hint, workdir=r.workdir, store=r.store)
        return self.opened

    def close(self) -> None:
        if self.opened is not None:
            self.opened.close()
            self.opened = None


def _build(request: SourceRequest) -> Source:
    return SnapshotSource(request)


register(SourceKind("folder", ("file",), _build, matches=lambda text: True), fallback=True)

__all__ = ["SnapshotSource"]

"""A folder, an ``mlruns/`` folder, an archive, or a ``file:`` URI: copied into a private, rebased
:class:`~grader.submission.snapshot.Snapshot` (see :mod:`grader.submission`), which is what the
readers read. The fallback kind: whatever no other kind claims is looked for as a path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import OneStore, Source, SourceKind, SourceRequest, register

if TYPE_CHECKING:
    from ..submission.snapshot import Snapshot


class SnapshotSource(OneStore):
    """A store on disk (a folder, an archive, a database file), read through its private copy."""

    kind = "folder"
    what = "error.kind_folder"
    takes = frozenset({"store"})

    def _open(self) -> Snapshot:
        from ..submission import open_submission  # here: grader.submission imports this package

        r = self.request
        return open_submission(r.text, experiment_hint=r.experiment_hint, workdir=r.workdir, store=r.store)


def _build(request: SourceRequest) -> Source:
    return SnapshotSource(request)


register(SourceKind("folder", ("file",), _build, matches=lambda text: True), fallback=True)

__all__ = ["SnapshotSource"]

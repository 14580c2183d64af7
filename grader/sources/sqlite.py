"""A SQLite store: ``sqlite:///PATH`` or a database file (``mlflow.db``). Copied like a folder
(:class:`~grader.sources.folder.SnapshotSource`: the copy is migrated, never the original),
with its artifacts folder beside it."""

from __future__ import annotations

from pathlib import Path

from .base import Source, SourceKind, SourceRequest, register
from .folder import SnapshotSource

SQLITE_HEADER = b"SQLite format 3\x00"


class SqliteSource(SnapshotSource):
    kind = "sqlite"


def is_sqlite_file(text: str) -> bool:
    """Whether ``text`` names a file that starts as a SQLite database does."""
    try:
        path = Path(text).expanduser()
        if not path.is_file():
            return False
        with open(path, "rb") as fh:
            return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except (OSError, ValueError):
        return False


def _build(request: SourceRequest) -> Source:
    return SqliteSource(request)


register(SourceKind("sqlite", ("sqlite",), _build, matches=is_sqlite_file))

__all__ = ["SqliteSource", "is_sqlite_file"]

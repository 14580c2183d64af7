"""What a source is, and the registry that tells which kind of source a submission names.

A *source* is where a submission's MLflow store lives: a folder or an archive, a SQLite database,
a tracking server, a PostgreSQL backend store. Each kind is one module of this package that
registers itself with :func:`register` (its URI schemes, and a predicate for what has no scheme);
:func:`source_for` picks the kind, and :func:`open_source` (what :func:`grader.api.grade` and
:mod:`grader.batch` call) opens it.

A :class:`Source` is opened once: :meth:`Source.open` returns an *opened store*
(:class:`~grader.submission.snapshot.OpenedStore`: a :class:`~grader.submission.snapshot.Snapshot`
for what is copied, a :class:`~grader.sources.opened.RemoteSource` for what is read in place),
which is what the evidence readers read; :meth:`Source.close` removes whatever opening made.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias

from ..errors import SubmissionError

if TYPE_CHECKING:
    from ..submission.snapshot import Snapshot
    from .opened import RemoteSource
    from .secrets import ServerCredentials

#: What opening a source gives: a private copy (:class:`Snapshot`) or a store read in place
#: (:class:`RemoteSource`); both are :class:`~grader.submission.snapshot.OpenedStore`\ s.
Opened: TypeAlias = "Snapshot | RemoteSource"


@dataclass(frozen=True)
class SourceRequest:
    """What the caller of :func:`open_source` asked for: the submission as given, and the options
    that some kinds take (each kind refuses, in one line, an option it does not take)."""

    text: str
    experiment_hint: str | None = None
    workdir: str | os.PathLike | None = None
    artifacts: str | os.PathLike | None = None  # postgresql: the folder of the experiments' artifacts
    store: str | os.PathLike | None = None  # a folder holding several stores: the one to grade
    credentials: ServerCredentials | None = None  # a tracking server's, instead of the URI's or the environment's


class Source(Protocol):
    """One submission's store, not yet read. Every kind of source satisfies it."""

    #: the registered kind ("folder", "sqlite", "server", "postgresql")
    kind: str

    def open(self) -> Opened:
        """Check the source (preflight), copy or connect, and return the store the readers read.
        Raises :class:`~grader.errors.SubmissionError` (one line, no secret) when it cannot be graded."""
        ...

    def describe(self) -> str:
        """The source as a person may read it: redacted, never a credential."""
        ...

    def close(self) -> None:
        """Remove what :meth:`open` made (copies, downloads, connections). Safe to call twice."""
        ...


#: The options of a :class:`SourceRequest` that only some kinds take, and the catalogue's text a kind
#: that does not take one says (``{what}``: the kind's :attr:`OneStore.what`, a catalogue text too).
REFUSALS = {"store": "error.store_one", "artifacts": "error.artifacts_postgres"}


class OneStore:
    """What every kind of source shares (a base for them): its request, the store :meth:`open`
    made, the redacted input as :meth:`describe`, and :meth:`close` of that store. A kind sets
    ``kind``, ``what`` (the catalogue's key of how a refusal names it) and ``takes`` (the options of :data:`REFUSALS` it
    takes: the others are refused here, in one line), and defines ``_open()``."""

    kind = ""
    what = "error.kind_folder"
    takes: frozenset[str] = frozenset()

    def __init__(self, request: SourceRequest) -> None:
        from ..catalogue import text

        for option, refusal in REFUSALS.items():
            if getattr(request, option) is not None and option not in self.takes:
                # In English, as every SubmissionError: the report translates it (catalogue.translate).
                raise SubmissionError(text(refusal, "en", what=text(self.what, "en")))
        self.request = request
        self.opened: Opened | None = None

    def open(self) -> Opened:
        """:meth:`_open`, remembered for :meth:`close`."""
        self.opened = self._open()
        return self.opened

    def _open(self) -> Opened:
        """The kind's own opening (see :meth:`Source.open`)."""
        raise NotImplementedError

    def describe(self) -> str:
        from .secrets import redact

        return redact(self.request.text)

    def close(self) -> None:
        if self.opened is not None:
            self.opened.close()
            self.opened = None


@dataclass(frozen=True)
class SourceKind:
    """A registered kind of source."""

    name: str
    #: URI schemes it reads (``http``, ``postgresql``...), lower case.
    schemes: tuple[str, ...]
    #: builds the (unopened) source; refuses options the kind does not take
    build: Callable[[SourceRequest], Source]
    #: for a submission without a registered scheme (a path): whether this kind reads it
    matches: Callable[[str], bool] | None = None


_KINDS: dict[str, SourceKind] = {}
_FALLBACK: list[str] = []


def register(kind: SourceKind, *, fallback: bool = False) -> SourceKind:
    """Add a kind of source (``fallback``: the kind for whatever no other kind claims: the folder)."""
    if kind.name in _KINDS:
        raise ValueError(f"source kind {kind.name!r} is registered twice")
    taken = {s for k in _KINDS.values() for s in k.schemes}
    if taken & set(kind.schemes):
        raise ValueError(f"source kind {kind.name!r}: scheme(s) {sorted(taken & set(kind.schemes))} already taken")
    _KINDS[kind.name] = kind
    if fallback:
        _FALLBACK[:] = [kind.name]
    return kind


def unregister(name: str) -> None:
    """Remove a kind (tests that register one of their own)."""
    _KINDS.pop(name, None)
    if [name] == _FALLBACK:
        _FALLBACK.clear()


def kinds() -> dict[str, SourceKind]:
    """The registered kinds, in registration order."""
    return dict(_KINDS)


def scheme_of(text: str) -> str:
    """The URI scheme of ``text`` in lower case, or "" for a path (``C:\\x`` is a path)."""
    head, sep, _ = text.partition(":")
    if not sep or len(head) < 2 or not head[0].isalpha():
        return ""
    return head.lower() if all(c.isalnum() or c in "+-." for c in head) else ""


def kind_of(text: str) -> SourceKind:
    """The kind that reads ``text``: by scheme, else the first whose predicate accepts it, else the fallback."""
    scheme = scheme_of(text)
    for kind in _KINDS.values():
        if scheme and scheme in kind.schemes:
            return kind
    for kind in _KINDS.values():
        if kind.name not in _FALLBACK and kind.matches is not None and kind.matches(text):
            return kind
    if not _FALLBACK:
        raise LookupError(f"no kind of source reads {text!r} (none registered as the fallback)")
    return _KINDS[_FALLBACK[0]]


def source_for(
    submission: str | os.PathLike,
    experiment_hint: str | None = None,
    workdir: str | os.PathLike | None = None,
    artifacts: str | os.PathLike | None = None,
    store: str | os.PathLike | None = None,
    *,
    credentials: ServerCredentials | None = None,
) -> Source:
    """The (unopened) :class:`Source` for ``submission``."""
    text = os.fspath(submission)
    request = SourceRequest(text, experiment_hint, workdir, artifacts, store, credentials)
    return kind_of(text).build(request)


def open_source(
    submission: str | os.PathLike,
    experiment_hint: str | None = None,
    workdir: str | os.PathLike | None = None,
    artifacts: str | os.PathLike | None = None,
    store: str | os.PathLike | None = None,
    *,
    credentials: ServerCredentials | None = None,
) -> Opened:
    """Open ``submission`` and return the store the readers read (a context manager: closing it
    removes the copy or the downloads). A folder/database/archive gives its private snapshot; a
    tracking server or a PostgreSQL URI gives a :class:`~grader.sources.opened.RemoteSource`."""
    return source_for(submission, experiment_hint, workdir, artifacts, store, credentials=credentials).open()


__all__ = [
    "Source",
    "SourceKind",
    "SourceRequest",
    "kind_of",
    "kinds",
    "open_source",
    "register",
    "scheme_of",
    "source_for",
    "unregister",
]

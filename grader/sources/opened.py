"""The opened store of a source read in place (a tracking server, a PostgreSQL store), and the
process settings such sources share.

:class:`RemoteSource` is, like :class:`~grader.submission.snapshot.Snapshot`, an
:class:`~grader.submission.snapshot.OpenedStore`: ``tracking_uri``, ``root``, ``kind``, ``notes``,
``notebooks``, ``experiment_dirs``, ``schema_revision``, ``files``, ``layout()``, ``close()``, the
protocol the readers read. It also says how to reach the store with *its own* credentials:
:meth:`RemoteSource.client` (an MLflow client whose stores carry them) and
:meth:`RemoteSource.artifact_repository`; nothing secret is ever put into ``os.environ``, so two
sources with different credentials can be read at once, in threads.

:class:`SharedSettings` holds the few MLflow *settings* (never secrets) that MLflow only reads from
the environment, such as its HTTP retries: set while at least one source needs them, restored
when the last one closes, the same values for every source.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .secrets import scrub

if TYPE_CHECKING:
    from ..submission.snapshot import ModelFiles


def _no_files() -> ModelFiles:
    from ..submission.snapshot import ModelFiles  # here: grader.submission imports this package

    return ModelFiles()


class SharedSettings:
    """Environment variables MLflow reads as settings, held for as long as any source needs them.

    Each variable counts its holders (under one lock): the first sets it (and remembers the value
    it replaced), the last puts that value back. Only non-secret settings go here, each with one
    value for every source (``None``: unset meanwhile)."""

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _held: ClassVar[dict[str, tuple[int, str | None]]] = {}  # name -> (holders, the value before the first)

    def __init__(self, values: Mapping[str, str | None]) -> None:
        self.values = dict(values)
        self._holding = False

    def hold(self) -> None:
        with self._lock:
            if self._holding:
                return
            for name, value in self.values.items():
                count, before = self._held.get(name, (0, os.environ.get(name)))
                self._held[name] = (count + 1, before)
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            self._holding = True

    def release(self) -> None:
        with self._lock:
            if not self._holding:
                return
            for name in self.values:
                count, before = self._held.pop(name)
                if count > 1:
                    self._held[name] = (count - 1, before)
                elif before is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = before
            self._holding = False


@dataclass
class RemoteSource:
    """A tracking server or a PostgreSQL store, with a private folder for what is downloaded."""

    input: str  # the URI as given, redacted
    kind: str  # "server" | "postgresql"
    tracking_uri: str  # what MLflow opens: never holds a credential
    root: Path  # private temp folder: downloaded artifacts, copied --artifacts, notebooks
    notes: list[str] = field(default_factory=list)
    experiment_dirs: dict[str, Path] = field(default_factory=dict)  # postgresql: exp id -> artifacts copy
    notebooks: list[Path] = field(default_factory=list)
    secrets: tuple[str, ...] = ()
    server_version: str | None = None
    schema_revision: str = ""  # postgresql: the Alembic revision read by preflight_postgres
    #: postgresql: maps a stored artifact location to its place in ``root`` (a snapshot Rebaser).
    rebaser: Any = None
    #: server: a model described from its listing -> where to download it (see grader.evidence.remote).
    remote_models: dict[str, Any] = field(default_factory=dict)
    #: Everything here is a real file (downloaded or copied): nothing is deferred.
    files: ModelFiles = field(default_factory=_no_files)
    #: An MLflow client bound to this source's credentials (set by the kind that opened it).
    connect: Callable[[], Any] | None = field(default=None, repr=False)
    #: An artifact repository for a URI this source serves, with its credentials (servers).
    repository: Callable[[str], Any] | None = field(default=None, repr=False)
    #: What closing must undo besides removing ``root`` (settings held, engines registered).
    cleanups: list[Callable[[], None]] = field(default_factory=list, repr=False)
    #: The artifact repositories handed out, whose download threads :meth:`release_threads` ends.
    repositories: list[Any] = field(default_factory=list, repr=False)

    def layout(self) -> str:
        return "unknown"  # told from the models the reader finds

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)

    def client(self) -> Any:
        """An ``MlflowClient`` for this store that uses this source's own credentials."""
        if self.connect is None:
            from mlflow.tracking import MlflowClient

            return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        return self.connect()

    def artifact_repository(self, uri: str) -> Any:
        """MLflow's artifact repository for ``uri``, with this source's credentials."""
        if self.repository is None:
            from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

            repo = get_artifact_repository(uri, tracking_uri=self.tracking_uri)
        else:
            repo = self.repository(uri)
        self.repositories.append(repo)
        return repo

    def release_threads(self) -> None:
        """End the download threads of the repositories handed out (MLflow starts a pool per
        repository): the model probe is forked only from a process with one thread (see
        :func:`grader.probe.fork.can_fork`), else spawned, 2 to 3 s more. A repository used again
        starts new threads."""
        for repo in self.repositories:
            pool = getattr(repo, "thread_pool", None)
            if pool is not None:
                pool.shutdown(wait=True)
                repo.thread_pool = repo._create_thread_pool()  # no thread until it is used
        self.repositories.clear()

    def close(self) -> None:
        while self.cleanups:
            try:
                self.cleanups.pop()()
            except Exception:  # noqa: BLE001 - closing goes on: the folder must still be removed
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> RemoteSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["RemoteSource", "SharedSettings"]

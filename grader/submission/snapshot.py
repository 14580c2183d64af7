"""The private, rebased copy of a submission's store that everything else reads.

Why a copy: reading an MLflow store writes to it (the file store recreates ``.trash/`` and
``models/``, a 3.x client migrates an older SQLite schema in place, loading ``models:/`` writes
``registered_model_meta``). Why rebased: every artifact path inside a store is absolute and
names the student's machine; after a move MLflow either fails to load, or, worse, silently
loads whatever sits at that path on the grading machine. So the copy's paths are rewritten to
point into the copy, and a path that cannot be mapped points at a place inside the copy that
does not exist: no path from the submission is ever followed outside it.

What is not copied: the large files of model folders (:class:`ModelFiles`). A store holds one
model per run (the reference: 13 files, 452 MiB) and grading loads one; the rest is only sized,
hashed (copy detection) and peeked at (the estimator class). In the copy each such file is a
sparse placeholder of the original's size, so that MLflow and the reader see the store as it is;
whoever reads the content asks :meth:`ModelFiles.content` for the original (read-only), and the
probe loads the one model it runs from the original files (:meth:`ModelFiles.originals_under`),
which its sandbox may read and not write (see :mod:`grader.probe.runner`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol, TypeGuard

from .. import yamlio
from ..errors import SubmissionError
from .locate import Located, walk_folders
from .paths import uri_path_parts

MAX_FILES = 100_000
MAX_BYTES = 4 * 1024**3
MAX_FILE_BYTES = 1024**3
MAX_META_BYTES = 1024**2
MAX_COPY_DEPTH = 64
NOTEBOOK_MAX_BYTES = 20 * 1024**2
#: Files of a model folder (one holding an ``MLmodel``) from this size on are not copied (:class:`ModelFiles`).
DEFER_BYTES = 1024**2
#: What an experiment id must look like to be used as a folder name of the copy.
SAFE_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,63}")


class ModelFiles:
    """The large model files a snapshot did not copy: placeholder in the copy -> original file.

    An empty instance (nothing deferred) serves sources that copy everything.
    """

    def __init__(self) -> None:
        self.deferred: dict[Path, Path] = {}
        self.bytes = 0  #: the deferred files' sizes, together
        self.digests: dict[Path, tuple[str, int] | None] = {}

    def defer(self, placeholder: Path, original: Path, size: int) -> None:
        with open(placeholder, "wb") as fh:
            fh.truncate(size)  # sparse: no data written, the size is the original's
        self.deferred[placeholder] = original
        self.bytes += size

    def content(self, path: Path) -> Path:
        """Where the bytes of ``path`` (a file of the copy) can be read: the original when deferred."""
        return self.deferred.get(Path(path), Path(path))

    def digest(self, path: Path) -> tuple[str, int] | None:
        """``(digest, size)`` of a file of the copy (its original's bytes when deferred), as
        :func:`grader.fingerprints.file_digest` gives it; computed once."""
        path = Path(path)
        if path not in self.digests:
            from ..fingerprints import file_digest

            self.digests[path] = file_digest(self.content(path))
        return self.digests[path]

    def digest_deferred(self) -> None:
        """Compute the deferred files' digests now (a batch does it while its workers start, see
        :mod:`grader.batch.ahead`; copy detection reads them later)."""
        for placeholder in self.deferred:
            self.digest(placeholder)

    def originals_under(self, folder: Path) -> dict[Path, Path]:
        """The deferred files under ``folder``: placeholder in the copy -> original file."""
        folder = Path(folder)
        return {p: o for p, o in self.deferred.items() if folder in p.parents}


class OpenedStore(Protocol):
    """What the evidence readers (:mod:`grader.evidence.reader`, :mod:`grader.evidence.remote`) and
    :func:`grader.api.grade` read from any opened submission: a :class:`Snapshot` (a folder, a
    database file or an archive, copied) or a :class:`~grader.submission.remote.RemoteSource` (a
    tracking server or a PostgreSQL store, read in place). Both satisfy it structurally."""

    root: Path  #: the private folder of what was copied or downloaded (notebooks, artifacts)
    kind: str  #: "file" | "sqlite" | "server" | "postgresql"
    experiment_dirs: dict[str, Path]
    notebooks: list[Path]
    notes: list[str]
    #: the SQLite or PostgreSQL store's Alembic revision as handed in ("" when there is none)
    schema_revision: str
    files: ModelFiles

    @property
    def tracking_uri(self) -> str:
        """What MLflow's client opens: never holds a credential."""
        ...

    def layout(self) -> str:
        """``2.x``, ``3.x`` or ``unknown``: what the store itself tells (the reader refines it)."""
        ...

    def close(self) -> None:
        """Remove the private folder (and restore whatever opening the source changed)."""
        ...


@dataclass
class Snapshot:
    """A private copy of the store, safe to hand to MLflow."""

    root: Path
    kind: str  # "file" | "sqlite"
    store: Path  # copy of the mlruns folder or of the database
    located: Located
    experiment_dirs: dict[str, Path] = field(default_factory=dict)  # exp id -> its artifacts folder in the copy
    notebooks: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Notes in the catalogue's words (:mod:`grader.catalogue`): ``(key, params)``, rendered in the
    #: report's language.
    notices: list[tuple[str, dict]] = field(default_factory=list)
    #: The SQLite store's Alembic revision as handed in (read before MLflow migrates the copy).
    schema_revision: str = ""
    skipped_links: int = 0
    #: What the copy takes where it lives (the files copied; deferred model files take nothing).
    copied_bytes: int = 0
    #: Large model files left in the submission, read there in place (see the module docstring).
    files: ModelFiles = field(default_factory=ModelFiles)

    @property
    def tracking_uri(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.store}"
        return self.store.as_uri()

    def layout(self) -> str:
        """``3.x`` when the store holds MLflow 3 LoggedModels, ``2.x`` otherwise (read from the copy)."""
        if self.kind == "sqlite":
            try:
                con = sqlite3.connect(f"{self.store.as_uri()}?mode=ro", uri=True)
                try:
                    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                    if "logged_models" in tables and con.execute("SELECT 1 FROM logged_models LIMIT 1").fetchone():
                        return "3.x"
                    if (
                        "model_versions" in tables
                        and con.execute(
                            "SELECT 1 FROM model_versions WHERE source LIKE 'models:/m-%' LIMIT 1"
                        ).fetchone()
                    ):
                        return "3.x"
                finally:
                    con.close()
            except sqlite3.Error:
                return "unknown"
            return "2.x"
        if any(self.store.glob("*/models/m-*")) or any(self.store.glob("*/*/outputs/m-*")):
            return "3.x"
        return "2.x"

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Budget:
    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0
        self.links = 0
        self.deep = 0  # folders too deeply nested to be copied

    def take(self, size: int, where: str) -> None:
        self.files += 1
        self.bytes += size
        if size > MAX_FILE_BYTES:
            raise SubmissionError(
                f"refused: {where} is {size / 1024**2:.0f} MiB, over the {MAX_FILE_BYTES // 1024**2} MiB limit per file"
            )
        if self.files > MAX_FILES:
            raise SubmissionError(f"refused: the store holds more than {MAX_FILES} files")
        if self.bytes > MAX_BYTES:
            raise SubmissionError(f"refused: the store is larger than {MAX_BYTES // 1024**3} GiB")


def _copy_tree(
    src: Path, dst: Path, budget: _Budget, skip: Iterable[str] = (), files: ModelFiles | None = None
) -> None:
    """Copy regular files and folders only: symlinks, devices and sockets are never followed or copied.

    Folders nested deeper than :data:`MAX_COPY_DEPTH` are not copied (counted in ``budget.deep``):
    no MLflow store needs them, and past ``PATH_MAX`` they could not be created nor removed. With
    ``files``, the large files of model folders are deferred to it instead of copied.
    """
    skip = set(skip)
    dst.mkdir(parents=True, exist_ok=True)
    stack = [(src, dst, 0)]
    while stack:
        s, d, depth = stack.pop()
        try:
            entries = list(os.scandir(s))
        except OSError:
            continue
        model_folder = files is not None and any(
            e.name == "MLmodel" and e.is_file(follow_symlinks=False) for e in entries
        )
        for entry in entries:
            target = d / entry.name
            if entry.is_symlink():
                budget.links += 1
            elif entry.is_dir(follow_symlinks=False):
                if entry.name in skip:
                    continue
                if depth + 1 > MAX_COPY_DEPTH:
                    budget.deep += 1
                    continue
                try:
                    target.mkdir(exist_ok=True)
                except OSError as exc:
                    raise SubmissionError(f"cannot copy {entry.path[:200]}: {exc.strerror or exc}") from None
                stack.append((Path(entry.path), target, depth + 1))
            elif entry.is_file(follow_symlinks=False):
                size = entry.stat(follow_symlinks=False).st_size
                budget.take(size, entry.path)
                try:
                    if files is not None and model_folder and size >= DEFER_BYTES and entry.name != "MLmodel":
                        files.defer(target, Path(entry.path), size)
                    else:
                        shutil.copyfile(entry.path, target, follow_symlinks=False)
                except OSError as exc:
                    raise SubmissionError(f"cannot read {entry.path}: {exc.strerror or exc}") from None


class Rebaser:
    """Maps an artifact location of the student's machine to its place in the snapshot.

    ``experiment_dirs`` maps each experiment id to its folder in the copy; ``proxy_roots`` are copies
    of the folders a tracking server's artifact proxy wrote (``mlartifacts/``, holding
    ``<experiment id>/...``): a location may be found in either, and the one that exists wins.
    """

    #: Schemes of artifact locations that are MLflow references, not paths (resolved elsewhere).
    REFERENCES = (
        "models:",
        "runs:",
        "http:",
        "https:",
        "s3:",
        "gs:",
        "wasbs:",
        "abfss:",
        "hdfs:",
        "dbfs:",
        "sftp:",
        "ftp:",
    )

    def __init__(self, snapshot_root: Path, experiment_dirs: dict[str, Path], proxy_roots: Iterable[Path] = ()) -> None:
        self.root = snapshot_root
        self.experiment_dirs = experiment_dirs
        self.proxy_roots = list(proxy_roots)
        self.unresolved = 0

    @classmethod
    def rebasable(cls, value: object) -> TypeGuard[str]:
        """Whether ``value`` names a place in the student's files: a ``file:`` or ``mlflow-artifacts:``
        URI, an absolute path (POSIX or Windows), or a relative one (MLflow 1.x wrote
        ``./mlruns/1/<run>/artifacts``, relative to the folder it ran in)."""
        if not isinstance(value, str) or not value.strip():
            return False
        if value.startswith(("file:", "mlflow-artifacts:", "/", "\\\\")):
            return True
        if len(value) > 2 and value[1] == ":" and value[2] in "/\\":  # C:\... or C:/...
            return True
        return not value.lower().startswith(cls.REFERENCES) and "://" not in value

    def _candidates(self, exp_id: str, rest: tuple[str, ...], proxied: bool) -> list[Path]:
        own = self.experiment_dirs[exp_id].joinpath(*rest)
        proxy = [root.joinpath(exp_id, *rest) for root in self.proxy_roots]
        return [*proxy, own] if proxied else [own, *proxy]

    def local(self, value: str, experiment_id: str | None = None) -> Path:
        """The snapshot path for ``value`` (which may not exist, but is always inside the snapshot)."""
        parts = uri_path_parts(value)
        ids = [experiment_id] if experiment_id is not None else list(self.experiment_dirs)
        best: Path | None = None
        for i in range(len(parts) - 1, -1, -1):
            if parts[i] in ids and parts[i] in self.experiment_dirs:
                rest = parts[i + 1 :]
                if ".." in rest:
                    continue
                proxied = value.startswith("mlflow-artifacts:") or (i > 0 and parts[i - 1] == "mlartifacts")
                candidates = self._candidates(parts[i], rest, proxied)
                for candidate in candidates:
                    if candidate.exists():
                        return candidate
                if experiment_id is not None:
                    return candidates[0]
                best = best or candidates[0]
        if best is not None:
            return best
        self.unresolved += 1
        digest = hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:16]
        return self.root / ".unresolved" / digest

    def uri(self, value: str, experiment_id: str | None = None) -> str:
        return self.local(value, experiment_id).as_uri()

    def existing(self, value: object, experiment_id: str) -> Path | None:
        """Where ``value`` (a location the store records) points in the copy, when that exists."""
        if not self.rebasable(value):
            return None
        mapped = self.local(str(value), experiment_id)
        return mapped if mapped.exists() else None

    def pick(self, derived: Path, value: object, experiment_id: str) -> Path:
        """``derived`` (a location read off the copy's folder layout) when it exists; else where
        ``value`` (the store's own record) points in the copy, when that exists (the artifact proxy's
        ``mlartifacts/``); else ``derived``."""
        if derived.exists():
            return derived
        return self.existing(value, experiment_id) or derived


# --------------------------------------------------------------------------- file store


def _load_meta(path: Path) -> dict | None:
    try:
        if path.stat().st_size > MAX_META_BYTES:
            return None
        data = yamlio.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yamlio.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def _rewrite_meta(path: Path, change: Callable[[dict], bool]) -> None:
    data = _load_meta(path)
    if data is not None and change(data):
        path.write_text(yamlio.dump(data), encoding="utf-8")


def _experiment_folders(store: Path) -> list[Path]:
    folders = []
    for parent in (store, store / ".trash"):
        if parent.is_dir():
            folders += [
                p
                for p in sorted(parent.iterdir())
                if p.is_dir() and not p.is_symlink() and p.name not in ("models", ".trash")
            ]
    return folders


def _rebase_file_store(snap: Snapshot, proxy_roots: Iterable[Path] = ()) -> None:
    """Rewrite every location in the copied file store: each derived from where the folder is in
    the copy (a run's ``artifacts/``, a LoggedModel's ``artifacts/``), or, when the artifacts are
    not there, from the record itself mapped into the copy (a server's ``mlartifacts/``)."""
    store = snap.store
    for exp in _experiment_folders(store):
        if (exp / "meta.yaml").is_file():
            snap.experiment_dirs.setdefault(exp.name, exp)
    rebaser = Rebaser(snap.root, snap.experiment_dirs, proxy_roots)

    def relocate(data: dict, key: str, derived: Path, exp_id: str) -> bool:
        if key not in data:
            return False
        return _set(data, key, rebaser.pick(derived, data.get(key), exp_id).as_uri())

    def relocate_experiment(data: dict, folder: Path, exp_id: str) -> bool:
        # The experiment's folder always exists in the copy: its record wins when it names a proxy copy.
        return _set(
            data, "artifact_location", (rebaser.existing(data.get("artifact_location"), exp_id) or folder).as_uri()
        )

    for exp in _experiment_folders(store):
        exp_id = exp.name
        _rewrite_meta(exp / "meta.yaml", partial(relocate_experiment, folder=exp, exp_id=exp_id))
        for child in exp.iterdir() if exp.is_dir() else ():
            if child.is_symlink() or not child.is_dir():
                continue
            if child.name == "models":  # MLflow 3.x LoggedModels
                for model in child.iterdir():
                    if model.is_dir() and not model.is_symlink():
                        _rewrite_meta(
                            model / "meta.yaml",
                            partial(relocate, key="artifact_location", derived=model / "artifacts", exp_id=exp_id),
                        )
            else:
                _rewrite_meta(
                    child / "meta.yaml",
                    partial(relocate, key="artifact_uri", derived=child / "artifacts", exp_id=exp_id),
                )
    registry = store / "models"
    if registry.is_dir() and not registry.is_symlink():
        for version_meta in registry.glob("*/version-*/meta.yaml"):
            _rewrite_meta(version_meta, partial(_rebase_version, rebaser=rebaser))
    snap.notes += _unresolved_note(rebaser)


def _set(data: dict, key: str, value: str) -> bool:
    if key in data and data[key] != value:
        data[key] = value
        return True
    return False


def _rebase_version(data: dict, rebaser: Rebaser) -> bool:
    changed = False
    for key in ("source", "storage_location"):
        value = data.get(key)
        if Rebaser.rebasable(value):
            data[key] = rebaser.uri(value)
            changed = True
    return changed


def _unresolved_note(rebaser: Rebaser) -> list[str]:
    if not rebaser.unresolved:
        return []
    return [
        f"{rebaser.unresolved} artifact path(s) in the store point outside any experiment folder; "
        "they are treated as missing"
    ]


# --------------------------------------------------------------------------- sqlite store


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in con.execute(f"PRAGMA table_info({table})")}


def _artifact_sources(located: Located, locations: dict[str, str]) -> dict[str, Path]:
    """For each experiment id, the folder of the original submission that holds its artifacts."""
    base = located.base
    roots = [
        base / "mlruns",
        base / "mlartifacts",
        located.store.parent / "mlruns",
        located.store.parent / "mlartifacts",
    ]
    if located.whole_folder:
        roots.append(base)
    found: dict[str, Path] = {}
    for exp_id, location in locations.items():
        parts = uri_path_parts(location or "")
        candidates = []
        if exp_id in parts:
            i = len(parts) - 1 - parts[::-1].index(exp_id)
            for j in range(max(0, i - 3), i):  # the last folders of the stale root, inside the submission
                candidates.append(base.joinpath(*parts[j:i], exp_id))
        candidates += [root / exp_id for root in roots]
        for candidate in candidates:
            if ".." in candidate.parts:
                continue
            if (
                candidate.is_dir()
                and not candidate.is_symlink()
                and not any(p.is_symlink() for p in candidate.parents if base in p.parents)
            ):
                found[exp_id] = candidate
                break
    return found


def copy_artifacts(located: Located, locations: dict[str, str], into: OpenedStore) -> tuple[list[str], int]:
    """Copy the artifacts of a store read in place (a PostgreSQL store with ``--artifacts DIR``) as a
    folder submission's are copied: for each experiment id of ``locations`` (id -> the artifact
    location its record names), the folder under ``located.base`` that holds its artifacts, into
    ``into.experiment_dirs[id]``; then the notebooks beside them. Returns the ids whose folder was
    not found and the number of symbolic links ignored (never followed)."""
    sources = _artifact_sources(located, locations)
    budget = _Budget()
    for exp_id, folder in sources.items():
        _copy_tree(folder, into.experiment_dirs[exp_id], budget)
    _copy_notebooks(located, into, budget)
    return [i for i in locations if i not in sources], budget.links


def _copy_sqlite(located: Located, snap: Snapshot, budget: _Budget, files: ModelFiles | None) -> None:
    db = located.store
    snap.store = snap.root / "store" / db.name
    snap.store.parent.mkdir(parents=True)
    for suffix in ("", "-wal", "-journal"):
        src = Path(str(db) + suffix)
        if src.is_file() and not src.is_symlink():
            budget.take(src.stat().st_size, str(src))
            shutil.copyfile(src, str(snap.store) + suffix)
    try:
        con = sqlite3.connect(snap.store)
    except sqlite3.Error as exc:
        raise SubmissionError(f"{db.name} cannot be opened as a database: {exc}") from None
    try:
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise SubmissionError(f"{db.name} is not a readable SQLite database: {exc}") from None
        if "experiments" not in tables or "runs" not in tables:
            raise SubmissionError(
                f"{db.name} is a SQLite database but not an MLflow tracking store (no experiments/runs tables)"
            )
        if "alembic_version" in tables:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
            snap.schema_revision = str(row[0])[:40] if row else ""
        locations = {str(i): loc for i, loc in con.execute("SELECT experiment_id, artifact_location FROM experiments")}
        # An id is a folder name in the copy: one that is not a plain name (an absolute path, "..")
        # is never used as a path; its artifacts are treated as missing.
        unsafe = [i for i in locations if not SAFE_ID.fullmatch(i)]
        if unsafe:
            snap.notes.append(
                f"{len(unsafe)} experiment id(s) in {db.name} are not plain names; "
                "their artifacts are treated as missing"
            )
        locations = {i: loc for i, loc in locations.items() if i not in unsafe}
        sources = _artifact_sources(located, locations)
        runs_by_experiment = dict(
            con.execute("SELECT experiment_id, COUNT(*) FROM runs GROUP BY experiment_id").fetchall()
        )
        n_runs = sum(runs_by_experiment.values())
        if n_runs and not any(str(e) in sources for e in runs_by_experiment):
            snap.notices.append(("runs_without_artifacts", {"db": db.name, "n": n_runs, "folder": "mlruns"}))
        artifacts = snap.root / "artifacts"
        for exp_id in locations:
            snap.experiment_dirs[exp_id] = artifacts / exp_id
            if exp_id in sources:
                _copy_tree(sources[exp_id], artifacts / exp_id, budget, files=files)
        rebaser = Rebaser(snap.root, snap.experiment_dirs)
        with con:
            for exp_id in locations:
                con.execute(
                    "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
                    ((artifacts / exp_id).as_uri(), int(exp_id) if exp_id.isdigit() else exp_id),
                )
            for exp_id in unsafe:
                con.execute(
                    "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
                    ((snap.root / ".unresolved" / "experiment").as_uri(), exp_id),
                )
            for run_uuid, exp_id, uri in con.execute(
                "SELECT run_uuid, experiment_id, artifact_uri FROM runs"
            ).fetchall():
                if Rebaser.rebasable(uri):
                    con.execute(
                        "UPDATE runs SET artifact_uri = ? WHERE run_uuid = ?", (rebaser.uri(uri, str(exp_id)), run_uuid)
                    )
            if "logged_models" in tables:
                for model_id, exp_id, loc in con.execute(
                    "SELECT model_id, experiment_id, artifact_location FROM logged_models"
                ).fetchall():
                    if Rebaser.rebasable(loc):
                        con.execute(
                            "UPDATE logged_models SET artifact_location = ? WHERE model_id = ?",
                            (rebaser.uri(loc, str(exp_id)), model_id),
                        )
            if "model_versions" in tables:
                cols = [c for c in ("source", "storage_location") if c in _columns(con, "model_versions")]
                select = f"SELECT name, version, {', '.join(cols)} FROM model_versions"  # noqa: S608 - cols: a fixed tuple
                for name, version, *values in con.execute(select).fetchall():
                    for col, value in zip(cols, values, strict=True):
                        if Rebaser.rebasable(value):
                            update = f"UPDATE model_versions SET {col} = ? WHERE name = ? AND version = ?"  # noqa: S608 - as above
                            con.execute(update, (rebaser.uri(value), name, version))
        snap.notes += _unresolved_note(rebaser)
    except sqlite3.DatabaseError as exc:
        raise SubmissionError(f"{db.name} is a damaged SQLite database: {exc}") from None
    finally:
        con.close()


# --------------------------------------------------------------------------- entry point


def scratch_root(jobs: int = 1) -> str:
    """Where private snapshots go by default: ``/dev/shm`` when ``TMPDIR`` is not set and that tmpfs
    has room for ``jobs`` snapshots of the largest size a snapshot accepts (:data:`MAX_BYTES` each),
    else the temp dir. A snapshot is thousands of small files, created and removed once per grade:
    on a disk that costs seconds (measured on this project's CI machine: the reference submission,
    0.64 s to copy on /tmp, 0.07 s on /dev/shm; a 1,000-run store, 20 s and 4 s, removal 8 s and 0.8 s)."""
    shm = Path("/dev/shm")
    if "TMPDIR" not in os.environ and shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        try:
            stats = os.statvfs(shm)
            if stats.f_bavail * stats.f_frsize >= jobs * MAX_BYTES + 1024**3:
                return str(shm)
        except OSError:
            pass
    return tempfile.gettempdir()


#: Folders where a tracking server's artifact proxy (``mlflow server``'s default since 2.0) keeps
#: the artifacts of a store, beside it: ``mlartifacts/<experiment id>/<run id>/artifacts/...``.
PROXY_FOLDERS = ("mlartifacts", "mlflow-artifacts")


def proxy_folders(located: Located) -> list[Path]:
    """The artifact-proxy folders beside the located store (links never followed)."""
    found: list[Path] = []
    for parent in dict.fromkeys((located.store.parent, located.base)):
        for name in PROXY_FOLDERS:
            folder = parent / name
            if folder.is_dir() and not folder.is_symlink() and folder not in found and folder != located.store:
                found.append(folder)
    return found


def _copy_notebooks(located: Located, snap: OpenedStore, budget: _Budget) -> None:
    if not located.whole_folder:
        return  # a bare database file: its neighbours' notebooks are not its own
    base = located.base
    # walk_folders never follows a link: a notebook folder that is a symlink to a classmate's (or
    # "class -> ..") is not the submission's. Notebooks four folders deep at most, as before.
    for folder in walk_folders(base, 3):
        try:
            names = sorted(
                e.name for e in os.scandir(folder) if e.name.endswith(".ipynb") and e.is_file(follow_symlinks=False)
            )
        except OSError:
            continue
        for name in names:
            path = folder / name
            rel = path.relative_to(base)
            if path.stat().st_size > NOTEBOOK_MAX_BYTES:
                snap.notes.append(f"notebook {rel} skipped: larger than {NOTEBOOK_MAX_BYTES // 1024**2} MiB")
                continue
            target = snap.root / "notebooks" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            budget.take(path.stat().st_size, str(path))
            shutil.copyfile(path, target)
            snap.notebooks.append(target)


def make_snapshot(located: Located, workdir: str | os.PathLike | None = None, defer_models: bool = True) -> Snapshot:
    """Copy the located store (and notebooks) into a new private folder and rebase its paths.

    ``defer_models``: leave large model files in the submission, to be read there in place (see
    :class:`ModelFiles`); only for a submission that outlives the snapshot (not an extracted archive).
    """
    root = Path(tempfile.mkdtemp(prefix="mlflow-grader-", dir=workdir or scratch_root()))
    snap = Snapshot(root=root, kind=located.kind, store=root, located=located, notes=list(located.notes))
    budget = _Budget()
    files = snap.files if defer_models else None
    try:
        if located.kind == "file":
            snap.store = root / "store" / "mlruns"
            _copy_tree(located.store, snap.store, budget, files=files)
            proxies = []
            for i, folder in enumerate(proxy_folders(located)):
                proxies.append(root / "proxy" / f"{i}-{folder.name}")
                _copy_tree(folder, proxies[-1], budget, files=files)
            _rebase_file_store(snap, proxies)
        else:
            _copy_sqlite(located, snap, budget, files)
        _copy_notebooks(located, snap, budget)
    except BaseException:
        snap.close()
        raise
    snap.skipped_links = budget.links
    snap.copied_bytes = budget.bytes - snap.files.bytes
    if budget.deep:
        snap.notes.append(f"{budget.deep} folder(s) nested deeper than {MAX_COPY_DEPTH} levels were not copied")
    if budget.links:
        snap.notes.append(f"{budget.links} symbolic link(s) in the submission were ignored (never followed)")
    return snap

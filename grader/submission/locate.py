"""Find the MLflow store inside what a user pointed ``grade`` at, without opening it.

Only names, sizes and the first bytes of candidate database files are looked at here; the
store itself is read later, from the private snapshot.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from .. import yamlio
from ..errors import SubmissionError, keyed

SQLITE_MAGIC = b"SQLite format 3\x00"
DB_SUFFIXES = (".db", ".sqlite", ".sqlite3")
#: Folders never worth descending into when looking for a store.
SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "env",
    "node_modules",
    "__pycache__",
    ".ipynb_checkpoints",
    ".trash",
    "site-packages",
    ".mypy_cache",
    ".pytest_cache",
}
MAX_DEPTH = 4
MAX_ENTRIES = 20_000


@dataclass
class Located:
    """Where the store is, in the original submission (nothing is opened yet)."""

    input: str
    base: Path  # the folder the submission lives in
    kind: str  # "file" | "sqlite"
    store: Path  # the mlruns folder, or the database file
    notes: list[str] = field(default_factory=list)
    #: Every store seen, the graded one first (:class:`StoreSeen`); one entry when there was no choice.
    stores: list[StoreSeen] = field(default_factory=list)
    #: Why this store was graded among several: ``experiment``, ``runs`` or ``chosen`` (``--store``).
    chosen_by: str = ""
    #: ``False`` for a bare database file: only it and its own artifacts are graded, nothing around it
    #: (neighbours' stores and notebooks).
    whole_folder: bool = True


@dataclass
class StoreSeen:
    """A store found in the submission, as peeked at without MLflow: its experiments' active runs."""

    path: Path
    kind: str  # "file" | "sqlite"
    experiments: dict[str, int] = field(default_factory=dict)  # name -> runs (see peek)

    @property
    def runs(self) -> int:
        return sum(self.experiments.values())

    def runs_in(self, experiment: str | None) -> int:
        return self.experiments.get(experiment, 0) if experiment else 0


def is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def looks_like_file_store(path: Path) -> bool:
    """An ``mlruns`` folder: experiment folders with a ``meta.yaml``, or a ``models`` registry."""
    try:
        if not path.is_dir() or path.is_symlink():
            return False
        for child in path.iterdir():
            if child.is_symlink() or not child.is_dir():
                continue
            if child.name.isdigit() and (child / "meta.yaml").is_file():
                return True
            # A registry: models/<name>/meta.yaml. Not an experiment's models/m-<id>/ (3.x LoggedModels,
            # the artifacts of a SQLite store handed in without its database).
            if child.name == "models" and any(
                not m.name.startswith("m-") and (m / "meta.yaml").is_file() for m in child.iterdir() if m.is_dir()
            ):
                return True
    except OSError:
        return False
    return False


MAX_PEEK_EXPERIMENTS = 1000


def peek(store: Path, kind: str) -> dict[str, int]:
    """The active experiments of a store and their runs, read without MLflow and without writing:
    ``meta.yaml`` files of a file store (its run folders are counted, deleted ones too), or the
    database opened immutable (no lock, no journal; active runs). An unreadable store peeks as empty."""
    found: dict[str, int] = {}
    if kind == "file":
        try:
            for child in sorted(store.iterdir())[:MAX_PEEK_EXPERIMENTS]:
                meta = child / "meta.yaml"
                if not child.is_dir() or child.is_symlink() or not meta.is_file() or meta.stat().st_size >= 65536:
                    continue
                data = yamlio.load(meta.read_text(encoding="utf-8", errors="replace"))
                if isinstance(data, dict) and data.get("lifecycle_stage", "active") == "active" and "name" in data:
                    runs = sum(1 for run in child.iterdir() if run.name != "models" and (run / "meta.yaml").is_file())
                    found[str(data["name"])] = found.get(str(data["name"]), 0) + runs
        except (OSError, yamlio.YAMLError):
            return found
        return found
    try:
        con = sqlite3.connect(f"file:{quote(str(store))}?mode=ro&immutable=1", uri=True)
        try:
            rows = con.execute(
                "SELECT e.name, (SELECT COUNT(*) FROM runs r WHERE r.experiment_id = e.experiment_id"
                " AND r.lifecycle_stage = 'active') FROM experiments e WHERE e.lifecycle_stage = 'active'"
                " LIMIT ?",
                (MAX_PEEK_EXPERIMENTS,),
            ).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return found
    for name, runs in rows:
        found[str(name)] = found.get(str(name), 0) + int(runs or 0)
    return found


def is_mlflow_db(path: Path) -> bool:
    """A SQLite file with MLflow's ``experiments`` and ``runs`` tables (opened immutable)."""
    if not is_sqlite(path):
        return False
    try:
        con = sqlite3.connect(f"file:{quote(str(path))}?mode=ro&immutable=1", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()
    except sqlite3.Error:
        return True  # damaged: let the snapshot say so
    return {"experiments", "runs"} <= tables


def walk_folders(base: Path, max_depth: int = MAX_DEPTH):
    """Breadth-first folders under ``base``, itself first (no symlinks, bounded depth and size)."""
    queue = [(base, 0)]
    seen = 0
    while queue:
        folder, depth = queue.pop(0)
        yield folder
        if depth >= max_depth:
            continue
        try:
            children = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in children:
            seen += 1
            if seen > MAX_ENTRIES:
                return
            if entry.is_dir(follow_symlinks=False) and entry.name not in SKIP_DIRS:
                queue.append((Path(entry.path), depth + 1))


def database_files(folder: Path) -> list[Path]:
    """The files directly in ``folder`` named like a database (``.db``, ``.sqlite``...), links never
    followed; their content is not looked at (:func:`is_sqlite` does)."""
    try:
        return [
            Path(e.path)
            for e in os.scandir(folder)
            if e.name.lower().endswith(DB_SUFFIXES) and e.is_file(follow_symlinks=False)
        ]
    except OSError:
        return []


def path_of_uri(text: str) -> Path | None:
    """The local path a ``sqlite:`` or ``file:`` URI names (``sqlite:///rel.db`` relative,
    ``sqlite:////abs.db`` absolute), None for any other text."""
    if text.startswith("sqlite:"):
        parsed = urlparse(text)
        raw = unquote(parsed.path)
        # sqlite:///rel.db -> "/rel.db" relative; sqlite:////abs.db -> "//abs.db"
        if text.startswith("sqlite:////"):
            return Path("/" + raw.lstrip("/"))
        return Path(raw[1:] if raw.startswith("/") else raw)
    if text.startswith("file:"):
        return Path(unquote(urlparse(text).path) or ".")
    return None


def _artifacts_only(path: Path) -> Path | None:
    """An ``mlruns`` folder (or one like it) that holds models but no run metadata: the artifacts
    of a SQLite store handed in without its database."""
    for folder in walk_folders(path, 2):
        name = folder.name
        looks_like_mlruns = name in ("mlruns", "mlartifacts") or (folder == path and any(folder.glob("*/*/artifacts")))
        if looks_like_mlruns and (
            any(folder.glob("*/*/artifacts/*/MLmodel")) or any(folder.glob("*/models/m-*/artifacts/MLmodel"))
        ):
            return folder
    return None


def _choose(candidates: list[StoreSeen], experiment: str | None) -> tuple[StoreSeen, str]:
    """The store to grade: the one holding the rubric's experiment with the most runs in it, else the
    one with the most runs; an empty store never wins over a populated one. Ties keep the order
    found (shallowest first, ``mlflow.db`` and ``mlruns`` before other names)."""
    with_experiment = [c for c in candidates if experiment in c.experiments]
    if with_experiment:
        return max(with_experiment, key=lambda c: (c.runs_in(experiment), -candidates.index(c))), "experiment"
    return max(candidates, key=lambda c: (c.runs, -candidates.index(c))), "runs"


def locate(
    submission: str | os.PathLike, experiment_hint: str | None = None, store: str | os.PathLike | None = None
) -> Located:
    """Find the store in a folder, an ``mlruns`` folder, a database file, or a ``file:``/``sqlite:`` URI.

    A folder may hold several stores (a populated ``mlruns/`` and an empty ``mlflow.db`` a stray
    client made, a ``backend.db``, a copy in a subfolder): see :func:`_choose`. ``store`` (a path
    inside the submission, or relative to it) picks one instead.
    """
    text = os.fspath(submission)
    if "://" in text and not text.startswith(("file:", "sqlite:")):
        scheme = text.split("://", 1)[0]
        raise SubmissionError(
            f"{scheme}:// submissions are not supported; hand in a folder, mlruns/ or mlflow.db, "
            "or grade an http(s):// tracking server or a postgresql:// backend store"
        )
    path = path_of_uri(text) or Path(text)
    path = path.expanduser()
    if not path.exists():
        raise SubmissionError(f"submission not found: {text}")
    path = path.absolute()
    if path.is_file():
        if is_sqlite(path):
            seen = StoreSeen(path, "sqlite", peek(path, "sqlite"))
            return Located(text, path.parent, "sqlite", path, stores=[seen], whole_folder=False)
        raise SubmissionError(f"{text} is a file but not an MLflow SQLite database (nor a supported archive)")
    if looks_like_file_store(path):
        seen = StoreSeen(path, "file", peek(path, "file"))
        return Located(text, path.parent if path.name == "mlruns" else path, "file", path, stores=[seen])

    file_stores: list[Path] = []
    databases: list[Path] = []
    for folder in walk_folders(path):
        if folder != path and looks_like_file_store(folder):
            file_stores.append(folder)
        databases += [db for db in database_files(folder) if is_mlflow_db(db)]
    # A file store nested inside another one's artifacts is not a store of its own.
    file_stores = [s for s in file_stores if not any(o in s.parents for o in file_stores)]
    if not file_stores and not databases:
        artifacts = _artifacts_only(path)
        if artifacts is not None:
            raise keyed(SubmissionError, "artifacts_without_runs", where=text, folder=artifacts.name, db="mlflow.db")
        raise SubmissionError(
            f"no MLflow store in {text}: "
            "expected an mlruns/ folder (with experiment folders and meta.yaml) or an mlflow.db"
        )
    # Prefer the shallowest candidate of each kind; MLflow >= 3.7 writes metadata to mlflow.db and
    # artifacts to ./mlruns (an mlruns folder that only holds artifacts is not a file store).
    databases.sort(key=lambda p: (len(p.relative_to(path).parts), p.name != "mlflow.db", str(p)))
    file_stores.sort(key=lambda p: (len(p.relative_to(path).parts), p.name != "mlruns", str(p)))
    candidates = [StoreSeen(db, "sqlite", peek(db, "sqlite")) for db in databases]
    candidates += [StoreSeen(fs, "file", peek(fs, "file")) for fs in file_stores]
    candidates.sort(key=lambda c: len(c.path.relative_to(path).parts))  # stable: kinds keep their order
    if store is not None:
        wanted = Path(store) if Path(store).is_absolute() else path / store
        pick = next((c for c in candidates if c.path == wanted.absolute()), None)
        if pick is None:
            names = ", ".join(str(c.path.relative_to(path)) for c in candidates)
            raise SubmissionError(f"--store {store}: not one of the stores found in {text} ({names})")
        why = "chosen"
    else:
        pick, why = _choose(candidates, experiment_hint)
    others = [c for c in candidates if c is not pick]
    return Located(text, path, pick.kind, pick.path, stores=[pick, *others], chosen_by=why if others else "")

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


from ..errors import SubmissionError
from .. import yamlio

SQLITE_MAGIC = b"SQLite format 3\x00"
DB_SUFFIXES = (".db", ".sqlite", ".sqlite3")
#: Folders never worth descending into when looking for a store.
SKIP_DIRS = {".git", ".venv", "venv", "env", "node_modules", "__pycache__", ".ipynb_checkpoints", ".trash",
             "site-packages", ".mypy_cache", ".pytest_cache"}
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
    alternatives: list[Path] = field(default_factory=list)  # other stores seen, not graded


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
            if (child.name.isdigit() or child.name == "models") and (child / "meta.yaml").is_file():
                return True
            if child.name == "models" and any(p.is_dir() for p in child.iterdir()):
                return True
    except OSError:
        return False
    return False


def has_experiment(store: Path, kind: str, name: str) -> bool:
    """Whether a store holds an experiment called ``name`` (read-only peek, never through MLflow)."""
    if kind == "file":
        try:
            for child in store.iterdir():
                meta = child / "meta.yaml"
                if child.is_dir() and not child.is_symlink() and meta.is_file() and meta.stat().st_size < 65536:
                    data = yamlio.load(meta.read_text(encoding="utf-8", errors="replace"))
                    if isinstance(data, dict) and data.get("name") == name:
                        return True
        except (OSError, yamlio.YAMLError):
            return False
        return False
    try:
        # immutable=1: SQLite takes no lock and writes nothing, not even a journal.
        con = sqlite3.connect(f"file:{quote(str(store))}?mode=ro&immutable=1", uri=True)
        try:
            return con.execute("SELECT 1 FROM experiments WHERE name = ?", (name,)).fetchone() is not None
        finally:
            con.close()
    except sqlite3.Error:
        return False


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
        return [Path(e.path) for e in os.scandir(folder)
                if e.name.lower().endswith(DB_SUFFIXES) and e.is_file(follow_symlinks=False)]
    except OSError:
        return []


def _from_uri(text: str) -> Path | None:
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


def locate(submission: str | os.PathLike, experiment_hint: str | None = None) -> Located:
    """Find the store in a folder, an ``mlruns`` folder, a database file, or a ``file:``/``sqlite:`` URI."""
    text = os.fspath(submission)
    if "://" in text and not text.startswith(("file:", "sqlite:")):
        scheme = text.split("://", 1)[0]
        raise SubmissionError(f"{scheme}:// submissions are not supported; hand in a folder, mlruns/ or mlflow.db, "
                              "or grade an http(s):// tracking server or a postgresql:// backend store")
    path = _from_uri(text) or Path(text)
    path = path.expanduser()
    if not path.exists():
        raise SubmissionError(f"submission not found: {text}")
    path = path.absolute()
    if path.is_file():
        if is_sqlite(path):
            return Located(text, path.parent, "sqlite", path)
        raise SubmissionError(f"{text} is a file but not an MLflow SQLite database (nor a supported archive)")
    if looks_like_file_store(path):
        return Located(text, path.parent if path.name == "mlruns" else path, "file", path)

    file_stores: list[Path] = []
    databases: list[Path] = []
    for folder in walk_folders(path):
        if folder != path and looks_like_file_store(folder):
            file_stores.append(folder)
        databases += [db for db in database_files(folder) if is_sqlite(db)]
    # A file store nested inside another one's artifacts is not a store of its own.
    file_stores = [s for s in file_stores if not any(o in s.parents for o in file_stores)]
    if not file_stores and not databases:
        raise SubmissionError(
            f"no MLflow store in {text}: expected an mlruns/ folder (with experiment folders and meta.yaml) or an mlflow.db"
        )
    # MLflow >= 3.7 writes metadata to mlflow.db and artifacts to ./mlruns: a database wins over an
    # mlruns folder that only holds artifacts. Prefer the shallowest candidate of each kind.
    databases.sort(key=lambda p: (len(p.relative_to(path).parts), p.name != "mlflow.db", str(p)))
    file_stores.sort(key=lambda p: (len(p.relative_to(path).parts), p.name != "mlruns", str(p)))
    candidates = [(db, "sqlite") for db in databases] + [(fs, "file") for fs in file_stores]
    if experiment_hint:
        with_experiment = [c for c in candidates if has_experiment(c[0], c[1], experiment_hint)]
        candidates = with_experiment or candidates
    chosen, kind = candidates[0]
    others = [p for p in (*databases, *file_stores) if p != chosen]
    located = Located(text, path, kind, chosen, alternatives=others)
    return located

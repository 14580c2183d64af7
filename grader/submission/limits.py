"""Limits on what a snapshot may hold before MLflow reads it: runs, rows, and YAML alias bombs.

The snapshot (:mod:`.snapshot`) already bounds files and bytes. What it does not bound is what
MLflow then does with them: a 25 MiB SQLite database of 150,000 runs took MLflow 6 to 7 minutes and
1.4 GiB to read (``search_runs`` builds every run as Python objects); a file store of as many run
folders, longer. A homework needs ten runs, a generous sweep a few hundred. So, on the private copy
and with nothing but :mod:`sqlite3` or a directory listing (milliseconds):

- :func:`check_sqlite`: more than :data:`MAX_RUNS` runs, or more than :data:`MAX_ROWS` rows of
  params, tags and latest metrics in all, refuse the store (:class:`~grader.errors.SubmissionError`,
  one line, exit 2 or an error row in a batch);
- :func:`check_file_store`: the same for the run folders of a file store;
- :func:`refuse_yaml_bombs`: a ``meta.yaml`` of the copy whose aliases expand past
  :data:`grader.yamlio.MAX_EXPANDED_NODES` nodes (see :mod:`grader.yamlio`) is taken out of the copy
  (renamed ``meta.yaml.refused``), so MLflow, which parses ``meta.yaml`` with its own loader, sees
  that run, experiment or version as missing; a note in the report says which file and why. An
  ``MLmodel`` bomb is left in place (the grader reads ``MLmodel`` only through :mod:`grader.yamlio`,
  which refuses it) and noted.

:func:`check_snapshot` runs all three; :func:`grader.api.grade` calls it on every snapshot before
the first MLflow call.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from .. import yamlio
from ..errors import SubmissionError

#: Runs a store may hold (a homework needs 10; MLflow reads about 2.5 ms per run from SQLite and
#: 12 ms per run from a file store, so this is under a minute and four minutes respectively).
MAX_RUNS = 20_000
#: Rows of ``params``, ``tags`` and ``latest_metrics`` a SQLite store may hold in all.
MAX_ROWS = 1_000_000
#: Files whose aliases are checked; ``meta.yaml`` files larger than the snapshot's own limit are not
#: rewritten by it and are checked the same.
YAML_NAMES = ("meta.yaml", "MLmodel")
#: A file this large is not parsed to look for a bomb (MLflow's files are a few KiB).
MAX_YAML_BYTES = 4 * 1024**2


def _refused(what: str, count: int, limit: int, unit: str) -> SubmissionError:
    return SubmissionError(
        f"refused {what}: it holds {count:,} {unit}, more than the {limit:,} a submission may "
        f"hold (reading them would take minutes and gigabytes)"
    )


def check_sqlite(
    db: str | os.PathLike, name: str | None = None, *, max_runs: int | None = None, max_rows: int | None = None
) -> int:
    """The number of runs of the SQLite store ``db`` (the private copy), or a refusal past the limits
    (default :data:`MAX_RUNS`, :data:`MAX_ROWS`). Counting uses SQLite's own ``count(*)`` (no row is
    read into Python)."""
    label = name or Path(db).name
    max_runs = MAX_RUNS if max_runs is None else max_runs
    max_rows = MAX_ROWS if max_rows is None else max_rows
    try:
        con = sqlite3.connect(f"file:{Path(db).as_posix()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise SubmissionError(f"{label} cannot be opened as a database: {exc}") from None
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        runs = con.execute("SELECT count(*) FROM runs").fetchone()[0] if "runs" in tables else 0
        if runs > max_runs:
            raise _refused(label, runs, max_runs, "runs")
        rows = sum(
            con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - names fixed below
            for table in ("params", "tags", "latest_metrics")
            if table in tables
        )
        if rows > max_rows:
            raise _refused(label, rows, max_rows, "rows of params, tags and metrics")
        return runs
    except sqlite3.DatabaseError as exc:
        raise SubmissionError(f"{label} is a damaged SQLite database: {exc}") from None
    finally:
        con.close()


def check_file_store(store: str | os.PathLike, name: str = "the store", *, max_runs: int | None = None) -> int:
    """The number of run folders in the file store ``store`` (``mlruns/``: every folder inside an
    experiment folder but its ``models/``), or a refusal past :data:`MAX_RUNS`. Only listings."""
    max_runs = MAX_RUNS if max_runs is None else max_runs
    runs = 0
    for parent in (Path(store), Path(store) / ".trash"):
        try:
            experiments = [
                e for e in os.scandir(parent) if e.is_dir(follow_symlinks=False) and e.name not in ("models", ".trash")
            ]
        except OSError:
            continue
        for exp in experiments:
            try:
                runs += sum(1 for e in os.scandir(exp.path) if e.is_dir(follow_symlinks=False) and e.name != "models")
            except OSError:
                continue
            if runs > max_runs:
                raise _refused(name, runs, max_runs, "run folders")
    return runs


def _yaml_bomb(path: Path) -> str | None:
    """Why ``path`` is refused as an alias bomb, or None (a file without ``*`` is not parsed)."""
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"*" not in data:
        return None
    try:
        yamlio.expanded_size(data.decode("utf-8", "replace"))
    except yamlio.YAMLBombError as exc:
        return str(exc)
    except (yamlio.YAMLError, RecursionError):
        return None  # merely broken: MLflow and the checks say so
    return None


def refuse_yaml_bombs(root: str | os.PathLike, shown: Path | None = None) -> list[str]:
    """Find alias bombs among the ``meta.yaml``/``MLmodel`` files under ``root`` (a private copy: this
    renames files in it); return one note per file refused. ``shown``: paths in the notes are
    relative to it (default ``root``)."""
    root = Path(root)
    shown = shown or root
    notes = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
        for name in files:
            if name not in YAML_NAMES:
                continue
            path = Path(folder) / name
            why = _yaml_bomb(path)
            if why is None:
                continue
            try:
                rel = path.relative_to(shown).as_posix()
            except ValueError:
                rel = path.name
            if name == "meta.yaml":
                os.replace(path, path.with_name("meta.yaml.refused"))
                notes.append(f"{rel} {why}; read as missing")
            else:
                notes.append(f"{rel} {why}")
    return notes


def check_snapshot(snap) -> list[str]:
    """All the limits on a :class:`~.snapshot.Snapshot` (raises :class:`SubmissionError`; returns
    notes for the report). Anything else (a tracking server's source) is left alone."""
    kind = getattr(snap, "kind", None)
    store = getattr(snap, "store", None)
    if kind not in ("file", "sqlite") or store is None:
        return []
    if kind == "sqlite":
        check_sqlite(store)
    else:
        check_file_store(store, Path(store).name)
    return refuse_yaml_bombs(snap.root, Path(store).parent if kind == "file" else snap.root)


__all__ = ["MAX_ROWS", "MAX_RUNS", "check_file_store", "check_snapshot", "check_sqlite", "refuse_yaml_bombs"]

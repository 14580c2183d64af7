"""Cheap facts about a submission that copy detection compares across a class.

Computed by :func:`grader.api.grade` from the private snapshot before it is removed and kept in
:attr:`grader.result.Result.fingerprints` (not part of the JSON report). Two kinds:

* ``run_ids``: every run id of the store: of every experiment, active, deleted or in ``.trash``,
  not only the graded one (a classmate's copy with the experiment renamed still shares them all).
  Run ids are random UUIDs: two independent stores never share one.
* ``models``: one entry per model file (``model.pkl``, ``model.skops``...) of the store: of the
  graded experiment's runs, of every registered model's versions, and of any other ``MLmodel``
  folder in the copy (runs and LoggedModels of other experiments), with a content digest. Files
  up to :data:`FULL_HASH_BYTES` get a plain ``sha256:``; larger ones a ``sha256-sampled:`` digest
  over their size, first and last MiB and 16 evenly spaced 64 KiB blocks (hashing a 240 MiB forest
  in full costs about 0.35 s; the sample about 5 ms, and two different pickles never agree on it in
  practice).

A tracking server or a PostgreSQL store may be shared by a whole class, and so may one local store
graded with ``--students`` (``hide_experiments``): there only the graded experiment and the
registry the reader kept are fingerprinted, never the whole store. The store-wide scan reads the
copy itself (folder names, the ``runs`` table), not MLflow: about 1 to 3 ms for a 13-run store.

Identical model bytes are weaker evidence than shared run ids: training with the same data, seed
and hyper-parameters under the same library versions gives byte-identical pickles.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

FULL_HASH_BYTES = 4 * 1024**2  # the sample reads 3 MiB: above this, sampling is cheaper
EDGE = 1024**2
BLOCK = 64 * 1024
BLOCKS = 16


def file_digest(path: Path) -> tuple[str, int] | None:
    """``(digest, size)`` of a regular file (symlinks are never followed), None if unreadable."""
    try:
        with open(path, "rb", opener=lambda p, flags: os.open(p, flags | os.O_NOFOLLOW)) as fh:
            size = os.fstat(fh.fileno()).st_size
            h = hashlib.sha256()
            if size <= FULL_HASH_BYTES:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
                return f"sha256:{h.hexdigest()}", size
            h.update(f"{size}\0".encode())
            offsets = (
                [0] + [EDGE + i * (size - 2 * EDGE - BLOCK) // (BLOCKS - 1) for i in range(BLOCKS)] + [size - EDGE]
            )
            for offset in offsets:
                fh.seek(offset)
                h.update(fh.read(EDGE if offset in (0, size - EDGE) else BLOCK))
            return f"sha256-sampled:{h.hexdigest()}", size
    except OSError:
        return None


#: Where a store-wide scan looks for ``MLmodel`` folders: at most this deep under the snapshot root
#: (``store/mlruns/<exp>/<run>/artifacts/model`` is 6 levels; nested model folders a few more).
SCAN_DEPTH = 12
#: A run's folder in a file store is named by its id, a uuid4 in hex (other folders of an
#: experiment, ``models/``, ``datasets/``, ``tags/``, ``traces/``, are not runs).
RUN_ID = re.compile(r"[0-9a-f]{32}")


def store_run_ids(snap: Any) -> set[str]:
    """Every run id a local store's copy holds, in every experiment (active, deleted, ``.trash``);
    empty for other sources. Read from the copy's layout or database, not through MLflow."""
    kind, store = getattr(snap, "kind", ""), getattr(snap, "store", None)
    if store is None:
        return set()
    store = Path(store)
    ids: set[str] = set()
    if kind == "sqlite":
        try:
            con = sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True)
            try:
                ids = {str(row[0]) for row in con.execute("SELECT run_uuid FROM runs")}
            finally:
                con.close()
        except sqlite3.Error:
            return set()
    elif kind == "file":
        for parent in (store, store / ".trash"):
            for experiment in _dirs(parent):
                if experiment.name in ("models", ".trash"):
                    continue
                ids |= {
                    run.name
                    for run in _dirs(experiment)
                    if RUN_ID.fullmatch(run.name) and (run / "meta.yaml").is_file()
                }
    return ids


def _dirs(folder: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _store_models(snap: Any, known: set[str]) -> list[Any]:
    """Every ``MLmodel`` folder in a local store's copy (and its ``mlartifacts/``) but the ``known``
    ones (paths relative to the snapshot root), described."""
    from .evidence.artifacts import describe_model, find_mlmodels

    root = Path(snap.root)
    folders = [f for top in _dirs(root) if top.name != "notebooks" for f in find_mlmodels(top, root, SCAN_DEPTH)]
    return [describe_model(folder, root, "store") for folder in folders if os.path.relpath(folder, root) not in known]


def collect_fingerprints(evidence: Any, snapshot_root: Path, snap: Any = None, digest_of=None) -> dict[str, Any]:
    """Run ids and model-file digests of ``evidence`` (a :class:`grader.evidence.model.Evidence`).

    ``digest_of(path)``: the :func:`file_digest` of a file of the copy (a snapshot's
    ``files.digest``, which reads a deferred file's original and remembers what it found); by
    default the file's own. ``snap``: the snapshot of a local store (file or SQLite): then every run
    id and every model file of the whole store count, not only the graded experiment's."""
    runs = [*evidence.runs, *evidence.deleted_runs]
    local = snap is not None and getattr(snap, "kind", "") in ("file", "sqlite")
    owners: dict[tuple[str, str], dict[str, list[str]]] = {}
    for run in runs:
        for model in run.models:
            if model.path and model.model_file:
                owners.setdefault((model.path, model.model_file), {"runs": [], "versions": []})["runs"].append(
                    run.run_id
                )
    for registered in evidence.registered_models:
        for version in registered.versions:
            model = version.model
            if model is not None and model.path and model.model_file:
                entry = owners.setdefault((model.path, model.model_file), {"runs": [], "versions": []})
                entry["versions"].append(f"{version.name} v{version.version}")
    if local:
        for model in _store_models(snap, {path for path, _ in owners}):
            if model.model_file:
                owners.setdefault((model.path, model.model_file), {"runs": [], "versions": []})
    models = []
    for (path, name), owner in sorted(owners.items()):
        file = Path(snapshot_root) / path / name
        found = (digest_of or file_digest)(file)
        if found is None:
            continue
        digest, size = found
        models.append(
            {
                "digest": digest,
                "size": size,
                "file": name,
                "path": path,
                "runs": sorted(set(owner["runs"])),
                "versions": owner["versions"],
            }
        )
    run_ids = {r.run_id for r in runs} | (store_run_ids(snap) if local else set())
    return {"run_ids": sorted(run_ids), "models": models}

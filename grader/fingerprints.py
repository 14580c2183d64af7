"""Cheap facts about a submission that copy detection compares across a class.

Computed by :func:`grader.api.grade` from the private snapshot before it is removed and kept in
:attr:`grader.result.Result.fingerprints` (not part of the JSON report). Two kinds:

* ``run_ids``: every run id of the graded experiment (active and deleted). Run ids are random
  UUIDs: two independent stores never share one.
* ``models``: one entry per model file (``model.pkl``, ``model.skops``...) of the experiment's runs
  and of the registered versions, with a content digest. Files up to :data:`FULL_HASH_BYTES` get a
  plain ``sha256:``; larger ones a ``sha256-sampled:`` digest over their size, first and last MiB
  and 16 evenly spaced 64 KiB blocks (hashing a 240 MiB forest in full costs about 0.35 s; the
  sample about 5 ms, and two different pickles never agree on it in practice).

Identical model bytes are weaker evidence than shared run ids: training with the same data, seed
and hyper-parameters under the same library versions gives byte-identical pickles.
"""

from __future__ import annotations

import hashlib
import os
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
            offsets = [0] + [EDGE + i * (size - 2 * EDGE - BLOCK) // (BLOCKS - 1) for i in range(BLOCKS)] + [size - EDGE]
            for offset in offsets:
                fh.seek(offset)
                h.update(fh.read(EDGE if offset in (0, size - EDGE) else BLOCK))
            return f"sha256-sampled:{h.hexdigest()}", size
    except OSError:
        return None


def collect_fingerprints(evidence: Any, snapshot_root: Path, content=None) -> dict[str, Any]:
    """Run ids and model-file digests of ``evidence`` (a :class:`grader.evidence.model.Evidence`).

    ``content(path)`` says where a file's bytes are (a snapshot's ``files.content``); by default
    the file itself."""
    runs = [*evidence.runs, *evidence.deleted_runs]
    owners: dict[tuple[str, str], dict[str, list[str]]] = {}
    for run in runs:
        for model in run.models:
            if model.path and model.model_file:
                owners.setdefault((model.path, model.model_file), {"runs": [], "versions": []})["runs"].append(run.run_id)
    for registered in evidence.registered_models:
        for version in registered.versions:
            model = version.model
            if model is not None and model.path and model.model_file:
                entry = owners.setdefault((model.path, model.model_file), {"runs": [], "versions": []})
                entry["versions"].append(f"{version.name} v{version.version}")
    models = []
    for (path, name), owner in sorted(owners.items()):
        file = Path(snapshot_root) / path / name
        found = file_digest(content(file) if content is not None else file)
        if found is None:
            continue
        digest, size = found
        models.append({"digest": digest, "size": size, "file": name, "path": path,
                       "runs": sorted(set(owner["runs"])), "versions": owner["versions"]})
    return {"run_ids": sorted({r.run_id for r in runs}), "models": models}

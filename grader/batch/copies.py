"""Copy detection across a class (run ids and model files shared between stores)."""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

from .model import CopyPair, CopyReport, StudentRow


def detect_copies(rows: list[StudentRow]) -> CopyReport:
    """Pairs of students that share run ids or identical model files.

    Run ids are random UUIDs: sharing one means the stores come from the same place (a pair with a
    shared run id is "strong" and goes to ``suspected_copy_of``). Identical model files are weaker
    evidence: the same data, seed and hyper-parameters under the same library versions give
    byte-identical pickles. Measured: two independent runs of the reference solution (same seed)
    share 12 of their 13 model files, and the committed MLflow 2.22 file and SQLite stores all 13.
    So a pair with identical model files only is "weaker" and goes to ``same_models_as``, never to
    ``suspected_copy_of``; and a model file found in many submissions, at least
    ``max(3, 10% of the graded students)``, is taken as the assignment's common outcome and listed
    apart, not as evidence; the same for a run id found in more than half of them (and at least 3),
    e.g. a starter store the whole class received.
    """
    graded = [r for r in rows if r.fingerprints]
    n = len(graded)
    report = CopyReport(run_threshold=max(3, n // 2 + 1), model_threshold=max(3, math.ceil(0.1 * n)))
    run_owners: dict[str, list[str]] = {}
    model_owners: dict[str, dict[str, dict[str, Any]]] = {}  # digest -> student -> model entry
    for row in graded:
        for run_id in set(row.fingerprints.get("run_ids", [])):
            run_owners.setdefault(run_id, []).append(row.student)
        for model in row.fingerprints.get("models", []):
            model_owners.setdefault(model["digest"], {}).setdefault(row.student, model)
    pairs: dict[tuple[str, str], CopyPair] = {}
    for run_id, owners in sorted(run_owners.items()):
        if len(owners) < 2:
            continue
        if len(owners) >= report.run_threshold:
            report.common_run_ids[run_id] = len(owners)
            continue
        for a, b in combinations(sorted(owners), 2):
            pairs.setdefault((a, b), CopyPair(a, b)).run_ids.append(run_id)
    for digest, holders in sorted(model_owners.items()):
        if len(holders) < 2:
            continue
        sample = next(iter(holders.values()))
        if len(holders) >= report.model_threshold:
            report.common_models.append(
                {"digest": digest, "file": sample["file"], "size": sample["size"], "students": len(holders)}
            )
            continue
        for a, b in combinations(sorted(holders), 2):
            pairs.setdefault((a, b), CopyPair(a, b)).models.append(
                {
                    "digest": digest,
                    "file": sample["file"],
                    "size": sample["size"],
                    "a_path": holders[a]["path"],
                    "b_path": holders[b]["path"],
                }
            )
    report.pairs = sorted(pairs.values(), key=lambda p: (p.a, p.b))
    by_student = {r.student: r for r in rows}
    for pair in report.pairs:
        for me, other in ((pair.a, pair.b), (pair.b, pair.a)):
            target = by_student[me].suspected_copy_of if pair.run_ids else by_student[me].same_models_as
            target.append(other)
            by_student[me].copy_evidence.append(f"{other}: {pair.describe()}")
    return report

"""The Python API: ``grade(path, rubric) -> Result``. The CLI is a thin layer over it.

Example::

    from grader import grade
    result = grade("submissions/ana", "homework-195", lang="en")
    print(result.score, "/", result.max_score)
    for check in result.checks:
        print(check.id, check.status, check.message)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from . import __version__
from .checks import evaluate
from .checks.registry import production_version
from .errors import SubmissionError
from .evidence.model import Evidence
from .evidence.reader import collect
from .probe import ProbeOptions, probe_model
from .result import Result, RunRow, SubmissionInfo
from .rubric import DEFAULT_RUBRIC, Rubric, load_rubric
from .submission import open_submission


def grade(
    submission: str | os.PathLike,
    rubric: str | os.PathLike | Rubric = DEFAULT_RUBRIC,
    *,
    lang: str = "es",
    probe: bool = True,
    probe_options: ProbeOptions | None = None,
    workdir: str | os.PathLike | None = None,
) -> Result:
    """Grade one submission (a folder, ``mlruns/``, ``mlflow.db``, or a ``file:``/``sqlite:`` URI).

    Never modifies the submission: it is copied into a private snapshot under ``workdir`` (the
    system temp dir by default), which is removed afterwards.

    Raises :class:`~grader.errors.SubmissionError` when the submission cannot be graded at all;
    every other problem ends up as a check in ``error`` or ``fail`` inside the result.
    """
    started = time.perf_counter()
    rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    settings = rubric.settings
    experiment = str(settings.get("experiment", "homework-195"))
    with open_submission(submission, experiment_hint=experiment, workdir=workdir) as snap:
        evidence = collect(snap, experiment, str(settings.get("model_name", "housing-best")), str(settings.get("metric", "rmse_test")))
        if probe and _wants_probe(rubric):
            evidence.probe = _probe(evidence, settings, snap.root, probe_options or ProbeOptions())
        checks = evaluate(evidence, rubric, lang)
        fingerprints = _fingerprints(evidence, snap.root)
        info = SubmissionInfo(
            input=str(submission),
            store=snap.kind,
            mlflow_layout=evidence.layout,
            tracking_uri_kind="sqlite" if snap.kind == "sqlite" else "file",
            notes=list(dict.fromkeys(evidence.notes)),
        )
    return Result(
        grader_version=__version__,
        rubric_id=rubric.id,
        rubric_title=rubric.text(rubric.title, lang),
        lang=lang,
        submission=info,
        checks=checks,
        runs=_run_rows(evidence, settings),
        experiment=experiment,
        duration_ms=(time.perf_counter() - started) * 1000,
        fingerprints=fingerprints,
    )


def _fingerprints(evidence: Evidence, snapshot_root: Path) -> dict:
    """Copy-detection facts, read from the snapshot while it exists (never fails a grade)."""
    from .fingerprints import collect_fingerprints

    try:
        return collect_fingerprints(evidence, snapshot_root)
    except Exception:  # noqa: BLE001 - a missing fingerprint only weakens copy detection
        return {}


def _wants_probe(rubric: Rubric) -> bool:
    return any(spec.id.startswith(("model.", "integrity.")) for spec in rubric.checks)


def _probe(evidence: Evidence, settings, snapshot_root: Path, options: ProbeOptions):
    if "registry" in evidence.errors:
        return None
    version = production_version(evidence, settings)
    if version is None:
        return None
    return probe_model(version.model, snapshot_root, options)


def _run_rows(evidence: Evidence, settings) -> list[RunRow]:
    from .checks.runs import counted_runs

    version = production_version(evidence, settings) if "registry" not in evidence.errors else None
    counted = {r.run_id for r in counted_runs(evidence, settings)}
    rows = []
    for i, run in enumerate(evidence.runs):
        rows.append(
            RunRow(
                run_id=run.run_id,
                run_name=run.run_name,
                status=run.status,
                start_time=run.start_time,
                params=run.params,
                metrics=run.metrics,
                tags={k: v for k, v in run.tags.items() if not k.startswith("mlflow.")},
                has_model=run.has_model,
                counted=run.run_id in counted,
                is_best=i == 0,
                is_production=version is not None and version.run_id == run.run_id,
            )
        )
    return rows


__all__ = ["grade", "SubmissionError"]

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
from dataclasses import replace
from datetime import date, datetime

from . import __version__
from .checks import REGISTRY, check_settings, checks_by_evidence, evaluate
from .deadline import apply_late_policy, parse_deadline
from .errors import GraderError, SubmissionError
from .evidence.model import Evidence
from .evidence.remote import collect_source
from .evidence.selections import production_version
from .names import with_names
from .probe import ProbeOptions, probe_model
from .result import Result, RunRow, SubmissionInfo
from .rubric import DEFAULT_RUBRIC, LANGS, Rubric, load_rubric
from .sources import open_source, redact
from .sources.base import Opened
from .submission.limits import check_snapshot
from .submission.snapshot import Snapshot


def grade(
    submission: str | os.PathLike,
    rubric: str | os.PathLike | Rubric = DEFAULT_RUBRIC,
    *,
    lang: str = "es",
    probe: bool = True,
    probe_options: ProbeOptions | None = None,
    workdir: str | os.PathLike | None = None,
    deadline: str | datetime | date | None = None,
    experiment: str | None = None,
    model_name: str | None = None,
    artifacts: str | os.PathLike | None = None,
    store: str | os.PathLike | None = None,
    opened: Opened | None = None,
) -> Result:
    """Grade one submission (a folder, ``mlruns/``, ``mlflow.db``, or a ``file:``/``sqlite:`` URI).

    Never modifies the submission: it is copied into a private snapshot under ``workdir`` (the
    system temp dir by default), which is removed afterwards.

    Raises :class:`~grader.errors.SubmissionError` when the submission cannot be graded at all;
    every other problem ends up as a check in ``error`` or ``fail`` inside the result.

    ``deadline`` (ISO text such as ``"2026-06-30T23:59"``, a date, or a datetime; see
    :mod:`grader.deadline`) makes ``integrity.timeline`` flag runs and registry changes after it,
    and the rubric's late policy (``late:``) take points off the score (``Result.late`` says how
    many and why; the rubric's ``late.after`` is the deadline when none is given here).

    ``submission`` may also be a tracking server (``http(s)://``, read-only over its REST API) or a
    PostgreSQL backend store (``postgresql://``, read-only; its artifacts from ``artifacts``, a
    folder); see :mod:`grader.submission.remote`. ``experiment``/``model_name`` override the
    rubric's names (a shared server gives each student their own).

    A folder holding several stores is graded on the one that holds the rubric's experiment (the
    one with most runs in it; else the one with most runs): the report says which, and lists the
    others. ``store`` (a path inside the submission) picks one instead.

    ``opened``: what :func:`~grader.sources.open_source` already opened for ``submission`` with this
    rubric's experiment as hint (a batch takes its students' snapshots ahead, see
    :mod:`grader.batch.ahead`): graded instead of opening it again, and closed here.

    A check whose own settings name another ``experiment``/``model_name`` (or ``metric``/``order``)
    is evaluated on the evidence of those names, read from the same snapshot (once per distinct
    names, the model probed only for a key one of its checks needs it for: see
    :func:`grader.checks.checks_by_evidence`); the runs table, notes and fingerprints are the
    rubric-wide experiment's.
    """
    started = time.perf_counter()
    try:
        if lang not in LANGS:
            raise GraderError(f"unknown language {lang!r} (use one of: {', '.join(LANGS)})")
        try:
            deadline_ms = parse_deadline(deadline) if deadline is not None else None
        except ValueError as exc:
            raise GraderError(f"bad deadline: {exc}") from None
        rubric = rubric if isinstance(rubric, Rubric) else load_rubric(os.fspath(rubric))
        rubric = with_names(rubric, experiment=experiment, model_name=model_name)
        if deadline_ms is None and rubric.late is not None and rubric.late.after:
            deadline_ms = parse_deadline(rubric.late.after)  # the rubric's deadline: integrity.timeline flags it too
    except BaseException:
        if opened is not None:
            opened.close()
        raise
    settings = rubric.settings
    experiment = rubric.experiment
    if opened is None:
        opened = open_source(submission, experiment_hint=experiment, workdir=workdir, artifacts=artifacts, store=store)
    with opened as snap:
        # Before MLflow reads the copy: bounded runs/rows, no YAML alias bomb (see submission.limits).
        limit_notes = check_snapshot(snap)
        if limit_notes:
            snap.notes.extend(limit_notes)
        # One Evidence per experiment/model the checks name (checks_by_evidence), read from the one
        # snapshot; the rubric-wide one (the first) is what the reports, runs table and fingerprints use.
        graded_at_ms = int(time.time() * 1000)
        evidences: dict[tuple[str, ...], Evidence] = {}
        for key, specs in checks_by_evidence(rubric).items():
            main = not evidences
            # A check of another key selects its version with its own settings (stage, accept_alias).
            key_settings = settings if main or not specs else check_settings(rubric, specs[0])
            # The probe runs for the checks that declare needs=("probe", ...): loading a model costs.
            probing = probe and any("probe" in REGISTRY[spec.id].needs for spec in specs)
            ev = collect_source(snap, key[0], key[1], key[2], settings=key_settings, fetch=probing, order=key[3])
            ev.deadline_ms, ev.graded_at_ms = deadline_ms, graded_at_ms
            if probing:
                # The whole test split only when a check uses its metrics (the 5 rows are a slice of it).
                predict = next((spec for spec in specs if spec.id == "model.predict"), None)
                options = replace(
                    probe_options or ProbeOptions(),
                    whole_split=any("test_split" in REGISTRY[spec.id].needs for spec in specs),
                    task=rubric.task,
                    rows=check_settings(rubric, predict).get("rows", rubric.task.rows) if predict else rubric.task.rows,
                )
                ev.probe = _probe(ev, key_settings, snap, options)
            evidences[key] = ev
        evidence = next(iter(evidences.values()))
        checks = evaluate(evidence, rubric, lang, others=evidences)
        late, late_notes = apply_late_policy(rubric.late, evidence, checks, deadline_ms, lang)
        # A class sharing one store (grade URI --students) must not fingerprint each other's experiments.
        fingerprints = _fingerprints(evidence, snap, whole_store=not settings.get("hide_experiments"))
        info = SubmissionInfo(
            input=redact(os.fspath(submission)),
            store=snap.kind,
            mlflow_layout=evidence.layout,
            notes=list(
                dict.fromkeys(
                    [
                        *_notices(snap, lang, experiment),
                        *(note for ev in evidences.values() for note in _translated(ev.notes, lang)),
                        *late_notes,
                    ]
                )
            ),
            mlflow_version=_written_by(evidence, settings),
            schema_revision=snap.schema_revision,
            stores=_stores_seen(snap),
        )
    return Result(
        grader_version=__version__,
        rubric_id=rubric.id,
        rubric_title=rubric.text(rubric.title, lang),
        lang=lang,
        submission=info,
        checks=checks,
        runs=_run_rows(evidence, rubric),
        experiment=experiment,
        metric=str(settings.get("metric", "rmse_test")),
        order=str(settings.get("order", "ASC")),
        duration_ms=(time.perf_counter() - started) * 1000,
        fingerprints=fingerprints,
        late=late,
    )


def _translated(notes: list[str], lang: str) -> list[str]:
    """Notes that the store's readers write in English, in ``lang`` when the catalogue knows them."""
    from .catalogue import translate

    return [translate(note, lang) for note in notes]


def _notices(snap, lang: str, experiment: str) -> list[str]:
    """The snapshot's notes in the catalogue's words, in ``lang``: which store was graded among
    several, partial hand-ins."""
    from .catalogue import text

    notes = [text(key, lang, **params) for key, params in getattr(snap, "notices", ())]
    located = snap.located if isinstance(snap, Snapshot) else None  # a server or a database has no others
    stores = located.stores if located is not None else []
    if located is not None and len(stores) > 1 and located.chosen_by:
        graded = stores[0]
        why = text(
            f"store.why.{located.chosen_by}",
            lang,
            experiment=experiment,
            runs=graded.runs_in(experiment) if located.chosen_by == "experiment" else graded.runs,
        )
        others = [
            text(
                "store.summary",
                lang,
                path=_store_path(other.path, located.base),
                experiments=", ".join(
                    text("store.experiment_runs", lang, name=n, runs=r) for n, r in other.experiments.items()
                )
                or text("store.no_runs", lang),
            )
            for other in stores[1:]
        ]
        notes.insert(
            0,
            text(
                "store.graded",
                lang,
                n=len(stores),
                graded=_store_path(graded.path, located.base),
                why=why,
                others="; ".join(others),
            ),
        )
    return notes


def _store_path(path, base) -> str:
    try:
        return str(path.relative_to(base)) or "."
    except ValueError:
        return path.name


def _stores_seen(snap) -> list[dict]:
    if not isinstance(snap, Snapshot):
        return []
    located = snap.located
    return [
        {
            "path": _store_path(st.path, located.base),
            "kind": st.kind,
            "experiments": dict(st.experiments),
            "graded": i == 0,
        }
        for i, st in enumerate(located.stores)
    ]


def _written_by(evidence: Evidence, settings) -> str:
    """The MLflow version that wrote the store, from its models' ``MLmodel`` (the Production
    model's first, else the most common among the runs' models); "" when none says."""
    from collections import Counter

    version = production_version(evidence, settings) if "registry" not in evidence.errors else None
    if version is not None and version.model is not None and version.model.mlflow_version:
        return version.model.mlflow_version
    counts = Counter(m.mlflow_version for r in evidence.runs for m in r.models if m.mlflow_version)
    return counts.most_common(1)[0][0] if counts else ""


def _fingerprints(evidence: Evidence, snap, whole_store: bool = True) -> dict:
    """Copy-detection facts, read from the snapshot while it exists (never fails a grade): of the
    whole store (every experiment and registered model) unless ``whole_store`` is False."""
    from .fingerprints import collect_fingerprints

    try:
        return collect_fingerprints(
            evidence, snap.root, snap=snap if whole_store else None, digest_of=snap.files.digest
        )
    except Exception:  # noqa: BLE001 - a missing fingerprint only weakens copy detection
        return {}


def _probe(evidence: Evidence, settings, snap, options: ProbeOptions):
    """Probe the version graded as Production: the stage's, or with ``accept_alias: true`` in the
    rubric's settings the version ``@production``/``@champion`` points at (see production_version)."""
    if "registry" in evidence.errors:
        return None
    version = production_version(evidence, settings)
    if version is None:
        return None
    model = version.model
    accepted = options.task.flavors
    if model is not None and model.ok and model.flavors:
        from .evidence.model import ProbeEv

        # A model whose only flavour is python_function is a custom PythonModel: "pyfunc" in task.flavors.
        own = [f for f in model.flavors if f != "python_function"] or ["pyfunc"]
        if not set(own) & set(accepted):
            return ProbeEv(
                ok=False,
                error_kind="refused",
                model_path=model.path,
                error=f"refused: this homework accepts {' or '.join(accepted)} models (the rubric's task.flavors); "
                f"the graded model is a {', '.join(own)} model",
            )
        if own == ["pyfunc"] and not options.trust_pickles:  # its loader runs the student's own code
            return ProbeEv(
                ok=False,
                error_kind="unsupported",
                model_path=model.path,
                error="not loaded: the model is a custom PythonModel (pyfunc), whose loading runs its own code; "
                "the instructor grades such models with --trust-pickles, which runs it in the sandbox",
            )
    return probe_model(model, snap.root, options, files=snap.files)


def _check_setting(rubric: Rubric, check_id: str, name: str, default):
    """A check's setting as the check gets it (:func:`grader.checks.check_settings`), or ``default``
    when the rubric has no such check."""
    from .checks import check_settings

    spec = next((c for c in rubric.checks if c.id == check_id), None)
    return default if spec is None else check_settings(rubric, spec).get(name, default)


def _run_rows(evidence: Evidence, rubric: Rubric) -> list[RunRow]:
    from .evidence.selections import counted_runs

    settings = rubric.settings
    version = production_version(evidence, settings) if "registry" not in evidence.errors else None
    # The runs table counts the runs runs.count counts, with that check's own settings.
    statuses = _check_setting(rubric, "runs.count", "count_statuses", ["FINISHED"])
    counted = {r.run_id for r in counted_runs(evidence, {**settings, "count_statuses": statuses})}
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


__all__ = ["SubmissionError", "grade"]

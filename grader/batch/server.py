"""A whole class on one tracking server:
``grade URI --experiment 'homework-195-{student}' --students ana,beto --out OUT``.

Each student has their own experiment (and, usually, their own registered model:
``--model-name 'housing-best-{student}'``) on one shared server (or in one PostgreSQL store, or in
one store folder). Every student is graded in turn with the names the patterns give, read-only, and
the output is the folder batch's (:mod:`grader.batch`): ``OUT/students/<id>/report.json|html``,
``OUT/gradebook.csv`` and ``OUT/summary.html``, written the same way (a staging folder moved into
place at the end; a re-run replaces the previous batch's output).

Students are graded ``jobs`` at once (``grade URI --students ... -j N``; default 1: one after the
other, in this process). With ``jobs`` > 1 they are shared among ``jobs`` worker processes forked
from a warm fork server (MLflow imported once, as for a class of folders), each grading in its only
thread, so the model probe is still forked rather than spawned (threads would spawn it: 2 to 3 s
more per student). Each student's source opens its own credentials and hands them to MLflow
(:mod:`grader.sources`); nothing secret goes through the environment. Measured on 2 cores with the
server on the same machine, 16 students with the probe: 10.9 to 16.3 s one at a time, 8.6 to 12.5 s
with ``jobs=2``, 8.8 to 10.3 s with ``jobs=3``; a server across a network gains more. Rows, reports and the
gradebook are the same, in the same order, as one at a time; ``progress`` is called as students
finish. The source is checked once before the first student: a server that is down stops the
batch (exit 2) instead of giving every student an error row.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import lms
from ..errors import SubmissionError
from ..names import STUDENT_FIELD, for_student, hiding_classmates, with_names
from ..rubric import Rubric
from .copies import detect_copies
from .discovery import safe_slug
from .model import STAGING_PREFIX, BatchError, BatchResult, Entry, ProgressCallback, StudentRow
from .options import BatchOptions, batch_options
from .output import prepare_out, remove_tree
from .pool import run_pool
from .rows import error_row, graded_row
from .run import finish_batch, write_error_reports

MAX_STUDENTS = 5000


def read_students(students: str | None = None, students_file: str | os.PathLike | None = None) -> list[str]:
    """Student ids from ``ana,beto`` and/or a file (one per line; ``#`` comments; the first
    comma-separated field of a CSV line), in order, without duplicates."""
    ids: list[str] = []
    if students:
        ids += [s.strip() for s in students.split(",")]
    if students_file:
        try:
            text = Path(students_file).expanduser().read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise BatchError(f"cannot read --students-file {students_file}: {exc.strerror or exc}") from None
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                ids.append(line.split(",", 1)[0].strip().strip('"'))
    ids = list(dict.fromkeys(s for s in ids if s))
    if not ids:
        raise BatchError("no student ids in --students / --students-file")
    if len(ids) > MAX_STUDENTS:
        raise BatchError(f"more than {MAX_STUDENTS} students")
    bad = [s for s in ids if any(c.isspace() or not c.isprintable() for c in s) or len(s) > 100]
    if bad:
        raise BatchError(f"student ids must be printable without spaces (at most 100 characters): {bad[0]!r}")
    return ids


def _entries(ids: list[str], shown: str) -> list[Entry]:
    entries, taken = [], set()
    for sid in ids:
        slug, n = safe_slug(sid), 1
        while slug.casefold() in taken:
            n += 1
            slug = f"{safe_slug(sid)}-{n}"
        taken.add(slug.casefold())
        entries.append(Entry(sid, sid, shown, slug))  # type: ignore[arg-type]  # the "path" is the source shown
    return entries


def grade_class(
    source: str,
    out_dir: str | os.PathLike,
    students: list[str],
    *,
    experiment: str | None,
    model_name: str | None = None,
    artifacts: str | os.PathLike | None = None,
    options: BatchOptions | None = None,
    rubric: str | os.PathLike | Rubric | None = None,
    lang: str | None = None,
    probe: bool | None = None,
    probe_options=None,
    progress: ProgressCallback | None = None,
    deadline=None,
    jobs: int | None = None,
    student_timeout: float | None = None,
    gradebook: lms.GradebookOptions | None = None,
) -> BatchResult:
    """Grade each student's experiment (``experiment`` and ``model_name`` with ``{student}``) in ``source``,
    ``jobs`` students at once (each in its own warm process when more than one; default 1).

    ``options``: the :class:`~grader.batch.options.BatchOptions` a folder batch takes too; each
    keyword argument given (not None) overrides its field of the same name."""
    from ..sources import kind_of, open_source, redact

    opts = batch_options(
        options,
        rubric=rubric,
        lang=lang,
        probe=probe,
        probe_options=probe_options,
        progress=progress,
        deadline=deadline,
        jobs=jobs,
        student_timeout=student_timeout,
        gradebook=gradebook,
    )
    patterns = [p for p in (experiment, model_name) if p]
    if not any(STUDENT_FIELD in p for p in patterns):
        raise BatchError(
            f"--students needs --experiment (and/or --model-name) with {STUDENT_FIELD}, "
            "e.g. --experiment 'homework-195-{student}'"
        )
    started = time.perf_counter()
    opts = opts.resolved()
    loaded = opts.loaded_rubric
    shown = redact(os.fspath(source))
    out = Path(out_dir).expanduser().absolute()
    try:  # the source once, before any student: a server that is down stops the batch
        open_source(source, experiment_hint=None, artifacts=None).close()
    except SubmissionError as exc:
        raise BatchError(str(exc)) from None
    entries = _entries(students, shown)
    jobs = max(1, min(int(opts.jobs or 1), len(entries)))
    previous = prepare_out(out)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
    scratch = Path(tempfile.mkdtemp(prefix="mlflow-grader-class-", dir=opts.scratch_dir))
    try:
        tasks = []
        for i, entry in enumerate(entries):
            workdir = scratch / f"{i:05d}"
            workdir.mkdir()
            tasks.append(
                _Task(
                    entry,
                    source,
                    hiding_classmates(
                        with_names(
                            loaded,
                            experiment=for_student(experiment, entry.student),
                            model_name=for_student(model_name, entry.student),
                        ),
                        experiment,
                    ),
                    staging / "students" / entry.slug,
                    workdir,
                    opts.lang,
                    opts.probe,
                    opts.probe_options,
                    artifacts,
                    opts.deadline,
                )
            )
        done: list[StudentRow] = []

        def finished(row: StudentRow) -> None:
            done.append(row)
            if opts.progress is not None:
                opts.progress(len(done), len(entries), sum(r.status != "pass" for r in done), row)

        if jobs == 1:
            rows = []
            for task in tasks:
                rows.append(grade_student(task))
                finished(rows[-1])
        else:
            rows = _in_processes(tasks, jobs, opts.timeout, finished, sql=kind_of(os.fspath(source)).name != "server")
        copies = detect_copies(rows)
        where = f"{shown} · {experiment or ''}" + (f" · {model_name}" if model_name else "")
        batch = BatchResult(
            where,
            out,
            loaded.id,
            [s.id for s in loaded.checks],
            rows,
            copies,
            [],
            time.perf_counter() - started,
            jobs,
            [s.id for s in loaded.checks if not s.required],
        )
        return finish_batch(batch, staging, previous, loaded, opts.lang, started, gradebook=opts.gradebook)
    finally:
        remove_tree(staging)
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass
class _Task:
    """One student of the class: everything :func:`grade_student` needs (picklable: it may run in
    another process)."""

    entry: Entry
    source: str
    rubric: Rubric  # the student's: their names, classmates hidden
    folder: Path  # where their reports go
    workdir: Path
    lang: str
    probe: bool
    probe_options: Any
    artifacts: str | os.PathLike | None
    deadline: Any


def grade_student(task: _Task) -> StudentRow:
    """Grade one student of the class and write their reports; a submission that cannot be graded
    is an error row (with both reports saying why)."""
    from ..api import grade
    from ..reports import render

    entry, t0 = task.entry, time.perf_counter()
    try:
        result = grade(
            task.source,
            task.rubric,
            lang=task.lang,
            probe=task.probe,
            probe_options=task.probe_options,
            workdir=task.workdir,
            artifacts=task.artifacts,
            deadline=task.deadline,
        )
    except SubmissionError as exc:
        write_error_reports(task.folder, entry, str(exc), task.rubric, task.lang)
        return error_row(entry, str(exc), task.rubric, time.perf_counter() - t0)
    task.folder.mkdir(parents=True, exist_ok=True)
    (task.folder / "report.json").write_text(render(result, "json"), encoding="utf-8")
    (task.folder / "report.html").write_text(render(result, "html"), encoding="utf-8")
    return graded_row(entry, result.to_dict(), time.perf_counter() - t0, result.fingerprints)


def grade_student_message(task: dict[str, Any]) -> dict[str, Any]:
    """:func:`grade_student` as the pool's work (:func:`grader.batch.pool.run_pool`, in a worker)."""
    return {"ok": True, "row": grade_student(task["task"])}


def _in_processes(
    tasks: list[_Task], jobs: int, timeout: float, finished: Callable[[StudentRow], None], sql: bool = True
) -> list[StudentRow]:
    """:func:`grade_student` over ``tasks`` in ``jobs`` warm worker processes: the folder batch's pool
    (:func:`grader.batch.pool.run_pool`: workers forked from a fork server that imported MLflow once,
    ``sql`` its SQL stores too, each grading one student after another in its only thread, so its
    model probes are forked; a student past ``timeout`` or whose worker died gets an error row).
    The rows come back in the order of ``tasks``; ``finished`` runs here as each student is done.
    Nothing secret crosses: each student's source opens its own credentials (:mod:`grader.sources`)."""
    rows: dict[str, StudentRow] = {}
    by_slug = {t.entry.slug: t for t in tasks}

    def done(job: dict[str, Any], message: dict[str, Any]) -> None:
        task = by_slug[job["slug"]]
        row = message.get("row") if message.get("ok") else None
        if not isinstance(row, StudentRow):
            error = str(message.get("error") or "?")
            write_error_reports(task.folder, task.entry, error, task.rubric, task.lang)
            row = error_row(task.entry, error, task.rubric, float(message.get("duration_s") or 0.0))
        rows[task.entry.slug] = row
        finished(row)

    jobs_ = [{"slug": t.entry.slug, "lang": t.lang, "workdir": str(t.workdir), "task": t} for t in tasks]
    run_pool(jobs_, jobs, timeout, done, sql=sql, work=grade_student_message)
    return [rows[t.entry.slug] for t in tasks]


__all__ = ["grade_class", "read_students"]

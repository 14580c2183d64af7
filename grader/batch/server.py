"""A whole class on one tracking server:
``grade URI --experiment 'homework-195-{student}' --students ana,beto --out OUT``.

Each student has their own experiment (and, usually, their own registered model:
``--model-name 'housing-best-{student}'``) on one shared server (or in one PostgreSQL store, or in
one store folder). Every student is graded in turn with the names the patterns give, read-only, and
the output is the folder batch's (:mod:`grader.batch`): ``OUT/students/<id>/report.json|html``,
``OUT/gradebook.csv`` and ``OUT/summary.html``, written the same way (a staging folder moved into
place at the end; a re-run replaces the previous batch's output).

Students are graded one after the other, in this process: the server is shared, and the grader's
own cost per student is small next to the model probe (which runs sandboxed as always). The server
is checked once before the first student: a server that is down stops the batch (exit 2) instead of
giving every student an error row.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import SubmissionError
from ..names import STUDENT_FIELD, for_student, hiding_classmates, with_names
from ..rubric import DEFAULT_RUBRIC, Rubric, load_rubric
from .copies import detect_copies
from .discovery import safe_slug
from .model import STAGING_PREFIX, BatchError, BatchResult, Entry, StudentRow
from .output import prepare_out, remove_tree
from .rows import graded_row
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
    rubric: str | os.PathLike | Rubric = DEFAULT_RUBRIC,
    lang: str = "es",
    probe: bool = True,
    probe_options=None,
    artifacts: str | os.PathLike | None = None,
    progress: Callable[[int, int, int, StudentRow], None] | None = None,
    deadline=None,
) -> BatchResult:
    """Grade each student's experiment (``experiment`` and ``model_name`` with ``{student}``) in ``source``."""
    from ..api import grade
    from ..reports import render
    from ..submission.remote import open_source, redact

    patterns = [p for p in (experiment, model_name) if p]
    if not any(STUDENT_FIELD in p for p in patterns):
        raise BatchError(
            f"--students needs --experiment (and/or --model-name) with {STUDENT_FIELD}, "
            "e.g. --experiment 'homework-195-{student}'"
        )
    started = time.perf_counter()
    rubric = rubric if isinstance(rubric, Rubric) else load_rubric(os.fspath(rubric))
    shown = redact(os.fspath(source))
    out = Path(out_dir).expanduser().absolute()
    try:  # the source once, before any student: a server that is down stops the batch
        open_source(source, experiment_hint=None, artifacts=None).close()
    except SubmissionError as exc:
        raise BatchError(str(exc)) from None
    entries = _entries(students, shown)
    previous = prepare_out(out)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
    scratch = Path(tempfile.mkdtemp(prefix="mlflow-grader-class-"))
    try:
        rows: list[StudentRow] = []
        failures = 0
        for entry in entries:
            exp, model = for_student(experiment, entry.student), for_student(model_name, entry.student)
            student_rubric = hiding_classmates(with_names(rubric, experiment=exp, model_name=model), experiment)
            folder = staging / "students" / entry.slug
            t0 = time.perf_counter()
            try:
                result = grade(
                    source,
                    student_rubric,
                    lang=lang,
                    probe=probe,
                    probe_options=probe_options,
                    workdir=scratch,
                    artifacts=artifacts,
                    deadline=deadline,
                )
            except SubmissionError as exc:
                row = StudentRow(
                    entry.student,
                    entry.name,
                    entry.slug,
                    "error",
                    0.0,
                    round(sum(s.points for s in rubric.checks), 4),
                    {s.id: ("error", 0.0) for s in rubric.checks},
                    error=str(exc),
                    duration_s=time.perf_counter() - t0,
                )
                write_error_reports(folder, entry, str(exc), student_rubric, lang)
            else:
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "report.json").write_text(render(result, "json"), encoding="utf-8")
                (folder / "report.html").write_text(render(result, "html"), encoding="utf-8")
                row = graded_row(entry, result.to_dict(), time.perf_counter() - t0, result.fingerprints)
            rows.append(row)
            failures += row.status != "pass"
            if progress is not None:
                progress(len(rows), len(entries), failures, row)
        copies = detect_copies(rows)
        where = f"{shown} · {experiment or ''}" + (f" · {model_name}" if model_name else "")
        batch = BatchResult(
            where,
            out,
            rubric.id,
            [s.id for s in rubric.checks],
            rows,
            copies,
            [],
            time.perf_counter() - started,
            1,
            [s.id for s in rubric.checks if not s.required],
        )
        return finish_batch(batch, staging, previous, rubric, lang, started)
    finally:
        remove_tree(staging)
        shutil.rmtree(scratch, ignore_errors=True)


__all__ = ["grade_class", "read_students"]

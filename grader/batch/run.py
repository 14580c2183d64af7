"""The entry point: :func:`grade_batch` (and the LMS layouts, gradebook formats and ``--only``)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

from .. import __version__, lms
from ..errors import GraderError
from ..reports import summary_page
from ..reports.safe import unicode
from ..reports.summary_page import render_summary
from ..rubric import Rubric
from ..submission.snapshot import scratch_root
from .ahead import Ahead
from .copies import detect_copies
from .discovery import discover
from .model import MARKER, STAGING_PREFIX, BatchError, BatchResult, Entry, ProgressCallback, StudentRow
from .options import BatchOptions, batch_options
from .output import prepare_out, publish, remove_tree
from .pool import default_jobs, may_use_database, run_pool
from .rows import error_result, gradebook_csv, row_from_message


def grade_batch(
    submissions_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    rubric: str | os.PathLike | Rubric | None = None,
    jobs: int | None = None,
    lang: str | None = None,
    probe_options=None,
    *,
    options: BatchOptions | None = None,
    probe: bool | None = None,
    progress: ProgressCallback | None = None,
    student_timeout: float | None = None,
    scratch_dir: str | os.PathLike | None = None,
    deadline=None,
    gradebook: lms.GradebookOptions | None = None,
    only: str | None = None,
) -> BatchResult:
    """Grade every submission in ``submissions_dir`` and write reports, ``gradebook.csv`` and
    ``summary.html`` into ``out_dir`` (see the module docstring for the layout).

    ``options``: a :class:`~grader.batch.options.BatchOptions` (what :func:`grader.batch.server.grade_class`
    takes too); each keyword argument given (not None) overrides its field of the same name: the
    rubric, ``jobs`` (default: the usable cores), ``lang``, the probe, ``progress(done, total,
    not_passed, row)`` called after each student, ``student_timeout``, ``scratch_dir``, ``deadline``
    (checked once here, before any student) and the ``gradebook`` format (native, Moodle's or
    Canvas's import format, with a roster). Raises :class:`BatchError` when the batch cannot run at
    all; a student that cannot be graded only gets an ``error`` row.
    ``submissions_dir`` may be one archive holding every student (an LMS's bulk download).
    ``only``: regrade that one student (their id
    or folder name) into the previous batch's ``out_dir``: only their reports and gradebook row change.

    Students are graded in processes started by :mod:`multiprocessing` (fork server): as with any
    use of it, a script that calls this function must do so under ``if __name__ == "__main__":``.
    """
    opts = batch_options(
        options,
        rubric=rubric,
        jobs=jobs,
        lang=lang,
        probe_options=probe_options,
        probe=probe,
        progress=progress,
        student_timeout=student_timeout,
        scratch_dir=scratch_dir,
        deadline=deadline,
        gradebook=gradebook,
    )
    started = time.perf_counter()
    submissions = Path(submissions_dir).expanduser()
    out = Path(out_dir).expanduser().absolute()
    if not submissions.is_dir() and not (submissions.is_file() and lms.is_archive_name(submissions.name)):
        raise BatchError(
            f"submissions folder not found: {submissions_dir}"
            if not submissions.exists()
            else f"--batch needs a folder of submissions or one archive of them, not: {submissions_dir}"
        )
    submissions = submissions.absolute()
    if out == submissions or out in submissions.parents:  # a re-run replaces out/students/...
        raise BatchError("--out must not be the submissions folder nor one of its parents")
    opts = opts.resolved()
    rubric, lang, progress = opts.loaded_rubric, opts.lang, opts.progress
    jobs = max(1, int(opts.jobs or default_jobs()))
    gradebook = opts.gradebook or lms.GradebookOptions()
    # jobs snapshots being graded, one being taken ahead (grader.batch.ahead; those it holds are small)
    scratch = Path(tempfile.mkdtemp(prefix="mlflow-grader-batch-", dir=opts.scratch_dir or scratch_root(jobs + 1)))
    staging = None
    try:
        entries, ignored = discover(_class_folder(submissions, scratch), out, scratch / "lms")
        if not entries:
            raise BatchError(f"no submissions in {submissions_dir}: expected one folder or archive per student")
        kept: list[StudentRow] = []
        if only is not None:  # regrade one student into the previous batch's results
            kept, gradebook, entries = _only(out, only, entries, rubric, gradebook)
        previous = prepare_out(out)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
        by_slug = {e.slug: e for e in entries}
        tasks = []
        for i, entry in enumerate(entries):
            workdir = scratch / f"{i:05d}"
            workdir.mkdir()
            tasks.append(
                {
                    "slug": entry.slug,
                    "path": str(entry.path),
                    "rubric": rubric,
                    "lang": lang,
                    "probe": opts.probe,
                    "deadline": opts.deadline,
                    "probe_options": opts.probe_options,
                    "workdir": str(workdir),
                    "report_dir": str(staging / "students" / entry.slug),
                    "experiment": rubric.experiment,
                }
            )
        rows: dict[str, StudentRow] = {}
        failures = 0

        def done(task: dict, message: dict) -> None:
            nonlocal failures
            entry = by_slug[task["slug"]]
            row = row_from_message(entry, message, rubric)
            row.lms_id = entry.lms_id
            if row.status == "error":
                write_error_reports(staging / "students" / entry.slug, entry, row.error, rubric, lang)
            rows[entry.slug] = row
            failures += row.status != "pass"
            if progress is not None:
                progress(len(rows), len(entries), failures, row)

        sql = any(may_use_database(e.path) for e in entries)
        run_pool(tasks, min(jobs, len(tasks)), opts.timeout, done, sql=sql, ahead=_ahead(tasks, opts))
        ordered = [rows[e.slug] for e in entries]
        if only is None:
            copies = detect_copies(ordered)
        else:  # the other students keep their rows (copy columns included) and their reports
            regraded = {r.slug for r in ordered}
            ordered = sorted(kept + ordered, key=lambda r: r.student)
            for row in kept:
                if (out / "students" / row.slug).is_dir():
                    shutil.copytree(out / "students" / row.slug, staging / "students" / row.slug)
            fresh = [replace(r, suspected_copy_of=[], same_models_as=[], copy_evidence=[]) for r in ordered]
            copies = detect_copies(fresh)  # the summary's pairs, over the whole class
            for row, new in zip(ordered, fresh, strict=True):
                if row.slug in regraded:
                    row.suspected_copy_of, row.same_models_as, row.copy_evidence = (
                        new.suspected_copy_of,
                        new.same_models_as,
                        new.copy_evidence,
                    )
        batch = BatchResult(
            submissions,
            out,
            rubric.id,
            [s.id for s in rubric.checks],
            ordered,
            copies,
            ignored,
            time.perf_counter() - started,
            jobs,
            [s.id for s in rubric.checks if not s.required],
        )
        return finish_batch(batch, staging, previous, rubric, lang, started, gradebook=gradebook)
    finally:
        if staging is not None:
            remove_tree(staging)
        shutil.rmtree(scratch, ignore_errors=True)


def finish_batch(
    batch: BatchResult,
    staging: Path,
    previous: bool,
    rubric: Rubric,
    lang: str,
    started: float,
    gradebook: lms.GradebookOptions | None = None,
) -> BatchResult:
    """Write the gradebook and the summary next to the students' reports, then publish the staging
    folder over ``batch.out_dir`` (what a previous batch wrote there is replaced)."""
    _write_gradebook(batch, staging, gradebook or lms.GradebookOptions(), lang)
    batch.duration_s = time.perf_counter() - started
    (staging / "summary.html").write_text(unicode(render_summary(batch, rubric, lang)), encoding="utf-8")
    publish(staging, batch.out_dir, previous)
    return batch


def _ahead(tasks: list[dict], opts: BatchOptions) -> Ahead | None:
    """The students' snapshots taken ahead (:mod:`grader.batch.ahead`), then the summary page's template."""
    return Ahead(tasks, then=summary_page.warm_up) if opts.snapshots_ahead else None


def write_error_reports(folder: Path, entry: Entry, reason: str, rubric: Rubric, lang: str) -> None:
    """A student who could not be graded still gets report.json and report.html saying why."""
    from ..reports import render

    result = error_result(entry, reason, rubric, lang)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(render(result, "json"), encoding="utf-8")
    (folder / "report.html").write_text(render(result, "html"), encoding="utf-8")


INDEX = ".mlflow-grader-rows.json"  # out/.mlflow-grader-rows.json: every row, for --only (not a report)


def _class_folder(submissions: Path, scratch: Path) -> Path:
    """The folder holding the class: ``submissions`` itself, or what one archive of it extracts to."""
    if submissions.is_dir():
        return submissions
    from ..submission.archive import extract_archive

    try:
        extracted = extract_archive(submissions, scratch)
    except GraderError as exc:
        raise BatchError(f"cannot open {submissions.name}: {exc}") from None
    return lms.class_root(extracted.root)


def _write_gradebook(batch: BatchResult, staging: Path, options: lms.GradebookOptions, lang: str = "en") -> None:
    """``gradebook.csv`` in the chosen format, and :data:`INDEX` (every row: what ``--only`` reads back)."""
    if options.format == "native":
        text = gradebook_csv(batch.rows, batch.check_ids, batch.extra_checks, lang)
    else:
        text = lms.render_gradebook(
            batch.rows, options.format, options.roster_rows(), options.column or batch.rubric_id, lang
        )
    (staging / "gradebook.csv").write_text(text, encoding="utf-8")
    rows = []
    for row in batch.rows:
        data = asdict(row)
        data.pop("detail", None)
        rows.append(data)
    index = {
        "tool": "mlflow-grader",
        "version": __version__,
        "rubric_id": batch.rubric_id,
        "check_ids": batch.check_ids,
        "gradebook": options.to_dict(),
        "rows": rows,
    }
    # ASCII JSON: a folder name with bytes that are not UTF-8 (lone surrogates) round-trips as \udcXX.
    (staging / INDEX).write_text(json.dumps(index, ensure_ascii=True, indent=1), encoding="utf-8")


def _only(
    out: Path, only: str, entries: list[Entry], rubric: Rubric, gradebook: lms.GradebookOptions
) -> tuple[list[StudentRow], lms.GradebookOptions, list[Entry]]:
    """For ``--only NAME``: the previous batch's other rows, the gradebook options (the previous
    batch's unless given), and the one entry to grade."""
    path = out / INDEX
    if not (out / MARKER).is_file() or not path.is_file():
        raise BatchError(
            f"--only regrades one student into a previous batch's results: {out} holds none "
            f"(run the whole batch into it first)"
        )
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BatchError(f"cannot read {path}: {exc}") from None
    if index.get("rubric_id") != rubric.id or index.get("check_ids") != [s.id for s in rubric.checks]:
        raise BatchError(f"--only needs the rubric of the previous batch ({index.get('rubric_id')}), not {rubric.id}")
    wanted = only.casefold()
    matches = [e for e in entries if wanted in (e.student.casefold(), e.slug.casefold(), e.name.casefold())]
    if len(matches) != 1:
        known = ", ".join(e.student for e in entries[:20])
        raise BatchError(
            f"--only {only!r}: {'no' if not matches else 'more than one'} such student in the "
            f"submissions (students: {known}{', ...' if len(entries) > 20 else ''})"
        )
    entry = matches[0]
    kept = []
    for data in index.get("rows", []):
        data = dict(data)
        data["checks"] = {k: (v[0], float(v[1])) for k, v in (data.get("checks") or {}).items()}
        row = StudentRow(**{k: v for k, v in data.items() if k in StudentRow.__dataclass_fields__})
        if row.slug != entry.slug:
            kept.append(row)
    if gradebook.format == "native" and not gradebook.roster and index.get("gradebook"):
        gradebook = lms.GradebookOptions.from_dict(index["gradebook"])
    return kept, gradebook, [entry]

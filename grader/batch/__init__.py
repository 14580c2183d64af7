"""Batch grading: a whole class in one call (``grade --batch DIR --out DIR [-j N]``).

Every direct child of the submissions folder is one student: a folder, or an archive
(``.zip``, ``.tar.gz``, ``.tgz``, ``.tar``, ``.tar.bz2``, ``.tar.xz``) that :func:`grader.api.grade`
opens. The student id is the child's name without its archive suffix. Ignored, and listed in the
summary: names starting with ``.``, ``__MACOSX``, symbolic links, other plain files, and the output
folder itself when it sits inside the submissions folder.

What ``out/`` gets::

    out/gradebook.csv                  one row per student, sorted by student id (warnings and late penalty apart)
    out/summary.html                   histogram, best metric per student, pass rate per check (warnings
                                       apart), slowest and failing, copies
    out/students/<id>/report.json      the JSON report (schema of grade --json)
    out/students/<id>/report.html      the HTML report
    out/.mlflow-grader-batch           marker: this folder was written by grade --batch

``<id>`` is the student id made safe as a file name (characters other than letters, digits and
``._-@+`` become ``_``; a leading ``.`` gets a ``_``; ids equal up to case get ``-2``, ``-3``...).
A student whose submission cannot be graded (no store, damaged database, refused archive, crash,
timeout) still gets both reports: every check in ``error`` with the reason, 0 points.

Re-running over the same ``out/`` replaces what the previous batch wrote (and only that: the marker
says the folder is ours; a folder holding a ``gradebook.csv``, ``summary.html`` or ``students/``
without the marker is refused). The new results are written to a staging folder inside ``out/`` and
moved into place at the end, so an interrupted batch leaves the previous results intact.

Speed: each student is graded in a process of their own, forked from a fork server that imported
MLflow and scikit-learn once (:mod:`grader.batch.warm`), so no student pays the 3 to 5 s of imports;
at most ``jobs`` run at once (default: the usable cores). MLflow's SQL stores are preloaded too when
a submission may hold a database (:func:`may_use_database`). The model probe is forked from the
warm student process in turn (:mod:`grader.probe.fork`: same sandbox, none of the imports), which
is why no process grades two students (see :func:`grader.batch.pool.run_pool`). Private snapshots
go to ``/dev/shm`` when it has room (:func:`~grader.submission.snapshot.scratch_root`). A student
that takes longer than ``student_timeout`` is killed (with everything it started) and gets an
error row. A class on one shared store or server (:mod:`.server`) is graded with the same pool
and the same :class:`~grader.batch.options.BatchOptions`. Figures: ``benchmarks/RESULTS.md``.

Copy detection (see :func:`detect_copies`, over every experiment and registered model of each store,
:mod:`grader.fingerprints`): students whose stores share run ids (random UUIDs) are
listed in each other's ``suspected_copy_of``; students who only hold identical model files go to
``same_models_as`` (weaker evidence: a seeded training gives byte-identical files, see there); the
``copy_evidence`` column and the summary say what is shared.

The package, stage by stage: :mod:`.discovery` (which children are students), :mod:`.options`
(:class:`BatchOptions`, shared by both kinds of class), :mod:`.output` (the output folder, staged
and moved into place), :mod:`.pool` (one warm process per student, its fork server preloading
:mod:`.warm`), :mod:`.rows` (a gradebook row per report, the CSV),
:mod:`.copies` (copy detection), :mod:`.run` (:func:`grade_batch`), :mod:`.server` (a class of
experiments on one tracking server); the summary page is :mod:`grader.reports.summary_page`.
"""

from __future__ import annotations

from ..reports.summary_page import render_summary, summary_texts
from ..submission.snapshot import scratch_root
from .copies import detect_copies
from .discovery import discover, safe_slug, student_id
from .model import (
    EXIT_ALL_PASSED,
    EXIT_BATCH_FAILED,
    EXIT_SOME_NOT_PASSED,
    MARKER,
    STAGING_PREFIX,
    BatchError,
    BatchResult,
    CopyPair,
    CopyReport,
    Entry,
    StudentRow,
)
from .options import BatchOptions
from .output import prepare_out, remove_tree
from .pool import default_jobs, may_use_database
from .rows import best_metric, error_result, gradebook_csv, graded_row
from .run import INDEX, finish_batch, grade_batch, write_error_reports

__all__ = [
    "EXIT_ALL_PASSED",
    "EXIT_BATCH_FAILED",
    "EXIT_SOME_NOT_PASSED",
    "INDEX",
    "MARKER",
    "STAGING_PREFIX",
    "BatchError",
    "BatchOptions",
    "BatchResult",
    "CopyPair",
    "CopyReport",
    "Entry",
    "StudentRow",
    "best_metric",
    "default_jobs",
    "detect_copies",
    "discover",
    "error_result",
    "finish_batch",
    "grade_batch",
    "gradebook_csv",
    "graded_row",
    "may_use_database",
    "prepare_out",
    "remove_tree",
    "render_summary",
    "safe_slug",
    "scratch_root",
    "student_id",
    "summary_texts",
    "write_error_reports",
]

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

Speed: each student is graded in its own process, forked from a fork server that imported MLflow
and scikit-learn once (:mod:`grader._batch_warm`), so no student pays the 3 to 5 s of imports;
at most ``jobs`` run at once (default: the usable cores). MLflow's SQL stores are preloaded too when
a submission may hold a database (:func:`may_use_database`). The model probe is forked from the
warm student process in turn (:mod:`grader.probe.fork`: same sandbox, none of the imports).
Private snapshots go to ``/dev/shm`` when it has room
(:func:`~grader.submission.snapshot.scratch_root`). A student that takes longer than
``student_timeout`` is killed (with everything it started) and gets an error row. Figures:
``benchmarks/RESULTS.md``.

Copy detection (see :func:`detect_copies`, over every experiment and registered model of each store,
:mod:`grader.fingerprints`): students whose stores share run ids (random UUIDs) are
listed in each other's ``suspected_copy_of``; students who only hold identical model files go to
``same_models_as`` (weaker evidence: a seeded training gives byte-identical files, see there); the
``copy_evidence`` column and the summary say what is shared.
"""

from __future__ import annotations

import csv
import io
import json
import math
import multiprocessing
import os
import shutil
import signal
import statistics
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from itertools import combinations
from multiprocessing.connection import wait as wait_any
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import __version__, lms
from .checks import title_of as _title_of
from .errors import GraderError
from .reports.safe import display_name, terminal, unicode
from .result import PASSING, CheckResult, Result, SubmissionInfo
from .rubric import DEFAULT_RUBRIC, Rubric, load_rubric
from .rubric import render as fill_template
from .submission.archive import ARCHIVE_SUFFIXES, archive_stem
from .submission.snapshot import scratch_root

MARKER = ".mlflow-grader-batch"
STAGING_PREFIX = ".mlflow-grader-batch-staging-"
OWNED = ("students", "gradebook.csv", "summary.html", ".mlflow-grader-rows.json")
IGNORED_NAMES = {"__MACOSX"}
#: Exit codes of a batch: 0 every student graded and passed, 1 some student failed or could not be
#: graded (an ``error`` row), 2 the batch itself could not run.
EXIT_ALL_PASSED, EXIT_SOME_NOT_PASSED, EXIT_BATCH_FAILED = 0, 1, 2
SLOWEST = 10


class BatchError(GraderError):
    """The batch itself cannot run (no such folder, no submissions in it, output folder refused)."""


@dataclass(frozen=True)
class Entry:
    """One student's submission: a direct child of the submissions folder."""

    student: str
    name: str  # the child's file name
    path: Path
    slug: str  # safe folder name under out/students/
    lms: str = ""  # "moodle" | "canvas" when the id came from an LMS download's names (grader.lms)
    lms_id: str = ""  # the LMS's id in that download: Moodle's participant, Canvas's user


@dataclass
class StudentRow:
    """One line of the gradebook."""

    student: str
    name: str
    slug: str
    status: str  # "pass" | "fail" | "error"
    score: float
    max_score: float
    checks: dict[str, tuple[str, float]] = field(default_factory=dict)  # check id -> (status, points)
    error: str = ""
    duration_s: float = 0.0
    fingerprints: dict[str, Any] = field(default_factory=dict)
    suspected_copy_of: list[str] = field(default_factory=list)  # shared run ids (strong)
    same_models_as: list[str] = field(default_factory=list)  # identical model files only (weaker)
    copy_evidence: list[str] = field(default_factory=list)
    detail: str = ""  # traceback of an internal error (not in the gradebook)
    lms_id: str = ""  # the LMS's id from the download's names (see grader.lms)
    #: The late policy's verdict (``Result.late``: ``days``, ``penalty``...); {} without one.
    late: dict[str, Any] = field(default_factory=dict)
    #: The ranking metric (``rmse_test``) of the student's best run, None when no run logged it.
    best_metric: float | None = None

    @property
    def graded(self) -> bool:
        return self.status != "error"

    @property
    def warned(self) -> list[str]:
        """The checks that ended in ``warn``: they earned their points, but something is not right
        (a missing notebook, a run after the deadline): counted apart from the clean passes."""
        return [cid for cid, (status, _) in self.checks.items() if status == "warn"] if self.graded else []

    @property
    def penalty(self) -> float:
        return float((self.late or {}).get("penalty") or 0.0)

    @property
    def report_html(self) -> str:
        return f"students/{quote(self.slug)}/report.html"

    @property
    def report_json(self) -> str:
        return f"students/{quote(self.slug)}/report.json"


@dataclass
class CopyPair:
    """Two students whose submissions share evidence of a copy."""

    a: str
    b: str
    run_ids: list[str] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)  # digest, file, size, a_path, b_path

    @property
    def strength(self) -> str:
        return "strong" if self.run_ids else "weaker"

    def describe(self) -> str:
        parts = []
        if self.run_ids:
            parts.append(f"{len(self.run_ids)} shared run id{'s' if len(self.run_ids) != 1 else ''}")
        if self.models:
            parts.append(f"{len(self.models)} identical model file{'s' if len(self.models) != 1 else ''}")
        return ", ".join(parts)


@dataclass
class CopyReport:
    pairs: list[CopyPair] = field(default_factory=list)
    common_run_ids: dict[str, int] = field(default_factory=dict)  # id -> number of students
    common_models: list[dict[str, Any]] = field(default_factory=list)  # digest, file, size, students
    run_threshold: int = 0
    model_threshold: int = 0


@dataclass
class BatchResult:
    """What :func:`grade_batch` produced."""

    submissions_dir: Path
    out_dir: Path
    rubric_id: str
    check_ids: list[str]
    rows: list[StudentRow]
    copies: CopyReport
    ignored: list[tuple[str, str]]  # (name, why)
    duration_s: float
    jobs: int
    #: The rubric's checks with ``required: false`` (they earn points; the pass follows the others).
    extra_checks: list[str] = field(default_factory=list)

    @property
    def gradebook(self) -> Path:
        return self.out_dir / "gradebook.csv"

    @property
    def summary(self) -> Path:
        return self.out_dir / "summary.html"

    @property
    def n_errors(self) -> int:
        return sum(1 for r in self.rows if r.status == "error")

    @property
    def n_failed(self) -> int:
        return sum(1 for r in self.rows if r.status == "fail")

    @property
    def n_passed(self) -> int:
        return sum(1 for r in self.rows if r.status == "pass")

    @property
    def n_warned(self) -> int:
        """Graded students with at least one check in ``warn`` (whether they passed or not)."""
        return sum(1 for r in self.rows if r.warned)

    @property
    def n_late(self) -> int:
        """Students the late policy took points from."""
        return sum(1 for r in self.rows if r.penalty > 0)

    @property
    def exit_code(self) -> int:
        """0 every student graded and passed; 1 some failed or could not be graded."""
        return EXIT_ALL_PASSED if self.rows and all(r.status == "pass" for r in self.rows) else EXIT_SOME_NOT_PASSED


#: ``progress(done, total, failures, row)``: called in the parent after each student.
ProgressCallback = Callable[[int, int, int, StudentRow], None]


# --------------------------------------------------------------------------- discovery


def student_id(name: str) -> str:
    """The student id of a child of the submissions folder: its name without an archive suffix."""
    return archive_stem(name)


def safe_slug(name: str) -> str:
    """A student's id as a folder name: letters, digits and ``._-@+`` kept, anything else ``_``."""
    out = "".join(c if (c.isalnum() or c in "._-@+") and c.isprintable() else "_" for c in name)[:100]
    if not out or out.startswith("."):
        out = "_" + out
    return out


def discover(submissions_dir: Path, out_dir: Path | None = None,
             scratch: Path | None = None) -> tuple[list[Entry], list[tuple[str, str]]]:
    """The students in ``submissions_dir`` (sorted by id) and the children that were ignored (with why)."""
    try:
        children = sorted(os.scandir(submissions_dir), key=lambda e: e.name)
    except OSError as exc:
        raise BatchError(f"cannot list {submissions_dir}: {exc.strerror or exc}") from None
    out_real = os.path.realpath(out_dir) if out_dir is not None else None
    found: list[tuple[str, os.DirEntry]] = []
    ignored: list[tuple[str, str]] = []
    for child in children:
        name = child.name
        if name.startswith(".") or name in IGNORED_NAMES:
            ignored.append((name, "hidden or system entry"))
        elif child.is_symlink():
            ignored.append((name, "symbolic link (not followed)"))
        elif out_real is not None and os.path.realpath(child.path) == out_real:
            ignored.append((name, "the output folder"))
        elif child.is_dir(follow_symlinks=False):
            found.append((name, child))
        elif child.is_file(follow_symlinks=False) and (name.lower().endswith(ARCHIVE_SUFFIXES) or lms.lms_file(name)):
            found.append((student_id(name), child))
        else:
            ignored.append((name, "not a folder nor an archive"))
    # Moodle's and Canvas's download layouts name the student; a folder holding one archive is that
    # archive; a Canvas student's loose files are put together in ``scratch`` (see grader.lms).
    resolved, lms_ignored = lms.resolve([lms.Found(sid, child.name, Path(child.path)) for sid, child in found], scratch)
    ignored += lms_ignored
    ids_taken: set[str] = set()
    slugs_taken: set[str] = set()
    entries = []
    for sid, item in sorted(((f.student, f) for f in resolved), key=lambda pair: (pair[0], pair[1].name)):
        # The id is shown and written everywhere: bytes that are not UTF-8 become U+FFFD, controls go
        # (display_name); the path keeps the real name.
        sid = display_name(sid)
        if sid in ids_taken:  # ana/ and ana.zip: the second keeps its full name
            sid = display_name(item.name)
        base, k = sid, 1
        while sid in ids_taken:  # two names that differ only in undecodable bytes
            k += 1
            sid = f"{base}-{k}"
        ids_taken.add(sid)
        slug, n = safe_slug(sid), 1
        while slug.casefold() in slugs_taken:
            n += 1
            slug = f"{safe_slug(sid)}-{n}"
        slugs_taken.add(slug.casefold())
        entries.append(Entry(sid, item.name, Path(item.path), slug, item.lms, item.lms_id))
    entries.sort(key=lambda e: e.student)
    return entries, [(display_name(name), why) for name, why in ignored]


# --------------------------------------------------------------------------- output folder


def prepare_out(out_dir: Path) -> bool:
    """Check that ``out_dir`` may be written; True when a previous batch's output is there."""
    if out_dir.exists() and not out_dir.is_dir():
        raise BatchError(f"--out {out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    ours = (out_dir / MARKER).is_file()
    if not ours:
        clash = [name for name in OWNED if os.path.lexists(out_dir / name)]
        if clash:
            raise BatchError(f"{out_dir} holds {', '.join(clash)} but was not written by grade --batch "
                             f"(no {MARKER} marker): choose another --out, or empty it")
    for stale in out_dir.glob(STAGING_PREFIX + "*"):  # left by an interrupted batch
        remove_tree(stale)
    return ours


def remove_tree(path: Path) -> None:
    """Remove a file, link or folder tree, whatever it is (never following a link)."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def _publish(staging: Path, out_dir: Path, previous: bool) -> None:
    """Replace the previous batch's output by the staged one (only the names a batch owns)."""
    if previous:
        for name in (*OWNED, MARKER):
            remove_tree(out_dir / name)
    for name in OWNED:
        if (staging / name).exists():
            os.replace(staging / name, out_dir / name)
    marker = {"tool": "mlflow-grader", "version": __version__, "written": list(OWNED),
              "note": "written by grade --batch; a re-run replaces these entries"}
    (out_dir / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    remove_tree(staging)


# --------------------------------------------------------------------------- the student process


def _child(conn, task: dict[str, Any]) -> None:
    """Grade one student (runs in a process forked from the warm fork server)."""
    try:
        os.setpgrp()  # a timeout kills the whole group
    except OSError:
        pass
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # MLflow's warnings must not draw over the progress bar
        os.dup2(null, fd)
    os.close(null)
    try:
        message = _grade_one(task)
    except BaseException as exc:  # noqa: BLE001 - becomes this student's error row
        message = {"ok": False, "error": f"internal error: {_one_line(exc)}", "detail": traceback.format_exc()[-4000:]}
    try:
        conn.send(message)
    finally:
        conn.close()


def _grade_one(task: dict[str, Any]) -> dict[str, Any]:
    from .api import grade
    from .errors import SubmissionError
    from .reports import render

    started = time.perf_counter()
    try:
        extra = {"deadline": task["deadline"]} if task.get("deadline") is not None else {}
        result = grade(task["path"], task["rubric"], lang=task["lang"], probe=task["probe"],
                       probe_options=task["probe_options"], workdir=task["workdir"], **extra)
    except SubmissionError as exc:
        return {"ok": False, "error": str(exc), "duration_s": time.perf_counter() - started}
    folder = Path(task["report_dir"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(render(result, "json"), encoding="utf-8")
    (folder / "report.html").write_text(render(result, "html"), encoding="utf-8")
    return {"ok": True, "result": result.to_dict(), "fingerprints": result.fingerprints,
            "duration_s": time.perf_counter() - started}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


# --------------------------------------------------------------------------- the pool


def _context(sql: bool = True):
    """A fork server that imported MLflow once (and its SQL stores when ``sql``), or (where there is
    no fork server) spawn. The preload applies when this process starts its fork server."""
    try:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["grader._batch_warm", *(["grader._batch_warm_sql"] if sql else [])])
        return ctx
    except ValueError:  # pragma: no cover - platforms without fork server
        return multiprocessing.get_context("spawn")


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def may_use_database(path: Path) -> bool:
    """Whether a submission may hold a SQLite store (an archive, or a file named like a database in
    its first two levels): then the fork server also imports MLflow's SQL stores (about 1 s, see
    :mod:`grader._batch_warm_sql`), which a class of ``mlruns/`` folders never uses. A miss only costs
    speed: a student whose store the fork server did not preload imports it in its own process."""
    if not path.is_dir() or path.is_symlink():
        return True
    from .submission.locate import database_files, walk_folders

    return any(database_files(folder) for folder in walk_folders(path, max_depth=1))


def _run_pool(tasks: list[dict[str, Any]], jobs: int, timeout: float, on_done: Callable[[dict, dict], None],
              sql: bool = True) -> None:
    """Run each task in its own process, ``jobs`` at a time; ``on_done(task, message)`` in order of
    completion. ``sql``: preload MLflow's SQL stores in the fork server."""
    ctx = _context(sql)
    pending = deque(tasks)
    running: dict[Any, tuple[dict, Any, float]] = {}  # conn -> (task, process, deadline)
    started: dict[Any, float] = {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                task = pending.popleft()
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(send, task), name=f"grade-{task['slug']}", daemon=True)
                proc.start()
                send.close()
                running[recv] = (task, proc, time.monotonic() + timeout)
                started[recv] = time.monotonic()
            next_deadline = min(d for _, _, d in running.values())
            waitables = list(running) + [p.sentinel for _, p, _ in running.values()]
            wait_any(waitables, timeout=max(0.0, next_deadline - time.monotonic()))
            now = time.monotonic()
            for conn in list(running):
                task, proc, deadline = running[conn]
                message = None
                if conn.poll():
                    try:
                        message = conn.recv()
                    except (EOFError, OSError):
                        message = None
                    else:
                        proc.join(10)
                if message is None and proc.is_alive() and now < deadline:
                    continue
                if message is None:
                    if proc.is_alive():
                        _kill_group(proc)
                        message = {"ok": False, "error": f"grading took more than {timeout:g} s (timeout): stopped"}
                    else:
                        proc.join()
                        message = {"ok": False, "error": _death(proc.exitcode)}
                elif proc.is_alive():
                    _kill_group(proc)
                message.setdefault("duration_s", time.monotonic() - started.pop(conn))
                conn.close()
                del running[conn]
                shutil.rmtree(task["workdir"], ignore_errors=True)
                on_done(task, message)
    finally:
        for conn, (task, proc, _) in running.items():
            _kill_group(proc)
            conn.close()
            shutil.rmtree(task["workdir"], ignore_errors=True)


def _kill_group(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass
    try:
        proc.kill()
    except Exception:  # noqa: BLE001
        pass
    proc.join(5)


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        why = " (killed, probably out of memory)" if name == "SIGKILL" else ""
        return f"internal error: the grading process died with {name}{why}"
    return f"internal error: the grading process exited with code {exitcode} without a result"


# --------------------------------------------------------------------------- rows


def _row_from_message(entry: Entry, message: dict[str, Any], rubric: Rubric) -> StudentRow:
    duration = float(message.get("duration_s", 0.0) or 0.0)
    if message.get("ok"):
        return graded_row(entry, message["result"], duration, message.get("fingerprints") or {})
    max_score = round(sum(spec.points for spec in rubric.checks), 4)
    reason = " ".join(str(message.get("error") or "could not be graded").split())[:500]
    return StudentRow(entry.student, entry.name, entry.slug, "error", 0.0, max_score,
                      {spec.id: ("error", 0.0) for spec in rubric.checks}, error=reason, duration_s=duration,
                      detail=str(message.get("detail") or ""))


def best_metric(data: dict[str, Any]) -> float | None:
    """The ranking metric of the best run in a JSON report (``data``): the first run, in
    ``search_runs`` order, that logged a finite value of it."""
    metric = (data.get("ranking") or {}).get("metric", "rmse_test")
    for run in data.get("runs") or []:
        value = (run.get("metrics") or {}).get(metric)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    return None


def graded_row(entry: Entry, data: dict[str, Any], duration: float, fingerprints: dict[str, Any]) -> StudentRow:
    """The gradebook row of a graded student, from their JSON report (``Result.to_dict()``)."""
    checks = {c["id"]: (c["status"], float(c["points"])) for c in data["checks"]}
    return StudentRow(entry.student, entry.name, entry.slug, "pass" if data["passed"] else "fail",
                      float(data["score"]), float(data["max_score"]), checks, duration_s=duration,
                      fingerprints=fingerprints, late=dict(data.get("late") or {}), best_metric=best_metric(data))


def error_result(entry: Entry, reason: str, rubric: Rubric, lang: str) -> Result:
    """The report of a student that could not be graded: every check in error, 0 points."""
    checks = [CheckResult(id=spec.id, title=_title_of(rubric, spec, lang), status="error", points=0.0,
                          max_points=spec.points, message=reason, visibility=spec.visibility)
              for spec in rubric.checks]
    info = SubmissionInfo(input=str(entry.path), store="none", mlflow_layout="unknown", notes=[reason])
    return Result(grader_version=__version__, rubric_id=rubric.id, rubric_title=rubric.text(rubric.title, lang),
                  lang=lang, submission=info, checks=checks, experiment=str(rubric.settings.get("experiment", "")))


# --------------------------------------------------------------------------- copy detection


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
            report.common_models.append({"digest": digest, "file": sample["file"], "size": sample["size"],
                                         "students": len(holders)})
            continue
        for a, b in combinations(sorted(holders), 2):
            pairs.setdefault((a, b), CopyPair(a, b)).models.append(
                {"digest": digest, "file": sample["file"], "size": sample["size"],
                 "a_path": holders[a]["path"], "b_path": holders[b]["path"]})
    report.pairs = sorted(pairs.values(), key=lambda p: (p.a, p.b))
    by_student = {r.student: r for r in rows}
    for pair in report.pairs:
        for me, other in ((pair.a, pair.b), (pair.b, pair.a)):
            target = by_student[me].suspected_copy_of if pair.run_ids else by_student[me].same_models_as
            target.append(other)
            by_student[me].copy_evidence.append(f"{other}: {pair.describe()}")
    return report


# --------------------------------------------------------------------------- gradebook


def _csv_text(value: str) -> str:
    """A text cell that a spreadsheet will not run as a formula, on one line, without escape
    sequences or control characters (a gradebook is also read with ``cat``), valid UTF-8."""
    value = terminal(value, one_line=True)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _num(value: float) -> str:
    return f"{value:g}"


def gradebook_csv(rows: list[StudentRow], check_ids: list[str], extra_checks: list[str] | tuple[str, ...] = (),
                  lang: str = "en") -> str:
    """The native gradebook: one row per student. ``status`` follows the required checks;
    ``extra_not_passed`` names the checks with ``required: false`` (``extra_checks``) that a student
    did not pass: they cost points, not the pass."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["student", "score", "max_score", "status"]
    for cid in check_ids:
        header += [f"{cid}_points", f"{cid}_status"]
    writer.writerow([*header, "warnings", "warned_checks", "late_days", "late_penalty",
                     "extra_not_passed", "error", "suspected_copy_of", "same_models_as", "copy_evidence", "feedback"])
    for row in rows:
        line = [_csv_text(row.student), _num(row.score), _num(row.max_score), row.status]
        for cid in check_ids:
            status, points = row.checks.get(cid, ("skip", 0.0))
            line += [_num(points), status]
        extra = [cid for cid in extra_checks if row.checks.get(cid, ("skip", 0.0))[0] not in PASSING]
        # warnings: how many checks earned their points with a warning (empty: not graded, not 0).
        line += [str(len(row.warned)) if row.graded else "", ";".join(row.warned),
                 str(row.late.get("days", 0)) if row.late else "", _num(row.penalty) if row.late else ""]
        line += [";".join(extra) if row.graded else "", _csv_text(row.error), _csv_text(";".join(row.suspected_copy_of)),
                 _csv_text(";".join(row.same_models_as)), _csv_text("; ".join(row.copy_evidence)), _csv_text(lms.feedback(row, lang=lang))]
        writer.writerow(line)
    return out.getvalue()


# --------------------------------------------------------------------------- summary


#: Why :func:`discover` (and :mod:`grader.lms`) left a child of the submissions folder out -> the
#: catalogue's words for it in the summary.
IGNORED_WHY = {"hidden or system entry": "summary.why.hidden", "symbolic link (not followed)": "summary.why.symlink",
               "the output folder": "summary.why.out", "not a folder nor an archive": "summary.why.other",
               "Moodle submission of another plugin (not a file submission)": "summary.why.moodle_plugin"}


def _catalogue_keys() -> set[str]:
    from .catalogue import MESSAGES

    return set(MESSAGES)


def summary_texts(lang: str) -> dict[str, str]:
    """The summary's texts in ``lang`` from the catalogue (``summary.<name>`` is ``t.<name>`` in the
    template), unfilled: the template fills them with ``fill(t.name, n=...)``."""
    from .catalogue import MESSAGES

    prefix = "summary."
    return {key[len(prefix):]: texts.get(lang) or texts["en"] for key, texts in MESSAGES.items() if key.startswith(prefix)}


def _histogram(scores: list[float], max_score: float) -> dict[str, Any]:
    """Bars of an SVG histogram of ``scores`` over [0, max_score]."""
    integer = max_score <= 30 and float(max_score).is_integer() and all(float(s).is_integer() for s in scores)
    if integer:
        edges = [(float(i), float(i)) for i in range(int(max_score) + 1)]
        labels = [f"{i}" for i in range(int(max_score) + 1)]
        counts = [sum(1 for s in scores if s == lo) for lo, _ in edges]
    else:
        top = max_score if max_score > 0 else 1.0
        width = top / 10
        edges = [(i * width, (i + 1) * width) for i in range(10)]
        labels = [f"{lo:g}–{hi:g}" for lo, hi in edges]
        counts = [sum(1 for s in scores if lo <= s < hi or (i == 9 and s == hi)) for i, (lo, hi) in enumerate(edges)]
    chart_w, chart_h, pad_left, pad_bottom, pad_top = 640, 190, 34, 34, 14
    n = len(counts)
    slot = (chart_w - pad_left - 8) / max(n, 1)
    tallest = max(counts) if counts and max(counts) > 0 else 1
    bars = []
    for i, (count, label) in enumerate(zip(counts, labels, strict=True)):
        height = (chart_h - pad_bottom - pad_top) * count / tallest
        x = pad_left + i * slot + slot * 0.12
        bars.append({"x": round(x, 1), "y": round(chart_h - pad_bottom - height, 1), "w": round(slot * 0.76, 1),
                     "h": round(height, 1), "count": count, "label": label, "cx": round(x + slot * 0.38, 1),
                     "passing": i == n - 1})
    ticks = sorted({0, tallest, (tallest + 1) // 2})
    return {"width": chart_w, "height": chart_h, "bars": bars, "base": chart_h - pad_bottom, "left": pad_left,
            "ticks": [{"value": t, "y": round(chart_h - pad_bottom - (chart_h - pad_bottom - pad_top) * t / tallest, 1)}
                      for t in ticks]}


#: Up to this many students the metric chart draws one bar each; a larger class gets a histogram.
METRIC_BARS = 60


def _metric_chart(rows: list[StudentRow], order: str, texts: dict[str, str]) -> dict[str, Any]:
    """An inline SVG of each graded student's best ranking metric (``StudentRow.best_metric``),
    best first: one labelled bar per student, or for a large class a histogram of 10 bins."""
    values = [(r, r.best_metric) for r in rows if r.graded and r.best_metric is not None]
    missing = sum(1 for r in rows if r.graded and r.best_metric is None)
    width, left, right, row_h, top = 640, 170, 64, 18, 6
    if not values:
        return {"bars": [], "missing": missing, "width": width, "height": 0}
    values.sort(key=lambda item: (item[1] if order == "ASC" else -item[1], item[0].student))
    numbers = [v for _, v in values]
    lo, hi = min(0.0, min(numbers)), max(numbers)
    hi = hi if hi > lo else lo + 1.0
    span = width - left - right
    bars: list[dict[str, Any]] = []
    if len(values) <= METRIC_BARS:
        for i, (row, value) in enumerate(values):
            bars.append({"y": top + i * row_h, "w": round(max(1.0, span * (value - lo) / (hi - lo)), 1),
                         "label": row.student if len(row.student) <= 24 else row.student[:23] + "…",
                         "title": f"{row.student}: {value:.6g}", "value": f"{value:.4g}", "href": row.report_html,
                         "best": i == 0})
    else:
        edges = [min(numbers) + k * (max(numbers) - min(numbers)) / 10 for k in range(11)]
        for k in range(10):
            inside = [v for v in numbers if edges[k] <= v < edges[k + 1] or (k == 9 and v == edges[10])]
            bars.append({"y": top + k * row_h, "count": len(inside), "label": f"{edges[k]:.3g}–{edges[k + 1]:.3g}",
                         "title": fill_template(texts["metric_bins"], {"n": len(inside), "lo": f"{edges[k]:.4g}",
                                                                       "hi": f"{edges[k + 1]:.4g}"}),
                         "value": str(len(inside)), "href": "", "best": False})
        tallest = max(b["count"] for b in bars) or 1
        for bar in bars:
            bar["w"] = round(max(1.0, span * bar["count"] / tallest), 1) if bar["count"] else 0
    return {"bars": bars, "missing": missing, "width": width, "height": top * 2 + len(bars) * row_h, "left": left,
            "row_h": row_h, "per_student": len(values) <= METRIC_BARS}


def summary_context(batch: BatchResult, rubric: Rubric, lang: str) -> dict[str, Any]:
    from .catalogue import text as catalogue_text
    from .reports.html import human_size

    rows = batch.rows
    graded = [r for r in rows if r.graded]
    max_score = rows[0].max_score if rows else round(sum(s.points for s in rubric.checks), 4)
    scores = [r.score for r in graded]
    checks = []
    for spec in rubric.checks:
        statuses = [r.checks.get(spec.id, ("skip", 0.0))[0] for r in graded]
        passed = sum(1 for s in statuses if s in PASSING)
        rate = passed / len(graded) if graded else 0.0
        warned = statuses.count("warn")
        checks.append({"id": spec.id, "title": _title_of(rubric, spec, lang), "points": _num(spec.points),
                       "passed": passed, "total": len(graded), "rate": rate, "percent": f"{100 * rate:.0f}",
                       "clean": passed - warned,
                       # the bar: clean passes in green, then warnings in amber (a warning is not a clean pass)
                       "bar": round(300 * (passed - warned) / len(graded), 1) if graded else 0.0,
                       "bar_warn": round(300 * warned / len(graded), 1) if graded else 0.0,
                       "fail": statuses.count("fail"), "error": statuses.count("error"),
                       "skip": statuses.count("skip"), "hidden": spec.visibility == "hidden",
                       # a warning earns the points but is counted apart: "passed" alone would hide it
                       "warn": statuses.count("warn"), "required": spec.required})
    failing = []
    for r in rows:
        if r.status == "pass":
            continue
        missed = [cid for cid, (status, _) in r.checks.items() if status not in PASSING]
        failing.append({"row": r, "missed": missed if r.status != "error" else [], "reason": r.error})
    slowest = sorted(rows, key=lambda r: (-r.duration_s, r.student))[:SLOWEST]
    texts = summary_texts(lang)
    metric, order = str(rubric.settings.get("metric", "rmse_test")), str(rubric.settings.get("order", "ASC"))
    copies = []
    for pair in sorted(batch.copies.pairs, key=lambda p: (p.strength != "strong", p.a, p.b)):
        describe = ", ".join(([fill_template(texts["n_runs"], {"n": len(pair.run_ids)})] if pair.run_ids else [])
                             + ([fill_template(texts["n_models"], {"n": len(pair.models)})] if pair.models else []))
        copies.append({"a": pair.a, "b": pair.b, "strength": pair.strength, "describe": describe,
                       "strength_label": texts["strong"] if pair.strength == "strong" else texts["weaker_badge"],
                       "run_ids": pair.run_ids[:20], "more_runs": max(0, len(pair.run_ids) - 20),
                       "models": pair.models[:10], "more_models": max(0, len(pair.models) - 10),
                       "a_row": next(r for r in rows if r.student == pair.a),
                       "b_row": next(r for r in rows if r.student == pair.b)})
    return {
        "lang": lang,
        "t": texts,
        "version": __version__,
        "rubric_id": rubric.id,
        "rubric_title": rubric.text(rubric.title, lang),
        "submissions_dir": str(batch.submissions_dir),
        "n": len(rows),
        "n_graded": len(graded),
        "n_passed": batch.n_passed,
        "n_failed": batch.n_failed,
        "n_errors": batch.n_errors,
        "n_warned": batch.n_warned,
        "n_late": batch.n_late,
        "late_policy": rubric.late is not None or any(r.late for r in rows),
        "metric": metric,
        "metric_order": texts["metric_asc" if order == "ASC" else "metric_desc"],
        "metric_chart": _metric_chart(rows, order, texts),
        "status_label": {s: catalogue_text(f"status.{s}", lang) if f"status.{s}" in _catalogue_keys() else s
                         for s in ("pass", "fail", "error", "warn", "skip")},
        "max_score": _num(max_score),
        "mean": _num(round(statistics.fmean(scores), 2)) if scores else "–",
        "median": _num(round(statistics.median(scores), 2)) if scores else "–",
        "seconds": f"{batch.duration_s:.1f}",
        "jobs": batch.jobs,
        "histogram": _histogram(scores, max_score),
        "checks": checks,
        "failing": failing,
        "slowest": [{"row": r, "seconds": f"{r.duration_s:.1f}"} for r in slowest],
        "rows": rows,
        "copies": [c for c in copies if c["strength"] == "strong"],
        "weaker": [c for c in copies if c["strength"] != "strong"],
        "common_models": batch.copies.common_models,
        "common_runs": len(batch.copies.common_run_ids),
        "model_threshold": batch.copies.model_threshold,
        "run_threshold": batch.copies.run_threshold,
        "ignored": [(name, catalogue_text(IGNORED_WHY[why], lang) if why in IGNORED_WHY else why)
                    for name, why in batch.ignored],
        "fmt_num": _num,
        "human_size": human_size,
        "label_required": catalogue_text("label.required", lang),
        "label_extra": catalogue_text("label.extra", lang),
        "label_warn": catalogue_text("label.warn", lang),
    }


def render_summary(batch: BatchResult, rubric: Rubric, lang: str) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("grader.reports", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["fill"] = lambda template, **params: fill_template(template, params)  # {n:plural:...} as in messages
    return env.get_template("summary.html.j2").render(**summary_context(batch, rubric, lang))


# --------------------------------------------------------------------------- entry point


def grade_batch(
    submissions_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    rubric: str | os.PathLike | Rubric = DEFAULT_RUBRIC,
    jobs: int | None = None,
    lang: str = "es",
    probe_options=None,
    *,
    probe: bool = True,
    progress: ProgressCallback | None = None,
    student_timeout: float | None = None,
    scratch_dir: str | os.PathLike | None = None,
    deadline=None,
    gradebook: lms.GradebookOptions | None = None,
    only: str | None = None,
) -> BatchResult:
    """Grade every submission in ``submissions_dir`` and write reports, ``gradebook.csv`` and
    ``summary.html`` into ``out_dir`` (see the module docstring for the layout).

    ``jobs``: students graded at once (default: the usable cores). ``student_timeout``: seconds one
    student may take in all (default: twice the probe timeout plus 60 s). Raises
    :class:`BatchError` when the batch cannot run at all; a student that cannot be graded only gets
    an ``error`` row. ``progress(done, total, not_passed, row)`` is called after each student.
    ``scratch_dir``: where the private snapshots go (default: :func:`~grader.submission.snapshot.scratch_root`). ``deadline``:
    the class's deadline, as :func:`grader.api.grade` takes it (checked once here, before any student).
    ``submissions_dir`` may be one archive holding every student (an LMS's bulk download).
    ``gradebook``: the format of ``gradebook.csv`` (:class:`grader.lms.GradebookOptions`: native,
    Moodle's or Canvas's import format, with a roster). ``only``: regrade that one student (their id
    or folder name) into the previous batch's ``out_dir``: only their reports and gradebook row change.

    Students are graded in processes started by :mod:`multiprocessing` (fork server): as with any
    use of it, a script that calls this function must do so under ``if __name__ == "__main__":``.
    """
    from .probe import ProbeOptions

    started = time.perf_counter()
    submissions = Path(submissions_dir).expanduser()
    out = Path(out_dir).expanduser().absolute()
    if not submissions.is_dir() and not (submissions.is_file() and lms.is_archive_name(submissions.name)):
        raise BatchError(f"submissions folder not found: {submissions_dir}" if not submissions.exists()
                         else f"--batch needs a folder of submissions or one archive of them, not: {submissions_dir}")
    submissions = submissions.absolute()
    if out == submissions or out in submissions.parents:  # a re-run replaces out/students/...
        raise BatchError("--out must not be the submissions folder nor one of its parents")
    rubric = rubric if isinstance(rubric, Rubric) else load_rubric(os.fspath(rubric))
    if deadline is not None:  # a bad deadline is the instructor's error: say it once, not in every row
        from .deadline import parse_deadline

        try:
            parse_deadline(deadline)
        except ValueError as exc:
            raise BatchError(f"bad deadline: {exc}") from None
    probe_options = probe_options or ProbeOptions()
    jobs = max(1, int(jobs or default_jobs()))
    timeout = float(student_timeout) if student_timeout else 2 * float(probe_options.timeout) + 60.0
    gradebook = gradebook or lms.GradebookOptions()
    scratch = Path(tempfile.mkdtemp(prefix="mlflow-grader-batch-", dir=scratch_dir or scratch_root(jobs)))
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
            tasks.append({"slug": entry.slug, "path": str(entry.path), "rubric": rubric, "lang": lang, "probe": probe,
                          "deadline": deadline,
                          "probe_options": probe_options, "workdir": str(workdir),
                          "report_dir": str(staging / "students" / entry.slug)})
        rows: dict[str, StudentRow] = {}
        failures = 0

        def done(task: dict, message: dict) -> None:
            nonlocal failures
            entry = by_slug[task["slug"]]
            row = _row_from_message(entry, message, rubric)
            row.lms_id = entry.lms_id
            if row.status == "error":
                write_error_reports(staging / "students" / entry.slug, entry, row.error, rubric, lang)
            rows[entry.slug] = row
            failures += row.status != "pass"
            if progress is not None:
                progress(len(rows), len(entries), failures, row)

        _run_pool(tasks, min(jobs, len(tasks)), timeout, done, sql=any(may_use_database(e.path) for e in entries))
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
                        new.suspected_copy_of, new.same_models_as, new.copy_evidence)
        batch = BatchResult(submissions, out, rubric.id, [s.id for s in rubric.checks], ordered, copies, ignored,
                            time.perf_counter() - started, jobs, [s.id for s in rubric.checks if not s.required])
        return finish_batch(batch, staging, previous, rubric, lang, started, gradebook=gradebook)
    finally:
        if staging is not None:
            remove_tree(staging)
        shutil.rmtree(scratch, ignore_errors=True)


def finish_batch(batch: BatchResult, staging: Path, previous: bool, rubric: Rubric, lang: str,
                 started: float, gradebook: lms.GradebookOptions | None = None) -> BatchResult:
    """Write the gradebook and the summary next to the students' reports, then publish the staging
    folder over ``batch.out_dir`` (what a previous batch wrote there is replaced)."""
    _write_gradebook(batch, staging, gradebook or lms.GradebookOptions(), lang)
    batch.duration_s = time.perf_counter() - started
    (staging / "summary.html").write_text(unicode(render_summary(batch, rubric, lang)), encoding="utf-8")
    _publish(staging, batch.out_dir, previous)
    return batch


def write_error_reports(folder: Path, entry: Entry, reason: str, rubric: Rubric, lang: str) -> None:
    """A student who could not be graded still gets report.json and report.html saying why."""
    from .reports import render

    result = error_result(entry, reason, rubric, lang)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(render(result, "json"), encoding="utf-8")
    (folder / "report.html").write_text(render(result, "html"), encoding="utf-8")


# --------------------------------------------------------------------------- LMS downloads, gradebooks, --only

INDEX = ".mlflow-grader-rows.json"  # out/.mlflow-grader-rows.json: every row, for --only (not a report)


def _class_folder(submissions: Path, scratch: Path) -> Path:
    """The folder holding the class: ``submissions`` itself, or what one archive of it extracts to."""
    if submissions.is_dir():
        return submissions
    from .submission.archive import extract_archive

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
        text = lms.render_gradebook(batch.rows, options.format, options.roster_rows(), options.column or batch.rubric_id,
                                    lang)
    (staging / "gradebook.csv").write_text(text, encoding="utf-8")
    rows = []
    for row in batch.rows:
        data = asdict(row)
        data.pop("detail", None)
        rows.append(data)
    index = {"tool": "mlflow-grader", "version": __version__, "rubric_id": batch.rubric_id,
             "check_ids": batch.check_ids, "gradebook": options.to_dict(), "rows": rows}
    # ASCII JSON: a folder name with bytes that are not UTF-8 (lone surrogates) round-trips as \udcXX.
    (staging / INDEX).write_text(json.dumps(index, ensure_ascii=True, indent=1), encoding="utf-8")


def _only(out: Path, only: str, entries: list[Entry], rubric: Rubric,
          gradebook: lms.GradebookOptions) -> tuple[list[StudentRow], lms.GradebookOptions, list[Entry]]:
    """For ``--only NAME``: the previous batch's other rows, the gradebook options (the previous
    batch's unless given), and the one entry to grade."""
    path = out / INDEX
    if not (out / MARKER).is_file() or not path.is_file():
        raise BatchError(f"--only regrades one student into a previous batch's results: {out} holds none "
                         f"(run the whole batch into it first)")
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
        raise BatchError(f"--only {only!r}: {'no' if not matches else 'more than one'} such student in the "
                         f"submissions (students: {known}{', ...' if len(entries) > 20 else ''})")
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


__all__ = ["BatchError", "BatchResult", "StudentRow", "detect_copies", "discover", "grade_batch", "prepare_out",
           "remove_tree", "safe_slug", "write_error_reports"]

"""The batch's data: a student entry, a gradebook row, copy pairs, the whole batch's result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import GraderError

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

    #: The class graded: its folder, or (a class on one tracking server) the server and experiment shown.
    submissions_dir: Path | str
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

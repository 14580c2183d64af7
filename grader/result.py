"""The one result model that every report format reads.

A :class:`Result` is plain data: it can be turned into JSON (:meth:`Result.to_dict`) and back
(:meth:`Result.from_dict`) without losing anything a report needs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1

#: Statuses a check can end in. ``pass`` and ``warn`` earn the check's points.
STATUSES = ("pass", "warn", "fail", "skip", "error")
PASSING = frozenset({"pass", "warn"})


@dataclass
class CheckResult:
    """The outcome of one rubric check."""

    id: str
    title: str
    status: str
    points: float
    max_points: float
    message: str
    hint: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    visibility: str = "visible"
    duration_ms: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status in PASSING


@dataclass
class SubmissionInfo:
    """Where the submission came from and what kind of MLflow store it holds."""

    input: str
    store: str  # "file" | "sqlite" | "none"
    mlflow_layout: str  # "2.x" | "3.x" | "unknown"
    tracking_uri_kind: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class RunRow:
    """One run of the graded experiment, as ``search_runs`` orders them."""

    run_id: str
    run_name: str
    status: str
    start_time: int | None
    params: dict[str, str]
    metrics: dict[str, float | None]
    tags: dict[str, str]
    has_model: bool
    counted: bool
    is_best: bool = False
    is_production: bool = False


@dataclass
class Result:
    """Everything a grade produced; reports are pure functions of it."""

    grader_version: str
    rubric_id: str
    rubric_title: str
    lang: str
    submission: SubmissionInfo
    checks: list[CheckResult]
    runs: list[RunRow] = field(default_factory=list)
    experiment: str = ""
    duration_ms: float = 0.0
    schema_version: int = SCHEMA_VERSION

    @property
    def score(self) -> float:
        return round(sum(c.points for c in self.checks), 4)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_points for c in self.checks), 4)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def exit_code(self) -> int:
        """0 when every check passed, 1 otherwise (2 is for submissions that cannot be graded)."""
        return 0 if self.passed else 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (schema_version 1): keys here are never renamed, only added."""
        return {
            "schema_version": self.schema_version,
            "grader": {"version": self.grader_version},
            "rubric": {"id": self.rubric_id, "title": self.rubric_title},
            "lang": self.lang,
            "submission": asdict(self.submission),
            "experiment": self.experiment,
            "score": self.score,
            "max_score": self.max_score,
            "passed": self.passed,
            "duration_ms": round(self.duration_ms, 1),
            "checks": [asdict(c) for c in self.checks],
            "runs": [asdict(r) for r in self.runs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Result":
        """Rebuild a result from its JSON report (used by batch summaries and tests)."""
        return cls(
            grader_version=data["grader"]["version"],
            rubric_id=data["rubric"]["id"],
            rubric_title=data["rubric"]["title"],
            lang=data.get("lang", "es"),
            submission=SubmissionInfo(**data["submission"]),
            checks=[CheckResult(**c) for c in data["checks"]],
            runs=[RunRow(**r) for r in data.get("runs", [])],
            experiment=data.get("experiment", ""),
            duration_ms=data.get("duration_ms", 0.0),
            schema_version=data.get("schema_version", SCHEMA_VERSION),
        )

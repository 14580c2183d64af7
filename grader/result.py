"""The one result model that every report format reads.

A :class:`Result` is plain data: it can be turned into JSON (:meth:`Result.to_dict`) and back
(:meth:`Result.from_dict`) without losing anything a report needs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    from .rubric import Rubric

SCHEMA_VERSION = 1


def _json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


#: Statuses a check can end in. ``pass`` and ``warn`` earn the check's points.
STATUSES = ("pass", "warn", "fail", "skip", "error")
PASSING = frozenset({"pass", "warn"})
#: Stores whose JSON ``tracking_uri_kind`` is their own kind (every other one says "file").
REMOTE_OR_DB = ("sqlite", "server", "postgresql")


def hidden_texts(lang: str, number: int, points: float) -> tuple[str, str]:
    """The title and message a student sees instead of a hidden check's (the catalogue's
    ``hidden.title``/``hidden.message``): its number among the hidden checks and its points."""
    from .catalogue import text

    shown = f"{points:g}"
    return (text("hidden.title", lang, n=number, max=shown), text("hidden.message", lang, n=number, max=shown))


#: Evidence one check shows that belongs to another: when the owner (the key here) is hidden, the
#: student view drops these entries from every other check's evidence. The probe's recomputed test
#: metrics are ``integrity.metrics``' finding, though ``model.predict`` carries the probe's details.
EVIDENCE_OF: dict[str, tuple[str, ...]] = {"integrity.metrics": ("test_metrics",)}


def _is_real(value: Any) -> TypeGuard[float]:
    return isinstance(value, float) and math.isfinite(value)


def _rounded(value: float) -> float:
    return round(value, 6)


def _reals(value: Any) -> set[float]:
    """The non-integer numbers in an evidence value (rounded as evidence rounds them), recursively."""
    if _is_real(value):
        return {_rounded(value)} if value != int(value) else set()
    if isinstance(value, dict):
        return set().union(*(_reals(v) for v in value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_reals(v) for v in value)) if value else set()
    return set()


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
    #: Whether this check decides the submission's pass (the rubric's ``required``); every check's
    #: points count toward the score either way.
    required: bool = True

    @property
    def passed(self) -> bool:
        return self.status in PASSING

    @property
    def hidden(self) -> bool:
        return self.visibility == "hidden"

    def masked(self, number: int, lang: str = "es") -> CheckResult:
        """This check as a student sees it when it is hidden: its status and points, not its content."""
        title, message = hidden_texts(lang, number, self.max_points)
        return replace(
            self,
            id=f"hidden-{number}",
            title=title,
            message=message,
            hint="",
            evidence={"hidden": True},
        )


@dataclass
class SubmissionInfo:
    """Where the submission came from and what kind of MLflow store it holds."""

    input: str
    store: str  # "file" | "sqlite" | "server" | "postgresql" | "none"
    #: The artifact layout: "2.x" (models in each run's artifacts: MLflow 1.x and 2.x write it),
    #: "3.x" (LoggedModels) or "unknown". Not the version that wrote the store: see ``mlflow_version``.
    mlflow_layout: str
    notes: list[str] = field(default_factory=list)
    #: The MLflow version that wrote the store, as its models' ``MLmodel`` say (the Production
    #: model's first); "" when no model says.
    mlflow_version: str = ""
    #: A SQLite store's Alembic revision as handed in ("" for other stores).
    schema_revision: str = ""
    #: Every store found in the submission, the graded one first: ``{"path", "kind", "experiments":
    #: {name: active runs}, "graded"}``. One entry when there was nothing to choose.
    stores: list[dict[str, Any]] = field(default_factory=list)


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
    #: The ranking: ``search_runs(order_by=[f"metrics.{metric} {order}"])``'s first row is the best run.
    metric: str = "rmse_test"
    order: str = "ASC"
    #: Copy-detection facts (run ids, model-file digests; see :mod:`grader.fingerprints`). Not part
    #: of the JSON report: batch grading reads them from the result itself.
    fingerprints: dict[str, Any] = field(default_factory=dict)
    #: The rubric's late policy applied to this submission (:func:`grader.deadline.late_penalty`):
    #: ``{}`` without a policy or a deadline; else ``days`` late, the ``penalty`` taken (points) and
    #: the facts behind it. The penalty is already off :attr:`score`.
    late: dict[str, Any] = field(default_factory=dict)
    #: Whose view this is: "instructor" (everything) or "student" (:meth:`for_students`: hidden
    #: checks masked, and their evidence gone wherever it appeared). Every report says which; two
    #: results that differ only in it compare equal.
    view: str = field(default="instructor", compare=False)
    #: Why the submission could not be graded at all ("" when it was): :meth:`ungradable` made it,
    #: every check is in ``error`` with 0 points, and the gradebook formats (Classroom, Classroom
    #: 50, Gradescope) render their "graded 0" form with this reason.
    error: str = ""

    @classmethod
    def ungradable(cls, reason: str, rubric: Rubric, lang: str = "es", *, input: str = "") -> Result:
        """The result of a submission that could not be graded (no store, a broken archive, a
        timeout): every rubric check in ``error`` with ``reason`` as its message and 0 of its
        points, so every format shows a graded 0 over the rubric's total rather than no grade."""
        from . import __version__
        from .checks import title_of

        checks = [
            CheckResult(
                id=spec.id,
                title=title_of(rubric, spec, lang),
                status="error",
                points=0.0,
                max_points=spec.points,
                message=reason,
                visibility=spec.visibility,
                required=spec.required,
            )
            for spec in rubric.checks
        ]
        return cls(
            grader_version=__version__,
            rubric_id=rubric.id,
            rubric_title=rubric.text(rubric.title, lang),
            lang=lang,
            submission=SubmissionInfo(input=input, store="none", mlflow_layout="unknown", notes=[reason]),
            checks=checks,
            experiment=str(rubric.settings.get("experiment", "")),
            metric=str(rubric.settings.get("metric", "rmse_test")),
            order=str(rubric.settings.get("order", "ASC")).upper(),
            error=reason,
        )

    @property
    def checks_score(self) -> float:
        """The points the checks earned, before any late penalty."""
        return round(sum(c.points for c in self.checks), 4)

    @property
    def penalty(self) -> float:
        """Points the late policy took off (0 when on time or without a policy)."""
        return round(float((self.late or {}).get("penalty") or 0.0), 4)

    @property
    def score(self) -> float:
        """The grade: the checks' points minus the late penalty (never below 0)."""
        return round(max(0.0, self.checks_score - self.penalty), 4)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_points for c in self.checks), 4)

    @property
    def passed(self) -> bool:
        """Whether every required check passed (checks with ``required: false`` earn points only)."""
        return all(c.passed for c in self.checks if c.required)

    @property
    def all_passed(self) -> bool:
        """Whether every check passed, required or not."""
        return all(c.passed for c in self.checks)

    @property
    def exit_code(self) -> int:
        """0 when every required check passed, 1 otherwise (2 is for submissions that cannot be graded)."""
        return 0 if self.passed else 1

    @property
    def hidden_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if c.hidden]

    def for_students(self) -> Result:
        """The student view: hidden checks keep their status and points (so the score and the total
        are the same as the instructor's) but lose their id, title, message, hint and evidence.

        A hidden check's evidence goes wherever else it appears too: another check's evidence that
        carries it (:data:`EVIDENCE_OF`, e.g. the recomputed ``rmse_test`` of a hidden
        ``integrity.metrics`` in ``model.predict``'s probe details), or any other number only that
        hidden check shows (not the student's own logged metrics); a visible check skipped until a
        hidden one passes names it as the student sees it ("Hidden check 2").

        Idempotent; a result without hidden checks comes back equal to itself (``view`` aside).
        """
        logged = {_rounded(v) for r in self.runs for v in r.metrics.values() if _is_real(v)}
        secrets = {v for c in self.checks if c.hidden for v in _reals(c.evidence)} - logged
        owned = {key for c in self.checks if c.hidden for key in EVIDENCE_OF.get(c.id, ())}
        masked, n = {}, 0
        for check in self.checks:
            if check.hidden:
                n += 1
                masked[check.id] = check.masked(n, self.lang)
        checks = []
        for check in self.checks:
            if check.hidden:
                checks.append(masked[check.id])
                continue
            evidence = {k: v for k, v in check.evidence.items() if k not in owned and not (_reals(v) & secrets)}
            message = check.message
            first = masked.get(str(evidence.get("fix_first", "")))
            if first is not None:
                message = message.replace(str(evidence["fix_first"]), first.title)
                evidence["fix_first"] = first.id
            if evidence != check.evidence or message != check.message:
                check = replace(check, evidence=evidence, message=message)
            checks.append(check)
        return replace(self, checks=checks, view="student")

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (schema_version 1): keys here are never renamed, only added.

        JSON has no NaN or infinity: a non-finite number a student logged becomes ``null`` here
        (the check that cares names the value in its message).
        """
        return _json_safe(
            {
                "schema_version": self.schema_version,
                "grader": {"version": self.grader_version},
                "rubric": {"id": self.rubric_id, "title": self.rubric_title},
                "lang": self.lang,
                # tracking_uri_kind: kept for readers of schema 1 (derived from "store").
                "submission": {
                    **asdict(self.submission),
                    "tracking_uri_kind": store if (store := self.submission.store) in REMOTE_OR_DB else "file",
                },
                "experiment": self.experiment,
                "ranking": {"metric": self.metric, "order": self.order},
                "score": self.score,
                "max_score": self.max_score,
                "passed": self.passed,
                "duration_ms": round(self.duration_ms, 1),
                "checks": [asdict(c) for c in self.checks],
                "runs": [asdict(r) for r in self.runs],
                # {} or the late policy's verdict: days late, penalty (already off "score"), score_before...
                "late": dict(self.late),
                "view": self.view,
                **({"error": self.error} if self.error else {}),
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """Rebuild a result from its JSON report (used by batch summaries and tests)."""
        return cls(
            grader_version=data["grader"]["version"],
            rubric_id=data["rubric"]["id"],
            rubric_title=data["rubric"]["title"],
            lang=data.get("lang", "es"),
            submission=SubmissionInfo(
                **{k: v for k, v in data["submission"].items() if k in SubmissionInfo.__dataclass_fields__}
            ),
            checks=[CheckResult(**c) for c in data["checks"]],
            runs=[RunRow(**r) for r in data.get("runs", [])],
            experiment=data.get("experiment", ""),
            duration_ms=data.get("duration_ms", 0.0),
            schema_version=data.get("schema_version", SCHEMA_VERSION),
            metric=(data.get("ranking") or {}).get("metric", "rmse_test"),
            order=(data.get("ranking") or {}).get("order", "ASC"),
            late=dict(data.get("late") or {}),
            view=data.get("view", "instructor"),
            error=str(data.get("error") or ""),
        )

"""Plain data read from a submission's MLflow store.

Checks read only these dataclasses: they never import MLflow nor touch files. Every field is
already normalised (times in ms, metrics as floats or None, paths relative to the snapshot).
A part of the store that could not be read is recorded in :attr:`Evidence.errors` under its
section name, so the checks that need it end in ``error`` while the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ExperimentEv:
    experiment_id: str
    name: str
    lifecycle_stage: str = "active"


@dataclass
class ModelArtifactEv:
    """A logged model found in the snapshot (MLflow 2.x run artifact or 3.x LoggedModel)."""

    kind: str  # "run-artifact" (2.x) | "logged-model" (3.x)
    path: str  # folder holding MLmodel, relative to the snapshot root
    model_file: str | None  # e.g. "model.pkl", "model.skops"; None when MLmodel names a missing file
    flavors: list[str] = field(default_factory=list)
    model_id: str | None = None
    mlflow_version: str | None = None
    sklearn_version: str | None = None
    serialization_format: str | None = None
    problem: str | None = None  # why the model is unusable (missing file, unreadable MLmodel)
    #: The estimator's class as the model file names it, read statically (never unpickled),
    #: e.g. "sklearn.ensemble._forest.RandomForestRegressor"; None when it could not be told.
    estimator_class: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.model_file is not None


@dataclass
class RunEv:
    run_id: str
    run_name: str
    status: str  # FINISHED | RUNNING | FAILED | KILLED | SCHEDULED
    lifecycle_stage: str  # active | deleted
    start_time: int | None
    end_time: int | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    models: list[ModelArtifactEv] = field(default_factory=list)

    @property
    def short_id(self) -> str:
        return self.run_id[:8]

    @property
    def label(self) -> str:
        """How messages name a run: its name and short id (only the id for a run without a name, as
        MLflow 1.x logged them unless given one)."""
        return f"{self.run_name} ({self.short_id})" if self.run_name else self.short_id

    @property
    def has_model(self) -> bool:
        return any(m.ok for m in self.models)


@dataclass
class VersionEv:
    name: str
    version: int
    current_stage: str
    run_id: str | None
    source: str
    status: str = "READY"
    model_id: str | None = None
    aliases: list[str] = field(default_factory=list)
    model: ModelArtifactEv | None = None  # where the version's model lives in the snapshot
    creation_timestamp: int | None = None  # ms since the epoch
    last_updated_timestamp: int | None = None  # ms; a stage transition or alias move updates it


@dataclass
class RegisteredModelEv:
    name: str
    versions: list[VersionEv] = field(default_factory=list)
    aliases: dict[str, int] = field(default_factory=dict)

    def in_stage(self, stage: str) -> list[VersionEv]:
        """Versions in ``stage`` (case-insensitive), highest version first."""
        hits = [v for v in self.versions if v.current_stage.lower() == stage.lower()]
        return sorted(hits, key=lambda v: v.version, reverse=True)


@dataclass
class ProbeEv:
    """What the sandboxed probe saw when it loaded a model and predicted."""

    ok: bool
    predictions: list[Any] = field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None  # "timeout" | "crash" | "refused" | "unsupported" | "load" | "predict" | "missing"
    model_path: str | None = None
    made_with: dict[str, str] = field(default_factory=dict)
    graded_with: dict[str, str] = field(default_factory=dict)
    duration_ms: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class CellEv:
    """One cell of a notebook, as saved (notebooks are parsed, never executed)."""

    index: int  # 1-based, as Jupyter's UI counts
    cell_type: str  # "code" | "markdown" | "raw"
    source: str
    execution_count: int | None = None
    #: Output types in order: "execute_result", "stream", "display_data", "error".
    output_types: list[str] = field(default_factory=list)
    #: The outputs' plain text (text/plain data, stream text, "ename: evalue"), bounded.
    output_text: str = ""


@dataclass
class NotebookEv:
    """A ``*.ipynb`` found in the submission. ``error`` says why it could not be parsed."""

    path: str  # relative to the submission's folder
    cells: list[CellEv] = field(default_factory=list)
    error: str | None = None
    truncated: bool = False  # more cells than the reader keeps


@dataclass
class Evidence:
    """Everything the checks may look at."""

    experiment_name: str
    model_name: str
    store_kind: str
    layout: str
    experiments: list[ExperimentEv] = field(default_factory=list)
    experiment: ExperimentEv | None = None
    #: Active runs of ``experiment`` in ``search_runs(order_by=[<metric> ASC])`` order.
    runs: list[RunEv] = field(default_factory=list)
    #: Runs of ``experiment`` marked deleted (excluded by search_runs).
    deleted_runs: list[RunEv] = field(default_factory=list)
    registered_models: list[RegisteredModelEv] = field(default_factory=list)
    probe: ProbeEv | None = None
    #: Notebooks handed in with the store (see :mod:`grader.evidence.notebooks`).
    notebooks: list[NotebookEv] = field(default_factory=list)
    #: The instructor's deadline (``grade --deadline``), ms since the epoch; None: no deadline.
    deadline_ms: int | None = None
    #: When the grading ran, ms since the epoch (checks are pure: they never read the clock).
    graded_at_ms: int | None = None
    #: section ("experiments", "runs", "registry", "models", "probe", "notebooks") -> message of what failed
    errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: The store records runs but the submission holds none of their artifacts (a database handed
    #: in without its ``mlruns/`` folder).
    artifacts_missing: bool = False
    #: The store's file name as handed in (``mlflow.db``, ``mlruns``); "" for a server.
    store_name: str = ""

    def registered(self, name: str | None = None) -> RegisteredModelEv | None:
        name = name or self.model_name
        return next((m for m in self.registered_models if m.name == name), None)

    def run(self, run_id: str | None) -> RunEv | None:
        if not run_id:
            return None
        for r in (*self.runs, *self.deleted_runs):
            if r.run_id == run_id:
                return r
        return None

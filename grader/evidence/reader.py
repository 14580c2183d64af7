"""Read a snapshot through MLflow's own client into plain :mod:`~grader.evidence.model` data.

MLflow is used for everything whose semantics matter (``search_runs`` order and filtering,
registry stages and aliases), so the grader agrees with what the student's own
``mlflow.search_runs`` returns. Only the snapshot is ever opened.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import GraderError, SubmissionError
from ..submission.paths import inside, local_path
from ..submission.snapshot import OpenedStore
from .artifacts import describe_model, find_mlmodels
from .estimators import annotate as annotate_estimators
from .model import Evidence, ExperimentEv, ModelArtifactEv, RegisteredModelEv, RunEv, VersionEv
from .notebooks import read_notebooks

PAGE = 1000
#: A version's source naming another registered version: ``models:/NAME/3`` (not a LoggedModel ``m-<id>``).
_VERSION_SOURCE = re.compile(r"models:/(?!m-)([^/@]+)/([0-9]+)/?")


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Silence MLflow's FutureWarnings, migration logs and file-store refusal for this process only.

    MLflow gives some of its loggers (``mlflow.store.db.utils``) their own levels and handlers,
    so lowering the ``mlflow`` logger is not enough: logging below ERROR is disabled meanwhile.
    """
    previous_env = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    previous_disable = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous_disable)
        if previous_env is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = previous_env


@contextlib.contextmanager
def global_tracking_uri(uri: str) -> Iterator[None]:
    """Point MLflow's global tracking URI at the snapshot while reading it.

    MLflow's own stores sometimes build a default ``MlflowClient()`` internally (the 3.x file
    registry does, to resolve a version's LoggedModel); with no global URI that client opens
    ``sqlite:///mlflow.db`` in the current directory, creating a database there.
    """
    from mlflow.tracking._tracking_service import utils

    previous = utils._tracking_uri
    utils.set_tracking_uri(uri)
    try:
        yield
    finally:
        # None (no global URI) is restored as MLflow's own utils._use_tracking_uri restores it.
        utils.set_tracking_uri(previous)  # type: ignore[arg-type]


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (300 characters at most): how a report names an error."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def paged(call: Callable[..., Any], **kwargs: Any) -> list[Any]:
    """Every item of an MLflow ``search_*`` call, page after page (``PAGE`` at a time)."""
    items, token = [], None
    while True:
        page = call(max_results=PAGE, page_token=token, **kwargs) if token else call(max_results=PAGE, **kwargs)
        items.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return items


def _finite_or_none(value: Any) -> float | None:
    """NaN (MLflow's "no value") becomes None; infinities stay, so checks can name them."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if not math.isnan(number) else None


def _text(value: Any) -> str:
    """A string field of a run as text: a file store's ``meta.yaml`` may make it a number or a list."""
    return value if isinstance(value, str) else "" if value is None else str(value)


def _ms(value: Any) -> int | None:
    """A timestamp field as an int, or None when ``meta.yaml`` holds anything else."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _run_ev(run: Any) -> RunEv:
    info, data = run.info, run.data
    return RunEv(
        run_id=_text(info.run_id),
        run_name=_text(getattr(info, "run_name", None) or data.tags.get("mlflow.runName", "")),
        status=str(info.status),
        lifecycle_stage=str(info.lifecycle_stage),
        start_time=_ms(info.start_time),
        end_time=_ms(info.end_time),
        params=dict(data.params),
        metrics={k: _finite_or_none(v) for k, v in data.metrics.items()},
        tags={k: v for k, v in data.tags.items()},
    )


def _local_dir(uri: str | None, snap: OpenedStore) -> Path | None:
    path = local_path(uri or "")
    if path is None or not inside(path, snap.root):
        return None
    return path


def logged_model_id(source: str, model_id: str | None = None) -> str | None:
    """A version's LoggedModel id: its ``model_id`` (file store), else the one its source
    ``models:/m-<id>`` names (MLflow 3's SQLite store has no ``model_id`` column)."""
    match = re.fullmatch(r"models:/(m-[0-9a-zA-Z]+)/?", source)
    return model_id or (match.group(1) if match else None)


class Reader:
    """Reads one snapshot; each ``read_*`` fills a part of the evidence or records its error."""

    def __init__(self, snap: OpenedStore, experiment_name: str, model_name: str, metric: str) -> None:
        from mlflow.tracking import MlflowClient

        self.snap = snap
        self.client = MlflowClient(tracking_uri=snap.tracking_uri, registry_uri=snap.tracking_uri)
        self.metric = metric
        #: ``ASC`` (an error such as rmse: lower is better) or ``DESC`` (a score such as r2 or accuracy).
        self.order = "ASC"
        self.ev = Evidence(
            experiment_name=experiment_name, model_name=model_name, store_kind=snap.kind, layout="unknown"
        )
        self.logged: dict[str, ModelArtifactEv] = {}  # model_id -> model
        self._artifact_uris: dict[str, str] = {}  # run_id -> artifact_uri (rebased)

    def _dir(self, uri: str | None) -> Path | None:
        """The snapshot folder an artifact location names, None when outside the snapshot (a reader of
        another kind of source, see :mod:`grader.evidence.remote`, maps locations its own way)."""
        return _local_dir(uri, self.snap)

    def section(self, name: str, read: Callable[[], None]) -> None:
        try:
            read()
        except Exception as exc:  # noqa: BLE001 - recorded: the checks that need this section end in error
            self.ev.errors[name] = one_line(exc)

    def read_experiments(self) -> None:
        from mlflow.entities import ViewType

        experiments = paged(self.client.search_experiments, view_type=ViewType.ALL)
        self.ev.experiments = [ExperimentEv(e.experiment_id, e.name, e.lifecycle_stage) for e in experiments]
        named = [e for e in self.ev.experiments if e.name == self.ev.experiment_name]
        named.sort(key=lambda e: e.lifecycle_stage != "active")
        self.ev.experiment = named[0] if named and named[0].lifecycle_stage == "active" else None

    def read_runs(self) -> None:
        from mlflow.entities import ViewType

        if self.ev.experiment is None:
            return
        ids = [self.ev.experiment.experiment_id]
        # MLflow's own order: rows without the metric (or NaN) last, ties by start_time descending.
        order = [f"metrics.`{self.metric}` {self.order}"]
        active = paged(self.client.search_runs, experiment_ids=ids, order_by=order, run_view_type=ViewType.ACTIVE_ONLY)
        deleted = paged(
            self.client.search_runs, experiment_ids=ids, order_by=order, run_view_type=ViewType.DELETED_ONLY
        )
        self.ev.runs = [_run_ev(r) for r in active]
        self.ev.deleted_runs = [_run_ev(r) for r in deleted]
        self._artifact_uris = {r.info.run_id: r.info.artifact_uri for r in (*active, *deleted)}

    def read_models(self) -> None:
        """Logged models of each run: 3.x LoggedModels first, then MLmodel folders in run artifacts."""
        root = self.snap.root
        by_run: dict[str, list[ModelArtifactEv]] = {}
        if self.ev.experiment is not None and hasattr(self.client, "search_logged_models"):
            for lm in paged(self.client.search_logged_models, experiment_ids=[self.ev.experiment.experiment_id]):
                folder = self._dir(lm.artifact_location)
                model = (
                    describe_model(folder, root, "logged-model", lm.model_id)
                    if folder
                    else ModelArtifactEv(
                        "logged-model", "", None, model_id=lm.model_id, problem="artifacts outside the submission"
                    )
                )
                self.logged[lm.model_id] = model
                if lm.source_run_id:
                    by_run.setdefault(lm.source_run_id, []).append(model)
        for run in (*self.ev.runs, *self.ev.deleted_runs):
            folder = self._dir(self._artifact_uris.get(run.run_id))
            found = [describe_model(f, root, "run-artifact") for f in find_mlmodels(folder, root)] if folder else []
            run.models = by_run.get(run.run_id, []) + found
        annotate_estimators(
            [m for r in (*self.ev.runs, *self.ev.deleted_runs) for m in r.models], root, self.snap.files.content
        )

    def _registered_models(self) -> list[Any]:
        """The registered models to read (all of a submission's; a shared server's reader keeps fewer)."""
        return paged(self.client.search_registered_models)

    def read_registry(self) -> None:
        models = self._registered_models()
        result = []
        for rm in models:
            escaped = rm.name.replace("'", "\\'")
            versions = paged(self.client.search_model_versions, filter_string=f"name='{escaped}'")
            aliases = {str(a): int(v) for a, v in (getattr(rm, "aliases", None) or {}).items()}
            by_version: dict[int, list[str]] = {}
            for alias, version in aliases.items():
                by_version.setdefault(version, []).append(alias)
            evs = []
            for mv in versions:
                model_id = getattr(mv, "model_id", None)
                evs.append(
                    VersionEv(
                        name=mv.name,
                        version=int(mv.version),
                        current_stage=str(mv.current_stage or "None"),
                        run_id=mv.run_id or None,
                        source=str(mv.source or ""),
                        status=str(mv.status or ""),
                        model_id=model_id,
                        aliases=sorted(by_version.get(int(mv.version), [])),
                        model=self._version_model(mv, model_id),
                        creation_timestamp=getattr(mv, "creation_timestamp", None),
                        last_updated_timestamp=getattr(mv, "last_updated_timestamp", None),
                    )
                )
            result.append(RegisteredModelEv(rm.name, sorted(evs, key=lambda v: v.version), aliases))
        self.ev.registered_models = result
        for model in result:
            for version_ev in model.versions:
                if version_ev.run_id is None:
                    version_ev.run_id = self._run_of_source(version_ev.source, version_ev.model_id)

    def _storage_location(self, mv: Any) -> str | None:
        """Where the version's files are stored. ``search_model_versions`` entities of MLflow 3's SQLite
        store carry no ``storage_location``; MLflow resolves a version whose source is
        ``models:/NAME/VERSION`` (registered from another version) through it, which its own
        ``get_model_version_download_uri`` returns."""
        location = getattr(mv, "storage_location", None)
        if location or not _VERSION_SOURCE.fullmatch(str(mv.source or "")):
            return location
        try:
            return self.client.get_model_version_download_uri(mv.name, mv.version)
        except Exception:  # noqa: BLE001 - the source is then the last resort
            return None

    def _run_of_source(self, source: str, model_id: str | None, depth: int = 0) -> str | None:
        """The run a version comes from when it names none: its LoggedModel's source run, or, for a
        version registered from ``models:/NAME/VERSION`` (copied between models), that version's run
        (followed at most a few steps, so a cycle cannot loop)."""
        model_id = logged_model_id(source, model_id)
        if model_id:
            return self._source_run_of(model_id)
        match = _VERSION_SOURCE.fullmatch(source)
        if match is None or depth >= 5:
            return None
        try:
            other = self.client.get_model_version(match.group(1), match.group(2))
        except Exception:  # noqa: BLE001 - the referenced version is gone
            return None
        return other.run_id or self._run_of_source(str(other.source or ""), getattr(other, "model_id", None), depth + 1)

    def _source_run_of(self, model_id: str) -> str | None:
        try:
            return self.client.get_logged_model(model_id).source_run_id
        except Exception:  # noqa: BLE001 - a LoggedModel that is gone or unreadable names no run
            return None

    def _version_model(self, mv: Any, model_id: str | None) -> ModelArtifactEv | None:
        """Where the version's model lives, as ``models:/NAME/STAGE`` would resolve it: its LoggedModel
        (MLflow 3), else the ``runs:/RUN/PATH`` it names, else its storage location or source.

        The order is MLflow's; where each candidate is looked up is the three hooks below, which
        :class:`grader.evidence.remote.ServerReader` answers over HTTP instead of in the snapshot."""
        source = str(mv.source or "")
        model_id = logged_model_id(source, model_id)
        if model_id:
            if model_id in self.logged:
                return self.logged[model_id]
            try:
                found = self._logged_model_at(self.client.get_logged_model(model_id).artifact_location, model_id)
                if found is not None:
                    return found
            except Exception:  # noqa: BLE001 - fall back on the other fields
                pass
        run_ref = re.fullmatch(r"runs:/([0-9a-zA-Z]+)/(.+)", source)
        if run_ref:
            found = self._run_model_at(run_ref.group(1), run_ref.group(2))
            if found is None:
                found = self._run_logged_model(run_ref.group(1), run_ref.group(2).strip("/"))
            if found is not None:
                return found
        return self._stored_model_at(self._storage_location(mv), source)

    def _run_logged_model(self, run_id: str, name: str) -> ModelArtifactEv | None:
        """The run's LoggedModel called ``name``, as MLflow 3 resolves ``runs:/RUN/NAME`` when the run's
        own artifacts hold no such folder (a 3.x model registered with ``create_model_version(name,
        "runs:/RUN/model")`` keeps that source and no ``model_id``); None when there is none."""
        if not name or "/" in name or not hasattr(self.client, "search_logged_models"):
            return None
        experiment_ids = {self.ev.experiment.experiment_id} if self.ev.experiment is not None else set()
        if self.ev.run(run_id) is None:
            try:
                experiment_ids = {self.client.get_run(run_id).info.experiment_id}
            except Exception:  # noqa: BLE001 - a run that is gone names no model
                return None
        escaped = name.replace("'", "\\'")
        try:
            logged = paged(
                self.client.search_logged_models,
                experiment_ids=sorted(experiment_ids),
                filter_string=f"name = '{escaped}'",
            )
        except Exception:  # noqa: BLE001 - a store without LoggedModels (MLflow 2.x)
            return None
        match = next((lm for lm in logged if lm.source_run_id == run_id), None)
        if match is None:
            return None
        if match.model_id in self.logged:
            return self.logged[match.model_id]
        return self._logged_model_at(match.artifact_location, match.model_id)

    def _logged_model_at(self, location: str | None, model_id: str) -> ModelArtifactEv | None:
        """The LoggedModel whose artifacts are at ``location``, or None when it is not there."""
        folder = self._dir(location)
        return describe_model(folder, self.snap.root, "logged-model", model_id) if folder else None

    def _run_model_at(self, run_id: str, rel: str) -> ModelArtifactEv | None:
        """The model at ``rel`` in run ``run_id``'s artifacts, or None when it is not there."""
        root = self.snap.root
        run_root = self._dir(self._artifact_uris[run_id]) if run_id in self._artifact_uris else None
        folder = run_root / rel if run_root else None
        if folder is not None and inside(folder, root) and (folder / "MLmodel").is_file():
            return describe_model(folder, root, "run-artifact")
        return None

    def _stored_model_at(self, storage_location: str | None, source: str) -> ModelArtifactEv | None:
        """The model at the version's storage location or source (the last resort), or None."""
        for uri in (storage_location, source):
            folder = self._dir(uri)
            if folder is not None and (folder / "MLmodel").is_file():
                return describe_model(folder, self.snap.root, "run-artifact")
        return None

    def detect_layout(self) -> None:
        has_logged = bool(self.logged) or any(
            v.model_id or v.source.startswith("models:/m-") for m in self.ev.registered_models for v in m.versions
        )
        has_artifacts = any(m.kind == "run-artifact" for r in self.ev.runs for m in r.models)
        if has_logged:
            self.ev.layout = "3.x"
        elif has_artifacts:
            self.ev.layout = "2.x"
        else:
            self.ev.layout = self.snap.layout()


def collect(
    snap: OpenedStore,
    experiment_name: str,
    model_name: str,
    metric: str = "rmse_test",
    reader_class: type[Reader] | None = None,
    order: str = "ASC",
) -> Evidence:
    """Read everything the checks need from ``snap`` (the probe is added separately).

    ``reader_class``: a :class:`Reader` subclass for another kind of source (a tracking server or a
    PostgreSQL store, see :mod:`grader.evidence.remote`)."""
    with quiet_mlflow(), global_tracking_uri(snap.tracking_uri):
        try:
            reader = (reader_class or Reader)(snap, experiment_name, model_name, metric)
            reader.order = order
        except GraderError:
            raise
        except Exception as exc:  # noqa: BLE001 - MLflow refuses the store itself (a damaged or foreign database)
            name = getattr(getattr(snap, "located", None), "store", None)
            raise SubmissionError(
                f"MLflow cannot open the store {getattr(name, 'name', '')}: {one_line(exc)}"
            ) from None
        reader.section("experiments", reader.read_experiments)
        if "experiments" in reader.ev.errors:
            reader.ev.errors["runs"] = reader.ev.errors["experiments"]
        else:
            reader.section("runs", reader.read_runs)
        if "runs" not in reader.ev.errors:
            reader.section("models", reader.read_models)
        reader.section("registry", reader.read_registry)
        reader.detect_layout()
    reader.section(
        "notebooks", lambda: setattr(reader.ev, "notebooks", read_notebooks(snap.notebooks, snap.root / "notebooks"))
    )
    reader.ev.notes.extend(snap.notes)
    reader.ev.artifacts_missing = any(key == "runs_without_artifacts" for key, _ in getattr(snap, "notices", ()))
    located = getattr(snap, "located", None)
    reader.ev.store_name = located.store.name if located is not None and snap.kind in ("file", "sqlite") else ""
    return reader.ev

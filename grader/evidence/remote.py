"""Read a :class:`~grader.sources.opened.RemoteSource` (a tracking server or a PostgreSQL store).

Everything goes through MLflow's client exactly as for a folder (:class:`~grader.evidence.reader.Reader`:
``search_runs`` order, registry stages and aliases); only where the models are differs:

* :class:`ServerReader` never downloads a whole store. It *lists* each run's artifacts (MLflow 2.x)
  and each LoggedModel's (3.x) over the server, downloads only every model's ``MLmodel`` (a few
  hundred bytes) into the source's private folder, and tells from the listing whether the model file
  it names is there. :func:`fetch_production` then downloads the Production version's model folder,
  and only that one, so :func:`~grader.evidence.artifacts.describe_model` and the same sandboxed probe
  run on that local copy. Only artifacts the server itself serves are read (``mlflow-artifacts:``,
  or ``http(s)`` on the server's own host): a location such as ``file:///srv/mlruns/...`` or
  ``s3://...`` is reported as not served, never looked up on the grading machine.
* :class:`PostgresReader` reads the store like a folder submission's, with each stored artifact
  location mapped into the private copy of ``--artifacts DIR`` by the snapshot's Rebaser.

Both read through the source's own client (:meth:`RemoteSource.client`: MLflow's stores built with
this source's credentials) and its artifact repositories, never credentials from ``os.environ``:
several sources, each with its own credentials, can be read at once (threads).
"""

from __future__ import annotations

import posixpath
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..sources.opened import RemoteSource
from ..submission.paths import inside
from ..submission.snapshot import Rebaser
from .artifacts import MAX_MLMODEL_BYTES, describe_model, missing_model_file, model_file_candidates, read_mlmodel
from .estimators import annotate as annotate_estimators
from .model import Evidence, ModelArtifactEv
from .reader import Reader, collect, global_tracking_uri, one_line, paged, quiet_mlflow

SERVED_SCHEMES = ("mlflow-artifacts", "http", "https")
#: Listing bounds: how deep below a run's artifact root an MLmodel is looked for, and how many
#: entries a model folder may have.
SEARCH_DEPTH = 3
MAX_LISTED = 2000
MAX_MODEL_FILES = 1000
MAX_MODEL_FILE_BYTES = 1024**3
MAX_MODEL_BYTES = 2 * 1024**3


class _Remote:
    """Where a remotely described model lives: an artifact root URI and the folder below it."""

    def __init__(self, uri: str, rel: str, kind: str, model_id: str | None) -> None:
        self.uri, self.rel, self.kind, self.model_id = uri, rel, kind, model_id


def _safe_rel(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    return not path.startswith(("/", "\\")) and ".." not in parts and ":" not in parts[0]


class _SharedStore:
    """A server or a course database holds the whole class: of its registered models, read only the
    graded one and those registered from the graded experiment's runs (a misnamed model of the
    student's own), never every student's (their names would reach this student's report, and
    reading them all costs a request or more per model and per student).

    Its client is the source's own (:meth:`RemoteSource.client`), with the source's credentials."""

    ev: Evidence  # set by Reader.__init__ (this mixin comes before Reader)
    client: Any

    def __init__(self, snap: RemoteSource, experiment_name: str, model_name: str, metric: str) -> None:
        super().__init__(snap, experiment_name, model_name, metric)  # type: ignore[call-arg]  # Reader's
        if snap.connect is not None:  # else MLflow's default client of the URI is the source's own
            self.client = snap.client()

    def _registered_models(self) -> list[Any]:
        run_ids = {r.run_id for r in (*self.ev.runs, *self.ev.deleted_runs)}
        kept = []
        for rm in paged(self.client.search_registered_models):
            latest = getattr(rm, "latest_versions", None) or []
            if rm.name == self.ev.model_name or any(getattr(v, "run_id", None) in run_ids for v in latest):
                kept.append(rm)
        return kept


class ServerReader(_SharedStore, Reader):
    """A :class:`Reader` over a tracking server: models are listed remotely, never bulk-downloaded."""

    def __init__(self, snap: RemoteSource, experiment_name: str, model_name: str, metric: str) -> None:
        super().__init__(snap, experiment_name, model_name, metric)
        self.source = snap
        self._repos: dict[str, Any] = {}
        self._described: dict[tuple[str, str], ModelArtifactEv] = {}
        host = urlsplit(snap.tracking_uri)
        self._netloc = host.netloc.lower()

    # ----------------------------------------------------------------- remote artifacts

    def served(self, uri: str | None) -> bool:
        """Whether the tracking server itself serves ``uri`` (never a path on the grading machine)."""
        if not uri:
            return False
        parts = urlsplit(uri)
        if parts.scheme not in SERVED_SCHEMES:
            return False
        if parts.scheme == "mlflow-artifacts" and not parts.netloc:
            return True  # resolved against the tracking URI
        return parts.netloc.lower() == self._netloc

    def _not_served(self, uri: str | None) -> str:
        if not uri:
            return "no artifact location recorded"
        scheme = urlsplit(uri).scheme or "a local path"
        if scheme in ("file", "a local path"):
            return (
                f"its artifacts are stored at {scheme} on the server's machine and the server does not serve them "
                "(start mlflow server with --serve-artifacts)"
            )
        if scheme in SERVED_SCHEMES:
            return "its artifacts are served by another host than the tracking server: not read"
        return f"its artifacts are in {scheme}:// storage, which the grader does not read (only what the server serves)"

    def repo(self, uri: str):
        if uri not in self._repos:
            self._repos[uri] = self.source.artifact_repository(uri)
        return self._repos[uri]

    def listing(self, uri: str, rel: str) -> list[Any]:
        entries = self.repo(uri).list_artifacts(rel or None)
        return [e for e in entries if _safe_rel(e.path)]

    def _find_mlmodels(self, uri: str) -> list[str]:
        """Folders (relative to ``uri``) holding an ``MLmodel``, breadth first, bounded."""
        hits, queue, seen = [], [("", 0)], 0
        while queue:
            rel, depth = queue.pop(0)
            entries = self.listing(uri, rel)
            seen += len(entries)
            if seen > MAX_LISTED:
                break
            if any(not e.is_dir and posixpath.basename(e.path) == "MLmodel" for e in entries):
                hits.append(rel)
                continue
            if depth < SEARCH_DEPTH:
                queue += [(e.path, depth + 1) for e in sorted(entries, key=lambda e: e.path) if e.is_dir]
        return hits

    def remote_model(self, uri: str | None, rel: str, kind: str, model_id: str | None = None) -> ModelArtifactEv:
        """Describe the model in folder ``rel`` of ``uri`` from its listing and its downloaded ``MLmodel``."""
        key = (uri or "", rel)
        if key in self._described:
            return self._described[key]
        ev = self._describe(uri, rel, kind, model_id)
        self._described[key] = ev
        return ev

    def _describe(self, uri: str | None, rel: str, kind: str, model_id: str | None) -> ModelArtifactEv:
        root = self.source.root
        if not self.served(uri):
            return ModelArtifactEv(kind, "", None, model_id=model_id, problem=self._not_served(uri))
        assert uri is not None
        try:
            entries = self.listing(uri, rel)
        except Exception as exc:  # noqa: BLE001 - recorded on the model
            return ModelArtifactEv(
                kind,
                "",
                None,
                model_id=model_id,
                problem=f"artifacts could not be listed over the server ({one_line(exc)})",
            )
        files = {posixpath.basename(e.path): e.file_size for e in entries if not e.is_dir}
        if "MLmodel" not in files:
            return ModelArtifactEv(kind, "", None, model_id=model_id, problem="no MLmodel")
        if (files["MLmodel"] or 0) > MAX_MLMODEL_BYTES:
            return ModelArtifactEv(kind, "", None, model_id=model_id, problem="MLmodel too large")
        local = root / "remote" / f"{len(self.source.remote_models):04d}"
        try:
            local.mkdir(parents=True, exist_ok=True)
            self.repo(uri).download_artifacts(posixpath.join(rel, "MLmodel") if rel else "MLmodel", str(local))
        except Exception as exc:  # noqa: BLE001
            return ModelArtifactEv(
                kind,
                "",
                None,
                model_id=model_id,
                problem=f"MLmodel could not be downloaded over the server ({one_line(exc)})",
            )
        folder = local.joinpath(*rel.split("/")) if rel else local
        if not inside(folder, root):
            return ModelArtifactEv(
                kind, "", None, model_id=model_id, problem="artifact path leaves the grader's folder"
            )
        ev = describe_model(folder, root, kind, model_id)
        if ev.problem not in ("MLmodel unreadable", "no MLmodel"):
            self._model_file_from_listing(ev, folder, files, uri, rel)
        self.source.remote_models[ev.path] = _Remote(uri, rel, kind, model_id)
        return ev

    def _model_file_from_listing(
        self, ev: ModelArtifactEv, folder: Path, files: dict[str, Any], uri: str, rel: str
    ) -> None:
        """What describe_model would say if the model file were local: the listing tells."""
        candidates = model_file_candidates(read_mlmodel(folder) or {})
        for name in candidates:
            if not _safe_rel(name):
                continue
            sizes = files
            if "/" in name.strip("/"):
                parent = posixpath.dirname(name.strip("/"))
                try:
                    sizes = {
                        posixpath.relpath(e.path, rel or "."): e.file_size
                        for e in self.listing(uri, posixpath.join(rel, parent) if rel else parent)
                        if not e.is_dir
                    }
                except Exception:  # noqa: BLE001 - then it is missing
                    sizes = {}
            if name.strip("/") in sizes:
                ev.model_file = name
                ev.problem = f"{name} is empty" if sizes[name.strip("/")] == 0 else None
                return
        ev.model_file = None
        ev.problem = missing_model_file(candidates)

    # ----------------------------------------------------------------- Reader overrides

    def read_models(self) -> None:
        """LoggedModels (3.x) and MLmodel folders in run artifacts (2.x), both listed remotely."""
        by_run: dict[str, list[ModelArtifactEv]] = {}
        if self.ev.experiment is not None and hasattr(self.client, "search_logged_models"):
            try:
                logged = paged(self.client.search_logged_models, experiment_ids=[self.ev.experiment.experiment_id])
            except Exception as exc:  # an MLflow 2.x server has no LoggedModels (re-raised otherwise)
                logged = []
                if "ENDPOINT_NOT_FOUND" not in str(exc) and "404" not in str(exc):
                    raise
            for lm in logged:
                model = self.remote_model(lm.artifact_location, "", "logged-model", lm.model_id)
                self.logged[lm.model_id] = model
                if lm.source_run_id:
                    by_run.setdefault(lm.source_run_id, []).append(model)
        for run in (*self.ev.runs, *self.ev.deleted_runs):
            uri = self._artifact_uris.get(run.run_id)
            found = []
            if uri and self.served(uri):
                found = [self.remote_model(uri, rel, "run-artifact") for rel in self._find_mlmodels(uri)]
            run.models = by_run.get(run.run_id, []) + found

    def _version_model(self, mv: Any, model_id: str | None) -> ModelArtifactEv | None:
        """As :meth:`Reader._version_model`, described remotely, and only for the graded model
        (another one's is not needed, and costs requests)."""
        if mv.name != self.ev.model_name:
            return None
        return super()._version_model(mv, model_id)

    def _logged_model_at(self, location: str | None, model_id: str) -> ModelArtifactEv | None:
        return self.remote_model(location, "", "logged-model", model_id)

    def _run_model_at(self, run_id: str, rel: str) -> ModelArtifactEv | None:
        if not _safe_rel(rel):
            return None
        uri = self._artifact_uris.get(run_id)
        if uri is None:
            try:
                uri = self.client.get_run(run_id).info.artifact_uri
            except Exception:  # noqa: BLE001
                return None
        return self.remote_model(uri, rel.strip("/"), "run-artifact")

    def _stored_model_at(self, storage_location: str | None, source: str) -> ModelArtifactEv | None:
        for uri in (storage_location, source):
            if uri and self.served(uri):
                return self.remote_model(uri, "", "run-artifact")
        first = storage_location or source
        return ModelArtifactEv("run-artifact", "", None, problem=self._not_served(first)) if first else None


class PostgresReader(_SharedStore, Reader):
    """A :class:`Reader` over a PostgreSQL store: artifact locations map into the ``--artifacts`` copy."""

    def _dir(self, uri: str | None) -> Path | None:
        rebaser = getattr(self.snap, "rebaser", None)
        if not uri or rebaser is None or not Rebaser.rebasable(uri):
            return None
        path = rebaser.local(uri)
        return path if inside(path, self.snap.root) else None


# --------------------------------------------------------------------------- the Production model


def _download_model(reader_source: RemoteSource, where: _Remote, dst: Path) -> tuple[Path, int]:
    """Download the whole model folder (bounded in files and bytes) below ``dst``; returns its folder."""
    repo = reader_source.artifact_repository(where.uri)
    files, queue, total = [], [(where.rel, 0)], 0
    while queue:
        rel, depth = queue.pop(0)
        for entry in repo.list_artifacts(rel or None):
            if not _safe_rel(entry.path):
                continue
            if entry.is_dir:
                if depth < 4:
                    queue.append((entry.path, depth + 1))
                continue
            size = int(entry.file_size or 0)
            if size > MAX_MODEL_FILE_BYTES:
                raise ValueError(
                    f"{entry.path} is {size / 1024**2:.0f} MiB, "
                    f"over the {MAX_MODEL_FILE_BYTES // 1024**2} MiB limit per file"
                )
            total += size
            files.append(entry.path)
            if len(files) > MAX_MODEL_FILES or total > MAX_MODEL_BYTES:
                raise ValueError("the model folder is too large to download")
    dst.mkdir(parents=True, exist_ok=True)
    for path in files:
        repo.download_artifacts(path, str(dst))
    folder = dst.joinpath(*where.rel.split("/")) if where.rel else dst
    return folder, total


def fetch_production(source: RemoteSource, ev: Evidence, settings) -> None:
    """Download the model of the version graded as Production, and describe that local copy."""
    from .selections import production_version

    if "registry" in ev.errors:
        return
    version = production_version(ev, settings)
    if version is None or version.model is None or version.model.path not in source.remote_models:
        return
    where = source.remote_models[version.model.path]
    safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", version.name)[:80]
    dst = source.root / "models" / f"{safe_name}-v{version.version}"
    started = time.perf_counter()
    with quiet_mlflow(), global_tracking_uri(source.tracking_uri):
        try:
            folder, size = _download_model(source, where, dst)
        except Exception as exc:  # noqa: BLE001 - the probe then reports the model as missing
            version.model = ModelArtifactEv(
                where.kind,
                version.model.path,
                None,
                model_id=where.model_id,
                problem=f"could not be downloaded over the server ({one_line(exc)})",
            )
            return
    if not inside(folder, source.root):
        return
    model = describe_model(folder, source.root, where.kind, where.model_id)
    annotate_estimators([model], source.root)
    version.model = model
    ev.notes.append(
        f"downloaded the model of {version.name} v{version.version} ({size / 1024**2:.1f} MiB) over the "
        f"server in {time.perf_counter() - started:.1f} s, to probe it"
    )


# --------------------------------------------------------------------------- entry point


def collect_source(
    snap,
    experiment_name: str,
    model_name: str,
    metric: str = "rmse_test",
    *,
    settings=None,
    fetch: bool = True,
    order: str = "ASC",
) -> Evidence:
    """:func:`~grader.evidence.reader.collect` for any source: a snapshot, a server or a PostgreSQL store.

    For a server, ``fetch`` downloads the Production version's model (when the probe will run)."""
    if not isinstance(snap, RemoteSource):
        return collect(snap, experiment_name, model_name, metric, order=order)
    reader_class = ServerReader if snap.kind == "server" else PostgresReader
    try:
        ev = collect(snap, experiment_name, model_name, metric, reader_class=reader_class, order=order)
        if snap.kind == "server" and fetch:
            fetch_production(snap, ev, settings or {})
    finally:
        snap.release_threads()  # so that the probe can be forked (one thread) rather than spawned
    _scrub(ev, snap)
    return ev


def _scrub(ev: Evidence, source: RemoteSource) -> None:
    """No credential in anything the evidence carries into a report."""
    ev.errors = {k: source.scrub(v) for k, v in ev.errors.items()}
    ev.notes = [source.scrub(n) for n in ev.notes]
    for model in [m for r in (*ev.runs, *ev.deleted_runs) for m in r.models] + [
        v.model for rm in ev.registered_models for v in rm.versions if v.model is not None
    ]:
        if model.problem:
            model.problem = source.scrub(model.problem)


__all__ = ["PostgresReader", "ServerReader", "collect_source", "fetch_production"]

"""Session fixtures: reference submissions (MLflow 3.x, built once), committed MLflow 2.22 stores,
and broken variants of them on fresh copies.

Tests live in folders that mirror ``grader/``'s packages (``batch/``, ``checks/`` with the YAML
cases, ``probe/``, ``reports/``, ``sources/``, ``submission/``); the rest, about the API, the command
line and the whole pipeline, here.

Fixtures
--------
``reference_builds``         session; {"file": summary, "sqlite": summary} of the 3.x reference
                             builds (``summary["out_dir"]`` is the folder, ``best_run_id``...).
``reference_store_file``     session; Path of the 3.x file-store submission (``DIR/mlruns``).
``reference_store_sqlite``   session; Path of the 3.x SQLite submission (``DIR/mlflow.db`` +
                             ``DIR/mlruns``).
``reference_store``          session; callable ``(backend) -> Path`` over the two above.
``v2_store_file``            session; Path of the committed MLflow 2.22 file store.
``v2_store_sqlite``          session; Path of the committed MLflow 2.22 SQLite store.
``v2_store``                 session; callable ``(backend) -> Path``.
``v2_build_summary``         session; dict from ``fixtures/stores/mlflow-2.22/build-summary.json``.
``make_variant_store``       function; callable ``(variant, backend, layout="3.x") -> Path`` of a
                             fresh copy in ``tmp_path`` with the variant applied (``variant`` may be
                             ``"reference"``: a plain copy); ``make_variant_store.info(path)`` gives
                             what was changed (see ``fixtures.variants.make_variant``).
``allow_file_store``         function; sets ``MLFLOW_ALLOW_FILE_STORE=true`` (monkeypatch).
``core_rubric_file``         session; YAML path of the six core checks' test rubric (14 points:
                             ``tests/rubrics/core.yaml``, independent of the shipped rubric).
``v2_rubric_file``           session; YAML path of the shipped rubric with the 2.22 stores' sweep grid.

The session stores are shared: never write into them nor open them with MLflow (it writes);
use ``make_variant_store("reference", ...)`` for a private copy. The committed 2.22 stores are
checked unchanged at the end of the session.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

# tests/ and its folders (they mirror grader/'s packages: batch, checks, probe, reports, sources,
# submission) are importable, so that a test anywhere may reuse another's helpers
# (``from test_server import MlflowServer``) whichever file pytest is asked to run.
_TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(_TESTS), *sorted(str(d) for d in _TESTS.iterdir() if d.is_dir() and any(d.glob("test_*.py")))]

from helpers import (  # noqa: E402
    BACKENDS,
    V2_STORES_DIR,
    load_fixtures_modules,
    tree_digest,
)

reference_solution, variants = load_fixtures_modules()

# Small models keep the 3.x build fast (about 15 s per backend, both in parallel).
REFERENCE_OPTIONS = {"train_rows": 300}


def _check_backend(backend):
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    return backend


@pytest.fixture(scope="session")
def reference_builds(tmp_path_factory):
    base = tmp_path_factory.mktemp("reference-3x")
    with ThreadPoolExecutor(max_workers=len(BACKENDS)) as pool:
        futures = {b: pool.submit(reference_solution.build, base / b, b, **REFERENCE_OPTIONS)
                   for b in BACKENDS}
        return {b: f.result() for b, f in futures.items()}


@pytest.fixture(scope="session")
def reference_store_file(reference_builds) -> Path:
    return Path(reference_builds["file"]["out_dir"])


@pytest.fixture(scope="session")
def reference_store_sqlite(reference_builds) -> Path:
    return Path(reference_builds["sqlite"]["out_dir"])


@pytest.fixture(scope="session")
def reference_store(reference_builds):
    def get(backend: str) -> Path:
        return Path(reference_builds[_check_backend(backend)]["out_dir"])
    return get


def _v2_path(backend: str) -> Path:
    path = V2_STORES_DIR / _check_backend(backend)
    if not path.is_dir():
        pytest.fail(f"committed MLflow 2.22 store missing: {path} (see fixtures/stores/README.md)")
    return path


@pytest.fixture(scope="session")
def v2_store_file() -> Path:
    return _v2_path("file")


@pytest.fixture(scope="session")
def v2_store_sqlite() -> Path:
    return _v2_path("sqlite")


@pytest.fixture(scope="session")
def v2_store():
    return _v2_path


@pytest.fixture(scope="session")
def v2_build_summary() -> dict:
    return json.loads((V2_STORES_DIR / "build-summary.json").read_text())


#: The checks of the homework's letter (the shipped rubric has more: exercises, integrity, notebook).
CORE_CHECKS = ("runs.count", "runs.fields", "runs.model", "registry.production", "registry.best_run", "model.predict")


def _rubric_file(tmp_path_factory, name: str, change) -> Path:
    data = yaml.safe_load((Path(__file__).resolve().parents[1] / "rubrics" / "homework-195.yaml").read_text(encoding="utf-8"))
    data["id"] = f"homework-195-{name}"
    change(data)
    path = tmp_path_factory.mktemp("rubric") / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def core_rubric_file() -> Path:
    """The test rubric of :data:`CORE_CHECKS` (``tests/rubrics/core.yaml``, 14 points): for tests about
    report formats and the CLI, whose numbers must not move when the shipped rubric changes."""
    path = Path(__file__).resolve().parent / "rubrics" / "core.yaml"
    assert tuple(c["id"] for c in yaml.safe_load(path.read_text(encoding="utf-8"))["checks"]) == CORE_CHECKS
    return path


@pytest.fixture(scope="session")
def v2_rubric_file(tmp_path_factory) -> Path:
    """The shipped rubric with the sweep grid the committed 2.22 stores were built with
    (``n_estimators`` {4, 8}: tiny forests, see fixtures/stores/README.md), as an instructor who
    changed the grid would set it: with it, those stores pass every check."""
    def small_grid(data):
        for check in data["checks"]:
            if check["id"] == "exercise.sweep":
                check["settings"] = {**(check.get("settings") or {}), "n_estimators": [4, 8]}
    return _rubric_file(tmp_path_factory, "v2-grid", small_grid)


class VariantStoreFactory:
    """``factory(variant, backend, layout="3.x") -> Path`` of a fresh broken copy."""

    def __init__(self, tmp_path: Path, request):
        self._tmp = tmp_path
        self._request = request
        self._infos: dict[Path, dict] = {}

    def base(self, backend: str, layout: str) -> Path:
        layout = variants.normalize_layout(layout)
        if layout == "2.x":
            return _v2_path(backend)
        builds = self._request.getfixturevalue("reference_builds")  # built only when needed
        return Path(builds[_check_backend(backend)]["out_dir"])

    def __call__(self, variant: str, backend: str, layout: str = "3.x") -> Path:
        layout = variants.normalize_layout(layout)
        src = self.base(backend, layout)
        holder = self._tmp / f"{variant}-{backend}-{layout}-{len(self._infos)}"
        holder.mkdir(parents=True)
        dst = holder / "submission"
        self._infos[dst] = variants.make_variant(src, dst, variant)
        return dst

    def info(self, path) -> dict:
        return self._infos[Path(path)]


@pytest.fixture
def make_variant_store(tmp_path, request) -> VariantStoreFactory:
    return VariantStoreFactory(tmp_path, request)


@pytest.fixture
def allow_file_store(monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")


@pytest.fixture(scope="session", autouse=True)
def _committed_v2_stores_untouched():
    """The committed stores (fixtures/stores: 2.22 and every other MLflow version) are inputs:
    fail the session if anything changed them."""
    stores = V2_STORES_DIR.parent
    before = tree_digest(stores) if stores.is_dir() else None
    yield
    if before is not None:
        after = tree_digest(stores)
        assert after == before, f"{stores} was modified during the test session"


@pytest.fixture(scope="session", autouse=True)
def _no_store_created_in_cwd():
    """MLflow creates ./mlflow.db (or ./mlruns) when a client runs without a URI: the grader must
    never let that happen, whatever the entry point. Fail the session if one appears."""
    places = {Path.cwd(), Path(__file__).resolve().parents[1]}
    strays = [p / name for p in places for name in ("mlflow.db", "mlruns")]
    existed = {p for p in strays if p.exists()}
    yield
    created = [str(p) for p in strays if p.exists() and p not in existed]
    assert not created, f"a test run created {created}: some code used MLflow without a tracking URI"

"""The fixtures are what they claim, proved with the real MLflow client on copies.

* the reference stores (3.x built now, 2.22 committed; file and SQLite) meet the acceptance
  criterion: search_runs top row run_id == Production version's run_id, >= 10 runs with
  model_type / rmse_test / r2_test and a logged model, and the Production model predicts;
* each variant breaks exactly the rule it names, and its specific claim holds;
* nothing here writes into a base store.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest

from helpers import (
    BACKENDS,
    EXPECTED_BROKEN_RULE,
    LAYOUTS,
    MODEL_NAME,
    V2_STORES_DIR,
    broken_rules,
    load_fixtures_modules,
    mlflow_rules,
    quiet_mlflow,
    tracking_uri_for,
    tree_digest,
)

reference_solution, variants = load_fixtures_modules()

VARIANT_NAMES = tuple(variants.VARIANTS)


@pytest.fixture(autouse=True)
def _forget_tracking_uri():
    """Each test's store is the global tracking URI only while the test runs (see :func:`_client`)."""
    yield
    from mlflow.tracking._tracking_service import utils

    utils.set_tracking_uri(None)


def _client(root):
    """A client on ``root``, which is also made the global tracking URI: MLflow 3's file registry
    resolves LoggedModels with a default ``MlflowClient()``, which would otherwise create
    ``./mlflow.db`` in the current directory."""
    from mlflow.tracking import MlflowClient
    from mlflow.tracking._tracking_service import utils

    uri = tracking_uri_for(root)
    utils.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _model_file_names(model_dir: Path) -> set:
    return {p.name for p in model_dir.iterdir() if p.name in ("model.pkl", "model.skops")}


# --------------------------------------------------------------------------- static facts

def test_variant_ids_are_stable():
    assert set(VARIANT_NAMES) == {
        "too_few_runs", "missing_metric", "wrong_experiment_name", "no_registered_model",
        "staging_only", "production_not_best", "deleted_best_run", "broken_model_file",
    }
    assert set(EXPECTED_BROKEN_RULE) == set(VARIANT_NAMES) | {"reference"}


def test_reference_summaries(reference_builds):
    for backend, summary in reference_builds.items():
        assert summary["backend"] == backend
        assert summary["mlflow"].startswith("3.")
        assert summary["runs"] == 13 and summary["version"] == 1
        assert summary["best_run_name"].startswith("rf-d")
        assert len(summary["predictions"]) == 5
    # Same data, same seeds: both backends picked the same model.
    f, s = reference_builds["file"], reference_builds["sqlite"]
    assert f["best_run_name"] == s["best_run_name"]
    assert f["best_rmse_test"] == s["best_rmse_test"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_reference_3x_layout(reference_store, backend):
    """3.x layout without MLflow: LoggedModels under models/m-*, skops for LinearRegression,
    cloudpickle for forests, SQLite artifacts under DIR/mlruns."""
    root = reference_store(backend)
    info = variants.inspect_store(root)
    assert info["layout"] == "3.x" and info["backend"] == backend
    view = variants.open_store(root)
    try:
        runs = {r.name: r for r in view.runs()}
        assert len(runs) == 13
        for name, run in runs.items():
            assert len(run.model_ids) == 1, name
            files = _model_file_names(view.logged_model_dir(run.model_ids[0]))
            assert files == ({"model.skops"} if name == "linreg-manual" else {"model.pkl"}), name
        prod = view.production_version()
        assert prod.source == f"models:/{runs[_name_of(view, prod.run_id)].model_ids[0]}"
    finally:
        view.close()
    if backend == "sqlite":
        with sqlite3.connect(root / "mlflow.db") as conn:
            (loc,) = conn.execute("SELECT artifact_location FROM experiments "
                                  "WHERE name = 'homework-195'").fetchone()
        assert Path(loc.removeprefix("file://")).is_relative_to(root / "mlruns")


def _name_of(view, run_id):
    return next(r.name for r in view.runs() if r.run_id == run_id)


@pytest.mark.parametrize("backend", BACKENDS)
def test_v2_store_is_mlflow_2_22_and_moved(v2_store, v2_build_summary, backend):
    """Read without MLflow: 2.x layout, written by 2.22.5, stale absolute paths."""
    root = v2_store(backend)
    info = variants.inspect_store(root)
    assert info["layout"] == "2.x" and info["backend"] == backend
    assert info["active_runs"] == 13
    assert info["top_run_id"] == info["production_run_id"] == v2_build_summary[backend]["best_run_id"]
    mlmodels = list((root / "mlruns").rglob("MLmodel"))
    assert len(mlmodels) == 13
    assert all("mlflow_version: 2.22.5" in p.read_text() for p in mlmodels)
    assert not list((root / "mlruns").rglob("model.skops"))
    assert not list((root / "mlruns").glob("*/models/m-*"))
    build_dir = v2_build_summary["build_dir"]
    assert build_dir.startswith("/tmp/build-v2-")
    if backend == "sqlite":
        with sqlite3.connect(f"file:{root / 'mlflow.db'}?mode=ro", uri=True) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (
                "0584bdc529eb",)
            (source,) = conn.execute("SELECT source FROM model_versions").fetchone()
        assert source.startswith(build_dir)
    else:
        meta = (root / "mlruns" / "models" / MODEL_NAME / "version-1" / "meta.yaml").read_text()
        assert f"source: file://{build_dir}" in meta
        assert not (root / "mlruns" / ".trash").exists()  # dropped, as by git


# --------------------------------------------------------------------------- real MLflow

@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_reference_meets_acceptance_criterion(make_variant_store, allow_file_store,
                                              reference_builds, v2_build_summary, backend, layout):
    root = make_variant_store("reference", backend, layout)
    result = mlflow_rules(root)
    assert broken_rules(result) == set(), result
    assert all(result["rules"].values()), result
    expected = (reference_builds if layout == "3.x" else v2_build_summary)[backend]
    assert result["top_run_id"] == result["production"]["run_id"] == expected["best_run_id"]
    assert len(result["active_run_ids"]) == expected["runs"] == 13
    # The Production model, loaded from its folder in the copy, predicts what the student's final
    # cell printed when the store was made.
    assert result["predictions"] == pytest.approx(expected["predictions"], rel=1e-9)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_variant_breaks_exactly_its_rule(make_variant_store, allow_file_store, variant, backend,
                                         layout):
    root = make_variant_store(variant, backend, layout)
    info = make_variant_store.info(root)
    assert info["backend"] == backend and info["layout"] == variants.normalize_layout(layout)
    result = mlflow_rules(root)
    assert broken_rules(result) == {EXPECTED_BROKEN_RULE[variant]}, result
    CLAIMS[variant](root, info, result)


# ---- what each variant claims, checked with MLflow

def _claim_too_few_runs(root, info, result):
    assert len(result["active_run_ids"]) == variants.TARGET_ACTIVE_RUNS == 8
    assert not set(info["removed_run_ids"]) & set(result["active_run_ids"])
    assert info["best_run_id"] in result["active_run_ids"]
    from mlflow.entities import ViewType
    client = _client(root)
    all_runs = client.search_runs([result["experiment_id"]], run_view_type=ViewType.ALL)
    assert len(all_runs) == 8  # removed physically, not merely marked deleted


def _claim_missing_metric(root, info, result):
    assert list(result["missing_fields"]) == [info["run_id"]]
    assert result["missing_fields"][info["run_id"]] == ["r2_test"]
    client = _client(root)
    run = client.get_run(info["run_id"])
    assert "r2_test" not in run.data.metrics and "rmse_test" in run.data.metrics
    assert client.get_metric_history(info["run_id"], "r2_test") == []
    assert info["run_id"] != result["top_run_id"]


def _claim_wrong_experiment_name(root, info, result):
    client = _client(root)
    assert client.get_experiment_by_name("homework-195") is None
    exp = client.get_experiment_by_name("homework195")
    assert exp is not None and exp.experiment_id == info["experiment_id"]
    assert len(result["active_run_ids"]) == 13


def _claim_no_registered_model(root, info, result):
    client = _client(root)
    assert client.search_registered_models(f"name='{MODEL_NAME}'") == []
    assert client.search_model_versions(f"name='{MODEL_NAME}'") == []


def _claim_staging_only(root, info, result):
    client = _client(root)
    staging = client.get_latest_versions(MODEL_NAME, stages=["Staging"])
    assert [v.run_id for v in staging] == [info["best_run_id"]]
    assert client.get_latest_versions(MODEL_NAME, stages=["Production"]) == []
    assert result["top_run_id"] == info["best_run_id"]


def _claim_production_not_best(root, info, result):
    prod_run = result["production"]["run_id"]
    assert prod_run == info["production_run_id"] != result["top_run_id"] == info["best_run_id"]
    client = _client(root)
    worse = client.get_run(prod_run).data.metrics["rmse_test"]
    best = client.get_run(result["top_run_id"]).data.metrics["rmse_test"]
    assert worse > best
    # The version's model really is the other run's model, consistently for the layout.
    if info["layout"] == "3.x":
        model_id = result["production"]["source"].removeprefix("models:/")
        assert model_id == info["model_id"]
        assert client.get_logged_model(model_id).source_run_id == prod_run
    else:
        assert f"/{prod_run}/artifacts/model" in result["production"]["source"]
    assert Path(result["production_model_dir"]) == Path(info["model_dir"])
    assert (Path(info["model_dir"]) / "registered_model_meta").is_file()


def _claim_deleted_best_run(root, info, result):
    from mlflow.entities import ViewType
    client = _client(root)
    deleted = info["deleted_run_id"]
    assert client.get_run(deleted).info.lifecycle_stage == "deleted"
    assert deleted not in result["active_run_ids"]
    assert result["top_run_id"] == info["new_top_run_id"] != deleted
    assert result["production"]["run_id"] == deleted
    all_ids = [r.info.run_id for r in client.search_runs(
        [result["experiment_id"]], order_by=["metrics.rmse_test ASC"],
        run_view_type=ViewType.ALL)]
    assert deleted in all_ids and len(all_ids) == 13


def _claim_broken_model_file(root, info, result):
    assert result["top_run_id"] == result["production"]["run_id"]
    files = [Path(p) for p in info["model_files"]]
    assert files and all(f.read_bytes() == variants.GARBAGE_BYTES for f in files)
    assert Path(result["production_model_dir"]) == Path(info["model_dir"])
    assert "load_error" in result


CLAIMS = {
    "too_few_runs": _claim_too_few_runs,
    "missing_metric": _claim_missing_metric,
    "wrong_experiment_name": _claim_wrong_experiment_name,
    "no_registered_model": _claim_no_registered_model,
    "staging_only": _claim_staging_only,
    "production_not_best": _claim_production_not_best,
    "deleted_best_run": _claim_deleted_best_run,
    "broken_model_file": _claim_broken_model_file,
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_deleted_best_run_matches_mlflow_delete_run(make_variant_store, allow_file_store,
                                                    backend):
    """The surgical edit writes what MlflowClient.delete_run writes (3.x; checked for 2.22 by
    hand when the variant was written: same two fields)."""
    ours = make_variant_store("deleted_best_run", backend, "3.x")
    theirs = make_variant_store("reference", backend, "3.x")
    run_id = make_variant_store.info(ours)["deleted_run_id"]
    with quiet_mlflow():
        _client(theirs).delete_run(run_id)
    if backend == "file":
        def meta(root):
            (path,) = (root / "mlruns").glob(f"*/{run_id}/meta.yaml")
            lines = path.read_text().splitlines()
            return [ln if not ln.startswith("deleted_time:") else "deleted_time: T" for ln in lines]
        assert meta(ours) == meta(theirs)
    else:
        def row(root):
            with sqlite3.connect(root / "mlflow.db") as conn:
                cur = conn.execute("SELECT * FROM runs WHERE run_uuid = ?", (run_id,))
                names = [d[0] for d in cur.description]
                rec = dict(zip(names, cur.fetchone()))
            assert rec["deleted_time"] is not None
            rec["deleted_time"] = "T"
            return rec
        assert row(ours) == row(theirs)


# --------------------------------------------------------------------------- read-only + units

def test_make_variant_leaves_base_untouched(tmp_path, reference_store_file, v2_store_sqlite):
    bases = [reference_store_file, v2_store_sqlite]
    before = [tree_digest(b) for b in bases]
    for i, base in enumerate(bases):
        for name in VARIANT_NAMES:
            variants.make_variant(base, tmp_path / f"{i}-{name}", name)
    assert [tree_digest(b) for b in bases] == before
    # A plain copy has the same digest; a variant has not.
    variants.make_variant(bases[1], tmp_path / "copy", "reference")
    assert tree_digest(tmp_path / "copy") == before[1]
    assert tree_digest(tmp_path / "1-staging_only") != before[1]


def test_tree_digest_sees_modes_links_and_empty_dirs(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_bytes(b"x")
    d0 = tree_digest(tmp_path)
    (tmp_path / "a" / "f").chmod(0o600)
    d1 = tree_digest(tmp_path)
    (tmp_path / "e").mkdir()
    d2 = tree_digest(tmp_path)
    (tmp_path / "l").symlink_to("a/f")
    d3 = tree_digest(tmp_path)
    assert len({d0, d1, d2, d3}) == 4


def test_yaml_set_touches_one_line(tmp_path):
    p = tmp_path / "meta.yaml"
    p.write_text("artifact_uri: file:///x\nend_time: 5\nlifecycle_stage: active\ntags: []\n")
    variants.yaml_set(p, "lifecycle_stage", "deleted")
    variants.yaml_set(p, "deleted_time", 123)
    assert p.read_text() == ("artifact_uri: file:///x\ndeleted_time: 123\nend_time: 5\n"
                             "lifecycle_stage: deleted\ntags: []\n")


def test_make_variant_rejects_unknown_names(tmp_path, v2_store_file):
    with pytest.raises(KeyError):
        variants.make_variant(v2_store_file, tmp_path / "x", "no_such_variant")
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError):
        variants.normalize_layout("4.x")


def test_build_command_and_summary_shape():
    cmd = reference_solution.build_command("/tmp/out", "sqlite", python="py", train_rows=10,
                                           n_estimators=[5, 10], max_depths="3,5", seed=1)
    assert cmd[0] == "py" and cmd[1].endswith("reference_solution.py")
    assert cmd[2:] == ["--out", "/tmp/out", "--backend", "sqlite", "--train-rows", "10",
                       "--n-estimators", "5,10", "--max-depths", "3,5", "--seed", "1"]
    summary = json.loads((V2_STORES_DIR / "build-summary.json").read_text())
    for backend in BACKENDS:
        assert {"best_run_id", "version", "runs", "mlflow"} <= set(summary[backend])
        assert not math.isnan(summary[backend]["best_rmse_test"])

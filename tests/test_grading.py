"""End-to-end grading of the reference submission and of each variant that breaks one rule,
for MLflow 2.x and 3.x layouts, file and SQLite stores, always after the submission was moved.

Every variant is graded once (module cache) with the real probe; each test asserts exactly
which checks pass, and that the submission's bytes did not change.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from grader.api import grade
from grader.rubric import load_rubric
from helpers import tree_digest

# variant -> {check id: expected status}; checks not named must pass, except those of DEFAULTS.
EXPECTED = {
    "reference": {},
    # too_few_runs removes sweep runs; deleted_best_run deletes the best, a sweep run: their
    # combinations are missing from the active runs.
    "too_few_runs": {"runs.count": "fail", "exercise.sweep": "fail"},
    "missing_metric": {"runs.fields": "fail"},
    "wrong_experiment_name": {"runs.count": "fail", "runs.fields": "skip", "runs.model": "skip", "registry.best_run": "skip",
                              "exercise.manual": "skip", "exercise.autolog": "skip", "exercise.sweep": "skip",
                              "integrity.metrics": "skip"},
    "no_registered_model": {"registry.production": "fail", "registry.best_run": "skip", "model.predict": "skip",
                            "integrity.metrics": "skip", "registry.alias": "skip"},
    "staging_only": {"registry.production": "fail", "registry.best_run": "skip", "model.predict": "skip",
                     "integrity.metrics": "skip"},
    "production_not_best": {"registry.best_run": "fail"},
    "deleted_best_run": {"registry.best_run": "fail", "exercise.sweep": "fail"},
    "broken_model_file": {"model.predict": "fail", "integrity.metrics": "skip"},
}
# No variant hands in a notebook: the final cell cannot be checked (a warning, worth its point).
DEFAULTS = {"notebook.final_cell": "warn"}
# integrity.metrics compares the Production run's logged metrics with those the probe recomputes
# (ProbeEv.details["test_metrics"]): it passes for every variant that keeps a loadable Production model.
METRICS_CHECK = "integrity.metrics"
SHIPPED = load_rubric("homework-195")
#: The shipped rubric's checks, in its order (its ids and total are asserted once, in tests/test_rubric.py).
CHECKS = tuple(c.id for c in SHIPPED.checks)
# The committed 2.22 stores were built with n_estimators {4, 8} (tiny forests; fixtures/stores/README.md):
# they are graded with that grid, as an instructor who changed the grid would set it.
RUBRICS = {
    "3.x": SHIPPED,
    "2.x": replace(SHIPPED, checks=tuple(
        replace(c, settings={**c.settings, "n_estimators": [4, 8]}) if c.id == "exercise.sweep" else c
        for c in SHIPPED.checks)),
}


def test_expectations_name_checks_of_the_rubric():
    named = {cid for expected in EXPECTED.values() for cid in expected} | set(DEFAULTS)
    assert named <= set(CHECKS), named - set(CHECKS)


def expected_statuses(variant: str) -> dict:
    return {cid: EXPECTED[variant].get(cid, DEFAULTS.get(cid, "pass")) for cid in CHECKS}
# The message key each failing check must end with (what the student reads depends on it).
EXPECTED_KEYS = {
    ("too_few_runs", "runs.count"): "too_few",
    ("missing_metric", "runs.fields"): "missing",
    ("wrong_experiment_name", "runs.count"): "missing_experiment",
    ("no_registered_model", "registry.production"): "missing_model",
    ("staging_only", "registry.production"): "no_stage",
    ("production_not_best", "registry.best_run"): "mismatch",
    ("deleted_best_run", "registry.best_run"): "prod_run_deleted",
    ("broken_model_file", "model.predict"): "load_failed",
    ("too_few_runs", "exercise.sweep"): "missing",
    ("deleted_best_run", "exercise.sweep"): "missing",
    ("wrong_experiment_name", "exercise.manual"): "no_runs",
    ("wrong_experiment_name", "exercise.autolog"): "no_runs",
    ("wrong_experiment_name", "exercise.sweep"): "no_runs",
    ("no_registered_model", "integrity.metrics"): "no_production",
    ("no_registered_model", "registry.alias"): "missing_model",
    ("staging_only", "integrity.metrics"): "no_production",
    ("broken_model_file", "integrity.metrics"): "probe_failed",
}
CASES = [(v, b, l) for l in ("3.x", "2.x") for b in ("file", "sqlite") for v in EXPECTED]

_cache: dict = {}


@pytest.fixture
def graded(make_variant_store):
    def run(variant: str, backend: str, layout: str):
        key = (variant, backend, layout)
        if key not in _cache:
            path = make_variant_store(variant, backend, layout)
            before = tree_digest(path)
            result = grade(path, RUBRICS[layout], lang="en")
            _cache[key] = (result, before, tree_digest(path), path)
        return _cache[key]

    return run


@pytest.mark.parametrize("variant,backend,layout", CASES, ids=[f"{l}-{b}-{v}" for v, b, l in CASES])
def test_variant_grades_as_specified(graded, variant, backend, layout):
    result, before, after, _ = graded(variant, backend, layout)
    statuses = {c.id: c.status for c in result.checks}
    assert tuple(statuses) == CHECKS
    expected = expected_statuses(variant)
    assert statuses == expected, {c.id: c.message for c in result.checks if c.status != expected[c.id]}
    for cid, status in EXPECTED[variant].items():
        check = next(c for c in result.checks if c.id == cid)
        if (variant, cid) in EXPECTED_KEYS:
            assert check.evidence["key"] == EXPECTED_KEYS[(variant, cid)]
        assert check.points == 0 and check.message
        if status == "fail":
            assert check.hint, f"{cid} failed without a hint"
    assert result.submission.store == backend
    assert result.submission.mlflow_layout == layout
    assert result.passed == all(s in ("pass", "warn") for s in expected.values())
    assert before == after, "grading modified the submission"


def test_reference_scores_full_marks_with_runs_table(graded):
    result, *_ = graded("reference", "file", "3.x")
    assert result.score == result.max_score == sum(c.points for c in SHIPPED.checks)
    assert result.exit_code == 0
    metrics = next(c for c in result.checks if c.id == METRICS_CHECK)
    assert metrics.evidence["n_rows"] == 4128  # recomputed on the whole canonical test split
    assert len(result.runs) >= 10
    assert result.runs[0].is_best
    assert sum(r.is_production for r in result.runs) == 1
    rmse = [r.metrics["rmse_test"] for r in result.runs]
    assert rmse == sorted(rmse), "runs are not in search_runs order"
    predict = next(c for c in result.checks if c.id == "model.predict")
    assert len(predict.evidence["predictions"]) == 5


def test_wrong_experiment_message_names_the_typo(graded):
    result, *_ = graded("wrong_experiment_name", "sqlite", "3.x")
    check = result.checks[0]
    assert "homework195" in check.message
    assert check.evidence["close_matches"] == ["homework195"]


def test_mismatch_message_shows_both_runs(graded):
    result, *_ = graded("production_not_best", "file", "3.x")
    check = next(c for c in result.checks if c.id == "registry.best_run")
    best = result.runs[0]
    assert best.run_id[:8] in check.message
    assert check.evidence["production_run_id"] != check.evidence["best_run_id"]
    assert f"{best.metrics['rmse_test']:.4f}" in check.message


def test_broken_model_is_not_loaded_from_the_stale_original(graded, make_variant_store):
    """The variant's stale paths point at the intact original build, which exists on this machine:
    the grader must load the broken copy (and fail), never the original."""
    result, *_ = graded("broken_model_file", "file", "3.x")
    check = next(c for c in result.checks if c.id == "model.predict")
    assert check.status == "fail"
    assert check.evidence["model_path"].startswith("store/")


def test_grading_after_the_original_folder_is_gone(reference_store_sqlite, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(reference_store_sqlite, moved, symlinks=True)
    result = grade(moved, probe=True)
    assert result.passed, [(c.id, c.message) for c in result.checks if not c.passed]


@pytest.mark.parametrize("form", ["folder", "mlruns", "file-uri", "db-path", "sqlite-uri"])
def test_submission_forms(form, reference_store_file, reference_store_sqlite):
    target = {
        "folder": reference_store_file,
        "mlruns": reference_store_file / "mlruns",
        "file-uri": f"file:{reference_store_file / 'mlruns'}",
        "db-path": reference_store_sqlite / "mlflow.db",
        "sqlite-uri": f"sqlite:///{reference_store_sqlite / 'mlflow.db'}",
    }[form]
    result = grade(target, probe=False)
    assert result.submission.store == ("sqlite" if "db" in form or "sqlite" in form else "file")
    statuses = {c.id: c.status for c in result.checks}
    assert statuses.pop("model.predict") == "skip"
    assert statuses.pop("integrity.metrics") == "skip"  # needs the probe too
    assert statuses.pop("notebook.final_cell") == "warn"  # no notebook next to the store
    assert set(statuses.values()) == {"pass"}


# --------------------------------------------------------------------------- model files left in place


def _outcome(result):
    return [(c.id, c.status, c.points, c.message, c.evidence.get("predictions")) for c in result.checks]


@pytest.mark.parametrize("backend", ["file", "sqlite"])
def test_model_files_left_in_place_grade_exactly_like_a_full_copy(backend, reference_store, monkeypatch):
    """The snapshot copies a model file only when it is loaded (all of them here: DEFER_BYTES=1):
    checks, messages, predictions, estimator classes and copy fingerprints are those of a full copy."""
    from grader.submission import snapshot

    src = reference_store(backend)
    before = tree_digest(src)
    monkeypatch.setattr(snapshot, "DEFER_BYTES", 10**12)
    full = grade(src, lang="en")
    monkeypatch.setattr(snapshot, "DEFER_BYTES", 1)
    deferred = grade(src, lang="en")
    assert _outcome(deferred) == _outcome(full)
    assert full.passed and deferred.fingerprints == full.fingerprints
    assert len(full.fingerprints["models"]) >= 10
    assert tree_digest(src) == before


def test_deferred_model_files_are_placeholders_of_their_originals(reference_store_file, tmp_path, monkeypatch):
    from grader.submission import locate, make_snapshot, snapshot

    monkeypatch.setattr(snapshot, "DEFER_BYTES", 1)
    with make_snapshot(locate(reference_store_file), workdir=tmp_path) as snap:
        deferred = dict(snap.files.deferred)
        models = [p for p in deferred if p.name == "model.pkl"]
        assert len(models) >= 10 and all(p.parent.joinpath("MLmodel").is_file() for p in deferred)
        for placeholder, original in deferred.items():
            assert snap.root in placeholder.parents and reference_store_file in original.parents
            assert placeholder.stat().st_size == original.stat().st_size  # sizes as in the submission
            assert snap.files.content(placeholder) == original
        folder = models[0].parent
        assert snap.files.originals_under(folder) == {p: o for p, o in deferred.items() if p.parent == folder}
    assert not snap.root.exists()


def test_probe_predicts_the_whole_split_only_for_integrity_metrics(reference_store_sqlite, core_rubric_file):
    """integrity.metrics needs the 4,128 test rows; without it in the rubric the probe predicts the
    homework's 5 rows, and model.predict judges exactly the same predictions."""
    full = grade(reference_store_sqlite, lang="en")
    core = grade(reference_store_sqlite, core_rubric_file, lang="en")
    full_check = next(c for c in full.checks if c.id == "model.predict")
    core_check = next(c for c in core.checks if c.id == "model.predict")
    assert full_check.status == core_check.status == "pass"
    assert core_check.evidence["predictions"] == full_check.evidence["predictions"]
    assert full_check.evidence["test_metrics"]["n_rows"] == 4128
    assert "test_metrics" not in core_check.evidence

"""End to end: the checks beyond the homework's letter (exercises, integrity, notebook, aliases)
on real stores, MLflow 3.x and 2.x, file and SQLite, after the submission was moved.

The model probe is disabled (about 15 s a model) except where a stand-in replaces it: the tests
that need the Production model's recomputed test metrics get them from a fake ``probe_model``
that returns what the real probe returns, with ``details["test_metrics"]`` computed by the
reference solution on the canonical split (the values it logged before a variant edited them).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html import unescape

import pytest

import grader.api as api
from grader.api import grade
from grader.cli import main
from grader.evidence.model import ProbeEv
from grader.reports import render
from grader.rubric import load_rubric
from helpers import load_fixtures_modules

_, variants = load_fixtures_modules()

NEW = ("exercise.manual", "exercise.autolog", "exercise.sweep", "integrity.metrics", "integrity.timeline",
       "notebook.final_cell", "registry.alias")
SHIPPED = load_rubric("homework-195")


def rubric_for(layout: str, **settings):
    """The shipped rubric; for the committed 2.22 stores, the grid they were built with
    (n_estimators {4, 8}: tiny forests, see fixtures/stores/README.md), as an instructor who
    changed the grid would set it."""
    rubric = SHIPPED
    if layout == "2.x":
        checks = tuple(replace(c, settings={**c.settings, "n_estimators": [4, 8]}) if c.id == "exercise.sweep" else c
                       for c in rubric.checks)
        rubric = replace(rubric, checks=checks)
    if settings:
        rubric = replace(rubric, settings={**rubric.settings, **settings})
    return rubric


# Without the probe and without a notebook, the reference gives these for the checks below;
# each variant lists what it changes (check id -> (status, message key)).
BASE = {
    "model.predict": ("skip", "not_probed"),
    "integrity.metrics": ("skip", "not_probed"),
    "notebook.final_cell": ("warn", "no_notebook"),
    "registry.alias": ("pass", "none"),
    "integrity.timeline": ("pass", "ok"),
    "exercise.manual": ("pass", "ok"),
    "exercise.autolog": ("pass", "ok"),
    "exercise.sweep": ("pass", "ok"),
}
CHANGES = {
    "reference": {},
    "edited_metric": {},  # only visible with recomputed metrics: see test_edited_metric_*
    "no_autolog": {"exercise.autolog": ("fail", "none")},
    "incomplete_sweep": {"exercise.sweep": ("fail", "missing")},
    "with_final_cell": {"notebook.final_cell": ("pass", "ok")},
    "without_final_cell": {"notebook.final_cell": ("fail", "no_cell")},
    "production_alias": {"registry.alias": ("pass", "used")},
    "alias_only": {"registry.alias": ("warn", "alias_only"), "registry.production": ("fail", "no_stage"),
                   "registry.best_run": ("skip", "no_production"), "model.predict": ("skip", "no_production"),
                   "integrity.metrics": ("skip", "no_production")},
}
CASES = [(v, "file", "3.x") for v in CHANGES] + [(v, "sqlite", "3.x") for v in CHANGES]
CASES += [(v, "file", "2.x") for v in CHANGES if v != "reference"]
CASES += [(v, "sqlite", "2.x") for v in ("no_autolog", "incomplete_sweep", "with_final_cell")]

_cache: dict = {}


@pytest.fixture
def graded(make_variant_store):
    def run(variant: str, backend: str, layout: str, **kwargs):
        key = (variant, backend, layout, tuple(sorted(kwargs.items())))
        if key not in _cache:
            path = make_variant_store(variant, backend, layout)
            result = grade(path, rubric_for(layout), lang="en", probe=False, **kwargs)
            _cache[key] = (result, make_variant_store.info(path), path)
        return _cache[key]

    return run


def _by_id(result):
    return {c.id: c for c in result.checks}


@pytest.mark.parametrize("variant,backend,layout", CASES, ids=[f"{l}-{b}-{v}" for v, b, l in CASES])
def test_variant_grades_as_specified(graded, variant, backend, layout):
    result, info, _ = graded(variant, backend, layout)
    checks = _by_id(result)
    assert tuple(checks) == tuple(c.id for c in SHIPPED.checks)
    expected = {cid: BASE.get(cid, ("pass", None)) for cid in checks}
    expected.update(CHANGES[variant])
    got = {cid: (c.status, c.evidence["key"] if expected[cid][1] else None) for cid, c in checks.items()}
    want = {cid: (st, key) for cid, (st, key) in expected.items()}
    assert got == want, {cid: checks[cid].message for cid in checks if got[cid] != want[cid]}
    for cid in NEW:
        check = checks[cid]
        assert check.message and "{" not in check.message, check.message
        if check.status in ("fail", "warn"):
            assert check.hint, f"{cid} did not pass and has no hint"
    assert result.submission.store == backend and result.submission.mlflow_layout == layout


@pytest.mark.parametrize("backend,layout", [("file", "3.x"), ("sqlite", "2.x")])
def test_incomplete_sweep_lists_the_missing_combinations(graded, backend, layout):
    result, info, _ = graded("incomplete_sweep", backend, layout)
    check = _by_id(result)["exercise.sweep"]
    removed = [f"max_depth={d}, n_estimators={n}" for d, n in info["removed_combinations"]]
    assert len(removed) == 3 and check.evidence["missing"] == removed
    for combo in removed:
        assert combo in check.message
    assert _by_id(result)["runs.count"].status == "pass"  # 10 runs remain: only the exercise fails


def test_no_autolog_says_what_autolog_leaves(graded):
    result, *_ = graded("no_autolog", "sqlite", "3.x")
    check = _by_id(result)["exercise.autolog"]
    assert "estimator_class" in check.message and "autolog()" in check.hint
    assert _by_id(result)["exercise.manual"].status == "pass"


def test_manual_kinds_are_read_from_the_model_files_too(graded):
    """The reference logs model_type; the model files (pickle and skops) name the same classes."""
    result, _, path = graded("reference", "file", "3.x")
    assert _by_id(result)["exercise.manual"].evidence["found"].keys() == {"LinearRegression", "RandomForestRegressor"}
    from grader.evidence.reader import collect
    from grader.submission import open_submission

    with open_submission(path) as snap:
        ev = collect(snap, "homework-195", "housing-best")
    classes = {r.run_name: {m.estimator_class for m in r.models} for r in ev.runs}
    assert classes["linreg-manual"] == {"sklearn.linear_model._base.LinearRegression"}
    assert classes["autolog-rf"] == {"sklearn.ensemble._forest.RandomForestRegressor"}


def test_notebook_message_names_the_cell(graded):
    result, *_ = graded("with_final_cell", "file", "3.x")
    check = _by_id(result)["notebook.final_cell"]
    assert check.evidence["notebook"] == "homework-195.ipynb" and check.evidence["cell"] == 5
    assert "array([0.73394" in check.message


def test_unparseable_notebook_is_a_clear_message(make_variant_store):
    path = make_variant_store("reference", "file", "2.x")
    (path / "homework.ipynb").write_text('{"cells": [', encoding="utf-8")
    result = grade(path, rubric_for("2.x"), lang="es", probe=False)
    check = _by_id(result)["notebook.final_cell"]
    assert (check.status, check.evidence["key"]) == ("fail", "unreadable")
    assert "homework.ipynb" in check.message and "JSON" in check.message


def _fake_probe(test_metrics):
    def probe_model(model, snapshot_root, options, files=None):
        assert model is not None and model.ok, "the probe must get the graded version's model folder"
        details = {"test_metrics": test_metrics} if test_metrics else {}
        return ProbeEv(ok=True, predictions=[0.7, 1.3, 3.1, 2.4, 2.4], model_path=model.path,
                       details=details)
    return probe_model


@pytest.mark.parametrize("backend,layout", [("file", "3.x"), ("sqlite", "2.x")])
def test_edited_metric_is_caught_with_recomputed_metrics(make_variant_store, monkeypatch, backend, layout):
    path = make_variant_store("edited_metric", backend, layout)
    info = make_variant_store.info(path)
    true = {**info["original"], "n_rows": 4128}  # what the model gives on the canonical split
    monkeypatch.setattr(api, "probe_model", _fake_probe(true))
    for lang in ("es", "en"):
        check = _by_id(grade(path, rubric_for(layout), lang=lang))["integrity.metrics"]
        assert (check.status, check.evidence["key"]) == ("fail", "mismatch"), check.message
        assert f"{info['edited']:.4f}" in check.message and f"{info['original']['rmse_test']:.4f}" in check.message
        assert "-10.00%" in check.message  # says by how much
        assert check.points == 0 and check.hint
    # The reference, with the same stand-in, passes.
    ref = make_variant_store("reference", backend, layout)
    ref_info = make_variant_store.info(ref)
    assert ref_info["best_run_id"] == info["best_run_id"]
    check = _by_id(grade(ref, rubric_for(layout), lang="en"))["integrity.metrics"]
    assert (check.status, check.evidence["key"]) == ("pass", "ok"), check.message


def test_metrics_from_another_split_are_not_an_accusation(make_variant_store, monkeypatch):
    path = make_variant_store("reference", "sqlite", "3.x")
    info = make_variant_store.info(path)
    view = variants.open_store(path)
    try:
        logged = {k: variants._metric_value(view, info["best_run_id"], k) for k in ("rmse_test", "r2_test")}
    finally:
        view.close()
    # Canonical split metrics a bit better (the model saw part of it), same variance of y.
    rmse = logged["rmse_test"] * 0.97
    var = logged["rmse_test"] ** 2 / (1 - logged["r2_test"])
    monkeypatch.setattr(api, "probe_model", _fake_probe({"rmse_test": rmse, "r2_test": 1 - rmse**2 / var, "n_rows": 4128}))
    check = _by_id(grade(path, lang="en"))["integrity.metrics"]
    assert (check.status, check.evidence["key"]) == ("warn", "other_split"), check.message
    assert "test_size=0.2, random_state=42" in check.message


def test_without_test_metrics_the_check_is_skipped_with_its_reason(make_variant_store, monkeypatch):
    path = make_variant_store("reference", "file", "3.x")
    monkeypatch.setattr(api, "probe_model", _fake_probe(None))
    result = grade(path, lang="en")
    check = _by_id(result)["integrity.metrics"]
    assert (check.status, check.evidence["key"]) == ("skip", "no_test_metrics")
    assert "test_metrics" in check.message
    assert _by_id(result)["model.predict"].status == "pass"


def test_alias_counts_for_the_stage_when_the_rubric_accepts_it(make_variant_store, monkeypatch):
    path = make_variant_store("alias_only", "sqlite", "3.x")
    info = make_variant_store.info(path)
    monkeypatch.setattr(api, "probe_model", _fake_probe(None))
    result = grade(path, rubric_for("3.x", accept_alias=True), lang="es")
    checks = _by_id(result)
    assert (checks["registry.production"].status, checks["registry.production"].evidence["key"]) == ("pass", "alias")
    assert "@production" in checks["registry.production"].message
    assert checks["registry.best_run"].status == "pass"
    assert checks["model.predict"].status == "pass"  # the alias's version was probed
    assert (checks["registry.alias"].status, checks["registry.alias"].evidence["key"]) == ("pass", "accepted")
    assert [r.run_id for r in result.runs if r.is_production] == [info["production_run_id"]]


def test_deadline_flags_late_runs_and_registry_changes(graded):
    result, *_ = graded("reference", "file", "3.x", deadline="2016-01-01")
    check = _by_id(result)["integrity.timeline"]
    assert (check.status, check.evidence["key"]) == ("warn", "late")
    assert "housing-best v1" in check.message and "linreg-manual" in " ".join(check.evidence["after_deadline"])
    assert check.points == 0 and check.hint
    result, *_ = graded("reference", "file", "3.x", deadline="2999-12-31T23:59:00+00:00")
    check = _by_id(result)["integrity.timeline"]
    assert (check.status, check.evidence["key"]) == ("pass", "ok_deadline")


def test_cli_deadline_option(reference_store_file, capsys):
    code = main([str(reference_store_file), "--no-probe", "--deadline", "2016-01-01T00:00Z", "--format", "json", "-q"])
    report = json.loads(capsys.readouterr().out)
    check = next(c for c in report["checks"] if c["id"] == "integrity.timeline")
    assert check["status"] == "warn" and check["evidence"]["key"] == "late"
    assert code == 1
    assert main([str(reference_store_file), "--no-probe", "--deadline", "next friday", "-q", "--lang", "en"]) == 2
    assert "deadline" in capsys.readouterr().err


def test_explain_prints_what_and_how_for_every_new_check(capsys):
    for cid in NEW:
        assert main(["--explain", cid]) == 0
        out = capsys.readouterr().out
        assert out.startswith(cid) and "Fix:" in out, out


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


@pytest.mark.parametrize("lang", ["es", "en"])
def test_reports_show_the_new_checks_with_their_hints(make_variant_store, lang):
    """HTML and JSON reports carry every new check, and the hints of those that did not pass,
    in the report's language."""
    path = make_variant_store("incomplete_sweep", "file", "3.x")
    (path / "notes.ipynb").write_text('{"cells": [', encoding="utf-8")  # an unreadable notebook
    view = variants.open_store(path)  # and a notebook without the final cell
    try:
        variants._notebook(view, final_cell=False)
    finally:
        view.close()
    result = grade(path, lang=lang, probe=False, deadline="2016-01-01")
    checks = _by_id(result)
    failing = {cid: c for cid, c in checks.items() if cid in NEW and c.status in ("fail", "warn")}
    assert set(failing) == {"exercise.sweep", "integrity.timeline", "notebook.final_cell"}
    hints = {cid: next(s for s in SHIPPED.checks if s.id == cid).hint[lang] for cid in failing}
    words = {"es": ("Un run por combinación", "Hacé los runs", "Agregá al final"),
             "en": ("One run per combination", "Make the runs", "Add a last cell")}[lang]
    html = _text(render(result, "html"))
    data = json.loads(render(result, "json"))
    by_id = {c["id"]: c for c in data["checks"]}
    for cid in NEW:
        assert checks[cid].title in html and by_id[cid]["title"] == checks[cid].title
    for cid, word in zip(("exercise.sweep", "integrity.timeline", "notebook.final_cell"), words):
        assert word in hints[cid] and word in html and by_id[cid]["hint"].startswith(word)
        assert by_id[cid]["message"] == checks[cid].message
    other = "en" if lang == "es" else "es"
    assert next(s for s in SHIPPED.checks if s.id == "exercise.sweep").hint[other][:20] not in html


def test_edited_metric_with_the_real_probe(make_variant_store):
    """The sandboxed probe recomputes the metrics itself (one real probe, about 15 s)."""
    path = make_variant_store("edited_metric", "file", "3.x")
    info = make_variant_store.info(path)
    result = grade(path, lang="en")
    checks = _by_id(result)
    assert checks["model.predict"].status == "pass"
    check = checks["integrity.metrics"]
    assert (check.status, check.evidence["key"]) == ("fail", "mismatch"), check.message
    metrics = check.evidence["metrics"]
    assert metrics["rmse_test"]["recomputed"] == pytest.approx(info["original"]["rmse_test"], rel=1e-6)
    assert metrics["r2_test"]["recomputed"] == pytest.approx(info["original"]["r2_test"], rel=1e-6)
    assert check.evidence["n_rows"] == 4128 and "4128" in check.message
    # everything else still passes: only the integrity check sees the edit
    assert {cid for cid, c in checks.items() if not c.passed} == {"integrity.metrics"}

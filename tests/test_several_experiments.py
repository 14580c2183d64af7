"""A homework that names several experiments and registered models: each check on its own evidence.

A rubric's check may name, in its own ``settings``, another ``experiment`` and/or ``model_name``
(or ``metric``/``order``) than the rubric-wide ones: the grader reads one Evidence per distinct
(experiment, model_name, metric, order) from the one snapshot, probes a model per key only when a
check of that key needs the probe, and evaluates each check on its key's evidence
(``grader.checks.checks_by_evidence``, docs/rubrics.md "Several experiments and registered models").

The store is class 195's reference (the session build of ``tests/conftest.py``) copied, plus what a
homework with two parts adds through MLflow's own client: an experiment ``homework-195-tuning``
holding a small sweep, and a second registered model ``housing-tuned`` in Production (registered
from the best run's model). The rubric is the shipped one with ``exercise.sweep`` naming the tuning
experiment and ``registry.production``/``model.predict`` naming ``housing-tuned``.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import REPO_ROOT, tree_digest

import grader.api
from grader import grade
from grader.batch import grade_batch
from grader.checks import checks_by_evidence, evidence_key
from grader.cli import main
from grader.errors import RubricError
from grader.rubric import load_rubric, parse_rubric

TUNING, TUNED = "homework-195-tuning", "housing-tuned"
#: The checks of the rubric that name the second experiment, and those that name the second model.
NAME_TUNING = {"exercise.sweep"}
NAME_TUNED = {"registry.production", "model.predict"}

#: Run in a subprocess with MLflow's client (the test process keeps no MLflow state): argv is the
#: tracking URI and what to do ("add", "drop-experiment", "drop-model").
EDIT = r"""
import sys, mlflow
from mlflow.tracking import MlflowClient

uri, what = sys.argv[1:]
mlflow.set_tracking_uri(uri)
client = MlflowClient()
if what == "add":
    exp = client.create_experiment("homework-195-tuning")
    for depth in (3, 5):
        for trees in (10, 20):
            run = client.create_run(exp, run_name=f"tune-d{depth}-n{trees}")
            rid = run.info.run_id
            for key, value in (("model_type", "RandomForestRegressor"), ("max_depth", depth), ("n_estimators", trees)):
                client.log_param(rid, key, value)
            client.log_metric(rid, "rmse_test", 0.5 + depth / 100 + trees / 1000)
            client.set_terminated(rid)
    best = client.get_latest_versions("housing-best", ["Production"])[0]
    client.create_registered_model("housing-tuned")
    mv = client.create_model_version("housing-tuned", best.source, run_id=best.run_id)
    client.transition_model_version_stage("housing-tuned", mv.version, "Production")
elif what == "drop-experiment":
    client.delete_experiment(client.get_experiment_by_name("homework-195-tuning").experiment_id)
elif what == "drop-model":
    client.delete_registered_model("housing-tuned")
"""


def _uri(store: Path) -> str:
    db = store / "mlflow.db"
    return f"sqlite:///{db}" if db.exists() else f"file:{store / 'mlruns'}"


def _edit(store: Path, what: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_ALLOW_FILE_STORE"] = "true"
    proc = subprocess.run(
        [sys.executable, "-c", EDIT, _uri(store), what],
        cwd=store, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture(scope="module")
def two_part_rubric(tmp_path_factory) -> Path:
    """The shipped rubric with its sweep in the tuning experiment and its Production model check
    and probe on the second registered model."""
    data = yaml.safe_load((REPO_ROOT / "rubrics" / "homework-195.yaml").read_text(encoding="utf-8"))
    for check in data["checks"]:
        if check["id"] == "exercise.sweep":
            check["settings"] = {"experiment": TUNING, "max_depth": [3, 5], "n_estimators": [10, 20]}
        if check["id"] in NAME_TUNED:
            check["settings"] = {**(check.get("settings") or {}), "model_name": TUNED}
    path = tmp_path_factory.mktemp("two-part-rubric") / "two-part.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def two_part_stores(reference_builds, tmp_path_factory):
    """``backend -> Path``: the reference plus the tuning experiment and the second model (built
    once per backend; tests copy it before changing it)."""
    built: dict[str, Path] = {}

    def get(backend: str) -> Path:
        if backend not in built:
            dst = tmp_path_factory.mktemp(f"two-part-{backend}") / "submission"
            shutil.copytree(reference_builds[backend]["out_dir"], dst)
            _edit(dst, "add")
            built[backend] = dst
        return built[backend]

    return get


def _copy(src: Path, tmp_path: Path, name: str) -> Path:
    dst = tmp_path / name / "submission"
    shutil.copytree(src, dst)
    return dst


def _statuses(result) -> dict[str, str]:
    return {c.id: c.status for c in result.checks}


def _all_ways(store: Path, rubric: Path, tmp_path: Path) -> dict[str, str]:
    """As tests/test_task.py's ``_all_ways``, for a rubric file: the API, the CLI's JSON, ``--batch``'s
    report and its gradebook must agree (the HTML reports render too); grading leaves the store as it was."""
    before = tree_digest(store)
    api = _statuses(grade(store, rubric, lang="en"))
    out, html = tmp_path / "report.json", tmp_path / "report.html"
    code = main([str(store), "--rubric", str(rubric), "--json", str(out), "--html", str(html), "-q"])
    assert code in (0, 1)
    assert "exercise.sweep" in html.read_text(encoding="utf-8")  # the HTML report renders every check
    cli = {c["id"]: c["status"] for c in json.loads(out.read_text(encoding="utf-8"))["checks"]}
    klass = tmp_path / "class"
    shutil.copytree(store, klass / "ana")
    grade_batch(klass, tmp_path / "batch", str(rubric), jobs=1, lang="en")
    with open(tmp_path / "batch" / "gradebook.csv", newline="", encoding="utf-8") as fh:
        row = next(csv.DictReader(fh))
    batch_report = next((tmp_path / "batch" / "students").glob("*/report.json"))
    batch = {c["id"]: c["status"] for c in json.loads(batch_report.read_text(encoding="utf-8"))["checks"]}
    gradebook = {cid: row[f"{cid}_status"] for cid in api}
    assert api == cli == batch == gradebook, (api, cli, batch, gradebook)
    assert tree_digest(store) == before, "grading changed the submission"
    return api


# --------------------------------------------------------------------------- the rubric


def test_checks_are_grouped_by_the_names_they_read(two_part_rubric):
    rubric = load_rubric(str(two_part_rubric))
    groups = checks_by_evidence(rubric)
    main_key = evidence_key(rubric.settings)
    assert main_key == ("homework-195", "housing-best", "rmse_test", "ASC")
    assert next(iter(groups)) == main_key
    by_key = {key: {spec.id for spec in specs} for key, specs in groups.items()}
    assert by_key[("homework-195-tuning", "housing-best", "rmse_test", "ASC")] == NAME_TUNING
    assert by_key[("homework-195", "housing-tuned", "rmse_test", "ASC")] == NAME_TUNED
    assert len(by_key) == 3


def test_a_checks_names_are_validated_as_the_rubric_wide_ones():
    def one(settings):
        return {"id": "x", "checks": [{"id": "runs.count", "settings": settings}]}

    assert parse_rubric(one({"experiment": TUNING, "min_runs": 2})).checks[0].settings["experiment"] == TUNING
    with pytest.raises(RubricError, match="did you mean 'experiment'"):
        parse_rubric(one({"experiment_name": TUNING}))
    with pytest.raises(RubricError, match="order must be ASC"):
        parse_rubric(one({"order": "descending"}))
    with pytest.raises(RubricError, match="must be a name"):
        parse_rubric(one({"model_name": ""}))


# --------------------------------------------------------------------------- grading


@pytest.mark.parametrize("backend", ["file", "sqlite"])
def test_a_rubric_naming_both_passes_and_each_check_reads_its_own(
    two_part_stores, two_part_rubric, reference_builds, backend, monkeypatch
):
    store = two_part_stores(backend)
    baseline = _statuses(grade(reference_builds[backend]["out_dir"], lang="en"))
    probed = []
    real_probe = grader.api.probe_model

    def counting_probe(model, *args, **kwargs):
        probed.append(model.path if model is not None else None)
        return real_probe(model, *args, **kwargs)

    monkeypatch.setattr(grader.api, "probe_model", counting_probe)
    result = grade(store, two_part_rubric, lang="en")
    assert _statuses(result) == baseline, (_statuses(result), baseline)
    assert all(s in ("pass", "warn") for s in baseline.values()), baseline
    checks = {c.id: c for c in result.checks}
    # Each check read its own names: the sweep the tuning runs, the Production check the second model.
    covered = checks["exercise.sweep"].evidence["covered"].values()
    assert {label.split(" ")[0] for label in covered} == {f"tune-d{d}-n{n}" for d in (3, 5) for n in (10, 20)}
    assert TUNED in checks["registry.production"].message, checks["registry.production"].message
    # One probe per key that needs it: housing-best (integrity.metrics) and housing-tuned (model.predict).
    assert len(probed) == 2, probed
    # The report's own names and runs table stay the rubric-wide ones.
    assert result.experiment == "homework-195"
    assert result.runs and not any(r.run_name.startswith("tune-") for r in result.runs)


def test_removing_the_second_experiment_fails_only_the_checks_that_name_it(two_part_stores, two_part_rubric, tmp_path):
    store = _copy(two_part_stores("file"), tmp_path, "no-tuning")
    _edit(store, "drop-experiment")
    both = _statuses(grade(two_part_stores("file"), two_part_rubric, lang="en"))
    result = grade(store, two_part_rubric, lang="en")
    statuses = _statuses(result)
    changed = {cid for cid in both if statuses[cid] != both[cid]}
    assert changed == NAME_TUNING, (statuses, both)
    assert statuses["exercise.sweep"] in ("fail", "skip")
    sweep = next(c for c in result.checks if c.id == "exercise.sweep")
    assert TUNING in sweep.message, sweep.message


def test_removing_the_second_model_fails_only_the_checks_that_name_it(two_part_stores, two_part_rubric, tmp_path):
    store = _copy(two_part_stores("sqlite"), tmp_path, "no-tuned")
    _edit(store, "drop-model")
    both = _statuses(grade(two_part_stores("sqlite"), two_part_rubric, lang="en"))
    result = grade(store, two_part_rubric, lang="en")
    statuses = _statuses(result)
    changed = {cid for cid in both if statuses[cid] != both[cid]}
    assert changed == NAME_TUNED, (statuses, both)
    assert statuses["registry.production"] == "fail"
    assert not result.passed
    production = next(c for c in result.checks if c.id == "registry.production")
    assert TUNED in production.message, production.message
    # The probe of the missing model waits for the check of that same model.
    predict = next(c for c in result.checks if c.id == "model.predict")
    assert predict.status == "skip" and predict.evidence.get("fix_first") == "registry.production", predict


def test_the_api_cli_json_and_batch_agree(two_part_stores, two_part_rubric, tmp_path):
    statuses = _all_ways(_copy(two_part_stores("sqlite"), tmp_path, "agree"), two_part_rubric, tmp_path)
    assert statuses["exercise.sweep"] == "pass" and statuses["model.predict"] == "pass", statuses

"""A rubric's ``task:`` (grader/task.py) and the second shipped rubric, ``cancer-classification``.

The second course's reference solution (``fixtures/reference_classification.py``) is built once per
backend, with real MLflow; its broken copies are made from it through MLflow's client. Each store is
graded by ``grade`` (text and JSON) and by ``grade --batch``, which must agree check by check.
"""

from __future__ import annotations

import csv
import importlib
import json
import shutil
import sys

import pytest
from helpers import REPO_ROOT, tree_digest

from grader import grade
from grader.batch import grade_batch
from grader.cli import main
from grader.errors import RubricError
from grader.rubric import load_rubric, parse_rubric
from grader.task import DEFAULT_TASK, parse_task

RUBRIC = "cancer-classification"
#: What each broken copy must fail (and nothing else among the required checks).
VARIANT_FAILS = {
    "few_runs": {"runs.count"},
    "worst_as_champion": {"registry.best_run"},
    "wrong_metric": {"integrity.metrics"},
    "no_registry": {"registry.production"},
}


def _reference_module():
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    return importlib.import_module("fixtures.reference_classification")


@pytest.fixture(scope="session")
def classification_refs(tmp_path_factory):
    built = {}

    def get(backend: str):
        if backend not in built:
            out = tmp_path_factory.mktemp(f"cancer-{backend}") / "ref"
            _reference_module().build(out, backend)
            built[backend] = out
        return built[backend]

    return get


# --------------------------------------------------------------------------- the task: section


def test_default_task_is_class_195s_split():
    from sklearn.model_selection import train_test_split

    from grader.data import FEATURES, housing

    frame = housing()
    _, x_test, _, y_test = train_test_split(frame[FEATURES], frame["MedHouseVal"], test_size=0.2, random_state=42)
    x, y = DEFAULT_TASK.split()
    assert x.equals(x_test) and y.equals(y_test) and len(x) == 4128
    assert DEFAULT_TASK.metric_names() == ["rmse_test", "r2_test"]
    assert load_rubric("homework-195").task == DEFAULT_TASK


@pytest.mark.parametrize(("raw", "says"), [
    ({"kind": "clasification"}, "'clasification' is not one of regression, classification (did you mean"),
    ({"dat": "sklearn:iris"}, "unknown key 'dat' (did you mean 'data'?)"),
    ({"split": {"test_sise": 0.2}}, "unknown key 'test_sise' (did you mean 'test_size'?)"),
    ({"split": {"test_size": 1.5}}, "expected a fraction"),
    ({"data": "sklearn:titanic"}, "not a data set scikit-learn ships"),
    ({"metrics": {"auc_test": "roc_auc"}}, "needs predicted probabilities"),
    ({"metrics": {"rmse_test": "rmes"}}, "did you mean 'rmse'?"),
    ({"data": "sklearn:iris", "kind": "classification", "metrics": {"f1_test": "f1"}}, "binary measures"),
    ({"rows": 0}, "expected a number of rows from 1 to 1000"),
    ({"target": "price"}, "column 'price' is not in the data"),
    ({"data": "no/such/file.csv"}, "data file not found"),
])
def test_task_errors_say_what_is_wrong(raw, says):
    with pytest.raises(RubricError) as info:
        parse_task(raw)
    assert says in str(info.value)


def test_a_csv_task_is_read_beside_the_rubric(tmp_path):
    rows = [{"x1": i, "x2": i % 7, "label": "yes" if i % 3 else "no"} for i in range(60)]
    with open(tmp_path / "data.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["x1", "x2", "label"])
        writer.writeheader()
        writer.writerows(rows)
    base = load_rubric("cancer-classification")
    text = (REPO_ROOT / "rubrics" / "cancer-classification.yaml").read_text(encoding="utf-8")
    text = text.replace("data: sklearn:breast_cancer", "data: data.csv").replace("target: target", "target: label")
    text = text.replace("metrics: {accuracy_test: accuracy, f1_test: f1}", "metrics: {accuracy_test: accuracy}")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "r.yaml").write_text(text.replace("data: data.csv", "data: ../data.csv"), encoding="utf-8")
    rubric = load_rubric(tmp_path / "sub" / "r.yaml")
    x, y = rubric.task.split()
    assert list(x.columns) == ["x1", "x2"] and len(x) == 15 and set(y) <= {"yes", "no"}
    assert rubric.task != base.task
    # string labels are scored as labels
    assert rubric.task.score(list(y), y)["accuracy_test"] == 1.0


def test_unknown_top_level_key_is_refused_with_the_closest():
    data = {"id": "r", "checks": [{"id": "runs.count"}], "experiment_name": "x"}
    with pytest.raises(RubricError, match="unknown top-level key 'experiment_name'"):
        parse_rubric(data)
    with pytest.raises(RubricError, match="did you mean 'settings'"):
        parse_rubric({"id": "r", "checks": [{"id": "runs.count"}], "setings": {}})


def test_rubric_wide_settings_win_over_built_in_defaults(reference_store_file):
    """The rubric file says: settings are shared by every check, a check's own override them."""
    data = {"id": "r", "settings": {"experiment": "homework-195", "min_runs": 50},
            "checks": [{"id": "runs.count"}, {"id": "runs.fields", "settings": {"count_statuses": ["FINISHED"]}}]}
    result = grade(reference_store_file, parse_rubric(data), probe=False, lang="en")
    check = next(c for c in result.checks if c.id == "runs.count")
    assert check.status == "fail" and "50" in check.message
    data["checks"][0]["settings"] = {"min_runs": 3}
    assert next(c for c in grade(reference_store_file, parse_rubric(data), probe=False).checks
                if c.id == "runs.count").status == "pass"


def test_texts_of_the_second_rubric_name_its_own_things():
    from grader.checks import title_of

    rubric = load_rubric(RUBRIC)
    titles = " ".join(title_of(rubric, c, "en") for c in rubric.checks)  # {experiment}... filled in
    assert "cancer-classification" in titles and "@champion" in titles and "accuracy_test" in titles
    assert "housing" not in titles.lower() and "rmse" not in titles
    assert rubric.task.kind == "classification" and rubric.settings["order"] == "DESC"


# --------------------------------------------------------------------------- the second course, graded


def _statuses(result) -> dict[str, str]:
    return {c.id: c.status for c in result.checks}


def _all_ways(store, tmp_path) -> dict[str, str]:
    """Grade ``store`` with the API, the CLI's JSON and ``--batch``; all three must agree."""
    before = tree_digest(store)
    api = _statuses(grade(store, RUBRIC, lang="en"))
    out = tmp_path / "report.json"
    code = main([str(store), "--rubric", RUBRIC, "--json", str(out), "-q"])
    assert code in (0, 1)
    cli = {c["id"]: c["status"] for c in json.loads(out.read_text(encoding="utf-8"))["checks"]}
    klass = tmp_path / "class"
    shutil.copytree(store, klass / "ana")
    grade_batch(klass, tmp_path / "batch", RUBRIC, jobs=1, lang="en")
    with open(tmp_path / "batch" / "gradebook.csv", newline="", encoding="utf-8") as fh:
        row = next(csv.DictReader(fh))
    batch_report = next((tmp_path / "batch" / "students").glob("*/report.json"))
    batch = {c["id"]: c["status"] for c in json.loads(batch_report.read_text(encoding="utf-8"))["checks"]}
    gradebook = {cid: row[f"{cid}_status"] for cid in api}
    assert api == cli == batch == gradebook, (api, cli, batch, gradebook)
    assert tree_digest(store) == before, "grading changed the submission"
    return api


@pytest.mark.parametrize("backend", ["file", "sqlite"])
def test_classification_reference_passes_every_check(classification_refs, backend, tmp_path):
    statuses = _all_ways(classification_refs(backend), tmp_path)
    assert set(statuses.values()) == {"pass"}, statuses
    result = grade(classification_refs(backend), RUBRIC, lang="en")
    predict = next(c for c in result.checks if c.id == "model.predict")
    assert predict.status == "pass" and len(predict.evidence["predictions"]) == 5
    metrics = next(c for c in result.checks if c.id == "integrity.metrics")
    assert set(metrics.evidence["metrics"]) == {"accuracy_test", "f1_test"} and metrics.evidence["n_rows"] == 143
    assert result.passed and result.score == result.max_score


@pytest.mark.parametrize("variant", sorted(VARIANT_FAILS))
@pytest.mark.parametrize("backend", ["file", "sqlite"])
def test_classification_variants_fail_as_specified(classification_refs, backend, variant, tmp_path):
    store = tmp_path / "store"
    _reference_module().derive(classification_refs(backend), store, variant)
    statuses = _all_ways(store, tmp_path)
    failed = {cid for cid, status in statuses.items() if status == "fail"}
    assert failed == VARIANT_FAILS[variant], statuses
    assert not grade(store, RUBRIC, lang="en").passed or variant == "wrong_metric"


# --------------------------------------------------------------------------- grade rubric init


def test_rubric_init_reads_the_second_course_off_its_reference(classification_refs, tmp_path, capsys):
    ref = classification_refs("sqlite")
    before = tree_digest(ref)
    out = tmp_path / "mine.yaml"
    assert main(["rubric", "init", "--from", str(ref), "--data", "sklearn:breast_cancer", "--out", str(out),
                 "--lang", "en"]) == 0
    assert "Wrote" in capsys.readouterr().err
    rubric = load_rubric(out)
    assert rubric.settings["experiment"] == "cancer-classification" and rubric.settings["model_name"] == "cancer-best"
    assert rubric.settings["metric"] == "accuracy_test" and rubric.settings["order"] == "DESC"
    assert rubric.settings["accept_alias"] is True and rubric.settings["accepted_aliases"] == ["champion"]
    # the split that reproduces the logged metrics was found by predicting the whole data set once
    task = rubric.task
    assert (task.kind, task.test_size, task.random_state, task.stratify) == ("classification", 0.25, 0, True)
    result = grade(ref, rubric, lang="en")
    assert {c.status for c in result.checks} == {"pass"}, [(c.id, c.status, c.message) for c in result.checks]
    assert tree_digest(ref) == before
    # never over an existing file
    assert main(["rubric", "init", "--from", str(ref), "--out", str(out), "--lang", "en"]) == 2
    assert "exists already" in capsys.readouterr().err


def test_rubric_init_without_the_data_says_what_to_fill_in(classification_refs, capsys):
    assert main(["rubric", "init", "--from", str(classification_refs("sqlite")), "--lang", "en"]) == 0
    captured = capsys.readouterr()
    assert "data: REPLACE-ME.csv" in captured.out and "fill in the REPLACE-ME values" in captured.err


def test_rubric_init_on_class_195s_reference_gives_its_task(reference_store_file, tmp_path):
    out = tmp_path / "r.yaml"
    assert main(["rubric", "init", "--from", str(reference_store_file), "--data", "california_housing",
                 "--out", str(out)]) == 0
    rubric = load_rubric(out)
    assert rubric.task == DEFAULT_TASK  # test_size 0.2, random_state 42: found, so no task: section
    assert rubric.settings["metric"] == "rmse_test" and rubric.settings["order"] == "ASC"
    assert rubric.settings["stage"] == "Production" and not rubric.settings["accept_alias"]
    result = grade(reference_store_file, rubric, lang="en")
    assert result.passed, [(c.id, c.status, c.message) for c in result.checks if c.status != "pass"]


def test_demo_of_the_second_rubric_passes(tmp_path):
    assert main(["--demo", "--rubric", RUBRIC, "--lang", "en", "--out", str(tmp_path / "out"), "-q"]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["score"] == report["max_score"] and {c["status"] for c in report["checks"]} == {"pass"}


def test_demo_of_a_rubric_without_a_reference_is_refused(tmp_path, capsys):
    path = tmp_path / "r.yaml"
    text = (REPO_ROOT / "rubrics" / "cancer-classification.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("id: cancer-classification", "id: my-course"), encoding="utf-8")
    assert main(["--demo", "--rubric", str(path), "--lang", "en"]) == 2
    assert "has no reference submission for --demo" in capsys.readouterr().err


def test_a_rubric_that_changes_only_settings_names_its_own_things(reference_store_file):
    from grader import yamlio

    data = yamlio.load((REPO_ROOT / "rubrics" / "homework-195.yaml").read_text(encoding="utf-8"))
    data["settings"] |= {"experiment": "taxi-duration", "model_name": "taxi-best", "metric": "mae_test", "stage": "Staging"}
    data["checks"][0]["settings"] = {"min_runs": 5}
    result = grade(reference_store_file, parse_rubric(data), probe=False, lang="en")
    by_id = {c.id: c for c in result.checks}
    assert by_id["runs.count"].title == "At least 5 finished runs in experiment taxi-duration"
    assert by_id["registry.production"].title == "Registered model taxi-best with a version in Staging"
    assert by_id["registry.best_run"].title == "The Staging version is the best run by mae_test (acceptance rule)"
    assert "taxi-duration" in by_id["runs.count"].message and "taxi-duration" in by_id["runs.count"].hint
    # (messages may name what the store holds: "Experiments found: homework-195")
    assert "homework-195" not in " ".join(c.title + c.hint for c in result.checks)
    assert "taxi-best" in by_id["registry.production"].hint and "housing-best" not in by_id["registry.production"].hint


@pytest.mark.parametrize(("change", "says"), [
    (lambda d: d["checks"][0].setdefault("settings", {}).update(min_run=3), "has no setting(s) min_run (did you mean 'min_runs'?)"),
    (lambda d: d["checks"][9]["settings"].update(severity="warning"), "severity must be fail or warn, not 'warning' (did you mean 'warn'?)"),
    (lambda d: d["settings"].update(severity="fial"), "severity must be fail or warn"),
    (lambda d: d["settings"].update(acept_alias=True), "unknown setting 'acept_alias' (did you mean 'accept_alias'?)"),
    (lambda d: d["settings"].update(accept_alias="yes"), "accept_alias must be true or false"),
])
def test_setting_typos_are_refused_with_the_closest(change, says):
    from grader import yamlio

    data = yamlio.load((REPO_ROOT / "rubrics" / "homework-195.yaml").read_text(encoding="utf-8"))
    metrics = next(i for i, c in enumerate(data["checks"]) if c["id"] == "integrity.metrics")
    data["checks"].insert(9, data["checks"].pop(metrics))  # where the cases above look for it
    data["checks"][9].setdefault("settings", {})
    change(data)
    with pytest.raises(RubricError) as info:
        parse_rubric(data)
    assert says in str(info.value)


def test_a_rubric_without_texts_names_the_second_course_s_things(classification_refs):
    """The second course's task, settings, ids and points, and not one text: the checks' defaults
    read complete in both languages and name its experiment, model and metric."""
    from grader import yamlio

    data = yamlio.load((REPO_ROOT / "rubrics" / "cancer-classification.yaml").read_text(encoding="utf-8"))
    keep = ("id", "points", "settings", "required")
    minimal = {"id": "cancer-minimal", "task": data["task"], "settings": data["settings"],
               "checks": [{k: c[k] for k in keep if k in c} for c in data["checks"]]}
    shown = {}
    for lang in ("es", "en"):
        result = grade(classification_refs("sqlite"), parse_rubric(minimal), lang=lang)
        assert result.passed and result.score == result.max_score, [(c.id, c.message) for c in result.checks]
        by_id = {c.id: c for c in result.checks}
        assert "cancer-classification" in by_id["runs.count"].title and "8" in by_id["runs.count"].title
        assert "cancer-best" in by_id["registry.production"].title
        assert "accuracy_test" in by_id["registry.best_run"].title and "DESC" in by_id["registry.best_run"].message
        assert "accuracy_test" in by_id["integrity.metrics"].message
        for c in result.checks:
            words = f"{c.title} {c.message}"
            assert "{" not in words and not c.message.startswith("["), (c.id, words)
            assert "housing" not in words and "homework-195" not in words and "rmse" not in words, (c.id, words)
        shown[lang] = [c.title for c in result.checks]
    assert all(es != en for es, en in zip(shown["es"], shown["en"], strict=True)), shown


def test_task_flavors_refuse_a_model_of_another_kind(classification_refs):
    from grader import yamlio

    data = yamlio.load((REPO_ROOT / "rubrics" / "cancer-classification.yaml").read_text(encoding="utf-8"))
    data["task"]["flavors"] = ["xgboost"]
    result = grade(classification_refs("sqlite"), parse_rubric(data), lang="en")
    predict = next(c for c in result.checks if c.id == "model.predict")
    assert predict.status == "fail" and "accepts xgboost models" in predict.message and "sklearn" in predict.message
    for raw, says in (({"flavors": ["python_function"]}, "say pyfunc"), ({"flavors": ["pytorch"]}, "cannot be loaded by the grader"), ({"flavors": ["sklern"]}, "did you mean 'sklearn'"),
                      ({"flavors": "sklearn"}, "expected a list")):
        with pytest.raises(RubricError, match=says):
            parse_task(raw)

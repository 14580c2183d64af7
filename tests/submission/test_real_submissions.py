"""Issue 11's problems that are not a habit of the corpus (tests/test_habits.py): partial hand-ins,
what the report says of the store, and which checks decide the pass.

Every case is a real store: a copy of the session's reference submissions, cut the way students
hand them in.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys

import pytest

from helpers import REPO_ROOT, tree_digest

GRADE = [sys.executable, "-c", "import sys; from grader.cli import main; sys.exit(main())"]


def grade_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*GRADE, *args], capture_output=True, text=True, timeout=600)


def one_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


# --------------------------------------------------------------------------- partial hand-ins


@pytest.mark.parametrize("what", ["folder", "mlruns"])
def test_artifacts_without_their_database_are_said_once_in_the_students_language(what, reference_store_sqlite, tmp_path):
    """``mlruns/`` of a SQLite store handed in without ``mlflow.db``: exit 2, one line saying what to
    hand in (before: six checks in error with "MissingConfigException ... meta.yaml")."""
    sub = tmp_path / "ana"
    shutil.copytree(reference_store_sqlite / "mlruns", sub / "mlruns")
    target = sub if what == "folder" else sub / "mlruns"
    before = tree_digest(sub)
    es = grade_cli(str(target), "-q")
    en = grade_cli(str(target), "-q", "--lang", "en")
    assert es.returncode == en.returncode == 2
    assert "mlflow.db" in one_line(es) and "Entregá" in one_line(es), es.stderr
    assert "mlflow.db" in one_line(en) and "Hand in" in one_line(en), en.stderr
    assert "MissingConfigException" not in es.stderr + en.stderr
    assert tree_digest(sub) == before


def test_database_without_its_artifacts_is_said_once(reference_store_sqlite, tmp_path):
    """``mlflow.db`` handed in without ``mlruns/``: one note and one runs.model message for the whole
    store (before: "no MLmodel" once per run)."""
    from grader import grade

    sub = tmp_path / "beto"
    sub.mkdir()
    shutil.copyfile(reference_store_sqlite / "mlflow.db", sub / "mlflow.db")
    result = grade(sub, lang="en", probe=False)
    runs_model = next(c for c in result.checks if c.id == "runs.model")
    assert runs_model.status == "fail" and runs_model.evidence["key"] == "no_artifacts"
    assert "no MLmodel" not in runs_model.message and "mlruns/" in runs_model.message
    notes = [n for n in result.submission.notes if "artifacts" in n]
    assert len(notes) == 1 and "hand in mlruns/" in notes[0]
    spanish = grade(sub, lang="es", probe=False)
    assert any("entregá también mlruns/" in n for n in spanish.submission.notes), spanish.submission.notes


def test_a_bare_database_file_grades_only_itself(reference_store_sqlite, tmp_path):
    """``grade ana.db`` grades that database and its own artifacts: not a neighbour's notebook."""
    from grader import grade

    folder = tmp_path / "class"
    shutil.copytree(reference_store_sqlite, folder)
    (folder / "beto.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    result = grade(folder / "mlflow.db", lang="en")
    assert result.passed, {c.id: c.message for c in result.checks if not c.passed}
    notebook = next(c for c in result.checks if c.id == "notebook.final_cell")
    assert notebook.evidence["key"] == "no_notebook", notebook.message


def test_an_empty_database_never_wins_over_a_populated_store(reference_store_file, tmp_path):
    """A populated ``mlruns/`` beside a real but empty MLflow database (made by MLflow itself):
    ``mlruns/`` is graded, the report names both (before: the empty ``mlflow.db`` won)."""
    from grader import grade

    sub = tmp_path / "carla"
    shutil.copytree(reference_store_file, sub)
    code = "import sys; from mlflow.tracking import MlflowClient; MlflowClient(tracking_uri='sqlite:///' + sys.argv[1]).search_experiments()"
    subprocess.run([sys.executable, "-c", code, str(sub / "mlflow.db")], check=True, capture_output=True, timeout=300)
    result = grade(sub, lang="en", probe=False)
    assert result.submission.store == "file"
    assert [s["path"] for s in result.submission.stores] == ["mlruns", "mlflow.db"]
    assert next(c for c in result.checks if c.id == "runs.count").status == "pass"
    assert "mlruns was graded" in result.submission.notes[0] and "mlflow.db ('Default': 0 runs)" in result.submission.notes[0]


def test_store_option_refuses_a_path_that_is_not_a_store(reference_store_file, tmp_path):
    sub = tmp_path / "dani"
    shutil.copytree(reference_store_file, sub)
    proc = grade_cli(str(sub), "--store", "nope", "-q")
    assert proc.returncode == 2 and "--store nope" in one_line(proc)


def test_a_database_mlflow_cannot_open_is_one_line(tmp_path):
    """A file named mlflow.db with MLflow's two tables but not its columns: exit 2, one line."""
    sub = tmp_path / "eva"
    sub.mkdir()
    con = sqlite3.connect(sub / "mlflow.db")
    con.execute("CREATE TABLE experiments (experiment_id INTEGER, name TEXT, artifact_location TEXT, lifecycle_stage TEXT)")
    con.execute("CREATE TABLE runs (run_uuid TEXT, experiment_id INTEGER, lifecycle_stage TEXT, artifact_uri TEXT)")
    con.commit()
    con.close()
    proc = grade_cli(str(sub), "-q", "--lang", "en")
    assert proc.returncode == 2 and "MLflow cannot open" in one_line(proc)
    proc = grade_cli(str(sub), "-q")  # Spanish by default
    assert proc.returncode == 2 and "MLflow no puede abrir" in one_line(proc)


# --------------------------------------------------------------------------- what the report says


def test_report_names_the_mlflow_version_not_only_the_layout(v2_store_sqlite, tmp_path):
    """The 2.22 store: layout "2.x" is the artifact layout; the version comes from its MLmodel files,
    and the database's revision as handed in (read before MLflow migrates the copy)."""
    from grader import grade
    from grader.reports import render

    sub = tmp_path / "v2"
    shutil.copytree(v2_store_sqlite, sub)
    result = grade(sub, lang="en", probe=False)
    assert result.submission.mlflow_layout == "2.x"
    assert result.submission.mlflow_version.startswith("2.22")
    assert result.submission.schema_revision == "0584bdc529eb"
    text = render(result, "text")
    assert "run artifacts (MLflow 1.x/2.x), written by MLflow 2.22" in text
    assert "artefactos en el run (MLflow 1.x/2.x), escrito con MLflow 2.22" in render(grade(sub, lang="es", probe=False), "text")


def test_unnamed_runs_are_named_by_their_id_in_every_language(reference_store_file, tmp_path):
    """MLflow 1.x logged runs without a name: messages name them by id, never "(sin nombre)" in English."""
    from grader import grade

    sub = tmp_path / "noname"
    shutil.copytree(reference_store_file, sub)
    for tag in sub.glob("mlruns/*/*/tags/mlflow.runName"):
        tag.unlink()
    for meta in sub.glob("mlruns/*/*/meta.yaml"):
        lines = [line for line in meta.read_text().splitlines() if not line.startswith("run_name:")]
        meta.write_text("\n".join(lines) + "\n")
    result = grade(sub, lang="en", probe=False)
    best = next(c for c in result.checks if c.id == "registry.best_run")
    assert "sin nombre" not in best.message and best.status == "pass", best.message


@pytest.mark.parametrize("form", ["sqlite:////{db}", "sqlite:///{db}"])
def test_input_is_echoed_as_given(form, reference_store_sqlite):
    from grader import grade

    db = str(reference_store_sqlite / "mlflow.db").lstrip("/") if form.startswith("sqlite:////") else \
        str(reference_store_sqlite / "mlflow.db")
    text = form.format(db=db)
    result = grade(text, probe=False)
    assert result.submission.input == text


def test_probe_errors_keep_the_line_that_explains_them():
    """scikit-learn's incompatible-dtype error puts the reason on the lines after the first."""
    from grader.probe.worker import _line

    exc = ValueError("node array from the pickle has an incompatible dtype:\n- expected: [('left_child', '<i8')]\n"
                     "- got     : [('left_child', '<i4')]")
    line = _line(exc)
    assert "expected" in line and "got" in line and "\n" not in line


# --------------------------------------------------------------------------- required checks


def test_the_homework_as_listed_passes_without_the_class_exercises(make_variant_store):
    """A submission doing exactly what the homework lists, without exercise 2's autolog run: passed
    (exit 0), one point short; every report says which checks are extra."""
    from grader import grade
    from grader.reports import render

    sub = make_variant_store("no_autolog", "file")
    result = grade(sub, lang="en")
    autolog = next(c for c in result.checks if c.id == "exercise.autolog")
    assert autolog.status == "fail" and not autolog.required
    assert result.passed and result.exit_code == 0 and not result.all_passed
    assert result.score == result.max_score - autolog.max_points
    assert "(extra)" in render(result, "text") and "extra" in render(result, "markdown")
    data = render(result, "json")
    assert '"required": false' in data and '"passed": true' in data


def test_a_right_final_cell_without_outputs_is_a_warning(make_variant_store):
    """The cell that loads models:/housing-best/Production and predicts, saved without outputs: a
    warn that says so (before: a fail that kept a correct homework from passing)."""
    import nbformat

    from grader import grade

    sub = make_variant_store("with_final_cell", "sqlite")
    for path in sub.rglob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(nb, path)
    result = grade(sub, lang="en")
    cell = next(c for c in result.checks if c.id == "notebook.final_cell")
    assert cell.status == "warn" and cell.evidence["key"] == "no_outputs", cell.message
    assert "no saved outputs" in cell.message and result.passed


# --------------------------------------------------------------------------- ranking direction


@pytest.mark.parametrize("order,status", [("DESC", "pass"), ("ASC", "fail")])
def test_a_metric_to_maximise_is_ranked_descending(order, status, reference_store_file, tmp_path):
    """``metric: r2_test`` with ``order: DESC``: the best run is the highest r2 (the Production one);
    ranked ascending (the only way before) the worst run would be taken as the best."""
    import yaml

    from grader import grade

    data = yaml.safe_load((REPO_ROOT / "rubrics" / "homework-195.yaml").read_text(encoding="utf-8"))
    data["settings"].update(metric="r2_test", order=order)
    data["checks"] = [c for c in data["checks"] if c["id"] in ("runs.count", "registry.best_run")]
    rubric = tmp_path / "r2.yaml"
    rubric.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = grade(reference_store_file, rubric, lang="en", probe=False)
    best = next(c for c in result.checks if c.id == "registry.best_run")
    assert best.status == status, best.message
    assert f"r2_test {order}" in best.message and result.order == order and result.metric == "r2_test"


def test_an_unknown_order_is_refused(tmp_path):
    import yaml

    from grader.errors import RubricError
    from grader.rubric import load_rubric

    data = yaml.safe_load((REPO_ROOT / "rubrics" / "homework-195.yaml").read_text(encoding="utf-8"))
    data["settings"]["order"] = "descending"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(RubricError, match="ASC .* or DESC"):
        load_rubric(path)


# --------------------------------------------------------------------------- settings that reach where they act


def _rubric_with(tmp_path, change) -> str:
    import yaml

    data = yaml.safe_load((REPO_ROOT / "rubrics" / "homework-195.yaml").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "rubric.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def _setting(data: dict, check_id: str, **settings) -> None:
    check = next(c for c in data["checks"] if c["id"] == check_id)
    check["settings"] = {**(check.get("settings") or {}), **settings}


def test_model_predict_rows_reach_the_probe(reference_store_sqlite, tmp_path):
    """``rows: 3`` on model.predict: the probe predicts 3 rows (before: 5, and a correct model failed)."""
    from grader import grade

    rubric = _rubric_with(tmp_path, lambda d: (_setting(d, "model.predict", rows=3),
                                                d.update(checks=[c for c in d["checks"] if c["id"] == "model.predict"])))
    result = grade(reference_store_sqlite, rubric, lang="en")
    (check,) = result.checks
    assert check.status == "pass", check.message
    assert len(check.evidence["predictions"]) == 3


def test_the_runs_table_counts_what_runs_count_counts(reference_store_file, tmp_path):
    """``count_statuses`` set on runs.count: the report's runs table agrees with the check."""
    from grader import grade

    sub = tmp_path / "running"
    shutil.copytree(reference_store_file, sub)
    meta = next(p for p in sub.glob("mlruns/*/*/meta.yaml") if "\nrun_id:" in p.read_text())
    meta.write_text(meta.read_text().replace("status: 3", "status: 1"))  # RUNNING
    rubric = _rubric_with(tmp_path, lambda d: _setting(d, "runs.count", count_statuses=["FINISHED", "RUNNING"]))
    result = grade(sub, rubric, lang="en", probe=False)
    count = next(c for c in result.checks if c.id == "runs.count")
    assert any(r.status == "RUNNING" for r in result.runs)
    assert count.evidence["counted"] == sum(r.counted for r in result.runs) == len(result.runs)


def test_deadline_reaches_a_class_on_one_store(reference_store_file, tmp_path):
    """``--students`` with ``--deadline``: each student's timeline check sees the deadline (before: dropped)."""
    proc = grade_cli(str(reference_store_file), "--experiment", "homework-{student}", "--students", "195",
                     "--deadline", "2020-01-01", "--out", str(tmp_path / "out"), "--no-probe", "-q", "--lang", "en")
    assert proc.returncode in (0, 1), proc.stderr
    import json

    (report,) = (tmp_path / "out" / "students").glob("*/report.json")
    timeline = next(c for c in json.loads(report.read_text())["checks"] if c["id"] == "integrity.timeline")
    assert timeline["status"] == "warn" and "deadline" in timeline["message"], timeline["message"]


def test_a_symlinked_notebook_folder_is_never_followed(make_variant_store, tmp_path):
    """A notebook folder that is a link to a folder outside the submission (a classmate's): its
    notebooks are not the submission's (before: the classmate's final cell passed the check)."""
    from grader import grade

    classmate = make_variant_store("with_final_cell", "file")
    cheater = make_variant_store("reference", "file")
    (cheater / "notebooks").symlink_to(classmate, target_is_directory=True)
    result = grade(cheater, lang="en", probe=False)
    notebook = next(c for c in result.checks if c.id == "notebook.final_cell")
    assert notebook.evidence["key"] == "no_notebook", notebook.message


# --------------------------------------------------------------------------- values of a store used as paths


def test_an_experiment_id_holding_a_path_is_never_used_as_one(reference_store_sqlite, tmp_path):
    """An ``mlflow.db`` whose experiment id is TEXT holding an absolute path (SQLite keeps it, the
    column has INTEGER affinity only): the snapshot never copies onto or writes at that path
    (before: it copied a folder onto itself and zeroed a file outside the submission)."""
    from grader import grade

    outside = tmp_path / "outside"
    outside.mkdir()
    canary = outside / "canary.txt"
    canary.write_text("keep me")
    sub = tmp_path / "mallory"
    shutil.copytree(reference_store_sqlite, sub)
    con = sqlite3.connect(sub / "mlflow.db")
    (exp_id,) = con.execute("SELECT experiment_id FROM experiments WHERE name = 'homework-195'").fetchone()
    hostile = str(outside)
    con.execute("PRAGMA foreign_keys = OFF")
    with con:  # the experiments table re-made with a TEXT key, as the attacker's database has it
        (sql,) = con.execute("SELECT sql FROM sqlite_master WHERE name = 'experiments'").fetchone()
        con.execute("ALTER TABLE experiments RENAME TO experiments_old")
        con.execute(sql.replace("experiment_id INTEGER NOT NULL", "experiment_id TEXT NOT NULL"))
        con.execute("INSERT INTO experiments SELECT * FROM experiments_old")
        con.execute("DROP TABLE experiments_old")
        for table in ("experiments", "runs", "experiment_tags", "logged_models"):
            if con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone():
                con.execute(f"UPDATE {table} SET experiment_id = ? WHERE experiment_id = ?", (hostile, exp_id))
    con.close()
    shutil.copytree(sub / "mlruns" / str(exp_id), sub / "mlruns" / "copy-of-experiment")  # something to copy
    before, outside_before = tree_digest(sub), tree_digest(outside)
    try:
        result = grade(sub, lang="en", probe=False)
    except Exception as exc:  # noqa: BLE001 - a clear SubmissionError is fine too
        from grader.errors import SubmissionError

        assert isinstance(exc, SubmissionError), exc
    else:
        assert any("not plain names" in note for note in result.submission.notes), result.submission.notes
    assert canary.read_text() == "keep me"
    assert tree_digest(outside) == outside_before and tree_digest(sub) == before

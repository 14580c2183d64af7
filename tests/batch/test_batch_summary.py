"""Issue 16 in a class: the rubric's late policy, warnings counted apart, copy detection over the
whole store, and summary.html's metric chart and catalogue strings.

One class is graded once per module through the CLI (``grade --batch``, probe on, ``-j 2``, the
shipped rubric with a late policy, a deadline 2.5 days before the fixtures were built):

=============  ==========================================================  =============================
student        what it is                                                  expected
=============  ==========================================================  =============================
ana            copy of the 3.x reference (SQLite), no notebook             notebook.final_cell warn, late
ana_renamed    copy of ana whose experiment was renamed with MLflow        strong copy of ana (run ids)
beto           copy of the 3.x reference (file store) with its notebook    no notebook warning
carla          empty folder                                                error: no warning count
=============  ==========================================================  =============================
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from helpers import REPO_ROOT, load_fixtures_modules

from grader.batch import StudentRow, gradebook_csv, summary_texts
from grader.catalogue import MESSAGES
from grader.deadline import Amount, LatePolicy, late_penalty, parse_late_policy
from grader.errors import RubricError
from grader.lms import feedback
from grader.reports import render
from grader.result import Result
from grader.rubric import load_rubric, parse_rubric

_, variants = load_fixtures_modules()

LATE = {"after": "deadline", "penalty_per_day": 1, "max": 2}
TEMPLATE = REPO_ROOT / "grader" / "reports" / "templates" / "summary.html.j2"


def _shipped() -> dict:
    return yaml.safe_load((REPO_ROOT / "rubrics" / "homework-195.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def klass(tmp_path_factory, reference_builds):
    import mlflow

    base = tmp_path_factory.mktemp("class16")
    subs = base / "submissions"
    subs.mkdir()
    shutil.copytree(reference_builds["sqlite"]["out_dir"], subs / "ana")
    shutil.copytree(subs / "ana", subs / "ana_renamed")
    # A classmate takes ana's store and renames the experiment, with MLflow itself, on the copy.
    client = mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{subs / 'ana_renamed' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("homework-195")
    client.rename_experiment(experiment.experiment_id, "mi-tarea")
    assert client.get_experiment_by_name("homework-195") is None
    shutil.copytree(reference_builds["file"]["out_dir"], subs / "beto")
    variants.write_notebook(subs / "beto", "file", final_cell=True)
    (subs / "carla").mkdir()

    rubric = _shipped()
    rubric["id"] = "homework-195-late"
    rubric["late"] = LATE
    rubric_path = base / "late.yaml"
    rubric_path.write_text(yaml.safe_dump(rubric, allow_unicode=True, sort_keys=False), encoding="utf-8")
    built = datetime.now(timezone.utc)
    deadline = (built - timedelta(days=2, hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")

    from grader.cli import main

    out = base / "out"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["--batch", str(subs), "--out", str(out), "-j", "2", "--lang", "es", "--rubric", str(rubric_path),
                     "--deadline", deadline])
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    reports = {s: json.loads((out / "students" / s / "report.json").read_text(encoding="utf-8")) for s in rows}
    return {"code": code, "err": err.getvalue(), "out": out, "rows": rows, "reports": reports,
            "summary": (out / "summary.html").read_text(encoding="utf-8"), "rubric": rubric_path}


# --------------------------------------------------------------------------- late policy


def test_late_penalty_is_in_the_score_of_every_format(klass):
    data = klass["reports"]["ana"]
    late = data["late"]
    assert late["days"] == 3 and late["penalty"] == 2.0, late  # 2.5 days late: 3 started days, capped at 2
    checks = sum(c["points"] for c in data["checks"])
    assert late["score_before"] == pytest.approx(checks)
    assert data["score"] == pytest.approx(checks - 2)
    row = klass["rows"]["ana"]
    assert float(row["score"]) == pytest.approx(data["score"])
    assert row["late_days"] == "3" and row["late_penalty"] == "2"
    result = Result.from_dict(data)
    assert result.score == pytest.approx(data["score"]) and result.late == late
    shown = f"{data['score']:g}"
    assert f"{shown}/{data['max_score']:g}" in render(result, "text")
    assert shown in render(result, "markdown") and shown in render(result, "html")
    # text, markdown and html say why the checks' points add up to more than the total
    breakdown = f"{checks:g} de los controles − 2 por entrega tardía"
    assert all(breakdown in render(result, fmt) for fmt in ("text", "markdown", "html")), breakdown
    assert f'value="{shown}"' in render(result, "junit")
    assert json.loads(render(result, "gradescope"))["score"] == pytest.approx(data["score"])
    # The formats whose total is the sum of their rows take the penalty off the rows.
    from jsonschema import Draft202012Validator

    from grader.reports.classroom import classroom_payload
    from grader.reports.classroom50 import classroom50_payload

    legacy = classroom_payload(result)
    assert sum(t["score"] for t in legacy["tests"]) == pytest.approx(data["score"])
    assert any("Descuento por entrega tardía: -" in t["message"] for t in legacy["tests"])
    c50 = classroom50_payload(result)
    assert c50["score"] == sum(t["score"] for t in c50["tests"]) == int(data["score"])
    assert all(t["score"] >= 0 for t in c50["tests"])
    for name, payload in (("report", data), ("classroom", legacy), ("classroom50", c50)):
        schema = json.loads((REPO_ROOT / "grader" / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
        Draft202012Validator(schema).validate(payload)
    note = next(n for n in data["submission"]["notes"] if n.startswith("Entrega tardía"))
    assert "3 días después del plazo" in note and "Se descuentan 2 puntos" in note, note
    assert "late" in klass["summary"] or "Atraso" in klass["summary"]
    assert "3 días: -2" in klass["summary"]


def test_late_policy_rules():
    policy = LatePolicy(per_day=Amount(10, percent=True), grace_minutes=30, cap=Amount(25, percent=True))
    day = 86_400_000
    on_time = late_penalty(policy, 0, 29 * 60_000, 18, 20)  # inside the grace period
    assert on_time["days"] == 0 and on_time["penalty"] == 0
    one = late_penalty(policy, 0, 31 * 60_000, 18, 20)
    assert one["days"] == 1 and one["penalty"] == 2  # 10% of the total (20)
    assert late_penalty(policy, 0, 5 * day, 18, 20)["penalty"] == 5  # capped at 25% of 20
    assert late_penalty(policy, 0, 5 * day, 3, 20)["penalty"] == 3  # never below 0
    assert late_penalty(policy, None, 5 * day, 3, 20) == {}  # no deadline: no verdict
    dated = LatePolicy(per_day=Amount(1), after="2026-06-30T00:00:00Z")
    assert late_penalty(dated, None, 1_782_777_600_000 + day + 1, 10, 20)["days"] == 2
    # --deadline wins over the rubric's date (an extension for one student)
    assert late_penalty(dated, 1_782_777_600_000 + 3 * day, 1_782_777_600_000 + day, 10, 20)["days"] == 0


@pytest.mark.parametrize("late, message", [
    ({"penalty_per_day": "diez"}, "late.penalty_per_day must be points"),
    ({"penalty_per_day": "150%"}, "between 0% and 100%"),
    ({"penalty_per_day": -1}, "0 or more points"),
    ({"penalty_per_day": 1, "max": True}, "late.max must be points"),
    ({"penalty_per_day": 1, "grace_minutes": "x"}, "grace_minutes must be a number"),
    ({"penalty_per_day": 1, "grace": 5}, "no setting grace"),
    ({"after": "mañana", "penalty_per_day": 1}, "late.after: not an ISO date/time"),
    ({"after": "2026-06-30"}, "needs penalty_per_day"),
    ("10%", "late must be a mapping"),
])
def test_bad_late_settings_are_refused_at_load(late, message):
    data = _shipped()
    data["late"] = late
    with pytest.raises(RubricError, match=re.escape(message)):
        parse_rubric(data, "late.yaml")


def test_shipped_rubric_documents_the_late_policy_without_using_it():
    rubric = load_rubric("homework-195")
    assert rubric.late is None
    text = (REPO_ROOT / "rubrics" / "homework-195.yaml").read_text(encoding="utf-8")
    lines = text[text.index("# late:"):].splitlines()
    example = "\n".join(line[2:] for line in lines[:lines.index("#") if "#" in lines else 5])
    policy = parse_late_policy(yaml.safe_load(example)["late"])
    assert policy.per_day.value > 0 and policy.after is None


# --------------------------------------------------------------------------- warnings apart


def test_warnings_are_counted_apart_in_gradebook_summary_and_terminal(klass):
    rows = klass["rows"]
    assert "notebook.final_cell" in rows["ana"]["warned_checks"].split(";")
    assert int(rows["ana"]["warnings"]) == len(rows["ana"]["warned_checks"].split(";"))
    assert "notebook.final_cell" not in rows["beto"]["warned_checks"]
    assert rows["carla"]["status"] == "error" and rows["carla"]["warnings"] == ""  # not graded, not "0"
    assert "avisos: integrity.timeline, notebook.final_cell" in rows["ana"]["feedback"]  # the class's language
    assert "3 días de atraso: -2 puntos" in rows["ana"]["feedback"]
    summary = klass["summary"]
    assert re.search(r'<li class="warned"><b>3</b>con avisos</li>', summary)  # ana, ana_renamed, beto (late runs)
    notebook_row = summary[summary.index("<code>notebook.final_cell</code>"):]
    notebook_row = notebook_row[:notebook_row.index("</tr>")]
    assert 'fill="#d4a72c"' in notebook_row  # the warnings' part of the bar
    assert "limpio" in notebook_row
    assert "con avisos" in klass["err"] and "con descuento por atraso" in klass["err"], klass["err"]


# --------------------------------------------------------------------------- copy detection


def test_copy_with_renamed_experiment_is_a_strong_pair(klass):
    rows = klass["rows"]
    assert rows["ana_renamed"]["runs.count_status"] == "fail"  # its experiment is not homework-195 any more
    assert rows["ana_renamed"]["suspected_copy_of"] == "ana"
    assert rows["ana"]["suspected_copy_of"] == "ana_renamed"
    shared = int(re.search(r"ana_renamed: (\d+) shared run ids", rows["ana"]["copy_evidence"]).group(1))
    assert shared >= 13
    assert "ana" not in rows["beto"]["suspected_copy_of"]


def test_fingerprints_cover_other_experiments_and_trash(tmp_path, reference_store_file):
    """A run in another experiment of the store counts too, and never through MLflow: read from the copy."""
    from grader.fingerprints import store_run_ids

    store = tmp_path / "mlruns"
    shutil.copytree(reference_store_file / "mlruns", store)
    (store / ".trash" / "9" / ("a" * 32)).mkdir(parents=True)
    (store / ".trash" / "9" / ("a" * 32) / "meta.yaml").write_text("run_id: x\n")

    class Snap:
        kind = "file"

    (store / "0" / "datasets" / "d1").mkdir(parents=True)  # not runs: never counted as run ids
    (store / "0" / "datasets" / "meta.yaml").write_text("name: x\n")
    Snap.store = store
    ids = store_run_ids(Snap)
    assert "a" * 32 in ids and len(ids) >= 14 and "datasets" not in ids
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


# --------------------------------------------------------------------------- summary.html


def test_summary_plots_each_students_best_metric(klass):
    summary = klass["summary"]
    section = summary[summary.index('<section class="card" id="metric">'):]
    section = section[:section.index("</section>")]
    assert "Mejor rmse_test de cada estudiante" in section and "<svg" in section
    for student in ("ana", "beto"):
        best = min(r["metrics"]["rmse_test"] for r in klass["reports"][student]["runs"]
                   if r["metrics"].get("rmse_test") is not None)
        assert f"{student}: {best:.6g}" in section
    assert "ana_renamed" not in section  # no experiment, no metric: counted as not drawn
    assert "1 sin rmse_test no se dibuja" in section
    assert "<script" not in summary and "http://" not in summary.replace("http://www.w3.org", "")


def test_summary_strings_come_from_the_catalogue_in_both_languages(klass):
    names = set(re.findall(r"\bt\.([a-z_]+)", TEMPLATE.read_text(encoding="utf-8")))
    assert names <= set(summary_texts("es")), names - set(summary_texts("es"))
    for name in names:
        assert MESSAGES[f"summary.{name}"]["es"] and MESSAGES[f"summary.{name}"]["en"], name
    summary = klass["summary"]
    for english in ("could not be graded", "Pass rate", ">pass<", ">fail<", "not a folder", "parallel job", "Suspected"):
        assert english not in summary, english
    assert ">aprobado<" in summary and "Tasa de aprobación por criterio" in summary


def test_feedback_and_gradebook_units():
    row = StudentRow("ana", "ana", "ana", "pass", 19, 21, {"runs.count": ("pass", 2.0), "notebook.final_cell": ("warn", 1.0)},
                     late={"days": 1, "penalty": 1.0})
    text = feedback(row)
    assert "every check passed" not in text and "warnings: notebook.final_cell" in text and "late 1 day: -1 point" in text
    spanish = feedback(row, lang="es")
    assert "avisos: notebook.final_cell" in spanish and "1 día de atraso: -1 punto" in spanish, spanish
    assert "informe de mlflow-grader: students/ana/report.html" in spanish
    line = next(csv.DictReader(io.StringIO(gradebook_csv([row], ["runs.count", "notebook.final_cell"]))))
    assert line["warnings"] == "1" and line["warned_checks"] == "notebook.final_cell" and line["late_penalty"] == "1"
    assert StudentRow("b", "b", "b", "error", 0, 21).warned == []


def test_a_class_sharing_one_store_is_not_a_class_of_copies(tmp_path, reference_store_sqlite):
    """``grade STORE --experiment 'homework-195-{student}' --students``: every student's experiment is
    in the same store, so the store-wide fingerprints would make them all copies of each other;
    there only each student's own experiment is fingerprinted."""
    import mlflow

    from grader.batch.server import grade_class

    store = tmp_path / "shared"
    shutil.copytree(reference_store_sqlite, store)
    client = mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    client.rename_experiment(client.get_experiment_by_name("homework-195").experiment_id, "homework-195-ana")
    beto = client.create_experiment("homework-195-beto", artifact_location=(store / "mlruns" / "beto").as_uri())
    for _ in range(2):
        run = client.create_run(beto)
        client.log_metric(run.info.run_id, "rmse_test", 0.7)
        client.set_terminated(run.info.run_id)
    batch = grade_class(str(store / "mlflow.db"), tmp_path / "out", ["ana", "beto"], experiment="homework-195-{student}",
                        lang="en", probe=False)
    rows = {r.student: r for r in batch.rows}
    assert rows["ana"].graded and rows["beto"].graded
    assert not rows["ana"].suspected_copy_of and not rows["beto"].suspected_copy_of
    assert len(rows["beto"].fingerprints["run_ids"]) == 2


def test_rubric_deadline_alone_costs_points_and_is_flagged(v2_store_sqlite):
    """``late.after`` without ``--deadline``: the rubric's date is the deadline, for the penalty and
    for ``integrity.timeline``; the English note and the JSON say the same."""
    from grader import grade

    data = _shipped()
    data["late"] = {"after": "2025-01-01", "penalty_per_day": "10%", "max": "30%"}
    result = grade(v2_store_sqlite, parse_rubric(data, "late.yaml"), lang="en", probe=False)
    assert result.late["days"] > 300 and result.late["max"] == "30%"
    assert result.penalty == pytest.approx(min(0.3 * result.max_score, result.checks_score))
    assert result.score == pytest.approx(result.checks_score - result.penalty)
    timeline = next(c for c in result.checks if c.id == "integrity.timeline")
    assert timeline.status == "warn", timeline.message
    note = next(n for n in result.submission.notes if n.startswith("Late:"))
    assert "30% of the total" in note and "10% of the total per day late" in note, note
    assert result.to_dict()["late"] == result.late


def test_summary_in_english_from_the_same_rows(klass):
    """The same class rendered in English (rows read back from the batch's index): every label changes."""
    from dataclasses import replace

    from grader.batch import INDEX, BatchResult, detect_copies, render_summary

    index = json.loads((klass["out"] / INDEX).read_text(encoding="utf-8"))
    rows = []
    for data in index["rows"]:
        data["checks"] = {k: (v[0], float(v[1])) for k, v in data["checks"].items()}
        rows.append(replace(StudentRow(**data), suspected_copy_of=[], same_models_as=[], copy_evidence=[]))
    rubric = load_rubric(klass["rubric"])
    batch = BatchResult(klass["out"], klass["out"], rubric.id, [s.id for s in rubric.checks], rows, detect_copies(rows), [],
                        1.0, 2, [s.id for s in rubric.checks if not s.required])
    html = render_summary(batch, rubric, "en")
    for english in ("Each student&#39;s best rmse_test", "with warnings", "lost points for lateness", "Pass rate per check",
                    "3 days: -2", ">pass<", "1 without rmse_test is not drawn", "Suspected copies"):
        assert english in html, english
    for spanish in ("estudiantes", "aprobado", "Avisos", "días", "Posibles copias", "procesos"):
        assert spanish not in html, spanish


def test_metric_chart_of_a_large_class_is_a_histogram():
    from grader.reports.summary_page import METRIC_BARS, metric_chart

    rows = [StudentRow(f"s{i:03d}", "n", f"s{i:03d}", "pass", 1, 1, best_metric=0.5 + i / 1000) for i in range(METRIC_BARS + 5)]
    rows.append(StudentRow("nometric", "n", "nometric", "fail", 0, 1))
    chart = metric_chart(rows, "ASC", summary_texts("en"))
    assert not chart["per_student"] and len(chart["bars"]) == 10 and chart["missing"] == 1
    assert sum(int(b["value"]) for b in chart["bars"]) == METRIC_BARS + 5
    small = metric_chart(rows[:3], "DESC", summary_texts("en"))
    assert [b["label"] for b in small["bars"]] == ["s002", "s001", "s000"] and small["bars"][0]["best"]  # higher is better

"""LMS downloads in ``grade --batch``: Moodle's bulk download (a folder per student and plugin,
holding an archive), Canvas's (one flat zip of ``login_userid_attachmentid_file`` files, given to
``--batch`` as it is), the student's name taken from the layout, ``gradebook.csv`` in Moodle's and
Canvas's import formats with a roster, and ``--only`` (one student regraded into an existing
results folder: only that row changes).

The layouts are built from the committed MLflow 2.22 file store (a real submission, no build), and
graded without the model probe on the six core checks, so the file stays fast.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from grader import cli, lms
from grader.batch import BatchError, StudentRow, discover, grade_batch
from grader.lms import GradebookOptions

MOODLE = {"ana": "Ana Pérez_12345_assignsubmission_file_", "beto": "Beto Gómez_12346_assignsubmission_file_",
          "carla": "Carla Ruiz_12347_assignsubmission_file_"}


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, prefix + path.relative_to(folder).as_posix())
    return target


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


@pytest.fixture(scope="module")
def moodle_download(tmp_path_factory, v2_store_file) -> Path:
    """Moodle's "Download all submissions" (in folders), unzipped: Ana uploaded a zip, Beto his
    project folder's content, Carla only a text file; Ana also has an online-text submission."""
    root = tmp_path_factory.mktemp("moodle") / "download"
    (root / MOODLE["ana"]).mkdir(parents=True)
    zip_folder(v2_store_file, root / MOODLE["ana"] / "entrega.zip")
    shutil.copytree(v2_store_file, root / MOODLE["beto"])
    (root / MOODLE["carla"]).mkdir()
    (root / MOODLE["carla"] / "notes.txt").write_text("no lo terminé\n")
    (root / "Ana Pérez_12345_assignsubmission_onlinetext_").mkdir()
    (root / "Ana Pérez_12345_assignsubmission_onlinetext_" / "onlinetext.html").write_text("<p>hola</p>")
    return root


@pytest.fixture(scope="module")
def moodle_batch(moodle_download, tmp_path_factory, core_rubric_file):
    out = tmp_path_factory.mktemp("moodle-out") / "results"
    batch = grade_batch(moodle_download, out, core_rubric_file, jobs=2, lang="en", probe=False,
                        gradebook=GradebookOptions("moodle"))
    return batch, out


def test_moodle_layout_names_students_and_grades_the_archive_inside(moodle_batch):
    batch, out = moodle_batch
    rows = {r.student: r for r in batch.rows}
    assert set(rows) == {"Ana Pérez", "Beto Gómez", "Carla Ruiz"}
    assert rows["Ana Pérez"].status != "error" and rows["Ana Pérez"].score == rows["Beto Gómez"].score == 11
    assert rows["Carla Ruiz"].status == "error" and "no MLflow store" in rows["Carla Ruiz"].error
    assert (rows["Ana Pérez"].lms_id, rows["Beto Gómez"].lms_id) == ("12345", "12346")
    why = "Moodle submission of another plugin (not a file submission)"
    assert ("Ana Pérez_12345_assignsubmission_onlinetext_", why) in batch.ignored
    assert (out / "students" / rows["Ana Pérez"].slug / "report.html").is_file()


def test_moodle_grading_worksheet(moodle_batch):
    _, out = moodle_batch
    header, *lines = read_csv(out / "gradebook.csv")
    assert header == ["Identifier", "Full name", "Email address", "Grade", "Maximum grade", "Feedback comments"]
    by_id = {line[0]: dict(zip(header, line)) for line in lines}
    assert set(by_id) == {"Participant 12345", "Participant 12346", "Participant 12347"}
    ana = by_id["Participant 12345"]
    assert ana["Full name"] == "Ana Pérez" and ana["Grade"] == "11.00" and ana["Maximum grade"] == "14.00"
    assert "model.predict" in ana["Feedback comments"] and len(ana["Feedback comments"]) <= lms.FEEDBACK_CHARS
    carla = by_id["Participant 12347"]
    assert carla["Grade"] == "0.00" and "not graded" in carla["Feedback comments"]


def test_canvas_zip_given_to_batch_as_it_is(tmp_path, v2_store_file, core_rubric_file, capsys):
    """Canvas's "Download Submissions": one flat zip, graded with grade --batch all.zip, into
    Canvas's import format with a roster (SIS ids) and the assignment's column."""
    flat = tmp_path / "flat"
    flat.mkdir()
    zip_folder(v2_store_file, flat / "anaperez_12345_67890_entrega.zip")
    zip_folder(v2_store_file, flat / "betogomez_late_12346_67891_homework.zip", prefix="homework/")
    (flat / "carlaruiz_12347_67892_README.txt").write_text("x")  # two loose files: one student
    (flat / "carlaruiz_12347_67893_notes.txt").write_text("y")
    all_zip = zip_folder(flat, tmp_path / "submissions.zip")
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name,sis_user_id,sis_login_id,section\n"
                      "anaperez,\"Pérez, Ana\",A001,ana@uni.edu,S1\nbetogomez,\"Gómez, Beto\",A002,beto@uni.edu,S1\n",
                      encoding="utf-8")
    out = tmp_path / "out"
    code = cli.main(["--batch", str(all_zip), "--out", str(out), "--rubric", str(core_rubric_file), "--no-probe",
                     "--lang", "en", "-q", "-j", "2", "--gradebook-format", "canvas", "--roster", str(roster),
                     "--lms-assignment", "Homework 195 (4567)"])
    assert code == 1  # not every student passed
    header, possible, *lines = read_csv(out / "gradebook.csv")
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Homework 195 (4567)", "Notes"]
    assert possible[:1] == ["Points Possible"] and possible[5] == "14"
    rows = {line[1]: dict(zip(header, line)) for line in lines}
    assert set(rows) == {"12345", "12346", "12347"}  # Canvas user ids, from the file names
    assert rows["12345"]["Student"] == "Pérez, Ana" and rows["12345"]["SIS User ID"] == "A001"
    assert rows["12345"]["Homework 195 (4567)"] == rows["12346"]["Homework 195 (4567)"] == "11"
    assert rows["12347"]["Homework 195 (4567)"] == "0" and "not graded" in rows["12347"]["Notes"]
    index = json.loads((out / ".mlflow-grader-rows.json").read_text(encoding="utf-8"))
    assert sorted(r["student"] for r in index["rows"]) == ["anaperez", "betogomez", "carlaruiz"]


def test_only_regrades_one_student_and_changes_only_that_row(moodle_download, tmp_path, v2_store_file,
                                                             core_rubric_file):
    download = tmp_path / "download"
    shutil.copytree(moodle_download, download)
    out = tmp_path / "out"
    grade_batch(download, out, core_rubric_file, jobs=2, lang="en", probe=False)  # the native gradebook
    before = read_csv(out / "gradebook.csv")
    reports = {p: p.read_bytes() for p in (out / "students").rglob("report.json")}
    # Carla sends her store late; the instructor regrades her alone
    shutil.rmtree(download / MOODLE["carla"])
    (download / MOODLE["carla"]).mkdir()
    zip_folder(v2_store_file, download / MOODLE["carla"] / "tarde.zip")
    batch = grade_batch(download, out, core_rubric_file, jobs=1, lang="en", probe=False, only="Carla Ruiz")
    assert [r.student for r in batch.rows] == ["Ana Pérez", "Beto Gómez", "Carla Ruiz"]
    after = read_csv(out / "gradebook.csv")
    assert after[0] == before[0] and len(after) == len(before)
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    assert [after[i][0] for i in changed] == ["Carla Ruiz"]
    carla = dict(zip(after[0], after[changed[0]]))
    assert carla["status"] == "fail" and carla["score"] == "11" and carla["error"] == ""
    for path, data in reports.items():
        if "Carla" not in str(path):
            assert path.read_bytes() == data  # the others' reports are untouched
    with pytest.raises(BatchError, match="no such student"):
        grade_batch(download, out, core_rubric_file, probe=False, only="Nadie")
    with pytest.raises(BatchError, match="previous batch"):
        grade_batch(download, tmp_path / "fresh", core_rubric_file, probe=False, only="Carla Ruiz")


# --------------------------------------------------------------------------- units


def test_layout_names(tmp_path):
    (tmp_path / "Ana Pérez_12345_assignsubmission_file_").mkdir()
    (tmp_path / "Ana Pérez_12345_assignsubmission_file_" / "x.tgz").write_bytes(b"x")
    (tmp_path / "Dan Li_7_assignsubmission_file_entrega.zip").write_bytes(b"PK")  # Moodle without folders
    (tmp_path / "eva_99_100_mlruns.tar.gz").write_bytes(b"x")  # Canvas
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "only.zip").write_bytes(b"PK")  # a folder holding one archive
    (tmp_path / "other.csv").write_text("x")
    entries, ignored = discover(tmp_path, scratch=tmp_path.parent / "scratch")
    by = {e.student: e for e in entries}
    assert set(by) == {"Ana Pérez", "Dan Li", "eva", "plain"}
    assert by["Ana Pérez"].path.name == "x.tgz" and by["Ana Pérez"].lms == "moodle" and by["Ana Pérez"].lms_id == "12345"
    assert (by["Dan Li"].lms, by["Dan Li"].lms_id) == ("moodle", "7")
    assert (by["eva"].lms, by["eva"].lms_id, by["eva"].path.name) == ("canvas", "99", "eva_99_100_mlruns.tar.gz")
    assert by["plain"].path.name == "only.zip"
    assert [name for name, _ in ignored] == ["other.csv"]


def test_roster_and_feedback(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("Student,LMS_ID,email\nAna,555,ana@x\n")
    rows = lms.read_roster(roster)
    assert rows["ana"].lms_id == "555" and rows["ana"].email == "ana@x"
    (tmp_path / "bad.csv").write_text("name,id\nx,1\n")
    with pytest.raises(ValueError, match="student"):
        lms.read_roster(tmp_path / "bad.csv")
    row = StudentRow("Ana", "Ana", "Ana", "fail", 3, 14, {f"check.{i}": ("fail", 0.0) for i in range(80)})
    text = lms.feedback(row)
    assert len(text) <= lms.FEEDBACK_CHARS and text.startswith("3/14: to fix: check.0")
    worksheet = read_csv_text(lms.moodle_csv([row], rows))
    assert worksheet[1][:3] == ["Participant 555", "Ana", "ana@x"]
    formula = StudentRow("=cmd()", "x", "x", "error", 0, 14, error="@bad")
    assert read_csv_text(lms.canvas_csv([formula], {}, "HW"))[2][0] == "'=cmd()"


def test_cli_options_need_batch(capsys):
    assert cli.main(["x", "--only", "ana", "--lang", "en"]) == 2
    assert "go with --batch" in capsys.readouterr().err
    assert cli.main(["x", "--only", "ana"]) == 2  # Spanish by default
    assert "van con --batch" in capsys.readouterr().err


def read_csv_text(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))

"""Batch grading (``grade --batch``): gradebook, summary, per-student reports, copy detection,
isolation of broken, hostile and hanging submissions, re-runs and exit codes.

One class is graded once per module (probe on, ``-j 2``) and inspected by several tests:

=================  ===========================================================  ================
student            what it is                                                   expected
=================  ===========================================================  ================
alice              copy of the 3.x reference (file store)                       pass
alice_twin         another copy of the same store (same run ids)                pass, copy of alice
bob                the 3.x reference (SQLite), built separately                 pass, no copy
carol(.zip)        zip of the committed MLflow 2.22 SQLite store                pass (if archives are supported)
dave               2.22 file store, one run without r2_test                     fail runs.fields
eve                empty folder                                                 error (no store)
frank              ``mlflow.db`` with a SQLite header and garbage               error (damaged)
hank               2.22 file store whose Production model sleeps forever        error (timeout)
<img ...>          empty folder whose name is HTML                              error, escaped
=================  ===========================================================  ================

plus entries that are not students: ``notes.txt``, ``.DS_Store``, a symbolic link.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from grader.batch import (
    MARKER,
    BatchError,
    StudentRow,
    detect_copies,
    discover,
    grade_batch,
    gradebook_csv,
    may_use_database,
    scratch_root,
)
from grader.probe import ProbeOptions
from grader.rubric import load_rubric
from helpers import REPO_ROOT, V2_STORES_DIR, load_fixtures_modules, tree_digest

_, variants = load_fixtures_modules()

ARCHIVES = importlib.util.find_spec("grader.submission.archive") is not None
HTML_NAME = "<img src=x onerror=alert(1)>"
HANG_TIMEOUT = 15.0
#: The homework's core checks (14 points). The shipped rubric grows (exercises, integrity, notebook);
#: these tests are about batching, so they grade with the core checks' own test rubric.
CORE = ("runs.count", "runs.fields", "runs.model", "registry.production", "registry.best_run", "model.predict")


@pytest.fixture(scope="session")
def core_rubric(core_rubric_file) -> Path:
    assert [c.id for c in load_rubric(core_rubric_file).checks] == list(CORE)
    return core_rubric_file


class _Sleeper:
    def __reduce__(self):
        return (time.sleep, (3600,))


def _zip_folder(folder: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())


def _batch_dirs() -> set[str]:
    return {p.name for root in {scratch_root(2), tempfile.gettempdir()} for p in Path(root).glob("mlflow-grader-batch-*")}


@pytest.fixture(scope="module")
def klass(tmp_path_factory, reference_builds, core_rubric):
    base = tmp_path_factory.mktemp("batch")
    subs = base / "submissions"
    subs.mkdir()
    file_ref = Path(reference_builds["file"]["out_dir"])
    sqlite_ref = Path(reference_builds["sqlite"]["out_dir"])
    shutil.copytree(file_ref, subs / "alice")
    shutil.copytree(file_ref, subs / "alice_twin")
    shutil.copytree(sqlite_ref, subs / "bob")
    if ARCHIVES:
        _zip_folder(V2_STORES_DIR / "sqlite", subs / "carol.zip")
    variants.make_variant(V2_STORES_DIR / "file", subs / "dave", "missing_metric")
    (subs / "eve").mkdir()
    (subs / "frank").mkdir()
    (subs / "frank" / "mlflow.db").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 40)
    info = variants.make_variant(V2_STORES_DIR / "file", subs / "hank", "broken_model_file")
    for model_file in info["model_files"]:
        Path(model_file).write_bytes(pickle.dumps(_Sleeper()))
    (subs / HTML_NAME).mkdir()
    (subs / "notes.txt").write_text("not a submission\n")
    (subs / ".DS_Store").write_bytes(b"\0")
    (subs / "link").symlink_to(subs / "alice")

    before = tree_digest(subs)
    dirs_before = _batch_dirs()
    seen = []
    out = base / "out"
    started = time.perf_counter()
    batch = grade_batch(subs, out, core_rubric, jobs=2, lang="en",
                        probe_options=ProbeOptions(timeout=120, trust_pickles=True),
                        student_timeout=HANG_TIMEOUT, progress=lambda *args: seen.append(args))
    elapsed = time.perf_counter() - started
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {"subs": subs, "out": out, "batch": batch, "rows": {r["student"]: r for r in rows}, "order": [r["student"] for r in rows],
            "digest_before": before, "digest_after": tree_digest(subs), "progress": seen, "elapsed": elapsed,
            "dirs_before": dirs_before, "dirs_after": _batch_dirs(), "reference": reference_builds}


def test_gradebook_rows_sorted_with_scores_statuses_and_errors(klass):
    rows, order = klass["rows"], klass["order"]
    expected = ["alice", "alice_twin", "bob", *(["carol"] if ARCHIVES else []), "dave", "eve", "frank", "hank", HTML_NAME]
    assert sorted(order) == order
    assert set(order) == set(expected)
    header = list(rows["alice"])
    assert header[:4] == ["student", "score", "max_score", "status"]
    assert {"runs.count_points", "runs.count_status", "model.predict_points", "model.predict_status", "error",
            "suspected_copy_of"} <= set(header)
    for good in ("alice", "alice_twin", "bob"):
        assert rows[good]["status"] == "pass", rows[good]
        assert rows[good]["score"] == rows[good]["max_score"] == "14"
        assert rows[good]["model.predict_status"] == "pass"
        assert rows[good]["error"] == ""
    assert rows["dave"]["status"] == "fail"
    assert rows["dave"]["runs.fields_status"] == "fail" and rows["dave"]["runs.fields_points"] == "0"
    assert rows["dave"]["runs.count_status"] == "pass"
    for name, needle in (("eve", "no MLflow store"), ("frank", "database"), ("hank", "timeout"),
                         (HTML_NAME, "no MLflow store")):
        row = rows[name]
        assert row["status"] == "error" and row["score"] == "0" and row["max_score"] == "14", row
        assert needle in row["error"], row["error"]
        assert row["runs.count_status"] == "error"


def test_one_hanging_submission_costs_only_its_row(klass):
    batch = klass["batch"]
    hank = next(r for r in batch.rows if r.student == "hank")
    assert hank.status == "error" and f"{HANG_TIMEOUT:g} s" in hank.error
    # the others were graded while hank hung, and the batch did not wait for the probe's own 120 s
    assert klass["elapsed"] < HANG_TIMEOUT + 60
    assert klass["rows"]["alice"]["status"] == "pass"
    assert klass["dirs_after"] <= klass["dirs_before"], "scratch folders left behind"


def test_submissions_are_never_modified(klass):
    assert klass["digest_after"] == klass["digest_before"]


def test_progress_reports_every_student(klass):
    seen = klass["progress"]
    total = len(klass["order"])
    assert [s[0] for s in seen] == list(range(1, total + 1))
    assert all(s[1] == total for s in seen)
    assert seen[-1][2] == sum(1 for r in klass["rows"].values() if r["status"] != "pass")


def test_every_student_has_json_and_html_reports(klass):
    out = klass["out"]
    for row in klass["batch"].rows:
        folder = out / "students" / row.slug
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        assert report["score"] == row.score and report["max_score"] == row.max_score
        html = (folder / "report.html").read_text(encoding="utf-8")
        assert html.lstrip().lower().startswith("<!doctype html")
        if row.status == "error":
            assert all(c["status"] == "error" for c in report["checks"])
            assert row.error[:40] in report["checks"][0]["message"]
    mallory = next(r for r in klass["batch"].rows if r.student == HTML_NAME)
    assert "<" not in mallory.slug and "/" not in mallory.slug


def test_warm_probe_predicts_like_the_reference_and_stays_sandboxed(klass):
    report = json.loads((klass["out"] / "students" / "alice" / "report.json").read_text())
    check = next(c for c in report["checks"] if c["id"] == "model.predict")
    expected = klass["reference"]["file"]["predictions"]
    assert check["evidence"]["predictions"] == pytest.approx(expected)
    isolation = check["evidence"].get("isolation", {})
    assert "namespace" in isolation.get("network", "") or "Landlock" in isolation.get("network", ""), isolation
    assert check["evidence"]["launcher"] == "fork"  # from the warm student process, not a new interpreter
    assert check["evidence"]["load_ms"] > 0 and check["evidence"]["predict_ms"] > 0


def test_summary_has_pass_rates_links_copies_and_no_scripts(klass):
    html = (klass["out"] / "summary.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "<script" not in html.lower()
    assert "<svg" in html and "Score distribution" in html
    graded = sum(1 for r in klass["rows"].values() if r["status"] != "error")
    passed_fields = sum(1 for r in klass["rows"].values() if r["runs.fields_status"] == "pass")
    assert f"({passed_fields}/{graded})" in html  # runs.fields: dave fails it
    assert f"{round(100 * passed_fields / graded)}%" in html
    for row in klass["batch"].rows:
        assert f'href="{row.report_html}"' in html
    assert HTML_NAME not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Suspected copies" in html and "shared run id" in html and "weaker evidence" in html.lower()
    for ignored in ("notes.txt", ".DS_Store", "link"):
        assert f"<code>{ignored}</code>" in html


def test_copy_detection_flags_identical_copies_only(klass):
    rows = klass["rows"]
    assert rows["alice"]["suspected_copy_of"] == "alice_twin"
    assert rows["alice_twin"]["suspected_copy_of"] == "alice"
    assert "shared run ids" in rows["alice"]["copy_evidence"]
    for other in ("bob", "dave", *(["carol"] if ARCHIVES else [])):
        assert rows[other]["suspected_copy_of"] == "", (other, rows[other]["copy_evidence"])
    pairs = {(p.a, p.b): p for p in klass["batch"].copies.pairs}
    strong = [key for key, p in pairs.items() if p.strength == "strong"]
    assert strong == [("alice", "alice_twin")]
    assert len(pairs[("alice", "alice_twin")].run_ids) == klass["reference"]["file"]["runs"]
    if ARCHIVES:
        # carol (2.22 SQLite) and dave (2.22 file store) were built separately with the same seed: their
        # model files are byte-identical. That is reported, as weaker evidence, not as a suspected copy.
        assert rows["dave"]["same_models_as"] == "carol" and rows["carol"]["same_models_as"] == "dave"
        assert pairs[("carol", "dave")].strength == "weaker" and not pairs[("carol", "dave")].run_ids


@pytest.mark.skipif(not ARCHIVES, reason="grade() does not accept .zip submissions yet (no grader.submission.archive)")
def test_archived_student_is_graded_under_its_name_without_suffix(klass):
    row = klass["rows"]["carol"]
    assert row["status"] == "pass" and row["score"] == "14", row
    assert (klass["out"] / "students" / "carol" / "report.html").is_file()


# --------------------------------------------------------------------------- re-runs and the output folder


def _small_class(root: Path, reference: Path, names: list[str]) -> Path:
    root.mkdir(parents=True)
    for name in names:
        shutil.copytree(reference, root / name)
    return root


def test_rerun_replaces_previous_output_and_keeps_unrelated_files(tmp_path, reference_store_sqlite, core_rubric):
    out = tmp_path / "out"
    out.mkdir()
    (out / "my-notes.txt").write_text("mine")
    first = _small_class(tmp_path / "c1", reference_store_sqlite, ["ana", "ben"])
    grade_batch(first, out, core_rubric, jobs=2, lang="en", probe=False)
    assert (out / MARKER).is_file() and (out / "students" / "ben" / "report.json").is_file()
    gradebook1 = (out / "gradebook.csv").read_text()

    second = _small_class(tmp_path / "c2", reference_store_sqlite, ["ana"])
    grade_batch(second, out, core_rubric, jobs=2, lang="en", probe=False)
    assert sorted(p.name for p in (out / "students").iterdir()) == ["ana"]
    assert (out / "my-notes.txt").read_text() == "mine"
    assert not list(out.glob(".mlflow-grader-batch-staging-*"))
    gradebook2 = (out / "gradebook.csv").read_text()
    assert gradebook2.splitlines()[0] == gradebook1.splitlines()[0]
    assert gradebook2.splitlines()[1].startswith("ana,11,14,fail,")  # probe off: model.predict skipped
    assert "ben" not in gradebook2

    # the same class again gives the same gradebook, byte for byte
    grade_batch(second, out, core_rubric, jobs=1, lang="en", probe=False)
    assert (out / "gradebook.csv").read_text() == gradebook2


def test_out_folder_of_someone_else_is_refused(tmp_path, reference_store_sqlite):
    subs = _small_class(tmp_path / "c", reference_store_sqlite, ["ana"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "gradebook.csv").write_text("precious")
    with pytest.raises(BatchError, match="not written by grade --batch"):
        grade_batch(subs, out, probe=False)
    assert (out / "gradebook.csv").read_text() == "precious"
    assert sorted(p.name for p in out.iterdir()) == ["gradebook.csv"]


def test_batch_errors(tmp_path):
    with pytest.raises(BatchError, match="not found"):
        grade_batch(tmp_path / "nope", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.md").write_text("x")
    with pytest.raises(BatchError, match="no submissions"):
        grade_batch(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(BatchError, match="must not be"):
        grade_batch(tmp_path / "empty", tmp_path)
    with pytest.raises(BatchError, match="bad deadline"):
        grade_batch(tmp_path / "empty", tmp_path / "out", deadline="someday")
    (tmp_path / "students" / "ana").mkdir(parents=True)
    with pytest.raises(BatchError, match="must not be"):  # a re-run would replace out/students
        grade_batch(tmp_path / "students", tmp_path)


def test_deadline_reaches_every_student(tmp_path, reference_store_sqlite):
    subs = _small_class(tmp_path / "c", reference_store_sqlite, ["ana"])
    batch = grade_batch(subs, tmp_path / "out", "homework-195", jobs=1, lang="en", probe=False, deadline="2020-01-01")
    status, _ = batch.rows[0].checks["integrity.timeline"]
    assert status not in ("pass", "error"), status  # every run is after that deadline


# --------------------------------------------------------------------------- CLI


def test_cli_exit_codes(tmp_path, reference_store_sqlite, core_rubric, capsys):
    from grader.cli import main

    good = _small_class(tmp_path / "good", reference_store_sqlite, ["ana"])
    assert main(["--batch", str(good), "--out", str(tmp_path / "o1"), "-j", "2", "--lang", "en", "--rubric", str(core_rubric)]) == 0
    err = capsys.readouterr().err
    assert "Graded 1 submission in" in err and "1 passed" in err and "summary.html" in err

    mixed = _small_class(tmp_path / "mixed", reference_store_sqlite, ["ana"])
    (mixed / "zed").mkdir()
    assert main(["--batch", str(mixed), "--out", str(tmp_path / "o2"), "--no-probe", "-q"]) == 1
    assert main(["--batch", str(tmp_path / "missing"), "--out", str(tmp_path / "o3"), "--lang", "en"]) == 2
    (tmp_path / "nothing").mkdir()
    assert main(["--batch", str(tmp_path / "nothing"), "--out", str(tmp_path / "o4"), "--lang", "en"]) == 2
    assert main(["--batch", str(good), "--lang", "en"]) == 2  # --out is required
    assert main(["-j", "2", str(good), "--lang", "en"]) == 2  # -j without --batch
    err = capsys.readouterr().err
    assert "no submissions" in err and "--out" in err and "Traceback" not in err


def test_help_documents_batch_and_exit_codes(capsys):
    from grader.cli import main

    assert main(["--help", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "--batch DIR" in out and "-j, --jobs" in out
    assert "2 the batch could not run" in " ".join(out.split())
    assert main(["--help"]) == 0  # Spanish by default, the same options
    out = capsys.readouterr().out
    assert "--batch" in out and "-j, --jobs" in out and "Uso: grade" in out


# --------------------------------------------------------------------------- units


def test_discover_ids_archives_collisions_and_ignored(tmp_path):
    for name in ("ana", "Bob", "bob", ".git", "__MACOSX", "weird name#1"):
        (tmp_path / name).mkdir()
    for name in ("ana.zip", "carl.tar.gz", "dora.tgz", "grades.csv"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "lnk").symlink_to(tmp_path / "ana")
    entries, ignored = discover(tmp_path)
    ids = [e.student for e in entries]
    assert ids == sorted(ids)
    assert set(ids) == {"ana", "ana.zip", "Bob", "bob", "carl", "dora", "weird name#1"}
    slugs = {e.student: e.slug for e in entries}
    assert slugs["weird name#1"] == "weird_name_1"
    assert slugs["Bob"].casefold() != slugs["bob"].casefold()
    assert {name for name, _ in ignored} == {".git", "__MACOSX", "grades.csv", "lnk"}


def _row(student, run_ids=(), models=()):
    return StudentRow(student, student, student, "pass", 1, 1,
                      fingerprints={"run_ids": list(run_ids),
                                    "models": [{"digest": d, "file": "model.pkl", "size": 1, "path": f"{student}/{d}"}
                                               for d in models]})


def test_sql_stores_are_preloaded_only_for_classes_that_may_use_them(tmp_path, reference_store_file, reference_store_sqlite):
    assert may_use_database(reference_store_sqlite) and not may_use_database(reference_store_file)
    nested = tmp_path / "ana" / "homework"
    nested.mkdir(parents=True)
    (nested / "mlflow.db").write_bytes(b"")
    assert may_use_database(tmp_path / "ana")
    (tmp_path / "beto" / ".venv").mkdir(parents=True)
    (tmp_path / "beto" / ".venv" / "x.db").write_bytes(b"")  # a folder the grader never reads
    assert not may_use_database(tmp_path / "beto")
    (tmp_path / "carla.zip").write_bytes(b"PK")  # an archive: its content is not known yet
    assert may_use_database(tmp_path / "carla.zip")


def test_detect_copies_strong_weak_and_common():
    rows = [_row("a", ["r1", "r2"], ["m-common", "m-ab"]), _row("b", ["r1"], ["m-common", "m-ab"]),
            _row("c", ["r3"], ["m-common"]), _row("d", ["r4"], ["m-common", "m-de"]), _row("e", ["r5"], ["m-de"]),
            StudentRow("f", "f", "f", "error", 0, 1)]
    report = detect_copies(rows)
    pairs = {(p.a, p.b): p for p in report.pairs}
    assert set(pairs) == {("a", "b"), ("d", "e")}
    assert pairs[("a", "b")].run_ids == ["r1"] and pairs[("a", "b")].strength == "strong"
    assert [m["digest"] for m in pairs[("a", "b")].models] == ["m-ab"]
    assert pairs[("d", "e")].strength == "weaker" and not pairs[("d", "e")].run_ids
    assert [m["digest"] for m in report.common_models] == ["m-common"]  # in 4 of 5: the assignment's outcome
    by = {r.student: r for r in rows}
    assert by["a"].suspected_copy_of == ["b"] and by["c"].suspected_copy_of == [] and by["f"].suspected_copy_of == []
    assert by["d"].suspected_copy_of == [] and by["d"].same_models_as == ["e"]


def test_gradebook_cells_cannot_be_formulas():
    row = StudentRow("=HYPERLINK(\"x\")", "n", "s", "error", 0, 14, {"runs.count": ("error", 0.0)}, error="@SUM(1)")
    text = gradebook_csv([row], ["runs.count"])
    header, line = list(csv.reader(io.StringIO(text)))
    cells = dict(zip(header, line))
    assert cells["student"] == "'=HYPERLINK(\"x\")" and cells["error"] == "'@SUM(1)"


#: What makes MLflow turn its telemetry off by itself (mlflow.telemetry.utils): a user's shell has none.
_CI_MARKERS = {"CI", "GITHUB_ACTIONS", "CIRCLECI", "GITLAB_CI", "JENKINS_URL", "TRAVIS", "TF_BUILD", "BUILDKITE",
               "BITBUCKET_BUILD_NUMBER", "CODEBUILD_BUILD_ARN", "TEAMCITY_VERSION", "CLOUD_RUN_EXECUTION",
               "MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"}


def test_probe_is_forked_in_a_users_shell_too(tmp_path, reference_store_file):
    """Outside CI and test runners MLflow 3 starts a telemetry thread in each student process; the
    grader keeps telemetry off (grading is offline), so the probe is still forked, not spawned."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in _CI_MARKERS and not k.startswith(("PYTEST", "RUNBOT_"))}
    subs = tmp_path / "subs"
    shutil.copytree(reference_store_file, subs / "ana", symlinks=True)
    cli = [sys.executable, "-c", "import sys; from grader.cli import main; sys.exit(main())"]
    done = subprocess.run([*cli, "--batch", str(subs), "--out", str(tmp_path / "out"), "-j", "1", "-q"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "students" / "ana" / "report.json").read_text())
    check = next(c for c in report["checks"] if c["id"] == "model.predict")
    assert check["status"] == "pass" and check["evidence"]["launcher"] == "fork", check


def test_fork_server_sql_warm_up_computes_the_schema_head_once():
    """The fork server's SQL warm-up caches MLflow's latest schema revision (a constant of the
    installed MLflow): the same value the uncached function finds, computed once for every student."""
    code = (
        "import mlflow.store.db.utils as u; fresh = u._get_latest_schema_revision(); "
        "import grader.batch.warm_sql as w; "
        "assert w.WARM and u._get_latest_schema_revision() == fresh, (w.WARM, fresh); "
        "print(u._get_latest_schema_revision.cache_info().misses)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert proc.returncode == 0 and proc.stdout.strip() == "1", proc.stderr[-2000:]


def test_an_error_row_says_why_in_the_class_language(tmp_path, core_rubric):
    """A student who could not be graded: the gradebook's error column and their report say why in
    the batch's language, from the catalogue (the same reason ``grade`` prints for that folder)."""
    subs = tmp_path / "subs"
    (subs / "eve").mkdir(parents=True)
    for lang, needle in (("es", "no hay ningún store de MLflow"), ("en", "no MLflow store in")):
        batch = grade_batch(subs, tmp_path / f"out-{lang}", core_rubric, jobs=1, lang=lang, probe=False)
        [row] = batch.rows
        assert row.status == "error" and needle in row.error, row.error
        report = json.loads((tmp_path / f"out-{lang}" / "students" / "eve" / "report.json").read_text())
        assert needle in report["error"] and report["score"] == 0

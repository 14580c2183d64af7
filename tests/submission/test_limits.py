"""Limits (issue 12, item 9): YAML alias bombs, tar header bombs, stores of too many runs, one
archive list for ``grade`` and ``--batch``, and an overall time limit for a whole grade.

Every payload is the real thing, small enough for CI: a billion-laughs ``meta.yaml`` and
``MLmodel`` (9^9 strings once expanded: minutes and gigabytes for the grader before), a tar whose
GNU long-name header declares 64 MiB, a SQLite store of 20,001 runs and a file store of as many
run folders.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
import tracemalloc
import uuid
import zipfile
from pathlib import Path

import pytest
from helpers import tree_digest

from grader import batch, cli, yamlio
from grader.api import grade
from grader.errors import SubmissionError
from grader.submission import archive, limits

GRADE = [sys.executable, "-c", "import sys; from grader.cli import main; sys.exit(main(sys.argv[1:]))"]


def billion_laughs(levels: int = 9) -> str:
    """Nine lists of nine references to the previous list: 9**levels strings once expanded."""
    text = 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, levels):
        text += f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]\n"
    return text


# --------------------------------------------------------------------------- YAML


def test_billion_laughs_is_refused_at_once():
    started = time.perf_counter()
    with pytest.raises(yamlio.YAMLBombError, match="alias bomb"):
        yamlio.load(billion_laughs() + "x: *l8\n")
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("text", ["a: &x [1, *x]\n", "a: &x {b: *x}\n"])
def test_recursive_alias_is_refused(text):
    with pytest.raises(yamlio.YAMLBombError, match="contains it"):
        yamlio.load(text)


def test_ordinary_aliases_and_merge_keys_still_load():
    assert yamlio.load("base: &b {k: 1}\nother: {<<: *b, j: 2}\nlist: [*b, *b]\n") == {
        "base": {"k": 1}, "other": {"k": 1, "j": 2}, "list": [{"k": 1}, {"k": 1}]}
    assert yamlio.load('glob: "*.csv"\n') == {"glob": "*.csv"}
    assert isinstance(yamlio.YAMLBombError("x"), yamlio.YAMLError)  # every caller's except catches it


def _grade_cli(path: Path, tmp_path: Path, *args: str, timeout: float = 90) -> tuple[int, dict | None, str, float]:
    """``grade PATH --json FILE`` in a fresh process: (exit code, the JSON report, stderr, seconds)."""
    report = tmp_path / "report.json"
    started = time.perf_counter()
    try:
        proc = subprocess.run([*GRADE, str(path), "--lang", "en", "-q", "--json", str(report), *args],
                              capture_output=True, text=True, timeout=timeout, cwd=tmp_path, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"grade took more than {timeout} s")
    data = json.loads(report.read_text()) if report.is_file() else None
    return proc.returncode, data, proc.stderr, time.perf_counter() - started


def _run_meta(root: Path) -> Path:
    return next(p for p in sorted(root.glob("mlruns/*/*/meta.yaml")) if "run_name:" in p.read_text())


def test_alias_bomb_in_a_run_meta_yaml(v2_store_file, tmp_path):
    root = tmp_path / "sub"
    shutil.copytree(v2_store_file, root)
    meta = _run_meta(root)
    meta.write_text(billion_laughs() + re.sub(r"(?m)^run_name: .*$", "run_name: *l8", meta.read_text()))
    before = tree_digest(root)
    code, report, err, seconds = _grade_cli(root, tmp_path, "--no-probe")
    assert code in (0, 1), err
    assert seconds < 60
    notes = [n for n in report["submission"]["notes"] if "alias bomb" in n]
    assert notes and meta.relative_to(root).as_posix() in notes[0] and "read as missing" in notes[0], notes
    assert tree_digest(root) == before  # the copy was changed, never the submission


def test_alias_bomb_in_an_experiment_meta_yaml(v2_store_file, tmp_path):
    root = tmp_path / "sub"
    shutil.copytree(v2_store_file, root)
    meta = _run_meta(root).parent.parent / "meta.yaml"
    meta.write_text(billion_laughs() + re.sub(r"(?m)^name: .*$", "name: *l8", meta.read_text()))
    code, report, err, seconds = _grade_cli(root, tmp_path, "--no-probe")
    assert code == 1, err
    assert seconds < 60
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert statuses["runs.count"] == "fail"
    assert any("alias bomb" in n for n in report["submission"]["notes"])


def test_alias_bomb_in_mlmodel(v2_store_file, tmp_path):
    """In a field the grader reads (sklearn_version): 40 s and 2.3 GiB before, then killed."""
    root = tmp_path / "sub"
    shutil.copytree(v2_store_file, root)
    for mlmodel in root.rglob("MLmodel"):
        text = re.sub(r"(?m)^(\s*)sklearn_version: .*$", r"\1sklearn_version: *l8", mlmodel.read_text())
        mlmodel.write_text(billion_laughs() + text)
    code, report, err, seconds = _grade_cli(root, tmp_path)
    assert code == 1, err
    assert seconds < 60
    statuses = {c["id"]: c for c in report["checks"]}
    assert statuses["runs.model"]["status"] == "fail" and statuses["model.predict"]["status"] in ("fail", "error")
    assert any("MLmodel" in n and "alias bomb" in n for n in report["submission"]["notes"])


# --------------------------------------------------------------------------- runs


def _add_runs(db: Path, n: int) -> None:
    con = sqlite3.connect(db)
    cols = [r[1] for r in con.execute("PRAGMA table_info(runs)")]
    row = dict(zip(cols, con.execute("SELECT * FROM runs LIMIT 1").fetchone()))
    rows = [tuple(uuid.uuid4().hex if c == "run_uuid" else row[c] for c in cols) for _ in range(n)]
    con.executemany(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
    con.commit()
    con.close()


def test_sqlite_store_with_too_many_runs_is_refused_quickly(v2_store_sqlite, tmp_path, capsys):
    root = tmp_path / "sub"
    shutil.copytree(v2_store_sqlite, root)
    _add_runs(root / "mlflow.db", limits.MAX_RUNS + 1)
    started = time.perf_counter()
    with pytest.raises(SubmissionError, match=r"holds 20,01\d runs, more than the 20,000"):
        grade(root, probe=False)
    assert time.perf_counter() - started < 30
    assert cli.main([str(root), "--no-probe", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "runs" in err[0]


def test_sqlite_rows_are_bounded(v2_store_sqlite, tmp_path, monkeypatch):
    root = tmp_path / "sub"
    shutil.copytree(v2_store_sqlite, root)
    monkeypatch.setattr(limits, "MAX_ROWS", 10)
    with pytest.raises(SubmissionError, match="rows of params, tags and metrics"):
        grade(root, probe=False)


def test_file_store_with_too_many_run_folders_is_refused(v2_store_file, tmp_path):
    root = tmp_path / "sub"
    shutil.copytree(v2_store_file, root)
    experiment = _run_meta(root).parent.parent
    for i in range(limits.MAX_RUNS + 1):
        (experiment / f"{i:032x}").mkdir()
    with pytest.raises(SubmissionError, match="run folders, more than the 20,000"):
        grade(root, probe=False)


# --------------------------------------------------------------------------- archives


def _long_name_tgz(path: Path, name_bytes: int) -> Path:
    """A .tgz whose first header is a GNU long name of ``name_bytes`` bytes (written streaming)."""
    import gzip

    head = tarfile.TarInfo("././@LongLink")
    head.type, head.size = tarfile.GNUTYPE_LONGNAME, name_bytes
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(head.tobuf(format=tarfile.GNU_FORMAT))
        chunk = b"a" * 1024**2
        for _ in range(name_bytes // len(chunk)):
            out.write(chunk)
        out.write(b"\0" * (-name_bytes % 512))
        member = tarfile.TarInfo("x")
        member.size = 0
        out.write(member.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 1024)
    return path


def test_tar_long_name_header_is_refused_before_it_is_read(tmp_path):
    path = _long_name_tgz(tmp_path / "ana.tgz", 64 * 1024**2)
    assert path.stat().st_size < 1024**2  # under 1 MiB on disk, 64 MiB of header
    tracemalloc.start()
    try:
        with pytest.raises(SubmissionError, match="GNU long-name header of 67,108,864 bytes"):
            archive.extract_archive(path, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024**2, f"{peak / 1024**2:.0f} MiB"
    assert [p.name for p in tmp_path.iterdir()] == ["ana.tgz"]


def test_pax_header_is_bounded(tmp_path):
    path = tmp_path / "ana.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("x")
        info.pax_headers = {"comment": "c" * (archive.MAX_HEADER_BYTES + 10)}
        tf.addfile(info, io.BytesIO(b""))
    with pytest.raises(SubmissionError, match="pax header"):
        archive.extract_archive(path, tmp_path)


TAR_SUFFIXES = {".tar": "w", ".tar.gz": "w:gz", ".tgz": "w:gz", ".tar.bz2": "w:bz2", ".tbz2": "w:bz2",
                ".tar.xz": "w:xz", ".txz": "w:xz"}


def test_one_list_of_archive_suffixes():
    from grader.batch import discovery

    assert discovery.ARCHIVE_SUFFIXES is archive.ARCHIVE_SUFFIXES
    assert set(archive.ARCHIVE_SUFFIXES) == {*TAR_SUFFIXES, ".zip"}


@pytest.fixture(scope="module")
def archived_class(v2_store_file, tmp_path_factory):
    """The committed 2.22 file store as one archive of each kind."""
    folder = tmp_path_factory.mktemp("archived-class")
    for suffix, mode in TAR_SUFFIXES.items():
        with tarfile.open(folder / f"s{suffix.replace('.', '_')}{suffix}", mode) as tf:
            tf.add(v2_store_file, arcname="entrega")
    with zipfile.ZipFile(folder / "s_zip.zip", "w") as zf:
        for p in sorted(v2_store_file.rglob("*")):
            zf.write(p, "entrega/" + p.relative_to(v2_store_file).as_posix())
    return folder


@pytest.mark.parametrize("suffix", sorted([*TAR_SUFFIXES, ".zip"]))
def test_grade_takes_every_archive_batch_takes(archived_class, suffix):
    path = next(p for p in archived_class.iterdir() if p.name.endswith(suffix) and
                batch.student_id(p.name) == f"s{suffix.replace('.', '_')}")
    result = grade(path, lang="en", probe=False)
    assert any("extracted from" in n for n in result.submission.notes)
    assert {c.id: c.status for c in result.checks}["runs.count"] == "pass"


def test_batch_discovers_the_same_archives(archived_class):
    entries, ignored = batch.discover(archived_class)
    assert len(entries) == len(TAR_SUFFIXES) + 1 and not ignored
    assert all(archive.is_archive(e.path) for e in entries)


# --------------------------------------------------------------------------- overall time limit


def test_grade_timeout_is_exit_2_with_one_line(monkeypatch, capsys):
    import grader.api

    def slow(*args, **kwargs):
        for _ in range(200):  # a grade that swallows every Exception still stops
            try:
                time.sleep(0.05)
            except Exception:  # noqa: BLE001, S110 - what a careless reader would do
                pass
        raise AssertionError("not stopped")

    monkeypatch.setattr(grader.api, "grade", slow)
    started = time.perf_counter()
    assert cli.main(["sub", "--grade-timeout", "1", "--lang", "en"]) == 2
    assert time.perf_counter() - started < 5
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["grade: error: grading took more than 1 s (--grade-timeout): stopped"]


def test_a_timeout_swallowed_by_a_finalizer_prints_nothing(monkeypatch, capsys):
    """An alarm that lands in a finalizer is dropped by Python; the next one stops the grade, silently."""
    import gc

    import grader.api

    class Slow:
        def __del__(self):  # the alarm lands here: Python prints "Exception ignored in ..."
            time.sleep(1.5)

    def slow(*args, **kwargs):
        gc.disable()
        try:
            box = [Slow()]
            box.append(box)  # a cycle: collected by gc.collect(), in a finalizer
            del box
            gc.collect()
            time.sleep(5)
        finally:
            gc.enable()
        raise AssertionError("not stopped")

    printed: list[BaseException | None] = []  # what Python would print as "Exception ignored in"
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: printed.append(unraisable.exc_value))
    monkeypatch.setattr(grader.api, "grade", slow)
    assert cli.main(["sub", "--grade-timeout", "1", "--lang", "en"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["grade: error: grading took more than 1 s (--grade-timeout): stopped"]
    assert printed == []


_LOGS_WHILE_UNWINDING = r"""
import logging, sys, time
import grader.api
from grader import cli

def slow(*args, **kwargs):
    try:
        time.sleep(10)
    finally:  # as SQLAlchemy does when the alarm lands in a query: the cursor's close fails, logged
        try:
            raise RuntimeError("Cannot operate on a closed database.")
        except RuntimeError:
            logging.getLogger("sqlalchemy.pool.impl.NullPool").error("Error closing cursor", exc_info=True)

grader.api.grade = slow
code = cli.main(["sub", "--grade-timeout", "1", "--lang", "en"])
logging.getLogger("after").warning("logging works again")
sys.exit(code)
"""


def test_what_libraries_log_while_the_grade_unwinds_is_not_printed(tmp_path):
    """Seen in CI on a SQLite store: the alarm landed in SQLAlchemy's fetch, whose cursor close then
    failed and was logged with its traceback on stderr, above the one line promised."""
    proc = subprocess.run([sys.executable, "-c", _LOGS_WHILE_UNWINDING], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "grade: error: grading took more than 1 s (--grade-timeout): stopped",
        "logging works again",  # only while the grade unwinds
    ], proc.stderr


def test_grade_timeout_default_and_probe_timeout_keep_their_meaning(monkeypatch, capsys):
    import grader.api
    from grader import watchdog

    seen = {}

    def fake(*args, probe_options=None, **kwargs):
        seen["probe"] = probe_options.timeout
        seen["alarm"] = __import__("signal").getitimer(__import__("signal").ITIMER_REAL)[0]
        raise SubmissionError("stop here")

    monkeypatch.setattr(grader.api, "grade", fake)
    assert cli.main(["sub", "--timeout", "30"]) == 2
    assert seen["probe"] == 30 and watchdog.DEFAULT_GRADE_TIMEOUT - 5 < seen["alarm"] <= watchdog.DEFAULT_GRADE_TIMEOUT
    assert cli.main(["sub", "--timeout", "900"]) == 2
    assert seen["alarm"] > 900  # the whole grade always leaves the probe its time
    capsys.readouterr()


def test_batch_grade_timeout_is_the_student_timeout(monkeypatch, tmp_path, capsys):
    import grader.batch

    seen = {}

    def fake(*args, options=None, **kwargs):
        seen["student_timeout"] = options.student_timeout
        raise grader.batch.BatchError("stop here")

    monkeypatch.setattr(grader.batch, "grade_batch", fake)
    assert cli.main(["--batch", str(tmp_path), "--out", str(tmp_path / "out"), "--grade-timeout", "42"]) == 2
    assert seen["student_timeout"] == 42
    capsys.readouterr()


@pytest.fixture(scope="module")
def slow_store(v2_store_sqlite, tmp_path_factory):
    """A SQLite store of 19,000 runs: under the run limit, and tens of seconds for MLflow to read."""
    root = tmp_path_factory.mktemp("slow") / "ana"
    shutil.copytree(v2_store_sqlite, root)
    _add_runs(root / "mlflow.db", 19_000)
    return root


def test_grade_timeout_stops_a_real_slow_grade(slow_store, tmp_path):
    """The alarm reaches into MLflow's own code (search_runs building 19,000 runs) and unwinds it."""
    started = time.perf_counter()
    proc = subprocess.run([*GRADE, str(slow_store), "--no-probe", "--grade-timeout", "3", "--lang", "en"],
                          capture_output=True,
                          text=True, timeout=120, cwd=tmp_path, check=False, env={**__import__("os").environ,
                                                                                    "TMPDIR": str(tmp_path)})
    assert proc.returncode == 2, proc.stderr
    assert time.perf_counter() - started < 60  # 3 s, plus starting Python and MLflow on a busy machine
    assert proc.stderr.strip().splitlines() == ["grade: error: grading took more than 3 s (--grade-timeout): stopped"]
    assert [p.name for p in tmp_path.iterdir()] == [], "the snapshot was left behind"


def test_batch_grade_timeout_is_an_error_row(slow_store, v2_store_file, tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copytree(slow_store, subs / "ana")
    shutil.copytree(v2_store_file, subs / "beto")
    out = tmp_path / "out"
    assert cli.main(["--batch", str(subs), "--out", str(out), "--no-probe", "--grade-timeout", "8", "-j", "2"]) == 1
    capsys.readouterr()
    rows = {line.split(",")[0]: line for line in (out / "gradebook.csv").read_text().splitlines()[1:]}
    assert ",error," in rows["ana"] and "más de 8 s" in rows["ana"], rows["ana"]  # the class's language: Spanish
    assert ",error," not in rows["beto"]

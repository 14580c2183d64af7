"""Hostile or broken stores: every one ends as a report (checks in error/fail) or a one-line
``SubmissionError`` (exit 2), never a traceback, and the submission is never modified.

A hypothesis property test mutates copies of the reference stores at random (delete, truncate,
corrupt, duplicate files); the named cases below pin the ones the threat model lists.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest
from helpers import tree_digest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_report_safety import (
    HOSTILE,
    assert_junit_valid,
    assert_markdown_inert,
    assert_terminal_inert,
)

from grader import cli
from grader.api import grade
from grader.errors import SubmissionError
from grader.probe import ProbeOptions
from grader.reports import FORMATS, render
from grader.result import Result
from grader.submission import open_submission

INTERESTING = ("meta.yaml", "MLmodel", "mlflow.db", "model.pkl", "model.skops")


def _grade_safely(path: Path, probe: bool = False) -> Result | SubmissionError:
    """grade() must return a Result or raise SubmissionError; anything else fails the test."""
    try:
        result = grade(path, lang="en", probe=probe, probe_options=ProbeOptions(timeout=60))
    except SubmissionError as exc:
        assert "\n" not in str(exc) and str(exc), repr(exc)
        return exc
    assert isinstance(result, Result)
    assert result.checks and all(isinstance(c.status, str) and c.status for c in result.checks)
    return result


def _copy(src: Path, parent: Path) -> Path:
    dst = parent / "submission"
    shutil.copytree(src, dst, symlinks=True)
    return dst


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _is_interesting(p: Path) -> bool:
    return p.name in INTERESTING or p.parent.name in ("metrics", "params", "tags")


# --------------------------------------------------------------------------- property test

mutation = st.tuples(
    st.sampled_from(["delete", "truncate", "corrupt", "duplicate"]),
    st.booleans(),  # pick among the interesting files (meta.yaml, MLmodel, metrics...)
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    st.binary(min_size=1, max_size=64),
)


def _apply(root: Path, op: str, interesting: bool, i: int, j: int, noise: bytes) -> None:
    files = _files(root)
    if interesting:
        files = [p for p in files if _is_interesting(p)] or files
    if not files:
        return
    target = files[i % len(files)]
    if op == "delete":
        target.unlink()
    elif op == "truncate":
        size = target.stat().st_size
        with open(target, "r+b") as fh:
            fh.truncate(j % (size + 1))
    elif op == "corrupt":
        size = target.stat().st_size
        with open(target, "r+b") as fh:
            fh.seek(j % (size + 1))
            fh.write(noise)
    else:  # duplicate: the file lands next to another one, under its own name
        others = _files(root)
        destination = others[j % len(others)].parent / target.name
        if destination != target:
            shutil.copyfile(target, destination)


@pytest.fixture(scope="module")
def sources(reference_store_file, reference_store_sqlite):
    return {"file": reference_store_file, "sqlite": reference_store_sqlite}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(backend=st.sampled_from(["file", "sqlite"]), mutations=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_store_gives_report_or_exit_2(sources, backend, mutations):
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        root = _copy(sources[backend], Path(tmp))
        for m in mutations:
            _apply(root, *m)
        before = tree_digest(root)
        _grade_safely(root)
        assert tree_digest(root) == before, "the grader wrote into the submission"


@pytest.mark.parametrize("op", ["truncate", "corrupt"])
def test_mutated_production_model_with_probe(sources, tmp_path, op):
    """The two mutations that reach the sandboxed probe: the report has model.predict, no crash."""
    root = _copy(sources["file"], tmp_path)
    models = [p for p in _files(root) if p.name == "model.pkl"]
    for model in models:  # whichever is Production, it is broken
        data = model.read_bytes()
        model.write_bytes(data[:100] if op == "truncate" else data[:100] + b"\x80\x04\x95garbage\x93R" + data[120:])
    before = tree_digest(root)
    result = _grade_safely(root, probe=True)
    assert isinstance(result, Result)
    predict = next(c for c in result.checks if c.id == "model.predict")
    assert predict.status in ("fail", "error")
    assert predict.evidence["key"] in ("load_failed", "probe_error", "refused"), predict.evidence
    assert tree_digest(root) == before


# --------------------------------------------------------------------------- named hostile cases


@pytest.fixture
def store(sources, tmp_path):
    return _copy(sources["file"], tmp_path)


def _run_dir(root: Path) -> Path:
    return next(p.parent for p in sorted((root / "mlruns").glob("*/*/meta.yaml")) if p.parent.name != "models"
                and (p.parent / "metrics").is_dir())


def _experiment_dir(root: Path) -> Path:
    return _run_dir(root).parent


def test_symlinks_pointing_outside_are_never_followed(store, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP-SECRET-CONTENT")
    (outside / "meta.yaml").write_text("name: homework-195\nartifact_location: /x\n")
    run = _run_dir(store)
    model_pkl = next(iter(sorted(store.rglob("model.pkl"))))
    model_pkl.unlink()
    os.symlink("/etc/passwd", model_pkl)
    os.symlink(outside, run / "artifacts" / "leak")
    os.symlink(outside / "secret.txt", run / "params" / "stolen")
    os.symlink(outside, store / "mlruns" / "999")  # a whole "experiment" that is a link
    before = tree_digest(store)
    with open_submission(store) as snap:
        copied = list(snap.root.rglob("*"))
        assert not any(p.is_symlink() for p in copied)
        assert not any(p.name in ("leak", "stolen", "999", "secret.txt") for p in copied)
        assert not any(p.is_file() and b"TOP-SECRET" in p.read_bytes() for p in copied)
        assert snap.skipped_links == 4
    result = _grade_safely(store)
    assert isinstance(result, Result)
    assert any("symbolic link" in n for n in result.submission.notes)
    assert "TOP-SECRET" not in repr(result)
    assert tree_digest(store) == before


def test_artifact_paths_are_never_read_outside(store, tmp_path):
    """meta.yaml artifact paths naming another folder on this machine are rebased, never followed."""
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(store / "mlruns", elsewhere)  # a complete, valid store outside the submission
    for meta in store.rglob("meta.yaml"):
        text = meta.read_text()
        meta.write_text(text.replace(f"file://{store}", f"file://{elsewhere}"))
    shutil.rmtree(next(iter(sorted(store.glob("mlruns/*/models")))), ignore_errors=True)  # the models are gone
    result = _grade_safely(store)
    assert isinstance(result, Result)
    statuses = {c.id: c.status for c in result.checks}
    assert statuses["runs.model"] != "pass"  # the copy outside was not used


BREAKAGES = {
    "malformed-run-meta": lambda r: (_run_dir(r) / "meta.yaml").write_text("run_id: [unclosed\n  : - :\n"),
    "malformed-experiment-meta": lambda r: (_experiment_dir(r) / "meta.yaml").write_text("{{{{ not yaml"),
    "yaml-not-a-mapping": lambda r: (_experiment_dir(r) / "meta.yaml").write_text("- just\n- a list\n"),
    "yaml-bomb": lambda r: (_run_dir(r) / "meta.yaml").write_text(
        "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"),
    "missing-run-meta": lambda r: (_run_dir(r) / "meta.yaml").unlink(),
    "missing-experiment-meta": lambda r: (_experiment_dir(r) / "meta.yaml").unlink(),
    "missing-version-meta": lambda r: [p.unlink() for p in r.glob("mlruns/models/*/version-*/meta.yaml")],
    "non-numeric-metric": lambda r: [p.write_text("1700000000000 not-a-number 0\n") for p in (_run_dir(r) / "metrics").iterdir()],
    "metric-wrong-shape": lambda r: [p.write_text("just one field\n\n\n 1 2 3 4 5\n") for p in (_run_dir(r) / "metrics").iterdir()],
    "binary-metric": lambda r: [p.write_bytes(os.urandom(300)) for p in (_run_dir(r) / "metrics").iterdir()],
    "binary-meta": lambda r: (_run_dir(r) / "meta.yaml").write_bytes(b"\xff\xfe\x00" + os.urandom(500)),
    "truncated-mlmodel": lambda r: [p.write_bytes(p.read_bytes()[:37]) for p in r.rglob("MLmodel")],
    "garbage-mlmodel": lambda r: [p.write_bytes(os.urandom(200)) for p in r.rglob("MLmodel")],
    "empty-params": lambda r: [p.write_bytes(b"") for p in (_run_dir(r) / "params").iterdir()],
    "deep-nesting": lambda r: _deep(_run_dir(r) / "artifacts", 300),
    "many-runs-dirs-no-meta": lambda r: [(_experiment_dir(r) / f"junk{i}").mkdir() for i in range(50)],
}


def _deep(base: Path, depth: int) -> None:
    current = base
    for _ in range(depth):
        current = current / "d"
    current.mkdir(parents=True)
    (current / "MLmodel").write_text("flavors: {}\n")


@pytest.mark.parametrize("case", sorted(BREAKAGES))
def test_broken_store_gives_report_or_exit_2(store, case):
    BREAKAGES[case](store)
    before = tree_digest(store)
    _grade_safely(store)
    assert tree_digest(store) == before


def test_huge_file_is_a_clear_exit_2(store, capsys):
    huge = _run_dir(store) / "artifacts" / "huge.bin"
    with open(huge, "wb") as fh:  # sparse: 1.5 GiB on paper, nothing on disk
        fh.truncate(1536 * 1024**2)
    with pytest.raises(SubmissionError, match="MiB"):
        grade(store, probe=False)
    assert cli.main([str(store), "--no-probe", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("grade: error:")


@pytest.mark.parametrize("damage", ["garbage-after-header", "truncated", "not-mlflow"])
def test_broken_database_gives_report_or_exit_2(sources, tmp_path, damage):
    root = _copy(sources["sqlite"], tmp_path)
    db = root / "mlflow.db"
    data = db.read_bytes()
    if damage == "garbage-after-header":
        rng = random.Random(0)
        db.write_bytes(data[:100] + bytes(rng.randrange(256) for _ in range(len(data) - 100)))
    elif damage == "truncated":
        db.write_bytes(data[: len(data) // 3])
    else:
        import sqlite3

        db.unlink()
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE notes (x)")
        con.commit()
        con.close()
    before = tree_digest(root)
    _grade_safely(root)
    assert tree_digest(root) == before


#: 420 levels of 11 characters: past PATH_MAX (4,096), yet shallow enough for shutil.rmtree's recursion
#: (pytest's own clean-up) should the test be interrupted before it removes them.
DEEP_NAME = "d" * 10


def _make_deep(base: Path, depth: int, name: str = DEEP_NAME) -> None:
    """Folders nested past PATH_MAX, made (and later removed) through directory fds."""
    fd = os.open(base, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            child = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
    finally:
        os.close(fd)


def _remove_deep(base: Path, name: str = DEEP_NAME) -> None:
    fds = [os.open(base, os.O_RDONLY)]  # fds[k]: the folder at depth k
    while True:
        try:
            fds.append(os.open(name, os.O_RDONLY, dir_fd=fds[-1]))
        except FileNotFoundError:
            break
    while len(fds) > 1:  # from the deepest up
        os.close(fds.pop())
        os.rmdir(name, dir_fd=fds[-1])
    os.close(fds[0])


def test_nesting_past_path_max_gives_a_report(store):
    """4,600 characters of folders: the copy stops at its depth limit, grading goes on."""
    base = _run_dir(store) / "artifacts"
    _make_deep(base, 420)
    try:
        result = _grade_safely(store)
        assert isinstance(result, Result)
        assert any("nested deeper" in n for n in result.submission.notes)
    finally:
        _remove_deep(base)
    assert not (base / DEEP_NAME).exists()


# --------------------------------------------------------------------------- fuzzing: metadata, names, archives
# (issue 12) Each example ends in a Result whose every report format is safe to show (Markdown with
# no HTML/image/link of the student's, a terminal summary with no escape, JUnit that parses, UTF-8
# everywhere), or in a one-line SubmissionError: never a traceback. On the committed 2.22 stores
# (small: about a second per grade).


def _reports_are_safe(outcome) -> None:
    if isinstance(outcome, SubmissionError):
        assert_terminal_inert(cli_line(outcome))
        return
    for name in FORMATS:
        render(outcome, name).encode("utf-8")
    assert_markdown_inert(render(outcome, "markdown"))
    assert_terminal_inert(render(outcome, "text"))
    assert_junit_valid(render(outcome, "junit"))


def cli_line(exc: SubmissionError) -> str:
    from grader.reports.safe import terminal

    return terminal(f"grade: error: {exc}", one_line=True)


RUN_KEYS = ("run_name", "status", "lifecycle_stage", "start_time", "end_time", "experiment_id", "run_id", "run_uuid",
            "user_id", "artifact_uri", "tags")
EXPERIMENT_KEYS = ("name", "artifact_location", "lifecycle_stage", "experiment_id", "creation_time")
VERSION_KEYS = ("current_stage", "run_id", "source", "version", "name", "storage_location", "status")
YAML_VALUES = st.one_of(
    st.text(max_size=40).map(lambda t: __import__("json").dumps(t)),  # any string, as a YAML scalar
    st.text(max_size=40),  # raw: often broken YAML
    st.sampled_from(HOSTILE).map(lambda t: __import__("json").dumps(t)),
    st.sampled_from(["[1, 2]", "{a: 1}", "&a [*a]", "*undefined", "~", "-1", "1e400", ".nan", "!!binary aGVsbG8=",
                     "!!python/object/apply:os.system ['touch /tmp/pwned']", "'" + "x" * 5000 + "'",
                     "[" + ",".join(["*b"] * 9) + "]", "2026-13-45", "0x7fffffffffffffffff"]),
)


def _set_key(meta: Path, key: str, value: str) -> None:
    import re

    text = meta.read_text(errors="replace")
    line = f"{key}: {value}"
    new, n = re.subn(rf"(?m)^{key}:.*$", lambda m: line, text, count=1)
    meta.write_text(new if n else text + line + "\n")


def _metas(root: Path) -> dict[str, list[Path]]:
    metas = sorted(root.rglob("meta.yaml"))
    return {
        "run": [p for p in metas if "run_name:" in p.read_text(errors="replace") or p.parent.parent.name.isdigit()
                and (p.parent / "params").is_dir()],
        "experiment": [p for p in metas if p.parent.parent.name == "mlruns" and p.parent.name != "models"],
        "version": [p for p in metas if p.parent.name.startswith("version-")],
    }


@pytest.fixture(scope="module")
def v2_sources(v2_store_file, v2_store_sqlite):
    return {"file": v2_store_file, "sqlite": v2_store_sqlite}


metadata_edit = st.tuples(
    st.sampled_from(["run", "experiment", "version", "tag", "param"]),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    YAML_VALUES,
    st.binary(max_size=60),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits=st.lists(metadata_edit, min_size=1, max_size=4))
def test_fuzzed_store_metadata_gives_a_safe_report_or_exit_2(v2_sources, edits):
    """meta.yaml fields (run names, stages, ids, paths), tags and params set to anything."""
    with tempfile.TemporaryDirectory(prefix="hostile-meta-") as tmp:
        root = _copy(v2_sources["file"], Path(tmp))
        metas = _metas(root)
        for kind, i, j, value, raw in edits:
            if kind in ("tag", "param"):
                folders = sorted(root.glob(f"mlruns/*/*/{kind}s"))
                files = sorted(p for f in folders for p in f.iterdir() if p.is_file())
                if files:
                    files[i % len(files)].write_bytes(raw)
                continue
            keys = {"run": RUN_KEYS, "experiment": EXPERIMENT_KEYS, "version": VERSION_KEYS}[kind]
            if metas[kind]:
                _set_key(metas[kind][i % len(metas[kind])], keys[j % len(keys)], value)
        before = tree_digest(root)
        _reports_are_safe(_grade_safely(root))
        assert tree_digest(root) == before
        assert not Path("/tmp/pwned").exists()


def _name_bytes():
    return st.binary(min_size=1, max_size=24).filter(lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b".."))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(notebook=_name_bytes(), folder=_name_bytes(), content=st.sampled_from([b"{", b'{"cells": [], "nbformat": 4}', b"\xff"]))
def test_fuzzed_file_names_give_a_safe_report(v2_sources, notebook, folder, content):
    """A notebook and an artifact folder named with any bytes (invalid UTF-8, escapes, newlines)."""
    with tempfile.TemporaryDirectory(prefix="hostile-names-") as tmp:
        root = _copy(v2_sources["file"], Path(tmp))
        with open(os.fsencode(root) + b"/" + notebook + b".ipynb", "wb") as fh:
            fh.write(content)
        artifacts = next(iter(sorted(root.glob("mlruns/*/*/artifacts"))))
        weird = os.fsencode(artifacts) + b"/" + folder
        os.makedirs(weird, exist_ok=True)
        with open(weird + b"/MLmodel", "wb") as fh:
            fh.write(b"flavors: {}\n")
        _reports_are_safe(_grade_safely(root))


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(names=st.lists(_name_bytes(), min_size=2, max_size=3, unique=True))
def test_fuzzed_student_folder_names_never_cost_the_batch(v2_sources, names, capsys):
    with tempfile.TemporaryDirectory(prefix="hostile-class-") as tmp:
        subs = Path(tmp) / "subs"
        subs.mkdir()
        for name in names:
            shutil.copytree(v2_sources["file"], os.fsdecode(os.fsencode(subs) + b"/" + name))
        graded = [n for n in names if not n.startswith(b".") and n != b"__MACOSX"]
        code = cli.main(["--batch", str(subs), "--out", str(Path(tmp) / "out"), "--no-probe", "-j", "2", "-q"])
        err = capsys.readouterr().err
        if not graded:
            assert code == 2 and len(err.strip().splitlines()) == 1
            return
        assert code == 1, err
        assert "internal error" not in err
        rows = (Path(tmp) / "out" / "gradebook.csv").read_text(encoding="utf-8").splitlines()[1:]
        assert len(rows) == len(graded), rows


archive_member = st.tuples(
    st.one_of(st.text(min_size=1, max_size=30), st.sampled_from(["../evil", "/abs/evil", "C:\\evil", "a/../../b",
                                                                 "entrega/mlruns/\x1b[2J", "a\\..\\..\\b", "x" * 300])),
    st.sampled_from(["file", "dir", "symlink", "hardlink", "fifo"]),
    st.binary(max_size=200),
)


def _fuzz_archive(path: Path, store: Path, members, with_store: bool, kind: str) -> None:
    import io
    import tarfile
    import zipfile

    if kind == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            if with_store:
                for p in sorted(store.rglob("*")):
                    zf.write(p, "entrega/" + p.relative_to(store).as_posix())
            for name, typ, data in members:
                if typ == "dir":
                    zf.writestr(zipfile.ZipInfo(name.rstrip("/") + "/"), b"")
                elif typ == "symlink":
                    info = zipfile.ZipInfo(name)
                    info.create_system, info.external_attr = 3, (0o120777 << 16)
                    zf.writestr(info, data or b"/etc/passwd")
                else:
                    zf.writestr(name, data)
        return
    with tarfile.open(path, {"tgz": "w:gz", "tar": "w", "txz": "w:xz"}[kind], format=tarfile.GNU_FORMAT) as tf:
        if with_store:
            tf.add(store, arcname="entrega")
        for name, typ, data in members:
            info = tarfile.TarInfo(name)
            info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                         "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE}[typ]
            if typ in ("symlink", "hardlink"):
                info.linkname = data.decode("latin-1")[:100] or "/etc/passwd"
            if typ == "file":
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)


@pytest.mark.filterwarnings("ignore:Duplicate name")  # the fuzzed members may repeat a name, as a hostile zip would
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(members=st.lists(archive_member, max_size=5), with_store=st.booleans(),
       kind=st.sampled_from(["zip", "tgz", "tar", "txz"]), cut=st.one_of(st.none(), st.integers(min_value=0, max_value=4000)))
def test_fuzzed_archives_give_a_result_or_exit_2(v2_sources, members, with_store, kind, cut):
    with tempfile.TemporaryDirectory(prefix="hostile-archive-") as tmp:
        path = Path(tmp) / f"ana.{kind}"
        _fuzz_archive(path, v2_sources["file"], members, with_store, kind)
        if cut is not None:  # truncated or damaged on the way
            data = path.read_bytes()
            path.write_bytes(data[: cut % (len(data) + 1)])
        work = Path(tmp) / "work"
        work.mkdir()
        try:
            outcome = grade(path, lang="en", probe=False, workdir=work)
        except SubmissionError as exc:
            assert "\n" not in str(exc) and str(exc)
            outcome = exc
        _reports_are_safe(outcome)
        assert list(work.iterdir()) == [], "the extraction was left behind"
        assert sorted(p.name for p in Path(tmp).iterdir()) == [path.name, "work"]

"""Archive submissions: ``.zip``, ``.tar.gz``, ``.tgz`` are extracted safely, located like a folder,
and removed afterwards; hostile archives are refused with exit 2 and one line, and nothing is
written outside the grader's temp space."""

from __future__ import annotations

import io
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from grader import cli
from grader.api import grade
from grader.errors import SubmissionError
from grader.submission import archive as archive_mod
from grader.submission.archive import extract_archive
from helpers import tree_digest


def _statuses(result) -> dict[str, str]:
    return {c.id: c.status for c in result.checks}


def _zip_tree(src: Path, dst: Path, prefix: str) -> Path:
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for p in sorted(src.rglob("*")):
            zf.write(p, f"{prefix}/{p.relative_to(src).as_posix()}")
    return dst


def _tar_tree(src: Path, dst: Path, prefix: str) -> Path:
    with tarfile.open(dst, "w:gz", compresslevel=1) as tf:
        tf.add(src, arcname=prefix)
    return dst


@pytest.fixture(scope="module")
def folder_results(reference_store_file, reference_store_sqlite):
    return {b: _statuses(grade(p, lang="en", probe=False)) for b, p in
            (("file", reference_store_file), ("sqlite", reference_store_sqlite))}


@pytest.mark.parametrize(("backend", "kind"), [("file", "zip"), ("file", "tgz"), ("sqlite", "tar.gz"), ("sqlite", "zip")])
def test_archive_grades_like_the_folder(kind, backend, reference_store, folder_results, tmp_path):
    src = reference_store(backend)
    before = tree_digest(src)
    path = tmp_path / f"ana.{kind}"
    prefix = "ana/homework-195/entrega"  # nested a few levels down
    (_zip_tree if kind == "zip" else _tar_tree)(src, path, prefix)
    work = tmp_path / "work"
    work.mkdir()
    result = grade(path, lang="en", probe=False, workdir=work)
    assert _statuses(result) == folder_results[backend]
    assert any("extracted from" in n for n in result.submission.notes)
    assert list(work.iterdir()) == [], "the extraction or the snapshot was left behind"
    assert tree_digest(src) == before


# --------------------------------------------------------------------------- hostile archives


def _zip(path: Path, members: list[tuple[str, bytes]], link: tuple[str, str] | None = None,
         special: tuple[str, int] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link[0])
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, link[1])
        if special:
            info = zipfile.ZipInfo(special[0])
            info.create_system = 3
            info.external_attr = (special[1] | 0o644) << 16
            zf.writestr(info, b"")
    return path


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                tf.addfile(m)
            else:
                info = tarfile.TarInfo(m[0])
                info.size = len(m[1])
                tf.addfile(info, io.BytesIO(m[1]))
    return path


def _special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


OK = ("mlruns/0/meta.yaml", b"name: Default\n")

HOSTILE = {
    "zip-dotdot": (lambda p: _zip(p / "a.zip", [OK, ("../../escaped.txt", b"x")]), "'..'"),
    "zip-absolute": (lambda p: _zip(p / "a.zip", [OK, ("/tmp/escaped-abs.txt", b"x")]), "absolute"),
    "zip-windows-absolute": (lambda p: _zip(p / "a.zip", [OK, ("C:\\Windows\\x.txt", b"x")]), "absolute"),
    "zip-symlink-outside": (lambda p: _zip(p / "a.zip", [OK], link=("mlruns/0/model.pkl", "/etc/passwd")), "link"),
    "zip-symlink-dotdot": (lambda p: _zip(p / "a.zip", [OK], link=("mlruns/x", "../../../home")), "link"),
    "zip-device": (lambda p: _zip(p / "a.zip", [OK], special=("mlruns/dev", stat.S_IFCHR)), "device"),
    "zip-fifo": (lambda p: _zip(p / "a.zip", [OK], special=("mlruns/fifo", stat.S_IFIFO)), "device"),
    "tar-dotdot": (lambda p: _tar(p / "a.tgz", [OK, ("sub/../../escaped.txt", b"x")]), "'..'"),
    "tar-absolute": (lambda p: _tar(p / "a.tar.gz", [OK, ("/tmp/escaped-abs.txt", b"x")]), "absolute"),
    "tar-symlink-outside": (lambda p: _tar(p / "a.tgz", [OK, _special("mlruns/0/model.pkl", tarfile.SYMTYPE, "/etc/passwd")]), "link"),
    "tar-symlink-dotdot": (lambda p: _tar(p / "a.tgz", [OK, _special("mlruns/up", tarfile.SYMTYPE, "../../..")]), "link"),
    "tar-hardlink-outside": (lambda p: _tar(p / "a.tgz", [OK, _special("mlruns/h", tarfile.LNKTYPE, "/etc/shadow")]), "link"),
    "tar-hardlink-dotdot": (lambda p: _tar(p / "a.tgz", [OK, _special("mlruns/h", tarfile.LNKTYPE, "../x")]), "link"),
    "tar-chardev": (lambda p: _tar(p / "a.tgz", [OK, _special("mlruns/null", tarfile.CHRTYPE)]), "device"),
    "tar-blockdev": (lambda p: _tar(p / "a.tgz", [OK, _special("mlruns/sda", tarfile.BLKTYPE)]), "device"),
    "tar-fifo": (lambda p: _tar(p / "a.tgz", [OK, _special("mlruns/fifo", tarfile.FIFOTYPE)]), "device"),
    "zip-garbage": (lambda p: (p / "a.zip").write_bytes(b"PK\x03\x04 this is not a zip" * 10) and p / "a.zip", "not a readable"),
    "tgz-garbage": (lambda p: (p / "a.tgz").write_bytes(b"\x1f\x8b\x08\x00 garbage" * 10) and p / "a.tgz", "not a readable"),
    "tgz-truncated": (lambda p: _truncated_tgz(p / "a.tgz"), "not a readable"),
    "zip-deep": (lambda p: _zip(p / "a.zip", [OK, ("/".join(["d"] * 40) + "/f.txt", b"x")]), "deeper"),
}


def _truncated_tgz(path: Path) -> Path:
    _tar(path, [OK, ("mlruns/0/big.bin", bytes(range(256)) * 4000)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archive_is_refused(case, tmp_path, capsys):
    make, words = HOSTILE[case]
    src = tmp_path / "in"
    src.mkdir()
    path = make(src)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(SubmissionError) as err:
        grade(path, probe=False, workdir=work)
    message = str(err.value)
    assert words in message and "\n" not in message, message
    assert list(work.iterdir()) == [], "a refused extraction was left behind"
    assert not Path("/tmp/escaped-abs.txt").exists()
    assert not (tmp_path / "escaped.txt").exists() and not (src / "escaped.txt").exists()
    # the CLI: exit 2, one line, no traceback
    code = cli.main([str(path), "--no-probe", "-q"])
    captured = capsys.readouterr()
    assert code == 2
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("grade: error:") and "Traceback" not in captured.err, captured.err


def test_zip_bomb_by_ratio(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(OK[0], OK[1])
        zf.writestr("mlruns/0/zeros.bin", b"\0" * (20 * 1024**2))  # ~20 KiB compressed: ratio ~1000
    assert path.stat().st_size < 200_000
    with pytest.raises(SubmissionError, match="zip bomb"):
        extract_archive(path, workdir=tmp_path)


def test_zip_bomb_lying_about_sizes(tmp_path, monkeypatch):
    """A zip whose headers understate the sizes is still stopped by the bytes actually written."""
    monkeypatch.setattr(archive_mod, "MAX_TOTAL_BYTES", 4 * 1024**2)
    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("mlruns/0/a.bin", b"\1" * (3 * 1024**2))
        zf.writestr("mlruns/0/b.bin", b"\2" * (3 * 1024**2))
    with pytest.raises(SubmissionError, match="expand"):
        extract_archive(path, workdir=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["liar.zip"]


def test_tar_bomb_by_ratio(tmp_path, monkeypatch):
    monkeypatch.setattr(archive_mod, "RATIO_FLOOR", 64 * 1024)
    path = _tar(tmp_path / "bomb.tgz", [OK, ("mlruns/0/zeros.bin", b"\0" * (30 * 1024**2))])
    with pytest.raises(SubmissionError, match="zip bomb"):
        extract_archive(path, workdir=tmp_path)


@pytest.mark.parametrize("kind", ["zip", "tgz"])
def test_too_many_files(tmp_path, monkeypatch, kind):
    monkeypatch.setattr(archive_mod, "MAX_MEMBERS", 50)
    members = [OK] + [(f"mlruns/0/f{i}.txt", b"x") for i in range(60)]
    path = _zip(tmp_path / "many.zip", members) if kind == "zip" else _tar(tmp_path / "many.tgz", members)
    with pytest.raises(SubmissionError, match="more than 50"):
        extract_archive(path, workdir=tmp_path)


def test_member_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(archive_mod, "MAX_MEMBER_BYTES", 1024)
    path = _tar(tmp_path / "big.tgz", [OK, ("mlruns/0/big.bin", b"x" * 5000)])
    with pytest.raises(SubmissionError, match="larger than|expands past"):
        extract_archive(path, workdir=tmp_path)


def test_links_that_stay_inside_or_sit_in_a_venv_are_skipped(tmp_path):
    members = [OK, _special("mlruns/alias.yaml", tarfile.SYMTYPE, "0/meta.yaml"),
               _special(".venv/bin/python", tarfile.SYMTYPE, "/usr/bin/python3"),
               (".venv/lib/site.py", b"print('never extracted')")]
    path = _tar(tmp_path / "ok.tgz", members)
    out = extract_archive(path, workdir=tmp_path)
    try:
        assert (out.root / "mlruns" / "0" / "meta.yaml").read_bytes() == OK[1]
        assert not (out.root / "mlruns" / "alias.yaml").exists() and not (out.root / ".venv").exists()
        assert out.skipped_links == 1 and out.skipped == 2
        assert not any(p.is_symlink() for p in out.root.rglob("*"))
    finally:
        archive_mod.remove_extracted(out)
    assert not out.root.parent.exists()


def test_permissions_are_not_taken_from_the_archive(tmp_path):
    info = tarfile.TarInfo("mlruns/0/meta.yaml")
    info.size = len(OK[1])
    info.mode = 0o4777  # setuid, world-writable
    path = tmp_path / "modes.tgz"
    with tarfile.open(path, "w:gz") as tf:
        tf.addfile(info, io.BytesIO(OK[1]))
    out = extract_archive(path, workdir=tmp_path)
    try:
        mode = stat.S_IMODE((out.root / "mlruns" / "0" / "meta.yaml").stat().st_mode)
        assert mode & 0o7022 == 0, oct(mode)
    finally:
        shutil.rmtree(out.root.parent)


def test_archive_without_store_is_a_clear_error(tmp_path):
    path = _zip(tmp_path / "empty.zip", [("README.md", b"hola")])
    with pytest.raises(SubmissionError, match="no MLflow store"):
        grade(path, probe=False, workdir=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["empty.zip"]

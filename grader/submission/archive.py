"""Safe extraction of archived submissions into the grader's temp space.

The one list of archive names the grader takes, for ``grade`` and ``grade --batch`` alike, is
:data:`ARCHIVE_SUFFIXES`: ``.zip``, and tar, plain or compressed with gzip, bzip2 or xz (``.tar``,
``.tar.gz``/``.tgz``, ``.tar.bz2``/``.tbz2``, ``.tar.xz``/``.txz``).

Neither :mod:`zipfile` nor :mod:`tarfile` extraction is used: every member is checked, then written
by this module with ``O_NOFOLLOW``/``O_EXCL`` into a fresh private folder, so nothing can land
outside it. Refused with :class:`~grader.errors.SubmissionError` (one line, exit 2):

- a member whose name is absolute (``/x``, ``C:\\x``, ``\\\\host``) or has a ``..`` component;
- a symbolic or hard link whose target is absolute or leaves the archive (links that stay inside
  are skipped, never created: the grader never follows a link anyway);
- a device file, FIFO or socket;
- more than :data:`MAX_MEMBERS` members, a member over :data:`MAX_MEMBER_BYTES`, more than
  :data:`MAX_TOTAL_BYTES` in all, or a zip member that expands more than :data:`MAX_RATIO` times
  (zip bombs); a tar that expands more than :data:`MAX_RATIO` times its compressed size;
- a path deeper than :data:`MAX_DEPTH` folders, or an archive that cannot be read;
- a tar header that would take memory: a GNU long name or link, or a pax header, larger than
  :data:`MAX_HEADER_BYTES` (:mod:`tarfile` reads such a header into memory whole: a 2 MB ``.tgz``
  can declare a 2 GiB name). Zip headers are bounded by the format (a name or an extra field is at
  most 64 KiB) and the central directory by the file's own size.

Members under folders the grader never reads (``.git``, ``.venv``, ``node_modules``...) are
skipped, links included: students zip their project with its virtual environment. Permissions are
not taken from the archive (files 0644, folders 0755). The caller removes the folder; see
:func:`grader.submission.open_submission`, which does so as soon as the snapshot is taken.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SubmissionError
from .locate import SKIP_DIRS


def _shown(parts) -> str:
    """A member's name as a message may say it: one line (control characters escaped), at most 120."""
    name = "/".join(parts)
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in name)[:120]


#: Every archive the grader opens, longest first (``ana.tar.gz`` is student ``ana``).
ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".txz", ".tar", ".zip")
#: A tar header holding a name (GNU long name/link) or pax records may not be larger than this.
MAX_HEADER_BYTES = 1024**2
MAX_MEMBERS = 100_000
MAX_MEMBER_BYTES = 1024**3
MAX_TOTAL_BYTES = 4 * 1024**3
MAX_RATIO = 200
#: Members smaller than this are not judged by their compression ratio (tiny files compress well).
RATIO_FLOOR = 1024**2
MAX_DEPTH = 32
CHUNK = 1024**2


@dataclass
class Extracted:
    root: Path  # the private folder the archive was extracted into
    files: int = 0
    bytes: int = 0
    skipped_links: int = 0
    skipped: int = 0  # members under folders the grader never reads
    notes: list[str] = field(default_factory=list)


def archive_stem(name: str) -> str:
    """``name`` without its archive suffix (``ana.tar.gz`` -> ``ana``), or ``name`` itself."""
    lower = name.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


class _HeaderTooLarge(Exception):
    def __init__(self, kind: str, size: int) -> None:
        super().__init__(kind, size)
        self.kind, self.size = kind, size


_NAME_HEADERS = {
    tarfile.GNUTYPE_LONGNAME: "GNU long-name",
    tarfile.GNUTYPE_LONGLINK: "GNU long-link",
    tarfile.XHDTYPE: "pax",
    tarfile.XGLTYPE: "pax global",
    tarfile.SOLARIS_XHDTYPE: "pax",
}


class _BoundedTarInfo(tarfile.TarInfo):
    """A :class:`tarfile.TarInfo` that refuses, before reading it, a header record (GNU long name or
    link, pax) larger than :data:`MAX_HEADER_BYTES`: :mod:`tarfile` reads those whole into memory."""

    def _proc_member(self, tar):  # tarfile's own hook, called once per header
        if self.type in _NAME_HEADERS and self.size > MAX_HEADER_BYTES:
            raise _HeaderTooLarge(_NAME_HEADERS[self.type], self.size)
        return super()._proc_member(tar)  # type: ignore[misc]  # tarfile's private hook: not in typeshed


def is_archive(path: Path) -> bool:
    """A regular file named like a supported archive (by suffix; content is checked on opening)."""
    name = path.name.lower()
    return name.endswith(ARCHIVE_SUFFIXES) and path.is_file()


def _member_path(name: str, archive: str) -> tuple[str, ...]:
    """The safe relative parts of a member name, or a refusal."""
    raw = name.replace("\\", "/")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":") or "\x00" in raw:
        raise SubmissionError(f"refused archive {archive}: member {name[:120]!r} has an absolute path")
    parts = tuple(p for p in raw.split("/") if p not in ("", "."))
    if ".." in parts:
        raise SubmissionError(f"refused archive {archive}: member {name[:120]!r} leaves the archive ('..')")
    if len(parts) > MAX_DEPTH:
        raise SubmissionError(
            f"refused archive {archive}: member {name[:120]!r} is nested deeper than {MAX_DEPTH} folders"
        )
    return parts


def _skipped(parts: tuple[str, ...]) -> bool:
    return any(p in SKIP_DIRS for p in parts[:-1]) or (bool(parts) and parts[-1] in SKIP_DIRS)


def _link_target_inside(parts: tuple[str, ...], target: str, hard: bool) -> bool:
    target = target.replace("\\", "/")
    if not target or target.startswith("/") or (len(target) > 1 and target[1] == ":"):
        return False
    base = "" if hard else posixpath.join(*parts[:-1]) if len(parts) > 1 else ""
    joined = posixpath.normpath(posixpath.join(base, target))
    return not (joined == ".." or joined.startswith("../") or joined.startswith("/"))


class _Writer:
    def __init__(self, root: Path, archive: str, compressed_size: int) -> None:
        self.root, self.archive = root, archive
        self.total = 0
        self.files = 0
        self.limit = min(MAX_TOTAL_BYTES, max(compressed_size, RATIO_FLOOR) * MAX_RATIO)

    def folder(self, parts: tuple[str, ...]) -> Path:
        current = self.root
        for part in parts:
            current = current / part
            try:
                os.mkdir(current, 0o755)
            except FileExistsError:
                if current.is_symlink() or not current.is_dir():
                    raise SubmissionError(
                        f"refused archive {self.archive}: {_shown(parts)} is both a file and a folder"
                    ) from None
            except OSError as exc:
                raise SubmissionError(
                    f"refused archive {self.archive}: cannot create {_shown(parts)}: {exc.strerror}"
                ) from None
        return current

    def file(self, parts: tuple[str, ...], source, declared: int | None) -> None:
        self.files += 1
        if self.files > MAX_MEMBERS:
            raise SubmissionError(f"refused archive {self.archive}: more than {MAX_MEMBERS} files")
        if declared is not None and declared > MAX_MEMBER_BYTES:
            raise SubmissionError(
                f"refused archive {self.archive}: {_shown(parts)} is larger than {MAX_MEMBER_BYTES // 1024**2} MiB"
            )
        parent = self.folder(parts[:-1])
        target = parent / parts[-1]
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise SubmissionError(f"refused archive {self.archive}: {_shown(parts)} is both a file and a folder")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(target, flags, 0o644)
        except OSError as exc:
            raise SubmissionError(
                f"refused archive {self.archive}: cannot write {_shown(parts)}: {exc.strerror}"
            ) from None
        written = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                self.total += len(chunk)
                if written > MAX_MEMBER_BYTES:
                    raise SubmissionError(
                        f"refused archive {self.archive}: {_shown(parts)} "
                        f"expands past {MAX_MEMBER_BYTES // 1024**2} MiB"
                    )
                if self.total > self.limit:
                    raise SubmissionError(
                        f"refused archive {self.archive}: it expands past {self.limit // 1024**2} MiB "
                        f"(limit {MAX_TOTAL_BYTES // 1024**3} GiB, at most {MAX_RATIO}x its size): a zip bomb?"
                    )
                out.write(chunk)


def _extract_zip(path: Path, writer: _Writer, out: Extracted) -> None:
    archive = path.name
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise SubmissionError(f"refused archive {archive}: more than {MAX_MEMBERS} members")
        declared = 0
        for info in infos:
            declared += info.file_size
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise SubmissionError(
                    f"refused archive {archive}: {info.filename[:120]} "
                    f"expands {info.file_size // max(info.compress_size, 1)}x (a zip bomb?)"
                )
        if declared > MAX_TOTAL_BYTES:
            raise SubmissionError(
                f"refused archive {archive}: it would expand to {declared // 1024**2} MiB "
                f"(limit {MAX_TOTAL_BYTES // 1024**3} GiB)"
            )
        for info in infos:
            parts = _member_path(info.filename, archive)
            mode = (info.external_attr >> 16) & 0xFFFF
            kind = stat.S_IFMT(mode) if info.create_system == 3 else 0  # only Unix makers store a file type
            if not parts:
                continue
            skipped = _skipped(parts)
            if kind == stat.S_IFLNK:
                if skipped:
                    out.skipped += 1
                    continue
                target = zf.read(info)[:4096].decode("utf-8", "replace") if info.file_size < 4096 else "/"
                if not _link_target_inside(parts, target, hard=False):
                    raise SubmissionError(
                        f"refused archive {archive}: {info.filename[:120]} is a link pointing outside the archive"
                    )
                out.skipped_links += 1
                continue
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise SubmissionError(f"refused archive {archive}: {info.filename[:120]} is a device, FIFO or socket")
            if skipped:
                out.skipped += 1
                continue
            if info.is_dir() or kind == stat.S_IFDIR:
                writer.folder(parts)
                continue
            with zf.open(info) as source:
                writer.file(parts, source, info.file_size)


def _extract_tar(path: Path, writer: _Writer, out: Extracted) -> None:
    archive = path.name
    members = 0
    with tarfile.open(path, mode="r:*", tarinfo=_BoundedTarInfo) as tf:
        for info in tf:  # streaming: never tf.getmembers() on a hostile archive
            members += 1
            if members > MAX_MEMBERS:
                raise SubmissionError(f"refused archive {archive}: more than {MAX_MEMBERS} members")
            parts = _member_path(info.name, archive)
            if not parts:
                continue
            skipped = _skipped(parts)
            if info.issym() or info.islnk():
                if skipped:
                    out.skipped += 1
                    continue
                if not _link_target_inside(parts, info.linkname, hard=info.islnk()):
                    raise SubmissionError(
                        f"refused archive {archive}: {info.name[:120]} is a link pointing outside the archive"
                    )
                out.skipped_links += 1
                continue
            if info.ischr() or info.isblk() or info.isfifo() or not (info.isreg() or info.isdir()):
                raise SubmissionError(
                    f"refused archive {archive}: {info.name[:120]} is a device, FIFO or other special file"
                )
            if skipped:
                out.skipped += 1
                continue
            if info.isdir():
                writer.folder(parts)
                continue
            source = tf.extractfile(info)
            if source is None:
                continue
            with source:
                writer.file(parts, source, info.size)


def extract_archive(path: str | os.PathLike, workdir: str | os.PathLike | None = None) -> Extracted:
    """Extract ``path`` into a new private folder under ``workdir`` (default: :func:`.snapshot.scratch_root`)."""
    from .snapshot import scratch_root

    path = Path(path)
    root = Path(tempfile.mkdtemp(prefix="mlflow-grader-archive-", dir=workdir or scratch_root()))
    out = Extracted(root=root / "submission")
    out.root.mkdir()
    try:
        writer = _Writer(out.root, path.name, path.stat().st_size)
        name = path.name.lower()
        if name.endswith(".zip"):
            if not zipfile.is_zipfile(path):
                raise SubmissionError(f"{path.name} is not a readable zip archive")
            _extract_zip(path, writer, out)
        else:
            _extract_tar(path, writer, out)
        out.files, out.bytes = writer.files, writer.total
    except SubmissionError:
        shutil.rmtree(root, ignore_errors=True)
        raise
    except _HeaderTooLarge as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise SubmissionError(
            f"refused archive {path.name}: a {exc.kind} header of {exc.size:,} bytes (at most "
            f"{MAX_HEADER_BYTES // 1024**2} MiB): a header bomb?"
        ) from None
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        tarfile.TarError,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        RuntimeError,
        UnicodeError,
        zlib.error,
    ) as exc:
        shutil.rmtree(root, ignore_errors=True)
        detail = str(exc).strip().splitlines()
        raise SubmissionError(
            f"{path.name} is not a readable archive: {type(exc).__name__}: {detail[0][:200] if detail else ''}".rstrip(
                ": "
            )
        ) from None
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    if out.skipped_links:
        from ..catalogue import text  # the note in English; the report says it in the user's language

        out.notes.append(text("note.archive_links", "en", n=out.skipped_links))
    return out


def remove_extracted(extracted: Extracted) -> None:
    shutil.rmtree(extracted.root.parent, ignore_errors=True)

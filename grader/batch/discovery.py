"""Which children of the submissions folder are students, and their ids."""

from __future__ import annotations

import os
from pathlib import Path

from .. import lms
from ..reports.safe import display_name
from ..submission.archive import ARCHIVE_SUFFIXES, archive_stem
from .model import IGNORED_NAMES, BatchError, Entry


def student_id(name: str) -> str:
    """The student id of a child of the submissions folder: its name without an archive suffix."""
    return archive_stem(name)


def safe_slug(name: str) -> str:
    """A student's id as a folder name: letters, digits and ``._-@+`` kept, anything else ``_``."""
    out = "".join(c if (c.isalnum() or c in "._-@+") and c.isprintable() else "_" for c in name)[:100]
    if not out or out.startswith("."):
        out = "_" + out
    return out


def discover(
    submissions_dir: Path, out_dir: Path | None = None, scratch: Path | None = None
) -> tuple[list[Entry], list[tuple[str, str]]]:
    """The students in ``submissions_dir`` (sorted by id) and the children that were ignored (with why)."""
    try:
        children = sorted(os.scandir(submissions_dir), key=lambda e: e.name)
    except OSError as exc:
        raise BatchError(f"cannot list {submissions_dir}: {exc.strerror or exc}") from None
    out_real = os.path.realpath(out_dir) if out_dir is not None else None
    found: list[tuple[str, os.DirEntry]] = []
    ignored: list[tuple[str, str]] = []
    for child in children:
        name = child.name
        if name.startswith(".") or name in IGNORED_NAMES:
            ignored.append((name, "hidden or system entry"))
        elif child.is_symlink():
            ignored.append((name, "symbolic link (not followed)"))
        elif out_real is not None and os.path.realpath(child.path) == out_real:
            ignored.append((name, "the output folder"))
        elif child.is_dir(follow_symlinks=False):
            found.append((name, child))
        elif child.is_file(follow_symlinks=False) and (name.lower().endswith(ARCHIVE_SUFFIXES) or lms.lms_file(name)):
            found.append((student_id(name), child))
        else:
            ignored.append((name, "not a folder nor an archive"))
    # Moodle's and Canvas's download layouts name the student; a folder holding one archive is that
    # archive; a Canvas student's loose files are put together in ``scratch`` (see grader.lms).
    resolved, lms_ignored = lms.resolve([lms.Found(sid, child.name, Path(child.path)) for sid, child in found], scratch)
    ignored += lms_ignored
    ids_taken: set[str] = set()
    slugs_taken: set[str] = set()
    entries = []
    for sid, item in sorted(((f.student, f) for f in resolved), key=lambda pair: (pair[0], pair[1].name)):
        # The id is shown and written everywhere: bytes that are not UTF-8 become U+FFFD, controls go
        # (display_name); the path keeps the real name.
        sid = display_name(sid)
        if sid in ids_taken:  # ana/ and ana.zip: the second keeps its full name
            sid = display_name(item.name)
        base, k = sid, 1
        while sid in ids_taken:  # two names that differ only in undecodable bytes
            k += 1
            sid = f"{base}-{k}"
        ids_taken.add(sid)
        slug, n = safe_slug(sid), 1
        while slug.casefold() in slugs_taken:
            n += 1
            slug = f"{safe_slug(sid)}-{n}"
        slugs_taken.add(slug.casefold())
        entries.append(Entry(sid, item.name, Path(item.path), slug, item.lms, item.lms_id))
    entries.sort(key=lambda e: e.student)
    return entries, [(display_name(name), why) for name, why in ignored]

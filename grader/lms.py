"""LMS downloads in ``grade --batch``: Moodle's and Canvas's bulk-download layouts, and their
gradebook import formats.

Layouts (what :func:`resolve` understands, inside the submissions folder or the single archive
given to ``--batch``):

- **Moodle** (*Download all submissions*): a folder per student and submission plugin,
  ``Ana Pérez_12345_assignsubmission_file_``, holding what the student uploaded (often one
  archive); or, with *Download submissions in folders* off, flat files
  ``Ana Pérez_12345_assignsubmission_file_entrega.zip``. The student is ``Ana Pérez``; ``12345`` is
  Moodle's participant id (the grading worksheet's ``Participant 12345``). Folders of other plugins
  (``assignsubmission_onlinetext_``) are ignored when the student has a file submission.
- **Canvas** (*Download Submissions*): one flat folder (or zip) of files
  ``anaperez_12345_67890_entrega.zip`` (``anaperez_late_12345_...`` when late): login, Canvas user
  id, attachment id, the uploaded file's name. A student's files are grouped by user id; one archive
  is graded as it is, several files (``mlflow.db`` and a notebook) are put together, under their
  own names, in a private folder.
- Any folder that holds nothing but one archive is graded as that archive.

Gradebooks (``--gradebook-format``): ``moodle`` writes Moodle's *grading worksheet* (upload it in
the assignment: *View all submissions > Upload grading worksheet*; columns ``Identifier``,
``Full name``, ``Email address``, ``Grade``, ``Maximum grade``, ``Feedback comments``); ``canvas``
writes Canvas's gradebook import CSV (*Grades > Import*; columns ``Student``, ``ID``,
``SIS User ID``, ``SIS Login ID``, ``Section``, the assignment's column, and ``Notes``, Canvas's
notes column, for the feedback; the second line is ``Points Possible``). LMS ids come from the
layout (Moodle's participant id, Canvas's user id) or from ``--roster FILE``, a CSV with a
``student`` column (the batch's student id: the name taken from the layout, or the folder's name)
and any of ``lms_id``, ``name``, ``email``, ``sis_user_id``, ``sis_login_id``, ``section``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .submission.archive import ARCHIVE_SUFFIXES

FORMATS = ("native", "moodle", "canvas")
MOODLE_FOLDER = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_$")
MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.+)$")
CANVAS_FILE = re.compile(r"^(?P<login>[a-z0-9]+)(?:_late)?_(?P<uid>\d+)_(?P<att>\d+)_(?P<file>.+)$", re.IGNORECASE)
IGNORED = {"__MACOSX"}
FEEDBACK_CHARS = 300


@dataclass
class Found:
    """One child of the submissions folder, and what the layout says about it."""

    student: str
    name: str  # the child's file name
    path: Path
    lms: str = ""  # "moodle" | "canvas" | ""
    lms_id: str = ""
    members: list[tuple[str, Path]] = field(default_factory=list)  # Canvas: (original name, file)


def is_archive_name(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def lms_file(name: str) -> tuple[str, str, str, str] | None:
    """``(lms, student, lms_id, original file name)`` when ``name`` is a Moodle or Canvas download's file."""
    m = MOODLE_FILE.match(name)
    if m:
        return "moodle", m["name"], m["id"], m["file"]
    m = CANVAS_FILE.match(name)
    if m:
        return "canvas", m["login"], m["uid"], m["file"]
    return None


def lone_archive(folder: Path) -> Path | None:
    """The one archive a folder holds when it holds nothing else (hidden entries aside)."""
    try:
        entries = [e for e in os.scandir(folder) if not e.name.startswith(".") and e.name not in IGNORED]
    except OSError:
        return None
    if len(entries) == 1 and entries[0].is_file(follow_symlinks=False) and is_archive_name(entries[0].name):
        return Path(entries[0].path)
    return None


def _assemble(members: list[tuple[str, Path]], folder: Path) -> Path:
    """Hard-link (or copy) a Canvas student's files into ``folder`` under their original names."""
    folder.mkdir(parents=True, exist_ok=True)
    for original, path in members:
        target = folder / Path(original).name
        n = 1
        while target.exists():
            n += 1
            target = folder / f"{Path(original).stem}-{n}{Path(original).suffix}"
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
    return folder


def resolve(found: list[Found], scratch: Path | None) -> tuple[list[Found], list[tuple[str, str]]]:
    """Apply the LMS layouts to the children found (see the module docstring); returns the
    submissions to grade and the children ignored (with why)."""
    out: list[Found] = []
    ignored: list[tuple[str, str]] = []
    moodle: dict[str, list[tuple[str, Found]]] = {}  # participant id -> (plugin, found)
    canvas: dict[str, list[tuple[str, Found]]] = {}  # user id -> (original name, found)
    for item in found:
        if item.path.is_dir():
            m = MOODLE_FOLDER.match(item.name)
            if m:
                item.student, item.lms, item.lms_id = m["name"], "moodle", m["id"]
                moodle.setdefault(m["id"], []).append((m["plugin"], item))
                continue
            item.path = lone_archive(item.path) or item.path
            out.append(item)
            continue
        parsed = lms_file(item.name)
        if parsed is None:
            out.append(item)
            continue
        kind, student, lms_id, original = parsed
        item.student, item.lms, item.lms_id = student, kind, lms_id
        if kind == "moodle":
            moodle.setdefault(lms_id, []).append((MOODLE_FILE.match(item.name)["plugin"], item))  # type: ignore[index]
        else:
            canvas.setdefault(lms_id, []).append((original, item))
    for items in moodle.values():
        files = [f for plugin, f in items if plugin == "file"] or [f for _, f in items]
        for _, item in items:
            if item not in files:
                ignored.append((item.name, "Moodle submission of another plugin (not a file submission)"))
        if len(files) == 1:
            item = files[0]
            if item.path.is_dir():
                item.path = lone_archive(item.path) or item.path
            out.append(item)
            continue
        # flat Moodle files of one student (several uploads): put them together, as for Canvas
        first = files[0]
        folder = _assemble(
            [(MOODLE_FILE.match(f.name)["file"], f.path) for f in files if f.path.is_file()],  # type: ignore[index]
            _scratch(scratch) / "moodle" / first.lms_id,
        )
        out.append(Found(first.student, first.name, folder, "moodle", first.lms_id))
    for uid, items in canvas.items():
        first = items[0][1]
        if len(items) == 1 and is_archive_name(items[0][0]):
            out.append(first)
            continue
        folder = _assemble([(original, f.path) for original, f in items], _scratch(scratch) / "canvas" / uid)
        out.append(Found(first.student, first.name, folder, "canvas", uid, [(o, f.path) for o, f in items]))
    return out, ignored


def _scratch(scratch: Path | None) -> Path:
    if scratch is None:
        import tempfile

        scratch = Path(tempfile.mkdtemp(prefix="mlflow-grader-lms-"))
    return scratch


def class_root(folder: Path) -> Path:
    """An extracted class archive's folder: descend while it holds nothing but one folder."""
    for _ in range(4):
        entries = [e for e in os.scandir(folder) if not e.name.startswith(".") and e.name not in IGNORED]
        if len(entries) == 1 and entries[0].is_dir(follow_symlinks=False) and not MOODLE_FOLDER.match(entries[0].name):
            folder = Path(entries[0].path)
            continue
        break
    return folder


# --------------------------------------------------------------------------- roster and gradebooks


@dataclass(frozen=True)
class RosterRow:
    student: str
    lms_id: str = ""
    name: str = ""
    email: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""


def read_roster(path: str | os.PathLike) -> dict[str, RosterRow]:
    """``--roster FILE``: student id (the batch's, case-insensitive) -> the LMS's fields."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"cannot read the roster {path}: {exc.strerror or exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip().lower(): c for c in (reader.fieldnames or [])}
    if "student" not in columns:
        raise ValueError(f"the roster {path} needs a 'student' column (and lms_id, name, email... as needed)")
    rows = {}
    for raw in reader:
        values = {key: (raw.get(column) or "").strip() for key, column in columns.items()}
        if values["student"]:
            rows[values["student"].casefold()] = RosterRow(
                **{k: values.get(k, "") for k in RosterRow.__dataclass_fields__}
            )
    return rows


def feedback(row, limit: int = FEEDBACK_CHARS, lang: str = "en") -> str:
    """A short feedback text for a gradebook row, in ``lang``: the score, the checks not passed (or
    the reason), the checks that passed with a warning, and the late penalty."""
    from .catalogue import text as say

    score = f"{row.score:g}/{row.max_score:g}"
    if row.status == "error":
        text = say("feedback.not_graded", lang, score=score, error=row.error)
    else:
        missed = [cid for cid, (status, _) in row.checks.items() if status not in ("pass", "warn")]
        warned = [cid for cid, (status, _) in row.checks.items() if status == "warn"]
        parts = [
            say("feedback.to_fix", lang, checks=", ".join(missed))
            if missed
            else (say("feedback.all_passed", lang) if not warned else "")
        ]
        if warned:  # a warning earns the points, but it is not a clean pass: say so
            parts.append(say("feedback.warnings", lang, checks=", ".join(warned)))
        late = getattr(row, "late", None) or {}
        if late.get("penalty"):
            parts.append(say("feedback.late", lang, days=int(late.get("days") or 0), penalty=float(late["penalty"])))
        text = f"{score}: " + "; ".join(p for p in parts if p)
    text += " " + say("feedback.report", lang, path=f"students/{row.slug}/report.html")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _csv_text(value: str) -> str:
    """A text cell that a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _lms_id(row, roster: dict[str, RosterRow]) -> RosterRow:
    entry = roster.get(row.student.casefold()) or roster.get(row.slug.casefold())
    lms_id = (entry.lms_id if entry and entry.lms_id else "") or getattr(row, "lms_id", "")
    base = entry or RosterRow(row.student)
    return RosterRow(
        row.student, lms_id, base.name or row.student, base.email, base.sis_user_id, base.sis_login_id, base.section
    )


def moodle_csv(rows: Iterable, roster: dict[str, RosterRow], lang: str = "en") -> str:
    """Moodle's grading worksheet (``Identifier`` is ``Participant <id>``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Identifier", "Full name", "Email address", "Grade", "Maximum grade", "Feedback comments"])
    for row in rows:
        who = _lms_id(row, roster)
        identifier = f"Participant {who.lms_id}" if who.lms_id else ""
        grade = f"{row.score:.2f}" if row.status != "error" else "0.00"
        writer.writerow(
            [
                identifier,
                _csv_text(who.name),
                _csv_text(who.email),
                grade,
                f"{row.max_score:.2f}",
                _csv_text(feedback(row, lang=lang)),
            ]
        )
    return out.getvalue()


def canvas_csv(rows: Iterable, roster: dict[str, RosterRow], column: str, lang: str = "en") -> str:
    """Canvas's gradebook import CSV: the assignment's ``column`` (``Name (assignment id)``) and Notes."""
    rows = list(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column, "Notes"])
    maximum = rows[0].max_score if rows else 0
    writer.writerow(["Points Possible", "", "", "", "", f"{maximum:g}", ""])
    for row in rows:
        who = _lms_id(row, roster)
        writer.writerow(
            [
                _csv_text(who.name),
                who.lms_id,
                _csv_text(who.sis_user_id),
                _csv_text(who.sis_login_id),
                _csv_text(who.section),
                f"{row.score:g}",
                _csv_text(feedback(row, lang=lang)),
            ]
        )
    return out.getvalue()


def render_gradebook(rows: list, fmt: str, roster: dict[str, RosterRow] | None, column: str, lang: str = "en") -> str:
    """``gradebook.csv`` in ``fmt`` (``moodle`` or ``canvas``), its feedback in ``lang``."""
    if fmt == "moodle":
        return moodle_csv(rows, roster or {}, lang)
    if fmt == "canvas":
        return canvas_csv(rows, roster or {}, column, lang)
    raise ValueError(f"unknown gradebook format {fmt!r} (known: {', '.join(FORMATS)})")


@dataclass
class GradebookOptions:
    """How ``gradebook.csv`` is written: ``format`` (``native``, ``moodle``, ``canvas``), the
    ``roster`` file mapping students to LMS ids, and Canvas's assignment ``column`` (default: the
    rubric id; Canvas matches ``Name (assignment id)``, or a name, to an assignment)."""

    format: str = "native"
    roster: str = ""
    column: str = ""

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown gradebook format {self.format!r} (known: {', '.join(FORMATS)})")
        if self.roster:
            self.roster = str(Path(self.roster).expanduser().absolute())

    def roster_rows(self) -> dict[str, RosterRow]:
        return read_roster(self.roster) if self.roster else {}

    def to_dict(self) -> dict[str, str]:
        return {"format": self.format, "roster": self.roster, "column": self.column}

    @classmethod
    def from_dict(cls, data: dict) -> GradebookOptions:
        return cls(str(data.get("format") or "native"), str(data.get("roster") or ""), str(data.get("column") or ""))

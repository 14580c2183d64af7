"""No report can be turned against its reader, whatever a store's strings hold (issue 12, item 8),
and names that are not UTF-8 cost nobody their grade (item 9).

The payloads are the ones that would act: a Markdown summary rendered as GitHub renders it
(markdown-it, CommonMark with GitHub's tables, strikethrough and autolinks) must hold no HTML
element, image or link the student wrote; the terminal summary and the batch's progress lines no
ESC byte (clear screen, window title) nor other control; the JUnit file must parse. The hostile
strings reach the reports the way a student would put them there: as run names and an experiment
name in ``meta.yaml``, as a notebook's file name, as a batch folder's name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from grader import cli
from grader.api import grade
from grader.reports import render, safe

HOSTILE = [
    "<script>alert(document.cookie)</script>",
    '<img src=x onerror="alert(1)">',
    "![tracker](https://evil.example/pixel.png)",
    "[click me](javascript:alert(1))",
    "<https://evil.example/autolink>",
    "www.evil.example/and-more",
    "mail ana@evil.example",
    "| fake | table | row |",
    "**bold** _em_ `code` ~~strike~~ &lt;entity&gt; &#60;script&#62;",
    "\x1b[2J\x1b[H",  # clear the screen, cursor home
    "\x1b]0;pwned window title\x07",  # set the window title (OSC 0)
    "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x9b31mred-by-8-bit-CSI",
    "bidi \u202eevil\u202c text",
    "nul\x00 bel\x07 backspace\x08 del\x7f",
    "not a char \uffff nor \ufffe",
    "lone surrogate \ud800 and \udcff",
]
JOINED = " ".join(HOSTILE)
#: The elements the grader's own Markdown makes (headings, a table, emphasis, code, a list).
SAFE_TAGS = {"p", "h2", "h3", "table", "thead", "tbody", "tr", "th", "td", "strong", "em", "code", "br", "ul", "li"}

def _markdown_it(**options):
    """A CommonMark parser with GitHub's tables and strikethrough (markdown-it-py, a test extra)."""
    markdown_it = pytest.importorskip("markdown_it")
    return markdown_it.MarkdownIt("commonmark", {"html": True, **options}).enable(["table", "strikethrough"])


def github_markdown(text: str) -> list:
    """Tokens of ``text`` parsed as GitHub would: CommonMark with tables, strikethrough and autolinks."""
    md = _markdown_it(linkify=_has_linkify())
    if _has_linkify():
        md.enable("linkify")
    return md.parse(text)


def _has_linkify() -> bool:
    try:
        import linkify_it  # noqa: F401
    except ImportError:
        return False
    return True


def _walk(tokens):
    for token in tokens:
        yield token
        yield from _walk(token.children or [])


def assert_markdown_inert(text: str, allowed_html: tuple[str, ...] = ("<br>",)) -> None:
    """No HTML (but the grader's own ``<br>``), no image, no link, and no autolink in ``text``."""
    tokens = list(_walk(github_markdown(text)))
    html = [t.content for t in tokens if t.type in ("html_inline", "html_block") and t.content not in allowed_html]
    assert not html, html
    assert not [t for t in tokens if t.type == "image"], "an image"
    links = [t.attrs.get("href") for t in tokens if t.type == "link_open"]
    assert not links, links
    rendered = _markdown_it().render(text)
    for slash, tag, attrs in re.findall(r"<(/?)([A-Za-z][\w-]*)([^>]*)>", rendered):  # only the grader's markup
        assert tag in SAFE_TAGS, (tag, rendered[:2000])
        assert not attrs.strip() or re.fullmatch(r' style="text-align:(left|right|center)"', attrs), attrs
    # every table row has as many cells as the header: no student '|' made a cell
    rows = [line for line in text.splitlines() if line.startswith("|")]
    cells = {len(re.split(r"(?<!\\)\|", row)) for row in rows}
    assert len(cells) <= 1, cells


def assert_terminal_inert(text: str) -> None:
    assert "\x1b" not in text and "\x9b" not in text
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text), repr(text[:500])
    text.encode("utf-8")  # no lone surrogate


def assert_junit_valid(text: str) -> ET.Element:
    text.encode("utf-8")
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    return root


# --------------------------------------------------------------------------- unit: safe.py


@pytest.mark.parametrize("payload", HOSTILE)
def test_each_payload_is_inert_in_markdown(payload):
    assert_markdown_inert(f"| a | b |\n|---|---|\n| {safe.markdown(payload)} | {safe.markdown_code(payload, in_table=True)} |\n")
    assert_markdown_inert(f"- {safe.markdown(payload)} {safe.markdown_code(payload)}\n")


def test_markdown_escaping_renders_the_text_itself():
    """Escaping is exact: what GitHub shows is the student's string (whitespace collapsed)."""
    for payload in ("a < b & c > d", "rmse_test=0.52 (max_depth=5)", "**x** [y](z) #1 `q`"):
        html = _markdown_it().render(safe.markdown(payload))
        shown = html.removeprefix("<p>").removesuffix("</p>\n")
        import html as html_mod

        assert html_mod.unescape(shown) == payload


def test_terminal_strips_escapes_and_keeps_text():
    assert safe.terminal("a\x1b[2Jb\x1b]0;t\x07c") == "abc"
    assert safe.terminal("line1\nline2\tx") == "line1\nline2\tx"
    assert safe.terminal("x\ny\x1b[31m", one_line=True) == "x y"
    assert_terminal_inert(safe.terminal(JOINED))


def test_xml_replaces_what_xml_cannot_hold():
    assert safe.xml("a\uffff\ud800\x01b\tc") == "a\ufffd\ufffd\ufffdb\tc"


def test_display_name_of_undecodable_bytes():
    name = os.fsdecode(b"ana\xff\xfe-\x1b[2J")
    shown = safe.display_name(name)
    assert shown == "ana\ufffd\ufffd-" and shown.encode("utf-8")


# --------------------------------------------------------------------------- a real grade


def _meta_set(path: Path, key: str, value: str) -> None:
    text = path.read_text()
    new = re.sub(rf"(?m)^{key}: .*$", lambda m: f"{key}: {json.dumps(value)}", text, count=1)
    assert new != text
    path.write_text(new)


@pytest.fixture(scope="module")
def hostile_result(v2_store_file, tmp_path_factory):
    """The committed 2.22 store with hostile run names, experiment name and notebook name, graded."""
    root = tmp_path_factory.mktemp("hostile-report") / "submission"
    shutil.copytree(v2_store_file, root)
    runs = sorted(p for p in root.glob("mlruns/*/*/meta.yaml") if "run_name:" in p.read_text())
    in_yaml = [h for h in HOSTILE if "\ud800" not in h]  # YAML cannot hold a lone surrogate
    for i, meta in enumerate(runs):
        _meta_set(meta, "run_name", in_yaml[i % len(in_yaml)] + " " + in_yaml[(i + 5) % len(in_yaml)])
    for mlmodel in list(root.rglob("MLmodel"))[:4]:  # runs.model then names these runs in its message
        mlmodel.unlink()
    notebook = os.fsencode(root) + b"/\x1b]0;pwned\x07<img src=x onerror=alert(1)>\xff.ipynb"
    with open(notebook, "wb") as fh:
        fh.write(b"{not json")
    result = grade(root, lang="en", probe=False)
    names = " ".join(r.run_name for r in result.runs)
    assert "<script>" in names and "\x1b" in names  # the payloads did reach the result
    assert any("<script>" in c.message for c in result.checks), [c.message for c in result.checks]
    return result


def test_markdown_report_of_a_hostile_store_is_inert(hostile_result):
    assert_markdown_inert(render(hostile_result, "markdown"))


def test_markdown_report_with_hostile_text_in_every_field(hostile_result):
    every = replace(hostile_result, rubric_title=JOINED,
                    checks=[replace(c, title=JOINED, message=JOINED, hint=JOINED) for c in hostile_result.checks],
                    submission=replace(hostile_result.submission, input=JOINED, notes=[JOINED, *HOSTILE]))
    assert_markdown_inert(render(every, "markdown"))
    gradescope = json.loads(render(every, "gradescope"))  # Gradescope renders its output as Markdown too
    assert_markdown_inert(gradescope["output"])
    for test in gradescope["tests"]:
        assert_markdown_inert(test["output"])


def test_terminal_summary_of_a_hostile_store_is_inert(hostile_result):
    assert_terminal_inert(render(hostile_result, "text"))
    every = replace(hostile_result, checks=[replace(c, title=JOINED, message=JOINED, hint=JOINED, status="fail")
                                            for c in hostile_result.checks],
                    submission=replace(hostile_result.submission, input=JOINED, notes=HOSTILE))
    assert_terminal_inert(render(every, "text"))


def test_junit_of_a_hostile_store_parses(hostile_result):
    root = assert_junit_valid(render(hostile_result, "junit"))
    assert len(root.findall(".//testcase")) == len(hostile_result.checks)
    every = replace(hostile_result, rubric_id="r\uffff", checks=[replace(c, title=JOINED, message=JOINED, hint=JOINED,
                                                                         status="fail")
                                                                 for c in hostile_result.checks],
                    submission=replace(hostile_result.submission, input=JOINED))
    root = assert_junit_valid(render(every, "junit"))
    assert "<script>" in root.find(".//failure").get("message")  # kept as text, escaped by the serializer


def test_every_format_writes_as_utf8(hostile_result, tmp_path):
    every = replace(hostile_result, checks=[replace(c, message=JOINED) for c in hostile_result.checks],
                    submission=replace(hostile_result.submission, input=JOINED, notes=HOSTILE))
    from grader.reports import FORMATS

    for name in FORMATS:
        (tmp_path / f"r.{name}").write_text(render(every, name), encoding="utf-8")
    json.loads((tmp_path / "r.json").read_text())


#: The grader's own colours in the terminal summary (SGR: ESC [ digits ; ... m), nothing else.
SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("no_color", [True, False])
def test_cli_stdout_on_a_terminal_has_no_escape(hostile_result, monkeypatch, capsys, no_color):
    """``grade`` prints the summary (and other formats) to a terminal with no escape sequence of the
    student's: without colour none at all, with colour only the grader's own SGR colour codes."""
    import grader.api

    every = replace(hostile_result, checks=[replace(c, message=JOINED, title=JOINED) for c in hostile_result.checks])
    monkeypatch.setattr(grader.api, "grade", lambda *a, **k: every)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    for fmt in ("text", "markdown", "html"):
        assert cli.main(["sub", "--format", fmt, "--no-probe"]) == 1
        out, err = capsys.readouterr()
        assert_terminal_inert(out if no_color else SGR.sub("", out))
        assert_terminal_inert(err)


# --------------------------------------------------------------------------- names (item 9)


def test_notebook_named_with_invalid_utf8_gives_a_report(v2_store_file, tmp_path, capsys):
    root = tmp_path / "submission"
    shutil.copytree(v2_store_file, root)
    with open(os.fsencode(root) + b"/nb\xff\xfe.ipynb", "wb") as fh:
        fh.write(b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    out = tmp_path / "out"
    code = cli.main([str(root), "--no-probe", "-q", "--lang", "en", "--out", str(out), "--junit", str(tmp_path / "j.xml"),
                     "--markdown", str(tmp_path / "s.md")])
    err = capsys.readouterr().err
    assert code in (0, 1), err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    notebook = next(c for c in report["checks"] if c["id"] == "notebook.final_cell")
    assert "nb\ufffd\ufffd.ipynb" in json.dumps(notebook["evidence"], ensure_ascii=False)
    assert_junit_valid((tmp_path / "j.xml").read_text(encoding="utf-8"))


def test_batch_survives_a_folder_named_with_invalid_utf8_and_escapes(v2_store_file, tmp_path, capsys):
    """One student folder named with bytes that are not UTF-8 (and an escape sequence) gets its row;
    the others are graded; gradebook, summary and progress lines are written and clean."""
    subs = tmp_path / "subs"
    subs.mkdir()
    bad = os.fsencode(subs) + b"/bad\xff\xfe\x1b]0;pwned\x07name"
    shutil.copytree(v2_store_file, os.fsdecode(bad))
    shutil.copytree(v2_store_file, subs / "good")
    out = tmp_path / "out"
    code = cli.main(["--batch", str(subs), "--out", str(out), "--no-probe", "-j", "2", "--lang", "en"])
    err = capsys.readouterr().err
    assert code == 1, err  # graded, not every check passes (the 2.22 store has no notebook)
    assert_terminal_inert(err)
    assert "internal error" not in err
    gradebook = (out / "gradebook.csv").read_text(encoding="utf-8")
    rows = gradebook.splitlines()[1:]
    assert len(rows) == 2 and rows[0].startswith("bad\ufffd\ufffdname,") and rows[1].startswith("good,"), rows
    assert "\x1b" not in gradebook
    assert all(",fail," in row or ",pass," in row for row in rows)  # both graded, neither an error row
    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert "bad\ufffd\ufffdname" in summary  # (an HTML page, not a terminal: autoescaped, written as UTF-8)
    slugs = sorted(p.name for p in (out / "students").iterdir() if p.is_dir())
    assert slugs == ["bad__name", "good"], slugs
    for slug in slugs:
        json.loads((out / "students" / slug / "report.json").read_text(encoding="utf-8"))

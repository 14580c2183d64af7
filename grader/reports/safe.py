"""Make any string safe for the place it is shown: a terminal, Markdown, XML, a file name.

Every string in a report may come from a student: run names, params, tags, experiment names,
folder and notebook names, exception messages of their model. Each output has its own way of
being turned against its reader, and each has one function here:

- :func:`terminal` for everything printed to a terminal (the summary, progress lines): ANSI and
  other escape sequences (clear the screen, set the window title, hide text, OSC 8 links) and
  every other control character are removed, as are the bidirectional overrides that make text
  read differently from what it is ("Trojan Source"). Newlines and tabs stay unless ``one_line``.
- :func:`markdown` and :func:`markdown_code` for Markdown rendered by GitHub (the step summary):
  every ASCII punctuation character is backslash-escaped, which CommonMark defines as the literal
  character, so no HTML, image, link, emphasis or table cell can be made; an escaped ``.``/``:``/``@``
  also stops GitHub's autolinks (``www.x``, ``https://x``, ``a@b.c``).
- :func:`xml` for XML (JUnit): characters XML 1.0 cannot hold (controls, U+FFFE/U+FFFF, lone
  surrogates) become U+FFFD, so the file always parses.
- :func:`unicode` for any text written as UTF-8 (JSON, HTML, CSV): lone surrogates, which is what
  Python makes of a file name holding bytes that are not UTF-8 (``surrogateescape``), become U+FFFD;
  writing them would raise ``UnicodeEncodeError``.
- :func:`display_name` for a file name shown to a person: undecodable bytes become U+FFFD.

These are pure functions of their input; the report modules call them on every student string
(and on the grader's own, which costs nothing and keeps the rule simple).
"""

from __future__ import annotations

import os
import re

#: ESC-introduced sequences: CSI (``ESC [ ... final``), OSC/DCS/SOS/PM/APC strings (up to BEL or
#: ``ESC \\``, or the end of the text), and two-character escapes (``ESC c`` resets the terminal).
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, DCS, SOS, PM, APC
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    r"|[\x90\x9d\x98\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x9c|\x1b\\)?"  # 8-bit string introducers
    r"|\x1b[ -/]*[0-~]?"  # any other escape (ESC c, ESC 7, charset selection ESC ( B ...)
)
#: C0 and C1 controls, DEL; bidirectional embeddings, overrides and isolates; lone surrogates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROLS_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: What XML 1.0 cannot hold (its ``Char`` production), surrogates included.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
#: The characters CommonMark lets a backslash make literal (all of ASCII punctuation).
_MD_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def unicode(text: object) -> str:
    """``str(text)`` that can be encoded as UTF-8: lone surrogates become U+FFFD."""
    text = str(text)
    return _SURROGATES.sub("\ufffd", text) if _has_surrogate(text) else text


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def terminal(text: object, *, one_line: bool = False) -> str:
    """Text a terminal shows as it is: no escape sequence, no control character (tabs and newlines
    stay unless ``one_line``, where every run of whitespace becomes one space), no bidi override,
    no lone surrogate (U+FFFD instead)."""
    text = _ESCAPES.sub("", unicode(text))
    if one_line:
        return " ".join(_CONTROLS_ONE_LINE.sub(" ", text).split())
    return _CONTROLS.sub("", text)


def xml(text: object) -> str:
    """Text every XML 1.0 parser accepts: characters outside its ``Char`` production (controls other
    than tab/newline/CR, U+FFFE, U+FFFF, lone surrogates) become U+FFFD. Escaping ``<``/``&`` is
    the serializer's job (:mod:`xml.etree.ElementTree` does it)."""
    return _NOT_XML.sub("\ufffd", str(text))


def markdown(text: object) -> str:
    """Inline Markdown text that renders as exactly ``text`` (on one line, whitespace collapsed):
    every ASCII punctuation character is backslash-escaped, so ``<script>``, ``![x](y)``,
    ``[x](y)``, ``**x**``, ``|`` and autolinks all stay text."""
    flat = terminal(text, one_line=True)
    return _MD_PUNCTUATION.sub(r"\\\1", flat) or " "


def markdown_code(text: object, *, in_table: bool = False) -> str:
    """A Markdown code span holding ``text`` literally (on one line). The fence is one backtick
    longer than the longest run of backticks inside. In a table cell a ``|`` would end the cell
    even inside a code span (GitHub's tables are split before inlines are parsed): it is escaped,
    which GitHub shows as ``|``."""
    flat = terminal(text, one_line=True)
    if in_table:
        flat = flat.replace("|", "\\|")
    longest = max((len(m) for m in re.findall("`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def display_name(name: str | bytes | os.PathLike) -> str:
    """A file name as a person should see it: bytes that are not UTF-8 (which Python keeps as lone
    surrogates, see :func:`os.fsdecode`) become U+FFFD, control characters are dropped."""
    if isinstance(name, (bytes, os.PathLike)):
        name = os.fsdecode(name)
    if _has_surrogate(name):
        try:
            name = os.fsencode(name).decode("utf-8", "replace")
        except UnicodeError:  # a surrogate that no byte made (a "\\ud800" escape in YAML or JSON)
            name = unicode(name)
    return terminal(name, one_line=True)


__all__ = ["display_name", "markdown", "markdown_code", "terminal", "unicode", "xml"]

"""The HTML report: one self-contained page for the instructor (and the student).

Everything is computed here, in Python, and handed to ``templates/report.html.j2``:

* the page is a single file (inline CSS, inline SVG, no scripts, fonts, images or CDN), so it
  works offline and can be attached to an e-mail or uploaded as a CI artifact;
* Jinja2 autoescaping is on, and a Content-Security-Policy ``<meta>`` forbids every script,
  so student-controlled strings (run names, params, tags, messages) can never run code;
* hidden checks are shown too (this is the instructor's view), marked as hidden; the student
  view (:meth:`~grader.result.Result.for_students`) says so under the title.

The report is a pure function of the :class:`~grader.result.Result` (no clock, no randomness):
rendering the same result twice gives the same bytes.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

from ..catalogue import labels, store_description, text
from ..result import Result, RunRow
from .registry import report

#: The only policy the page needs: inline styles, ``data:`` images, nothing else (no scripts).
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

METRIC = "rmse_test"
SECONDARY_METRIC = "r2_test"
SHORT_ID = 8

LABELS: dict[str, dict[str, str]] = labels("html")  # the catalogue's html.* texts
#: The labels of evidence keys (the catalogue's ``ev.*``); a key without one shows as it is.
EVIDENCE_LABELS: dict[str, dict[str, str]] = labels("ev")

STATUS_ICONS = {"pass": "✓", "warn": "!", "fail": "✗", "skip": "–", "error": "⚠"}

# Bar chart geometry (SVG user units; the SVG scales to the page width).
CHART_WIDTH = 720
CHART_LABEL_WIDTH = 190
CHART_VALUE_WIDTH = 80
CHART_ROW = 26
CHART_BAR = 17
CHART_PAD = 8
CHART_LABEL_CHARS = 22


def _labels(lang: str) -> tuple[str, dict[str, str]]:
    lang = lang if lang in LABELS else "en"
    return lang, LABELS[lang]


def _num(value: float) -> str:
    """Points as a person writes them: 2, 2.5, 0.75."""
    return f"{value:g}"


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _metric(value: Any) -> str:
    number = _finite(value)
    if number is None:
        return "—" if value is None else str(value)
    return f"{number:.4f}"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def inline_code(text: str) -> Markup:
    """Escape ``text`` and show its ```code``` spans as ``<code>`` (with :func:`breakable`'s
    ``<wbr>`` in paths, the only markup we add)."""
    out: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(text or ""):
        out.append(breakable(text[last : match.start()]))
        out.append(Markup("<code>{}</code>").format(breakable(match.group(1))))
        last = match.end()
    out.append(breakable((text or "")[last:]))
    return Markup("").join(out)


def _model_type(run: RunRow) -> str:
    return run.params.get("model_type") or run.tags.get("model_type") or ""


def _secondary(runs: list[RunRow], metric: str) -> str:
    """The runs table's second metric column: another ``*_test`` metric the runs logged (class 195:
    ``r2_test``), else none."""
    names = sorted({k for run in runs for k in run.metrics if k.endswith("_test") and k != metric})
    return SECONDARY_METRIC if SECONDARY_METRIC in names else (names[0] if names else "")


def _run_rows(runs: list[RunRow], metric: str = METRIC, secondary: str = SECONDARY_METRIC) -> list[dict[str, Any]]:
    rows = []
    for rank, run in enumerate(runs, start=1):
        rows.append(
            {
                "rank": rank,
                "name": run.run_name or "",
                "id": run.run_id,
                "short_id": run.run_id[:SHORT_ID],
                "status": run.status,
                "model_type": _model_type(run),
                "metric": _metric(run.metrics.get(metric)),
                "secondary": _metric(run.metrics.get(secondary)) if secondary else "",
                "has_model": run.has_model,
                "counted": run.counted,
                "is_best": run.is_best,
                "is_production": run.is_production,
            }
        )
    return rows


def bar_chart(runs: list[RunRow], metric: str = METRIC) -> dict[str, Any] | None:
    """Geometry of a horizontal bar chart of ``metric`` per run, in the given order.

    Returns ``None`` when there are no runs. Runs without a finite value get no bar (``missing``;
    ``value`` is None when there is no value at all, else e.g. "inf"); negative values get an
    empty bar.
    """
    if not runs:
        return None
    raw = [r.metrics.get(metric) for r in runs]
    values = [_finite(v) for v in raw]
    top = max((v for v in values if v is not None and v > 0), default=0.0)
    bar_space = CHART_WIDTH - CHART_LABEL_WIDTH - CHART_VALUE_WIDTH
    bars = []
    for i, (run, value, shown) in enumerate(zip(runs, values, raw, strict=True)):
        y = CHART_PAD + i * CHART_ROW
        width = 0.0 if value is None or top <= 0 or value <= 0 else max(value / top * bar_space, 1.0)
        name = run.run_name or run.run_id[:SHORT_ID]
        bars.append(
            {
                "label": _truncate(name, CHART_LABEL_CHARS),
                "full_label": f"{name} ({run.run_id[:SHORT_ID]}): {metric} = {_metric(shown)}",
                "value": None if shown is None else _metric(shown),
                "missing": value is None,
                "is_best": run.is_best,
                "is_production": run.is_production,
                "y": y,
                "bar_y": y + (CHART_ROW - CHART_BAR) / 2,
                "text_y": y + CHART_ROW / 2,
                "width": round(width, 2),
                "value_x": round(CHART_LABEL_WIDTH + width + 6, 2),
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": CHART_PAD * 2 + CHART_ROW * len(runs),
        "label_x": CHART_LABEL_WIDTH - 8,
        "bar_x": CHART_LABEL_WIDTH,
        "bar_height": CHART_BAR,
        "axis_top": CHART_PAD - 2,
        "axis_bottom": CHART_PAD + CHART_ROW * len(runs) + 2,
        "bars": bars,
        "metric": metric,
    }


# --------------------------------------------------------------------------- evidence as tables

#: A file-system path in running text (absolute, or relative with two separators at least): it may
#: break after each separator.
_PATH = re.compile(
    r"(?<![\w:])(?:[A-Za-z]:\\|~?/|\./)[^\s/\\<>\"'`]+(?:[/\\][^\s/\\<>\"'`]+)+[/\\]?"
    r"|(?<![\w:/\\.~-])[\w.~-]+(?:[/\\][^\s/\\<>\"'`]+){2,}[/\\]?"
)
#: Evidence keys whose numbers are sizes in bytes, and durations in milliseconds.
_BYTES_KEY = re.compile(r"(^|_)(size|bytes)$")
_MS_KEY = re.compile(r"_ms$")
#: Nesting shown as tables; deeper values are written on one line.
_MAX_DEPTH = 3
#: Items of a list shown before "… and N more".
_MAX_ITEMS = 40


def human_size(n: float) -> str:
    """A size as a person reads it: ``"27.3 MiB"``, ``"512 B"`` (binary units, one decimal)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop returns


#: A run id standing alone in running text (not inside a name such as ``m-<id>``).
_LONE_RUN_ID = re.compile(r"(?<![\w-])[0-9a-f]{32}(?![\w-])")
_ID_OR_PATH = re.compile(f"(?P<id>{_LONE_RUN_ID.pattern})|(?P<path>{_PATH.pattern})")


def short_id(run_id: str) -> Markup:
    """A run id as its first 8 characters, the whole id on hover."""
    return Markup('<span class="mono run-id" title="{}">{}</span>').format(run_id, run_id[:SHORT_ID])


def breakable(text: str) -> Markup:
    """``text`` escaped, readable in a narrow column: a line-break opportunity (``<wbr>``) after
    each separator of the file-system paths in it (a long path wraps between folders, never in
    the middle of a name), and each run id shortened, the whole id on hover (:func:`short_id`)."""
    out: list[str] = []
    last = 0
    for match in _ID_OR_PATH.finditer(text):
        out.append(escape(text[last : match.start()]))
        if match.group("id"):
            out.append(short_id(match.group("id")))
        else:
            parts = re.split(r"(?<=[/\\])", match.group(0))
            out.append(Markup("<wbr>").join(escape(part) for part in parts))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _scalar(key: str, value: Any, words: dict[str, str]) -> Markup:
    if value is None:
        return Markup('<span class="muted">—</span>')
    if isinstance(value, bool):
        return escape(words["yes"] if value else words["no"])
    if isinstance(value, (int, float)):
        if _BYTES_KEY.search(key) and _finite(value) is not None:
            return Markup('<span title="{} B">{}</span>').format(f"{int(value):,}", human_size(value))
        if _MS_KEY.search(key) and _finite(value) is not None:
            return escape(f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms")
        return escape(_metric(value) if isinstance(value, float) else f"{value:,}")
    value = str(value)
    return breakable(value)


def _evidence_value(key: str, value: Any, words: dict[str, str], depth: int = 1) -> Markup:
    """One evidence value as HTML: scalars as text (sizes, durations and run ids made readable),
    lists as comma-separated items or a table of their records, mappings as nested tables."""
    if isinstance(value, dict):
        if not value:
            return Markup('<span class="muted">—</span>')
        if depth >= _MAX_DEPTH:
            return Markup("; ").join(
                Markup("{}: {}").format(
                    k, _scalar(str(k), v, words) if not isinstance(v, (dict, list, tuple)) else escape(str(v))
                )
                for k, v in value.items()
            )
        rows = Markup("").join(
            Markup('<tr><th scope="row">{}</th><td>{}</td></tr>').format(
                _ev_label(str(k), words), _evidence_value(str(k), v, words, depth + 1)
            )
            for k, v in value.items()
        )
        return Markup('<table class="ev ev-sub"><tbody>{}</tbody></table>').format(rows)
    if isinstance(value, (list, tuple, set)):
        items = list(value)
        if not items:
            return Markup('<span class="muted">—</span>')
        more = len(items) - _MAX_ITEMS
        items = items[:_MAX_ITEMS]
        if all(isinstance(i, dict) for i in items) and depth < _MAX_DEPTH:
            columns = list(dict.fromkeys(k for i in items for k in i))
            head = Markup("").join(Markup("<th>{}</th>").format(_ev_label(str(c), words)) for c in columns)
            body = Markup("").join(
                Markup("<tr>{}</tr>").format(
                    Markup("").join(
                        Markup("<td>{}</td>").format(_evidence_value(str(c), i.get(c), words, depth + 1))
                        for c in columns
                    )
                )
                for i in items
            )
            shown = Markup('<table class="ev ev-records"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>').format(
                head, body
            )
        else:
            shown = Markup(", ").join(_evidence_value(key, i, words, depth + 1) for i in items)
        if more > 0:
            shown += Markup(' <span class="muted">{}</span>').format(words["more"].format(n=more))
        return shown
    return _scalar(key, value, words)


def _ev_label(key: str, words: dict[str, str]) -> str:
    """An evidence key as the report labels it, in the report's language (``words`` carries the
    catalogue's ``ev.*`` labels): ``model_path`` reads "ruta del modelo"; a key the catalogue does
    not name (a package, a metric, a sandbox measure) stays as it is, underscores as spaces."""
    return words.get(f"ev.{key}") or key.replace("_", " ")


def _evidence(evidence: dict[str, Any], words: dict[str, str]) -> Markup:
    """A check's evidence as a two-column table (what, value); the message key is left out (it
    names the message shown above)."""
    shown = {k: v for k, v in evidence.items() if k != "key"}
    if not shown:
        return Markup("")
    rows = Markup("").join(
        Markup('<tr><th scope="row">{}</th><td>{}</td></tr>').format(
            _ev_label(key, words), _evidence_value(key, value, words)
        )
        for key, value in shown.items()
    )
    return Markup('<div class="ev-wrap"><table class="ev"><tbody>{}</tbody></table></div>').format(rows)


def _context(result: Result) -> dict[str, Any]:
    lang, words = _labels(result.lang)
    words = {**words, **{f"ev.{key}": label for key, label in EVIDENCE_LABELS[lang].items()}}
    checks = []
    for check in result.checks:
        checks.append(
            {
                "id": check.id,
                "title": check.title,
                "status": check.status if check.status in STATUS_ICONS else "error",
                "status_label": words.get(check.status, check.status),
                "icon": STATUS_ICONS.get(check.status, "?"),
                "points": _num(check.points),
                "max_points": _num(check.max_points),
                "message": check.message,
                "hint": check.hint if check.status != "pass" else "",
                "evidence": _evidence(check.evidence, words),
                "hidden": check.visibility == "hidden",
                "required": check.required,
            }
        )
    max_score = result.max_score
    percent = 0.0 if max_score <= 0 else max(0.0, min(100.0, result.score / max_score * 100))
    return {
        "lang": lang,
        "t": {
            **words,
            "extra": text("label.extra", lang),
            "extra_legend": text("label.extra_legend", lang),
            "student_view": text("view.student", lang),
            "student_view_short": text("view.student_short", lang),
            # a student reading their own view is told what a hidden check is, not that they do not see it
            **({"hidden_title": text("view.student", lang)} if result.view == "student" else {}),
        },
        "student_view": result.view == "student",
        "store_description": store_description(result.submission, lang),
        "result": result,
        "sub": result.submission,
        "score": _num(result.score),
        "max_score": _num(max_score),
        "percent": round(percent, 1),
        "passed": result.passed,
        "n_passed": sum(1 for c in result.checks if c.passed),
        "checks": checks,
        "runs": _run_rows(result.runs, result.metric or METRIC, _secondary(result.runs, result.metric or METRIC)),
        "chart": bar_chart(result.runs, result.metric or METRIC),
        "metric": result.metric or METRIC,
        "order": result.order,
        "secondary_metric": _secondary(result.runs, result.metric or METRIC),
        "seconds": f"{result.duration_ms / 1000:.1f}",
        "late_breakdown": text("late.breakdown", lang, checks=_num(result.checks_score), penalty=_num(result.penalty))
        if result.penalty
        else "",
    }


@lru_cache(maxsize=1)
def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("grader.reports", "templates"),
        autoescape=True,  # always: the template is .html.j2, which select_autoescape would miss
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["code"] = inline_code
    env.filters["breakable"] = breakable
    return env


def warm_up() -> None:
    """Compile the report's template now: batch grading's fork server does, once, before it forks
    the students (each would otherwise compile it again; see :mod:`grader.batch.warm`)."""
    _environment().get_template("report.html.j2")


@report("html", ".html", "self-contained HTML report")
def render_html(result: Result) -> str:
    """Render ``result`` as one self-contained HTML page (no scripts, no external resources)."""
    return _environment().get_template("report.html.j2").render(**_context(result))

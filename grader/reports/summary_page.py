"""The class summary page (``out/summary.html`` of ``grade --batch``): counts, histogram, metric chart."""

from __future__ import annotations

import statistics
from functools import lru_cache
from typing import Any

from .. import __version__
from ..batch.model import SLOWEST, BatchResult, StudentRow
from ..batch.rows import plain_number
from ..checks import title_of as _title_of
from ..result import PASSING
from ..rubric import Rubric
from ..rubric import render as fill_template

#: Why :func:`discover` (and :mod:`grader.lms`) left a child of the submissions folder out -> the
#: catalogue's words for it in the summary.
IGNORED_WHY = {
    "hidden or system entry": "summary.why.hidden",
    "symbolic link (not followed)": "summary.why.symlink",
    "the output folder": "summary.why.out",
    "not a folder nor an archive": "summary.why.other",
    "Moodle submission of another plugin (not a file submission)": "summary.why.moodle_plugin",
}


def _catalogue_keys() -> set[str]:
    from ..catalogue import MESSAGES

    return set(MESSAGES)


def summary_texts(lang: str) -> dict[str, str]:
    """The summary's texts in ``lang`` from the catalogue (``summary.<name>`` is ``t.<name>`` in the
    template), unfilled: the template fills them with ``fill(t.name, n=...)``."""
    from ..catalogue import MESSAGES

    prefix = "summary."
    return {
        key[len(prefix) :]: texts.get(lang) or texts["en"] for key, texts in MESSAGES.items() if key.startswith(prefix)
    }


def _histogram(scores: list[float], max_score: float) -> dict[str, Any]:
    """Bars of an SVG histogram of ``scores`` over [0, max_score]."""
    integer = max_score <= 30 and float(max_score).is_integer() and all(float(s).is_integer() for s in scores)
    if integer:
        edges = [(float(i), float(i)) for i in range(int(max_score) + 1)]
        labels = [f"{i}" for i in range(int(max_score) + 1)]
        counts = [sum(1 for s in scores if s == lo) for lo, _ in edges]
    else:
        top = max_score if max_score > 0 else 1.0
        width = top / 10
        edges = [(i * width, (i + 1) * width) for i in range(10)]
        labels = [f"{lo:g}–{hi:g}" for lo, hi in edges]
        counts = [sum(1 for s in scores if lo <= s < hi or (i == 9 and s == hi)) for i, (lo, hi) in enumerate(edges)]
    chart_w, chart_h, pad_left, pad_bottom, pad_top = 640, 190, 34, 34, 14
    n = len(counts)
    slot = (chart_w - pad_left - 8) / max(n, 1)
    tallest = max(counts) if counts and max(counts) > 0 else 1
    bars = []
    for i, (count, label) in enumerate(zip(counts, labels, strict=True)):
        height = (chart_h - pad_bottom - pad_top) * count / tallest
        x = pad_left + i * slot + slot * 0.12
        bars.append(
            {
                "x": round(x, 1),
                "y": round(chart_h - pad_bottom - height, 1),
                "w": round(slot * 0.76, 1),
                "h": round(height, 1),
                "count": count,
                "label": label,
                "cx": round(x + slot * 0.38, 1),
                "passing": i == n - 1,
            }
        )
    ticks = sorted({0, tallest, (tallest + 1) // 2})
    return {
        "width": chart_w,
        "height": chart_h,
        "bars": bars,
        "base": chart_h - pad_bottom,
        "left": pad_left,
        "ticks": [
            {"value": t, "y": round(chart_h - pad_bottom - (chart_h - pad_bottom - pad_top) * t / tallest, 1)}
            for t in ticks
        ],
    }


#: Up to this many students the metric chart draws one bar each; a larger class gets a histogram.
METRIC_BARS = 60


def metric_chart(rows: list[StudentRow], order: str, texts: dict[str, str]) -> dict[str, Any]:
    """An inline SVG of each graded student's best ranking metric (``StudentRow.best_metric``),
    best first: one labelled bar per student, or for a large class a histogram of 10 bins."""
    values = [(r, r.best_metric) for r in rows if r.graded and r.best_metric is not None]
    missing = sum(1 for r in rows if r.graded and r.best_metric is None)
    width, left, right, row_h, top = 640, 170, 64, 18, 6
    if not values:
        return {"bars": [], "missing": missing, "width": width, "height": 0}
    values.sort(key=lambda item: (item[1] if order == "ASC" else -item[1], item[0].student))
    numbers = [v for _, v in values]
    lo, hi = min(0.0, min(numbers)), max(numbers)
    hi = hi if hi > lo else lo + 1.0
    span = width - left - right
    bars: list[dict[str, Any]] = []
    if len(values) <= METRIC_BARS:
        for i, (row, value) in enumerate(values):
            bars.append(
                {
                    "y": top + i * row_h,
                    "w": round(max(1.0, span * (value - lo) / (hi - lo)), 1),
                    "label": row.student if len(row.student) <= 24 else row.student[:23] + "…",
                    "title": f"{row.student}: {value:.6g}",
                    "value": f"{value:.4g}",
                    "href": row.report_html,
                    "best": i == 0,
                }
            )
    else:
        edges = [min(numbers) + k * (max(numbers) - min(numbers)) / 10 for k in range(11)]
        for k in range(10):
            inside = [v for v in numbers if edges[k] <= v < edges[k + 1] or (k == 9 and v == edges[10])]
            bars.append(
                {
                    "y": top + k * row_h,
                    "count": len(inside),
                    "label": f"{edges[k]:.3g}–{edges[k + 1]:.3g}",
                    "title": fill_template(
                        texts["metric_bins"], {"n": len(inside), "lo": f"{edges[k]:.4g}", "hi": f"{edges[k + 1]:.4g}"}
                    ),
                    "value": str(len(inside)),
                    "href": "",
                    "best": False,
                }
            )
        tallest = max(b["count"] for b in bars) or 1
        for bar in bars:
            bar["w"] = round(max(1.0, span * bar["count"] / tallest), 1) if bar["count"] else 0
    return {
        "bars": bars,
        "missing": missing,
        "width": width,
        "height": top * 2 + len(bars) * row_h,
        "left": left,
        "row_h": row_h,
        "per_student": len(values) <= METRIC_BARS,
    }


def summary_context(batch: BatchResult, rubric: Rubric, lang: str) -> dict[str, Any]:
    from ..catalogue import text as catalogue_text
    from .html import human_size

    rows = batch.rows
    graded = [r for r in rows if r.graded]
    max_score = rows[0].max_score if rows else round(sum(s.points for s in rubric.checks), 4)
    scores = [r.score for r in graded]
    checks = []
    for spec in rubric.checks:
        statuses = [r.checks.get(spec.id, ("skip", 0.0))[0] for r in graded]
        passed = sum(1 for s in statuses if s in PASSING)
        rate = passed / len(graded) if graded else 0.0
        warned = statuses.count("warn")
        checks.append(
            {
                "id": spec.id,
                "title": _title_of(rubric, spec, lang),
                "points": plain_number(spec.points),
                "passed": passed,
                "total": len(graded),
                "rate": rate,
                "percent": f"{100 * rate:.0f}",
                "clean": passed - warned,
                # the bar: clean passes in green, then warnings in amber (a warning is not a clean pass)
                "bar": round(300 * (passed - warned) / len(graded), 1) if graded else 0.0,
                "bar_warn": round(300 * warned / len(graded), 1) if graded else 0.0,
                "fail": statuses.count("fail"),
                "error": statuses.count("error"),
                "skip": statuses.count("skip"),
                "hidden": spec.visibility == "hidden",
                # a warning earns the points but is counted apart: "passed" alone would hide it
                "warn": statuses.count("warn"),
                "required": spec.required,
            }
        )
    failing = []
    for r in rows:
        if r.status == "pass":
            continue
        missed = [cid for cid, (status, _) in r.checks.items() if status not in PASSING]
        failing.append({"row": r, "missed": missed if r.status != "error" else [], "reason": r.error})
    slowest = sorted(rows, key=lambda r: (-r.duration_s, r.student))[:SLOWEST]
    texts = summary_texts(lang)
    metric, order = str(rubric.settings.get("metric", "rmse_test")), str(rubric.settings.get("order", "ASC"))
    copies = []
    for pair in sorted(batch.copies.pairs, key=lambda p: (p.strength != "strong", p.a, p.b)):
        describe = ", ".join(
            ([fill_template(texts["n_runs"], {"n": len(pair.run_ids)})] if pair.run_ids else [])
            + ([fill_template(texts["n_models"], {"n": len(pair.models)})] if pair.models else [])
        )
        copies.append(
            {
                "a": pair.a,
                "b": pair.b,
                "strength": pair.strength,
                "describe": describe,
                "strength_label": texts["strong"] if pair.strength == "strong" else texts["weaker_badge"],
                "run_ids": pair.run_ids[:20],
                "more_runs": max(0, len(pair.run_ids) - 20),
                "models": pair.models[:10],
                "more_models": max(0, len(pair.models) - 10),
                "a_row": next(r for r in rows if r.student == pair.a),
                "b_row": next(r for r in rows if r.student == pair.b),
            }
        )
    return {
        "lang": lang,
        "t": texts,
        "version": __version__,
        "rubric_id": rubric.id,
        "rubric_title": rubric.text(rubric.title, lang),
        "submissions_dir": str(batch.submissions_dir),
        "n": len(rows),
        "n_graded": len(graded),
        "n_passed": batch.n_passed,
        "n_failed": batch.n_failed,
        "n_errors": batch.n_errors,
        "n_warned": batch.n_warned,
        "n_late": batch.n_late,
        "late_policy": rubric.late is not None or any(r.late for r in rows),
        "metric": metric,
        "metric_order": texts["metric_asc" if order == "ASC" else "metric_desc"],
        "metric_chart": metric_chart(rows, order, texts),
        "status_label": {
            s: catalogue_text(f"status.{s}", lang) if f"status.{s}" in _catalogue_keys() else s
            for s in ("pass", "fail", "error", "warn", "skip")
        },
        "max_score": plain_number(max_score),
        "mean": plain_number(round(statistics.fmean(scores), 2)) if scores else "–",
        "median": plain_number(round(statistics.median(scores), 2)) if scores else "–",
        "seconds": f"{batch.duration_s:.1f}",
        "jobs": batch.jobs,
        "histogram": _histogram(scores, max_score),
        "checks": checks,
        "failing": failing,
        "slowest": [{"row": r, "seconds": f"{r.duration_s:.1f}"} for r in slowest],
        "rows": rows,
        "copies": [c for c in copies if c["strength"] == "strong"],
        "weaker": [c for c in copies if c["strength"] != "strong"],
        "common_models": batch.copies.common_models,
        "common_runs": len(batch.copies.common_run_ids),
        "model_threshold": batch.copies.model_threshold,
        "run_threshold": batch.copies.run_threshold,
        "ignored": [
            (name, catalogue_text(IGNORED_WHY[why], lang) if why in IGNORED_WHY else why) for name, why in batch.ignored
        ],
        "fmt_num": plain_number,
        "human_size": human_size,
        "label_required": catalogue_text("label.required", lang),
        "label_extra": catalogue_text("label.extra", lang),
        "label_warn": catalogue_text("label.warn", lang),
    }


@lru_cache(maxsize=1)
def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("grader.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["fill"] = lambda template, **params: fill_template(template, params)  # {n:plural:...} as in messages
    return env


def warm_up() -> None:
    """Compile the page's template now (about 0.1 s): a folder batch does it while its students are
    graded, not after the last one (see :mod:`grader.batch.ahead`)."""
    _environment().get_template("summary.html.j2")


def render_summary(batch: BatchResult, rubric: Rubric, lang: str) -> str:
    return _environment().get_template("summary.html.j2").render(**summary_context(batch, rubric, lang))

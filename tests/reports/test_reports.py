"""Report formats: the JSON report against its JSON Schema, and the HTML report (escaping, content,
and how a real browser parses and draws it).

Browser tests use Debian's ``chromium`` headless (``apt-get install chromium``); they are skipped,
with that reason, when it is not installed. Set ``GRADER_SCREENSHOT_DIR`` to keep the PNGs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest

from grader.api import grade
from grader.reports import FORMATS, render
from grader.reports import html as html_report
from grader.reports.html import CSP, bar_chart, inline_code
from grader.reports.schema import load_schema, validate
from grader.result import CheckResult, Result, RunRow, SubmissionInfo

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a test dependency: pip install -e '.[test]'")

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium): headless browser tests skipped"
)

# Strings a student controls (run names, params, tags, messages quoting them) that must never
# become markup. The DOM ones would change the page's title if any script or handler ran.
XSS = "<script>alert(1)</script>"
ATTR_BREAK = '"><img src=x onerror=alert(1)>'
DOM_SCRIPT = "<script>document.title='PWNED'</script>"
DOM_HANDLER = "<img src=x onerror=\"document.title='PWNED'\">"
SVG_HANDLER = "<svg onload=\"document.title='PWNED'\"></svg>"
TITLE_BREAK = "</title><script>document.title='PWNED'</script>"
STYLE_BREAK = "</style><script>document.title='PWNED'</script>"
PAYLOADS = (XSS, ATTR_BREAK, DOM_SCRIPT, DOM_HANDLER, SVG_HANDLER, TITLE_BREAK, STYLE_BREAK)
ALL = " ".join(PAYLOADS)

# Elements the template itself emits; anything else in a parsed report was injected.
TEMPLATE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "header", "section", "footer", "div", "p",
    "h1", "h2", "span", "strong", "code", "pre", "dl", "dt", "dd", "ul", "li", "table", "thead", "tbody",
    "tr", "th", "td", "details", "summary", "figure", "figcaption", "svg", "g", "line", "rect", "text",
    "wbr",  # a line-break opportunity after each folder of a path (html.breakable)
}


# --------------------------------------------------------------------------- helpers


def _check(cid, status, points, max_points, message, hint="", evidence=None, visibility="visible"):
    return CheckResult(cid, f"Title of {cid}", status, points, max_points, message, hint, evidence or {}, visibility)


def _run(i, name, rmse, *, best=False, prod=False, counted=True, has_model=True, params=None, tags=None):
    return RunRow(
        run_id=f"{i:02d}" + "abcdef0123456789abcdef0123456789"[: 30],
        run_name=name,
        status="FINISHED" if counted else "FAILED",
        start_time=1_700_000_000_000 + i,
        params={"model_type": "RandomForestRegressor", "max_depth": str(i)} if params is None else params,
        metrics={"rmse_test": rmse, "r2_test": None if rmse is None else round(1 - rmse / 2, 4)},
        tags=tags or {},
        has_model=has_model,
        counted=counted,
        is_best=best,
        is_production=prod,
    )


def make_result(lang="es", runs=None) -> Result:
    """A failing result with every status, a hidden check, notes, a run without the metric, an
    uncounted run, and a Production run that is not the best."""
    checks = [
        _check("runs.count", "pass", 2, 2, "Found 4 finished runs.", "never shown when passing",
               {"key": "ok", "counted": 4}),
        _check("runs.fields", "warn", 2, 2, "`model_type` is a tag in: rf-3.", "Log it with `mlflow.log_param`.",
               {"key": "tag_only", "runs": ["rf-3"]}),
        _check("runs.model", "fail", 0, 2, "1 of 4 runs have no model: rf-3.",
               "Call `mlflow.sklearn.log_model(model, name=\"model\")` in each run.", {"key": "missing"}),
        _check("registry.production", "error", 0, 2, "The registry could not be read (boom).", "Tell the instructor.",
               {"key": "section_error", "error": "boom"}),
        _check("registry.best_run", "skip", 0, 3, "Cannot compare: no Production version.",
               "Register the best run.", {"key": "no_production"}),
        _check("model.predict", "fail", 0, 3, "The model did not load.", "Log a loadable model.",
               {"key": "load_failed", "stderr": "Traceback ...\nValueError: bad"}, visibility="hidden"),
    ]
    if runs is None:
        runs = [
            _run(1, "rf-d15-n50", 0.6764, best=True),
            _run(2, "rf-d10-n50", 0.6765),
            _run(3, "rf-3", 0.7001, has_model=False, params={"max_depth": "3"}, tags={"model_type": "RandomForestRegressor"}),
            _run(4, "linreg-manual", 0.7582, prod=True),
            _run(5, "no-metric-run", None),
            _run(6, "crashed-run-with-a-really-long-name-that-goes-on", 0.9, counted=False),
        ]
    return Result(
        grader_version="0.1.0",
        rubric_id="homework-195",
        rubric_title="Clase 195 · Tarea" if lang == "es" else "Class 195 · Homework",
        lang=lang,
        submission=SubmissionInfo(input="/submissions/ana/mlruns", store="file", mlflow_layout="3.x",
                                  notes=["2 artifact path(s) point outside the store"]),
        checks=checks,
        runs=runs,
        experiment="homework-195",
        duration_ms=1234.5,
    )


def payload_result() -> Result:
    """Every student-controlled string carries every payload."""
    result = make_result(lang="en")
    result.rubric_title = f"Homework {TITLE_BREAK}"
    result.submission.input = f"/tmp/{ALL}/mlruns"
    result.submission.notes = [f"note {p}" for p in PAYLOADS]
    result.experiment = f"exp {ATTR_BREAK}"
    for check in result.checks:
        check.message = f"Found run {ALL} and `{ALL}`"
        check.hint = f"Rename {ALL} with `{XSS}`"
        check.evidence = {"run_name": ALL, ALL: [ALL]}
    for i, run in enumerate(result.runs):
        run.run_name = PAYLOADS[i % len(PAYLOADS)] + " " + ALL
        run.params = {"model_type": ALL, ALL: ATTR_BREAK}
        run.tags = {"note": ALL}
        run.status = f"FINISHED{ATTR_BREAK}"
    return result


class Dom(HTMLParser):
    """Start tags, their attributes, the document title, and the text, as a browser would parse."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.title: str | None = None
        self._in_title = False
        self._title_parts: list[str] = []
        self.text_parts: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "title" and self.title is None:
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = "".join(self._title_parts)

    def handle_data(self, data):
        self.text_parts.append(data)
        if self._in_title:
            self._title_parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def find(self, tag: str, cls: str | None = None) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and (cls is None or cls in (a.get("class") or "").split())]


def assert_nothing_injected(dom: Dom) -> None:
    tags = {t for t, _ in dom.tags}
    assert tags <= TEMPLATE_TAGS, f"unexpected elements: {sorted(tags - TEMPLATE_TAGS)}"
    for tag, attrs in dom.tags:
        handlers = [a for a in attrs if a.startswith("on")]
        assert not handlers, f"<{tag}> got event handler attributes {handlers}"
        assert "src" not in attrs and "href" not in attrs, f"<{tag}> references a resource: {attrs}"
    metas = dom.find("meta")
    assert sum(1 for m in metas if (m.get("http-equiv") or "").lower() == "content-security-policy") == 1


def chromium(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="grader-chromium-") as profile:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "HOME": profile})
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}"
    return proc


def dump_dom(path: Path) -> str:
    return chromium("--dump-dom", "--virtual-time-budget=2000", path.as_uri()).stdout


def screenshot(path: Path, png: Path, width: int, height: int) -> bytes:
    chromium(f"--screenshot={png}", f"--window-size={width},{height}", path.as_uri())
    data = png.read_bytes()
    keep = os.environ.get("GRADER_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, Path(keep) / png.name)
    return data


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def real_result(reference_store_file, tmp_path_factory) -> Result:
    """The reference submission (MLflow 3.x file store), graded for real. Without the model probe
    (about 10 s): model.predict is skipped, every other check passes."""
    return grade(reference_store_file, lang="en", probe=False, workdir=tmp_path_factory.mktemp("grade-work"))


@pytest.fixture(scope="module")
def real_report(real_result) -> dict:
    return json.loads(render(real_result, "json"))


# --------------------------------------------------------------------------- JSON schema


def test_schema_is_a_valid_draft_2020_12_schema_shipped_as_package_data():
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert resources.files("grader").joinpath("schemas", "report.schema.json").is_file()
    assert load_schema() is not load_schema()  # a fresh copy: callers may mutate it
    with pytest.raises(ValueError):
        load_schema("../api")


def test_real_graded_report_validates(real_report, real_result):
    validate(real_report)
    statuses = {c["id"]: c["status"] for c in real_report["checks"]}
    assert statuses.pop("model.predict") == statuses.pop("integrity.metrics") == "skip"  # both need the probe
    assert statuses.pop("notebook.final_cell") == "warn"  # no notebook next to the store
    assert set(statuses.values()) == {"pass"}
    assert real_report["passed"] is False and 0 < real_report["score"] < real_report["max_score"]
    assert real_report["submission"]["mlflow_layout"] == "3.x"
    assert any(r["is_best"] for r in real_report["runs"]) and any(r["is_production"] for r in real_report["runs"])
    # The report is lossless: rebuilding the result gives the same report.
    assert Result.from_dict(real_report).to_dict() == real_report


@pytest.mark.parametrize("lang", ["es", "en"])
def test_handmade_result_validates(lang):
    data = json.loads(render(make_result(lang), "json"))
    validate(data)
    validate(json.loads(render(payload_result(), "json")))
    validate(json.loads(render(make_result(lang, runs=[]), "json")))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("score"),
        lambda d: d.pop("runs"),
        lambda d: d["grader"].pop("version"),
        lambda d: d.__setitem__("schema_version", 2),
        lambda d: d["submission"].__setitem__("store", "s3"),
        lambda d: d["submission"].__setitem__("mlflow_layout", "4.x"),
        lambda d: d["checks"][0].__setitem__("status", "ok"),
        lambda d: d["checks"][0].__setitem__("points", "2"),
        lambda d: d["checks"][0].pop("hint"),
        lambda d: d["runs"][0]["metrics"].__setitem__("rmse_test", "0.67"),
        lambda d: d["runs"][0].pop("is_production"),
        lambda d: d["runs"][0]["params"].__setitem__("max_depth", 3),
    ],
    ids=["no-score", "no-runs", "no-version", "schema-2", "store", "layout", "status", "points-str", "no-hint",
         "metric-str", "no-is_production", "param-int"],
)
def test_schema_rejects_broken_reports(mutate):
    data = json.loads(render(make_result(), "json"))
    mutate(data)
    with pytest.raises(jsonschema.ValidationError):
        validate(data)


def test_schema_allows_added_fields_and_null_metrics():
    data = json.loads(render(make_result(), "json"))
    data["new_top_level_field"] = {"anything": [1, 2]}
    data["checks"][0]["new_check_field"] = 1
    data["runs"][0]["metrics"]["rmse_test"] = None
    validate(data)


# --------------------------------------------------------------------------- HTML: content


def test_html_is_registered_and_self_contained():
    assert FORMATS["html"].extension == ".html"
    page = render(make_result(), "html")
    assert page.lstrip().lower().startswith("<!doctype html>")
    head = page[: page.index("</head>")]
    assert head.index('<meta charset="utf-8">') < head.index("Content-Security-Policy") < head.index("<title>")
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in head
    lowered = page.lower()
    for needle in ("<script", "<link", "@import", "url(", "src=", "href=", "@font-face", "https://"):
        assert needle not in lowered, needle
    assert_nothing_injected(Dom(page))


def test_html_real_report_content(real_result):
    page = render(real_result, "html")
    dom = Dom(page)
    assert_nothing_injected(dom)
    assert re.search(rf'class="score-value">{real_result.score:g}<', page)
    assert "✗ Not passed" in dom.text  # model.predict is skipped without the probe
    assert len(dom.find("tr", "check")) == len(real_result.checks)
    assert len(dom.find("tr", "run")) == len(real_result.runs)
    assert len(dom.find("rect", "bar")) == sum(1 for r in real_result.runs if r.metrics.get("rmse_test") is not None)
    best = next(r for r in real_result.runs if r.is_best)
    assert best.run_name in dom.text and best.run_id[:8] in dom.text
    assert len(dom.find("tr", "is-best")) == 1 and len(dom.find("tr", "is-production")) == 1
    assert real_result.rubric_title in dom.title


def test_html_rows_statuses_hints_and_hidden_checks():
    result = make_result("en")
    page = render(result, "html")
    dom = Dom(page)
    rows = dom.find("tr", "check")
    assert [r["data-check"] for r in rows] == [c.id for c in result.checks]
    for row, check in zip(rows, result.checks, strict=True):
        assert f"is-{check.status}" in row["class"].split()
    # one badge per check, in the status colour class
    assert [b["class"].split()[1] for b in dom.find("span", "badge") if "hidden-mark" not in b["class"]
            and b["class"].split()[1].startswith("is-")] == [f"is-{c.status}" for c in result.checks]
    # hints: every check but the passing one; evidence collapsible for each check that has some
    assert "never shown when passing" not in page
    assert len(dom.find("p", "hint")) == len(result.checks) - 1
    # (the message key alone is not shown: it names the message above)
    assert len(dom.find("details")) == sum(1 for c in result.checks if set(c.evidence) - {"key"})
    assert not any("open" in d for d in dom.find("details"))  # collapsed
    # hidden check still shown (instructor's view) and marked
    assert len(dom.find("tr", "is-hidden")) == 1 and dom.find("tr", "is-hidden")[0]["data-check"] == "model.predict"
    assert len(dom.find("span", "hidden-mark")) == 1
    # backticks become <code>, escaped
    assert "<code>mlflow.sklearn.log_model(model, name=&#34;model&#34;)</code>" in page
    # score, verdict, submission info
    assert re.search(r'class="score-value">4<', page) and "/ 14" in page  # warn earns its points
    assert "✗ Not passed" in dom.text and "2 of 6 checks passed" in dom.text
    for text in ("/submissions/ana/mlruns", "file", "3.x", "2 artifact path(s) point outside the store"):
        assert text in dom.text


def test_html_runs_table_order_and_marks():
    result = make_result("en")
    page = render(result, "html")
    dom = Dom(page)
    rows = dom.find("tr", "run")
    assert len(rows) == len(result.runs)
    classes = [set(r["class"].split()) for r in rows]
    assert "is-best" in classes[0] and "is-production" not in classes[0]
    assert "is-production" in classes[3] and "is-best" not in classes[3]
    assert "not-counted" in classes[5]
    table = page[page.index('<table class="runs">'):]
    order = [table.index(f'<td class="name">{r.run_name}') for r in result.runs]
    assert order == sorted(order), "runs must keep search_runs order"
    # model_type falls back to the tag, missing metric shows a dash, no model is said
    text = Dom(table).text
    assert text.count("RandomForestRegressor") >= len(result.runs)
    assert "—" in text and "✗ no" in text
    badges = [a["class"] for a in dom.find("span", "badge")]
    assert badges.count("badge best") == 1 and badges.count("badge prod") == 1


@pytest.mark.parametrize("lang, words", [
    ("es", ["Puntaje", "No aprobado", "Cómo arreglarlo", "Evidencia", "oculto", "Entrega", "mejor", "sin valor"]),
    ("en", ["Score", "Not passed", "How to fix", "Evidence", "hidden", "Submission", "best", "no value"]),
])
def test_html_labels_follow_result_language(lang, words):
    page = render(make_result(lang), "html")
    assert f'<html lang="{lang}">' in page
    for word in words:
        assert word in page, word
    other = {"es": "How to fix", "en": "Cómo arreglarlo"}[lang]
    assert other not in page


def test_html_unknown_language_falls_back_to_english():
    result = make_result("en")
    result.lang = "fr"
    page = render(result, "html")
    assert '<html lang="en">' in page and "How to fix" in page


def test_html_is_deterministic():
    assert render(make_result(), "html") == render(make_result(), "html")


# --------------------------------------------------------------------------- HTML: chart


def test_bar_chart_geometry_follows_run_order_and_highlights_best():
    result = make_result()
    chart = bar_chart(result.runs)
    bars = chart["bars"]
    assert [b["label"] for b in bars][:2] == ["rf-d15-n50", "rf-d10-n50"]
    assert [b["is_best"] for b in bars] == [r.is_best for r in result.runs]
    assert bars[4]["missing"] and bars[4]["width"] == 0 and bars[4]["value"] is None
    widths = [b["width"] for b in bars if not b["missing"]]
    space = chart["width"] - html_report.CHART_LABEL_WIDTH - html_report.CHART_VALUE_WIDTH
    assert max(widths) == pytest.approx(space)  # the largest value fills the space
    assert bars[0]["width"] / bars[3]["width"] == pytest.approx(0.6764 / 0.7582, rel=1e-3)
    assert bars[5]["label"].endswith("…") and len(bars[5]["label"]) == html_report.CHART_LABEL_CHARS
    ys = [b["y"] for b in bars]
    assert ys == sorted(ys) and chart["height"] > ys[-1]


def test_bar_chart_handles_no_runs_no_values_and_odd_numbers():
    assert bar_chart([]) is None
    all_missing = bar_chart([_run(1, "a", None, best=True), _run(2, "b", None)])
    assert all(b["missing"] and b["width"] == 0 for b in all_missing["bars"])
    odd = bar_chart([_run(1, "nan", float("nan")), _run(2, "inf", float("inf")), _run(3, "neg", -1.0),
                     _run(4, "zero", 0.0), _run(5, "ok", 2.0)])
    assert [b["missing"] for b in odd["bars"]] == [True, True, False, False, False]
    assert [b["value"] for b in odd["bars"]][:2] == ["nan", "inf"] and all_missing["bars"][0]["value"] is None
    assert [b["width"] for b in odd["bars"]][2:4] == [0, 0]


def test_html_without_runs_says_so_and_draws_no_chart():
    page = render(make_result("en", runs=[]), "html")
    dom = Dom(page)
    assert "There are no runs to show." in dom.text
    assert not dom.find("svg") and not dom.find("tr", "run")
    assert len(dom.find("tr", "check")) == 6


# --------------------------------------------------------------------------- HTML: escaping


def test_html_escapes_student_controlled_strings():
    page = render(payload_result(), "html")
    assert "<script" not in page.lower()
    assert "<img" not in page.lower() and "<svg onload" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    dom = Dom(page)
    assert_nothing_injected(dom)
    assert dom.title.endswith(f"Homework {TITLE_BREAK}")  # the payload is text inside the title
    assert len(dom.find("tr", "check")) == 6 and len(dom.find("tr", "run")) == 6
    assert len(dom.find("style")) == 1 and len(dom.find("title")) == 1 + len(dom.find("g", "row"))
    assert XSS in dom.text and ATTR_BREAK in dom.text  # shown to the reader, as text


def test_inline_code_escapes_inside_and_outside_code_spans():
    out = inline_code(f"a {XSS} `b {XSS}` c `unclosed {XSS}")
    assert "<script" not in out
    assert out.count("<code>") == 1 and "<code>b &lt;script&gt;" in out


# --------------------------------------------------------------------------- HTML: in a browser


@needs_chromium
def test_browser_parses_real_report(real_result, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render(real_result, "html"), encoding="utf-8")
    dom = Dom(dump_dom(page))
    assert_nothing_injected(dom)
    assert re.search(rf"{real_result.score:g}\s*/\s*{real_result.max_score:g}", dom.title)
    assert f"{real_result.score:g}" in dom.text and "Not passed" in dom.text
    assert len(dom.find("tr", "check")) == len(real_result.checks)
    assert len(dom.find("tr", "run")) == len(real_result.runs)
    assert len(dom.find("svg")) == 1 and dom.find("rect", "bar")


@needs_chromium
def test_browser_screenshots_failing_report_desktop_and_mobile(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render(make_result("es"), "html"), encoding="utf-8")
    for name, (w, h) in {"report-failing-desktop.png": (1280, 2600), "report-failing-mobile.png": (390, 3600)}.items():
        png = screenshot(page, tmp_path / name, w, h)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000


@needs_chromium
def test_browser_runs_no_payload(tmp_path):
    page = tmp_path / "payload.html"
    page.write_text(render(payload_result(), "html"), encoding="utf-8")
    dumped = dump_dom(page)
    dom = Dom(dumped)
    assert dom.title is not None and dom.title.strip() != "PWNED"
    assert dom.title.endswith(f"Homework {TITLE_BREAK}")
    assert_nothing_injected(dom)
    assert len(dom.find("tr", "check")) == 6 and len(dom.find("tr", "run")) == 6
    assert len(dom.find("title")) == 1 + len(dom.find("g", "row")) and len(dom.find("style")) == 1
    assert DOM_SCRIPT in dom.text and DOM_HANDLER in dom.text


@needs_chromium
def test_browser_harness_detects_scripts_and_csp_blocks_them(tmp_path):
    """Control for the payload test: without escaping or CSP the payload does run (so a title that
    is not PWNED means something), and the report's CSP alone stops it (defence in depth)."""
    raw = f"<!doctype html><html><head><meta charset=\"utf-8\"><title>ok</title></head><body>{DOM_SCRIPT}</body></html>"
    unsafe = tmp_path / "unsafe.html"
    unsafe.write_text(raw, encoding="utf-8")
    assert Dom(dump_dom(unsafe)).title == "PWNED"
    csp_only = tmp_path / "csp.html"
    csp_only.write_text(raw.replace("<title>", f'<meta http-equiv="Content-Security-Policy" content="{CSP}"><title>'),
                        encoding="utf-8")
    assert Dom(dump_dom(csp_only)).title == "ok"

"""What a new user sees first: ``grade --demo`` and the texts of every message (issue 16).

The demo is run as a user runs it, in a subprocess with its own ``TMPDIR``: it builds the reference
submission with real MLflow (runs, registry, notebook), grades it, says what it is doing in the
user's language, and leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from grader.api import grade
from grader.rubric import load_rubric

GRADE = [sys.executable, "-c", "import sys; from grader.cli import main; sys.exit(main())"]
#: The default rubric's total: derived, never written here (tests/test_rubric.py asserts it).
MAX = sum(c.points for c in load_rubric().checks)


def test_demo_passes_every_check_and_leaves_nothing_behind(tmp_path):
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTTP", "HTTPS"))}
    env["TMPDIR"] = str(tmp)
    proc = subprocess.run([*GRADE, "--demo", "--out", str(out), "--lang", "en"], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Score: {MAX:g}/{MAX:g}" in proc.stdout
    assert "[WARN]" not in proc.stdout and "How to fix" not in proc.stdout, proc.stdout
    # Progress while it builds, in the user's language (English here).
    assert "Building the reference submission" in proc.stderr
    assert "[13/13] training and logging run" in proc.stderr and "homework-195.ipynb" in proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["score"] == report["max_score"] == MAX and report["passed"] is True
    notebook = next(c for c in report["checks"] if c["id"] == "notebook.final_cell")
    assert notebook["status"] == "pass", notebook
    assert (out / "report.html").is_file()
    assert list(tmp.iterdir()) == [], "the demo left something in its temp dir"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tmp"]


def test_demo_keep_says_where_even_when_quiet(tmp_path):
    """``--demo -q --keep``: quiet silences the progress, not the one line that says where the kept
    submission is (else it is lost in the temp dir)."""
    import shutil
    from pathlib import Path

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTTP", "HTTPS"))}
    env["TMPDIR"] = str(tmp)
    proc = subprocess.run([*GRADE, "--demo", "-q", "--keep", "--json", str(tmp_path / "r.json"), "--lang", "en"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Building the reference submission" not in proc.stderr  # quiet
    match = re.search(r"kept in (\S+) \(--keep\)", proc.stderr)
    assert match, proc.stderr
    kept = Path(match.group(1))
    try:
        assert kept.is_dir() and tmp in kept.parents and (kept / "homework-195.ipynb").is_file()
    finally:
        shutil.rmtree(kept.parent, ignore_errors=True)


# --------------------------------------------------------------------------- skipped checks

def _by_id(result):
    return {c.id: c for c in result.checks}


@pytest.mark.parametrize("lang,needle", [("en", "Skipped because runs.count did not pass: fix that first."),
                                         ("es", "Se omitió porque no pasó runs.count: arreglá eso primero.")])
def test_skipped_checks_name_the_check_to_fix_first(make_variant_store, lang, needle):
    """One wrong experiment name: runs.count fails with its hint; every check that needs runs is
    skipped, names runs.count, and repeats no advice of its own."""
    path = make_variant_store("wrong_experiment_name", "sqlite")
    checks = _by_id(grade(path, lang=lang, probe=False))
    assert checks["runs.count"].status == "fail" and checks["runs.count"].hint
    skipped = [c for c in checks.values() if c.evidence.get("fix_first") == "runs.count"]
    assert {c.id for c in skipped} >= {"runs.fields", "runs.model", "registry.best_run", "exercise.manual",
                                       "exercise.autolog", "exercise.sweep"}
    for c in skipped:
        assert c.status == "skip" and c.hint == "" and c.message.endswith(needle), (c.id, c.message, c.hint)
    hinted = [c.id for c in checks.values() if c.hint]
    # model.predict and integrity.metrics say --no-probe and give no hint; the notebook warns (none handed in).
    assert hinted == ["runs.count", "notebook.final_cell"], hinted


def test_missing_model_skips_name_registry_production_and_alias_has_no_hint(make_variant_store):
    path = make_variant_store("no_registered_model", "file")
    checks = _by_id(grade(path, lang="en", probe=False))
    assert checks["registry.production"].status == "fail" and checks["registry.production"].hint
    for cid in ("registry.best_run", "registry.alias"):
        assert checks[cid].status == "skip", (cid, checks[cid].message)
        assert checks[cid].evidence["fix_first"] == "registry.production"
        assert checks[cid].hint == "" and "registry.production did not pass" in checks[cid].message


# --------------------------------------------------------------------------- message texts

#: What a message must never show: a placeholder dash, a "(s)" plural, Python's None, a doubled
#: full stop, an unfilled placeholder.
LEAKS = ("-.", ": -", "(s)", "..", "{", "}")
#: Python's None (English "None of the runs" is fine).
PY_NONE = re.compile(r"\bNone\b(?!\s+of\b)")

#: Params a check may give as "nothing" (an empty list, or "-"), by (check, message key): the
#: message must read well without them.
MAY_BE_EMPTY = {
    ("runs.count", "too_few"): {"not_counted"},
    ("runs.count", "missing_experiment"): {"found", "close"},
    ("registry.production", "no_stage"): {"aliases"},
    ("registry.production", "missing_model"): {"found"},
    ("registry.alias", "accepted"): {"aliases"},
    ("registry.alias", "alias_only"): {"aliases"},
    ("exercise.manual", "missing"): {"found"},
    ("exercise.autolog", "ok"): {"metrics"},
    ("exercise.sweep", "missing"): {"outside"},
    ("exercise.sweep", "no_params"): {"params"},
}
COUNTS = {"n", "n_bad", "min_runs", "done", "total", "n_missing", "rows", "n_rows", "n_auto", "cell", "version",
          "alias_version"}
LISTS = {"not_counted", "found", "close", "aliases", "outside", "params", "metrics", "runs", "kinds", "fields",
         "depths", "sizes", "missing", "notebooks", "versions"}


#: Plural words that must not follow a count of 1.
PLURAL_WORDS = ("runs", "fechas", "times", "changes", "cambios", "filas", "rows", "combinaciones", "combinations",
                "entregas", "submissions")


def _typical(names, empty: set[str], count: int) -> dict:
    params = {}
    for name in names:
        if name in COUNTS:
            params[name] = count
        elif name in empty:
            params[name] = [] if count == 1 else "-"  # the two spellings of "nothing" checks use
        elif name in LISTS:
            params[name] = [f"{name}-a", f"{name}-b"][:count]
        elif name == "error":
            params[name] = "UnpicklingError: invalid load key, 'O'."  # ends with a full stop
        else:
            params[name] = f"<{name}>"
    return params


def _message_keys():
    from grader.rubric import load_rubric

    rubric = load_rubric("homework-195")
    for spec in rubric.checks:
        for key, texts in spec.messages.items():
            yield spec.id, key, texts
    for key, texts in rubric.messages.items():
        yield "*", key, texts


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_message_of_the_shipped_rubric_reads_well(lang):
    """Each message key, with one thing (counts of 1, optional lists empty) and with several:
    singular and plural right, no placeholder dash, no "(s)", no None."""
    import string

    from grader.rubric import render

    bad = []
    for cid, key, texts in _message_keys():
        template = texts[lang]
        parsed = list(string.Formatter().parse(template.replace("[[", "").replace("]]", "")))
        nested = [f for _, _, spec, _ in parsed if spec for _, f, _, _ in string.Formatter().parse(spec)]
        names = {f for _, f, _, _ in parsed if f} | {f for f in nested if f}
        for count in (1, 3):
            text = render(template, _typical(names, MAY_BE_EMPTY.get((cid, key), set()), count))
            plain = text.replace("(...)", "")  # code quoted in a message
            wrong_number = count == 1 and any(f" 1 {word}" in text for word in PLURAL_WORDS)
            if any(leak in plain for leak in LEAKS) or PY_NONE.search(plain) or wrong_number or text != text.strip() or "  " in text:
                bad.append(f"{cid}.{key} [{count}]: {text}")
    assert not bad, "\n".join(bad)


def test_the_grammar_of_messages():
    from grader.rubric import render

    assert render("{n} {n:plural:run|runs}", {"n": 1}) == "1 run"
    assert render("{n} {n:plural:run|runs}", {"n": 0}) == "0 runs"
    assert render("{x:plural:one|many}", {"x": ["a"]}) == "one"
    assert render("A.[[ B: {b}.]] C: {c}.", {"b": [], "c": "x."}) == "A. C: x."
    assert render("A.[[ B: {b}.]]", {"b": ["1 deleted"]}) == "A. B: 1 deleted."
    assert render("{missing} {{literal}}", {}) == "{missing} {literal}"


# Broken copies of the reference, each leading some check to an unusual message.
READABLE_VARIANTS = ("too_few_runs", "alias_only", "no_registered_model", "wrong_experiment_name", "missing_metric",
                     "incomplete_sweep", "staging_only", "broken_model_file")


@pytest.mark.parametrize("variant", READABLE_VARIANTS)
def test_real_grades_read_well_in_both_languages(make_variant_store, variant):
    path = make_variant_store(variant, "sqlite")
    for lang in ("es", "en"):
        # The probe only where it has something to say (the unpickler's "invalid load key, 'O'.").
        result = grade(path, lang=lang, probe=variant == "broken_model_file")
        for check in result.checks:
            for text in (check.message, check.hint):
                # hints quote Python code: only placeholders and dashes are checked there
                leaks = LEAKS if text is check.message else ("-.", "(s)")
                plain = text.replace("(...)", "")
                assert not any(leak in plain for leak in leaks), f"{variant} {lang} {check.id}: {text}"
                assert text is not check.message or not PY_NONE.search(text), f"{variant} {lang} {check.id}: {text}"
        if variant == "alias_only":
            production = next(c for c in result.checks if c.id == "registry.production")
            assert "v1" in production.message and not PY_NONE.search(production.message)


# --------------------------------------------------------------------------- terminal

def _grade_on_a_tty(args, env) -> str:
    """Run ``grade`` with its stdout on a pseudo-terminal (as a user's shell) and return what it showed."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen([*GRADE, *args], stdout=follower, stderr=subprocess.DEVNULL, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=300) == 1
    return b"".join(chunks).decode("utf-8", "replace")


def test_terminal_colour_one_line_passes_and_failures_only(make_variant_store):
    path = str(make_variant_store("staging_only", "sqlite"))
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    shown = _grade_on_a_tty([path, "--no-probe", "--lang", "en"], env)
    assert "\x1b[32m[PASS]\x1b[0m runs.count" in shown and "\x1b[31m[FAIL]\x1b[0m registry.production" in shown
    lines = shown.replace("\r\n", "\n").splitlines()
    at = next(i for i, line in enumerate(lines) if "runs.count" in line)
    assert "[" in lines[at + 1] and "runs.fields" in lines[at + 1]  # a pass is one line: no message below it
    assert "no version is in Production" in shown  # a failure keeps its message

    assert "\x1b[" not in _grade_on_a_tty([path, "--no-probe"], {**env, "NO_COLOR": "1"})
    piped = subprocess.run([*GRADE, path, "--no-probe", "--lang", "en", "--failures-only"], capture_output=True,
                           text=True, env=env, timeout=300, check=False)
    assert piped.returncode == 1 and "\x1b[" not in piped.stdout
    assert "[PASS]" not in piped.stdout and "[FAIL] registry.production" in piped.stdout
    assert "passed checks, not shown because of --failures-only" in piped.stdout


# --------------------------------------------------------------------------- HTML reports

#: The reports a browser draws: the reference and four broken copies of it, each failing at
#: another step of the homework (the first check that fails, and what it makes skip).
PAGE_VARIANTS = ("reference", "wrong_experiment_name", "too_few_runs", "staging_only", "model_missing")


def _remove_models(root) -> None:
    """``model_missing``: the copy keeps its runs and registry, but no model file (what a student
    hands in without the artifacts of ``log_model``)."""
    from pathlib import Path

    for path in Path(root).rglob("*"):
        if path.is_file() and path.name in ("model.pkl", "model.skops", "model.joblib"):
            path.unlink()


@pytest.fixture(scope="module")
def graded_pages(reference_builds, tmp_path_factory):
    """The reference and four broken copies of it (:data:`PAGE_VARIANTS`), graded for real with
    the probe, as HTML in both languages: {(variant, lang): html}. Each copy is the session's
    SQLite reference, copied and edited with MLflow (fixtures/variants.py) or by removing files."""
    from helpers import load_fixtures_modules

    from grader.reports import render

    _, variants = load_fixtures_modules()

    base = tmp_path_factory.mktemp("pages")
    pages = {}
    for variant in PAGE_VARIANTS:
        path = base / variant
        variants.make_variant(reference_builds["sqlite"]["out_dir"], path,
                              "reference" if variant == "model_missing" else variant)
        if variant == "model_missing":
            _remove_models(path)
        for lang in ("es", "en"):
            pages[(variant, lang)] = render(grade(path, lang=lang, workdir=base), "html")
    return pages


def test_each_page_fails_where_its_variant_breaks(graded_pages):
    """The four broken copies fail where they were broken (so the screenshots show four different reports)."""
    first_failure = {}
    for variant in PAGE_VARIANTS:
        html = graded_pages[(variant, "en")]
        failing = re.findall(r'<tr class="check is-(?:fail|error)[^"]*" data-check="([^"]+)"', html)
        first_failure[variant] = failing[0] if failing else None
    assert first_failure == {"reference": None, "wrong_experiment_name": "runs.count", "too_few_runs": "runs.count",
                             "staging_only": "registry.production", "model_missing": "runs.model"}, first_failure


def _text_of(html: str) -> str:
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts, self.skip = [], 0

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("style", "title")

        def handle_endtag(self, tag):
            self.skip -= tag in ("style", "title")

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return "".join(parser.parts)


def test_report_evidence_is_tables_with_short_ids(graded_pages):
    for (variant, lang), html in graded_pages.items():
        # (a hint may quote code such as mlflow.log_params({"max_depth": d}): evidence and messages may not)
        text = _text_of(re.sub(r'<p class="hint">.*?</p>', " ", html, flags=re.DOTALL))
        assert '{"' not in text and "{'" not in text, (variant, lang)  # no raw JSON, no Python repr
        assert "<pre>" not in html
        assert re.search(r"(?<![\w-])[0-9a-f]{32}(?![\w-])", text) is None, (variant, lang)  # full run ids on hover
        if variant == "reference":
            assert '<table class="ev">' in html and 'class="mono run-id" title="' in html
            assert " ms<" in html or " s<" in html  # durations made readable


def test_human_sizes_and_breakable_paths():
    from grader.reports.html import breakable, human_size

    assert human_size(28612562) == "27.3 MiB" and human_size(512) == "512 B" and human_size(2048) == "2.0 KiB"
    assert str(breakable("/tmp/ana/mlruns")) == "/<wbr>tmp/<wbr>ana/<wbr>mlruns"
    assert str(breakable("artifacts/1/models/m-1")) == "artifacts/<wbr>1/<wbr>models/<wbr>m-1"
    assert str(breakable("</script>")) == "&lt;/script&gt;"  # not a path: escaped, untouched
    assert str(breakable("models:/housing-best/Production")) == "models:/housing-best/Production"


def _measure(page_html: str, tmp_path, name: str, width: int) -> dict:
    """Open ``page_html`` in headless Chromium at ``width`` px, every evidence box open, and measure
    the laid-out page: the report forbids scripts (CSP), so a copy without that one meta gets a
    script that writes the measures into the title, which --dump-dom prints."""
    import json as _json

    from test_reports import chromium

    probe = ("<script>document.title = JSON.stringify({sw: document.documentElement.scrollWidth, "
             "cw: document.documentElement.clientWidth, "
             "raw: [...document.querySelectorAll('.message, details')].some(e => e.innerText.includes('{\"')), "
             "checks: Math.max(...[...document.querySelectorAll('#checks .table-wrap')]"
             ".map(e => e.scrollWidth - e.clientWidth))})</script>")
    measured = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page_html).replace("</body>", probe + "</body>")
    measured = measured.replace("<details>", "<details open>")  # the evidence tables laid out too
    path = tmp_path / f"{name}-{width}.html"
    path.write_text(measured, encoding="utf-8")
    dom = chromium(f"--window-size={width},900", "--dump-dom", "--virtual-time-budget=2000", path.as_uri()).stdout
    title = re.search(r"<title>(.*?)</title>", dom, re.DOTALL).group(1)
    return _json.loads(title.replace("&quot;", '"'))


#: English words that a Spanish page never says (student-controlled names aside): the words of the
#: grader's English texts. And the Spanish ones an English page never says.
ENGLISH = re.compile(r"\b(the|and|not|was|were|found|how to fix|evidence|check|checks|passed|skipped|run of|"
                     r"because|first|missing|should|must|could|cannot|does|has no|is not|of the)\b", re.IGNORECASE)
SPANISH = re.compile(r"\b(el|los|las|del|cómo|arreglarlo|evidencia|criterio|criterios|aprobado|omitido|porque|"
                     r"falta|tiene|encontró|según|entrega)\b", re.IGNORECASE)


def _page_words(html: str) -> str:
    """What a reader reads on the page, without what the student named (run names, params, ids)
    and the code the messages quote (``<code>``: MLflow's own API is English)."""
    html = re.sub(r"<code>.*?</code>", " ", html, flags=re.DOTALL)
    html = re.sub(r'<(td|span) class="(name|mono[^"]*)"[^>]*>.*?</\1>', " ", html, flags=re.DOTALL)
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.DOTALL)  # the chart: run names
    html = re.sub(r'<table class="runs">.*?</table>', " ", html, flags=re.DOTALL)  # the runs: students' names
    return _text_of(html)


def test_every_page_is_in_its_language(graded_pages):
    """No English in a Spanish report, and no Spanish in an English one: labels, messages, hints,
    skips, notes and the labels of the evidence all come from the catalogue and the rubric (the
    evidence's values are data: package names, metric names, the sandbox's measures)."""
    from grader.reports.html import LABELS

    for (variant, lang), html in graded_pages.items():
        html = re.sub(r"<details>.*?</details>", lambda m: re.sub(r"<td>.*?</td>", " ", m.group(0), flags=re.DOTALL),
                      html, flags=re.DOTALL)  # the evidence's values (its labels are <th>)
        words = _page_words(html)
        other, found = ("en", ENGLISH) if lang == "es" else ("es", SPANISH)
        leaks = sorted({m.group(0).lower() for m in found.finditer(words)})
        assert not leaks, (variant, lang, leaks, [line for line in words.splitlines() if found.search(line)][:8])
        for name, label in LABELS[other].items():
            if label != LABELS[lang][name] and len(label) > 6 and "{" not in label:
                assert not re.search(rf"\b{re.escape(label)}\b", words), (variant, lang, name, label)
        assert f'<html lang="{lang}">' in html


@pytest.mark.skipif(not any(__import__("shutil").which(b) for b in ("chromium", "chromium-browser")),
                    reason="chromium is not installed (apt-get install chromium): headless browser tests skipped")
@pytest.mark.parametrize("variant", PAGE_VARIANTS)
def test_reports_in_a_browser_fit_the_page(graded_pages, tmp_path, variant):
    """The report of each variant, in each language, drawn by headless Chromium: a screenshot as
    a phone shows it (``GRADER_SCREENSHOT_DIR`` keeps them), and measures at 1280 and 500 px: no
    horizontal overflow, none inside the checks' table, no raw JSON."""
    from test_reports import screenshot

    for lang in ("es", "en"):
        html = graded_pages[(variant, lang)]
        page = tmp_path / f"report-{variant}-{lang}.html"
        page.write_text(html, encoding="utf-8")
        png = screenshot(page, tmp_path / f"report-{variant}-{lang}-mobile.png", 390, 2400)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
        for width in (1280, 500):  # 500 px: the narrowest window headless --dump-dom lays out (phone CSS: < 640)
            measures = _measure(html, tmp_path, f"{variant}-{lang}", width)
            assert measures["sw"] <= measures["cw"], (variant, lang, width, measures)  # no horizontal overflow
            assert measures["checks"] <= 1, (variant, lang, width, measures)  # nor inside the checks' table
            assert not measures["raw"], (variant, lang)


def test_class_summary_counts_warnings_and_marks_required_checks(tmp_path, reference_store_sqlite):
    """Two copies of the reference (no notebook: a warning each, worth its point): summary.html
    counts the warnings apart, marks each check required or extra, and writes sizes for people."""
    import shutil

    from grader.batch import grade_batch

    klass = tmp_path / "class"
    for name in ("ana", "beto"):
        shutil.copytree(reference_store_sqlite, klass / name)
    grade_batch(klass, tmp_path / "out", "homework-195", jobs=1, lang="es", probe=False)
    html = (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")
    row = re.search(r"<tr>\s*<td><code>notebook\.final_cell</code>(.*?)</tr>", html, re.DOTALL).group(1)
    cells = re.findall(r'<td class="num">([^<]*)', row)
    assert cells[2:] == ["2", "0", "0", "0"], cells  # points, pass rate, then warnings, fails, errors, skips
    assert "<th class=\"num\">avisos</th>" in html
    assert html.count('class="badge b-required">obligatorio') == 7 and html.count('class="badge b-extra">extra') == 6
    assert re.search(r"\d B,", html) is None and re.search(r"\d+\.\d (KiB|MiB)", html)  # the copies' same files


# --------------------------------------------------------------------------- README, LICENSE

def test_quick_start_clones_and_license_is_the_declared_one():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    quick = root.joinpath("README.md").read_text(encoding="utf-8").split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "git clone " in quick and "cd mlflow-grader" in quick and "grade --demo --out" in quick
    declared = re.search(r'^license = \{text = "([^"]+)"\}', root.joinpath("pyproject.toml").read_text(encoding="utf-8"),
                         re.MULTILINE).group(1)
    license_text = root.joinpath("LICENSE").read_text(encoding="utf-8")
    assert declared == "MIT" and license_text.startswith("MIT License") and "Permission is hereby granted" in license_text

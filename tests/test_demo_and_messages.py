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

GRADE = [sys.executable, "-c", "import sys; from grader.cli import main; sys.exit(main())"]


def test_demo_passes_every_check_and_leaves_nothing_behind(tmp_path):
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTTP", "HTTPS"))}
    env["TMPDIR"] = str(tmp)
    proc = subprocess.run([*GRADE, "--demo", "--out", str(out), "--lang", "en"], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Score: 21/21" in proc.stdout
    assert "[WARN]" not in proc.stdout and "How to fix" not in proc.stdout, proc.stdout
    # Progress while it builds, in the user's language (English here).
    assert "Building the reference submission" in proc.stderr
    assert "[13/13] training and logging run" in proc.stderr and "homework-195.ipynb" in proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["score"] == report["max_score"] == 21 and report["passed"] is True
    notebook = next(c for c in report["checks"] if c["id"] == "notebook.final_cell")
    assert notebook["status"] == "pass", notebook
    assert (out / "report.html").is_file()
    assert list(tmp.iterdir()) == [], "the demo left something in its temp dir"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tmp"]


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
    # model.predict and integrity.metrics (--no-probe) keep their hints; the notebook warns (none handed in).
    assert hinted == ["runs.count", "model.predict", "integrity.metrics", "notebook.final_cell"], hinted


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

"""Every check's default texts, declared beside its code (``grader/checks/*.py``: ``Texts``), and a
rubric that gives none of them (issue 14: "a rubric overrides only what it changes").

* Each check has a title, a hint and a text for each of its message keys, in Spanish and English,
  with the same placeholders in both; a title names only settings; ``@check`` refuses less.
* The Spanish texts have no English in them, and differ from the English ones.
* A rubric of only ids, points and settings, graded on the real reference store, reads complete
  texts in both languages that name its own experiment, model and metric; ``grade --explain``
  shows those defaults.
"""

from __future__ import annotations

import re

import pytest
import yaml
from test_catalogue import ENGLISH

from grader import grade
from grader.checks import REGISTRY
from grader.checks.base import COMMON_MESSAGES, COMMON_TEXTS, Texts, check, text_problems
from grader.cli import main
from grader.rubric import LANGS, load_rubric

#: A placeholder left unfilled: ``{experiment}``, ``{n}``... (a hint's f-string ``{run_id}`` is code).
UNFILLED = re.compile(r"\{(?!run_id\})\w+(:[^{}]*)?\}")


def _all_texts(defn):
    yield "title", defn.texts.title
    yield "hint", defn.texts.hint
    for key in defn.messages:
        yield f"messages.{key}", defn.texts.messages[key]


# --------------------------------------------------------------------------- declared beside the code


@pytest.mark.parametrize("check_id", sorted(REGISTRY))
def test_every_check_has_its_default_texts_in_both_languages(check_id):
    defn = REGISTRY[check_id]
    assert text_problems(check_id, defn.texts, defn.messages, defn.settings) == []
    assert set(defn.texts.messages) == set(defn.messages)


def test_the_common_messages_have_default_texts():
    for key in COMMON_MESSAGES:
        assert all(COMMON_TEXTS[key].get(lang) for lang in LANGS), key
    assert text_problems("common", Texts(title={"es": "t", "en": "t"}, hint={"es": "h", "en": "h"},
                                         messages=COMMON_TEXTS), COMMON_MESSAGES) == []


def _good():
    return {
        "title": {"es": "Al menos {min_runs} runs", "en": "At least {min_runs} runs"},
        "hint": {"es": "Corré más runs.", "en": "Run more runs."},
        "messages": {"ok": {"es": "Hay {n} runs.", "en": "{n} runs."}, "few": {"es": "Solo {n}.", "en": "Only {n}."}},
    }


def _without(parts, path):
    *head, last = path
    target = parts
    for name in head:
        target = target[name]
    del target[last]
    return parts


@pytest.mark.parametrize(("change", "says"), [
    (lambda p: _without(p, ["messages", "few"]), "no es/en text for messages.few"),
    (lambda p: _without(p, ["messages", "ok", "en"]), "no en text for messages.ok"),
    (lambda p: _without(p, ["hint", "es"]), "no es text for hint"),
    (lambda p: p["messages"]["ok"].update(en="{count} runs.") or p, "messages.ok names different placeholders"),
    (lambda p: p["messages"].update(typo={"es": "x", "en": "x"}) or p, "does not declare: typo"),
    (lambda p: p["title"].update(es="Runs de {n}", en="Runs of {n}") or p, "the title names what is not a setting: n"),
])
def test_a_check_without_complete_texts_is_refused(change, says):
    parts = change(_good())
    texts = Texts(title=parts["title"], hint=parts["hint"], messages=parts["messages"])

    def demo(ev, s):
        """A check for this test only. Fix: none."""

    with pytest.raises(ValueError, match=re.escape(says)):
        check("test.demo", settings={"min_runs": 3}, messages=("ok", "few"), texts=texts)(demo)
    assert "test.demo" not in REGISTRY


def test_a_check_with_complete_texts_is_accepted_and_its_placeholders_may_be_settings():
    texts = _good()
    assert text_problems("test.demo", Texts(**texts), ("ok", "few"), {"min_runs": 3}) == []
    # rubric-wide settings and the task's rows may be named by any title
    title = {"es": "{model_name} en {stage}: {rows} filas", "en": "{model_name} in {stage}: {rows} rows"}
    assert text_problems("test.demo", Texts(**{**texts, "title": title}), ("ok", "few"), {}) == []


def _spanish_words(text: str) -> str:
    """A Spanish text without code, quoted names and placeholders."""
    return re.sub(r"`[^`]*`|\"[^\"]*\"|'[^']*'|«[^»]*»|\{[^{}]*\}", " ", text)


@pytest.mark.parametrize("check_id", sorted(REGISTRY))
def test_spanish_defaults_are_spanish(check_id):
    for where, texts in _all_texts(REGISTRY[check_id]):
        assert texts["es"] != texts["en"], f"{check_id} {where}: the same text in both languages"
        found = ENGLISH.findall(_spanish_words(texts["es"]))
        assert not found, f"{check_id} {where}: English in the Spanish text: {found}"


# --------------------------------------------------------------------------- a rubric without texts


def _minimal_rubric(tmp_path, settings: dict, checks=None):
    """A rubric of ids, points and settings only: every registered check, or ``checks``."""
    data = {"id": "minimal", "settings": settings,
            "checks": checks or [{"id": cid, "points": 1} for cid in sorted(REGISTRY)]}
    path = tmp_path / "minimal.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _assert_complete(result, lang):
    for c in result.checks:
        for what, shown in (("title", c.title), ("message", c.message), ("hint", c.hint)):
            assert not UNFILLED.search(shown), f"{lang} {c.id} {what}: {shown}"
        assert c.title and c.title != c.id, f"{lang} {c.id}: no title"
        assert c.message and not c.message.startswith("["), f"{lang} {c.id}: no text for its key: {c.message}"
        assert c.status == "pass" or c.hint or c.evidence.get("fix_first") or c.max_points == 0 \
            or c.status == "skip", f"{lang} {c.id}: no hint"


@pytest.mark.parametrize("lang", LANGS)
def test_a_rubric_without_texts_reads_complete_on_the_reference(reference_store_sqlite, tmp_path, lang):
    rubric = _minimal_rubric(tmp_path, {"experiment": "homework-195", "model_name": "housing-best"})
    result = grade(reference_store_sqlite, rubric, lang=lang, workdir=tmp_path)
    # the reference passes (a warning: this build of it has no notebook), every text complete
    assert {c.status for c in result.checks} <= {"pass", "warn"}, [(c.id, c.message) for c in result.checks]
    _assert_complete(result, lang)
    titles = {c.id: c.title for c in result.checks}
    assert "homework-195" in titles["runs.count"] and "10" in titles["runs.count"]
    assert "housing-best" in titles["registry.production"] and "Production" in titles["registry.production"]
    assert "rmse_test" in titles["registry.best_run"]
    count = next(c for c in result.checks if c.id == "runs.count")
    assert "13" in count.message and "homework-195" in count.message


def test_a_rubric_that_changes_only_settings_names_them(reference_store_sqlite, tmp_path):
    """An instructor's copy that names another course: every text says its experiment, model and metric."""
    settings = {"experiment": "taxi-2026", "model_name": "taxi-best", "metric": "mae_test", "min_runs": 5}
    rubric = _minimal_rubric(tmp_path, settings, [
        {"id": "runs.count", "points": 2}, {"id": "registry.production", "points": 2},
        {"id": "registry.best_run", "points": 3}])
    by_lang = {lang: {c.id: c for c in grade(reference_store_sqlite, rubric, lang=lang, workdir=tmp_path).checks}
               for lang in LANGS}
    for lang, checks in by_lang.items():
        count, prod, best = checks["runs.count"], checks["registry.production"], checks["registry.best_run"]
        assert "taxi-2026" in count.title and "5" in count.title, count.title
        assert count.status == "fail" and "taxi-2026" in count.message and 'set_experiment("taxi-2026")' in count.hint
        assert prod.status == "fail" and "taxi-best" in prod.title and "taxi-best" in prod.message
        assert "taxi-best" in prod.hint and "housing-best" in prod.message  # the model that is there is listed
        assert "mae_test" in best.title and best.status == "skip"
        for check_result in checks.values():
            assert "homework-195" not in check_result.title + check_result.hint, check_result
    assert by_lang["es"]["runs.count"].title != by_lang["en"]["runs.count"].title


@pytest.mark.parametrize("lang", LANGS)
def test_explain_shows_the_default_texts(tmp_path, capsys, lang):
    rubric = _minimal_rubric(tmp_path, {"experiment": "taxi-2026", "metric": "mae_test"},
                             [{"id": "registry.best_run", "points": 3}])
    assert main(["--explain", "registry.best_run", "--rubric", str(rubric), "--lang", lang]) == 0
    out = " ".join(capsys.readouterr().out.split())
    title = load_rubric(rubric).checks[0].title[lang].replace("{stage}", "Production").replace("{metric}", "mae_test")
    assert out.startswith(f"registry.best_run: {title}"), out
    assert 'experiment_names=["taxi-2026"]' in out and 'order_by=["metrics.mae_test ASC"]' in out, out

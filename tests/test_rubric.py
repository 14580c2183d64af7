"""The rubric: every message a check can emit exists in Spanish and English; bad rubrics are refused."""

from __future__ import annotations

import pytest
import yaml

from grader.checks import COMMON_MESSAGES, REGISTRY
from grader.errors import RubricError
from grader.rubric import available_rubrics, load_rubric, parse_rubric, render


@pytest.mark.parametrize("rubric_id", available_rubrics())
def test_every_message_key_exists_in_both_languages(rubric_id):
    rubric = load_rubric(rubric_id)
    for key in COMMON_MESSAGES:
        assert set(rubric.messages[key]) >= {"es", "en"}, key
    for spec in rubric.checks:
        assert set(spec.title) >= {"es", "en"} and set(spec.hint) >= {"es", "en"}, spec.id
        for key in REGISTRY[spec.id].messages:
            assert key in spec.messages, f"{spec.id}: no text for message {key!r}"
            texts = spec.messages[key]
            assert texts.get("es") and texts.get("en"), f"{spec.id}.{key}"


def test_shipped_rubric_has_the_stable_ids_and_total():
    """The one test about class 195's rubric itself: its ids, their order and its total (every other
    test derives what it expects from the rubric it loads)."""
    rubric = load_rubric("homework-195")
    assert [c.id for c in rubric.checks] == [
        "runs.count", "runs.fields", "runs.model", "registry.production", "registry.best_run", "model.predict",
        "exercise.manual", "exercise.autolog", "exercise.sweep", "integrity.metrics", "integrity.timeline",
        "notebook.final_cell", "registry.alias"]
    assert sum(c.points for c in rubric.checks) == 21
    assert sum(c.points for c in rubric.checks if c.required) == 15
    assert rubric.settings["experiment"] == "homework-195"


def test_shipped_rubric_keeps_the_course_s_own_words_for_the_metrics():
    """Class 195's integrity.metrics texts are its own (the defaults say ``{compared}``): they name
    each metric with its difference, and the course's split."""
    from dataclasses import replace

    from test_check_cases import build_evidence

    from grader.checks import evaluate

    shipped = load_rubric("homework-195")
    rubric = replace(shipped, checks=tuple(c for c in shipped.checks if c.id == "integrity.metrics"))
    run = {"id": "a" * 32, "name": "best"}
    registered = {"housing-best": {"versions": [{"version": 1, "stage": "Production", "run_id": "a" * 32}]}}
    probe = {"ok": True, "details": {"test_metrics": {"rmse_test": 0.5, "r2_test": 0.8, "n_rows": 4128}}}
    for metrics, key, needles in (
        ({"rmse_test": 0.45, "r2_test": 0.8}, "mismatch", ["rmse_test logged 0.4500", "-0.0500", "-10.00%"]),
        ({"rmse_test": 0.52, "r2_test": 0.79}, "other_split", ["test_size=0.2, random_state=42", "+4.00%"]),
    ):
        ev = build_evidence({"runs": [{**run, "metrics": metrics}], "registered": registered, "probe": probe})
        (result,) = evaluate(ev, rubric, "en")
        assert result.evidence["key"] == key and all(n in result.message for n in needles), result.message


def _default_text(cid: str, part: str, key: str | None, lang: str) -> str:
    texts = REGISTRY[cid].texts
    return (texts.messages[key] if part == "messages" else getattr(texts, part))[lang]


@pytest.mark.parametrize("rubric_id", available_rubrics())
def test_shipped_rubrics_give_only_texts_that_differ_from_the_checks(rubric_id):
    """A shipped rubric repeats no default: what it says is what its course wants said otherwise."""
    from grader.checks import named_settings
    from grader.rubric import shipped_folder

    rubric = load_rubric(rubric_id)
    data = yaml.safe_load((shipped_folder() / f"{rubric_id}.yaml").read_text(encoding="utf-8"))
    assert not data.get("messages"), "the common messages have defaults (COMMON_TEXTS)"
    same = []
    for raw in data["checks"]:
        spec = next(c for c in rubric.checks if c.id == raw["id"])
        named = named_settings(rubric, spec)
        given = [("title", None, raw.get("title")), ("hint", None, raw.get("hint"))]
        given += [("messages", key, texts) for key, texts in (raw.get("messages") or {}).items()]
        for part, key, texts in given:
            for lang, text in (texts or {}).items():
                if render(text, named) == render(_default_text(raw["id"], part, key, lang), named):
                    same.append(f"{raw['id']} {part} {key or ''} {lang}")
    assert not same, same


def test_a_rubric_overrides_only_the_texts_it_gives():
    defaults = REGISTRY["runs.count"].texts
    rubric = parse_rubric({"id": "x", "messages": {"no_runs": {"en": "Nothing in {experiment}."}}, "checks": [
        {"id": "runs.count", "title": "Mis runs", "messages": {"too_few": {"es": "Pocos: {n}."}}},
        {"id": "runs.fields", "messages": {"no_runs": {"es": "Nada."}}},
        {"id": "runs.model"},
    ]})
    count, fields, model = rubric.checks
    assert count.title == {"es": "Mis runs", "en": "Mis runs"}  # one text: both languages
    assert count.hint == defaults.hint
    assert count.messages["too_few"] == {"es": "Pocos: {n}.", "en": defaults.messages["too_few"]["en"]}
    assert count.messages["ok"] == defaults.messages["ok"]
    # the top-level messages stand for every check that emits the key; a check's own text wins
    assert fields.messages["no_runs"] == {"es": "Nada.", "en": "Nothing in {experiment}."}
    assert model.messages["no_runs"]["en"] == "Nothing in {experiment}."
    assert model.messages["no_runs"]["es"] == REGISTRY["runs.model"].texts.messages["no_runs"]["es"]
    assert rubric.messages["section_error"]["en"].startswith("This part of the store could not be read")


def test_every_check_documents_how_to_fix():
    for defn in REGISTRY.values():
        assert "Fix:" in defn.doc, defn.id


@pytest.mark.parametrize(
    "data,needle",
    [
        ({"id": "x", "checks": [{"id": "runs.nope"}]}, "unknown check id"),
        ({"id": "x", "checks": [{"id": "runs.count", "settings": {"min_run": 3}}]}, "no setting"),
        ({"id": "x", "checks": [{"id": "runs.count"}, {"id": "runs.count"}]}, "twice"),
        ({"id": "x", "checks": [{"id": "runs.count", "points": "many"}]}, "points"),
        ({"id": "x"}, "list of 'checks'"),
        ({"id": "x", "checks": [{"id": "runs.count", "messages": {"too_fw": "x"}}]}, "did you mean 'too_few'"),
        ({"id": "x", "messages": {"section_eror": "x"}, "checks": [{"id": "runs.count"}]}, "'section_error'"),
    ],
)
def test_bad_rubrics_are_refused(data, needle):
    with pytest.raises(RubricError, match=needle):
        parse_rubric(data)


def test_rubric_from_file_overrides_points_and_settings(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"id": "mine", "settings": {"experiment": "hw"},
                                    "checks": [{"id": "runs.count", "points": 5, "settings": {"min_runs": 3}}]}))
    rubric = load_rubric(path)
    assert rubric.checks[0].points == 5 and rubric.checks[0].settings == {"min_runs": 3}


def test_render_keeps_unknown_placeholders_and_joins_lists():
    assert render("{a} y {b}", {"a": ["x", "y"]}) == "x, y y {b}"

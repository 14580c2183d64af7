"""Each check as a pure function, on small evidence written in YAML (``tests/checks/cases/<check id>.yaml``).

A case names the evidence in a compact form and the status and message key it must produce, in
the manner of sqlfluff's per-rule YAML test cases: the anti-pattern and the fix side by side.

The cases run with the checks' own test rubric (``tests/rubrics/checks.yaml``: every check, the
checks' default settings and texts), never with a course's shipped rubric, so that a course may
change its points, order, settings or texts without touching these tests.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from grader.checks import REGISTRY, evaluate
from grader.evidence.model import (CellEv, Evidence, ExperimentEv, ModelArtifactEv, NotebookEv, ProbeEv,
                                   RegisteredModelEv, RunEv, VersionEv)
from grader.rubric import load_rubric

CASES_DIR = Path(__file__).parent / "cases"
#: The checks' own test rubric (every registered check: see test_the_test_rubric_has_every_check).
RUBRIC = load_rubric(Path(__file__).parents[1] / "rubrics" / "checks.yaml")


def _runs(items, lifecycle="active"):
    runs = []
    for i, item in enumerate(items):
        item = dict(item or {})
        repeat = int(item.pop("repeat", 1))
        for j in range(repeat):
            n = len(runs)
            model = item.get("model", True)
            runs.append(RunEv(
                run_id=item.get("id", f"{n:032x}") if repeat == 1 else f"{n:032x}",
                run_name=item.get("name", f"run-{n}"),
                status=item.get("status", "FINISHED"),
                lifecycle_stage=lifecycle,
                start_time=item.get("start", 1_700_000_000_000 + n),
                end_time=item.get("end", 1_700_000_000_500 + n),
                params=item.get("params", {"model_type": "RandomForestRegressor"}),
                metrics=item.get("metrics", {"rmse_test": 0.5 + n / 100, "r2_test": 0.8}),
                tags=item.get("tags", {}),
                models=[ModelArtifactEv("logged-model", f"m{n}", "model.pkl", estimator_class=item.get("estimator"))]
                       if model is True else
                       [ModelArtifactEv("logged-model", f"m{n}", None, problem=model)] if model else [],
            ))
    return runs


def build_evidence(spec: dict) -> Evidence:
    experiment, model_name = RUBRIC.settings["experiment"], RUBRIC.settings["model_name"]
    ev = Evidence(experiment_name=experiment, model_name=model_name, store_kind="file", layout="3.x")
    names = spec.get("experiments", ["Default", experiment])
    ev.experiments = [ExperimentEv(str(i), n) for i, n in enumerate(names)]
    ev.experiment = next((e for e in ev.experiments if e.name == ev.experiment_name), None)
    ev.runs = _runs(spec.get("runs", []))
    ev.deleted_runs = _runs(spec.get("deleted_runs", []), lifecycle="deleted")
    for name, model in (spec.get("registered") or {}).items():
        versions = [VersionEv(name, int(v["version"]), v.get("stage", "None"), v.get("run_id"), "models:/m-x",
                              creation_timestamp=v.get("created"), last_updated_timestamp=v.get("updated"))
                    for v in model.get("versions", [])]
        ev.registered_models.append(RegisteredModelEv(name, versions, model.get("aliases", {})))
    if "probe" in spec:
        ev.probe = ProbeEv(**spec["probe"])
    for nb in spec.get("notebooks", []):
        cells = [CellEv(i, c.get("type", "code"), c.get("source", ""), c.get("count"), c.get("outputs", []),
                        c.get("text", "")) for i, c in enumerate(nb.get("cells", []), start=1)]
        ev.notebooks.append(NotebookEv(nb.get("path", "homework.ipynb"), cells, nb.get("error")))
    ev.deadline_ms = spec.get("deadline_ms")
    ev.graded_at_ms = spec.get("graded_at_ms", 1_800_000_000_000)
    ev.errors = spec.get("errors", {})
    return ev


def load_cases():
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            yield pytest.param(path.stem, case, id=f"{path.stem}: {case['name']}")


@pytest.mark.parametrize("check_id,case", list(load_cases()))
def test_case(check_id, case):
    assert check_id in REGISTRY
    spec = next(s for s in RUBRIC.checks if s.id == check_id)
    spec = replace(spec, settings={**spec.settings, **case.get("settings", {})})
    rubric = replace(RUBRIC, checks=(spec,))
    for lang in ("es", "en"):
        (result,) = evaluate(build_evidence(case["evidence"]), rubric, lang)
        assert (result.status, result.evidence["key"]) == (case["expect"]["status"], case["expect"]["key"]), result.message
        assert "{" not in result.message, f"unfilled placeholder: {result.message}"
        assert result.title and "{" not in result.title, f"unfilled placeholder: {result.title}"
        assert not result.message.startswith("["), f"no text for the key: {result.message}"
        for needle in case["expect"].get("message_contains", []):
            assert needle in result.message, result.message
        for needle in case["expect"].get("message_lacks", []):
            assert needle not in result.message and needle not in str(result.evidence), result.message
        assert result.points == (result.max_points if result.status in ("pass", "warn") else 0)


def test_every_check_has_cases_that_pass_and_fail():
    seen: dict[str, set] = {}
    for param in load_cases():
        check_id, case = param.values
        seen.setdefault(check_id, set()).add(case["expect"]["status"])
    for check_id in REGISTRY:
        assert {"pass", "fail"} <= seen.get(check_id, set()), f"{check_id} needs cases that pass and fail"


def test_the_test_rubric_has_every_check():
    assert sorted(spec.id for spec in RUBRIC.checks) == sorted(REGISTRY)

"""The result model: totals, exit codes, and a JSON report that is always valid JSON."""

from __future__ import annotations

import json
import math

import pytest

from grader.api import grade
from grader.errors import GraderError
from grader.reports import render
from grader.result import CheckResult, Result, RunRow, SubmissionInfo


def _result(metric: float) -> Result:
    return Result(
        grader_version="t", rubric_id="r", rubric_title="R", lang="en",
        submission=SubmissionInfo(input="x", store="file", mlflow_layout="3.x"),
        checks=[CheckResult("runs.fields", "T", "fail", 0, 2, "rmse_test=inf", evidence={"v": metric}),
                CheckResult("runs.count", "T", "warn", 2, 2, "ok")],
        runs=[RunRow("a" * 32, "r", "FINISHED", 1, {}, {"rmse_test": metric}, {}, True, True)],
    )


@pytest.mark.parametrize("metric", [math.inf, -math.inf, math.nan])
def test_non_finite_metrics_become_null_in_json(metric):
    data = json.loads(render(_result(metric), "json"))
    assert data["runs"][0]["metrics"]["rmse_test"] is None
    assert data["checks"][0]["evidence"]["v"] is None


def test_totals_and_exit_code():
    result = _result(1.0)
    assert (result.score, result.max_score) == (2, 4)
    assert not result.passed and result.exit_code == 1
    assert Result.from_dict(result.to_dict()).to_dict() == result.to_dict()


def test_unknown_language_is_refused_before_any_work(tmp_path):
    with pytest.raises(GraderError, match="unknown language"):
        grade(tmp_path, lang="fr")

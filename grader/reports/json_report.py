"""The JSON report: ``Result.to_dict()`` as text. Its schema is ``grader/schemas/report.schema.json``."""

from __future__ import annotations

import json

from ..result import Result
from .registry import report


@report("json", ".json", "JSON report (schema_version 1)")
def render_json(result: Result) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2, allow_nan=False, default=str) + "\n"

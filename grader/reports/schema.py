"""The JSON Schema of the JSON report, shipped as package data (``grader/schemas/*.schema.json``).

``jsonschema`` is only a test dependency (``pip install mlflow-grader[test]``): it is imported
when :func:`validate` is called, never at import time.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


@cache
def _schema_text(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"invalid schema name {name!r}")
    path = resources.files("grader") / "schemas" / f"{name}.schema.json"  # joinpath takes one name on 3.10
    if not path.is_file():
        raise FileNotFoundError(f"no schema named {name!r} in grader/schemas")
    return path.read_text(encoding="utf-8")


def load_schema(name: str = "report") -> dict[str, Any]:
    """The JSON Schema ``grader/schemas/<name>.schema.json`` as a dict (a fresh copy each call)."""
    return json.loads(_schema_text(name))


def validate(data: Any, name: str = "report") -> None:
    """Validate ``data`` (a parsed JSON report) against the schema ``name``.

    Raises ``jsonschema.ValidationError`` (the most relevant error) when it does not conform, and
    ``ImportError`` with an install hint when ``jsonschema`` is missing. Pass parsed JSON
    (``json.loads(render(result, "json"))``), not ``Result.to_dict()`` directly: tuples and other
    Python-only values are not JSON arrays.
    """
    try:
        import jsonschema
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("validating reports needs jsonschema: pip install 'mlflow-grader[test]'") from exc

    schema = load_schema(name)
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise error


__all__ = ["load_schema", "validate"]

"""YAML in and out, with libyaml's C parser when PyYAML has it (about 5x faster on meta.yaml files).

Only safe loading: a student's YAML never builds Python objects.
"""

from __future__ import annotations

from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
YAMLError = yaml.YAMLError


def load(text: str) -> Any:
    """``yaml.safe_load(text)``, faster."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader


def dump(data: Any) -> str:
    """Block-style YAML with keys in their order, as MLflow writes its ``meta.yaml`` files."""
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True)

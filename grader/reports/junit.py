"""JUnit XML for CI systems (GitLab, Jenkins, GitHub test reporters): one testcase per check.

Only the subset of JUnit that CI systems agree on: ``testsuites`` > ``testsuite`` (with suite
``properties``: score, max_score, ...) > ``testcase`` holding ``failure`` (status ``fail``),
``error`` (``error``) or ``skipped`` (``skip``), plus ``system-out`` with the message. ``pass`` and
``warn`` are passing testcases. Each testcase also carries its ``points``/``max_points`` as
properties. A report never sets a job's status: ``grade``'s exit code does.

This is the instructor's full view unless the result given is already the student view
(``grade --student``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from ..result import Result
from . import safe
from .registry import report


def _g(value: float) -> str:
    return f"{value:g}"


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.3f}"


def _clean(text: str) -> str:
    """Text XML 1.0 can hold whatever a store put in it (see :func:`.safe.xml`): controls, U+FFFF
    and lone surrogates become U+FFFD, and terminal escape sequences are dropped (CI systems show
    this text in a terminal-like log)."""
    return safe.xml(safe.terminal(text))


@report("junit", ".xml", "JUnit XML (one testcase per check)")
def render_junit(result: Result) -> str:
    checks = result.checks
    counts = {
        "tests": str(len(checks)),
        "failures": str(sum(c.status == "fail" for c in checks)),
        "errors": str(sum(c.status == "error" for c in checks)),
        "skipped": str(sum(c.status == "skip" for c in checks)),
        "time": _seconds(result.duration_ms),
    }
    root = ET.Element("testsuites", {"name": "mlflow-grader", **counts})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": _clean(result.rubric_id),
            **counts,
            "timestamp": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        },
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("score", _g(result.score)),
        ("max_score", _g(result.max_score)),
        ("passed", str(result.passed).lower()),
        ("rubric", result.rubric_id),
        ("grader_version", result.grader_version),
        ("submission", result.submission.input),
        ("store", result.submission.store),
        ("mlflow_layout", result.submission.mlflow_layout),
    ):
        ET.SubElement(props, "property", {"name": name, "value": _clean(value)})
    for check in checks:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "name": _clean(check.title),
                "classname": _clean(f"{result.rubric_id}.{check.id}"),
                "time": _seconds(check.duration_ms),
            },
        )
        case_props = ET.SubElement(case, "properties")
        for name, value in (
            ("status", check.status),
            ("points", _g(check.points)),
            ("max_points", _g(check.max_points)),
        ):
            ET.SubElement(case_props, "property", {"name": name, "value": _clean(value)})
        message = _clean(check.message)
        detail = message + (f"\n\n{_clean(check.hint)}" if check.hint and check.status != "pass" else "")
        if check.status == "fail":
            ET.SubElement(case, "failure", {"message": message, "type": "fail"}).text = detail
        elif check.status == "error":
            ET.SubElement(case, "error", {"message": message, "type": "error"}).text = detail
        elif check.status == "skip":
            ET.SubElement(case, "skipped", {"message": message})
        ET.SubElement(case, "system-out").text = _clean(
            f"{check.status.upper()} {_g(check.points)}/{_g(check.max_points)}: {message}"
        )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

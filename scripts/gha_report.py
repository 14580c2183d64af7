#!/usr/bin/env python3
"""The GitHub Actions side of ``action.yml``: annotations for the checks that did not pass, and the
step's verdict (``fail-on``). Standard library only; reads the grader's JSON report.

    python scripts/gha_report.py annotate REPORT_JSON        # ::error / ::warning lines on stdout
    python scripts/gha_report.py verdict REPORT_JSON --fail-on required|any|never   # exit 1 to fail

Annotations (GitHub's workflow commands, ``::error title=T::message``): one per check that did not
pass: ``fail`` and ``error`` are errors, ``skip`` (not evaluated because something earlier is
missing) and ``warn`` are warnings. GitHub shows at most 10 of each kind per step, so past nine the
tenth says how many more there are (the job summary has them all). Messages are escaped as the
Actions toolkit escapes them (``%``, CR, LF in the message; also ``:`` and ``,`` in a property), so
a student's text can never end the command nor start a line of its own.

Verdict: ``required`` fails when the report's ``passed`` is false (it follows the rubric's required
checks), ``any`` when any check did not pass (``warn`` passes), ``never`` never; a missing report
(nothing could be graded) fails unless ``never``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

MAX_PER_KIND = 10
KIND = {"fail": "error", "error": "error", "skip": "warning", "warn": "warning"}
PASSING = ("pass", "warn")


def escape_data(text: str) -> str:
    """A workflow command's message, escaped (``%`` first)."""
    return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (``title=...``), escaped."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, title: str = "") -> str:
    props = f" title={escape_property(title)}" if title else ""
    return f"::{kind}{props}::{escape_data(message)}"


def annotation_lines(report: dict[str, Any], limit: int = MAX_PER_KIND) -> list[str]:
    """The annotation lines for ``report`` (the grader's JSON report), at most ``limit`` per kind."""
    by_kind: dict[str, list[str]] = {"error": [], "warning": []}
    for check in report.get("checks", []):
        kind = KIND.get(str(check.get("status")))
        if kind is None:
            continue
        points = f"{float(check.get('points', 0)):g}/{float(check.get('max_points', 0)):g}"
        message = str(check.get("message", ""))
        if check.get("hint"):
            message += f"\n{check['hint']}"
        title = f"{check.get('title') or check.get('id')} ({check.get('status')}, {points})"
        by_kind[kind].append(command(kind, message, title))
    lines = []
    for kind, items in by_kind.items():
        if len(items) > limit:
            rest = len(items) - (limit - 1)
            items = items[: limit - 1] + [command(kind, f"{rest} more check(s) like these: see the job summary.",
                                                  f"mlflow-grader: {rest} more")]
        lines += items
    return lines


def should_fail(report: dict[str, Any] | None, fail_on: str) -> tuple[bool, str]:
    """Whether the step fails under ``fail_on``, and why (one line)."""
    if fail_on == "never":
        return False, "fail-on: never"
    if report is None:
        return True, "the submission could not be graded (no report)"
    checks = report.get("checks", [])
    missed = [str(c.get("id")) for c in checks if c.get("status") not in PASSING]
    score = f"{float(report.get('score', 0)):g}/{float(report.get('max_score', 0)):g}"
    if fail_on == "any":
        return (bool(missed), f"{score}; not passed: {', '.join(missed)}" if missed else f"{score}; every check passed")
    passed = bool(report.get("passed"))
    return (not passed, f"{score}; {'passed' if passed else 'not passed'} (required checks)")


def _load(path: str) -> dict[str, Any] | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gha_report.py")
    sub = parser.add_subparsers(dest="what", required=True)
    annotate = sub.add_parser("annotate")
    annotate.add_argument("report")
    verdict = sub.add_parser("verdict")
    verdict.add_argument("report")
    verdict.add_argument("--fail-on", choices=("required", "any", "never"), default="required")
    args = parser.parse_args(argv)
    report = _load(args.report)
    if args.what == "annotate":
        if report is None:
            print(command("error", "mlflow-grader produced no report: see the grading step's log.", "mlflow-grader"))
        else:
            for line in annotation_lines(report):
                print(line)
        return 0
    fail, why = should_fail(report, args.fail_on)
    print(f"mlflow-grader: {why} -> {'failing the step' if fail else 'ok'} (fail-on: {args.fail_on})")
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())

"""The grader's own code stays lint-clean, formatted and type-checked: ``ruff check grader``,
``ruff format --check grader`` and ``mypy grader``
with the configuration in ``pyproject.toml`` (``[tool.ruff]``, ``[tool.mypy]``).

CI runs README's test command (``pytest``), so these tests are how the linter, the formatter and the type
checker run in CI. Both tools come with the ``test`` extra (``pip install -e '.[test]'``); without
them the tests skip with a reason. Each test prints the tool's findings when it fails: fix them, or,
where a finding is wrong for this code, silence that one line with its code and a reason
(``# noqa: BLE001 - why`` / ``# type: ignore[attr-defined]  # why``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(module: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_ruff_check_is_clean():
    done = _run("ruff", "check", "--no-cache", "--output-format", "concise", "grader", timeout=120)
    if done.returncode:
        pytest.fail(f"ruff check grader found problems:\n{done.stdout}{done.stderr}", pytrace=False)


def test_ruff_format_is_applied():
    done = _run("ruff", "format", "--check", "--no-cache", "grader", timeout=120)
    if done.returncode:
        pytest.fail(f"ruff format --check grader: run `ruff format grader`:\n{done.stdout}{done.stderr}", pytrace=False)


def test_mypy_is_clean():
    # mypy's incremental cache (.mypy_cache, git-ignored) keeps a second run to a few seconds.
    done = _run("mypy", "grader", timeout=600)
    if done.returncode:
        pytest.fail(f"mypy grader found problems:\n{done.stdout}{done.stderr}", pytrace=False)

#!/usr/bin/env python3
"""Classroom 50 autograder for MLflow homework 195, with mlflow-grader.

Put this file at ``<classroom>/autograders/<slug>/autograder.py`` in the organisation's
``classroom50`` config repository (a ``rubric.yaml`` beside it replaces the shipped rubric; see
docs/integrations.md). Classroom 50's runner runs it as ``python autograder.py`` in the student's
checkout, with the other files of that folder under ``$CLASSROOM50_BUNDLE_DIR``, and then reads
``./result.json`` (schema ``classroom50/result/v1``) and ``./release-body.md``.

What it does:

1. installs the grader pinned by :data:`GRADER_REF` with pip (skipped when that version is already
   installed; a ``mlflow_grader-*.whl`` in the bundle is installed instead of the repository's tag);
2. grades the checkout with ``grade --format classroom50 --student`` from a private temporary
   folder (so nothing in the checkout can shadow the grader's modules), with the bundle's rubric;
3. writes ``./result.json`` and ``./release-body.md`` (the Markdown report), and ``status=`` /
   ``summary=`` in ``$GITHUB_OUTPUT`` (the commit status follows the grader's pass/fail);
4. exits 0 once graded, whatever the grade: a submission with no MLflow store is a graded 0 with
   the reason in the release body. It exits non-zero only for an infrastructure fault (pip cannot
   install the grader, the rubric is broken, grading crashed or ran out of time): then the runner
   records an error and publishes no Release.

Everything printed to the job log goes through :func:`sanitize`: a line a student wrote (a run
name, an experiment name, a message quoting them) can never start with ``::`` (or ``##[``), which
GitHub Actions would read as a workflow command.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The one pin: a tag (or commit) of mlflow-grader's repository. Its version is checked before
#: installing, so a runner image or cache that already holds it skips pip.
GRADER_REF = "v0.1.0"
GRADER_REPOSITORY = "https://github.com/OWNER/mlflow-grader"
RUBRIC = "homework-195"  # used when the bundle has no rubric.yaml
LANG = "es"  # language of the feedback: es | en
PROBE_TIMEOUT = 120  # seconds the Production model may take to load and predict
GRADE_TIMEOUT = 11 * 60  # the whole grade; Classroom 50's grade job has 15 minutes
PIP_TIMEOUT = 8 * 60
REPORT_COPY = "mlflow-grader-report.html"  # list it in the assignment's release_assets to attach it

RESULT, BODY = "result.json", "release-body.md"
EXIT_INFRASTRUCTURE = 1


def sanitize(text: str) -> str:
    """``text`` safe for the job log: a line whose first non-blank characters are ``::`` or ``##[``
    (a workflow command) gets a visible ``» `` in front, so GitHub prints it instead of running it."""
    lines = []
    for line in str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(("::", "##[")):
            line = line[: len(line) - len(stripped)] + "» " + stripped
        lines.append(line)
    return "\n".join(lines)


def log(text: str) -> None:
    print(sanitize(text), flush=True)


def wanted_version() -> str:
    return GRADER_REF[1:] if GRADER_REF[:1] == "v" and GRADER_REF[1:2].isdigit() else GRADER_REF


def installed_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("mlflow-grader")
    except metadata.PackageNotFoundError:
        return None


def bundle_dir() -> Path:
    value = os.environ.get("CLASSROOM50_BUNDLE_DIR", "").strip()
    return Path(value) if value else Path(__file__).resolve().parent


def pip_spec(bundle: Path) -> str:
    """What pip installs: ``$MLFLOW_GRADER_PIP`` (set by the workflow, never by a student), else a
    wheel shipped in the bundle, else the pinned tag of the repository."""
    override = os.environ.get("MLFLOW_GRADER_PIP", "").strip()
    if override:
        return override
    wheels = sorted(bundle.glob("mlflow_grader-*.whl"))
    if wheels:
        return str(wheels[-1])
    return f"mlflow-grader @ git+{GRADER_REPOSITORY}@{GRADER_REF}"


def ensure_grader(bundle: Path) -> bool:
    """Install the pinned grader unless it is there; False when pip could not."""
    have = installed_version()
    if have == wanted_version() and not os.environ.get("MLFLOW_GRADER_PIP"):
        log(f"mlflow-grader {have} already installed")
        return True
    spec = pip_spec(bundle)
    base = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec]
    started = time.monotonic()
    for command in (base, base[:4] + ["--user"] + base[4:]):
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            log(f"pip install took more than {PIP_TIMEOUT} s")
            return False
        if proc.returncode == 0:
            log(f"installed mlflow-grader ({spec}) in {time.monotonic() - started:.0f} s")
            return True
        failure = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
    log("pip could not install mlflow-grader:\n" + "\n".join(failure))
    return False


def rubric_for(bundle: Path) -> str:
    for name in ("rubric.yaml", "rubric.yml"):
        if (bundle / name).is_file():
            return str(bundle / name)
    return RUBRIC


def write_outputs(status: str, summary: str) -> None:
    target = os.environ.get("GITHUB_OUTPUT", "").strip()
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(f"status={status}\nsummary={' '.join(summary.split())}\n")


def grade(checkout: Path, bundle: Path) -> int:
    work = Path(tempfile.mkdtemp(prefix="mlflow-grader-c50-"))
    out = work / "out"
    command = [sys.executable, "-m", "grader.cli", str(checkout), "--rubric", rubric_for(bundle), "--lang", LANG,
               "--timeout", str(PROBE_TIMEOUT), "--format", "classroom50", "--student", "--out", str(out)]
    try:
        try:
            proc = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=GRADE_TIMEOUT,
                                  check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            log(f"grading took more than {GRADE_TIMEOUT} s: stopped")
            return EXIT_INFRASTRUCTURE
        if proc.stdout.strip():
            log(proc.stdout.rstrip())
        if proc.stderr.strip():
            log(proc.stderr.rstrip()[-4000:])
        if proc.returncode not in (0, 1, 2) or not (out / RESULT).is_file():
            log(f"mlflow-grader produced no result (exit code {proc.returncode})")
            return EXIT_INFRASTRUCTURE
        shutil.copyfile(out / RESULT, checkout / RESULT)
        shutil.copyfile(out / BODY, checkout / BODY)
        if (out / "report.html").is_file():
            shutil.copyfile(out / "report.html", checkout / REPORT_COPY)
        payload = json.loads((checkout / RESULT).read_text(encoding="utf-8"))
        passed = False
        if (out / "report.json").is_file():
            passed = bool(json.loads((out / "report.json").read_text(encoding="utf-8")).get("passed"))
        graded = "graded" if proc.returncode in (0, 1) else "could not be graded"
        summary = f"mlflow-grader: {payload['score']}/{payload['max-score']} ({graded}; {'passed' if passed else 'not passed'})"
        write_outputs("success" if passed else "failure", summary)
        log(summary)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    checkout = Path.cwd().resolve()
    for name in (RESULT, BODY, REPORT_COPY):  # never let a committed result.json stand in for ours
        try:
            (checkout / name).unlink()
        except FileNotFoundError:
            pass
    bundle = bundle_dir()
    started = time.monotonic()
    if not ensure_grader(bundle):
        return EXIT_INFRASTRUCTURE
    code = grade(checkout, bundle)
    log(f"autograder finished in {time.monotonic() - started:.0f} s (exit {code})")
    return code


if __name__ == "__main__":
    sys.exit(main())

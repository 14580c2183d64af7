"""``grade``: the command line, a thin layer over :func:`grader.api.grade`.

Exit codes: 0 every check passed; 1 graded, some check did not pass; 2 the submission could not
be graded at all, or a usage error (one line on stderr, never a traceback).

Outputs: ``--format`` says what goes to stdout (default ``text``, the terminal summary); when stdout
carries another format, the terminal summary goes to stderr (``-q`` drops it). ``--json``,
``--html``, ``--junit``, ``--markdown`` and ``--out`` write files besides. ``--format gradescope
--json FILE`` writes Gradescope's results.json to FILE (and the summary to stdout) instead of the
grader's JSON report. ``--student`` renders every output from the student view (hidden checks keep
their points, lose their content); ``classroom``, ``markdown`` and ``gradescope`` always do.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from . import __version__
from .errors import GraderError

EXIT_USAGE = 2
OUTPUT_FORMATS = ("text", "json", "html", "markdown", "classroom", "gradescope", "junit")


def _write(text: str, target: str) -> None:
    if target == "-":
        click.echo(text, nl=False)
    else:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _explain(check_id: str) -> str:
    from .checks import REGISTRY

    if check_id not in REGISTRY:
        raise click.UsageError(f"unknown check id {check_id!r} (known: {', '.join(sorted(REGISTRY))})")
    defn = REGISTRY[check_id]
    settings = ", ".join(f"{k}={v!r}" for k, v in defn.settings.items()) or "-"
    return f"{check_id}\n\n{defn.doc}\n\nSettings (rubric YAML): {settings}\n"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("submission", required=False)
@click.option("--rubric", "rubric", default="homework-195", show_default=True, help="Rubric id or YAML file.")
@click.option("--lang", type=click.Choice(["es", "en"]), default="es", show_default=True, help="Language of messages.")
@click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="text", show_default=True,
              help="What goes to stdout.")
@click.option("--json", "json_out", metavar="FILE",
              help="Write the JSON report to FILE ('-' for stdout); with --format gradescope, Gradescope's results.json.")
@click.option("--html", "html_out", metavar="FILE", help="Write the HTML report to FILE.")
@click.option("--junit", "junit_out", metavar="FILE", help="Write JUnit XML (one testcase per check) to FILE.")
@click.option("--markdown", "markdown_out", metavar="FILE", help="Write the Markdown summary (student view) to FILE.")
@click.option("--out", "out_dir", metavar="DIR", help="Write report.json and report.html into DIR.")
@click.option("--student", is_flag=True, help="Student view in every output: hidden checks show their points, not their content.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds the model probe may take.")
@click.option("--trust-pickles", is_flag=True, help="Load pickled models even if the static scan refuses them (still sandboxed).")
@click.option("--no-probe", is_flag=True, help="Do not load the model (model.predict is skipped).")
@click.option("--demo", is_flag=True, help="Build the reference submission in a temp folder and grade it.")
@click.option("--explain", "explain", metavar="CHECK_ID", help="Print what a check verifies and how to pass it.")
@click.option("-q", "--quiet", is_flag=True, help="No terminal summary.")
@click.version_option(__version__, prog_name="mlflow-grader")
def grade_command(submission, rubric, lang, fmt, json_out, html_out, junit_out, markdown_out, out_dir, student, timeout,
                  trust_pickles, no_probe, demo, explain, quiet):
    """Grade an MLflow homework SUBMISSION: a folder holding mlruns/ and/or mlflow.db, an mlruns/
    folder, an mlflow.db file, or a file:/sqlite: URI."""
    if explain:
        click.echo(_explain(explain), nl=False)
        return 0
    if demo == bool(submission):
        raise click.UsageError("give a SUBMISSION to grade, or --demo")
    if json_out == "-":  # the historical spelling of --format json
        if fmt not in ("text", "json"):
            raise click.UsageError("--json - prints the JSON report on stdout: it cannot go with --format " + fmt)
        fmt, json_out = "json", None
    # --format gradescope --json FILE: Gradescope's results.json goes to FILE, the summary to stdout.
    gradescope_file = json_out if fmt == "gradescope" and json_out else None
    if gradescope_file:
        fmt, json_out = "text", None

    from .api import grade
    from .probe import ProbeOptions
    from .reports import render

    if demo:
        submission, out_dir = _build_demo(out_dir, quiet or fmt != "text")
    try:
        result = grade(submission, rubric, lang=lang, probe=not no_probe,
                       probe_options=ProbeOptions(timeout=timeout, trust_pickles=trust_pickles))
    except GraderError as exc:
        _report_ungradable(exc, rubric, lang, "gradescope" if gradescope_file else fmt, gradescope_file)
        raise
    view = result.for_students() if student else result

    if out_dir:
        _write(render(view, "json"), str(Path(out_dir) / "report.json"))
        _write(render(view, "html"), str(Path(out_dir) / "report.html"))
    for target, name in ((json_out, "json"), (html_out, "html"), (junit_out, "junit"), (markdown_out, "markdown"),
                         (gradescope_file, "gradescope")):
        if target:
            _write(render(view, name), target)
    summary_to_stderr = fmt != "text"
    if fmt != "text":
        click.echo(render(view, fmt), nl=False)
    if not quiet:
        click.echo(render(view, "text"), nl=False, err=summary_to_stderr)
        if out_dir:
            click.echo(f"-> {Path(out_dir) / 'report.html'}", err=summary_to_stderr)
    return result.exit_code


def _report_ungradable(exc: GraderError, rubric: str, lang: str, fmt: str, target: str | None) -> None:
    """A gradebook format still gets a result (0 points) when the submission cannot be graded."""
    if fmt not in ("classroom", "gradescope"):
        return
    from .errors import SubmissionError
    from .reports import classroom, gradescope
    from .rubric import load_rubric

    if not isinstance(exc, SubmissionError):
        return  # a rubric or usage problem is the instructor's: no grade at all
    if fmt == "classroom":
        max_score = sum(spec.points for spec in load_rubric(rubric).checks)
        click.echo(classroom.encode(classroom.error_payload(str(exc), max_score)))
    else:
        _write(gradescope.dumps(gradescope.error_payload(str(exc), lang)), target or "-")


def _build_demo(out_dir: str | None, quiet: bool) -> tuple[str, str]:
    from .fixtures.reference_solution import build

    work = Path(tempfile.mkdtemp(prefix="mlflow-grader-demo-"))
    if not quiet:
        click.echo(f"Building the reference submission in {work / 'submission'} ...", err=True)
    build(work / "submission", "sqlite", train_rows=2000)
    return str(work / "submission"), out_dir or str(work / "report")


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the command and turns every failure into an exit code and one line."""
    try:
        code = grade_command.main(args=argv, prog_name="grade", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.Abort:
        click.echo("grade: aborted", err=True)
        code = EXIT_USAGE
    except click.ClickException as exc:
        click.echo(f"grade: error: {exc.format_message()}", err=True)
        code = EXIT_USAGE
    except GraderError as exc:
        click.echo(f"grade: error: {exc}", err=True)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        click.echo("grade: interrupted", err=True)
        code = 130
    except Exception as exc:  # never a traceback for a user
        line = str(exc).strip().splitlines()
        click.echo(f"grade: internal error: {type(exc).__name__}: {line[0] if line else ''}", err=True)
        code = EXIT_USAGE
    return 0 if code is None else code


if __name__ == "__main__":
    sys.exit(main())

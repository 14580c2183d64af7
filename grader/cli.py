"""``grade``: the command line, a thin layer over :func:`grader.api.grade`.

Exit codes: 0 every check passed; 1 graded, some check did not pass; 2 the submission could not
be graded at all, or a usage error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from . import __version__
from .errors import GraderError

EXIT_USAGE = 2


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
@click.option("--json", "json_out", metavar="FILE", help="Write the JSON report to FILE ('-' for stdout).")
@click.option("--html", "html_out", metavar="FILE", help="Write the HTML report to FILE.")
@click.option("--out", "out_dir", metavar="DIR", help="Write report.json and report.html into DIR.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds the model probe may take.")
@click.option("--trust-pickles", is_flag=True, help="Load pickled models even if the static scan refuses them (still sandboxed).")
@click.option("--no-probe", is_flag=True, help="Do not load the model (model.predict is skipped).")
@click.option("--demo", is_flag=True, help="Build the reference submission in a temp folder and grade it.")
@click.option("--explain", "explain", metavar="CHECK_ID", help="Print what a check verifies and how to pass it.")
@click.option("-q", "--quiet", is_flag=True, help="No terminal summary.")
@click.version_option(__version__, prog_name="mlflow-grader")
def grade_command(submission, rubric, lang, json_out, html_out, out_dir, timeout, trust_pickles, no_probe, demo,
                  explain, quiet):
    """Grade an MLflow homework SUBMISSION: a folder holding mlruns/ and/or mlflow.db, an mlruns/
    folder, an mlflow.db file, or a file:/sqlite: URI."""
    if explain:
        click.echo(_explain(explain), nl=False)
        return 0
    if demo == bool(submission):
        raise click.UsageError("give a SUBMISSION to grade, or --demo")

    from .api import grade
    from .probe import ProbeOptions
    from .reports import render

    if demo:
        submission, out_dir = _build_demo(out_dir, quiet or json_out == "-")
    result = grade(submission, rubric, lang=lang, probe=not no_probe,
                   probe_options=ProbeOptions(timeout=timeout, trust_pickles=trust_pickles))

    summary_stream_is_stdout = json_out != "-"
    if out_dir:
        _write(render(result, "json"), str(Path(out_dir) / "report.json"))
        _write(render(result, "html"), str(Path(out_dir) / "report.html"))
    if json_out:
        _write(render(result, "json"), json_out)
    if html_out:
        _write(render(result, "html"), html_out)
    if not quiet:
        click.echo(render(result, "text"), nl=False, err=not summary_stream_is_stdout)
        if out_dir:
            click.echo(f"-> {Path(out_dir) / 'report.html'}", err=not summary_stream_is_stdout)
    return result.exit_code


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

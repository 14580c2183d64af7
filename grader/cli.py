"""``grade``: the command line, a thin layer over :func:`grader.api.grade`.

Exit codes: 0 every check passed; 1 graded, some check did not pass; 2 the submission could not
be graded at all, or a usage error (one line on stderr, never a traceback).

Outputs: ``--format`` says what goes to stdout (default ``text``, the terminal summary); when stdout
carries another format, the terminal summary goes to stderr (``-q`` drops it). ``--json``,
``--html``, ``--junit``, ``--markdown`` and ``--out`` write files besides. ``--format gradescope
--json FILE`` writes Gradescope's results.json to FILE (and the summary to stdout) instead of the
grader's JSON report. ``--student`` renders every output from the student view (hidden checks keep
their points, lose their content); ``classroom50``, ``classroom``, ``markdown`` and ``gradescope`` always do.
``--format classroom50`` writes Classroom 50's ``result.json`` and ``release-body.md`` into ``--out``
(default: the current folder) and keeps the summary on stdout.
"""

from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import GraderError, localized
from .probe.runner import ProbeOptions
from .rubric import DEFAULT_RUBRIC, LANGS

EXIT_USAGE = 2


class _Formats(click.Choice):
    """``--format``'s choices: the report registry's formats (:data:`grader.reports.FORMATS`),
    read when click first needs them (``--help``, a value to check), not when the CLI is imported."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        return _format_names()

    @choices.setter
    def choices(self, value) -> None:  # click.Choice.__init__ sets it: the registry is the source
        pass


def __getattr__(name: str):
    """``OUTPUT_FORMATS``: what ``--format`` accepts (the report registry's names)."""
    if name == "OUTPUT_FORMATS":
        return _format_names()
    raise AttributeError(name)


def _format_names() -> tuple[str, ...]:
    """The registry's formats, the default (``text``, the terminal summary) first, then by name."""
    from .reports import FORMATS

    return tuple(sorted(FORMATS, key=lambda name: (name != "text", name)))


def _say(text: str, err: bool = True) -> None:
    """One line for the terminal (progress, errors): a student's name or message may hold escape
    sequences (clear the screen, set the window title) or bytes that are not UTF-8; see
    :func:`grader.reports.safe.terminal`."""
    from .reports.safe import terminal

    click.echo(terminal(text, one_line=True), err=err)


def _echo_output(text: str, err: bool = False) -> None:
    """A whole report on stdout/stderr: when that is a terminal, without escape sequences."""
    from .reports.safe import terminal, unicode

    stream = sys.stderr if err else sys.stdout  # click.get_text_stream is deprecated (Click 9 removes it)
    text = terminal(text) if stream.isatty() else unicode(text)
    click.echo(text, nl=False, err=err)


def _echo_summary(result, *, err: bool, failures_only: bool) -> None:
    """The terminal summary, in colour when it goes to a terminal and ``NO_COLOR`` is not set
    (https://no-color.org); the colours are the only escape sequences in it (see
    :func:`grader.reports.text.render_terminal`)."""
    import os

    from .reports import safe
    from .reports.text import render_terminal

    stream = sys.stderr if err else sys.stdout  # click.get_text_stream is deprecated (Click 9 removes it)
    color = stream.isatty() and not os.environ.get("NO_COLOR")
    summary = render_terminal(result, color=color, failures_only=failures_only)
    if color:
        click.echo(safe.unicode(summary), nl=False, err=err, color=True)
    else:
        _echo_output(summary, err=err)


def _usage(key: str, lang: str, **params) -> click.UsageError:
    """A usage error whose one line comes from the catalogue, in ``lang``."""
    from .catalogue import text

    return click.UsageError(text(key, lang, **params))


#: reST markup in a docstring: ``:func:`x```, ````x````, ```x```: a terminal shows the ``x``.
_REST = re.compile(r"(?::[\w.]+:)?`{1,2}([^`]+?)`{1,2}")


def _plain(doc: str) -> str:
    """A docstring or a hint as a terminal shows it: no reST roles nor backticks."""
    return _REST.sub(r"\1", doc)


def _explain(check_id: str, lang: str, rubric_ref: str) -> str:
    """``grade --explain CHECK_ID``: the check's title, points and hint from the rubric in ``lang``,
    what it verifies (its docstring: English), and its settings; the headings from the catalogue."""
    import textwrap

    from .catalogue import text
    from .checks import REGISTRY, check_settings
    from .rubric import load_rubric

    if check_id not in REGISTRY:
        raise _usage("usage.unknown_check", lang, check=repr(check_id), known=", ".join(sorted(REGISTRY)))
    defn = REGISTRY[check_id]
    rubric = load_rubric(rubric_ref)
    spec = next((c for c in rubric.checks if c.id == check_id), None)
    from .checks import named_settings, title_of
    from .rubric import render

    # A check the rubric does not list: its own default texts, filled from its default settings.
    defaults = {**defn.settings, **rubric.settings}
    title = title_of(rubric, spec, lang) if spec else render(rubric.text(defn.texts.title, lang), defaults)
    lines = [f"{check_id}: {_plain(title)}" if title else check_id]
    if spec is None:
        lines.append(text("explain.not_in_rubric", lang, rubric=rubric.id))
        settings = dict(defn.settings)
    else:
        kind = text("label.required" if spec.required else "label.extra", lang)
        line = text("explain.points", lang, points=f"{spec.points:g}", required=kind)
        lines.append(line + (f"; {text('explain.hidden', lang)}" if spec.visibility == "hidden" else ""))
        settings = {k: v for k, v in check_settings(rubric, spec).items() if k in defn.settings or k in spec.settings}
    lines += ["", text("explain.verifies", lang)]
    for paragraph in _plain(defn.doc).split("\n\n"):
        lines += [
            *textwrap.wrap(" ".join(paragraph.split()), width=96, initial_indent="  ", subsequent_indent="  "),
            "",
        ]
    hint = (
        render(rubric.text(spec.hint, lang), named_settings(rubric, spec))
        if spec
        else render(rubric.text(defn.texts.hint, lang), defaults)
    )
    if hint:
        lines += [
            text("explain.fix", lang),
            *textwrap.wrap(_plain(hint), width=96, initial_indent="  ", subsequent_indent="  "),
            "",
        ]
    shown = ", ".join(f"{k}={v!r}" for k, v in settings.items()) or text("explain.no_settings", lang)
    lines.append(text("explain.settings", lang, settings=shown))
    return "\n".join(lines) + "\n"


BATCH_META = "grader.batch_options"


def _stash_batch_option(ctx: click.Context, param: click.Parameter, value):
    """Batch options are kept in ``ctx.meta`` (not passed to grade_command as arguments)."""
    ctx.meta.setdefault(BATCH_META, {})[param.name] = value
    return value


REMOTE_META = "grader.remote_options"


def _stash_remote_option(ctx: click.Context, param: click.Parameter, value):
    """Names, artifacts and the class list are kept in ``ctx.meta`` (see :mod:`grader.batch.server`)."""
    ctx.meta.setdefault(REMOTE_META, {})[param.name] = value
    return value


def _run_class(
    submission, options: dict, *, out_dir, rubric, lang, timeout, trust_pickles, no_probe, quiet, deadline=None
) -> int:
    """``grade URI --experiment 'homework-195-{student}' --students ana,beto --out OUT``."""
    from .batch.server import grade_class, read_students

    if not submission:
        raise _usage("usage.students_submission", lang)
    if not out_dir:
        raise _usage("usage.needs_out", lang, option="--students")
    students = read_students(options.get("students"), options.get("students_file"))

    def progress(done: int, total: int, failures: int, row) -> None:
        if not quiet:
            line = (
                f"[{done}/{total}] {row.student}: {_status(row.status, lang)} {row.score:g}/{row.max_score:g} "
                f"({row.duration_s:.1f} s)"
            )
            _say(line + (f" - {row.error}" if row.error else ""))

    batch = grade_class(
        submission,
        out_dir,
        students,
        experiment=options.get("experiment"),
        model_name=options.get("model_name"),
        artifacts=options.get("artifacts"),
        options=_batch_options(options, rubric, lang, timeout, trust_pickles, no_probe, deadline, progress),
    )
    if not quiet:
        _say_done("class.done", batch, lang)
    return batch.exit_code


def _batch_options(options: dict, rubric, lang, timeout, trust_pickles, no_probe, deadline, progress):
    """The :class:`~grader.batch.options.BatchOptions` of a class from the command line's options
    (``grade --batch`` and ``grade URI --students`` alike)."""
    from .batch.options import BatchOptions

    return BatchOptions(
        rubric=rubric,
        lang=lang,
        jobs=options.get("jobs"),
        probe=not no_probe,
        probe_options=ProbeOptions(timeout=timeout, trust_pickles=trust_pickles),
        deadline=deadline,
        progress=progress,
        student_timeout=options.get("student_timeout"),
    )


def _say_done(key: str, batch, lang: str, **extra) -> None:
    """The last lines of a class graded (``batch.done``, ``class.done``): the counts, then the summary page."""
    from .catalogue import text

    counts = {
        "n": len(batch.rows),
        "seconds": f"{batch.duration_s:.1f}",
        "passed": batch.n_passed,
        "failed": batch.n_failed,
        "errors": batch.n_errors,
        "warned": batch.n_warned or None,
        "late": batch.n_late or None,
    }
    click.echo(text(key, lang, **counts, **extra), err=True)
    _say(f"-> {batch.summary}")


def _run_batch(options: dict, *, out_dir, rubric, lang, timeout, trust_pickles, no_probe, quiet, deadline=None) -> int:
    """``grade --batch DIR --out OUT``: grade a class with a progress bar on stderr."""
    from .batch import grade_batch
    from .catalogue import text

    if not out_dir:
        raise _usage("usage.needs_out", lang, option="--batch")
    err = sys.stderr
    interactive = not quiet and err.isatty()
    state: dict[str, Any] = {"bar": None}

    def progress(done: int, total: int, failures: int, row) -> None:
        if quiet:
            return
        if interactive:
            if state["bar"] is None:
                bar = click.progressbar(
                    length=total,
                    label=text("batch.bar", lang),
                    file=err,
                    show_pos=True,
                    show_eta=True,
                    item_show_func=lambda item: item,
                    width=24,
                )
                bar.__enter__()
                state["bar"] = bar
            state["bar"].label = text("batch.bar_failures", lang, n=failures)
            from .reports.safe import terminal

            state["bar"].update(1, terminal(f"{row.student}: {_status(row.status, lang)}", one_line=True))
        else:
            score = f"{row.score:g}/{row.max_score:g}"
            line = f"[{done}/{total}] {row.student}: {_status(row.status, lang)} {score} ({row.duration_s:.1f} s)"
            _say(line + (f" - {row.error}" if row.error else ""))

    from .lms import GradebookOptions, read_roster

    if options.get("roster"):
        try:
            read_roster(options["roster"])  # a bad roster is the instructor's error: before any grading
        except ValueError as exc:
            from .catalogue import translate

            raise click.UsageError(translate(str(exc), lang)) from None
    gradebook = GradebookOptions(
        options.get("gradebook_format") or "native", options.get("roster") or "", options.get("lms_assignment") or ""
    )
    try:
        batch = grade_batch(
            options["batch_dir"],
            out_dir,
            options=replace(
                _batch_options(options, rubric, lang, timeout, trust_pickles, no_probe, deadline, progress),
                gradebook=gradebook,
            ),
            only=options.get("only"),
        )
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)
    if not quiet:
        _say_done("batch.done", batch, lang, jobs=batch.jobs, copies=len(batch.copies.pairs) or None)
    return batch.exit_code


#: The language of the command line being run (``--lang``, see :func:`_lang_of`): ``--help`` is
#: said before click has read ``--lang``.
_ARGV_LANG = {"lang": ""}


class _Command(click.Command):
    """``grade`` itself: its ``--help`` speaks the language of ``--lang`` (Spanish by default), from
    the catalogue's ``help.*`` texts (the usage line, the command's help, each option's)."""

    #: The catalogue's keys of the command's help and of its usage line (a verb has its own).
    help_key, metavar_key = "help.command", "help.metavar"

    def _lang(self) -> str:
        return _ARGV_LANG["lang"] or _lang_of(sys.argv[1:])

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from .catalogue import text

        lang = self._lang()
        formatter.write_usage(ctx.command_path, text(self.metavar_key, lang), prefix=text("help.usage", lang))

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from .catalogue import MESSAGES

        saved, texts = self.help, MESSAGES[self.help_key]
        self.help = texts.get(self._lang()) or texts["en"]
        try:
            super().format_help_text(ctx, formatter)
        finally:
            self.help = saved

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from .catalogue import MESSAGES, text

        lang, rows = self._lang(), []
        for param in self.get_params(ctx):
            if not isinstance(param, click.Option):
                continue  # SUBMISSION: the usage line and the command's help say it
            saved, saved_metavar = param.help, param.metavar
            texts = MESSAGES.get(f"help.{'help' if param.name == '_click_default_help' else param.name}")
            if saved and texts:
                param.help = texts.get(lang) or texts["en"]
            metavar = MESSAGES.get(f"metavar.{param.make_metavar(ctx)}")
            if metavar and not param.is_flag:
                param.metavar = metavar.get(lang) or metavar["en"]
            try:
                record = param.get_help_record(ctx)
            finally:
                param.help, param.metavar = saved, saved_metavar
            if record is not None:
                rows.append(
                    (record[0], record[1].replace("[default: ", "[por defecto: ") if lang == "es" else record[1])
                )
        if rows:
            with formatter.section(text("help.options", lang)):
                formatter.write_dl(rows)


@click.command(cls=_Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("submission", required=False)
@click.option("--rubric", "rubric", default=DEFAULT_RUBRIC, show_default=True, help="Rubric id or YAML file.")
@click.option("--lang", type=click.Choice(LANGS), default=LANGS[0], show_default=True, help="Language of messages.")
@click.option("--format", "fmt", type=_Formats(), default="text", show_default=True, help="What goes to stdout.")
@click.option(
    "--json",
    "json_out",
    metavar="FILE",
    help="Write the JSON report to FILE ('-' for stdout); with --format gradescope, Gradescope's results.json.",
)
@click.option("--html", "html_out", metavar="FILE", help="Write the HTML report to FILE.")
@click.option("--junit", "junit_out", metavar="FILE", help="Write JUnit XML (one testcase per check) to FILE.")
@click.option("--markdown", "markdown_out", metavar="FILE", help="Write the Markdown summary (student view) to FILE.")
@click.option(
    "--out",
    "out_dir",
    metavar="DIR",
    help="Write report.json and report.html into DIR (with --batch: the class's reports).",
)
@click.option(
    "--student", is_flag=True, help="Student view in every output: hidden checks show their points, not their content."
)
@click.option(
    "--timeout",
    type=float,
    default=ProbeOptions.timeout,
    show_default=True,
    help="Seconds the model probe may take (the whole grade: --grade-timeout).",
)
@click.option(
    "--grade-timeout",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    default=None,
    help="Seconds the whole grade may take (copy, MLflow, checks, probe): past it, exit 2 with one line. "
    "With --batch: per student, as --student-timeout.  [default: 600, or --timeout + 120 if more]",
)
@click.option(
    "--trust-pickles", is_flag=True, help="Load pickled models even if the allowlist refuses them (still sandboxed)."
)
@click.option("--no-probe", is_flag=True, help="Do not load the model (model.predict is skipped).")
@click.option(
    "--deadline",
    metavar="ISO",
    help="Deadline, e.g. 2026-06-30T23:59 or 2026-06-30 (end of that day), local "
    "time unless an offset is given: integrity.timeline flags runs and registry changes after it.",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Build the reference submission (runs, registry, notebook) in a temp folder and "
    "grade it; the folder is removed afterwards (--keep keeps it). With --out DIR, the reports go to DIR.",
)
@click.option("--keep", is_flag=True, help="With --demo: keep the built submission (its path is printed).")
@click.option("--explain", "explain", metavar="CHECK_ID", help="Print what a check verifies and how to pass it.")
@click.option("-q", "--quiet", is_flag=True, help="No terminal summary.")
@click.option("--failures-only", is_flag=True, help="Terminal summary: only the checks that did not pass.")
@click.option(
    "--batch",
    "batch_dir",
    metavar="DIR",
    expose_value=False,
    callback=_stash_batch_option,
    help="Grade every submission in DIR (one folder or archive per student; or one archive of them all, such as a "
    "Moodle or Canvas bulk download) into --out: reports, gradebook.csv, summary.html.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    metavar="N",
    expose_value=False,
    callback=_stash_batch_option,
    help="With --batch: students graded at once (the number of cores by default); with --students: 1 by default.",
)
@click.option(
    "--student-timeout",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    expose_value=False,
    callback=_stash_batch_option,
    help="With --batch (and --students -j N): seconds one student may take in all.  [default: 2 x --timeout + 60]",
)
@click.option(
    "--gradebook-format",
    type=click.Choice(["native", "moodle", "canvas"]),
    expose_value=False,
    callback=_stash_batch_option,
    help="With --batch: gradebook.csv in Moodle's (grading worksheet) or Canvas's import format.  [default: native]",
)
@click.option(
    "--roster",
    metavar="FILE",
    expose_value=False,
    callback=_stash_batch_option,
    help="With --batch: CSV mapping students (column student) to LMS ids (lms_id, name, email, sis_user_id...).",
)
@click.option(
    "--lms-assignment",
    metavar="COLUMN",
    expose_value=False,
    callback=_stash_batch_option,
    help="With --gradebook-format canvas: the assignment's column, e.g. 'Homework 195 (4567)'.  "
    "[default: the rubric id]",
)
@click.option(
    "--only",
    metavar="NAME",
    expose_value=False,
    callback=_stash_batch_option,
    help="With --batch: regrade only this student into the existing --out (their reports and gradebook row).",
)
@click.option(
    "--experiment",
    metavar="NAME",
    expose_value=False,
    callback=_stash_remote_option,
    help="Grade experiment NAME instead of the rubric's (a shared server gives each student their own); "
    "with --students, a pattern such as 'homework-195-{student}'.",
)
@click.option(
    "--model-name",
    metavar="NAME",
    expose_value=False,
    callback=_stash_remote_option,
    help="Registered model to grade instead of the rubric's; with --students it may hold {student}.",
)
@click.option(
    "--store",
    metavar="PATH",
    expose_value=False,
    callback=_stash_remote_option,
    help="The store to grade when SUBMISSION holds several (a path inside it, e.g. mlflow.db or copy/mlruns).",
)
@click.option(
    "--artifacts",
    metavar="DIR",
    expose_value=False,
    callback=_stash_remote_option,
    help="With a postgresql:// SUBMISSION: the folder holding the experiments' artifacts.",
)
@click.option(
    "--students",
    metavar="ID,ID,...",
    expose_value=False,
    callback=_stash_remote_option,
    help="Grade each student's experiment in SUBMISSION (--experiment with {student}) into --out.",
)
@click.option(
    "--students-file",
    metavar="FILE",
    expose_value=False,
    callback=_stash_remote_option,
    help="Like --students, one student id per line.",
)
@click.version_option(__version__, prog_name="mlflow-grader")
def grade_command(
    submission,
    rubric,
    lang,
    fmt,
    json_out,
    html_out,
    junit_out,
    markdown_out,
    out_dir,
    student,
    timeout,
    trust_pickles,
    no_probe,
    demo,
    explain,
    quiet,
    deadline=None,
    grade_timeout=None,
    keep=False,
    failures_only=False,
):
    """Grade an MLflow homework SUBMISSION: a folder holding mlruns/ and/or mlflow.db, an mlruns/
    folder, an mlflow.db file, or a file:/sqlite: URI; or, read-only, a tracking server
    (http(s)://HOST:PORT; credentials from MLFLOW_TRACKING_USERNAME/PASSWORD or TOKEN) or a
    PostgreSQL backend store (postgresql://USER@HOST/DB --artifacts DIR).

    One class on one server: grade URI --experiment 'homework-195-{student}' [--model-name
    'housing-best-{student}'] --students ana,beto (or --students-file FILE) --out OUT.

    Whole class: grade --batch DIR --out OUT [-j N]. Each folder or archive in DIR is one student
    (its name is the id); OUT gets students/<id>/report.json and report.html, gradebook.csv and
    summary.html. A re-run replaces what the previous batch wrote in OUT. Exit codes of a batch:
    0 every student graded and passed; 1 some student failed or could not be graded (an error row);
    2 the batch could not run (no such DIR, no submissions in it, OUT refused)."""
    if explain:
        click.echo(_explain(explain, lang, rubric), nl=False)
        return 0
    batch_options = click.get_current_context().meta.get(BATCH_META, {})
    if batch_options.get("batch_dir"):
        if submission or demo:
            raise _usage("usage.batch_no_submission", lang)
        others = [
            name
            for name, value in (
                ("--format", fmt != "text"),
                ("--json", json_out),
                ("--html", html_out),
                ("--junit", junit_out),
                ("--markdown", markdown_out),
                ("--student", student),
            )
            if value
        ]
        if others:
            raise _usage("usage.batch_conflict", lang, options=", ".join(others))
        if any(click.get_current_context().meta.get(REMOTE_META, {}).values()):
            raise _usage("usage.batch_remote", lang)
        if grade_timeout and not batch_options.get("student_timeout"):
            batch_options = {**batch_options, "student_timeout": grade_timeout}
        return _run_batch(
            batch_options,
            out_dir=out_dir,
            rubric=rubric,
            lang=lang,
            timeout=timeout,
            trust_pickles=trust_pickles,
            no_probe=no_probe,
            quiet=quiet,
            deadline=deadline,
        )
    remote = click.get_current_context().meta.get(REMOTE_META, {})
    a_class = bool(remote.get("students") or remote.get("students_file"))
    if any(
        batch_options.get(name) is not None
        for name in (
            *(() if a_class else ("student_timeout",)),
            "gradebook_format",
            "roster",
            "lms_assignment",
            "only",
            *(() if a_class else ("jobs",)),
        )
    ):
        raise _usage("usage.batch_only", lang)
    if a_class:
        if demo or fmt != "text" or any((json_out, html_out, junit_out, markdown_out, student)):
            raise _usage("usage.students_conflict", lang)
        return _run_class(
            submission,
            {
                **remote,
                "jobs": batch_options.get("jobs"),
                "student_timeout": batch_options.get("student_timeout") or grade_timeout,
            },
            out_dir=out_dir,
            rubric=rubric,
            lang=lang,
            timeout=timeout,
            trust_pickles=trust_pickles,
            no_probe=no_probe,
            quiet=quiet,
            deadline=deadline,
        )
    if demo == bool(submission):
        raise _usage("usage.give_submission", lang)
    if keep and not demo:
        raise _usage("usage.keep", lang)
    if json_out == "-":  # the historical spelling of --format json
        if fmt not in ("text", "json"):
            raise _usage("usage.json_dash", lang, fmt=fmt)
        fmt, json_out = "json", None
    # --format gradescope --json FILE: Gradescope's results.json goes to FILE, the summary to stdout.
    gradescope_file = json_out if fmt == "gradescope" and json_out else None
    if gradescope_file:
        fmt, json_out = "text", None

    from .api import grade
    from .reports.routing import write_reports

    if demo:
        submission = _build_demo(lang, quiet or fmt != "text", keep, rubric)
    from .errors import SubmissionError
    from .watchdog import DEFAULT_GRADE_TIMEOUT, GradeTimeout, time_limit

    files = {
        "json": json_out,
        "html": html_out,
        "junit": junit_out,
        "markdown": markdown_out,
        "gradescope": gradescope_file,
    }
    try:
        try:
            with time_limit(grade_timeout or max(DEFAULT_GRADE_TIMEOUT, timeout + 120)):
                result = grade(
                    submission,
                    rubric,
                    lang=lang,
                    probe=not no_probe,
                    probe_options=ProbeOptions(timeout=timeout, trust_pickles=trust_pickles),
                    deadline=deadline,
                    experiment=remote.get("experiment"),
                    model_name=remote.get("model_name"),
                    artifacts=remote.get("artifacts"),
                    store=remote.get("store"),
                )
        except GradeTimeout as exc:  # a submission that cannot be graded in time: exit 2, one line
            raise SubmissionError(str(exc)) from None
    except SubmissionError as exc:
        # A gradebook format still gets a graded 0 (never a missing grade); the others: exit 2, one line.
        exc.lang = lang  # type: ignore[attr-defined]  # main() says it in the user's language
        _report_ungradable(exc, submission, rubric, lang, _outputs(fmt, files, out_dir, student, grades_only=True))
        raise
    except GraderError as exc:  # a rubric or usage problem is the instructor's: no grade at all
        exc.lang = lang  # type: ignore[attr-defined]
        raise
    write_reports(result, _outputs(fmt, files, out_dir, student), stdout=_echo_output)
    summary_to_stderr = fmt not in ("text", "classroom50")
    view = result.for_students() if student else result
    if not quiet:
        _echo_summary(view, err=summary_to_stderr, failures_only=failures_only)
        if out_dir:
            _say(f"-> {Path(out_dir) / 'report.html'}", err=summary_to_stderr)
        elif demo and not any((json_out, html_out, junit_out, markdown_out)):
            from .catalogue import text

            _say(text("demo.no_report", lang), err=summary_to_stderr)
    return result.exit_code


# --------------------------------------------------------------------------- the verbs
# grade run|batch|class|explain|demo|rubric: each verb is the one grade command restricted to the
# options that make sense for it (the same option objects, so the same help and defaults), its
# argument named for what it is; grade SUBMISSION [--batch ...] keeps working as before.


class _Verb(_Command):
    """A verb: ``grade VERB ...``, its help and usage line from the catalogue (``help.verb.VERB``,
    ``help.metavar.VERB``)."""

    def __init__(self, name: str, argument: str | None, options: tuple[str, ...], fixed: dict[str, Any]):
        by_name = {p.name: p for p in grade_command.params if isinstance(p, click.Option)}
        params: list[click.Parameter] = [by_name[o] for o in options]
        if argument:
            params.insert(0, click.Argument([argument.lower()], required=True, metavar=argument))
        super().__init__(name, params=params, callback=self._invoke, context_settings=grade_command.context_settings)
        self.help_key, self.metavar_key = f"help.verb.{name}", f"help.metavar.{name}"
        self.argument, self.fixed = argument, fixed
        self.help = f"grade {name}"  # the catalogue says the rest (format_help_text)

    def _invoke(self, **values: Any) -> int:
        ctx = click.get_current_context()
        value = values.pop(self.argument.lower(), None) if self.argument else None
        kwargs = {p.name: _default(p, ctx) for p in grade_command.params if p.expose_value and p.name}
        kwargs.update(values)
        kwargs.update(self.fixed)
        if self.name == "batch":
            ctx.meta.setdefault(BATCH_META, {})["batch_dir"] = value
        elif self.name == "explain":
            kwargs["explain"] = value
        elif value is not None:
            kwargs["submission"] = value
        if self.name in ("batch", "class") and not kwargs.get("out_dir"):
            raise _usage("usage.needs_out", kwargs["lang"], option=f"grade {self.name}")
        if self.name == "class":
            remote = ctx.meta.get(REMOTE_META, {})
            if not (remote.get("students") or remote.get("students_file")):
                raise _usage("usage.class_students", kwargs["lang"])
        return grade_command.callback(**kwargs)  # type: ignore[misc]


def _default(param: click.Parameter, ctx: click.Context) -> Any:
    """The value ``grade`` gives an option the command line leaves out (None when it has no default)."""
    value = param.get_default(ctx)
    return None if value is None or type(value).__name__ == "Sentinel" else value


_COMMON = ("rubric", "lang", "timeout", "grade_timeout", "trust_pickles", "no_probe", "deadline", "quiet")
_REPORTS = ("fmt", "json_out", "html_out", "junit_out", "markdown_out", "out_dir", "student", "failures_only")
_NAMES = ("experiment", "model_name")
VERBS: dict[str, click.Command] = {
    "run": _Verb("run", "SUBMISSION", (*_COMMON, *_REPORTS, *_NAMES, "store", "artifacts"), {}),
    "batch": _Verb(
        "batch",
        "DIR",
        (*_COMMON, "out_dir", "jobs", "student_timeout", "gradebook_format", "roster", "lms_assignment", "only"),
        {},
    ),
    "class": _Verb(
        "class",
        "URI",
        (*_COMMON, "out_dir", "jobs", "student_timeout", "students", "students_file", *_NAMES, "artifacts"),
        {},
    ),
    "explain": _Verb("explain", "CHECK_ID", ("rubric", "lang"), {}),
    "demo": _Verb("demo", None, (*_COMMON, *_REPORTS, "keep"), {"demo": True}),
}


def _outputs(fmt: str, files: dict[str, str | None], out_dir: str | None, student: bool, grades_only: bool = False):
    """Where ``grade SUBMISSION``'s reports go (:class:`grader.reports.routing.Outputs`): the files
    asked for, ``--format``'s report on stdout (Classroom 50's two files into ``--out`` or the
    current folder, the summary staying on stdout), ``report.json``/``report.html`` in ``--out``.

    ``grades_only``: only the outputs a gradebook reads (a submission that could not be graded)."""
    from .reports import FORMATS
    from .reports.routing import Outputs

    grades = {name for name, f in FORMATS.items() if f.grades}
    targets = [(name, target) for name, target in files.items() if target and (not grades_only or name in grades)]
    if fmt not in ("text", "classroom50") and (not grades_only or fmt in grades):
        targets.append((fmt, "-"))
    return Outputs(
        files=tuple(targets),
        folder=out_dir if not grades_only else None,
        classroom50=(out_dir or ".") if fmt == "classroom50" else None,
        student=student,
    )


def _report_ungradable(exc: GraderError, submission, rubric: str, lang: str, outputs) -> None:
    """A submission that cannot be graded: :meth:`Result.ungradable` goes to every gradebook output
    asked for (Classroom, Classroom 50, Gradescope), the reason in the student's language."""
    if not outputs.files and outputs.classroom50 is None:
        return
    from .reports.routing import write_reports
    from .result import Result
    from .rubric import load_rubric
    from .sources import redact

    ungraded = Result.ungradable(localized(exc, lang), load_rubric(rubric), lang, input=redact(str(submission or "")))
    write_reports(ungraded, outputs, stdout=_echo_output)


def _build_demo(lang: str, quiet: bool, keep: bool, rubric: str = DEFAULT_RUBRIC) -> str:
    """Build the reference submission (runs, registry, notebook) in a new temp folder and return it.

    Each step the build announces is said on stderr, in ``lang``, from the catalogue. The folder
    (about 90 MB) is removed when the command ends, whatever happens, unless ``keep``: the reports
    go to ``--out`` (or are not written), never into it.
    """
    import shutil

    from .catalogue import text
    from .demos import DEMOS, build_demo
    from .rubric import load_rubric

    rubric_id = load_rubric(rubric).id
    if rubric_id not in DEMOS:
        raise click.UsageError(text("demo.no_reference", lang, rubric=rubric_id, demos=", ".join(sorted(DEMOS))))
    work = Path(tempfile.mkdtemp(prefix="mlflow-grader-demo-"))
    submission = work / "submission"
    ctx = click.get_current_context()
    if keep:  # said even with -q or another --format: the folder would be lost otherwise (stderr)
        ctx.call_on_close(lambda: _say(text("demo.kept", lang, path=str(submission))))
    else:
        ctx.call_on_close(lambda: shutil.rmtree(work, ignore_errors=True))

    def progress(step: dict) -> None:
        key = f"demo.step.{step.get('step')}"
        if not quiet:
            from .catalogue import MESSAGES

            if key in MESSAGES:
                _say(text(key, lang, **{k: v for k, v in step.items() if k != "step"}))

    if not quiet:
        _say(text("demo.building", lang, path=str(submission)))
    build_demo(rubric_id, submission, progress)
    if not quiet:
        _say(text("demo.grading", lang))
    return str(submission)


def _status(status: str, lang: str) -> str:
    """A check's or a student's status (pass, fail...) in ``lang``, as progress lines say it."""
    from .catalogue import MESSAGES, text

    return text(f"status.{status}", lang) if f"status.{status}" in MESSAGES else status


def _lang_of(argv: list[str]) -> str:
    """The language the command line asks for (``--lang xx`` or ``--lang=xx``), else the default
    (Spanish): the language of the one line said when the command cannot even be parsed."""
    from .rubric import LANGS

    lang = "es"
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        value = argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else arg[7:] if arg.startswith("--lang=") else None
        if value in LANGS:
            lang = value
    return lang


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the command and turns every failure into an exit code and one line, in
    the user's language (``--lang``; the messages of click and of the modules that raise in
    English are translated from the catalogue, :func:`grader.catalogue.translate`)."""
    from .catalogue import text, translate

    args = list(sys.argv[1:] if argv is None else argv)
    lang = _ARGV_LANG["lang"] = _lang_of(args)
    try:
        if args[:1] == ["rubric"]:  # grade rubric init ...: the verbs beside grade SUBMISSION
            from .cli_rubric import rubric_group

            code = rubric_group.main(args=args[1:], prog_name="grade rubric", standalone_mode=False)
        elif args[:1] and args[0] in VERBS:  # a submission folder named like a verb: grade ./run
            code = VERBS[args[0]].main(args=args[1:], prog_name=f"grade {args[0]}", standalone_mode=False)
        else:
            code = grade_command.main(args=argv, prog_name="grade", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.Abort:
        click.echo(text("cli.aborted", lang), err=True)
        code = EXIT_USAGE
    except click.ClickException as exc:
        _say(text("cli.error", lang, message=translate(exc.format_message(), lang)))
        code = EXIT_USAGE
    except GraderError as exc:
        _say(text("cli.error", lang, message=localized(exc, getattr(exc, "lang", lang))))
        code = EXIT_USAGE
    except KeyboardInterrupt:
        click.echo(text("cli.interrupted", lang), err=True)
        code = 130
    except Exception as exc:  # noqa: BLE001 - never a traceback for a user
        line = str(exc).strip().splitlines()
        _say(text("cli.internal", lang, error=f"{type(exc).__name__}: {line[0] if line else ''}"))
        code = EXIT_USAGE
    return 0 if code is None else code


if __name__ == "__main__":
    sys.exit(main())

"""``grade rubric ...``: verbs about rubrics (today ``init``), beside ``grade SUBMISSION``.

``grade rubric init --from REFERENCE`` writes a rubric scaffold read off an instructor's own
solution (:mod:`grader.scaffold`); ``--out FILE`` writes it there (never over an existing file),
else it goes to stdout. The scaffold is loaded back before it is written: what is written loads.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.group(name="rubric", help="Rubrics: write a scaffold from your own solution (init).")
def rubric_group() -> None:
    pass


@rubric_group.command(name="init")
@click.option(
    "--from",
    "reference",
    required=True,
    metavar="REFERENCE",
    help="Your reference solution's store: a folder with mlruns/ and/or mlflow.db (read-only).",
)
@click.option(
    "--data",
    default=None,
    metavar="DATA",
    help="The homework's data set when the model has no signature: california_housing, sklearn:NAME "
    "(iris, wine, breast_cancer, diabetes) or a CSV file.",
)
@click.option("--target", default=None, metavar="COLUMN", help="With --data: the column to predict.")
@click.option(
    "--out",
    "out_file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the rubric to FILE (refused if it exists); default: stdout.",
)
@click.option(
    "--lang", type=click.Choice(["es", "en"]), default="es", show_default=True, help="Language of the messages."
)
def init_command(reference: str, data: str | None, target: str | None, out_file: Path | None, lang: str) -> None:
    """Write a rubric for your course, read off the store your own solution wrote: the experiment,
    the registered model and its stage or alias, the metrics and the ranking metric with its order,
    the param every run logs, and the task (data set, kind, the split that reproduces your logged
    metrics). Edit it, then grade with ``grade SUBMISSION --rubric FILE``."""
    from . import yamlio
    from .catalogue import text as say
    from .errors import RubricError
    from .rubric import parse_rubric
    from .scaffold import init_rubric

    if out_file is not None and out_file.exists():
        raise click.UsageError(say("rubric.init.exists", lang, path=str(out_file)))
    text = init_rubric(reference, data, target)
    try:
        parse_rubric(yamlio.load(text), "the scaffold")
    except RubricError as exc:
        if "REPLACE-ME" not in text:
            raise
        click.echo(say("rubric.init.fill_in", lang, error=str(exc)), err=True)
    if out_file is None:
        click.echo(text, nl=False)
    else:
        out_file.write_text(text, encoding="utf-8")
        click.echo(say("rubric.init.wrote", lang, path=str(out_file)), err=True)


__all__ = ["rubric_group"]

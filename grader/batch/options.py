"""What a class is graded with, whatever holds it: :class:`BatchOptions`, shared by a folder of
submissions (:func:`grader.batch.grade_batch`) and a class on one shared store or server
(:func:`grader.batch.server.grade_class`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from .. import lms
from ..rubric import DEFAULT_RUBRIC, Rubric, load_rubric
from .model import BatchError, ProgressCallback

if TYPE_CHECKING:
    from ..probe import ProbeOptions


@dataclass(frozen=True)
class BatchOptions:
    """The options of a class batch; every field has the default a single ``grade`` has.

    - ``rubric``: an id, a YAML path, or a loaded :class:`~grader.rubric.Rubric`.
    - ``lang``: the reports' and the gradebook's language (``es``, ``en``).
    - ``jobs``: students graded at once, each in a warm worker process (default: the usable cores for
      a folder of submissions; 1 for a class on a shared store, graded in this process).
    - ``probe``/``probe_options``: whether and how the model is loaded and run (:class:`~grader.probe.ProbeOptions`).
    - ``deadline``: the class's deadline, as :func:`grader.api.grade` takes it (checked once, before any student).
    - ``progress(done, total, not_passed, row)``: called here after each student.
    - ``student_timeout``: seconds one student may take in all (default: twice the probe timeout plus
      60 s); past it the student's worker is killed and the student gets an error row. Applies to
      students graded in worker processes (``jobs`` > 1, or any folder of submissions).
    - ``scratch_dir``: where the private snapshots go (default: :func:`~grader.submission.snapshot.scratch_root`).
    - ``gradebook``: the format of ``gradebook.csv`` (:class:`grader.lms.GradebookOptions`).
    - ``snapshots_ahead``: a folder of submissions has its students' private copies taken ahead,
      while the workers start (:mod:`grader.batch.ahead`: the same copies, sooner); False: each
      student's worker takes its own.
    """

    rubric: str | os.PathLike | Rubric = DEFAULT_RUBRIC
    lang: str = "es"
    jobs: int | None = None
    probe: bool = True
    probe_options: ProbeOptions | None = None
    deadline: str | date | datetime | None = None
    progress: ProgressCallback | None = None
    student_timeout: float | None = None
    scratch_dir: str | os.PathLike | None = None
    gradebook: lms.GradebookOptions | None = None
    snapshots_ahead: bool = True

    def resolved(self) -> BatchOptions:
        """The same options with the rubric loaded and the defaults filled in; a bad rubric or
        deadline is the instructor's error, said once (:class:`BatchError`), not in every row."""
        from ..probe import ProbeOptions

        rubric = self.rubric if isinstance(self.rubric, Rubric) else load_rubric(os.fspath(self.rubric))
        if self.deadline is not None:
            from ..deadline import parse_deadline

            try:
                parse_deadline(self.deadline)
            except ValueError as exc:
                raise BatchError(f"bad deadline: {exc}") from None
        return replace(
            self,
            rubric=rubric,
            probe_options=self.probe_options or ProbeOptions(),
            gradebook=self.gradebook or lms.GradebookOptions(),
        )

    @property
    def loaded_rubric(self) -> Rubric:
        """The rubric of :meth:`resolved` options."""
        if not isinstance(self.rubric, Rubric):
            raise TypeError("BatchOptions.resolved() first")
        return self.rubric

    @property
    def timeout(self) -> float:
        """Seconds one student may take in all."""
        from ..probe import ProbeOptions

        if self.student_timeout:
            return float(self.student_timeout)
        return 2 * float((self.probe_options or ProbeOptions()).timeout) + 60.0


def batch_options(options: BatchOptions | None, **given) -> BatchOptions:
    """``options`` with the keyword arguments a caller gave (those not None) on top: the functions
    take either, as click's commands take a context or parameters."""
    given = {k: v for k, v in given.items() if v is not None}
    return replace(options, **given) if options is not None else BatchOptions(**given)

"""``grade --experiment NAME --model-name NAME``: the rubric's names, overridden for one grade.

A shared tracking server gives each student their own experiment (``homework-195-ana``) and
registered model (``housing-best-ana``); the same works for folders. The override replaces the
rubric's ``experiment``/``model_name`` settings and any check's own, so every check and message
uses the names that were graded.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .errors import GraderError
from .rubric import Rubric

STUDENT_FIELD = "{student}"


def with_names(rubric: Rubric, experiment: str | None = None, model_name: str | None = None) -> Rubric:
    """``rubric`` with its experiment and/or registered model name replaced (None: keep the rubric's)."""
    changes = {k: v for k, v in (("experiment", experiment), ("model_name", model_name)) if v is not None}
    for key, value in changes.items():
        if not str(value).strip():
            raise GraderError(f"--{key.replace('_', '-')} must not be empty")
        if STUDENT_FIELD in str(value):
            raise GraderError(
                f"--{key.replace('_', '-')} {value!r} holds {STUDENT_FIELD}: give --students or "
                "--students-file to grade one experiment per student"
            )
    if not changes:
        return rubric
    checks = tuple(
        replace(spec, settings={**spec.settings, **{k: v for k, v in changes.items() if k in spec.settings}})
        for spec in rubric.checks
    )
    return replace(rubric, settings={**rubric.settings, **changes}, checks=checks)


def hiding_classmates(rubric: Rubric, pattern: str | None) -> Rubric:
    """``rubric`` for one student of a class sharing a store, whose experiments follow ``pattern``
    (``homework-195-{student}``): its ``hide_experiments`` setting makes sure no report names another
    student's experiment (``runs.count`` lists the experiments it found when the student's is missing)."""
    if not pattern or STUDENT_FIELD not in pattern:
        return rubric
    regex = "^" + re.escape(pattern).replace(re.escape(STUDENT_FIELD), ".+") + "$"
    return replace(rubric, settings={**rubric.settings, "hide_experiments": regex})


def for_student(pattern: str | None, student: str) -> str | None:
    """``homework-195-{student}`` -> ``homework-195-ana``."""
    return pattern.replace(STUDENT_FIELD, student) if pattern is not None else None


__all__ = ["STUDENT_FIELD", "for_student", "hiding_classmates", "with_names"]

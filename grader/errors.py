"""Errors that stop a whole grade (exit code 2).

Everything else that goes wrong while grading becomes a check in ``error`` with its message:
only a submission that cannot be graded at all, or a usage error, raises these.
"""


class GraderError(Exception):
    """Base class: the message is one line that a user can act on."""


class SubmissionError(GraderError):
    """The submission cannot be graded at all (not found, no MLflow store in it, refused archive)."""


class RubricError(GraderError):
    """The rubric cannot be loaded (unknown id, bad YAML, unknown check id, bad settings)."""

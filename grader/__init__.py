"""mlflow-grader: grade MLflow homework submissions.

The pipeline is visible in the sub-packages::

    submission -> snapshot (private rebased copy) -> evidence (plain data read from MLflow)
               -> checks (pure functions of evidence and rubric settings) -> result -> reports

Use it from Python with :func:`grader.grade` or from the shell with ``grade``.
"""

__version__ = "0.1.0"


def grade(*args, **kwargs):
    """Grade a submission; see :func:`grader.api.grade`."""
    from .api import grade as _grade

    return _grade(*args, **kwargs)


__all__ = ["grade", "__version__"]

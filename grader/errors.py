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


def localized(exc: BaseException, lang: str) -> str:
    """The message of ``exc`` in ``lang``: from the catalogue when it was raised with a key
    (:func:`keyed`); else its English text, translated when the catalogue knows it
    (:func:`grader.catalogue.translate`), or as it is."""
    from .catalogue import text, translate

    key = getattr(exc, "key", None)
    if key:
        return text(key, lang, **getattr(exc, "params", {}))
    return translate(str(exc), lang)


def keyed(cls: type[GraderError], key: str, **params: object) -> GraderError:
    """An error of ``cls`` whose message comes from the catalogue (:mod:`grader.catalogue`): its
    English text is the exception's own message, and :func:`localized` gives it in any language."""
    from .catalogue import text

    error = cls(text(key, "en", **params))
    error.key, error.params = key, params  # type: ignore[attr-defined]
    return error

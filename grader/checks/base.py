"""What a check is, and the registry that finds checks by id.

A check is a pure function of :class:`~grader.evidence.model.Evidence` and its settings that
returns an :class:`Outcome`. It never touches MLflow or files. Register one with :func:`check`::

    RUNS_COUNT_TEXTS = Texts(
        title={"es": "Al menos {min_runs} runs en {experiment}", "en": "At least {min_runs} runs in {experiment}"},
        messages={
            "ok": {"es": "Hay {n} runs.", "en": "There are {n} runs."},
            "too_few": {"es": "Hay {n} runs; se piden {min_runs}.", "en": "{n} runs; {min_runs} are required."},
        },
        hint={"es": "Usá set_experiment(\"{experiment}\").", "en": "Call set_experiment(\"{experiment}\")."},
    )

    @check("runs.count", settings={"min_runs": 10}, messages=("ok", "too_few"), texts=RUNS_COUNT_TEXTS, needs=("runs",))
    def runs_count(ev, s):
        '''What it checks, and how a student fixes it.'''
        n = len(ev.runs)
        return passed(n=n) if n >= s["min_runs"] else failed("too_few", n=n)

The outcome names a message *key*. Every check declares its default texts beside its code
(:class:`Texts`): its title, its hint and one text per message key, in Spanish and English, with
``{placeholders}`` filled from the check's settings (``{experiment}``, ``{model_name}``,
``{stage}``, ``{metric}``, ``{min_runs}``...: a title names only those) and, for messages and
hints, from the outcome's params. A rubric overrides any of them, per key and per language
(:func:`grader.rubric.parse_rubric` merges), so a rubric of only ids, points and settings reads
right. :func:`check` refuses a check whose texts lack a key or a language, or whose Spanish and
English name different placeholders.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..catalogue import placeholders
from ..evidence.model import Evidence
from ..rubric import LANGS, RUBRIC_SETTINGS

Settings = Mapping[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What a check found. ``fraction`` gives partial credit (defaults: 1 for pass/warn, else 0)."""

    status: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    fraction: float | None = None

    @property
    def credit(self) -> float:
        if self.fraction is not None:
            return max(0.0, min(1.0, float(self.fraction)))
        return 1.0 if self.status in ("pass", "warn") else 0.0


def passed(key: str = "ok", evidence: dict | None = None, **params: Any) -> Outcome:
    return Outcome("pass", key, params, evidence or {})


def warned(key: str, evidence: dict | None = None, **params: Any) -> Outcome:
    return Outcome("warn", key, params, evidence or {})


def failed(key: str, evidence: dict | None = None, fraction: float | None = None, **params: Any) -> Outcome:
    return Outcome("fail", key, params, evidence or {}, fraction)


def skipped(key: str, evidence: dict | None = None, **params: Any) -> Outcome:
    return Outcome("skip", key, params, evidence or {})


def errored(key: str, evidence: dict | None = None, **params: Any) -> Outcome:
    return Outcome("error", key, params, evidence or {})


CheckFunc = Callable[[Evidence, Settings], Outcome]

#: One text in each language: ``{"es": "...", "en": "..."}``.
Text = Mapping[str, str]


@dataclass(frozen=True)
class Texts:
    """A check's default texts, in Spanish and English (see the module's docstring).

    ``title`` names the check (its placeholders: settings only), ``hint`` says how to pass it
    (shown unless it passed), ``messages`` holds one text per message key the check emits.
    """

    title: Text
    hint: Text
    messages: Mapping[str, Text]


@dataclass(frozen=True)
class CheckDef:
    """A registered check: its id, function, default settings and the message keys it emits."""

    id: str
    func: CheckFunc
    settings: Mapping[str, Any]
    messages: tuple[str, ...]
    #: Its default texts (a rubric overrides any of them).
    texts: Texts
    #: What the check reads: evidence sections (``runs``, ``registry``, ``models``, ``notebooks``:
    #: an unreadable section makes it an ``error``), and ``probe`` (the grader loads the graded
    #: model in the sandbox only when a check needs it) and ``test_split`` (the probe predicts the
    #: task's whole test split, not only the final cell's rows).
    needs: tuple[str, ...]

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.func.__doc__ or "")


REGISTRY: dict[str, CheckDef] = {}

#: Message keys any check may end with (see :func:`grader.checks.evaluate`); a rubric's top-level
#: ``messages`` overrides their texts.
COMMON_MESSAGES = ("section_error", "check_crashed")

#: The default texts of :data:`COMMON_MESSAGES`.
COMMON_TEXTS: dict[str, Text] = {
    "section_error": {
        "es": "No se pudo leer esta parte del store ({section}): {error}",
        "en": "This part of the store could not be read ({section}): {error}",
    },
    "check_crashed": {
        "es": "El corrector falló al evaluar este punto ({error}). No es culpa tuya: avisá al docente.",
        "en": "The grader failed while evaluating this check ({error}). Not your fault: tell the instructor.",
    },
}

#: The settings a title may name besides the check's own: the rubric-wide ones and the task's.
_TASK_SETTINGS = ("rows", "task_kind")


def text_problems(
    check_id: str, texts: Texts, messages: tuple[str, ...], settings: Mapping[str, Any] | None = None
) -> list[str]:
    """What is wrong with a check's default texts (empty: nothing): a title, hint or message key
    without a text in each language, a message text for a key the check does not declare,
    Spanish and English naming different placeholders, a title naming what is not a setting."""
    problems = []
    parts: list[tuple[str, Text | None]] = [("title", texts.title), ("hint", texts.hint)]
    parts += [(f"messages.{key}", texts.messages.get(key)) for key in messages]
    for where, text in parts:
        missing = [lang for lang in LANGS if not str((text or {}).get(lang) or "").strip()]
        if missing:
            problems.append(f"{check_id}: no {'/'.join(missing)} text for {where}")
            continue
        assert text is not None
        names = {lang: placeholders(text[lang]) for lang in LANGS}
        if len({frozenset(n) for n in names.values()}) > 1:
            shown = "; ".join(f"{lang} {sorted(n)}" for lang, n in names.items())
            problems.append(f"{check_id}: {where} names different placeholders ({shown})")
    extra = sorted(set(texts.messages) - set(messages))
    if extra:
        problems.append(f"{check_id}: texts for message keys it does not declare: {', '.join(extra)}")
    if settings is not None:
        known = {*settings, *RUBRIC_SETTINGS, *_TASK_SETTINGS}
        unknown = sorted(placeholders(str(texts.title.get("en") or "")) - known)
        if unknown:
            problems.append(f"{check_id}: the title names what is not a setting: {', '.join(unknown)}")
    return problems


def check(
    check_id: str,
    *,
    settings: Mapping[str, Any] | None = None,
    messages: tuple[str, ...] = ("ok",),
    texts: Texts,
    needs: tuple[str, ...] = (),
) -> Callable[[CheckFunc], CheckFunc]:
    """Register ``func`` as the check ``check_id`` (ids are stable: reports and gradebooks key on them),
    with its default ``texts`` for its title, its hint and each of its ``messages`` keys."""

    def register(func: CheckFunc) -> CheckFunc:
        if check_id in REGISTRY:
            raise ValueError(f"check id registered twice: {check_id}")
        if not (func.__doc__ or "").strip():
            raise ValueError(f"check {check_id} needs a docstring: what it checks and how to fix it")
        problems = text_problems(check_id, texts, tuple(messages), settings or {})
        if problems:
            raise ValueError("; ".join(problems))
        REGISTRY[check_id] = CheckDef(check_id, func, dict(settings or {}), tuple(messages), texts, tuple(needs))
        return func

    return register

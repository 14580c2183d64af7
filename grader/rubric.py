"""Rubrics: which checks run, their points, settings and texts (Spanish and English).

A rubric is a YAML file; ``rubrics/homework-195.yaml`` is the default. Instructors edit points,
settings, titles, messages and hints there without touching code. See that file for the format.

Every check carries default texts beside its code (:class:`grader.checks.base.Texts`); a rubric
gives only the texts it wants different, per key and per language, and the rest comes from the
check: ``checks: [{id: runs.count, points: 2}]`` with ``settings: {experiment: hw1}`` reads
"At least 10 finished runs in experiment hw1". Per language, the later wins: the check's default,
the rubric's top-level ``messages`` (for any check that emits that key), the check's own
``title``/``hint``/``messages`` in the rubric.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from . import yamlio
from .deadline import LatePolicy, parse_late_policy
from .errors import RubricError
from .task import DEFAULT_TASK, Task, parse_task

LANGS = ("es", "en")
DEFAULT_RUBRIC = "homework-195"
VISIBILITIES = ("visible", "hidden")
#: How the ranking metric orders runs, as ``search_runs(order_by=[...])`` says it.
ORDERS = ("ASC", "DESC")
#: The rubric-wide settings every check may read, declared once: name -> (default, what it is).
#: A rubric's ``settings:`` may also hold any check's own setting (``min_runs: 8``), shared by every
#: check that declares it; anything else is refused when the rubric is loaded.
RUBRIC_SETTINGS: dict[str, tuple[Any, str]] = {
    "experiment": ("homework-195", "the experiment the runs must be in"),
    "model_name": ("housing-best", "the registered model the homework names"),
    "stage": ("Production", "the stage the graded version must be in"),
    "metric": ("rmse_test", "the metric that ranks the runs (search_runs order_by)"),
    "order": ("ASC", "ASC when lower is better, DESC when higher is better"),
    "accept_alias": (False, "true: an accepted alias counts in place of the stage"),
    "accepted_aliases": (["production", "champion"], "the aliases accept_alias accepts"),
}
#: What a rubric file may hold at its top level.
TOP_LEVEL_KEYS = ("id", "title", "settings", "task", "late", "messages", "checks")


@dataclass(frozen=True)
class CheckSpec:
    """One check as the rubric configures it."""

    id: str
    points: float
    settings: Mapping[str, Any]
    title: Mapping[str, str]
    hint: Mapping[str, str]
    messages: Mapping[str, Mapping[str, str]]
    visibility: str = "visible"
    #: Whether the check decides the pass: ``passed`` and the exit code follow the required checks;
    #: the score counts every check.
    required: bool = True


@dataclass(frozen=True)
class Rubric:
    id: str
    title: Mapping[str, str]
    settings: Mapping[str, Any]
    checks: tuple[CheckSpec, ...]
    messages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    source: str = ""
    #: The late policy (the rubric's ``late:``, see :class:`grader.deadline.LatePolicy`); None: lateness
    #: costs no points (``integrity.timeline`` still reports it).
    late: LatePolicy | None = None
    #: What the homework asks (the rubric's ``task:``, see :mod:`grader.task`): class 195's by default.
    task: Task = DEFAULT_TASK

    @property
    def experiment(self) -> str:
        """The experiment the rubric grades (its ``experiment`` setting): what finds the store to grade."""
        return str(self.settings.get("experiment", "homework-195"))

    def text(self, texts: Mapping[str, str] | None, lang: str) -> str:
        """A text in ``lang``, falling back to the other language rather than to nothing."""
        if not texts:
            return ""
        return texts.get(lang) or next((t for t in texts.values() if t), "")


def shipped_folder():
    """The folder of shipped rubrics: ``grader.rubrics`` when installed, ``rubrics/`` in a checkout."""
    try:
        return resources.files("grader.rubrics")
    except ModuleNotFoundError:  # running from a source tree that is not installed
        return Path(__file__).resolve().parent.parent / "rubrics"


def available_rubrics() -> list[str]:
    """Ids of the rubrics shipped with the grader."""
    root = shipped_folder()
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_rubric(ref: str | Path = DEFAULT_RUBRIC) -> Rubric:
    """Load a rubric by shipped id (``homework-195``) or by path to a YAML file."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise RubricError(f"rubric file not found: {ref}")
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        res = shipped_folder() / f"{ref}.yaml"
        if not res.is_file():
            known = ", ".join(available_rubrics())
            raise RubricError(f"unknown rubric {ref!r} (shipped rubrics: {known}; or give a YAML file path)")
        text, source = res.read_text(encoding="utf-8"), f"{ref} (shipped)"
    try:
        data = yamlio.load(text)
    except yamlio.YAMLError as exc:
        raise RubricError(f"rubric {source} is not valid YAML: {str(exc).splitlines()[0]}") from None
    return parse_rubric(data, source)


def _texts(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {lang: value for lang in LANGS}
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    raise RubricError(f"{where}: expected a text or a mapping {{es: ..., en: ...}}")


def _message_texts(raw: Any, keys: tuple[str, ...], where: str) -> dict[str, dict[str, str]]:
    """A rubric's ``messages:`` mapping, each key one of ``keys`` (a typo is refused with the closest)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise RubricError(f"{where}: messages must be a mapping of message keys to texts")
    for key in raw:
        if key not in keys:
            close = difflib.get_close_matches(str(key), keys, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"its keys: {', '.join(keys)}"
            raise RubricError(f"{where}: no message {key!r} ({hint})")
    return {str(k): _texts(v, f"{where}: messages.{k}") for k, v in raw.items()}


def parse_rubric(data: Any, source: str = "<dict>") -> Rubric:
    """Validate a rubric's data against the check registry."""
    from .checks.base import COMMON_MESSAGES, COMMON_TEXTS, REGISTRY

    if not isinstance(data, Mapping) or not isinstance(data.get("checks"), list):
        raise RubricError(f"rubric {source}: needs an 'id' and a list of 'checks'")
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            close = difflib.get_close_matches(str(key), TOP_LEVEL_KEYS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(TOP_LEVEL_KEYS)}"
            raise RubricError(
                f"rubric {source}: unknown top-level key {key!r} ({hint}; "
                "a setting such as experiment goes under settings:)"
            )
    rubric_id = str(data.get("id") or Path(source).stem)
    # The top-level messages: the common keys (their defaults: COMMON_TEXTS), or a key any check emits.
    emitted = tuple(dict.fromkeys([*COMMON_MESSAGES, *(k for defn in REGISTRY.values() for k in defn.messages)]))
    shared = _message_texts(data.get("messages"), emitted, f"rubric {source}: messages")
    common = {key: {**COMMON_TEXTS[key], **shared.get(key, {})} for key in COMMON_MESSAGES}
    common.update({key: texts for key, texts in shared.items() if key not in common})
    checks = []
    seen = set()
    for i, raw in enumerate(data["checks"]):
        if not isinstance(raw, Mapping) or "id" not in raw:
            raise RubricError(f"rubric {source}: check #{i + 1} has no 'id'")
        cid = str(raw["id"])
        if cid not in REGISTRY:
            raise RubricError(f"rubric {source}: unknown check id {cid!r} (known: {', '.join(sorted(REGISTRY))})")
        if cid in seen:
            raise RubricError(f"rubric {source}: check {cid!r} appears twice")
        seen.add(cid)
        settings = dict(raw.get("settings") or {})
        # A rubric-wide name (experiment, model_name, metric, order, stage...) set for one check: that
        # check is graded on that experiment or model (grader.checks.evidence_key, docs/rubrics.md).
        names_own = {k: v for k, v in settings.items() if k in RUBRIC_SETTINGS and k not in REGISTRY[cid].settings}
        unknown = set(settings) - set(REGISTRY[cid].settings) - set(names_own)
        if unknown:
            names = ", ".join(sorted(unknown))
            valid = [*REGISTRY[cid].settings, *RUBRIC_SETTINGS]
            close = [c for u in sorted(unknown) for c in difflib.get_close_matches(u, valid, n=1)]
            hint = (
                f" (did you mean {', '.join(map(repr, close))}?)"
                if close
                else f" (its settings: {', '.join(REGISTRY[cid].settings) or 'none'})"
            )
            raise RubricError(f"rubric {source}: check {cid!r} has no setting(s) {names}{hint}")
        if names_own:
            checked = _rubric_settings(names_own, f"{source}: check {cid!r}", REGISTRY)
            settings.update({k: checked[k] for k in names_own})
            if settings.get("order", "ASC") not in ORDERS:
                raise RubricError(
                    f"rubric {source}: check {cid!r}: order must be ASC (lower is better) or DESC (higher is better), "
                    f"not {settings['order']!r}"
                )
        _check_choices(settings, f"rubric {source}: check {cid!r}")
        try:
            points = float(raw.get("points", 1))
        except (TypeError, ValueError):
            raise RubricError(f"rubric {source}: check {cid!r}: points must be a number") from None
        visibility = str(raw.get("visibility", "visible"))
        if visibility not in VISIBILITIES:
            raise RubricError(f"rubric {source}: check {cid!r}: visibility must be one of {VISIBILITIES}")
        required = raw.get("required", True)
        if not isinstance(required, bool):
            raise RubricError(f"rubric {source}: check {cid!r}: required must be true or false, not {required!r}")
        defaults = REGISTRY[cid].texts
        own = _message_texts(raw.get("messages"), REGISTRY[cid].messages, f"rubric {source}: check {cid!r}")
        messages = {
            key: {**defaults.messages.get(key, {}), **shared.get(key, {}), **own.get(key, {})}
            for key in REGISTRY[cid].messages
        }
        checks.append(
            CheckSpec(
                id=cid,
                points=points,
                settings=settings,
                title={**defaults.title, **_texts(raw.get("title"), f"{cid}.title")},
                hint={**defaults.hint, **_texts(raw.get("hint"), f"{cid}.hint")},
                messages=messages,
                visibility=visibility,
                required=required,
            )
        )
    settings = _rubric_settings(data.get("settings"), source, REGISTRY)
    order = settings["order"]
    if order not in ORDERS:
        raise RubricError(
            f"rubric {source}: settings.order must be ASC (lower is better) or DESC (higher is better), not {order!r}"
        )
    late = None
    if data.get("late") is not None:
        try:
            late = parse_late_policy(data["late"])
        except ValueError as exc:
            raise RubricError(f"rubric {source}: {exc}") from None
    return Rubric(
        id=rubric_id,
        title=_texts(data.get("title") or rubric_id, "title"),
        settings=settings,
        checks=tuple(checks),
        messages=common,
        source=source,
        late=late,
        task=parse_task(data.get("task"), base=_folder_of(source), where=f"rubric {source}"),
    )


#: Settings whose value is one of a few words: a typo ("warning") must not silently mean another.
CHOICES: dict[str, tuple[str, ...]] = {"severity": ("fail", "warn"), "if_missing": ("warn", "fail")}


def _check_choices(settings: Mapping[str, Any], where: str) -> None:
    for key, allowed in CHOICES.items():
        if key in settings and settings[key] not in allowed:
            close = difflib.get_close_matches(str(settings[key]), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RubricError(f"{where}: {key} must be {' or '.join(allowed)}, not {settings[key]!r}{hint}")


def _rubric_settings(raw: Any, source: str, registry) -> dict[str, Any]:
    """The rubric-wide settings with their defaults (:data:`RUBRIC_SETTINGS`), every value checked."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise RubricError(f"rubric {source}: settings must be a mapping (experiment: ..., model_name: ...)")
    shared = sorted({name for defn in registry.values() for name in defn.settings})
    known = [*RUBRIC_SETTINGS, *shared]
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(RUBRIC_SETTINGS)}"
            raise RubricError(f"rubric {source}: unknown setting {key!r} ({hint})")
    _check_choices(raw, f"rubric {source}: settings")
    out: dict[str, Any] = {name: (list(d) if isinstance(d, list) else d) for name, (d, _) in RUBRIC_SETTINGS.items()}
    for key, value in raw.items():
        default = RUBRIC_SETTINGS.get(key, (None, ""))[0]
        if isinstance(default, bool) and not isinstance(value, bool):
            raise RubricError(f"rubric {source}: settings.{key} must be true or false, not {value!r}")
        if isinstance(default, str) and (not isinstance(value, (str, int)) or isinstance(value, bool) or value == ""):
            raise RubricError(f"rubric {source}: settings.{key} must be a name, not {value!r}")
        if isinstance(default, list) and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise RubricError(f"rubric {source}: settings.{key} must be a list of names, not {value!r}")
        out[key] = str(value) if isinstance(default, str) else value
    return out


def _folder_of(source: str) -> str:
    """The folder relative data paths of a rubric file are read from ("" for a shipped rubric: its own)."""
    if source.endswith("(shipped)"):
        return str(shipped_folder())
    path = Path(source)
    return str(path.resolve().parent) if path.suffix in (".yaml", ".yml") else ""


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(_plain(v) for v in value) if value else "-"
    return str(value)


#: ``[[ ... ]]`` in a message: a part shown only when every placeholder in it has a value.
_OPTIONAL = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)


def _is_empty(value: Any) -> bool:
    """Nothing to say: None, an empty list, or the ``"-"`` a check gives for "none"."""
    if value is None:
        return True
    if isinstance(value, (list, tuple, set, dict)):
        return not value
    return isinstance(value, str) and value.strip() in ("", "-")


def _plural(value: Any, forms: str) -> str:
    """``one|other``: the first form when ``value`` is 1 (or a list of one), else the second."""
    one, _, other = forms.partition("|")
    if isinstance(value, (list, tuple, set)):
        count: float = len(value)
    else:
        try:
            count = float(value)
        except (TypeError, ValueError):
            count = 2
    return one if count == 1 else other


def _fields(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def _fill(template: str, params: Mapping[str, Any]) -> str:
    parts = list(string.Formatter().parse(template))
    out = []
    for i, (literal, name, spec, _conversion) in enumerate(parts):
        out.append(literal)
        if name is None:
            continue
        if name not in params:
            out.append("{" + name + (":" + spec if spec else "") + "}")
            continue
        value = params[name]
        if spec and spec.startswith("plural:"):
            out.append(_fill(_plural(value, spec[len("plural:") :]), params))  # a form may hold {n}
            continue
        try:  # an instructor's rubric may use Python's own specs ({rmse:.3f})
            text = format(value, spec) if spec else _plain(value)
        except (TypeError, ValueError):
            text = _plain(value)
        following = parts[i + 1][0] if i + 1 < len(parts) else ""
        if following.startswith(".") and text.endswith("."):  # "... 'O'." + "." is one full stop
            text = text[:-1]
        out.append(text)
    return "".join(out)


def render(template: str, params: Mapping[str, Any]) -> str:
    """Fill a message's ``{placeholders}`` from a check's params.

    A placeholder without a value stays visible instead of failing. Two small additions to
    Python's format syntax keep messages natural in both languages:

    * ``{n:plural:run|runs}`` is the first form when ``n`` is 1 (or a list of one), else the
      second: ``"{n} {n:plural:run|runs}"`` reads "1 run", "13 runs". A form may hold
      placeholders itself: ``{n:plural:The run has|All {n} runs have}``.
    * ``[[ Not counted: {not_counted}.]]`` is shown only when every placeholder in it has a value
      (not None, not an empty list, not ``"-"``): no "Not counted: -." when nothing was left out.

    A value that ends with a full stop right before the template's own does not double it.
    """
    try:
        template = _OPTIONAL.sub(
            lambda m: "" if any(_is_empty(params.get(f)) for f in _fields(m.group(1))) else m.group(1), template
        )
        return _fill(template, params)
    except (ValueError, IndexError, AttributeError, KeyError):
        return template

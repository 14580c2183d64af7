"""YAML in and out, with libyaml's C parser when PyYAML has it (about 5x faster on meta.yaml files).

Only safe loading: a student's YAML never builds Python objects. And bounded: YAML aliases
(``*name``) repeat what an anchor (``&name``) holds without copying it, so a file of a few hundred
bytes can stand for a billion strings (the "billion laughs": nine lists of nine references to the
previous list). Loading it is cheap, but anything that walks the result afterwards (``str()``, a
comparison, JSON) takes minutes and gigabytes. :func:`load` therefore counts, before building
anything, how many nodes the document would have with every alias expanded, and refuses it with
:class:`YAMLBombError` past :data:`MAX_EXPANDED_NODES` (or when an alias refers to its own
enclosing node: a structure without end). A document without a ``*`` has no alias and costs
nothing more to load.
"""

from __future__ import annotations

from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
YAMLError = yaml.YAMLError

#: Nodes (scalars, lists, mappings) a document may expand to. MLflow's own files hold a few dozen
#: (an ``MLmodel`` with a signature a few hundred); a rubric a few thousand.
MAX_EXPANDED_NODES = 100_000


class YAMLBombError(yaml.YAMLError):
    """A document whose aliases expand past :data:`MAX_EXPANDED_NODES` nodes, or refer to themselves."""


class YAMLValueError(yaml.YAMLError):
    """A document that parses but holds a value Python cannot build (``0000-00-00``: year 0)."""


def expanded_size(text: str, limit: int = MAX_EXPANDED_NODES) -> int:
    """The number of nodes of ``text`` with every alias expanded, counted from the parser's events
    (nothing is built), stopping with :class:`YAMLBombError` as soon as it passes ``limit``.

    Each anchored node's expanded size is remembered when it ends; an alias adds that size. An alias
    to a node that has not ended yet is a recursive structure: refused too."""
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = []  # open collections: [anchor, size so far]
    total = 0

    def add(n: int) -> None:
        nonlocal total
        total += n
        if total > limit:
            raise YAMLBombError(
                f"YAML aliases expand to more than {limit:,} nodes (an alias bomb, 'billion laughs'): refused"
            )
        if stack:
            stack[-1][1] += n

    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in sizes:
                raise YAMLBombError(
                    f"YAML alias *{event.anchor} refers to a node that contains it (a structure without end): refused"
                )
            add(sizes[event.anchor])
        elif isinstance(event, yaml.ScalarEvent):
            add(1)
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            stack.append([event.anchor, 1])
            total += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
            if anchor is not None:
                sizes[anchor] = size
            if stack:
                stack[-1][1] += size
    return total


def load(text: str) -> Any:
    """``yaml.safe_load(text)``, faster, refusing alias bombs (:class:`YAMLBombError`) and values
    Python cannot build (:class:`YAMLValueError`); both are :class:`YAMLError`s, so callers that
    handle broken YAML handle them too."""
    if "*" in text:
        expanded_size(text)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is (C)SafeLoader
    except (ValueError, OverflowError) as exc:  # timestamps and numbers PyYAML builds itself
        raise YAMLValueError(f"a value cannot be read: {exc}") from None


def dump(data: Any) -> str:
    """Block-style YAML with keys in their order, as MLflow writes its ``meta.yaml`` files."""
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True)

"""The package's seams stay seams: no import cycle between grader's modules (at import time), and no
module imports another module's private name (``from .batch import _helper``)."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import REPO_ROOT

ROOT = REPO_ROOT / "grader"


def _modules() -> dict[str, Path]:
    mods = {}
    for f in ROOT.rglob("*.py"):
        parts = f.relative_to(REPO_ROOT).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return mods


def _imports(mods: dict[str, Path]):
    """(module, imported module, imported names, top-level?) for every ``from`` import inside grader."""
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                yield name, target, [a.name for a in node.names], node in tree.body
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield name, alias.name, [], node in tree.body


def _graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, target, names, top_level in _imports(mods):
        if not top_level:
            continue  # imported when a function runs: no cycle at import time
        submodules = {f"{target}.{n}" for n in names} & set(mods)
        graph[name] |= {m for m in submodules if m != name}
        if target in mods and target != name and len(submodules) < max(len(names), 1):
            graph[name].add(target)
    return graph


def test_no_import_cycle():
    graph = _graph(_modules())
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            assert cycle is None, " -> ".join(cycle)


def test_no_import_of_another_modules_private_name():
    mods = _modules()
    found = [f"{name}: from {target} import {n}"
             for name, target, names, _ in _imports(mods) if target.startswith("grader")
             for n in names if n.startswith("_") and not n.startswith("__") and f"{target}.{n}" not in mods]
    assert not found, found


def test_every_package_of_grader_is_installed():
    """``pip install .`` installs the packages pyproject.toml lists, no others: a new package of
    ``grader/`` (a folder with an ``__init__.py``) missing there would be absent from an install."""
    import re

    text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")  # no tomllib before Python 3.11
    block = re.search(r"^packages = \[(.*?)\]", text, re.S | re.M)
    assert block, "pyproject.toml: no [tool.setuptools] packages list"
    listed = set(re.findall(r'"([\w.]+)"', block.group(1)))
    found = {".".join(p.parent.relative_to(REPO_ROOT).parts) for p in ROOT.rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)

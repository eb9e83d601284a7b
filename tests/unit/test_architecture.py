"""The package's layering, read from its sources: the folders are layers, imports run downwards only, no module
imports another in a cycle, no module grows past 600 lines, and an import written inside a function says why.

A function-level import of a qsnn module is allowed where it keeps a lighter import free of torch (or, in the
command lines, lets the extras check name a missing torch first); the reason sits in a comment on its line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "qsnn"

#: Lowest first. A module may import, at module level, only from its own layer or below.
LAYERS = [
    {"_core"},
    {"spiketrains"},
    {"nn", "stats"},
    {"models", "size", "checkpoint", "data"},
    {"train"},
    {"experiments"},
    {"bridge", "deploy"},
    {"book"},
]
LAYER = {part: i for i, parts in enumerate(LAYERS) for part in parts}
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = ["qsnn", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p) for p in PACKAGE.rglob("*.py")}


def _part(module: str) -> str | None:
    """The layer's folder (or top-level module) a dotted qsnn name belongs to; None for ``qsnn`` itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join(anchor + ([node.module] if node.module else []))
    if not base.startswith("qsnn"):
        return []
    if node.module is None:  # from . import a, b: a name is a module, or a value of the package
        return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    return [base]


def _imports():
    """(module, target, line, at_module_level, source line) for every import of a qsnn module."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module, source = _module_name(path), path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source)
        in_function = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                in_function |= {id(n) for n in ast.walk(node) if n is not node}
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.ImportFrom):
                targets = _resolve(module, path.name == "__init__.py", node)
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("qsnn")]
            for target in targets:
                above = lines[node.lineno - 2] if node.lineno > 1 and lines[node.lineno - 2].strip().startswith("#") else ""
                found.append((module, target, node.lineno, id(node) not in in_function,
                              "\n".join([above, *lines[node.lineno - 1:node.end_lineno]])))
    return found


IMPORTS = _imports()


def test_every_folder_is_placed_in_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.name != "__init__.py"}
    assert parts == set(LAYER), f"place each part in LAYERS: {sorted(parts ^ set(LAYER))}"


def test_module_level_imports_run_downwards():
    upward = [(m, t) for m, t, _, top, _ in IMPORTS
              if top and _part(m) and _part(t) and LAYER[_part(t)] > LAYER[_part(m)]]
    assert not upward, upward


def test_no_import_cycles_at_module_level():
    graph: dict[str, set[str]] = {}
    for m, t, _, top, _ in IMPORTS:
        if top:
            while t not in MODULES and "." in t:  # from .x import name: the module x
                t = t.rsplit(".", 1)[0]
            if t != m:
                graph.setdefault(m, set()).add(t)
    # a package's __init__ importing its own submodules is how packages work; a cycle through it is not
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1 and not node.startswith(nxt + "."):
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


def test_function_level_imports_say_why():
    silent = [f"{m}:{line}: {text.strip()}" for m, t, line, top, text in IMPORTS
              if not top and "#" not in text and _part(t) != _part(m)]
    assert not silent, "a function-level import of another part needs its reason in a comment:\n" + "\n".join(silent)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_longer_than_600_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_the_checks_see_the_package():
    """The walk finds the layering's known edges, so an empty result above cannot pass by accident."""
    edges = {(_part(m), _part(t)) for m, t, _, top, _ in IMPORTS if top}
    assert {("nn", "_core"), ("models", "nn"), ("train", "models"), ("book", "spiketrains")} <= edges
    assert any(not top for *_, top, _ in IMPORTS)

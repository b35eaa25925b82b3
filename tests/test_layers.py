"""The package's layers (docs/architecture.md): no import cycles, and each layer imports only those below.

Imports are read from the source with ``ast``: module-level, function-level and ``TYPE_CHECKING`` ones, plus
``importlib.import_module("rlsuite...")`` calls with a literal name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rlsuite"

# Which groups of modules each group may import (a group: a subpackage, or a module named here).
ALLOWED = {
    "rlsuite.core": {"rlsuite.core"},
    "rlsuite.config_schema": {"rlsuite.core"},
    "rlsuite.config": {"rlsuite.core", "rlsuite.config_schema"},
    "rlsuite.envs": {"rlsuite.core", "rlsuite.config", "rlsuite.envs", "rlsuite.wrappers"},
    "rlsuite.wrappers": {"rlsuite", "rlsuite.core", "rlsuite.config", "rlsuite.envs", "rlsuite.wrappers"},
    "rlsuite.agents": {"rlsuite.core", "rlsuite.config", "rlsuite.agents"},
    "rlsuite.training.evaluation": {"rlsuite.core", "rlsuite.agents"},
    "rlsuite.training.run": {"rlsuite.core", "rlsuite.config", "rlsuite.training.evaluation"},
    "rlsuite.training.loop": {
        "rlsuite",
        "rlsuite.core",
        "rlsuite.config",
        "rlsuite.training.evaluation",
        "rlsuite.training.run",
        "rlsuite.training.callbacks",
        "rlsuite.training.media",
    },
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    """The rlsuite modules ``module`` imports, wherever in the file."""
    found: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {_resolve(alias.name) for alias in node.names if alias.name.startswith("rlsuite")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if base.startswith("rlsuite"):
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    found.add(full if full in MODULES else _resolve(base))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).startswith("rlsuite")
        ):
            found.add(_resolve(str(node.args[0].value)))
    return {name for name in found if name and name != module}


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _group(module: str) -> str:
    """The most specific key of ALLOWED that ``module`` belongs to ("rlsuite" for the package itself)."""
    matches = [g for g in ALLOWED if module == g or module.startswith(g + ".")]
    return max(matches, key=len) if matches else module


def test_the_finder_sees_function_level_and_type_checking_imports():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert "rlsuite.algos" in GRAPH["rlsuite.algos.base"]  # from_checkpoint's function-level import
    assert "rlsuite.envs.builtin" in GRAPH["rlsuite.envs.registry"]  # _ensure_builtins


def test_no_import_cycles():
    assert _cycles(GRAPH) == []


@pytest.mark.parametrize("group", sorted(ALLOWED))
def test_layers_import_only_what_is_below_them(group):
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if _group(module) == group
        for target in targets
        if not any(target == a or target.startswith(a + ".") for a in ALLOWED[group] - {"rlsuite"})
        and not (target == "rlsuite" and "rlsuite" in ALLOWED[group])
    )
    assert wrong == []


@pytest.mark.parametrize("folder", ["algos", "agents"])
def test_learners_and_policies_never_name_an_env_module(folder):
    """Learners reach envs through ``rlsuite.make_vec``/``rlsuite.spec`` and typed specs only."""
    named = [
        f"{path.relative_to(PACKAGE.parent)}:{number}"
        for path in sorted((PACKAGE / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "rlsuite.envs" in line
    ]
    assert named == []

"""The house rules of docs/architecture.md, checked on the source itself.

Imports point one way, from higher layers to lower ones; modules and functions stay
small enough to read. Each rule is read from the code with :mod:`ast` (imports inside
functions count too; imports under ``if TYPE_CHECKING:`` do not, as they never run).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tennis_lab"

# Each component of the package (a module, or a subpackage as a whole) and its layer: a
# component imports only components of lower layers (and itself).
LAYERS: dict[str, int] = {
    "errors": 0,
    "params": 1, "paths": 1,
    "results": 2, "backends": 2, "grids": 2, "windows": 2, "evaluation": 2, "model": 2,
    "poses": 2,
    "demo": 3, "importers": 3, "datacache": 3, "plots": 3, "training": 3, "tracking": 3,
    "kernels": 3, "executors": 3, "strategies": 3,
    "preflight": 4, "analysis": 4, "predict": 4,
    "search": 5, "report": 5,
    "cli": 6, "__main__": 7,
}  # fmt: skip

# What the issue that set these rules names explicitly, beyond the layers.
NEVER = {
    "results": {"training", "evaluation", "tracking", "search", "analysis"},
    "analysis": {"tracking", "training", "search"},
    "tracking": {"plots", "training"},
    "params": set(LAYERS) - {"errors", "params"},
    "plots": {"training", "tracking", "evaluation", "analysis", "search"},
}

MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 100


def _component(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _sources() -> list[Path]:
    # The package's own __init__ is its facade: it names entry points, loaded on first use.
    top = PACKAGE / "__init__.py"
    return sorted(p for p in PACKAGE.rglob("*.py") if p != top)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> set[str]:
    """The package components ``path`` imports at run time."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for orelse in child.orelse:
                    visit(orelse)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("tennis_lab."):
                        found.add(alias.name.split(".")[1])
            elif isinstance(child, ast.ImportFrom):
                module = child.module or ""
                if child.level:  # relative: inside its own subpackage
                    continue
                if module == "tennis_lab":
                    found.update(alias.name for alias in child.names if alias.name in LAYERS)
                elif module.startswith("tennis_lab."):
                    found.add(module.split(".")[1])
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    own = _component(path) if path.is_relative_to(PACKAGE) else None
    return found - {own}


def test_every_component_has_a_layer():
    components = {_component(p) for p in _sources()}
    assert components <= set(LAYERS), f"give these a layer: {sorted(components - set(LAYERS))}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    me = _component(path)
    upward = {c for c in _imports(path) if LAYERS.get(c, 99) >= LAYERS[me]}
    assert not upward, f"{path.name} ({me}, layer {LAYERS[me]}) imports {sorted(upward)}"
    banned = _imports(path) & NEVER.get(me, set())
    assert not banned, f"{me} must never import {sorted(banned)}"


def test_nothing_imports_the_command_line():
    users = [p.name for p in _sources() if "cli" in _imports(p) and _component(p) != "__main__"]
    assert users == []


def test_the_checker_sees_an_upward_import(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from tennis_lab.training import RunResult\n"
        "def f():\n    from tennis_lab.search import run_search\n"
    )
    assert _imports(bad) == {"search"}


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_small(path):
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    assert lines <= MAX_MODULE_LINES, f"{path.name} has {lines} lines; split it by concept"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path.name}: {long}"


@pytest.mark.parametrize(
    "module, must_not_load",
    [
        ("tennis_lab.results", {"tennis_lab.evaluation", "tennis_lab.training", "keras"}),
        ("tennis_lab.params", {"tennis_lab.results", "tennis_lab.windows", "tennis_lab.model"}),
        ("tennis_lab.strategies", {"tennis_lab.training", "tennis_lab.tracking"}),
        ("tennis_lab.tracking", {"tennis_lab.plots", "tennis_lab.training", "matplotlib"}),
        ("tennis_lab.analysis", {"tennis_lab.tracking", "tennis_lab.training", "keras"}),
    ],
)
def test_importing_a_module_loads_only_what_it_needs(module, must_not_load):
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert not must_not_load & set(out), sorted(must_not_load & set(out))


def test_every_error_the_package_raises_derives_from_one_base():
    import importlib
    import inspect
    import pkgutil

    import tennis_lab
    from tennis_lab.errors import TennisLabError

    # SIGTERM ends a search as Ctrl-C does: it is an interrupt, not an error.
    interrupts = {"SearchTerminated"}
    found, outside = [], []
    for info in pkgutil.walk_packages(tennis_lab.__path__, "tennis_lab."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == info.name:
                found.append(name)
                if not issubclass(obj, TennisLabError) and name not in interrupts:
                    outside.append(f"{info.name}.{name}")
    assert len(found) >= 19 and outside == []


def test_the_command_line_prints_any_package_error_as_one_line(tmp_path, capsys):
    from tennis_lab.cli import main

    status = main(["data", "demo", str(tmp_path / "d"), "--players", "0"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert "--players" in err and "Fix:" in err

"""The package's shape: parts in layers, imports flowing down, small modules with a docstring.

A newcomer should see the architecture from the tree (see the README's Layout section): each
part of labkit imports only from the parts below it, lazily imported ones included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "labkit"

# Bottom to top. A module may import from its own part and from any part with a lower number.
LAYERS = {"system": 0, "models": 1, "engines": 2, "measure": 3, "quant": 3, "tradeoffs": 3, "ollama": 4,
          "rag": 4, "course": 5, "cli": 6}

# Modules allowed past ~400 lines, and why.
LONG_MODULES: dict[str, str] = {}


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "labkit"


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "data" not in p.parts)


def _imports(file: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("labkit"):
            found.add(node.module)
            if node.module == "labkit":  # `from labkit import models`; DATA_DIR and helpers are not parts
                found.update(f"labkit.{alias.name}" for alias in node.names if alias.name in LAYERS)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("labkit"))
    return found


def test_every_module_belongs_to_a_layer() -> None:
    for file in _modules():
        relative = file.relative_to(PACKAGE)
        if len(relative.parts) == 1:
            assert relative.stem in ("__init__", "cli"), f"{relative}: put it in one of the parts {sorted(LAYERS)}"
        else:
            assert relative.parts[0] in LAYERS, f"{relative}: unknown part"


def test_imports_flow_down_the_layers() -> None:
    wrong = []
    for file in _modules():
        relative = file.relative_to(PACKAGE)
        here = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        if here == "__init__":
            continue
        for module in _imports(file):
            there = _part(module)
            if there == "labkit" or there == here:
                continue
            if LAYERS[there] > LAYERS[here] or (LAYERS[there] == LAYERS[here] and there != here
                                                and here not in ("measure", "quant", "tradeoffs")):
                wrong.append(f"labkit/{relative} imports {module} ({here} is below {there})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("file", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_is_small_and_says_what_it_is_for(file: Path) -> None:
    text = file.read_text()
    relative = str(file.relative_to(PACKAGE))
    assert ast.get_docstring(ast.parse(text)) or not text.strip(), f"{relative} needs a docstring"
    lines = len(text.splitlines())
    assert lines <= 400 or relative in LONG_MODULES, f"{relative} has {lines} lines: split it by idea"

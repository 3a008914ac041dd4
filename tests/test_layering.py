"""The layers stay one-way: jobs never import openpyxl or xlwings; the API client knows
nothing of workbooks, jobs or Excel."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kolaybi_xl"

FORBIDDEN = {
    "jobs": ("openpyxl", "xlwings", "python_calamine", "kolaybi_xl.workbook.xlsx"),
    "api": ("openpyxl", "xlwings", "kolaybi_xl.workbook", "kolaybi_xl.jobs", "kolaybi_xl.excel"),
}


def _imports(path: Path) -> list[str]:
    """Every module a file imports, relative imports resolved to ``kolaybi_xl.…``."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_it_must_not(layer: str) -> None:
    wrong = [
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for name in _imports(path)
        if name.startswith(FORBIDDEN[layer])
    ]
    assert not wrong


def test_the_check_sees_relative_imports() -> None:
    names = _imports(PACKAGE / "jobs" / "fetch.py")
    assert any(name.startswith("kolaybi_xl.workbook.") for name in names)

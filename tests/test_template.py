"""The committed template, checked as an independent reader would (olevba, zip, XML)."""

from __future__ import annotations

import pytest

pytest.importorskip("xlwings", reason="the Excel side needs xlwings (Python 3.11+)")

import ast
import importlib
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import xlwings
from openpyxl.utils import get_column_letter

from kolaybi_xl.jobs.settings import SECRET_LABELS
from kolaybi_xl.template import BUTTONS, TEMPLATE_PATH, build_template, init_workbook
from kolaybi_xl.vba import macro_names, read_modules, runpython_commands, xlwings_version
from kolaybi_xl.workbook import layout


@pytest.fixture(scope="module")
def modules() -> dict[str, str]:
    return read_modules(TEMPLATE_PATH)


def zip_members(path_or_bytes: Path | bytes) -> dict[str, bytes]:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with zipfile.ZipFile(source) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_rebuilding_the_template_gives_the_committed_file():
    rebuilt = io.BytesIO()
    build_template(rebuilt)
    assert zip_members(rebuilt.getvalue()) == zip_members(TEMPLATE_PATH)


def test_vba_modules_read_back_with_olevba(modules):
    assert {"KolayBi", "xlwings", "ThisWorkbook"} <= set(modules)
    assert "Module1" not in modules
    source = (Path(layout.__file__).parents[1] / "vba" / "KolayBi.bas").read_text("ascii")
    expected = [line for line in source.splitlines() if not line.startswith("Attribute ")]
    got = [line for line in modules["KolayBi"].splitlines() if not line.startswith("Attribute ")]
    assert got == expected


def test_every_runpython_command_imports_and_names_an_existing_function(modules):
    commands = runpython_commands(modules["KolayBi"])
    assert len(commands) == 6
    called = set()
    for command in commands:
        tree = ast.parse(command)
        imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import)]
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        assert len(imports) == 1
        assert len(calls) == 1
        alias = imports[0].names[0]
        module = importlib.import_module(alias.name)
        func = calls[0].func
        assert isinstance(func, ast.Attribute)
        assert isinstance(func.value, ast.Name)
        assert func.value.id == (alias.asname or alias.name)
        assert callable(getattr(module, func.attr)), f"{alias.name}.{func.attr} is missing"
        called.add(func.attr)
    assert called == {
        "refresh_invoices",
        "refresh_vaults",
        "collect_marked",
        "undo_marked",
        "build_report",
        "check_setup",
    }


def test_every_button_is_bound_to_an_existing_macro(modules):
    macros = set(macro_names(modules["KolayBi"]))
    members = zip_members(TEMPLATE_PATH)
    vml = b"".join(v for k, v in members.items() if k.startswith("xl/drawings/vmlDrawing"))
    bound = re.findall(rb"<x:FmlaMacro>\[0\]!(\w+)</x:FmlaMacro>", vml)
    assert sorted(b.decode() for b in bound) == sorted(m for _, m in BUTTONS)
    assert {b.decode() for b in bound} <= macros


def test_template_xlwings_version_equals_the_pinned_one(modules):
    assert xlwings_version(modules) == xlwings.__version__ == "0.37.8"
    pyproject = (TEMPLATE_PATH.parent / "pyproject.toml").read_text()
    assert "\"xlwings==0.37.8; python_version >= '3.11'\"" in pyproject


def test_template_sheets_and_layout():
    book = openpyxl.load_workbook(TEMPLATE_PATH, keep_vba=True)
    assert book.sheetnames == list(layout.SHEET_ORDER)
    sheet = book[layout.INVOICES]
    header = [c.value for c in sheet[layout.INVOICE_HEADER_ROW]]
    assert header == [c.header for c in layout.INVOICE_COLUMNS]
    assert sheet.freeze_panes == "B7"
    assert layout.VAULT_NAMES_RANGE in book.defined_names
    formulas = {dv.formula1 for dv in sheet.data_validations.dataValidation}
    assert layout.VAULT_NAMES_RANGE in formulas
    # Tahsil Tutarı: a decimal > 0 that only hints (Turkish text like "1.234,50" stays typeable)
    amount = get_column_letter(layout.INVOICE_COLUMNS.index(layout.C_AMOUNT) + 1)
    (check,) = [
        dv for dv in sheet.data_validations.dataValidation if str(dv.sqref).startswith(amount)
    ]
    assert (check.type, check.operator, check.formula1) == ("decimal", "greaterThan", "0")
    assert check.showErrorMessage is False
    assert check.showInputMessage is True
    assert (check.promptTitle, check.prompt) == (layout.C_AMOUNT.header, layout.AMOUNT_PROMPT)
    settings = book[layout.SETTINGS]
    labels = [row[0].value for row in settings.iter_rows(min_row=2)]
    assert labels[: len(layout.SETTINGS_ROWS)] == [label for label, _, _ in layout.SETTINGS_ROWS]
    conf = book[layout.XLWINGS_CONF]
    assert conf["A1"].value == "Interpreter_Win"
    # the template passes the settings check that refuses a key in a workbook
    assert not any(str(label).casefold() in SECRET_LABELS for label in labels if label)


@pytest.mark.parametrize("suffix", [".xlsm", ".xlsx"])
def test_init_workbook_writes_the_interpreter_and_keeps_the_vba(tmp_path, suffix):
    target = tmp_path / f"book{suffix}"
    init_workbook(target, interpreter=r"C:\Python311\python.exe", platform="win32")
    members = zip_members(target)
    template = zip_members(TEMPLATE_PATH)
    if suffix == ".xlsm":
        assert members["xl/vbaProject.bin"] == template["xl/vbaProject.bin"]
    else:
        assert "xl/vbaProject.bin" not in members
    book = openpyxl.load_workbook(target)
    conf = book[layout.XLWINGS_CONF]
    assert conf["B1"].value == r"C:\Python311\python.exe"
    assert conf["B2"].value is None
    assert list(tmp_path.glob(".~kolaybi-*")) == []

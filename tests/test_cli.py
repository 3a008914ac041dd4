"""The kolaybi-xl command on real files, against the sandbox over HTTP."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from kolaybi_xl.cli import main
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout


@pytest.fixture
def sandbox(start_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return start_sandbox(invoices=90, seed=11)


def run(*args: str) -> int:
    return main([str(a) for a in args])


def invoice_rows(path: Path) -> tuple[list[str], list[tuple]]:
    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    rows = list(sheet.iter_rows(min_row=layout.INVOICE_HEADER_ROW, values_only=True))
    return list(rows[0]), [r for r in rows[1:] if r[0] is not None]


def test_fetch_creates_a_workbook_with_typed_cells(sandbox, tmp_path, capsys):
    path = tmp_path / "book.xlsx"
    assert run("fetch", path) == 0
    assert "invoices" in capsys.readouterr().out
    header, rows = invoice_rows(path)
    expected = {r.id for r in sandbox.books.invoice_records("sale_invoice")}
    assert {r[0] for r in rows} == expected
    col = {h: i for i, h in enumerate(header)}
    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    for r_index, row in enumerate(rows):
        record = sandbox.books.invoices[row[0]]
        assert isinstance(row[col["Düzenleme Tarihi"]], datetime)  # openpyxl reads dates so
        assert isinstance(row[col["Genel Toplam"]], (int, float))
        assert str(row[col["Genel Toplam"]]) == str(float(record.grand_total))
        assert isinstance(row[col["VKN/TCKN"]], str)
        cell = sheet.cell(layout.INVOICE_HEADER_ROW + 1 + r_index, col["Cari"] + 1)
        assert cell.data_type == "s"
    assert set(book.sheetnames) >= set(layout.SHEET_ORDER) - {layout.XLWINGS_CONF}
    kasalar = book[layout.VAULTS]
    assert kasalar["A1"].value == "Kasa ID"
    assert kasalar.max_row - 1 == len(sandbox.books.vaults)


def test_hostile_text_is_never_a_formula_in_the_file(sandbox, tmp_path):
    path = tmp_path / "book.xlsx"
    assert run("fetch", path) == 0
    with zipfile.ZipFile(path) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "HYPERLINK" in sheet_xml
    assert "<f>" not in sheet_xml.split("<sheetData>")[1].split("</sheetData>")[0]


def test_fetch_all_types_and_xlsm_from_the_template(sandbox, tmp_path):
    path = tmp_path / "book.xlsm"
    assert run("fetch", path, "--type", "all") == 0
    _, rows = invoice_rows(path)
    assert len(rows) == len(sandbox.books.invoices)
    with zipfile.ZipFile(path) as archive, zipfile.ZipFile(layout_template()) as template:
        assert archive.read("xl/vbaProject.bin") == template.read("xl/vbaProject.bin")


def layout_template() -> Path:
    from kolaybi_xl.template import TEMPLATE_PATH

    return TEMPLATE_PATH


def test_repeated_type_option(sandbox, tmp_path):
    path = tmp_path / "book.xlsx"
    assert run("fetch", path, "--type", "purchase_invoice", "--type", "sale_return_invoice") == 0
    _, rows = invoice_rows(path)
    expected = len(sandbox.books.invoice_records("purchase_invoice")) + len(
        sandbox.books.invoice_records("sale_return_invoice")
    )
    assert len(rows) == expected


def test_unknown_type_is_bad_usage(sandbox, tmp_path, capsys):
    assert run("fetch", tmp_path / "b.xlsx", "--type", "bogus") == 2
    assert "bogus" in capsys.readouterr().err
    assert not (tmp_path / "b.xlsx").exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100),
        ("binary.xlsb", b"PK\x03\x04junk"),
        ("data.csv", b"a,b\n1,2\n"),
        ("notes.xlsx", b"just some text"),
    ],
)
def test_wrong_files_are_refused_with_one_line(sandbox, tmp_path, capsys, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    assert run("fetch", path) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert name in err
    assert "Traceback" not in err
    assert path.read_bytes() == content


def test_locked_workbook_is_refused_and_untouched(sandbox, tmp_path, capsys):
    path = tmp_path / "book.xlsx"
    assert run("fetch", path) == 0
    before = path.read_bytes()
    (tmp_path / "~$book.xlsx").write_bytes(b"\x05Ayse " + b" " * 100)
    assert run("fetch", path) == 2
    assert "Excel" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_unreachable_api_is_exit_3_and_the_file_is_untouched(tmp_path, monkeypatch, capsys):
    with Sandbox(invoices=1) as sb:
        url = sb.url
    monkeypatch.setenv("KOLAYBI_BASE_URL", url)
    monkeypatch.setenv("KOLAYBI_CHANNEL", "c")
    monkeypatch.setenv("KOLAYBI_API_KEY", "k")
    path = tmp_path / "book.xlsx"
    assert run("fetch", path) == 3
    assert "could not be reached" in capsys.readouterr().err
    assert not path.exists()


def test_refused_credentials_are_exit_3_without_the_key(sandbox, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KOLAYBI_API_KEY", "not-the-right-key-123")
    assert run("fetch", tmp_path / "book.xlsx") == 3
    err = capsys.readouterr().err
    assert "credentials" in err
    assert "not-the-right-key-123" not in err


def test_missing_settings_are_exit_2(tmp_path, capsys):
    assert run("fetch", tmp_path / "book.xlsx") == 2
    assert "Channel" in capsys.readouterr().err


def test_vaults_command(sandbox, tmp_path, capsys):
    path = tmp_path / "book.xlsx"
    assert run("vaults", path) == 0
    book = openpyxl.load_workbook(path)
    assert book[layout.VAULTS].max_row == len(sandbox.books.vaults) + 1


needs_xlwings = pytest.mark.skipif(
    importlib.util.find_spec("xlwings") is None,
    reason="macro workbooks are built from xlwings' VBA project (Python 3.11+)",
)


@needs_xlwings
def test_init_workbook_and_force(tmp_path, capsys):
    path = tmp_path / "new.xlsm"
    assert run("init-workbook", path) == 0
    assert run("init-workbook", path) == 2
    assert "exists" in capsys.readouterr().err
    assert run("init-workbook", path, "--force") == 0
    with zipfile.ZipFile(path) as archive:
        assert "xl/vbaProject.bin" in archive.namelist()


def test_report_command(sandbox, tmp_path, capsys):
    path = tmp_path / "book.xlsx"
    assert run("fetch", path) == 0
    assert run("report", path, "--as-of", "2026-11-01") == 0
    book = openpyxl.load_workbook(path)
    values = [v for row in book[layout.SUMMARY].iter_rows(values_only=True) for v in row]
    assert datetime(2026, 11, 1) in values or date(2026, 11, 1) in values
    assert run("report", path, "--as-of", "yesterday") == 2


def test_module_entry_point_and_version():
    out = subprocess.run(
        [sys.executable, "-m", "kolaybi_xl", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stdout.startswith("kolaybi-xl ")


def test_connection_options_work_before_and_after_the_command(sandbox, tmp_path, monkeypatch):
    monkeypatch.delenv("KOLAYBI_CHANNEL")
    path = tmp_path / "book.xlsx"
    assert run("fetch", path, "--channel", sandbox.channel) == 0
    assert run("--channel", sandbox.channel, "vaults", path) == 0
    assert run("--channel", "wrong", "vaults", path, "--channel", sandbox.channel) == 0
    assert run("vaults", path) == 2  # no channel anywhere: a settings error


def test_a_library_warning_goes_to_the_log_file_not_the_terminal(tmp_path, capsys):
    """openpyxl warns on stderr about what it cannot read (a print area LibreOffice wrote):
    noise a person cannot act on. A command sends such warnings to its log file."""
    import argparse
    import warnings

    cli_main = sys.modules["kolaybi_xl.cli.main"]  # the package exports the function "main"

    def command(args: argparse.Namespace) -> int:
        warnings.warn("Print area cannot be set to Defined name: Faturalar!$A:$V.", stacklevel=1)
        return 0

    args = argparse.Namespace(func=command, command="test", verbose=0, lang=None)
    assert cli_main._run(args) == 0
    assert "Print area" not in capsys.readouterr().err
    logs = list((tmp_path / "state").rglob("*.log"))
    assert any("Print area" in p.read_text(encoding="utf-8") for p in logs)

"""What a workbook looks like on screen and on paper (#13): every font named, every sheet set
up for A4 landscape with its header row, page header and footer, as each writer makes it."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from kolaybi_xl.cli import main
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.template import build_template
from kolaybi_xl.workbook import layout

FONTS = re.compile(rb"<fonts[^>]*>(.*?)</fonts>", re.S)
FONT = re.compile(rb"<font\b[^>]*?(?:/>|>.*?</font>)", re.S)


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(invoices=60, seed=13) as sb:
        monkeypatch.setenv("KOLAYBI_BASE_URL", sb.url)
        monkeypatch.setenv("KOLAYBI_CHANNEL", sb.channel)
        monkeypatch.setenv("KOLAYBI_API_KEY", sb.api_key)
        yield sb


def run(*args: Any) -> int:
    return main([str(a) for a in args])


def nameless_fonts(data: bytes) -> list[bytes]:
    """The cell fonts of a workbook (``<fonts>`` in styles.xml) that name no face.

    (Conditional formats' fonts in ``<dxfs>`` only change the colour of the cell's own font.)
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        styles = archive.read("xl/styles.xml")
    (fonts,) = FONTS.findall(styles)
    found = FONT.findall(fonts)
    assert found
    return [f for f in found if f'<name val="{layout.FONT_NAME}"'.encode() not in f]


def check_paper(path: Path) -> None:
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        paper = layout.PAPER[sheet.title]
        setup = sheet.page_setup
        assert setup.orientation == "landscape", sheet.title
        assert int(setup.paperSize) == layout.A4, sheet.title
        fitted = sheet.sheet_properties.pageSetUpPr.fitToPage
        if sheet.title == layout.SUMMARY and not fitted:
            # a report sets its own size, so that each side prints on one page
            assert 10 <= int(setup.scale) <= 100
        else:
            assert fitted, sheet.title
            assert int(setup.fitToWidth or 1) == paper.pages_wide, sheet.title
            tall = int(setup.fitToHeight if setup.fitToHeight is not None else 1)
            assert tall == paper.pages_tall, sheet.title
        assert sheet.oddHeader.center.text == "&A", sheet.title
        assert sheet.oddFooter.center.text == "Sayfa &P / &N", sheet.title
        assert "&D" in (sheet.oddFooter.right.text or ""), sheet.title
    invoices = book[layout.INVOICES]
    header = layout.INVOICE_HEADER_ROW
    assert invoices.print_title_rows.replace("$", "") == f"{header}:{header}"
    assert invoices.print_title_cols.replace("$", "") == "A:A"
    # Etiketler, the last column, stays off paper
    assert invoices.print_area.replace("$", "").endswith("!A1:V1048575") or (
        invoices.print_area.replace("$", "").endswith("!A1:V1048576")
    )


@pytest.mark.parametrize("macros", [True, False])
def test_the_template_names_every_font_and_prints_as_an_accountant_expects(
    tmp_path: Path, macros: bool
) -> None:
    buffer = io.BytesIO()
    build_template(buffer, macros=macros)
    assert nameless_fonts(buffer.getvalue()) == []
    path = tmp_path / ("t.xlsm" if macros else "t.xlsx")
    path.write_bytes(buffer.getvalue())
    check_paper(path)


def test_fetched_collected_and_reported_workbooks_name_every_font(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "book.xlsx"
    assert run("fetch", path, "--type", "all") == 0
    assert nameless_fonts(path.read_bytes()) == []
    check_paper(path)

    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    columns = {c.value: c.column for c in sheet[layout.INVOICE_HEADER_ROW] if c.value}
    vault = next(v.name for v in sandbox.books.vault_records() if v.currency.upper() == "TRY")
    marked = 0
    for row in sheet.iter_rows(min_row=layout.INVOICE_HEADER_ROW + 1):
        values = {h: row[c - 1].value for h, c in columns.items()}
        if (
            values["Tür"] == "Satış Faturası"
            and values["Para Birimi"] == "TRY"
            and (values["Kalan"] or 0) > 0
            and marked < 3
        ):
            sheet.cell(row[0].row, columns["Tahsil Et"]).value = "x"
            sheet.cell(row[0].row, columns["Kasa/Banka"]).value = vault if marked else "Yok Kasa"
            marked += 1
    book.save(path)
    assert run("collect", path, "--yes") == 1  # one row names a vault that does not exist
    assert nameless_fonts(path.read_bytes()) == []

    assert run("report", path) == 0
    assert nameless_fonts(path.read_bytes()) == []
    check_paper(path)

    # An error outcome is long: its row is as tall as its wrapped text needs.
    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    outcome = columns["Tahsilat Durumu"]
    rows = range(layout.INVOICE_HEADER_ROW + 1, sheet.max_row + 1)
    errors = [r for r in rows if str(sheet.cell(r, outcome).value).startswith("Hata")]
    assert errors
    assert all((sheet.row_dimensions[r].height or 0) >= 30 for r in errors)
    assert sheet.cell(errors[0], outcome).alignment.wrap_text

"""`kolaybi-xl fetch` refreshing an existing workbook through ``PatchGrid`` (the table format
made again as byte edits, ``xlsx_patch.table_format``) against the openpyxl refresh of the same
file from the same books: the two must agree cell for cell (values, types, number formats,
quote prefixes, fills, fonts, alignments) as openpyxl, python-calamine and LibreOffice read them,
and in everything else ``format_table`` sets (row heights, widths, dropdowns, grey rows, frozen
panes, autofilter, defined names, print titles). A refresh that changes nothing rewrites only
the control strip's rows; every other zip member stays byte for byte (VBA included)."""

from __future__ import annotations

import contextlib
import copy
import shutil
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_collect_fast import LO_PROFILE, _plain, calamine_values, openpyxl_cells
from test_fetch_stream import _sheet_settings, _styles
from xlsx_writers import (
    SOFFICE,
    libreoffice_values,
    no_openpyxl_fallback,
    resave_with_libreoffice,
    rewrite_with_xlsxwriter,
    with_x_prefix,
)

from kolaybi_xl.cli import main
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.template import template_for
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.xlsx_file import FileGrid
from kolaybi_xl.workbook.xlsx_patch import FAST_ENV
from kolaybi_xl.workbook.xlsx_patch.grid import PatchGrid
from kolaybi_xl.workbook.xlsx_stream import open_for_fetch

SEED, INVOICES = 5, 90


def _fetch(sb: Sandbox, path: Path, monkeypatch: pytest.MonkeyPatch, fast: str) -> None:
    monkeypatch.setenv("KOLAYBI_BASE_URL", sb.url)
    monkeypatch.setenv("KOLAYBI_CHANNEL", sb.channel)
    monkeypatch.setenv("KOLAYBI_API_KEY", sb.api_key)
    monkeypatch.setenv(FAST_ENV, fast)
    assert main(["fetch", str(path)]) == 0


def _fetched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str = ".xlsx") -> Path:
    """A workbook as a first fetch leaves it (the streaming backend)."""
    path = tmp_path / f"original{suffix}"
    with Sandbox(invoices=INVOICES, seed=SEED) as sb:
        _fetch(sb, path, monkeypatch, "1")
    return path


def _refresh_both(
    original: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    invoices: int = INVOICES,
    seed: int = SEED,
    patched: bool = True,
) -> tuple[Path, Path]:
    """``original`` refreshed twice from the same books: openpyxl's path, then the fast one
    (``patched``: without any openpyxl fallback)."""
    slow = original.with_name("slow" + original.suffix)
    fast = original.with_name("fast" + original.suffix)
    shutil.copyfile(original, slow)
    shutil.copyfile(original, fast)
    with Sandbox(invoices=invoices, seed=seed) as sb:
        _fetch(sb, slow, monkeypatch, "0")
        guard = no_openpyxl_fallback("kolaybi_xl.workbook") if patched else contextlib.nullcontext()
        with guard:
            _fetch(sb, fast, monkeypatch, "1")
    return slow, fast


def _assert_same(slow: Path, fast: Path) -> None:
    assert openpyxl_cells(fast) == openpyxl_cells(slow)  # values, types, formats, quote prefix
    assert _styles(fast) == _styles(slow)
    assert _sheet_settings(fast) == _sheet_settings(slow)
    assert calamine_values(fast) == calamine_values(slow)


def _changed_members(before: Path, after: Path) -> set[str]:
    with zipfile.ZipFile(before) as a, zipfile.ZipFile(after) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        return {n for n in a.namelist() if a.read(n) != b.read(n)}


def _invoice_part(path: Path) -> str:
    with PatchGrid.open(path, for_writing=False) as grid:
        part = grid._book.sheet_part(layout.INVOICES)
    assert part is not None
    return part


def _replayed_then_patched(first: Path, tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """A refresh of ``first`` that goes through openpyxl (a column of theirs gets its first
    format), then one of its result against other books (30 invoices fewer) that is patched;
    each compared with openpyxl's. Returns the second pair (openpyxl's, the patched one)."""
    slow, fast = _refresh_both(first, monkeypatch, patched=False)
    _assert_same(slow, fast)
    original = tmp_path / "edited.xlsx"
    shutil.copyfile(fast, original)
    slow, fast = _refresh_both(original, monkeypatch, invoices=INVOICES - 30, seed=SEED + 1)
    _assert_same(slow, fast)
    return slow, fast


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm"])
def test_a_refresh_that_changes_nothing_touches_only_the_control_strip(
    tmp_path, monkeypatch, suffix
):
    original = _fetched(tmp_path, monkeypatch, suffix)
    slow, fast = _refresh_both(original, monkeypatch)
    _assert_same(slow, fast)
    assert _changed_members(original, fast) == {_invoice_part(original)}
    with zipfile.ZipFile(original) as before, zipfile.ZipFile(fast) as after:
        if suffix == ".xlsm":
            assert after.read("xl/vbaProject.bin") == before.read("xl/vbaProject.bin")
        old = before.read(_invoice_part(original)).split(b"<row ")
        new = after.read(_invoice_part(original)).split(b"<row ")
    changed = [n.split(b'"')[1] for o, n in zip(old, new, strict=True) if o != n]
    # The status line, and the refresh time unless both fetches fell in the same second.
    assert b"4" in changed
    assert set(changed) <= {b"3", b"4"}


def _user_edits(path: Path) -> None:
    """A person's work on the table: marks, a vault, their own column with a formula and a
    format, a fill of their own."""
    book = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
    ws = book[layout.INVOICES]
    header = [c.value for c in ws[layout.INVOICE_HEADER_ROW]]
    mark = header.index(layout.C_MARK.header) + 1
    vault = header.index(layout.C_VAULT.header) + 1
    own = len(header) + 1
    ws.cell(row=layout.INVOICE_HEADER_ROW, column=own, value="Notum")
    for row in range(layout.INVOICE_HEADER_ROW + 1, layout.INVOICE_HEADER_ROW + 30, 3):
        ws.cell(row=row, column=mark, value="x")
        ws.cell(row=row, column=vault, value="Merkez Kasa")
        cell = ws.cell(row=row, column=own, value=f"=A{row}*2")
        cell.number_format = "0.0"
    book.save(path)


def test_a_refresh_with_changed_added_and_no_longer_listed_invoices(tmp_path, monkeypatch):
    first = _fetched(tmp_path, monkeypatch)
    _user_edits(first)
    # Their new column's header is not styled yet: that first refresh goes through openpyxl.
    # Other books: some invoices gone (rows with the user's marks kept at the end, grey),
    # others new, fewer rows in all (the leftover rows cleared).
    slow, fast = _replayed_then_patched(first, tmp_path, monkeypatch)
    settings = _sheet_settings(fast)[layout.INVOICES]
    assert settings[7]  # the grey rows' conditional format
    cells = openpyxl_cells(fast)
    assert any(v[0] == "Listede yok" for k, v in cells.items() if k[0] == layout.INVOICES)
    if SOFFICE is not None:  # and as LibreOffice reads them
        seen_slow = {k: _plain(v) for k, v in libreoffice_values(slow, LO_PROFILE).items()}
        seen_fast = {k: _plain(v) for k, v in libreoffice_values(fast, LO_PROFILE).items()}
        assert seen_fast == seen_slow


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm"])
def test_a_refresh_of_a_workbook_with_user_data_keeps_the_vba_project(
    tmp_path, monkeypatch, suffix
):
    first = _fetched(tmp_path, monkeypatch, suffix)
    _user_edits(first)
    _, fast = _refresh_both(first, monkeypatch, patched=False)  # their column's first format
    original = tmp_path / f"edited{suffix}"
    shutil.copyfile(fast, original)
    slow, fast = _refresh_both(original, monkeypatch, invoices=INVOICES + 20, seed=SEED + 2)
    _assert_same(slow, fast)
    changed = _changed_members(original, fast)
    assert changed <= {_invoice_part(original), "xl/styles.xml", "xl/workbook.xml"}
    if suffix == ".xlsm":
        with zipfile.ZipFile(original) as before, zipfile.ZipFile(fast) as after:
            assert after.read("xl/vbaProject.bin") == before.read("xl/vbaProject.bin")


def test_a_refresh_of_a_sheet_with_prefixed_elements(tmp_path, monkeypatch):
    fetched = _fetched(tmp_path, monkeypatch)
    original = tmp_path / "prefixed.xlsx"
    with_x_prefix(fetched, original)  # <x:c>, <x:row>, as some .NET writers do
    slow, fast = _refresh_both(original, monkeypatch, invoices=INVOICES - 20, seed=SEED + 1)
    _assert_same(slow, fast)


def test_a_workbook_written_by_xlsxwriter_is_refreshed_the_same(tmp_path, monkeypatch):
    fetched = _fetched(tmp_path, monkeypatch)
    original = tmp_path / "xlsxwriter.xlsx"
    rewrite_with_xlsxwriter(fetched, original)  # no fills or dropdowns: openpyxl formats it
    slow, fast = _refresh_both(original, monkeypatch, patched=False)
    _assert_same(slow, fast)


def test_a_refresh_with_more_rows_than_before(tmp_path, monkeypatch):
    path = tmp_path / "original.xlsx"
    with Sandbox(invoices=40, seed=SEED) as sb:
        _fetch(sb, path, monkeypatch, "1")
    slow, fast = _refresh_both(path, monkeypatch, invoices=INVOICES)
    _assert_same(slow, fast)


def test_a_workbook_older_than_a_column_is_refreshed_through_openpyxl(tmp_path, monkeypatch):
    original = _fetched(tmp_path, monkeypatch)
    book = openpyxl.load_workbook(original)
    ws = book[layout.INVOICES]
    header = [c.value for c in ws[layout.INVOICE_HEADER_ROW]]
    ws.delete_cols(header.index(layout.C_AMOUNT.header) + 1)
    book.save(original)
    slow, fast = _refresh_both(original, monkeypatch, patched=False)
    _assert_same(slow, fast)
    header = [c.value for c in openpyxl.load_workbook(fast)[layout.INVOICES][6]]
    assert header[-1] == layout.C_AMOUNT.header  # appended


def test_a_workbook_from_the_template_is_filled_the_same(tmp_path, monkeypatch):
    original = tmp_path / "original.xlsm"
    shutil.copyfile(template_for(original), original)  # XlsxWriter's template, never fetched
    slow, fast = _refresh_both(original, monkeypatch, patched=False)
    _assert_same(slow, fast)


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_a_libreoffice_workbook_refreshes_the_same(tmp_path, monkeypatch):
    fetched = _fetched(tmp_path, monkeypatch)
    original = tmp_path / "lo.xlsx"
    resave_with_libreoffice(fetched, original, LO_PROFILE)
    slow, fast = _refresh_both(original, monkeypatch, invoices=INVOICES - 20, patched=False)
    _assert_same(slow, fast)
    seen_slow = {k: _plain(v) for k, v in libreoffice_values(slow, LO_PROFILE).items()}
    seen_fast = {k: _plain(v) for k, v in libreoffice_values(fast, LO_PROFILE).items()}
    assert seen_fast == seen_slow


def test_open_for_fetch_picks_the_patch_path_for_a_formatted_workbook(tmp_path, monkeypatch):
    original = _fetched(tmp_path, monkeypatch)
    with open_for_fetch(original, None) as grid:
        assert type(grid) is PatchGrid
    monkeypatch.setenv(FAST_ENV, "0")
    with open_for_fetch(original, None) as grid:
        assert type(grid) is FileGrid
    monkeypatch.delenv(FAST_ENV)
    bare = tmp_path / "bare.xlsx"
    openpyxl.Workbook().save(bare)  # no Faturalar table yet: openpyxl formats it
    with open_for_fetch(bare, None) as grid:
        assert type(grid) is FileGrid


def test_formats_a_person_set_inside_the_table_end_as_openpyxl_leaves_them(tmp_path, monkeypatch):
    original = _fetched(tmp_path, monkeypatch)
    book = openpyxl.load_workbook(original)
    ws = book[layout.INVOICES]
    header = [c.value for c in ws[layout.INVOICE_HEADER_ROW]]
    mark = header.index(layout.C_MARK.header) + 1
    total = header.index(layout.C_TOTAL.header) + 1
    yellow = openpyxl.styles.PatternFill("solid", start_color="FFFF00", end_color="FFFF00")
    for row in (8, 40, 80):  # a row kept, rows that become spare ones
        ws.cell(row=row, column=mark).fill = yellow  # their own fill stays on data rows
        ws.cell(row=row, column=total).number_format = "0.0000"  # ours comes back
        ws.cell(row=row, column=2).font = openpyxl.styles.Font(bold=True)  # untouched
    book.save(original)
    slow, fast = _refresh_both(original, monkeypatch, invoices=INVOICES - 30, seed=SEED + 1)
    _assert_same(slow, fast)


def test_a_header_someone_restyled_is_refreshed_through_openpyxl(tmp_path, monkeypatch):
    original = _fetched(tmp_path, monkeypatch)
    book = openpyxl.load_workbook(original)
    grey = openpyxl.styles.PatternFill("solid", start_color="DDDDDD", end_color="DDDDDD")
    book[layout.INVOICES].cell(row=layout.INVOICE_HEADER_ROW, column=3).fill = grey
    book.save(original)
    slow, fast = _refresh_both(original, monkeypatch, patched=False)
    _assert_same(slow, fast)


def test_a_persons_own_dropdown_and_conditional_format_are_kept(tmp_path, monkeypatch):
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.worksheet.datavalidation import DataValidation

    first = _fetched(tmp_path, monkeypatch)
    book = openpyxl.load_workbook(first)
    ws = book[layout.INVOICES]
    own = DataValidation(type="list", formula1='"a,b"', allow_blank=True)
    own.add("X7:X60")  # their own column's dropdown
    ws.add_data_validation(own)
    red = openpyxl.styles.PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")
    ws.conditional_formatting.add(
        "L7:L60", CellIsRule(operator="greaterThan", formula=["1000"], fill=red)
    )
    book.save(first)
    # Theirs come after ours now: openpyxl puts ours last again, so this one is replayed...
    # ... and the next one is patched, theirs kept as they are.
    _, fast = _replayed_then_patched(first, tmp_path, monkeypatch)
    settings = _sheet_settings(fast)[layout.INVOICES]
    assert any(v[0] == "X7:X60" for v in settings[6])
    assert any(f[0] == "L7:L60" for f in settings[7])


def _rewrite_member(path: Path, name: str, change: Any) -> None:
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            target.writestr(info, change(data) if info.filename == name else data)


def test_a_print_area_saved_as_whole_columns_is_patched(tmp_path, monkeypatch):
    original = _fetched(tmp_path, monkeypatch)
    # As Excel and LibreOffice save it: $A:$V instead of openpyxl's $A$1:$V$1048576.
    _rewrite_member(
        original, "xl/workbook.xml", lambda xml: xml.replace(b"$A$1:$V$1048576", b"$A:$V")
    )
    slow, fast = _refresh_both(original, monkeypatch, invoices=INVOICES - 30, seed=SEED + 1)
    _assert_same(slow, fast)
    # The same columns, kept as they were written (openpyxl cannot read this form back).
    assert openpyxl.load_workbook(slow)[layout.INVOICES].print_area.endswith("$A$1:$V$1048576")
    with zipfile.ZipFile(fast) as book:
        assert b"'Faturalar'!$A:$V<" in book.read("xl/workbook.xml")


def test_a_table_sorted_by_hand_gets_its_row_heights_made_again(tmp_path, monkeypatch):
    """A person sorted the table (Excel moves the cells with their styles, not the rows'
    heights): the long descriptions now stand in rows of one line, and short ones in rows
    made tall for others. A refresh that changes no value there sizes those rows again (and
    aligns their cells to the top), as openpyxl's path does for every row."""
    first = _fetched(tmp_path, monkeypatch)
    book = openpyxl.load_workbook(first)
    ws = book[layout.INVOICES]
    header_row = layout.INVOICE_HEADER_ROW
    header = [c.value for c in ws[header_row]]
    own = len(header) + 1
    ws.cell(row=header_row, column=own, value="Notum")
    book.save(first)
    _, fast = _refresh_both(first, monkeypatch, patched=False)  # their column's first format
    book = openpyxl.load_workbook(fast)
    ws = book[layout.INVOICES]
    description = header.index(layout.C_DESCRIPTION.header) + 1
    last = max(r for r in range(header_row + 1, ws.max_row + 1) if ws.cell(r, 1).value)
    tall = next(
        r
        for r in range(header_row + 1, last + 1)
        if len(str(ws.cell(r, description).value or "")) > 200
    )
    ws.cell(row=tall, column=own, value="benim notum")
    rows = [
        [(c.value, copy.copy(c._style)) for c in ws[r][:own]]
        for r in range(header_row + 1, last + 1)
    ]
    for r, row in enumerate(reversed(rows), start=header_row + 1):  # sorted the other way
        for c, (value, style) in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c)
            cell.value, cell._style = value, style
    moved = header_row + 1 + last - tall
    assert moved != tall
    del ws._cells[(tall, own)]  # no cell there any more: Excel's sort moved it
    original = tmp_path / "sorted.xlsx"
    book.save(original)
    slow, fast = _refresh_both(original, monkeypatch)
    _assert_same(slow, fast)
    refreshed = openpyxl.load_workbook(fast)[layout.INVOICES]
    # The rows stay in their order; the long text now in row ``moved``, the height with it.
    assert refreshed.cell(row=moved, column=own).value == "benim notum"
    assert refreshed.cell(row=moved, column=own).alignment.vertical == "top"
    assert refreshed.row_dimensions[moved].height > 15


@pytest.mark.parametrize("fast", ["0", "1"])
def test_api_text_no_xml_reader_accepts_leaves_a_workbook_that_opens(tmp_path, monkeypatch, fast):
    """A lone surrogate ("\\ud800" in the JSON) or U+FFFF in an invoice's text: a new workbook
    and a refresh of one (each path) open in openpyxl and python-calamine, the rest kept."""
    original = _fetched(tmp_path, monkeypatch)
    with Sandbox(invoices=INVOICES, seed=SEED) as sb:
        first, second = sb.books.invoice_records("sale_invoice")[:2]
        sb.books.update_invoice(first.id, description="a\ud800b")
        sb.books.update_invoice(second.id, associate_name="Şirket\uffff A.Ş.")
        created = tmp_path / "new.xlsx"
        _fetch(sb, created, monkeypatch, fast)
        _fetch(sb, original, monkeypatch, fast)
    for path in (created, original):
        calamine_values(path)
        texts = {c.value for row in openpyxl.load_workbook(path)[layout.INVOICES] for c in row}
        assert {"a\ufffdb", "Şirket A.Ş."} <= texts  # the API's reading, a cell's cleaning

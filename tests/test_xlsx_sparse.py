"""Reading only the marked rows of a workbook file (``PatchGrid.read_marked``, the collect
table of ``jobs/marked_table``): every row with anything in its mark cell is read, each read
row is exactly what the whole read gives, the table's length is the whole read's, and a sheet
the scan cannot be sure of is read whole. Written and saved, the file is the same either way."""

from __future__ import annotations

import shutil
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from xlsx_writers import SOFFICE, resave_with_libreoffice, rewrite_with_xlsxwriter, with_x_prefix

from kolaybi_xl.jobs.marked_table import read_marked_table
from kolaybi_xl.jobs.table import parse_invoice_table
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.xlsx_patch import PatchGrid

INV = layout.INVOICES
HEAD = layout.HEADER_SEARCH_ROWS
HEADER = ["Belge ID", "Seri No", "Tarih", "Kalan", "Tahsil Et", "Kasa/Banka", "Tahsilat Durumu"]
MARK = HEADER.index("Tahsil Et") + 1
# What people put in a mark cell, read as a mark or refused by the plan; and empty-looking ones.
MARKS: list[Any] = ["x", "X", True, 1, "geri al", "evet", " ", '=IF(1,"x","")', 0, "#N/A"]


def _book(path: Path, rows: int = 300, *, marks: dict[int, Any] | None = None) -> Path:
    """Faturalar as fetched (strip, header on row 6) with marks of every kind spread over it,
    errors, formulas and dates in marked and unmarked rows, and formatted empty rows below."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = INV
    ws["A1"] = "KolayBi Faturalar"
    ws["A2"], ws["B2"] = "Fatura Türü", "Satış Faturası"
    ws["A4"], ws["B4"] = "Durum", "hazır"
    for column, text in enumerate(HEADER, start=1):
        ws.cell(layout.INVOICE_HEADER_ROW, column, text)
    marks = marks if marks is not None else {7 + 13 * i: MARKS[i % len(MARKS)] for i in range(22)}
    for index in range(rows):
        r = layout.INVOICE_HEADER_ROW + 1 + index
        ws.cell(r, 1, 1000 + index)
        ws.cell(r, 2, f"KBI{index:09d}")
        ws.cell(r, 3, datetime(2025, 1 + index % 12, 1 + index % 28))
        ws.cell(r, 4, round(10.25 * index, 2))
        if index % 17 == 0:
            ws.cell(r, 7, f"=D{r}*2")
        if index % 23 == 0:
            ws.cell(r, 6, "#DIV/0!").data_type = "e"
        mark = marks.get(index)
        if mark == "#N/A":
            ws.cell(r, MARK, mark).data_type = "e"
        elif mark is not None:
            ws.cell(r, MARK, mark)
            ws.cell(r, MARK + 1, "Merkez Kasa")
    for r in range(ws.max_row + 1, ws.max_row + 40):  # formatted, empty: not rows of the table
        ws.cell(r, MARK).number_format = "@"
    book.save(path)
    return path


def _mark_column(head: list[list[Any]]) -> int | None:
    table = parse_invoice_table(head)
    return None if table is None else table.col("Tahsil Et")


def _stripped(row: list[Any]) -> list[Any]:
    row = list(row)
    while row and row[-1] is None:
        row.pop()
    return row


def _check_exact(path: Path) -> int:
    """The partial read against the whole read of the same file; how many rows it read."""
    with PatchGrid.open(path, for_writing=False) as whole:
        full = whole.read(INV)
    with PatchGrid.open(path, for_writing=False) as grid:
        some = grid.read_marked(INV, HEAD, _mark_column)
    assert some is not None
    assert some.length == len(full)
    marked = {r for r, line in enumerate(full, start=1) if r > HEAD and line[MARK - 1] is not None}
    assert marked, "the workbook has marks"
    assert marked <= set(some.rows), "every row with a mark is read"
    assert set(range(1, min(HEAD, len(full)) + 1)) <= set(some.rows)
    for r, line in some.rows.items():
        assert _stripped(line) == _stripped(full[r - 1]), f"row {r}"
    assert len(some.rows) < len(full) / 3
    return len(some.rows)


def test_the_rows_read_are_the_whole_reads_rows(tmp_path: Path) -> None:
    _check_exact(_book(tmp_path / "book.xlsx"))


def test_a_mark_at_the_very_end_and_within_the_first_rows(tmp_path: Path) -> None:
    path = _book(tmp_path / "book.xlsx", rows=120, marks={0: "x", 5: True, 119: "x"})
    _check_exact(path)


def test_prefixed_xml_reads_the_same(tmp_path: Path) -> None:
    source = _book(tmp_path / "book.xlsx")
    with_x_prefix(source, tmp_path / "prefixed.xlsx")
    _check_exact(tmp_path / "prefixed.xlsx")


def test_an_xlsxwriter_workbook_reads_the_same(tmp_path: Path) -> None:
    source = _book(tmp_path / "book.xlsx")
    rewrite_with_xlsxwriter(source, tmp_path / "xw.xlsx")
    _check_exact(tmp_path / "xw.xlsx")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_a_libreoffice_resave_reads_the_same(tmp_path: Path) -> None:
    """Shared strings, LibreOffice's own cell XML and (maybe) shared formulas."""
    source = _book(tmp_path / "book.xlsx")
    resave_with_libreoffice(source, tmp_path / "lo.xlsx", str(tmp_path / "profile"))
    _check_exact(tmp_path / "lo.xlsx")


def _rewritten(source: Path, target: Path, old: bytes, new: bytes) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert old in data
                data = data.replace(old, new, 1)
            zout.writestr(item, data)
    return target


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'<c r="E14" ', b'<c s="0" r="E14" '),  # another attribute first
        (b'<c r="E14" ', b'<c\n r="E14" '),  # a newline in the tag
    ],
)
def test_a_cell_in_another_form_makes_it_read_whole(tmp_path: Path, old: bytes, new: bytes) -> None:
    source = _book(tmp_path / "book.xlsx")
    path = _rewritten(source, tmp_path / "odd.xlsx", old, new)
    with PatchGrid.open(path, for_writing=False) as grid:
        assert grid.read_marked(INV, HEAD, _mark_column) is None
        assert read_marked_table(grid) is None


def test_no_header_or_no_mark_is_read_whole(tmp_path: Path) -> None:
    path = _book(tmp_path / "book.xlsx", marks={})
    with PatchGrid.open(path, for_writing=False) as grid:
        assert read_marked_table(grid) is None  # nothing marked: the whole read decides
        assert grid.read_marked(INV, HEAD, lambda head: None) is None


def test_the_table_reads_unread_rows_when_asked(tmp_path: Path) -> None:
    path = _book(tmp_path / "book.xlsx")
    with PatchGrid.open(path, for_writing=False) as grid:
        full = parse_invoice_table(grid.read(INV))
    with PatchGrid.open(path, for_writing=False) as grid:
        table = read_marked_table(grid)
    assert table is not None
    assert full is not None
    assert table.header_row == full.header_row
    assert len(table.rows) == len(full.rows)
    marked = [i for i in range(len(full.rows)) if full.get(i, "Tahsil Et") is not None]
    assert set(marked) <= set(table.indexes())
    for index in table.indexes():
        assert _stripped(table.rows[index]) == _stripped(full.rows[index])
    for index in (15, 16, len(full.rows) - 2):  # not marked (the last row is): read on demand
        assert index not in table.indexes()
        assert table.get(index, "Tahsil Et") is None
        assert table.get(index, "Belge ID") == full.get(index, "Belge ID")
        assert _stripped(list(table.rows[index])) == _stripped(full.rows[index])


def test_writes_save_the_same_file_either_way(tmp_path: Path) -> None:
    """The same writes after a partial and after a whole read: the same saved sheet; a whole
    read made after the writes shows them."""
    source = _book(tmp_path / "book.xlsx")
    paths = [shutil.copy(source, tmp_path / name) for name in ("some.xlsx", "whole.xlsx")]
    marked_row = layout.INVOICE_HEADER_ROW + 1 + 13
    unread_row = layout.INVOICE_HEADER_ROW + 1 + 2
    writes = [
        (marked_row, 7, [["Tamamlandı", datetime(2025, 3, 1, 10, 0)]]),
        (marked_row, 4, [[0]]),
        (unread_row, 7, [["elle"]]),
        (4, 2, [["durum yeni"]]),
        (marked_row + 13, 1, [[1013]]),  # the value it holds: nothing changes
    ]
    for path, partial in zip(paths, (True, False), strict=True):
        with PatchGrid.open(path) as grid:
            if partial:
                assert grid.read_marked(INV, HEAD, _mark_column) is not None
            else:
                grid.read(INV)
            for row, column, block in writes:
                grid.write(INV, row, column, block)
            shown = grid.read(INV)
            assert shown[marked_row - 1][6] == "Tamamlandı"
            assert shown[unread_row - 1][6] == "elle"
            grid.save()
    members = [zipfile.ZipFile(p).read("xl/worksheets/sheet1.xml") for p in paths]
    assert members[0] == members[1]
    with PatchGrid.open(paths[0], for_writing=False) as grid:
        assert grid.read(INV)[unread_row - 1][6] == "elle"


@pytest.mark.parametrize("partial", [True, False])
def test_a_merged_outcome_cell_is_refused_either_way(tmp_path: Path, partial: bool) -> None:
    """The merged ranges (after the rows in the sheet's XML) cover cells a write must not
    split: one clear error, whichever way the rows were read."""
    path = _book(tmp_path / "book.xlsx")
    book = openpyxl.load_workbook(path)
    book[INV].merge_cells("G14:H14")
    book.save(path)
    with PatchGrid.open(path) as grid:
        if partial:
            assert grid.read_marked(INV, HEAD, _mark_column) is not None
        grid.write(INV, 14, 8, [[None]])  # nothing to write there: fine
        with pytest.raises(Exception, match="H14") as caught:
            grid.write(INV, 14, 7, [["Tamamlandı", "x"]])
    assert "merged" in str(getattr(caught.value, "reason", "merged"))

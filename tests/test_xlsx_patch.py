"""PatchGrid on its own: reads like FileGrid, saves what FileGrid would save for the cells it
writes, touches nothing else, and hands to openpyxl what it does not do itself."""

from __future__ import annotations

import re
import shutil
import zipfile
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from xlsx_writers import log_prepared, raw_members

from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.grid import BarChart, Formula, layout_table
from kolaybi_xl.workbook.xlsx_file import FileGrid, WorkbookError
from kolaybi_xl.workbook.xlsx_patch import NotPatchable, PatchGrid, open_for_collect

LOG = layout.COLLECTION_LOG
INV = layout.INVOICES


def _book(path: Path) -> Path:
    """Faturalar with values of every kind (spare formatted rows below), and a formatted log."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = INV
    book.create_sheet(LOG)
    ws.append(["Belge ID", "Metin", "Tutar", "Tarih", "Bayrak", "Formül", "Sonuç"])
    for i in range(1, 9):
        ws.append([1000 + i, f"00{i}", 10.5 * i, datetime(2025, 1, i), i % 2 == 0, f"=A{i + 1}*2"])
    ws["B10"] = "=tehlikeli"
    ws["B10"].data_type = "s"  # text that looks like a formula, kept as text
    ws["B10"].quotePrefix = True
    ws["C11"] = 87.4
    ws["E11"] = "#N/A"
    ws["E11"].data_type = "e"
    ws["D12"] = time(10, 30)
    for row in range(2, 30):  # formatted but empty cells, as format_table leaves them
        ws.cell(row, 7).number_format = "@"
    ws["A50"] = "son satır"
    book.save(path)
    log_prepared(path, rows=3)
    return path


def _cells(path: Path) -> dict[tuple[str, int, int], tuple[Any, ...]]:
    book = openpyxl.load_workbook(path)
    return {
        (ws.title, r, c): (cell.value, cell.data_type, cell.number_format, cell.quotePrefix)
        for ws in book.worksheets
        for (r, c), cell in ws._cells.items()
        if cell.value is not None or cell.has_style
    }


def _both(tmp_path: Path, source: Path, change: Any) -> tuple[Path, Path]:
    """``change(grid)`` applied and saved through FileGrid and through PatchGrid."""
    slow, fast = tmp_path / "slow.xlsx", tmp_path / "fast.xlsx"
    shutil.copyfile(source, slow)
    shutil.copyfile(source, fast)
    with FileGrid.open(slow) as grid:
        change(grid)
        grid.save()
    with PatchGrid.open(fast) as patch:
        change(patch)
        patch.save()
    return slow, fast


def test_reads_like_filegrid(tmp_path):
    path = _book(tmp_path / "b.xlsx")
    with FileGrid.open(path, for_writing=False) as slow, PatchGrid.open(path) as fast:
        assert fast.sheet_names() == slow.sheet_names()
        for name in slow.sheet_names():
            expected, got = slow.read(name), fast.read(name)
            assert got == expected
            assert [[type(v) for v in row] for row in got] == [
                [type(v) for v in row] for row in expected
            ]
        assert fast.read(INV)[1][5] == Formula("=A2*2")
        assert fast.read(INV)[10][4] == "#N/A"
        assert fast.read(INV)[1][1] == "001"


def test_shared_formulas_read_translated(tmp_path):
    path = _book(tmp_path / "b.xlsx")
    _rewrite_part(path, "xl/worksheets/sheet1.xml", _shared_formulas)
    with FileGrid.open(path, for_writing=False) as slow, PatchGrid.open(path) as fast:
        assert fast.read(INV) == slow.read(INV)
        assert fast.read(INV)[2][5] == Formula("=A3*2")


def _shared_formulas(xml: bytes) -> bytes:
    """F2 the master of a shared formula over F2:F9, the others its dependents."""
    xml = xml.replace(b"<f>A2*2</f>", b'<f t="shared" ref="F2:F9" si="0">A2*2</f>')
    return re.sub(rb"<f>A(\d+)\*2</f>", b'<f t="shared" si="0"/>', xml)


def _rewrite_part(path: Path, part: str, change: Any) -> None:
    temp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, change(data) if item.filename == part else data)
    temp.replace(path)


WRITES: list[tuple[int, int, Any]] = [
    (2, 7, "Tamamlandı"),  # into a formatted empty cell
    (3, 7, "=1+1 (API metni)"),  # formula-looking text: quote prefix
    (4, 7, "+90 555"),
    (10, 2, "artık formül gibi değil"),  # quote prefix removed
    (5, 3, Decimal("2327.60")),
    (6, 3, Decimal("0.07")),
    (7, 4, date(2025, 2, 3)),
    (8, 4, datetime(2025, 2, 3, 14, 5)),
    (2, 9, datetime(2025, 3, 4, 5, 6)),  # a new cell right of the table: default date format
    (9, 5, None),
    (3, 5, True),
    (40, 2, "yeni satır"),  # new rows between rows 29 and 50, in order
    (35, 3, 1.5),
    (60, 1, "en son"),  # and after the last
    (15, 1, 7),  # a new cell in an existing row
    (2, 2, "001"),  # written back as it was: untouched
]


def _apply(grid: Any) -> None:
    for row, column, value in WRITES:
        grid.write(INV, row, column, [[value]])
    grid.clear(INV, 11, 3, 11, 3)


def test_writes_save_what_filegrid_saves(tmp_path):
    source = _book(tmp_path / "b.xlsx")
    slow, fast = _both(tmp_path, source, _apply)
    assert _cells(fast) == _cells(slow)
    changed = {n for n, raw in raw_members(fast).items() if raw != raw_members(source)[n]}
    assert changed == {"xl/worksheets/sheet1.xml", "xl/styles.xml"}
    with FileGrid.open(fast) as grid:
        assert grid.read(INV) == FileGrid.open(slow).read(INV)


def test_quote_prefix_style_is_reused_not_added_every_run(tmp_path):
    path = _book(tmp_path / "b.xlsx")
    with PatchGrid.open(path) as grid:
        grid.write(INV, 2, 7, [["=ilk"]])
        grid.save()
    styles = raw_members(path)["xl/styles.xml"]
    for text in ("=ikinci", "@üçüncü"):
        with PatchGrid.open(path) as grid:
            grid.write(INV, 3, 7, [[text]])
            grid.save()
        assert raw_members(path)["xl/styles.xml"] == styles
    xml = zipfile.ZipFile(path).read("xl/styles.xml")
    xfs = re.search(rb"<cellXfs[^>]*>(.*)</cellXfs>", xml, re.S)
    assert xfs is not None
    declared = int(re.search(rb'<cellXfs count="(\d+)"', xml).group(1))  # type: ignore[union-attr]
    assert declared == len(re.findall(rb"<xf\b", xfs.group(1)))
    sheet = openpyxl.load_workbook(path)[INV]
    assert sheet["G2"].quotePrefix
    assert sheet["G3"].quotePrefix
    assert sheet["G3"].value == "@üçüncü"


def test_nothing_changed_leaves_the_bytes(tmp_path):
    path = _book(tmp_path / "b.xlsx")
    before = path.read_bytes()
    with PatchGrid.open(path) as grid:
        block = grid.read(INV)
        grid.write(INV, 1, 1, block)  # everything written back as it is
        grid.save()
    assert path.read_bytes() == before


def test_log_rows_appended_with_filter_and_formats(tmp_path):
    source = _book(tmp_path / "b.xlsx")
    entry = [datetime(2025, 5, 6, 7, 8), 2, "S", "=Cari", 1, "Kasa", Decimal("1.10"), "TRY",
             "Tamamlandı", "", Decimal("0")]  # fmt: skip

    def append(grid: Any) -> None:
        used = len(grid.read(LOG))
        grid.write(LOG, used + 1, 1, [entry] * 60)  # past the 50 spare rows
        grid.format_table(LOG, layout_table(layout.LOG_COLUMNS, 1, used + 59, spare_rows=50))

    slow, fast = _both(tmp_path, source, append)
    assert _cells(fast) == _cells(slow)
    book = openpyxl.load_workbook(fast)
    assert book[LOG].auto_filter.ref == "A1:K64"
    names = zipfile.ZipFile(fast).read("xl/workbook.xml")
    assert b"$A$1:$K$64" in names
    dimension = re.search(rb'<dimension ref="([^"]+)"', zipfile.ZipFile(fast).read(_log_part(fast)))
    assert dimension is not None
    assert dimension.group(1) == b"A1:K114"


def _log_part(path: Path) -> str:  # the second sheet
    return "xl/worksheets/sheet2.xml"


def test_overwriting_a_formula_drops_the_calc_chain(tmp_path):
    path = _book(tmp_path / "b.xlsx")
    _add_calc_chain(path)
    with PatchGrid.open(path) as grid:
        grid.write(INV, 3, 6, [["değer"]])
        grid.save()
    names = zipfile.ZipFile(path).namelist()
    assert "xl/calcChain.xml" not in names
    assert b"calcChain" not in zipfile.ZipFile(path).read("[Content_Types].xml")
    assert b"calcChain" not in zipfile.ZipFile(path).read("xl/_rels/workbook.xml.rels")
    assert openpyxl.load_workbook(path)[INV]["F3"].value == "değer"


def _add_calc_chain(path: Path) -> None:
    chain = b'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    chain += b'<c r="F2" i="1"/><c r="F3"/></calcChain>'
    temp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/calcChain.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>',
                )
            if item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdCalc" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/>'
                    b"</Relationships>",
                )
            zout.writestr(item, data)
        zout.writestr("xl/calcChain.xml", chain)
    temp.replace(path)


def test_a_shared_formula_master_goes_through_openpyxl(tmp_path, caplog):
    source = _book(tmp_path / "b.xlsx")
    _rewrite_part(source, "xl/worksheets/sheet1.xml", _shared_formulas)
    caplog.set_level("INFO", logger="kolaybi_xl.workbook.xlsx_patch")
    slow, fast = _both(tmp_path, source, lambda g: g.write(INV, 2, 6, [["değer"]]))
    assert "through openpyxl" in caplog.text
    assert _cells(fast) == _cells(slow)


@pytest.mark.parametrize(
    "change",
    [
        lambda g: g.define_name("Ad", "Faturalar!$A$1"),
        lambda g: g.ensure_sheet("Yeni") and g.write("Yeni", 1, 1, [["a"]]),
        lambda g: g.add_bar_chart(INV, BarChart("T", (2, 1, 5, 1), (1, 3, 5, 3), "J2")),
        lambda g: g.format_table(INV, layout_table(layout.LOG_COLUMNS, 1, 3)),
    ],
)
def test_what_it_does_not_do_goes_through_openpyxl(tmp_path, change):
    source = _book(tmp_path / "b.xlsx")
    slow, fast = _both(tmp_path, source, change)
    assert _cells(fast) == _cells(slow)
    assert openpyxl.load_workbook(fast).sheetnames == openpyxl.load_workbook(slow).sheetnames


def test_refused_at_open(tmp_path):
    path = _book(tmp_path / "b.xlsx")
    book = openpyxl.load_workbook(path)
    del book[LOG]
    no_log = tmp_path / "no-log.xlsx"
    book.save(no_log)
    with pytest.raises(NotPatchable):
        PatchGrid.open(no_log, formatted=(LOG,))
    assert isinstance(open_for_collect(no_log), FileGrid)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(NotPatchable):
        PatchGrid.open(broken)
    with pytest.raises(WorkbookError):  # the openpyxl path says why, in the user's words
        open_for_collect(broken)


def test_zip64_packages_go_through_openpyxl(tmp_path, monkeypatch):
    path = _book(tmp_path / "b.xlsx")
    zip64 = tmp_path / "zip64.xlsx"
    # zipfile writes the zip64 end records past this many members: make it "one".
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(zip64, "w", zipfile.ZIP_DEFLATED) as out:
        for item in zin.infolist():
            out.writestr(item, zin.read(item.filename))
    monkeypatch.undo()
    assert b"PK\x06\x06" in zip64.read_bytes()
    with pytest.raises(NotPatchable):
        PatchGrid.open(zip64)
    grid = open_for_collect(zip64)
    grid.close()
    assert isinstance(grid, FileGrid)


def test_locked_or_changed_files_are_never_overwritten(tmp_path):
    path = _book(tmp_path / "b.xlsx")
    owner = path.with_name("~$" + path.name)
    owner.write_bytes(b"\x04user" + b" " * 60)
    with pytest.raises(WorkbookError) as error:
        open_for_collect(path)
    assert error.value.reason == "locked"
    owner.unlink()
    grid = PatchGrid.open(path)
    grid.write(INV, 2, 7, [["x"]])
    path.write_bytes(path.read_bytes() + b"")  # touched by someone else
    other = openpyxl.load_workbook(path)
    other[INV]["A1"] = "başkası"
    other.save(path)
    with pytest.raises(WorkbookError) as error:
        grid.save()
    assert error.value.reason == "changed"
    assert openpyxl.load_workbook(path)[INV]["A1"].value == "başkası"


def test_shared_rows_keep_what_was_read(tmp_path):
    """``read_shared`` lends the grid's own rows (no copy): they equal ``read``, and a later
    write changes the grid (and the saved file) but never the rows lent."""
    source = _book(tmp_path / "b.xlsx")
    _, fast = _both(tmp_path, source, _apply)
    copy = tmp_path / "shared.xlsx"
    shutil.copyfile(source, copy)
    with PatchGrid.open(copy) as grid:
        expected = grid.read(INV)
        lent = grid.read_shared(INV)
        assert lent == expected
        snapshot = [list(row) for row in lent]
        assert grid.read_shared(INV) is not lent  # lent once; later reads are copies
        _apply(grid)
        assert lent == snapshot
        assert grid.read(INV) != expected
        grid.save()
    assert _cells(copy) == _cells(fast)
    assert raw_members(copy) == raw_members(fast)


def test_shared_read_after_a_write_is_a_copy(tmp_path):
    path = _book(tmp_path / "b.xlsx")
    with PatchGrid.open(path) as grid:
        grid.write(INV, 2, 2, [["yeni"]])
        block = grid.read_shared(INV)
        block[1][1] = "başka"
        assert grid.read(INV)[1][1] == "yeni"

"""`kolaybi-xl fetch` into a new workbook through the streaming backend (``xlsx_stream``) against
the openpyxl one, from the same sandbox books (its hostile texts included: formula look-alikes,
control characters, a VKN with leading zeros, texts long enough to make rows taller): the files
must agree cell for cell (values, types, number formats, quote prefixes, fills, fonts,
alignments) as openpyxl, python-calamine and LibreOffice read them, and in everything else
``format_table`` sets (row heights, widths, dropdowns, conditional formats, freeze panes,
autofilter, defined names, print titles); an ``.xlsm`` keeps its VBA project byte for byte."""

from __future__ import annotations

import contextlib
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_collect_fast import LO_PROFILE, _plain, calamine_values, openpyxl_cells
from xlsx_writers import SOFFICE, libreoffice_values, no_openpyxl_fallback

from kolaybi_xl.cli import main
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.template import template_for
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.xlsx_file import FileGrid
from kolaybi_xl.workbook.xlsx_patch import FAST_ENV
from kolaybi_xl.workbook.xlsx_patch.errors import NotPatchable
from kolaybi_xl.workbook.xlsx_patch.grid import PatchGrid
from kolaybi_xl.workbook.xlsx_stream import StreamGrid, open_for_fetch
from kolaybi_xl.workbook.xlsx_stream import grid as stream_grid
from kolaybi_xl.workbook.xlsx_stream import rows as stream_rows

SEED, INVOICES = 5, 90


def _no_fallback() -> contextlib.AbstractContextManager[None]:
    """Fail if the streaming backend gave the save to openpyxl."""
    return no_openpyxl_fallback("kolaybi_xl.workbook.xlsx_stream")


def _fetch_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str) -> tuple[Path, Path]:
    """The same books fetched into two new workbooks: openpyxl's path, then the stream."""
    slow, fast = tmp_path / f"slow{suffix}", tmp_path / f"fast{suffix}"
    with Sandbox(invoices=INVOICES, seed=SEED) as sb:
        monkeypatch.setenv("KOLAYBI_BASE_URL", sb.url)
        monkeypatch.setenv("KOLAYBI_CHANNEL", sb.channel)
        monkeypatch.setenv("KOLAYBI_API_KEY", sb.api_key)
        monkeypatch.setenv(FAST_ENV, "0")
        assert main(["fetch", str(slow)]) == 0
        monkeypatch.setenv(FAST_ENV, "1")
        with _no_fallback():
            assert main(["fetch", str(fast)]) == 0
    return slow, fast


def _styles(path: Path) -> dict[tuple[str, int, int], tuple[str, ...]]:
    book = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
    return {
        (ws.title, r, c): tuple(
            repr(x) for x in (cell.fill, cell.font, cell.alignment, cell.border, cell.protection)
        )
        for ws in book.worksheets
        for (r, c), cell in ws._cells.items()
        if cell.value is not None or cell.has_style
    }


def _sheet_settings(path: Path) -> dict[str, Any]:
    """What ``format_table`` sets beside the cells, sheet by sheet."""
    book = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
    found: dict[str, Any] = {
        "names": sorted((k, v.attr_text) for k, v in book.defined_names.items())
    }
    for ws in book.worksheets:
        found[ws.title] = (
            ws.dimensions,
            ws.freeze_panes,
            ws.auto_filter.ref,
            ws.print_title_rows,
            {r: (d.height, d.customHeight) for r, d in ws.row_dimensions.items() if d.height},
            sorted((k, d.width, d.min, d.max) for k, d in ws.column_dimensions.items()),
            [
                (str(v.sqref), v.type, v.operator, v.formula1, v.showErrorMessage, v.prompt)
                for v in ws.data_validations.dataValidation
            ],
            [(str(f.sqref), [r.formula for r in f.rules]) for f in ws.conditional_formatting],
        )
    return found


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm"])
def test_streamed_new_workbook_matches_openpyxl(tmp_path, monkeypatch, suffix):
    slow, fast = _fetch_both(tmp_path, monkeypatch, suffix)
    assert openpyxl_cells(fast) == openpyxl_cells(slow)  # values, types, formats, quote prefix
    assert _styles(fast) == _styles(slow)
    settings = _sheet_settings(fast)
    assert settings == _sheet_settings(slow)
    checks = settings[layout.INVOICES][6]
    # Tahsil Tutarı's number check (decimal > 0, a hint only) with its prompt, once
    assert [c[1:] for c in checks if c[1] == "decimal"] == [
        ("decimal", "greaterThan", "0", False, layout.AMOUNT_PROMPT)
    ]
    assert calamine_values(fast) == calamine_values(slow)
    cells = openpyxl_cells(fast)
    texts = [v[0] for k, v in cells.items() if k[0] == layout.INVOICES and isinstance(v[0], str)]
    assert any(t.startswith("=HYPERLINK") for t in texts)  # the hostile texts are in there
    quoted = [k for k, v in cells.items() if isinstance(v[0], str) and v[0][:1] in "=+-@"]
    assert quoted
    assert all(cells[k][3] for k in quoted)
    tall = _sheet_settings(fast)[layout.INVOICES][4]
    assert tall  # some rows were made taller for their wrapped text


def test_streamed_xlsm_keeps_the_vba_project_byte_identical(tmp_path, monkeypatch):
    slow, fast = _fetch_both(tmp_path, monkeypatch, ".xlsm")
    template = Path(template_for(fast))
    with zipfile.ZipFile(template) as a, zipfile.ZipFile(fast) as b, zipfile.ZipFile(slow) as c:
        assert b.read("xl/vbaProject.bin") == a.read("xl/vbaProject.bin")
        assert c.read("xl/vbaProject.bin") == a.read("xl/vbaProject.bin")
        assert b.testzip() is None


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_streamed_new_workbook_reads_the_same_in_libreoffice(tmp_path, monkeypatch):
    slow, fast = _fetch_both(tmp_path, monkeypatch, ".xlsx")
    seen_slow = {k: _plain(v) for k, v in libreoffice_values(slow, LO_PROFILE).items()}
    seen_fast = {k: _plain(v) for k, v in libreoffice_values(fast, LO_PROFILE).items()}
    assert seen_fast == seen_slow


def test_fetch_into_an_existing_workbook_uses_openpyxl(tmp_path, monkeypatch):
    path = tmp_path / "book.xlsx"
    with open_for_fetch(path, template_for(path)) as grid:
        assert type(grid) is StreamGrid
        grid.save()
    with open_for_fetch(path, None) as grid:
        assert type(grid) is PatchGrid  # a refresh: patched (see test_fetch_refresh)
    path.unlink()
    monkeypatch.setenv(FAST_ENV, "0")
    with open_for_fetch(path, template_for(path)) as grid:
        assert type(grid) is FileGrid


ROWS = [["Belge ID", "Açıklama", "Tutar"]] + [
    [i, f"=satır {i}" if i % 3 == 0 else f"metin {i}", i * 1.5] for i in range(1, 40)
]


def _grids(tmp_path: Path) -> tuple[StreamGrid, FileGrid]:
    template = template_for(tmp_path / "a.xlsx")
    stream = StreamGrid.open(tmp_path / "stream.xlsx", create=True, template=template)
    plain = FileGrid.open(tmp_path / "plain.xlsx", create=True, template=template)
    return stream, plain


def test_reading_the_streamed_rows_makes_them_cells(tmp_path):
    stream, plain = _grids(tmp_path)
    with stream, plain:
        for grid in (stream, plain):
            grid.write(layout.INVOICES, 6, 1, ROWS)
        assert stream._block is not None
        assert stream.read(layout.INVOICES) == plain.read(layout.INVOICES)
        assert stream._block is None  # materialised: FileGrid's own cells from here on
        stream.save()
        plain.save()
    assert openpyxl_cells(tmp_path / "stream.xlsx") == openpyxl_cells(tmp_path / "plain.xlsx")


def test_a_write_over_the_streamed_rows_and_a_save_without_a_format(tmp_path):
    stream, plain = _grids(tmp_path)
    with stream, plain:
        for grid in (stream, plain):
            grid.write(layout.INVOICES, 6, 1, ROWS)
            grid.write(layout.INVOICES, 10, 2, [["üzerine"]])
            grid.clear(layout.INVOICES, 20, 1, 22, 3)
        assert stream._block is None
        stream.save()
        plain.save()
    assert openpyxl_cells(tmp_path / "stream.xlsx") == openpyxl_cells(tmp_path / "plain.xlsx")


def test_a_splice_that_fails_saves_through_openpyxl(tmp_path, monkeypatch):
    def refuse(*args: Any) -> bytes:
        raise NotPatchable("test")

    monkeypatch.setattr(stream_grid, "splice_rows", refuse)
    from kolaybi_xl.jobs.fetch import invoice_table_format

    stream, plain = _grids(tmp_path)
    with stream, plain:
        for grid in (stream, plain):
            grid.write(layout.INVOICES, 6, 1, ROWS)
            grid.format_table(layout.INVOICES, invoice_table_format(ROWS[0], 6, len(ROWS) - 1))
        assert stream._block is not None
        assert stream._block.table is not None
        stream.save()
        plain.save()
    assert openpyxl_cells(tmp_path / "stream.xlsx") == openpyxl_cells(tmp_path / "plain.xlsx")
    assert _styles(tmp_path / "stream.xlsx") == _styles(tmp_path / "plain.xlsx")
    settings = _sheet_settings(tmp_path / "stream.xlsx")
    assert settings == _sheet_settings(tmp_path / "plain.xlsx")
    assert settings[layout.INVOICES][6]  # the dropdowns, once


@pytest.mark.parametrize("reused", [0, 3])
def test_streamed_cells_do_not_depend_on_the_reuse_of_renderings(tmp_path, monkeypatch, reused):
    """Cells of repeated values are rendered once and reused (``rows.REUSED_PER_COLUMN``):
    with no reuse, or a cache that fills at once, the file is the same as openpyxl's."""
    monkeypatch.setattr(stream_rows, "REUSED_PER_COLUMN", reused)
    slow, fast = _fetch_both(tmp_path, monkeypatch, ".xlsx")
    assert openpyxl_cells(fast) == openpyxl_cells(slow)
    assert _styles(fast) == _styles(slow)
    assert _sheet_settings(fast) == _sheet_settings(slow)


def test_mixed_values_in_one_column_render_as_openpyxl_writes_them(tmp_path):
    """The reuse of a cell's XML is keyed by value: equal values of different types (1, True,
    1.0, Decimal("1"), Decimal("1.00")), NaNs (an sNaN has no hash) and dates beside
    datetimes must each still render as ``FileGrid`` stores them."""
    from datetime import date, datetime
    from decimal import Decimal

    from kolaybi_xl.jobs.fetch import invoice_table_format

    mixed = [
        1, True, 1.0, Decimal("1"), Decimal("1.00"), Decimal("NaN"), Decimal("sNaN"),
        Decimal("-0"), 0, False, None, "", "1", "=1", date(2024, 1, 15),
        datetime(2024, 1, 15), datetime(2024, 1, 15, 10, 30), Decimal("1E+400"),
    ]  # fmt: skip
    rows = [["Belge ID", "Açıklama", "Tutar"]] + [
        [i, mixed[(i + 3) % len(mixed)], mixed[i % len(mixed)]] for i in range(1, 3 * len(mixed))
    ]
    stream, plain = _grids(tmp_path)
    with _no_fallback(), stream, plain:
        for grid in (stream, plain):
            grid.write(layout.INVOICES, 6, 1, rows)
            grid.format_table(layout.INVOICES, invoice_table_format(rows[0], 6, len(rows) - 1))
        assert stream._block is not None
        stream.save()
        plain.save()
    assert openpyxl_cells(tmp_path / "stream.xlsx") == openpyxl_cells(tmp_path / "plain.xlsx")
    assert _styles(tmp_path / "stream.xlsx") == _styles(tmp_path / "plain.xlsx")

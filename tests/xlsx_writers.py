"""The same workbook as other spreadsheet writers would save it, for the fast-path tests:
rewritten cell by cell with XlsxWriter (shared strings, its own styles), resaved by LibreOffice,
or with SpreadsheetML's namespace under an ``x:`` prefix (as some .NET writers do)."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import openpyxl
import xlsxwriter

from kolaybi_xl.workbook import layout

SOFFICE = shutil.which("soffice")


def rewrite_with_xlsxwriter(source: Path, target: Path) -> None:
    """Every sheet's values, number formats, quote prefixes, column widths, autofilter and
    freeze panes written anew by XlsxWriter (strings as shared strings)."""
    book = openpyxl.load_workbook(source)
    out = xlsxwriter.Workbook(str(target))
    formats: dict[tuple[str, bool], Any] = {}

    def fmt(number_format: str, quoted: bool) -> Any:
        key = (number_format, quoted)
        if key not in formats:
            options: dict[str, Any] = {"num_format": number_format}
            if quoted:
                options["quote_prefix"] = True
            formats[key] = out.add_format(options)
        return formats[key]

    for ws in book.worksheets:
        sheet = out.add_worksheet(ws.title)
        for (row, column), cell in sorted(ws._cells.items()):
            r, c = row - 1, column - 1
            style = fmt(cell.number_format, bool(cell.quotePrefix))
            value = cell.value
            if value is None:
                sheet.write_blank(r, c, None, style)
            elif cell.data_type == "f":
                sheet.write_formula(r, c, str(value), style)
            elif isinstance(value, bool):
                sheet.write_boolean(r, c, value, style)
            elif isinstance(value, datetime | date | time):
                sheet.write_datetime(r, c, value, style)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value, style)
            else:
                sheet.write_string(r, c, str(value), style)
        for letter, dimension in ws.column_dimensions.items():
            if dimension.width:
                index = openpyxl.utils.column_index_from_string(letter) - 1
                sheet.set_column(index, index, dimension.width)
        if ws.auto_filter.ref:
            sheet.autofilter(ws.auto_filter.ref)
        if ws.freeze_panes:
            row, column = openpyxl.utils.cell.coordinate_to_tuple(ws.freeze_panes)
            sheet.freeze_panes(row - 1, column - 1)
    out.close()


def resave_with_libreoffice(source: Path, target: Path, profile: str) -> None:
    """``source`` opened and saved again by LibreOffice Calc (same suffix)."""
    assert SOFFICE is not None
    outdir = target.parent / f"lo-{target.stem}"
    outdir.mkdir(exist_ok=True)
    kind = "xlsx:Calc MS Excel 2007 XML"
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", kind,
         "--outdir", str(outdir), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    shutil.move(outdir / (source.stem + ".xlsx"), target)


def libreoffice_values(path: Path, profile: str) -> dict[tuple[str, int, int], Any]:
    """The values LibreOffice sees: the workbook converted by it, read back."""
    converted = path.parent / f"lo-read-{path.stem}.xlsx"
    resave_with_libreoffice(path, converted, profile)
    book = openpyxl.load_workbook(converted)
    return {
        (ws.title, r, c): cell.value
        for ws in book.worksheets
        for (r, c), cell in ws._cells.items()
        if cell.value is not None
    }


_UNPREFIXED = re.compile(rb"<(/?)([A-Za-z][\w.-]*)(?=[\s/>])")


def with_x_prefix(source: Path, target: Path) -> None:
    """Every worksheet part with the main namespace bound to ``x:`` instead of the default."""
    main = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet") and main in data:
                data = _UNPREFIXED.sub(rb"<\1x:\2", data).replace(
                    main, main.replace(b"xmlns", b"xmlns:x")
                )
            zout.writestr(item, data)


def log_prepared(path: Path, rows: int = 2) -> None:
    """The log sheet as an earlier collect leaves it: header, ``rows`` rows, its table format
    (written through openpyxl as collect does)."""
    from decimal import Decimal

    from kolaybi_xl.workbook.grid import layout_table
    from kolaybi_xl.workbook.xlsx_file import FileGrid

    with FileGrid.open(path) as grid:
        header = [c.header for c in layout.LOG_COLUMNS]
        grid.write(layout.COLLECTION_LOG, 1, 1, [header])
        entry = [datetime(2025, 1, 2, 9, 30), 1, "KBI-1", "=cari", 1, "Kasa", Decimal("10.50"),
                 "TRY", "Tamamlandı", "", Decimal("0")]  # fmt: skip
        grid.write(layout.COLLECTION_LOG, 2, 1, [entry] * rows)
        grid.format_table(
            layout.COLLECTION_LOG,
            layout_table(layout.LOG_COLUMNS, 1, rows, spare_rows=50),
        )
        grid.save()


def raw_members(path: Path) -> dict[str, bytes]:
    """Each member's local record as stored (header, compressed bytes, descriptor)."""
    data = path.read_bytes()
    archive = zipfile.ZipFile(io.BytesIO(data))
    infos = sorted(archive.infolist(), key=lambda i: i.header_offset)
    ends = [i.header_offset for i in infos[1:]] + [archive.start_dir]  # type: ignore[attr-defined]
    return {i.filename: data[i.header_offset : end] for i, end in zip(infos, ends, strict=True)}


@contextlib.contextmanager
def no_openpyxl_fallback(logger_name: str) -> Iterator[None]:
    """Fail if a fast backend (its logger ``logger_name``) gave the work to openpyxl."""
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger(logger_name)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert not [m for m in seen if "openpyxl" in m], seen

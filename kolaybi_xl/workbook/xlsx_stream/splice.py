"""Putting the streamed rows into the package openpyxl saved without them: the invoice sheet's
part gets the rows (between the rows above and below them) and a ``dimension`` that includes
them; every other member of openpyxl's package is copied byte for byte."""

from __future__ import annotations

import re

from openpyxl.utils import get_column_letter

from ..xlsx_patch.container import Package
from ..xlsx_patch.errors import NotPatchable
from ..xlsx_patch.workbook_xml import WorkbookXml

_ROW_NUMBER = re.compile(rb'<row\b[^>]*?\sr="(\d+)"')


def splice_rows(
    data: bytes, sheet: str, rows: list[bytes], top: int, bottom: int, dimension: str
) -> bytes:
    """``data`` (a package openpyxl wrote) with ``rows`` (rows ``top..bottom``) in ``sheet``.

    ``rows`` is emptied: the sheet's XML is put together in one piece and the rows live on
    only in it (a 50k-row sheet is over 100 MB of XML: one copy at a time, not three)."""
    package = Package(data)
    part = WorkbookXml(package).sheet_part(sheet)
    if part is None:
        raise NotPatchable(f"no part for {sheet}")
    xml = package.read(part)
    # Before the rows go in: the substitution then copies openpyxl's few KB, not the rows.
    xml = re.sub(
        rb'(<dimension\s+ref=")[^"]*(")', rb"\g<1>" + dimension.encode() + rb"\2", xml, count=1
    )
    opened = re.search(rb"<sheetData\s*(/?)>", xml)
    if opened is None:
        raise NotPatchable("openpyxl wrote no sheetData")
    if opened.group(1):  # <sheetData/>
        at, before, after = opened.start(), b"<sheetData>", b"</sheetData>"
        xml = xml[: opened.start()] + xml[opened.end() :]
    else:
        end = xml.index(b"</sheetData>", opened.end())
        at, before, after = end, b"", b""
        for found in _ROW_NUMBER.finditer(xml, opened.end(), end):
            number = int(found.group(1))
            if top <= number <= bottom:
                raise NotPatchable(f"openpyxl wrote row {number} of the streamed rows")
            if number > bottom:
                at = found.start()
                break
    whole = b"".join([xml[:at], before, *rows, after, xml[at:]])
    rows.clear()
    return package.rebuild({part: whole})


def dimension_ref(min_row: int, min_col: int, max_row: int, max_col: int) -> str:
    return f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max_row}"

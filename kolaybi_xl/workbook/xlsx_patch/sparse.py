"""Reading a few rows of a big sheet: collect needs every row's mark but whole rows only for
the marked ones (200 of 50,000). The rows whose cell in one column holds anything are found by
a scan of the sheet's bytes; their values are read by python-calamine from a copy of the sheet
that holds only them (renumbered one after another), inside a copy of the package, so each is
exactly what the whole read gives: shared strings, styles, dates, errors and formulas alike.

Anything the scan cannot be sure of (cells written in another form, a sheet without rows, a
last row that reads empty) answers None: the caller then reads the whole sheet."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from openpyxl.utils.cell import get_column_letter
from python_calamine import CalamineWorkbook

from .container import Package
from .errors import NotPatchable
from .sheet import Sheet
from .values import errors, formulas, put_in, python_rows


@dataclass
class SomeRows:
    """Rows of a sheet as a whole read gives them (not padded), by sheet row number."""

    rows: dict[int, list[Any]]
    length: int  # how many rows the whole read gives: the last row holding a value


def filled_rows(sheet: Sheet, column: int, below: int) -> list[int] | None:
    """Rows after ``below`` whose cell in ``column`` holds anything (a value, an inline string,
    a formula; a superset: an empty ``<v/>`` counts), in order; None when unsure."""
    xml, p = sheet.xml, sheet.p
    start, end = sheet.data_span
    # Every tag that starts "<c" must be a cell written ``<c r="...`` (every known writer's
    # form), or the scan could miss a mark: another attribute first, a newline after the
    # name, rich text's ``<color>`` all make it unsure.
    if xml.count(b"<" + p + b"c", start, end) != xml.count(b"<" + p + b'c r="', start, end):
        return None
    letter = get_column_letter(column).encode()
    # Only cells with content: a start tag that does not close itself.
    cell = re.compile(rb"<" + re.escape(p) + rb'c r="' + letter + rb'(\d+)"[^>]*?(?<!/)>')
    return [row for m in cell.finditer(xml, start, end) if (row := int(m.group(1))) > below]


def last_value_row(sheet: Sheet) -> int | None:
    """The last row with a value, a string or a formula in it (0: none); None when unsure."""
    xml, p = sheet.xml, sheet.p
    start, end = sheet.data_span
    last = max(xml.rfind(b"</" + p + b"v>", start, end), xml.rfind(b"</" + p + b"t>", start, end))
    # A formula without a value after that (looked for only there: formulas may be rare)
    last = max(last, xml.rfind(b"<" + p + b"f", max(last, start), end))
    if last < 0:
        return 0
    return sheet.row_holding(last)


class RowReader:
    """Reads rows of one worksheet part by number (see the module docstring)."""

    def __init__(self, package: Package, part: str, name: str, sheet: Sheet) -> None:
        self.package, self.part, self.name, self.sheet = package, part, name, sheet

    def marked(
        self, head: int, column_of: Callable[[list[list[Any]]], int | None]
    ) -> SomeRows | None:
        """The first ``head`` rows and, below them, the rows whose cell in the column
        ``column_of(first rows)`` holds something, with the whole read's length; None (read
        the sheet whole) when ``column_of`` says None or the scan is unsure."""
        rows = self.read(range(1, head + 1))
        column = column_of([rows[r] for r in range(1, head + 1)])
        if column is None:
            return None
        filled, last = filled_rows(self.sheet, column, head), last_value_row(self.sheet)
        if filled is None or last is None:
            return None
        rows.update(self.read([*filled, last]))
        if last and all(v is None for v in rows[last]):
            return None  # its "value" reads as nothing: the whole read knows where rows end
        return SomeRows({r: line for r, line in rows.items() if r <= last}, last)

    def read(self, wanted: Iterable[int]) -> dict[int, list[Any]]:
        """The values of the rows ``wanted`` (sheet row numbers) as the whole read gives them,
        errors and formulas included, not padded; a row that is not in the sheet reads as []."""
        numbers = sorted(set(wanted))
        values: dict[int, list[Any]] = {n: [] for n in numbers}
        copied_xml, copied = self._copy(numbers)
        if not copied:
            return values
        try:
            book = CalamineWorkbook.from_filelike(
                io.BytesIO(self.package.rebuild({self.part: copied_xml}))
            )
        except Exception as exc:
            raise NotPatchable(f"calamine cannot read the workbook: {exc}") from None
        read = python_rows(book, self.name)
        for position, number in copied.items():
            values[number] = read[position - 1] if position <= len(read) else []
        for (row, column), value in _exact(self.sheet, copied_xml, copied).items():
            if row in values:
                put_in(values[row], column, value)
        for line in values.values():
            while line and line[-1] is None:
                line.pop()
        return values

    def _copy(self, numbers: list[int]) -> tuple[bytes, dict[int, int]]:
        """The sheet's XML with only the rows ``numbers`` (those it has), renumbered 1, 2, …;
        position in the copy -> sheet row."""
        sheet, p = self.sheet, self.sheet.p
        pieces = [re.sub(rb"<" + re.escape(p) + rb"dimension\b[^>]*/>", b"", sheet.data_head)]
        copied: dict[int, int] = {}
        low = sheet.data_span[0]
        for number in numbers:
            found = sheet.find_row(number, low)
            if found is None or found[0] != number:
                continue
            _, row_start, _, low = found
            copied[len(copied) + 1] = number
            pieces.append(_renumbered(sheet.xml[row_start:low], p, len(copied)))
        pieces.append(b"</" + p + b"sheetData></" + p + b"worksheet>")
        return b"".join(pieces), copied


def _exact(sheet: Sheet, copied_xml: bytes, copied: dict[int, int]) -> dict[tuple[int, int], Any]:
    """Errors and formulas as the whole read gives them, by sheet row: found in the copy (a
    shared formula's text needs the cell that holds it, maybe in a row left out: the sheet)."""
    p = sheet.p
    if b"shared" not in copied_xml:
        exact = {**errors(copied_xml, p), **formulas(copied_xml, p)}
        return {(copied[r], c): value for (r, c), value in exact.items() if r in copied}
    return {**errors(sheet.xml, p), **formulas(sheet.xml, p)}


def _renumbered(row_xml: bytes, p: bytes, number: int) -> bytes:
    """A row's XML with its number, and each of its cells' references, made ``number``: only
    inside ``<row>`` and ``<c>`` start tags (text cannot hold a ``<``)."""
    tag = re.compile(
        rb"(<" + re.escape(p) + rb"(?:row|c)\b[^>]*?\sr\s*=\s*[\"'])([A-Z]{0,3})\d+([\"'])"
    )
    new = str(number).encode()
    return tag.sub(lambda m: m.group(1) + m.group(2) + new + m.group(3), row_xml)

"""A sheet's values as ``FileGrid.read`` gives them, read with python-calamine (Rust) instead of
loading the workbook into openpyxl: numbers without a fraction as ``int`` (openpyxl reads the
``"5"`` every writer puts in the file as an int), dates as ``datetime``, ``""`` as None, the
used block from A1 trimmed of empty rows and columns; formulas (calamine gives their cached
result) as ``Formula`` with their text, shared ones translated as openpyxl does."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from openpyxl.formula.translate import Translator
from python_calamine import CalamineWorkbook

from ...gcpause import paused_gc
from ..grid import Formula
from .errors import NotPatchable
from .sheet import split_ref
from .xmlbits import attrs, unescape

_EXACT_INT = 1e16  # openpyxl writes "%.16g": whole numbers below this have no exponent
_KNOWN = {int, float, str, bool, datetime, date, time, timedelta, type(None)}


def _plain(value: Any, sheet: str) -> Any:
    """A cell that is neither text nor a float, as openpyxl reads it."""
    kind = type(value)
    if kind is date:
        return datetime(value.year, value.month, value.day)
    if kind not in _KNOWN:
        raise NotPatchable(f"unexpected value {value!r} on {sheet}")
    return value


def open_book(data: bytes) -> CalamineWorkbook:
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine's own errors: the openpyxl path says it properly
        raise NotPatchable(f"calamine cannot read the workbook: {exc}") from None


def read_values(book: CalamineWorkbook, name: str, sheet_xml: bytes, p: bytes) -> list[list[Any]]:
    rows = python_rows(book, name)
    exact = {**errors(sheet_xml, p), **formulas(sheet_xml, p)}
    for (row, column), formula in exact.items():
        put(rows, row, column, formula)
    return _trim(rows)


def put(rows: list[list[Any]], row: int, column: int, value: Any) -> None:
    """``value`` into cell (row, column) of a block of row lists, growing it as needed."""
    while len(rows) < row:
        rows.append([])
    put_in(rows[row - 1], column, value)


def put_in(line: list[Any], column: int, value: Any) -> None:
    """``value`` into column ``column`` of a row list, padding it with None as needed."""
    if len(line) < column:
        line.extend([None] * (column - len(line)))
    line[column - 1] = value


def python_rows(book: CalamineWorkbook, name: str) -> list[list[Any]]:
    """The sheet's cells as openpyxl reads them, errors and formulas aside (see ``errors`` and
    ``formulas``): one list per row from A1, not trimmed."""
    try:
        raw = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception as exc:
        raise NotPatchable(f"calamine cannot read sheet {name}: {exc}") from None
    limit = _EXACT_INT
    # One comprehension with the common cells (text, numbers) inline: a call per cell would
    # make this 3x slower on a big sheet.
    with paused_gc(len(raw)):  # 50,000 row lists that all live on
        return [
            [
                (v or None)
                if (kind := type(v)) is str
                else (int(v) if v.is_integer() and -limit < v < limit else v)
                if kind is float
                else datetime(v.year, v.month, v.day)
                if kind is date
                else _plain(v, name)
                for v in source
            ]
            for source in cast(list[list[Any]], raw)
        ]


def _trim(rows: list[list[Any]]) -> list[list[Any]]:
    """``trimmed`` done in place on rows made for this read (a 50k-row block is not copied)."""
    right = _trim_bottom(rows)
    for row in rows:
        n = len(row)
        if n > right:
            del row[right:]
        elif n < right:
            row.extend([None] * (right - n))
    return rows


def _trim_bottom(rows: list[list[Any]]) -> int:
    """Drop the empty rows at the end; the width of what is left."""
    bottom = len(rows)
    while bottom and all(v is None for v in rows[bottom - 1]):
        bottom -= 1
    del rows[bottom:]
    right = 0
    for row in rows:
        n = len(row)
        while n > right and row[n - 1] is None:
            n -= 1
        right = max(right, n)
    return right


def trimmed(rows: list[list[Any]]) -> list[list[Any]]:
    """A copy of the block from A1 to the last non-empty row and column, short rows padded
    with None."""
    bottom = len(rows)
    while bottom and all(v is None for v in rows[bottom - 1]):
        bottom -= 1
    right = 0
    for row in rows[:bottom]:
        n = len(row)
        while n > right and row[n - 1] is None:
            n -= 1
        right = max(right, n)
    return [
        row[:right] if len(row) >= right else row + [None] * (right - len(row))
        for row in rows[:bottom]
    ]


def errors(xml: bytes, p: bytes) -> dict[tuple[int, int], Any]:
    """Error values (``#N/A``…) as their text, like openpyxl (calamine gives "")."""
    found: dict[tuple[int, int], Any] = {}
    if b't="e"' not in xml and b"t='e'" not in xml:
        return found
    cell = re.compile(
        rb"<" + p + rb"c\b([^>]*?\bt\s*=\s*[\"']e[\"'][^>]*)>(.*?)</" + p + rb"c>", re.S
    )
    value = re.compile(rb"<" + p + rb"v>(.*?)</" + p + rb"v>", re.S)
    for m in cell.finditer(xml):
        ref = attrs(m.group(1)).get("r")
        v = value.search(m.group(2))
        if ref is not None and v is not None:
            found[split_ref(ref)] = unescape(v.group(1))
    return found


def formulas(xml: bytes, p: bytes) -> dict[tuple[int, int], Formula]:
    """The formula of every cell that has one, as openpyxl reads it ("=" + its text)."""
    found: dict[tuple[int, int], Formula] = {}
    if b"<" + p + b"f" not in xml:
        return found
    tag = re.compile(rb"<" + p + rb"f\b([^>]*?)(?:/>|>(.*?)</" + p + rb"f>)", re.S)
    cell_start = b"<" + p + b"c"
    shared: dict[str, Translator] = {}
    for m in tag.finditer(xml):
        start = xml.rfind(cell_start, 0, m.start())
        if start < 0:
            continue
        head_end = xml.index(b">", start)
        ref = attrs(xml[start + len(cell_start) : head_end]).get("r")
        if ref is None:
            raise NotPatchable("a formula cell without its reference")
        a = attrs(m.group(1))
        if a.get("t") == "dataTable":
            raise NotPatchable("a data table formula")
        text = "=" + (unescape(m.group(2)) if m.group(2) is not None else "")
        if a.get("t") == "shared":
            si = a.get("si", "")
            if "ref" in a:
                shared[si] = Translator(text, ref)
            elif si in shared:
                text = shared[si].translate_formula(ref)
        found[split_ref(ref)] = Formula(text)
    return found

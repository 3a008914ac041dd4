"""Values into openpyxl cells, by the grid's rules, without openpyxl's type inference.

- Text is data: every ``str`` is stored as an inline string (never a formula, never an error
  value), cleaned of control characters; text that Excel would read as a formula when edited
  (``= + - @`` at the start) also gets the "quote prefix" style so it stays text after an edit.
  Only ``grid.Formula`` values become formulas.
- Numbers (``Decimal`` too) are written as the shortest exact text of their double
  (``Decimal("2327.60")`` -> ``2327.6``), not through openpyxl's ``%.16g``, which turns ~5% of
  two-decimal amounts into binary noise such as ``0.07000000000000001``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from openpyxl.cell.cell import Cell, MergedCell

from ..gcpause import paused_gc
from . import layout
from .cell_values import cell_value, number_text, quote_prefixed
from .grid import CellValue, Formula
from .xlsx_errors import merged_error
from .xlsx_format import grow_wrapped_rows

MAX_ROW = layout.MAX_ROW


class ExactNumber(str):
    """A number's exact text, kept in ``cell._value`` with data type ``n``.

    openpyxl writes numbers with ``"%.16g" % value``, which prints many two-decimal amounts with
    binary noise; a ``str`` passes through its writer unchanged, so the file gets this text.
    ``FileGrid.read`` turns it back into a float.
    """

    __slots__ = ()


def write_block(
    ws: Any, path: Path, sheet: str, top: int, left: int, rows: Sequence[Sequence[CellValue]]
) -> None:
    """Write a block of values into a worksheet (wrapped rows grow to fit); a value on a merged
    cell is an error."""
    if top < 1 or left < 1 or top + len(rows) - 1 > MAX_ROW:
        _write_checked(ws, path, sheet, top, left, rows)  # openpyxl's own errors
        return
    # Cells are looked up and created directly in the sheet's cell map (what ``ws.cell``
    # does after its bounds check, done above for the whole block): a refresh writes a
    # few hundred thousand cells and the per-call overhead was a third of the write.
    cells = ws._cells
    last_row = 0
    with paused_gc(len(rows)):
        for r, row in enumerate(rows, start=top):
            for c, value in enumerate(row, start=left):
                cell = cells.get((r, c))
                if cell is None:
                    cell = cells[r, c] = Cell(ws, row=r, column=c)
                    last_row = r
                elif type(cell) is MergedCell:
                    if value is None:
                        continue
                    raise merged_error(path, sheet, cell.coordinate)
                store(cell, value)
    if last_row > ws._current_row:
        ws._current_row = last_row
    grow_wrapped_rows(ws, top, left, rows)


def refuse_merged(ws: Any, path: Path, sheet: str, cells: Iterable[tuple[int, int]]) -> None:
    """``merged_error`` for the first of ``cells`` (row, column) inside merged cells."""
    for r, c in sorted(cells):
        cell = ws._cells.get((r, c))
        if type(cell) is MergedCell:
            raise merged_error(path, sheet, cell.coordinate)


def _write_checked(
    ws: Any, path: Path, sheet: str, top: int, left: int, rows: Sequence[Sequence[CellValue]]
) -> None:
    """``write_block`` through ``ws.cell`` (which checks the bounds), one cell at a time."""
    cell_at = ws.cell
    for r, row in enumerate(rows, start=top):
        for c, value in enumerate(row, start=left):
            cell = cell_at(row=r, column=c)
            if type(cell) is MergedCell:
                if value is None:
                    continue
                raise merged_error(path, sheet, cell.coordinate)
            store(cell, value)


def store(cell: Any, value: CellValue) -> None:
    """One value into one cell: ``cell_values.cell_value`` decides what it becomes, this sets
    the openpyxl attributes (value, data type, quote prefix) without openpyxl's type inference."""
    stored: Any = cell_value(value)  # narrowed by ``kind`` below, which mypy does not follow
    kind = type(stored)
    _set_quote_prefix(cell, quote_prefixed(stored))
    if kind is str:
        cell._value = stored
        cell.data_type = "s"  # never a formula ("=..."), never an error value ("#N/A")
    elif stored is None or kind is int:
        cell._value = stored
        cell.data_type = "n"
    elif kind is float:
        cell._value = ExactNumber(number_text(stored))
        cell.data_type = "n"
    elif kind is Formula:
        cell._value = str(stored)
        cell.data_type = "f"
    else:  # bool, date, datetime: openpyxl's own typing
        cell.value = stored


def _set_quote_prefix(cell: Any, on: bool) -> None:
    style = cell._style
    if on:
        if style is None or not style.quotePrefix:
            cell.quotePrefix = True
    elif style is not None and style.quotePrefix:
        style.quotePrefix = 0


def read_block(cells: dict[tuple[int, int], Any]) -> list[list[Any]]:
    """The used block from A1 of a sheet's cell map: rows of values, short rows padded with
    None, empty trailing rows and columns trimmed. Formulas come back as ``Formula``."""
    # Walk the cells openpyxl holds rather than ``iter_rows``: that creates a cell object for
    # every empty position it passes, and a sheet with formatted cells far below the data
    # would make it walk (and create) all of them.
    filled: list[tuple[int, int, Any]] = []
    bottom = right = 0
    for (row, column), cell in cells.items():
        value = cell._value
        if value is None or value == "":
            continue
        if cell.data_type == "f":
            value = Formula(getattr(value, "text", None) or str(value))
        elif type(value) is ExactNumber:
            value = float(value)
        filled.append((row, column, value))
        if row > bottom:
            bottom = row
        if column > right:
            right = column
    grid: list[list[Any]] = [[None] * right for _ in range(bottom)]
    for row, column, value in filled:
        grid[row - 1][column - 1] = value
    return grid


def clear_block(
    cells: dict[tuple[int, int], Any], top: int, left: int, bottom: int, right: int
) -> None:
    """Empty the values of a block; formats (and the cells' styles) stay."""
    for cell in _cells_in(cells, top, left, bottom, right):
        if type(cell) is not MergedCell:
            cell._value = None
            cell.data_type = "n"


def _cells_in(
    cells: dict[tuple[int, int], Any], top: int, left: int, bottom: int, right: int
) -> Iterator[Any]:
    """The existing cells of a block, without creating any."""
    area = max(0, bottom - top + 1) * max(0, right - left + 1)
    if area <= len(cells):
        for row in range(top, bottom + 1):
            for column in range(left, right + 1):
                cell = cells.get((row, column))
                if cell is not None:
                    yield cell
    else:
        for (row, column), cell in list(cells.items()):
            if top <= row <= bottom and left <= column <= right:
                yield cell

"""The invoice table read for collecting: whole rows only where ``Tahsil Et`` holds something.

Collect and undo look at every row's mark but at the other cells of the marked rows only
(and of rows the journal names, which is why a run with earlier attempts to write reads the
table whole). A grid that can read rows in part (``read_marked``: a workbook file's) gives just
those; every other row is an ``_Unread`` placeholder whose mark is empty and whose other cells
are read from the grid if anything ever asks for them. 200 marked rows of 50,000: the table in
a tenth of the time and memory of a whole read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, cast, overload

from ..workbook import layout
from ..workbook.cells import is_blank
from ..workbook.grid import Grid
from .errors import JobError
from .table import InvoiceTable, padded, parse_invoice_table


class _Unread(Sequence[Any]):
    """A row the partial read left out because its mark cell is empty; any other cell is read
    from the grid when first asked for (no known step does)."""

    __slots__ = ("_line", "_mark", "_read", "_row", "_width")

    def __init__(self, mark: int, width: int, read: Callable[[int], list[Any]], row: int) -> None:
        self._mark, self._width, self._read, self._row = mark, width, read, row
        self._line: list[Any] | None = None

    def __len__(self) -> int:
        return self._width

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if index == self._mark:
            return None
        if self._line is None:
            line = self._read(self._row)
            self._line = line[: self._width] + [None] * (self._width - len(line))
        return self._line[index]


class _Rows(Sequence[list[Any]]):
    """The table's rows: those read whole, and an ``_Unread`` made when any other is asked for."""

    def __init__(
        self,
        lines: dict[int, list[Any]],
        length: int,
        unread: Callable[[int], _Unread],
    ) -> None:
        self._lines, self._length, self._unread = lines, length, unread
        self.read_indexes = sorted(lines)  # every other row's mark is empty

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> list[Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[list[Any]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        line = self._lines.get(index)
        if line is not None:
            return line
        if not 0 <= index < self._length:
            raise IndexError(index)
        return self._unread(index)


def read_marked_table(grid: Grid) -> InvoiceTable | None:
    """The invoice table with whole rows only where ``Tahsil Et`` holds something, or None:
    the grid cannot read rows in part, or the table is not one this can be sure of (no header,
    no mark column, nothing marked) — ``read_invoice_table`` then reads it whole and says why."""
    read_marked = getattr(grid, "read_marked", None)
    read_row = getattr(grid, "read_row", None)
    if read_marked is None or read_row is None or layout.INVOICES not in grid.sheet_names():
        return None
    found = read_marked(layout.INVOICES, layout.HEADER_SEARCH_ROWS, _mark_column)
    if found is None:
        return None
    header_and_mark = _header_and_mark(
        [found.rows.get(r, []) for r in range(1, layout.HEADER_SEARCH_ROWS + 1)]
    )
    if header_and_mark is None:
        return None
    top, mark = header_and_mark
    width = max([len(top.header), *(len(line) for line in found.rows.values())])
    first = top.header_row + 1
    lines = {
        r - first: padded(line, width, owned=True) for r, line in found.rows.items() if r >= first
    }
    if not any(not is_blank(line[mark - 1]) for line in lines.values()):
        return None  # nothing to collect: the whole read says whether the table is empty

    def unread(index: int) -> _Unread:
        return _Unread(mark - 1, width, partial(read_row, layout.INVOICES), first + index)

    # A sequence standing in for the list of rows: every step reads rows by index.
    rows = cast(list[list[Any]], _Rows(lines, found.length - top.header_row, unread))
    return InvoiceTable(top.header_row, padded(top.header, width, owned=True), rows)


def _header_and_mark(head: list[list[Any]]) -> tuple[InvoiceTable, int] | None:
    """The table as found in the sheet's first rows and the 1-based column of its marks, if
    those rows hold our table."""
    try:
        top = parse_invoice_table(head)
    except JobError:
        return None
    mark = top.col(layout.C_MARK.header) if top is not None else None
    return None if top is None or mark is None else (top, mark)


def _mark_column(head: list[list[Any]]) -> int | None:
    found = _header_and_mark(head)
    return None if found is None else found[1]

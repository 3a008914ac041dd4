"""The streamed block as worksheet rows: for each cell, the XML openpyxl would write had
``FileGrid.write`` stored the value (``xlsx_store.store``) and ``format_table`` formatted it
(``xlsx_format``): the same value conversion, the same style arrays (registered in the
workbook's style list, so ``cellXfs`` holds them), the same row heights for wrapped text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from openpyxl.cell.cell import Cell
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter

from ..cell_values import CellValue, cell_value, number_text
from ..cells import FORMULA_STARTS
from ..grid import TableFormat
from ..xlsx_format import (
    INPUT_FILL,
    LINE_HEIGHT,
    MAX_WRAPPED_LINES,
    OUTPUT_FILL,
    TOP_ALIGNMENT,
    StyleIds,
    column_style_ids,
    formatted_style,
    wrapped_columns,
    wrapped_lines,
)
from ..xlsx_patch.render import cell_content, render_cell
from ..xlsx_store import store


@dataclass
class Block:
    """Rows of values from ``top`` down, column A rightwards, not yet in the sheet."""

    top: int
    rows: list[list[CellValue]]
    table: TableFormat | None = None  # the format that covers exactly these rows

    @property
    def bottom(self) -> int:
        return self.top + len(self.rows) - 1

    @property
    def width(self) -> int:
        return max((len(row) for row in self.rows), default=0)

    def covered_by(self, table: TableFormat) -> bool:
        """Whether ``table``'s data rows are exactly this block."""
        return (
            table.header_row + 1 == self.top
            and table.data_rows == len(self.rows)
            and table.first_column == 1
            and len(table.columns) >= self.width
        )


class _Styles:
    """Style ids of the block's cells, resolved once per kind of cell."""

    def __init__(self, ws: Any, table: TableFormat) -> None:
        self.ws = ws
        self.workbook = ws.parent
        ids = self.ids = StyleIds(ws)
        self.replaceable = {ids.fill(INPUT_FILL), ids.fill(OUTPUT_FILL), 0}
        first = table.first_column
        self.formats: dict[int, tuple[int | None, int | None, int | None]] = {}
        for offset, column in enumerate(table.columns):
            found = column_style_ids(ids, column)
            if found != (None, None, None):  # as ``_format_columns``: else left alone
                self.formats[first + offset] = found
        self.table_columns = range(first, first + len(table.columns))
        self._stored: dict[tuple[type, bool], StyleArray | None] = {}
        self._ids: dict[tuple[int, type, bool, bool], int] = {}
        self._top: int | None = None

    def _after_store(self, stored: Any, quoted: bool) -> StyleArray | None:
        """The style ``store`` leaves on a new cell for a value of this kind."""
        key = (type(stored), quoted)
        if key not in self._stored:
            scratch = Cell(self.ws)  # never added to the sheet
            store(scratch, stored)
            style = scratch._style
            self._stored[key] = StyleArray(style) if style is not None else None
        return self._stored[key]

    def id_of(self, column: int, stored: Any, quoted: bool, tall: bool) -> int:
        key = (column, type(stored), quoted, tall)
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = self._resolve(column, stored, quoted, tall)
        return found

    def _resolve(self, column: int, stored: Any, quoted: bool, tall: bool) -> int:
        style = self._after_store(stored, quoted)
        if column in self.formats:
            style = formatted_style(style, *self.formats[column], self.replaceable)
        if tall and style is not None and style.alignmentId == 0 and column in self.table_columns:
            # ``_align_top``: the cells of a taller row with no alignment read from its top
            if self._top is None:
                self._top = self.ids.alignment(TOP_ALIGNMENT)
            style = StyleArray(style)
            style.alignmentId = self._top
        if style is None or not any(style):
            return 0  # openpyxl writes no ``s`` for a cell without a style
        return int(self.workbook._cell_styles.add(style))


def _as_cell_holds(stored: Any) -> Any:
    """The value as ``store`` keeps it in ``cell._value`` (what row heights are judged on)."""
    return number_text(stored) if type(stored) is float else stored


def render_block(ws: Any, block: Block) -> list[bytes]:
    """The ``<row>`` elements of ``block`` (its table format applied), in order."""
    table = block.table
    assert table is not None
    rows = _RowWriter(ws, table, block.width)
    return [rows.row(r, values) for r, values in enumerate(block.rows, start=block.top)]


# A cell's rendering is kept for reuse when its value is one of these types (currencies,
# statuses, labels, dates and amounts repeat down a column; equal values, equal cells); at
# most this many per column, so a column of unique texts costs no more than a bounded cache.
# A value of one of them never equals one of another (unlike ``1 == True == Decimal(1)``), so
# the value alone is the key.
_REUSED = frozenset({str, date, type(None), Decimal})
REUSED_PER_COLUMN = 2_000


class _RowWriter:
    """One block's rows as XML: what every row shares (styles, wrapped columns, cell refs)
    worked out once, and each cell after its ``r="A`` by (column, value, taller row)."""

    def __init__(self, ws: Any, table: TableFormat, width: int) -> None:
        self.styles = _Styles(ws, table)
        self.epoch = ws.parent.epoch
        self.wrapped = wrapped_columns(table)
        self.letters = [get_column_letter(c).encode() for c in range(1, width + 1)]
        self.heads = [b'<c r="' + letter for letter in self.letters]
        # the cell's ``s`` attribute, by (column, kind, quoted, tall)
        self.known: dict[tuple[int, type, bool, bool], bytes] = {}
        # reused cells: [tall][column - 1][value]
        self.reused: tuple[list[dict[Any, bytes]], ...] = tuple(
            [{} for _ in range(width)] for _ in range(2)
        )

    def row(self, r: int, values: list[CellValue]) -> bytes:
        lines = self._lines(values)
        tall = lines > 1
        number = b"%d" % r
        if tall:
            height = LINE_HEIGHT * min(lines, MAX_WRAPPED_LINES)
            parts = [b'<row r="%s" ht="%s" customHeight="1">' % (number, b"%.16g" % height)]
        else:
            parts = [b'<row r="%s">' % number]
        heads, reused = self.heads, self.reused[tall]
        for c, value in enumerate(values, start=1):
            if type(value) in _REUSED:
                cache = reused[c - 1]
                try:
                    tail = cache.get(value)
                except TypeError:  # Decimal("sNaN") has no hash
                    tail = self._tail(c, number, value, tall)
                    parts += (heads[c - 1], number, tail)
                    continue
                if tail is None:
                    tail = self._tail(c, number, value, tall)
                    if len(cache) < REUSED_PER_COLUMN:
                        cache[value] = tail
            else:
                tail = self._tail(c, number, value, tall)
            parts += (heads[c - 1], number, tail)
        parts.append(b"</row>")
        return b"".join(parts)

    def _lines(self, values: list[CellValue]) -> int:
        """The lines the row's wrapped texts need (its height)."""
        lines = 1
        for column, width in self.wrapped:
            if column <= len(values):
                stored = _as_cell_holds(cell_value(values[column - 1]))
                lines = max(lines, wrapped_lines(stored, width))
        return lines

    def _tail(self, c: int, number: bytes, value: CellValue, tall: bool) -> bytes:
        """The cell's XML after its ``<c r="`` and row number: the rest of its reference's
        attribute, its ``s``, its content. The same for any row (the number is not in it)."""
        stored: Any = cell_value(value)
        kind = type(stored)
        quoted = kind is str and stored.startswith(FORMULA_STARTS)  # ``quote_prefixed``
        attribute = self.known.get((c, kind, quoted, tall))
        if attribute is None:
            attribute = self._attribute(c, stored, quoted, tall)
        # The common kinds inline (a new 50k-row table is a million cells); the rest as
        # ``xlsx_patch.render`` says it, the same rules.
        if kind is str:
            return _text_cell(attribute, stored)
        if stored is None:
            return attribute + b"/>"
        if kind is int:
            return attribute + b"><v>%d</v></c>" % stored
        if kind is float:
            return attribute + b"><v>" + number_text(stored).encode() + b"</v></c>"
        ref = (self.letters[c - 1] + number).decode()
        style = self.styles.id_of(c, stored, quoted, tall)
        whole = render_cell(b"", ref, style, cell_content(stored, self.epoch))
        return whole[len(b'<c r="') + len(ref) :]

    def _attribute(self, c: int, stored: Any, quoted: bool, tall: bool) -> bytes:
        """The end of a cell's ``r`` attribute and its ``s`` (none for style 0)."""
        style = self.styles.id_of(c, stored, quoted, tall)
        attribute = self.known[(c, type(stored), quoted, tall)] = (
            b'" s="%d"' % style if style else b'"'
        )
        return attribute


def _text_cell(head: bytes, stored: str) -> bytes:
    text = escape(stored).encode()
    stripped = stored.strip()  # openpyxl's ``whitespace``: not for blank text
    space = b' xml:space="preserve"' if stripped and stripped != stored else b""
    return head + b' t="inlineStr"><is><t' + space + b">" + text + b"</t></is></c>"

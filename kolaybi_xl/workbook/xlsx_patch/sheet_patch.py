"""A sheet's recorded changes as byte edits of its XML: written values rendered (styles
found or added), a table format extended downwards, wrapped rows sized (see ``grid``)."""

from __future__ import annotations

import re
from typing import Any

from openpyxl.utils.cell import get_column_letter

from ...gcpause import paused_gc
from ..cell_values import cell_value
from ..grid import TableFormat
from ..xlsx_format import DEFAULT_WIDTH, LINE_HEIGHT, MAX_WRAPPED_LINES, wrapped_lines
from .errors import NotPatchable
from .render import EMPTY, TEXT, cell_content, render_cell
from .sheet import Cell, CellPatch, Edit, Sheet
from .styles import Styles
from .table_format import TableReformat
from .workbook_xml import WorkbookXml


class _Cleared:
    """A cell emptied by ``clear``: its value goes, its style stays (as in ``FileGrid``)."""


CLEARED = _Cleared()


class SheetPatch:
    """The changes of one sheet: recorded writes, and a table format extended downwards."""

    def __init__(
        self,
        styles: Styles,
        book: WorkbookXml,
        name: str,
        sheet: Sheet,
        table: TableFormat | None,
        reformat: TableReformat | None = None,
        values: list[list[Any]] | None = None,
    ):
        self.book = book
        self.reformat = reformat
        self.values = values or []
        self.name = name
        self.sheet = sheet
        self.table = table
        self.styles = styles
        self.epoch = book.epoch
        self.calc_chain = False
        self._column_styles: dict[int, int] | None = None
        self._row_styles: dict[int, int | None] = {}
        self._formats: dict[int, str] = {}
        self._format_rows = (0, -1)
        self._lines: dict[int, int] = {}  # row -> lines its new wrapped text needs
        self._widths: dict[int, float] | None = None
        if table is not None and reformat is None:
            header = table.header_row
            self._format_rows = (header + 1, header + max(0, table.data_rows) + table.spare_rows)
            for offset, column in enumerate(table.columns):
                if column.number_format:
                    self._formats[table.first_column + offset] = column.number_format

    def _base_style(self, row: int, column: int) -> int:
        """A new cell's style: its row's, else its column's, else the default."""
        if row not in self._row_styles:  # a bisection of the sheet per row, not per cell
            self._row_styles[row] = self.sheet.row_style(row)
        style = self._row_styles[row]
        if style is not None:
            return style
        if self._column_styles is None:
            self._column_styles = self.sheet.column_styles()
        return self._column_styles.get(column, 0)

    def _format_for(self, row: int, column: int) -> str | None:
        low, high = self._format_rows
        return self._formats.get(column) if low <= row <= high else None

    def run(
        self, writes: dict[tuple[int, int], Any], before: dict[tuple[int, int], Any]
    ) -> tuple[list[Edit], bool]:
        """The sheet's edits (in order), and whether a formula gave way to a value."""
        # A patch per written cell, a rebuilt row per changed row, none of them garbage cycles.
        with paused_gc(len(writes)):
            return self._run(writes, before)

    def _run(
        self, writes: dict[tuple[int, int], Any], before: dict[tuple[int, int], Any]
    ) -> tuple[list[Edit], bool]:
        rows: dict[int, dict[int, CellPatch]] = {}
        for (r, c), value in writes.items():
            rows.setdefault(r, {})[c] = self._value_patch(value, before.get((r, c)))
        if self.table is not None and self._formats:
            # Rows below the sheet's last row get their formats (spare rows), as in FileGrid.
            low, high = self._format_rows
            for r in range(max(low, self.sheet.last_row() + 1), high + 1):
                line = rows.setdefault(r, {})
                for c in self._formats:
                    line.setdefault(c, self._format_patch())
        fit = None
        if self.reformat is not None:
            self._reformat_rows(rows)
            fit = self.reformat.fit
        edits, corner = self.sheet.edits(rows, self._height, fit)
        if edits:
            dimension = self.sheet.dimension_edit(corner)
            if dimension is not None:
                edits.insert(0, dimension)
        if self.table is not None:
            table = self.table
            last = get_column_letter(table.first_column + max(len(table.columns), 1) - 1)
            first = get_column_letter(table.first_column)
            bottom = table.header_row + max(0, table.data_rows)
            ref = f"{first}{table.header_row}:{last}{bottom}"
            if self.sheet.autofilter_ref() != ref:
                edits.append(self.sheet.autofilter_edit(ref))
                absolute = f"${first}${table.header_row}:${last}${bottom}"
                self.book.set_filter_database(self.name, absolute)
        if self.reformat is not None:
            edits.extend(self.reformat.outside_edits())
            edits.sort(key=lambda edit: (edit[0], edit[1]))  # Sheet.apply takes them in order
        return edits, self.calc_chain

    def _reformat_rows(self, rows: dict[int, dict[int, CellPatch]]) -> None:
        """The table format made again over the rows (``TableReformat``): a written cell gets
        its style in its value's patch; every other cell it may restyle or create, here."""
        reformat = self.reformat
        assert reformat is not None
        for row in reformat.rows_to_fit(self.values) - rows.keys():
            line = rows.setdefault(row, {})  # its height, and its cells' alignment, anew
            for column in reformat.span:
                line.setdefault(column, self._format_only)
        reformat.fit_rows(sorted(rows), self.values)
        for row, columns in reformat.rows_to_visit().items():
            line = rows.setdefault(row, {})
            for column in columns:
                line.setdefault(column, self._format_only)

    def _format_only(self, cell: Cell | None, row: int, column: int) -> bytes | None:
        """A cell no value is written to, restyled (or created) as the table format says."""
        reformat = self.reformat
        assert reformat is not None
        if cell is None:
            style = reformat.blank(row, column)
            if style is None:
                return None
            empty = cell_content(None, self.epoch)
            return render_cell(self.sheet.p, _ref(row, column), style, empty)
        wanted = reformat.target(cell.style, row, column)
        return None if wanted == cell.style else _restyle(cell, wanted)

    def _height(self, row: int) -> float | None:
        lines = self._lines.get(row, 1)
        return LINE_HEIGHT * min(lines, MAX_WRAPPED_LINES) if lines > 1 else None

    def _note_wrapped(self, row: int, column: int, style: int, text: str) -> None:
        """A written text in a wrapping cell: how many lines its row needs (as FileGrid's
        ``grow_wrapped_rows`` does: neither Excel nor LibreOffice sizes rows on opening)."""
        if len(text) < 8 or not self.styles.wraps(style):
            return
        if self._widths is None:
            self._widths = self.sheet.column_widths()
        lines = wrapped_lines(text, self._widths.get(column, DEFAULT_WIDTH))
        self._lines[row] = max(self._lines.get(row, 1), lines)

    def _format_patch(self) -> CellPatch:
        def create(cell: Cell | None, row: int, column: int) -> bytes | None:
            code = self._format_for(row, column)
            if code is None:
                return None
            if cell is None:
                style = self.styles.with_format(self._base_style(row, column), code)
                empty = cell_content(None, self.epoch)
                return render_cell(self.sheet.p, _ref(row, column), style, empty)
            style = self.styles.with_format(cell.style, code)
            if style == cell.style:
                return None
            return _restyle(cell, style)

        return create

    def _formula_goes(self, cell: Cell) -> None:
        if re.search(rb"<" + self.sheet.p + rb"f\b[^>]*\bref=", cell.xml):
            raise NotPatchable("a shared or array formula's master cell changes")
        self.calc_chain = True

    def _value_patch(self, value: Any, before: Any) -> CellPatch:
        def create(cell: Cell | None, row: int, column: int) -> bytes | None:
            p = self.sheet.p
            styles = self.styles
            reformat = self.reformat
            if value is CLEARED:
                if cell is None:
                    return self._format_only(cell, row, column) if reformat else None
                if cell.has_formula(p):
                    self._formula_goes(cell)
                style = reformat.target(cell.style, row, column) if reformat else cell.style
                return _emptied(cell, p, style)
            content = cell_content(value, self.epoch)
            if reformat is not None and cell is None and content.kind == EMPTY:
                return self._format_only(cell, row, column)
            style = cell.style if cell is not None else self._base_style(row, column)
            style = styles.with_quote(style, content.quoted)
            if content.date_format is not None and not styles.is_date(style):
                style = styles.with_format(style, content.date_format)
            code = self._format_for(row, column)
            if code is not None:
                style = styles.with_format(style, code)
            if reformat is not None:
                style = reformat.target(style, row, column)
            if cell is None:
                if content.kind == EMPTY and code is None:
                    return None  # nothing into a cell that is not there: no cell needed
            elif style == cell.style and _same(before, value):
                return None  # written back as it was: the cell keeps its exact XML
            if cell is not None and cell.has_formula(p):
                self._formula_goes(cell)
            if content.kind == TEXT:
                self._note_wrapped(row, column, style, content.text)
            return render_cell(p, _ref(row, column), style, content)

        return create


def _ref(row: int, column: int) -> str:
    return f"{get_column_letter(column)}{row}"


def _same(before: Any, value: Any) -> bool:
    """Whether writing ``value`` leaves the cell's value as it was (type included)."""
    if value is CLEARED:
        return before is None
    shown = cell_value(value)
    return type(shown) is type(before) and shown == before


def _restyle(cell: Cell, style: int) -> bytes:
    xml = cell.xml
    found = re.match(rb"(<[^>]*?)(\s+s\s*=\s*[\"']\d*[\"'])", xml)
    attribute = b' s="%d"' % style if style else b""
    if found is not None:
        return found.group(1) + attribute + xml[found.end() :]
    head = re.match(rb"<[\w:]*c\b", xml)
    assert head is not None
    return xml[: head.end()] + attribute + xml[head.end() :]


def _emptied(cell: Cell, p: bytes, style: int) -> bytes:
    """The cell with its value (and formula) gone, its reference kept, ``style`` given."""
    return (
        b"<"
        + p
        + b'c r="'
        + cell.attributes["r"].encode()
        + b'"'
        + (b' s="%d"' % style if style else b"")
        + b"/>"
    )


__all__ = ["CLEARED", "SheetPatch"]

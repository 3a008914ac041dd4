"""Formatting workbook files (openpyxl): the file side of ``Grid.format_table``.

Fonts (every one named, the layout's family), fills, widths, number formats, wrapping,
dropdowns, the grey style of rows no longer listed, and how each sheet prints (``layout.PAPER``:
A4 landscape, the header row on every page, a page header and footer).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.dimensions import ColumnDimension

from . import layout
from .grid import ColumnFormat, MutedRows, TableFormat
from .xlsx_paper import set_paper
from .xlsx_validation import apply_validations

MAX_ROW = layout.MAX_ROW

HEADER_ROW_HEIGHT = 30.0
LINE_HEIGHT = 15.0  # one line of 11 pt text
MAX_WRAPPED_LINES = 8
GROW_CHECK_ROWS = 2_000
DEFAULT_WIDTH = 8.43  # Excel's column width when none is set
_OUR_HEIGHTS = {LINE_HEIGHT * n for n in range(2, MAX_WRAPPED_LINES + 1)}
_THIN = Side(style="thin", color="A6A6A6")
HEADER_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _solid(color: str) -> PatternFill:
    return PatternFill(fill_type="solid", start_color=color, end_color=color)


def _font(**options: Any) -> Font:
    """A font with the workbook's name and size: none is left nameless."""
    return Font(**{"name": layout.FONT_NAME, "size": layout.FONT_SIZE, **options})


HEADER_FONT = _font(bold=True, color=layout.HEADER_FONT)
HEADER_FILL = _solid(layout.HEADER_FILL)
INPUT_HEADER_FONT = _font(bold=True, color=layout.DARK_FONT)
INPUT_HEADER_FILL = _solid(layout.INPUT_HEADER_FILL)
INPUT_FILL = _solid(layout.INPUT_FILL)
OUTPUT_HEADER_FONT = _font(bold=True, color=layout.DARK_FONT)
OUTPUT_HEADER_FILL = _solid(layout.OUTPUT_HEADER_FILL)
OUTPUT_FILL = _solid(layout.OUTPUT_FILL)
TITLE_FONT = _font(bold=True, size=16, color=layout.TITLE_FONT)
LABEL_FONT = _font(bold=True)
# Rows whose invoice is no longer listed: grey text (a conditional format).
MUTED_STYLE = DifferentialStyle(
    font=Font(name=layout.FONT_NAME, color=layout.MUTED_FONT, italic=True)
)
# Wrapped text reads from the top of its row; so do the other cells of a row made taller.
WRAP_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
TOP_ALIGNMENT = Alignment(vertical="top")


class StyleIds:
    """Style indices resolved once per table, then copied into each cell's style array.

    Setting ``cell.fill = ...`` hashes the style object into the workbook's style list on every
    cell; resolving the index once and patching the cell's ``StyleArray`` is ~3x faster and
    gives the same file.
    """

    def __init__(self, ws: Any) -> None:
        self._scratch = Cell(ws)
        self._cache: dict[tuple[str, Any], int] = {}

    def _resolve(self, attribute: str, value: Any, index_name: str) -> int:
        key = (attribute, value)
        if key not in self._cache:
            scratch = self._scratch
            scratch._style = StyleArray()
            setattr(scratch, attribute, value)
            self._cache[key] = getattr(scratch._style, index_name)
        return self._cache[key]

    def number_format(self, value: str) -> int:
        return self._resolve("number_format", value, "numFmtId")

    def fill(self, value: PatternFill) -> int:
        return self._resolve("fill", value, "fillId")

    def alignment(self, value: Alignment) -> int:
        return self._resolve("alignment", value, "alignmentId")


def _own_column_dimension(ws: Any, index: int) -> Any:
    """The column's own ``<col>`` entry, split out of a group (``min=3 max=4``) if need be.

    Files from Excel or XlsxWriter group equal columns; openpyxl keys the group by its first
    letter, so setting ``column_dimensions["D"]`` would add a second, overlapping ``<col>`` for
    D and Excel would "repair" the file.
    """
    dimensions = ws.column_dimensions
    for key, group in list(dimensions.items()):
        low, high = group.min, group.max
        if low is None or high is None or low == high or not low <= index <= high:
            continue
        del dimensions[key]
        for start, end in ((low, index - 1), (index, index), (index + 1, high)):
            if start > end:
                continue
            part = ColumnDimension(
                ws,
                index=get_column_letter(start),
                width=group.width,
                bestFit=group.bestFit,
                hidden=group.hidden,
                outlineLevel=group.outlineLevel,
                collapsed=group.collapsed,
                min=start,
                max=end,
            )
            part._style = StyleArray(group._style) if group._style is not None else None
            dimensions[get_column_letter(start)] = part
    return dimensions[get_column_letter(index)]


def _format_column(
    ws: Any,
    index: int,
    top: int,
    data_bottom: int,
    bottom: int,
    number_id: int | None,
    fill_id: int | None,
    replaceable: set[int],
    align_id: int | None = None,
    streamed: range = range(0),
) -> None:
    """A number format (rows ``top..bottom``) and a fill (``top..data_bottom``, over no fill
    but ours) for one column: each cell's style array is patched in place, cells missing
    from the sheet's cell map are created as ``ws.cell`` would. Rows in ``streamed`` are left
    out (their cells are written at save by ``xlsx_stream``, with ``formatted_style``)."""
    if top > bottom:
        return
    if bottom > MAX_ROW:
        ws.cell(row=bottom, column=index)  # openpyxl's own error
    cells = ws._cells
    blank = _blank_style(number_id, fill_id, align_id)
    last_row = 0
    for row in range(top, bottom + 1):
        if row in streamed:
            continue
        cell = cells.get((row, index))
        if cell is None:
            cell = cells[row, index] = Cell(ws, row=row, column=index)
            last_row = row
        style = cell._style
        if style is None:
            cell._style = StyleArray(blank)
            if fill_id is not None and row > data_bottom:
                cell._style.fillId = 0
            continue
        if number_id is not None:
            style.numFmtId = number_id
        if align_id is not None:
            style.alignmentId = align_id
        if fill_id is not None and row <= data_bottom and style.fillId in replaceable:
            style.fillId = fill_id
    if last_row > ws._current_row:
        ws._current_row = last_row


def formatted_style(
    style: StyleArray | None,
    number_id: int | None,
    fill_id: int | None,
    align_id: int | None,
    replaceable: set[int],
) -> StyleArray:
    """The style ``_format_column`` gives a data cell (a row of the data, not a spare one)
    whose style was ``style`` (None: no style yet)."""
    if style is None:
        return _blank_style(number_id, fill_id, align_id)
    style = StyleArray(style)
    if number_id is not None:
        style.numFmtId = number_id
    if align_id is not None:
        style.alignmentId = align_id
    if fill_id is not None and style.fillId in replaceable:
        style.fillId = fill_id
    return style


def _blank_style(number_id: int | None, fill_id: int | None, align_id: int | None) -> StyleArray:
    """A fresh cell's style: the defaults with this column's format, fill and alignment."""
    blank = StyleArray()
    if number_id is not None:
        blank.numFmtId = number_id
    if fill_id is not None:
        blank.fillId = fill_id
    if align_id is not None:
        blank.alignmentId = align_id
    return blank


def _format_table(ws: Any, table: TableFormat, streamed: range = range(0)) -> None:
    rows = _TableRows.of(table)
    fill_columns, our_fills = _format_columns(ws, table, rows, streamed)
    _drop_stale_fills(ws, fill_columns, our_fills, rows.data_bottom)
    _fit_wrapped_columns(ws, table, rows, streamed)
    _frame_table(ws, table, rows)
    apply_validations(ws, table, rows.data_top, rows.format_bottom)
    _style_single_cells(ws, table)
    _mute_rows(ws, table, rows.data_top, rows.format_bottom)
    if table.print_fit:
        # A table frozen on screen (the sheet's one table) repeats its header on paper too.
        repeat = rows.header if table.freeze else None
        set_paper(
            ws, repeat, table.first_column, page_breaks=table.page_breaks, scale=table.print_scale
        )


@dataclass(frozen=True)
class _TableRows:
    """A table's rows: the header, its data, and the spare rows formatted below the data."""

    header: int
    data_top: int
    data_bottom: int
    format_bottom: int

    @classmethod
    def of(cls, table: TableFormat) -> _TableRows:
        header = table.header_row
        data_bottom = header + max(0, table.data_rows)
        return cls(header, header + 1, data_bottom, data_bottom + max(0, table.spare_rows))


def _format_columns(
    ws: Any, table: TableFormat, rows: _TableRows, streamed: range = range(0)
) -> tuple[set[int], set[int]]:
    """Width, header style, number format, fill and wrapping of each column; the columns that
    got one of our fills, and our fills' ids."""
    ids = StyleIds(ws)
    our_fills = {ids.fill(INPUT_FILL), ids.fill(OUTPUT_FILL)}
    replaceable = our_fills | {0}
    fill_columns: set[int] = set()
    for offset, column in enumerate(table.columns):
        index = table.first_column + offset
        if column.width is not None:
            _own_column_dimension(ws, index).width = column.width
        _style_header(ws.cell(row=rows.header, column=index), column)
        number_id, fill_id, align_id = column_style_ids(ids, column)
        if fill_id is not None:
            fill_columns.add(index)
        if number_id is None and fill_id is None and align_id is None:
            continue
        _format_column(
            ws,
            index,
            rows.data_top,
            rows.data_bottom,
            rows.format_bottom,
            number_id,
            fill_id,
            replaceable,
            align_id,
            streamed,
        )
    return fill_columns, our_fills


def _style_header(head: Any, column: ColumnFormat) -> None:
    if type(head) is MergedCell:
        return
    if column.input:
        head.font, head.fill = INPUT_HEADER_FONT, INPUT_HEADER_FILL
    elif column.output:
        head.font, head.fill = OUTPUT_HEADER_FONT, OUTPUT_HEADER_FILL
    else:
        head.font, head.fill = HEADER_FONT, HEADER_FILL
    head.border = HEADER_BORDER
    head.alignment = HEADER_ALIGNMENT


def column_style_ids(
    ids: StyleIds, column: ColumnFormat
) -> tuple[int | None, int | None, int | None]:
    """The column's number format, fill and alignment as style ids (None: leave as is)."""
    number_id = ids.number_format(column.number_format) if column.number_format else None
    fill = INPUT_FILL if column.input else OUTPUT_FILL if column.output else None
    fill_id = ids.fill(fill) if fill is not None else None
    align_id = ids.alignment(WRAP_ALIGNMENT) if column.wrap else None
    return number_id, fill_id, align_id


def _drop_stale_fills(
    ws: Any, fill_columns: set[int], our_fills: set[int], data_bottom: int
) -> None:
    """Our own highlight on rows that held data last time but not now goes (a fill the user
    chose stays)."""
    if not fill_columns:
        return
    for (row, column_index), cell in ws._cells.items():
        if row > data_bottom and column_index in fill_columns:
            style = cell._style
            if style is not None and style.fillId in our_fills:
                style.fillId = 0


def wrapped_columns(table: TableFormat) -> list[tuple[int, float]]:
    """(column, width) of the table's wrapping columns."""
    first = table.first_column
    return [
        (first + offset, column.width or DEFAULT_WIDTH)
        for offset, column in enumerate(table.columns)
        if column.wrap
    ]


def _fit_wrapped_columns(
    ws: Any, table: TableFormat, rows: _TableRows, streamed: range = range(0)
) -> None:
    first = table.first_column
    wrapped = wrapped_columns(table)
    if wrapped:
        columns = range(first, first + len(table.columns))
        _fit_row_heights(ws, wrapped, columns, rows.data_top, rows.format_bottom, streamed)


def _frame_table(ws: Any, table: TableFormat, rows: _TableRows) -> None:
    """The header row's height, the frozen panes and the autofilter."""
    first = table.first_column
    ws.row_dimensions[rows.header].height = HEADER_ROW_HEIGHT
    last = get_column_letter(first + max(len(table.columns), 1) - 1)
    if table.freeze:
        ws.freeze_panes = f"{get_column_letter(first + 1)}{rows.data_top}"
    if table.autofilter and table.columns:
        ws.auto_filter.ref = f"{get_column_letter(first)}{rows.header}:{last}{rows.data_bottom}"


def _style_single_cells(ws: Any, table: TableFormat) -> None:
    """Titles, labels and the number formats of single cells outside the columns."""
    cell_at = ws.cell
    for row, index in table.title_cells:
        cell_at(row=row, column=index).font = TITLE_FONT
    for row, index in table.label_cells:
        cell_at(row=row, column=index).font = LABEL_FONT
    for (row, index), number_format in table.cell_formats:
        cell_at(row=row, column=index).number_format = number_format


def wrapped_lines(value: Any, width: float) -> int:
    """How many lines a wrapped text needs in a column ``width`` characters wide (an estimate:
    neither Excel nor LibreOffice sizes the rows of a file when opening it). Word wrapping,
    ~1.1 characters of Calibri 11 text per unit of width."""
    if not isinstance(value, str) or not value:
        return 1
    per_line = max(1, int(width * 1.1))
    if len(value) <= per_line and "\n" not in value:
        return 1
    return sum(
        max(1, len(textwrap.wrap(part, per_line, break_on_hyphens=False)))
        for part in value.split("\n")
    )


def _fit_row_heights(
    ws: Any,
    wrapped: list[tuple[int, float]],
    columns: range,
    top: int,
    bottom: int,
    streamed: range = range(0),
) -> None:
    """Rows whose wrapped text needs more than one line get the height for it (at most
    ``MAX_WRAPPED_LINES``); rows this sized earlier and needing one line now lose it."""
    cells = ws._cells
    dimensions = ws.row_dimensions
    for row in range(top, bottom + 1):
        if row in streamed:
            continue
        lines = 1
        for column, width in wrapped:
            cell = cells.get((row, column))
            if cell is not None:
                lines = max(lines, wrapped_lines(cell._value, width))
        if lines > 1:
            dimensions[row].height = LINE_HEIGHT * min(lines, MAX_WRAPPED_LINES)
            _align_top(ws, row, columns)
        elif row in dimensions and dimensions[row].height in _OUR_HEIGHTS:
            dimensions[row].height = None


def grow_wrapped_rows(ws: Any, top: int, left: int, rows: Any) -> None:
    """After a write: a row whose new text needs more lines in a wrapping cell grows to fit
    (e.g. an outcome written by collect, which does not re-format the table)."""
    if len(rows) > GROW_CHECK_ROWS:
        return  # a whole table: its ``format_table`` sizes the rows
    cells = ws._cells
    alignments = ws.parent._alignments
    dimensions = ws.row_dimensions
    for r, row in enumerate(rows, start=top):
        lines = 1
        for c in range(left, left + len(row)):
            # The text as stored (control characters cleaned), as ``_fit_row_heights`` sees it.
            cell = cells.get((r, c))
            value = cell._value if cell is not None else None
            if not isinstance(value, str) or len(value) < 8:
                continue
            style = cell._style
            if style is None or not alignments[style.alignmentId].wrapText:
                continue
            lines = max(lines, wrapped_lines(value, _column_width(ws, c)))
        if lines > 1:
            height = LINE_HEIGHT * min(lines, MAX_WRAPPED_LINES)
            if (dimensions[r].height or LINE_HEIGHT) < height:
                dimensions[r].height = height
                _align_top(ws, r, range(left, left + len(row)))


def _align_top(ws: Any, row: int, columns: range) -> None:
    """The cells of a taller row with no alignment of their own read from its top."""
    cells = ws._cells
    top_id: int | None = None
    for column in columns:
        cell = cells.get((row, column))
        if cell is None or cell._style is None or cell._style.alignmentId != 0:
            continue
        if top_id is None:
            top_id = StyleIds(ws).alignment(TOP_ALIGNMENT)
        cell._style.alignmentId = top_id


def _column_width(ws: Any, index: int) -> float:
    """The column's width, without creating a ``<col>`` entry (see ``_own_column_dimension``)."""
    for group in ws.column_dimensions.values():
        low, high = group.min, group.max
        if low is not None and high is not None and low <= index <= high and group.width:
            return float(group.width)
    return DEFAULT_WIDTH


def _mute_rows(ws: Any, table: TableFormat, top: int, bottom: int) -> None:
    """Grey text on the rows ``table.muted`` names (a conditional format, replaced each time)."""
    formatting = ws.conditional_formatting
    kept = []
    for block in formatting:
        rules = [r for r in block.rules if not _is_muted_rule(r)]
        if rules:
            kept.append((block.sqref, rules))
    formatting._cf_rules.clear()
    for sqref, rules in kept:
        for rule in rules:
            formatting.add(str(sqref), rule)
    muted = table.muted
    if muted is None or bottom < top or not table.columns:
        return
    first = get_column_letter(table.first_column)
    last = get_column_letter(table.first_column + len(table.columns) - 1)
    formatting.add(f"{first}{top}:{last}{bottom}", _muted_rule(muted, top))


def _muted_rule(muted: MutedRows, top: int) -> FormulaRule:
    text = muted.text.replace('"', '""')
    return FormulaRule(
        formula=[f'${get_column_letter(muted.column)}{top}="{text}"'],
        font=MUTED_STYLE.font,
        stopIfTrue=False,
    )


def _is_muted_rule(rule: Any) -> bool:
    dxf = getattr(rule, "dxf", None)
    font = getattr(dxf, "font", None)
    color = getattr(getattr(font, "color", None), "rgb", None)
    return (
        rule.type == "expression" and isinstance(color, str) and color.endswith(layout.MUTED_FONT)
    )


def format_sheet_table(ws: Any, table: TableFormat, streamed: range = range(0)) -> None:
    """Apply ``table`` to the sheet (see ``FileGrid.format_table``); the data rows in
    ``streamed`` (written at save by ``xlsx_stream``) are left to the stream."""
    _format_table(ws, table, streamed)

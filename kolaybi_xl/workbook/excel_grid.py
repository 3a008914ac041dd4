"""The Excel backend of the grid: a thin adapter over an open workbook, through xlwings.

``ExcelGrid`` implements ``grid.Grid`` for the entry points in ``kolaybi_xl.excel`` (the buttons
of the workbook). It makes a *constant* number of calls into Excel per operation, whatever the
number of rows: every block of values goes in or out with one ``Range.value`` call, and every
format is set on a whole column block, never cell by cell (a cell loop over COM takes tens of
seconds where a block takes well under one).

How the grid's rules are kept in Excel:

- ``read`` is one ``Sheet.used_range`` and one ``.options(ndim=2, err_to_str=True).value``
  (error values as their text, like a file's); the used range may start below or right of A1
  (Excel counts only used cells), so the block is padded back to A1, and trailing empty
  rows/columns (formatted but empty cells) are trimmed, like ``MemoryGrid``.
- ``write`` is one ``Range.value = rows`` of what ``cell_values.cell_value`` makes of each value
  (so ``Decimal`` arrives as a ``float``: xlwings would turn a Decimal into a 2-decimal Currency
  value); only ``grid.Formula`` values are written as formulas.
- Text Excel would change on entry (a formula start ``= + - @``, a number or a date such as the
  tax number ``0012345678``, ``TRUE``, ``#N/A``, a leading apostrophe) is protected per column:
  a column whose values are all text gets the text number format ``@`` on the written block
  first (one call per such column), so Excel keeps every value as typed; in a column that also
  holds numbers or dates, such a string is written with a leading apostrophe (Excel's quote
  prefix: stored as text, the apostrophe itself is not part of the value).
- ``format_table`` sets per column one number format (data rows plus the spare rows), one width,
  a fill for input/output columns and the header cell's colours; dropdowns and the
  ``Tahsil Tutarı`` number check (decimal > 0) use xlwings' own ``Range.data_validation``
  (cross-platform since 0.37.5). Freeze panes, the autofilter and the
  dropdowns' prompt/"suggestion only" setting have no cross-platform xlwings API: they are done
  through ``.api`` on Windows only, each inside try/except (a failure is logged, never raised).
  The template (built by XlsxWriter) already carries frozen panes, an autofilter and
  dropdowns for 20,000 rows, so Excel users get them on any platform anyway. So it carries the
  print setup (``layout.PAPER``), the wrapping of long texts (Excel grows a wrapped row when a
  value is written) and the grey style of rows no longer listed: ``TableFormat.muted``,
  ``page_breaks`` and the paper are not set through xlwings (``PageSetup`` over COM talks to
  the printer driver on every property, seconds per sheet).
- ``add_bar_chart`` uses xlwings' chart API (cross-platform since 0.37.3); a chart of the same
  title is replaced.
- ``progress`` writes the status bar (and calls ``on_progress``); ``save`` saves only a book that
  has a path (``Book.save()`` on a never-saved book would write ``Book1.xlsx`` into the current
  directory, dropping the macros).
- ``batch()`` turns screen updating off for a job and restores it, and hands the status bar
  back to Excel, in ``finally``.

xlwings objects belong to the thread that made them (COM apartments): every method refuses to
run on another thread, except ``progress``, which then only calls ``on_progress``.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

try:
    from xlwings import XlwingsError
except ImportError as exc:  # pragma: no cover - only on installs without xlwings (Python 3.10)
    raise ImportError(
        "kolaybi-xl's Excel side needs xlwings 0.37.8 (Python 3.11 or newer)"
    ) from exc

from . import layout
from .cell_values import cell_value
from .cells import clean_text, looks_like_formula
from .grid import POSITIVE_DECIMAL, BarChart, CellValue, ColumnFormat, TableFormat, Validation

log = logging.getLogger(__name__)

TEXT_FORMAT = "@"
POINTS_PER_CM = 72 / 2.54
# The same palette as the template and the file backend (RGB).
HEADER_FILL = layout.rgb(layout.HEADER_FILL)
HEADER_FONT = layout.rgb(layout.HEADER_FONT)
INPUT_HEADER_FILL = layout.rgb(layout.INPUT_HEADER_FILL)
INPUT_FILL = layout.rgb(layout.INPUT_FILL)
OUTPUT_HEADER_FILL = layout.rgb(layout.OUTPUT_HEADER_FILL)
OUTPUT_FILL = layout.rgb(layout.OUTPUT_FILL)
DARK_FONT = layout.rgb(layout.DARK_FONT)
TITLE_FONT = layout.rgb(layout.TITLE_FONT)
TITLE_SIZE = 16
VALIDATION_ERROR_TR = "Lütfen listeden bir değer seçin."
AMOUNT_ERROR_TR = "Lütfen 0'dan büyük bir tutar yazın."
VALIDATION_TITLE = "KolayBi"

# Excel constants used through .api (Windows only).
_XL_VALIDATE_LIST = 3
_XL_VALID_ALERT_STOP = 1
_XL_BETWEEN = 1

# What Excel turns into a number, date, time, percentage or fraction when it is entered.
_NUMBER_LIKE = re.compile(r"^[\s$€₺£%+\-−()0-9.,:/eE]*[0-9][\s$€₺£%+\-−()0-9.,:/eE]*$")
_WORD_VALUES = frozenset({"true", "false", "doğru", "yanlış", "yanliş", "dogru"})

if TYPE_CHECKING:
    import xlwings

ProgressCallback = Callable[[str], None]


def excel_would_change(text: str) -> bool:
    """Would Excel store ``text`` as something else (formula, number, date, bool, error)?"""
    if not text:
        return False
    if looks_like_formula(text) or text.startswith(("'", "#")):
        return True
    if text.strip().casefold() in _WORD_VALUES:
        return True
    return bool(_NUMBER_LIKE.match(text))


def prepare_block(rows: Sequence[Sequence[CellValue]]) -> tuple[list[list[Any]], list[int]]:
    """The rectangle to write and the 0-based columns that need the text format first.

    A ragged block is padded with empty cells. A column needs the text format when all its
    values are text and at least one would be changed by Excel; elsewhere such text gets
    the quote prefix.
    """
    width = max((len(row) for row in rows), default=0)
    block = [[cell_value(v) for v in row] + [None] * (width - len(row)) for row in rows]
    all_text, risky = _column_kinds(block, width)
    text_columns = [i for i in range(width) if all_text[i] and risky[i]]
    _add_quote_prefix(block, [i for i in range(width) if risky[i] and not all_text[i]])
    return block, text_columns


def _column_kinds(block: list[list[Any]], width: int) -> tuple[list[bool], list[bool]]:
    """Per column: are all its values text, and would Excel change at least one of them?"""
    all_text = [True] * width
    risky = [False] * width
    for row in block:
        for index, value in enumerate(row):
            if value is None:
                continue
            if type(value) is not str:
                all_text[index] = False
            elif not risky[index] and excel_would_change(value):
                risky[index] = True
    return all_text, risky


def _add_quote_prefix(block: list[list[Any]], columns: list[int]) -> None:
    """Text Excel would change, in these columns, gets Excel's quote prefix (an apostrophe)."""
    for row in block:
        for index in columns:
            value = row[index]
            if type(value) is str and excel_would_change(value):
                row[index] = "'" + value


def rectangle(values: Any, top: int, left: int) -> list[list[Any]]:
    """A used-range block as rows from A1, trailing empty rows and columns trimmed."""
    rows = [list(row) for row in (values or [])]
    while rows and all(_empty(v) for v in rows[-1]):
        rows.pop()
    if not rows:
        return []
    return _placed(rows, top, left, max(_used_width(row) for row in rows))


def _placed(rows: list[list[Any]], top: int, left: int, right: int) -> list[list[Any]]:
    """``rows`` cut or padded to ``right`` columns, moved from (top, left) to A1."""
    rows = [row[:right] + [None] * (right - len(row)) for row in rows]
    pad = [None] * (left - 1)
    return [[None] * (left - 1 + right) for _ in range(top - 1)] + [pad + row for row in rows]


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _used_width(row: list[Any]) -> int:
    """How many cells of ``row`` reach its last non-empty one."""
    return max((i + 1 for i, v in enumerate(row) if not _empty(v)), default=0)


def sheet_neighbours(name: str, existing: Sequence[str]) -> tuple[str | None, str | None]:
    """(before, after): where new sheet ``name`` goes among ``existing`` (which lacks it). In
    ``SHEET_ORDER`` after the nearest earlier one or before the first later one; else last."""
    order = layout.SHEET_ORDER
    ranked = [s for s in existing if s in order]
    if name not in order or not ranked:
        return None, existing[-1] if existing else None
    earlier = [s for s in ranked if order.index(s) < order.index(name)]
    return (None, earlier[-1]) if earlier else (ranked[0], None)


class ExcelGrid:
    """``grid.Grid`` over an open ``xlwings.Book``. Use it from the thread that made it."""

    def __init__(
        self,
        book: xlwings.Book,
        *,
        on_progress: ProgressCallback | None = None,
        windows: bool | None = None,
    ) -> None:
        self.book = book
        self.on_progress = on_progress
        # The .api extras (freeze panes, autofilter, dropdown prompts) are Windows COM only.
        self.windows = sys.platform == "win32" if windows is None else windows
        self._thread = threading.get_ident()
        self._batch_depth = 0

    def __repr__(self) -> str:
        return f"ExcelGrid({self.book!r})"

    # -- plumbing -----------------------------------------------------------------------------

    def _own_thread(self) -> None:
        if threading.get_ident() != self._thread:
            raise RuntimeError("ExcelGrid used from another thread: xlwings objects stay on theirs")

    def _sheet(self, name: str) -> xlwings.Sheet:
        self._own_thread()
        return self.book.sheets[name]

    def _best_effort(self, what: str, action: Callable[[], None]) -> None:
        """Formatting extras: a failure is logged and the job goes on."""
        try:
            action()
        except Exception as exc:
            log.warning("could not set %s: %s: %s", what, type(exc).__name__, exc)

    @contextmanager
    def batch(self) -> Iterator[ExcelGrid]:
        """Screen updating off for a job; restored, and the status bar given back, in finally."""
        self._own_thread()
        app = self.book.app
        outer = self._batch_depth == 0
        previous = True
        if outer:
            previous = bool(app.screen_updating)
            app.screen_updating = False
        self._batch_depth += 1
        try:
            yield self
        finally:
            self._batch_depth -= 1
            if outer:
                try:
                    app.screen_updating = previous
                    app.status_bar = False  # Excel's own status bar again
                except Exception as exc:  # the original error matters more than this one
                    log.warning("could not restore Excel's screen: %s: %s", type(exc).__name__, exc)

    # -- Grid ---------------------------------------------------------------------------------

    def sheet_names(self) -> list[str]:
        self._own_thread()
        return [sheet.name for sheet in self.book.sheets]

    def ensure_sheet(self, name: str) -> bool:
        existing = self.sheet_names()
        if name.casefold() in (s.casefold() for s in existing):
            return False  # Excel's sheet names ignore case
        sheets = self.book.sheets
        before, after = sheet_neighbours(name, existing)
        before_sheet = sheets[before] if before is not None else None
        after_sheet = sheets[after] if after is not None else None
        try:
            active = sheets.active
        except Exception:  # e.g. a chart sheet is active
            active = None
        sheets.add(name, before=before_sheet, after=after_sheet)
        # Adding activates the new sheet: give the user back the one they were looking at.
        if active is not None:
            self._best_effort("the active sheet", active.activate)
        return True

    def read(self, sheet: str) -> list[list[Any]]:
        used = self._sheet(sheet).used_range
        top, left = used.row, used.column
        # err_to_str: an error value reads as its text ("#DIV/0!"), as from a file; by default
        # xlwings reads it as None — an empty cell, which a Tahsil Tutarı must never become.
        return rectangle(used.options(ndim=2, err_to_str=True).value, top, left)

    def write(self, sheet: str, top: int, left: int, rows: Sequence[Sequence[CellValue]]) -> None:
        block, text_columns = prepare_block(rows)
        if not block or not block[0]:
            return
        ws = self._sheet(sheet)
        bottom, right = top + len(block) - 1, left + len(block[0]) - 1
        for index in text_columns:
            ws.range((top, left + index), (bottom, left + index)).number_format = TEXT_FORMAT
        ws.range((top, left), (bottom, right)).value = block

    def clear(self, sheet: str, top: int, left: int, bottom: int, right: int) -> None:
        if bottom < top or right < left:
            return
        self._sheet(sheet).range((top, left), (bottom, right)).clear_contents()

    def format_table(self, sheet: str, table: TableFormat) -> None:
        ws = self._sheet(sheet)
        header = table.header_row
        first = table.first_column
        data_top = header + 1
        data_bottom = header + max(0, table.data_rows)
        format_bottom = data_bottom + max(0, table.spare_rows)
        columns = list(table.columns)
        last = first + max(len(columns), 1) - 1

        if columns:
            _header_look(ws.range((header, first), (header, last)))
        for offset, column in enumerate(columns):
            self._format_column(ws, first + offset, column, header, data_bottom, format_bottom)
        _cell_looks(ws, table)

        if format_bottom >= data_top:
            for validation in table.validations:
                self._best_effort(
                    f"the dropdown on column {validation.column}",
                    partial(self._validate, ws, validation, header, data_top, format_bottom),
                )
        if not self.windows:
            return
        if table.freeze:
            self._best_effort("frozen panes", lambda: self._freeze(ws, header, first))
        if table.autofilter and columns:
            self._best_effort(
                "the autofilter",
                lambda: self._autofilter(ws, header, first, max(data_bottom, header), last),
            )

    def _format_column(
        self,
        ws: xlwings.Sheet,
        index: int,
        column: ColumnFormat,
        header: int,
        data_bottom: int,
        bottom: int,
    ) -> None:
        if column.number_format and bottom > header:
            ws.range((header + 1, index), (bottom, index)).number_format = column.number_format
        if column.width is not None:
            ws.range((header, index)).column_width = column.width
        if column.input or column.output:
            head = ws.range((header, index))
            head.color = INPUT_HEADER_FILL if column.input else OUTPUT_HEADER_FILL
            head.font.color = DARK_FONT
            if data_bottom > header:
                fill = INPUT_FILL if column.input else OUTPUT_FILL
                ws.range((header + 1, index), (data_bottom, index)).color = fill

    def _validate(
        self, ws: xlwings.Sheet, validation: Validation, header: int, top: int, bottom: int
    ) -> None:
        target = ws.range((top, validation.column), (bottom, validation.column))
        if validation.kind == POSITIVE_DECIMAL:
            rule = target.data_validation
            try:
                rule.set_decimal("greater_than", 0)
            except XlwingsError:  # another rule (the template's) overlaps ours: replace it
                rule.delete()
                rule.set_decimal("greater_than", 0)
            self._prompt(ws, target, validation, header)
            return
        try:
            source = self._validation_source(validation.source)
            rule = target.data_validation
            try:
                rule.set_list(source)
            except XlwingsError:
                # Cells with different rules (the template's block ends inside ours): xlwings
                # refuses to modify them; replace them.
                rule.delete()
                rule.set_list(source)
        except Exception:
            # Nothing was deleted unless the new rule could be resolved; off Windows the
            # template's dropdown stays as it is.
            if not self.windows or "," in validation.source:
                raise
            # xlwings resolves a name to a range first, which a name like OFFSET(...) may not
            # allow: give Excel the reference itself.
            api = target.api.Validation
            api.Delete()
            api.Add(
                Type=_XL_VALIDATE_LIST,
                AlertStyle=_XL_VALID_ALERT_STOP,
                Operator=_XL_BETWEEN,
                Formula1="=" + validation.source.lstrip("="),
            )
        self._prompt(ws, target, validation, header)

    def _prompt(
        self, ws: xlwings.Sheet, target: xlwings.Range, validation: Validation, header: int
    ) -> None:
        """The input prompt and the "only a hint" setting (no cross-platform API: Windows)."""
        if self.windows:
            title = clean_text(str(ws.range((header, validation.column)).value or ""))[:32]
            self._best_effort(
                "the dropdown's prompt",
                lambda: self._validation_extras(target.api.Validation, validation, title),
            )

    def _validation_source(self, source: str) -> Any:
        """An inline list (``"a,b,c"``), a range (``Sheet!$B$2:$B$9``) or a defined name."""
        text = source[1:] if source.startswith("=") else source
        if "!" in text:
            sheet, address = text.rsplit("!", 1)
            return self.book.sheets[sheet.strip("'")].range(address)
        if "," in text:
            return [part.strip() for part in text.split(",")]
        return self.book.names[text]

    @staticmethod
    def _validation_extras(api: Any, validation: Validation, title: str) -> None:
        api.IgnoreBlank = True
        api.ShowError = validation.strict
        api.ErrorTitle = VALIDATION_TITLE
        api.ErrorMessage = (
            AMOUNT_ERROR_TR if validation.kind == POSITIVE_DECIMAL else VALIDATION_ERROR_TR
        )
        api.ShowInput = validation.prompt is not None
        if validation.prompt is not None:
            api.InputTitle = title
            api.InputMessage = clean_text(validation.prompt)[:255]

    def _freeze(self, ws: xlwings.Sheet, header: int, first: int) -> None:
        """Rows down to the header and the first column stay in view (Windows, via .api)."""
        sheets = self.book.sheets
        active = sheets.active
        ws.activate()  # a window freezes its active sheet
        try:
            window = self.book.api.Windows(1)
            window.FreezePanes = False
            window.SplitColumn = first
            window.SplitRow = header
            window.FreezePanes = True
        finally:
            active.activate()

    @staticmethod
    def _autofilter(ws: xlwings.Sheet, header: int, first: int, bottom: int, last: int) -> None:
        """An autofilter on the table (Windows, via .api); kept when it already fits."""
        target = ws.range((header, first), (bottom, last)).api
        sheet_api = ws.api
        if sheet_api.AutoFilterMode:
            if sheet_api.AutoFilter.Range.Address == target.Address:
                return  # the user's filter criteria stay
            sheet_api.AutoFilterMode = False
        target.AutoFilter()

    def define_name(self, name: str, formula: str) -> None:
        """A workbook-level name; an existing one is re-pointed (dropdowns using it stay)."""
        self._own_thread()
        refers_to = formula if formula.startswith("=") else "=" + formula
        names = self.book.names
        if names.contains(name):
            names[name].refers_to = refers_to
        else:
            names.add(name, refers_to)

    def add_bar_chart(self, sheet: str, chart: BarChart) -> None:
        """A clustered column chart (xlwings' cross-platform chart API); one of the same title
        on that sheet is replaced. A chart Excel refuses is logged, not raised: the report's
        values are already on the sheet."""
        ws = self._sheet(sheet)
        self._best_effort(f"the chart {chart.title!r}", partial(self._add_chart, ws, chart))

    @staticmethod
    def _add_chart(ws: xlwings.Sheet, chart: BarChart) -> None:
        charts = ws.charts
        for existing in list(charts):
            if chart.takes_place_of(existing.title):
                existing.delete()
        top, left, bottom, right = chart.values
        new = charts.add(
            width=chart.width_cm * POINTS_PER_CM,
            height=chart.height_cm * POINTS_PER_CM,
            chart_type="column_clustered",
            source=ws.range((top, left), (bottom, right)),
            plot_by="columns",
            anchor=ws.range(chart.anchor),
        )
        new.title = chart.title
        top, left, bottom, right = chart.categories
        new.set_x_axis_values(ws.range((top, left), (bottom, right)))
        new.legend.position = "bottom"
        if chart.y_title:
            new.value_axis.title = chart.y_title
        if chart.x_title:
            new.category_axis.title = chart.x_title
        if chart.y_max is not None or chart.y_number_format:
            axis = new.value_axis  # ChartAxis (xlwings 0.37.5+)
            if chart.y_max is not None:
                axis.minimum_scale = 0
                axis.maximum_scale = chart.y_max
            if chart.y_number_format:
                axis.number_format = chart.y_number_format

    def progress(self, text: str) -> None:
        if self.on_progress is not None:
            self.on_progress(text)
        if threading.get_ident() != self._thread:
            return  # never touch Excel from a worker thread
        self._best_effort("the status bar", lambda: setattr(self.book.app, "status_bar", text))

    def save(self) -> None:
        """Save in place; a book that was never saved is left alone (no dialog, no guess)."""
        self._own_thread()
        if has_path(self.book.fullname):
            self.book.save()
        else:
            log.info("workbook has never been saved: not saving it")


def has_path(fullname: str) -> bool:
    """Does a book's ``fullname`` name a saved file (a path or a OneDrive/SharePoint URL)?"""
    text = fullname or ""
    return text.startswith(("http://", "https://")) or "/" in text or "\\" in text


def _header_look(head: Any) -> None:
    head.color = HEADER_FILL
    font = head.font
    font.bold = True
    font.color = HEADER_FONT


def _cell_looks(ws: xlwings.Sheet, table: TableFormat) -> None:
    """Titles, bold labels and number formats of single cells."""
    for row, col in table.title_cells:
        font = ws.range((row, col)).font
        font.bold = True
        font.size = TITLE_SIZE
        font.color = TITLE_FONT
    for row, col in table.label_cells:
        ws.range((row, col)).font.bold = True
    for (row, col), number_format in table.cell_formats:
        ws.range((row, col)).number_format = number_format

"""The grid: the small interface every job talks to, whatever holds the cells.

Two real backends implement it (``xlsx_file.FileGrid`` with openpyxl, ``excel_grid.ExcelGrid``
with xlwings); ``MemoryGrid`` here is the reference implementation and a test double.

Rules every backend follows:
- rows and columns are 1-based, like Excel;
- ``read`` returns the used block from A1 as a list of rows of plain values
  (str, int, float, bool, datetime, date, None); short rows are padded with None;
- ``write`` stores what ``cell_values.cell_value`` makes of each value (one converter for
  every backend): every ``str`` as text, never as a formula, ``Decimal`` as a number, NaN and
  infinities as empty cells, aware datetimes as local time; only a ``Formula`` value becomes a
  formula (the tool's own, never API text);
- a backend makes a constant number of calls into Excel per ``read``/``write``, whatever the
  number of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol, runtime_checkable

from . import layout
from .cell_values import CellValue, cell_value
from .cell_values import Formula as Formula  # re-exported: callers import it from the grid


@dataclass(frozen=True)
class ColumnFormat:
    number_format: str | None = None
    width: float | None = None
    input: bool = False  # a column the user fills: highlighted
    output: bool = False  # a column the tool writes outcomes into: highlighted differently
    wrap: bool = False  # long or multi-line text wraps inside its row


# What a ``Validation`` checks: a list (dropdown) or a number greater than 0.
ValidationKind = Literal["list", "positive_decimal"]
LIST: Final = "list"
POSITIVE_DECIMAL: Final = "positive_decimal"


@dataclass(frozen=True)
class Validation:
    """A data validation on one column of the data rows: a dropdown by default.

    ``kind=POSITIVE_DECIMAL``: a decimal greater than 0 (``source`` unused); like a list that
    is not ``strict`` it only warns, so text like "1.234,50" can still be typed (the product
    parses amounts itself and reports a row error in Turkish)."""

    column: int  # 1-based
    source: str = ""  # list: "a,b,c" inline, or a range / defined name (no leading '=')
    strict: bool = False  # False: a suggestion, other values may be typed
    prompt: str | None = None  # the input prompt Excel shows on a selected cell (≤255 chars)
    kind: ValidationKind = LIST


@dataclass(frozen=True)
class MutedRows:
    """Data rows shown grey: those whose cell in ``column`` (1-based) holds ``text``.

    A conditional format, so the style follows the value wherever the row moves."""

    column: int
    text: str


@dataclass(frozen=True)
class TableFormat:
    """How a table on a sheet looks. Applied after its values are written."""

    header_row: int
    columns: Sequence[ColumnFormat]
    data_rows: int
    first_column: int = 1
    freeze: bool = True
    autofilter: bool = True
    validations: Sequence[Validation] = ()
    # Extra rows below the data that get the number formats and dropdowns too, so rows
    # the user adds by hand behave the same.
    spare_rows: int = 200
    title_cells: Sequence[tuple[int, int]] = ()  # cells styled as a title
    label_cells: Sequence[tuple[int, int]] = ()  # cells styled as a label (bold)
    cell_formats: Sequence[tuple[tuple[int, int], str]] = ()  # single cells' number formats
    # Print as ``layout.PAPER`` says for the sheet: A4 landscape, the header row repeated on
    # every page, a page header and footer.
    print_fit: bool = True
    muted: MutedRows | None = None
    # Rows that start a new printed page (e.g. each side of Özet); replaces the sheet's
    # earlier breaks. With ``print_scale`` (percent) the sheet prints at that size instead of
    # being fitted to pages (a fitted sheet ignores page breaks).
    page_breaks: Sequence[int] = ()
    print_scale: int | None = None


CellBlock = tuple[int, int, int, int]  # min_row, min_col, max_row, max_col (1-based, inclusive)


@dataclass(frozen=True)
class BarChart:
    """A clustered column chart over cells of one sheet (e.g. the aging on Özet).

    ``categories`` is the block of category labels (one column); ``values`` the block of the
    series, one series per column, its first row holding the series names. Adding a chart
    replaces a chart of the same title (or one of ``replaces``) on that sheet, so re-running a
    job does not pile charts up.
    """

    title: str
    categories: CellBlock
    values: CellBlock
    anchor: str  # top-left cell, e.g. "H3"
    y_title: str | None = None
    x_title: str | None = None
    width_cm: float = 16.0
    height_cm: float = 7.5
    y_max: float | None = None  # e.g. 1.0 for shares (100%)
    y_number_format: str | None = None  # the value axis' labels, e.g. layout.PERCENT_FORMAT
    replaces: tuple[str, ...] = ()  # titles of other charts this one replaces as well

    def takes_place_of(self, title: str | None) -> bool:
        """Whether adding this chart removes a chart titled ``title``."""
        return title == self.title or title in self.replaces


def is_live(grid: object) -> bool:
    """Whether someone else may change the grid's cells while a job runs (Excel: the user
    keeps working). A backend that holds a file's contents says ``live = False``."""
    return bool(getattr(grid, "live", True))


def layout_table(
    columns: Sequence[layout.Column], header_row: int, data_rows: int, **options: Any
) -> TableFormat:
    """The TableFormat of a table laid out from ``layout`` columns (formats, widths, roles)."""
    return TableFormat(
        header_row=header_row,
        columns=[
            ColumnFormat(
                number_format=layout.NUMBER_FORMATS[c.kind],
                width=c.width,
                input=c.role is layout.Role.INPUT,
                output=c.role is layout.Role.OUTCOME,
                wrap=c.wrap,
            )
            for c in columns
        ],
        data_rows=data_rows,
        **options,
    )


@runtime_checkable
class Grid(Protocol):
    """What the jobs need from a workbook."""

    def sheet_names(self) -> list[str]: ...

    def ensure_sheet(self, name: str) -> bool:
        """Create the sheet if missing (at the layout's position); True if it was created."""
        ...

    def read(self, sheet: str) -> list[list[Any]]: ...

    def write(
        self, sheet: str, top: int, left: int, rows: Sequence[Sequence[CellValue]]
    ) -> None: ...

    def clear(self, sheet: str, top: int, left: int, bottom: int, right: int) -> None:
        """Empty the values of a block (formats stay)."""
        ...

    def format_table(self, sheet: str, table: TableFormat) -> None: ...

    def define_name(self, name: str, formula: str) -> None:
        """A workbook-level defined name (formula without the leading '=')."""
        ...

    def add_bar_chart(self, sheet: str, chart: BarChart) -> None:
        """Add a chart, replacing a chart of the same title on that sheet."""
        ...

    def progress(self, text: str) -> None:
        """Tell the user what is happening (status bar, terminal); may do nothing."""
        ...

    def save(self) -> None: ...


@dataclass
class MemoryGrid:
    """A grid in memory: the reference behaviour of the interface, and a test double."""

    sheets: dict[str, dict[tuple[int, int], Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    formats: dict[str, TableFormat] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    charts: dict[str, list[BarChart]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    saves: int = 0

    def sheet_names(self) -> list[str]:
        return list(self.order)

    def ensure_sheet(self, name: str) -> bool:
        if name in self.sheets:
            return False
        self.sheets[name] = {}
        self.order.append(name)
        return True

    def _sheet(self, name: str) -> dict[tuple[int, int], Any]:
        if name not in self.sheets:
            raise KeyError(name)
        return self.sheets[name]

    def read(self, sheet: str) -> list[list[Any]]:
        cells = self._sheet(sheet)
        filled = [k for k, v in cells.items() if v is not None and v != ""]
        if not filled:
            return []
        bottom = max(r for r, _ in filled)
        right = max(c for _, c in filled)
        return [[cells.get((r, c)) for c in range(1, right + 1)] for r in range(1, bottom + 1)]

    def write(self, sheet: str, top: int, left: int, rows: Sequence[Sequence[CellValue]]) -> None:
        cells = self._sheet(sheet)
        for r, row in enumerate(rows, start=top):
            for c, value in enumerate(row, start=left):
                cells[(r, c)] = cell_value(value)

    def clear(self, sheet: str, top: int, left: int, bottom: int, right: int) -> None:
        cells = self._sheet(sheet)
        for key in [k for k in cells if top <= k[0] <= bottom and left <= k[1] <= right]:
            del cells[key]

    def format_table(self, sheet: str, table: TableFormat) -> None:
        self._sheet(sheet)
        self.formats[sheet] = table

    def define_name(self, name: str, formula: str) -> None:
        self.names[name] = formula

    def add_bar_chart(self, sheet: str, chart: BarChart) -> None:
        self._sheet(sheet)
        kept = [c for c in self.charts.get(sheet, []) if not chart.takes_place_of(c.title)]
        self.charts[sheet] = [*kept, chart]

    def progress(self, text: str) -> None:
        self.messages.append(text)

    def save(self) -> None:
        self.saves += 1

    def value(self, sheet: str, row: int, column: int) -> Any:
        return self._sheet(sheet).get((row, column))

"""The Excel side (``ExcelGrid`` and the button entry points) without Excel.

There is no Excel on this machine, so the tests run against a stand-in for xlwings that
enforces xlwings' real signatures: every method of the fake classes is bound with
``inspect.signature`` of the same member of the real xlwings class before it runs, every
property must exist on the real class (with a setter when the fake is assigned to), and a
conformance test compares the two class by class. Behind the stand-in is an in-memory cell
store that behaves like Excel where it matters here: numbers come back as floats and dates as
datetimes; a string written to a cell that is not text-formatted is *entered* the way Excel
enters it (``=``/``+``/``-``/``@`` starts a formula, ``0012`` becomes the number 12, a leading
apostrophe is a quote prefix), while in a cell formatted ``@`` it is kept exactly as given
(apostrophe included: the cautious assumption, which only Excel itself can confirm). The
stand-in counts every call into it.

The entry points run end to end against the real sandbox over HTTP.
"""

from __future__ import annotations

import pytest

pytest.importorskip("xlwings", reason="the Excel side needs xlwings (Python 3.11+)")

import functools
import inspect
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock

import xlwings
import xlwings.main as xm

from kolaybi_xl import excel
from kolaybi_xl.api import KolayBiClient
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.excel_grid import ExcelGrid, excel_would_change, has_path
from kolaybi_xl.workbook.grid import BarChart, Formula, TableFormat

# =============================================================================================
# The stand-in
# =============================================================================================


class LiveFormula(str):
    """What a cell holds when Excel took the text as a formula (the thing that must not happen
    to API text)."""


class ExcelErrorValue(str):
    """A cell Excel turned into an error value (``#N/A``...)."""


class Excel:
    """The stand-in's shared state: the call log."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.thread = threading.get_ident()

    def record(self, what: str) -> None:
        # Like COM: an Excel object used from another thread is an error.
        assert threading.get_ident() == self.thread, f"{what} called from a worker thread"
        self.calls.append(what)


def _real_member(real: type, name: str) -> Any:
    return inspect.getattr_static(real, name)


class xlmethod:
    """A fake method: bound against the real xlwings signature, then recorded."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.name = func.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @functools.cached_property
    def _signature(self) -> inspect.Signature:
        return inspect.signature(self._real)

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        real_cls = type(obj).REAL
        self._real = getattr(real_cls, self.name)
        signature = self._signature

        @functools.wraps(self.func)
        def call(*args: Any, **kwargs: Any) -> Any:
            signature.bind(obj, *args, **kwargs)  # TypeError, as xlwings would raise
            obj.xl.record(f"{real_cls.__name__}.{self.name}()")
            return self.func(obj, *args, **kwargs)

        return call


class xlproperty:
    """A fake property: must be a property of the real class (with a setter when set)."""

    def __init__(self, fget: Callable[[Any], Any]) -> None:
        self.fget = fget
        self.fset: Callable[[Any, Any], None] | None = None
        self.name = fget.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def setter(self, fset: Callable[[Any, Any], None]) -> xlproperty:
        self.fset = fset
        return self

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        obj.xl.record(f"{type(obj).REAL.__name__}.{self.name}")
        return self.fget(obj)

    def __set__(self, obj: Any, value: Any) -> None:
        real = _real_member(type(obj).REAL, self.name)
        assert isinstance(real, property), f"xlwings.{type(obj).REAL.__name__}.{self.name}"
        assert real.fset is not None, f"xlwings.{type(obj).REAL.__name__}.{self.name} read-only"
        if self.fset is None:
            raise AttributeError(self.name)
        obj.xl.record(f"{type(obj).REAL.__name__}.{self.name}=")
        self.fset(obj, value)


class Fake:
    REAL: ClassVar[type]
    xl: Excel


# -- cells -------------------------------------------------------------------------------------

_A1 = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")
_NUMBER = re.compile(r"^\s*[+\-]?[\d.,]*\d[\d.,]*\s*%?\s*$")
_DATE = re.compile(r"^\s*(\d{1,2})[./](\d{1,2})[./](\d{4})\s*$")


def column_number(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


def parse_cell(text: str) -> tuple[int, int]:
    match = _A1.match(text.strip())
    assert match, f"not an A1 cell address: {text!r}"
    return int(match.group(2)), column_number(match.group(1))


@dataclass
class SheetData:
    name: str
    cells: dict[tuple[int, int], Any] = field(default_factory=dict)
    formats: list[tuple[int, int, int, int, str]] = field(default_factory=list)
    fills: list[tuple[int, int, int, int, Any]] = field(default_factory=list)
    prefixed: set[tuple[int, int]] = field(default_factory=set)
    widths: dict[int, float] = field(default_factory=dict)
    fonts: list[tuple[int, int, int, int, str, Any]] = field(default_factory=list)

    def number_format(self, row: int, col: int) -> str:
        for r1, c1, r2, c2, fmt in reversed(self.formats):
            if r1 <= row <= r2 and c1 <= col <= c2:
                return fmt
        return "General"

    def enter(self, row: int, col: int, value: Any, fmt: str) -> None:
        """Store a value the way Excel does when it receives it through COM."""
        key = (row, col)
        self.prefixed.discard(key)
        if value is None or value == "":
            self.cells.pop(key, None)
            return
        if isinstance(value, bool):
            self.cells[key] = value
        elif isinstance(value, (int, float)):
            self.cells[key] = float(value)
        elif isinstance(value, datetime):
            self.cells[key] = value
        elif isinstance(value, date):
            self.cells[key] = datetime(value.year, value.month, value.day)
        elif isinstance(value, str):
            self.cells[key] = self._entered_text(key, value, fmt)
        else:
            raise TypeError(f"xlwings cannot write {type(value).__name__}: {value!r}")

    def _entered_text(self, key: tuple[int, int], text: str, fmt: str) -> Any:
        if fmt == "@":
            return text  # a text cell keeps exactly what it is given, apostrophe included
        if text.startswith("'"):
            self.prefixed.add(key)
            return text[1:]
        if text.startswith(("=", "+", "-", "@")) and not _NUMBER.match(text):
            return LiveFormula(text)
        if _NUMBER.match(text) and any(ch.isdigit() for ch in text):
            cleaned = text.strip().replace(",", "")
            percent = cleaned.endswith("%")
            try:
                number = float(cleaned.rstrip("%").strip())
            except ValueError:
                return text
            return number / 100 if percent else number
        match = _DATE.match(text)
        if match:
            day, month, year = (int(g) for g in match.groups())
            return datetime(year, month, day)
        if text.strip().upper() in ("TRUE", "FALSE"):
            return text.strip().upper() == "TRUE"
        if text.startswith("#"):
            return ExcelErrorValue(text)
        return text

    def used(self) -> tuple[int, int, int, int] | None:
        rows: list[int] = []
        cols: list[int] = []
        for r, c in self.cells:
            rows.append(r)
            cols.append(c)
        for r1, c1, r2, c2, *_ in [*self.formats, *self.fills]:
            rows += [r1, r2]
            cols += [c1, c2]
        if not rows:
            return None
        return min(rows), min(cols), max(rows), max(cols)


# -- the xlwings classes -----------------------------------------------------------------------


class FakeApp(Fake):
    REAL = xlwings.App

    def __init__(self, xl: Excel) -> None:
        self.xl = xl
        self._screen_updating = True
        self.screen_history: list[bool] = []
        self._status_bar: str | bool = False
        self.status_history: list[str | bool] = []
        self.alerts: list[dict[str, Any]] = []
        self.answers: list[str] = []
        self.api_mock = mock.MagicMock(name="App.api")

    @xlproperty
    def screen_updating(self) -> bool:
        return self._screen_updating

    @screen_updating.setter
    def screen_updating(self, value: bool) -> None:
        assert isinstance(value, bool)
        self._screen_updating = value
        self.screen_history.append(value)

    @xlproperty
    def status_bar(self) -> str | bool:
        return self._status_bar

    @status_bar.setter
    def status_bar(self, value: str | bool) -> None:
        assert isinstance(value, (str, bool))
        self._status_bar = value
        self.status_history.append(value)

    @xlmethod
    def alert(
        self,
        prompt: str,
        title: str | None = None,
        buttons: str = "ok",
        mode: str | None = None,
        callback: str | None = None,
    ) -> str | None:
        assert buttons in ("ok", "ok_cancel", "yes_no", "yes_no_cancel")
        assert mode in (None, "info", "critical")
        self.alerts.append({"prompt": prompt, "title": title, "buttons": buttons, "mode": mode})
        if buttons == "ok":
            return "ok"
        return self.answers.pop(0) if self.answers else "no"

    @xlproperty
    def api(self) -> Any:
        return self.api_mock


class FakeBook(Fake):
    REAL = xlwings.Book

    def __init__(self, xl: Excel, fullname: str = r"C:\Users\muhasebe\Belgeler\KolayBi.xlsm"):
        self.xl = xl
        self.data: dict[str, SheetData] = {}
        self.order: list[str] = []
        self._app = FakeApp(xl)
        self._names = FakeNames(self)
        self.defined: dict[str, str] = {}
        self._fullname = fullname
        self.saves = 0
        self.active_sheet = ""
        self.api_mock = mock.MagicMock(name="Book.api")
        # (sheet, r1, c1, r2, c2) -> list source; sheet -> charts
        self.validations: dict[tuple[str, int, int, int, int], Any] = {}
        self.charts: dict[str, list[FakeChart]] = {}

    @xlproperty
    def app(self) -> FakeApp:
        return self._app

    @xlproperty
    def sheets(self) -> FakeSheets:
        return FakeSheets(self)

    @xlproperty
    def names(self) -> FakeNames:
        return self._names

    @xlproperty
    def fullname(self) -> str:
        return self._fullname

    @xlmethod
    def save(self, path: Any = None, password: str | None = None) -> None:
        assert path is None, "the grid saves in place"
        self.saves += 1

    @xlproperty
    def api(self) -> Any:
        return self.api_mock

    # -- test helpers (not xlwings) --
    def sheet(self, name: str) -> SheetData:
        return self.data[name]

    def value(self, sheet: str, row: int, col: int) -> Any:
        return self.data[sheet].cells.get((row, col))

    def put(self, sheet: str, row: int, col: int, value: Any) -> None:
        """What a user typing into a cell does."""
        data = self.data[sheet]
        data.enter(row, col, value, data.number_format(row, col))


class FakeSheets(Fake):
    REAL = xm.Sheets

    def __init__(self, book: FakeBook) -> None:
        self.book = book
        self.xl = book.xl

    @xlmethod
    def __iter__(self) -> Iterator[FakeSheet]:
        return iter([FakeSheet(self.book, n) for n in self.book.order])

    @xlmethod
    def __len__(self) -> int:
        return len(self.book.order)

    @xlmethod
    def __getitem__(self, key: int | str) -> FakeSheet:
        if isinstance(key, int):
            return FakeSheet(self.book, self.book.order[key])
        for name in self.book.order:
            if name.casefold() == key.casefold():
                return FakeSheet(self.book, name)
        raise KeyError(key)

    @xlproperty
    def active(self) -> FakeSheet:
        return FakeSheet(self.book, self.book.active_sheet)

    @xlmethod
    def add(self, name: str | None = None, before: Any = None, after: Any = None) -> FakeSheet:
        assert name is not None
        if name.casefold() in (n.casefold() for n in self.book.order):
            raise ValueError(f"Sheet named '{name}' already present in workbook")
        for other in (before, after):
            assert other is None or isinstance(other, FakeSheet), "before/after: a Sheet"
        assert before is None or after is None
        order = self.book.order
        if before is not None:
            order.insert(order.index(before.name), name)
        elif after is not None:
            order.insert(order.index(after.name) + 1, name)
        else:
            order.insert(0, name)  # Excel: before the active sheet; close enough
        self.book.data[name] = SheetData(name)
        self.book.active_sheet = name  # Excel activates a new sheet
        return FakeSheet(self.book, name)


class FakeSheet(Fake):
    REAL = xlwings.Sheet

    def __init__(self, book: FakeBook, name: str) -> None:
        self.book = book
        self.xl = book.xl
        self._name = name

    @property
    def data(self) -> SheetData:
        return self.book.data[self._name]

    @xlproperty
    def name(self) -> str:
        return self._name

    @xlmethod
    def range(self, cell1: Any, cell2: Any = None) -> FakeRange:
        if isinstance(cell1, str):
            assert cell2 is None
            first, _, second = cell1.partition(":")
            r1, c1 = parse_cell(first)
            r2, c2 = parse_cell(second) if second else (r1, c1)
        else:
            r1, c1 = cell1
            r2, c2 = cell2 if cell2 is not None else cell1
        assert 1 <= r1 <= r2 <= 1_048_576, (r1, r2)
        assert 1 <= c1 <= c2 <= 16_384, (c1, c2)
        return FakeRange(self, r1, c1, r2, c2)

    @xlproperty
    def used_range(self) -> FakeRange:
        used = self.data.used()
        return FakeRange(self, *(used or (1, 1, 1, 1)))

    @xlmethod
    def activate(self) -> None:
        self.book.active_sheet = self._name

    @xlproperty
    def charts(self) -> FakeCharts:
        return FakeCharts(self)

    @xlproperty
    def api(self) -> Any:
        return self.book.api_mock.Worksheets(self._name)


class FakeRange(Fake):
    REAL = xlwings.Range

    def __init__(self, sheet: FakeSheet, r1: int, c1: int, r2: int, c2: int, **options: Any):
        self.sheet = sheet
        self.xl = sheet.xl
        self.box = (r1, c1, r2, c2)
        self._options = options

    @property
    def data(self) -> SheetData:
        return self.sheet.data

    @xlproperty
    def row(self) -> int:
        return self.box[0]

    @xlproperty
    def column(self) -> int:
        return self.box[1]

    @xlproperty
    def shape(self) -> tuple[int, int]:
        r1, c1, r2, c2 = self.box
        return r2 - r1 + 1, c2 - c1 + 1

    @xlmethod
    def options(self, convert: Any = None, **options: Any) -> FakeRange:
        assert convert is None
        assert set(options) <= {"ndim", "numbers", "dates", "empty"}
        return FakeRange(self.sheet, *self.box, **options)

    @xlproperty
    def value(self) -> Any:
        r1, c1, r2, c2 = self.box
        cells = self.data.cells
        rows = [[cells.get((r, c)) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]
        if self._options.get("ndim") == 2:
            return rows
        if r1 == r2 and c1 == c2:
            return rows[0][0]
        if r1 == r2:
            return rows[0]
        if c1 == c2:
            return [row[0] for row in rows]
        return rows

    @value.setter
    def value(self, data: Any) -> None:
        rows = data if isinstance(data, list) and data and isinstance(data[0], list) else [[data]]
        width = len(rows[0])
        assert all(len(row) == width for row in rows), "a ragged block"
        r1, c1, r2, c2 = self.box
        if (r1, c1) != (r2, c2):
            assert (r2 - r1 + 1, c2 - c1 + 1) == (len(rows), width), "block and range differ"
        sheet = self.data
        for offset in range(width):
            col = c1 + offset
            rects = [f for f in reversed(sheet.formats) if f[1] <= col <= f[3]]
            for r, row in enumerate(rows, start=r1):
                fmt = next((f[4] for f in rects if f[0] <= r <= f[2]), "General")
                sheet.enter(r, col, row[offset], fmt)

    @xlmethod
    def clear_contents(self) -> None:
        r1, c1, r2, c2 = self.box
        cells = self.data.cells
        for key in [k for k in cells if r1 <= k[0] <= r2 and c1 <= k[1] <= c2]:
            del cells[key]

    @xlproperty
    def number_format(self) -> str:
        return self.data.number_format(self.box[0], self.box[1])

    @number_format.setter
    def number_format(self, value: str) -> None:
        assert isinstance(value, str)
        self.data.formats.append((*self.box, value))

    @xlproperty
    def column_width(self) -> float | None:
        return self.data.widths.get(self.box[1])

    @column_width.setter
    def column_width(self, value: float) -> None:
        assert isinstance(value, (int, float))
        assert 0 <= value <= 255
        for col in range(self.box[1], self.box[3] + 1):
            self.data.widths[col] = float(value)

    @xlproperty
    def color(self) -> Any:
        return None

    @color.setter
    def color(self, value: Any) -> None:
        assert value is None or isinstance(value, (tuple, int, str))
        self.data.fills.append((*self.box, value))

    @xlproperty
    def font(self) -> FakeFont:
        return FakeFont(self)

    @xlproperty
    def data_validation(self) -> FakeValidation:
        return FakeValidation(self)

    @xlproperty
    def api(self) -> Any:
        return self.sheet.api.Range(str(self.box))


class FakeFont(Fake):
    REAL = xm.Font

    def __init__(self, rng: FakeRange) -> None:
        self.rng = rng
        self.xl = rng.xl

    def _set(self, what: str, value: Any) -> None:
        self.rng.data.fonts.append((*self.rng.box, what, value))

    @xlproperty
    def bold(self) -> bool | None:
        return None

    @bold.setter
    def bold(self, value: bool) -> None:
        self._set("bold", value)

    @xlproperty
    def size(self) -> float | None:
        return None

    @size.setter
    def size(self, value: float) -> None:
        self._set("size", value)

    @xlproperty
    def color(self) -> Any:
        return None

    @color.setter
    def color(self, value: Any) -> None:
        self._set("color", value)


class FakeValidation(Fake):
    REAL = xm.DataValidation

    def __init__(self, rng: FakeRange) -> None:
        self.rng = rng
        self.xl = rng.xl

    @property
    def key(self) -> tuple[str, int, int, int, int]:
        return (self.rng.sheet.name, *self.rng.box)

    def _overlapping(self) -> list[tuple[str, int, int, int, int]]:
        name, r1, c1, r2, c2 = self.key
        return [
            k
            for k in self.rng.sheet.book.validations
            if k[0] == name and not (k[3] < r1 or k[1] > r2 or k[4] < c1 or k[2] > c2)
        ]

    @xlmethod
    def set_list(self, source: Any, *, in_cell_dropdown: bool = True) -> None:
        if isinstance(source, FakeName):
            source = source.refers_to_range  # what xlwings does with a Name, first
        elif isinstance(source, list):
            assert source
            assert all("," not in s and ";" not in s for s in source)
        else:
            assert isinstance(source, FakeRange)
        if any(k != self.key for k in self._overlapping()):
            raise xlwings.XlwingsError(
                "Cannot update data validation because the target cells have different "
                "validation rules."
            )
        self.rng.sheet.book.validations[self.key] = source

    @xlmethod
    def delete(self) -> None:
        for k in self._overlapping():
            del self.rng.sheet.book.validations[k]


class FakeNames(Fake):
    REAL = xm.Names

    def __init__(self, book: FakeBook) -> None:
        self.book = book
        self.xl = book.xl

    @xlmethod
    def contains(self, name_or_index: int | str) -> bool:
        return name_or_index in self.book.defined

    @xlmethod
    def __getitem__(self, item: int | str) -> FakeName:
        if item not in self.book.defined:
            raise KeyError(item)
        return FakeName(self.book, str(item))

    @xlmethod
    def add(self, name: str, refers_to: str) -> FakeName:
        assert refers_to.startswith("="), "Names.add wants '=' in front"
        self.book.defined[name] = refers_to
        return FakeName(self.book, name)


class FakeName(Fake):
    REAL = xm.Name

    def __init__(self, book: FakeBook, name: str) -> None:
        self.book = book
        self.xl = book.xl
        self._name = name

    @xlproperty
    def refers_to(self) -> str:
        return self.book.defined[self._name]

    @refers_to.setter
    def refers_to(self, value: str) -> None:
        assert value.startswith("=")
        self.book.defined[self._name] = value

    @xlproperty
    def refers_to_range(self) -> FakeRange:
        text = self.book.defined[self._name][1:]
        if "(" in text:  # a dynamic name: whether Excel resolves it is unknown; assume not
            raise RuntimeError("(-2146827284) RefersToRange failed")
        sheet, address = text.split("!")
        return FakeSheet(self.book, sheet).range(address.replace("$", ""))


class FakeCharts(Fake):
    REAL = xm.Charts

    def __init__(self, sheet: FakeSheet) -> None:
        self.sheet = sheet
        self.xl = sheet.xl

    @xlmethod
    def __iter__(self) -> Iterator[FakeChart]:
        return iter(list(self.sheet.book.charts.get(self.sheet.name, [])))

    @xlmethod
    def add(
        self,
        left: float = 0,
        top: float = 0,
        width: float = 355,
        height: float = 211,
        chart_type: str | None = None,
        source: Any = None,
        plot_by: Any = None,
        name: str | None = None,
        anchor: Any = None,
        style: int | None = 227,
    ) -> FakeChart:
        assert chart_type in xm.CHART_TYPES
        assert isinstance(source, FakeRange)
        assert not (anchor and (top or left))
        chart = FakeChart(self.sheet, source, anchor)
        self.sheet.book.charts.setdefault(self.sheet.name, []).append(chart)
        return chart


class FakeChart(Fake):
    REAL = xm.Chart

    def __init__(self, sheet: FakeSheet, source: FakeRange, anchor: Any) -> None:
        self.sheet = sheet
        self.xl = sheet.xl
        self.source = source
        self.anchor = anchor
        self._title: str | None = None
        self.categories: FakeRange | None = None

    @xlproperty
    def title(self) -> str | None:
        return self._title

    @title.setter
    def title(self, value: str | None) -> None:
        self._title = value

    @xlmethod
    def delete(self) -> None:
        self.sheet.book.charts[self.sheet.name].remove(self)

    @xlmethod
    def set_x_axis_values(self, source: Any) -> None:
        self.categories = source

    @xlproperty
    def legend(self) -> FakeLegend:
        return FakeLegend(self.xl)

    @xlproperty
    def value_axis(self) -> FakeAxis:
        return FakeAxis(self.xl)

    @xlproperty
    def category_axis(self) -> FakeAxis:
        return FakeAxis(self.xl)


class FakeLegend(Fake):
    REAL = xm.ChartLegend

    def __init__(self, xl: Excel) -> None:
        self.xl = xl

    @xlproperty
    def position(self) -> str | None:
        return None

    @position.setter
    def position(self, value: str) -> None:
        assert value in ("top", "bottom", "left", "right", "corner")


class FakeAxis(Fake):
    REAL = xm.ChartAxis

    def __init__(self, xl: Excel) -> None:
        self.xl = xl

    @xlproperty
    def title(self) -> str | None:
        return None

    @title.setter
    def title(self, value: str | None) -> None:
        pass


FAKES = (
    FakeApp,
    FakeBook,
    FakeSheets,
    FakeSheet,
    FakeRange,
    FakeFont,
    FakeValidation,
    FakeNames,
    FakeName,
    FakeCharts,
    FakeChart,
    FakeLegend,
    FakeAxis,
)


def new_book(
    xl: Excel | None = None,
    *,
    fullname: str = r"C:\Users\muhasebe\Belgeler\KolayBi.xlsm",
    sheets: tuple[str, ...] = layout.SHEET_ORDER,
) -> FakeBook:
    """A workbook laid out like the template (values only: no formats, the hard case)."""
    book = FakeBook(xl or Excel(), fullname)
    for name in sheets:
        book.order.append(name)
        book.data[name] = SheetData(name)
    book.active_sheet = sheets[0]
    if layout.INVOICES in sheets:
        strip = {
            layout.TITLE_CELL: layout.TITLE,
            layout.TYPE_LABEL_CELL: "Fatura Türü",
            layout.TYPE_CELL: "Satış Faturası",
            layout.REFRESHED_LABEL_CELL: "Son Güncelleme",
            layout.STATUS_LABEL_CELL: "Durum",
        }
        for (r, c), v in strip.items():
            book.put(layout.INVOICES, r, c, v)
        for c, column in enumerate(layout.INVOICE_COLUMNS, start=1):
            book.put(layout.INVOICES, layout.INVOICE_HEADER_ROW, c, column.header)
    if layout.SETTINGS in sheets:
        for c, text in enumerate(layout.SETTINGS_HEADER, start=1):
            book.put(layout.SETTINGS, 1, c, text)
        for r, (label, value, help_text) in enumerate(layout.SETTINGS_ROWS, start=2):
            for c, v in enumerate((label, value, help_text), start=1):
                book.put(layout.SETTINGS, r, c, v)
    book.xl.calls.clear()
    return book


# =============================================================================================
# Fixtures and helpers
# =============================================================================================


@pytest.fixture
def xl() -> Excel:
    return Excel()


@pytest.fixture
def log_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # platformdirs on Linux
    monkeypatch.setenv("KOLAYBI_XL_JOURNAL", str(tmp_path / "journal" / "journal.jsonl"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    return tmp_path


def use_sandbox(monkeypatch: pytest.MonkeyPatch, sb: Sandbox, *, api_key: str | None = None):
    monkeypatch.setenv("KOLAYBI_BASE_URL", sb.url)
    monkeypatch.setenv("KOLAYBI_CHANNEL", sb.channel)
    monkeypatch.setenv("KOLAYBI_API_KEY", api_key or sb.api_key)


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, log_dir: Path) -> Iterator[Sandbox]:
    with Sandbox(invoices=60, seed=1) as sb:
        use_sandbox(monkeypatch, sb)
        yield sb


def table_rows(book: FakeBook) -> dict[int, dict[str, Any]]:
    """Faturalar's data rows by Belge ID, read straight from the cell store."""
    data = book.sheet(layout.INVOICES)
    header_row = layout.INVOICE_HEADER_ROW
    headers = {}
    for (r, c), v in data.cells.items():
        if r == header_row:
            headers[c] = v
    rows: dict[int, dict[str, Any]] = {}
    bottom = max(r for r, _ in data.cells)
    for r in range(header_row + 1, bottom + 1):
        doc = data.cells.get((r, 1))
        if isinstance(doc, float):
            rows[int(doc)] = {h: data.cells.get((r, c)) for c, h in headers.items()} | {"_row": r}
    return rows


def column_of(book: FakeBook, header: str) -> int:
    data = book.sheet(layout.INVOICES)
    for (r, c), v in data.cells.items():
        if r == layout.INVOICE_HEADER_ROW and v == header:
            return c
    raise KeyError(header)


def no_traceback(text: str) -> None:
    for sign in ("Traceback", 'File "', "Error:", "Exception"):
        assert sign not in text, text


# =============================================================================================
# The stand-in itself follows xlwings
# =============================================================================================


@pytest.mark.parametrize("fake", FAKES, ids=lambda f: f.__name__)
def test_stand_in_matches_xlwings_signatures(fake: type) -> None:
    real = fake.REAL
    for name, member in vars(fake).items():
        if isinstance(member, xlmethod):
            real_member = getattr(real, name, None)
            assert callable(real_member), f"xlwings.{real.__name__} has no method {name}"
            fake_params = list(inspect.signature(member.func).parameters.values())
            real_params = list(inspect.signature(real_member).parameters.values())
            assert [(p.name, p.kind, p.default) for p in fake_params] == [
                (p.name, p.kind, p.default) for p in real_params
            ], f"{real.__name__}.{name}"
        elif isinstance(member, xlproperty):
            real_member = _real_member(real, name)
            assert isinstance(real_member, property), f"xlwings.{real.__name__}.{name}"
            if member.fset is not None:
                assert real_member.fset is not None, f"xlwings.{real.__name__}.{name} read-only"


def test_stand_in_refuses_wrong_calls(xl: Excel) -> None:
    book = new_book(xl)
    with pytest.raises(TypeError):
        book.sheets.add("X", "Faturalar", None, "extra")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        book.app.alert("x", titel="y")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="Decimal"):
        book.sheets["Özet"].range((1, 1)).value = [[Decimal("1.10")]]


def test_caller_signature_is_a_no_argument_classmethod() -> None:
    assert list(inspect.signature(xlwings.Book.caller).parameters) == []


# =============================================================================================
# ExcelGrid
# =============================================================================================


def test_read_pads_a_used_range_that_does_not_start_at_a1(xl: Excel) -> None:
    book = new_book(xl, sheets=("Özet",))
    book.put("Özet", 5, 3, "C5")
    book.put("Özet", 7, 4, 12)
    book.sheet("Özet").formats.append((20, 1, 40, 9, "0.00"))  # formatted, empty: trimmed
    grid = ExcelGrid(book)
    assert grid.read("Özet") == [
        [None, None, None, None],
        [None, None, None, None],
        [None, None, None, None],
        [None, None, None, None],
        [None, None, "C5", None],
        [None, None, None, None],
        [None, None, None, 12.0],
    ]
    assert xl.calls == [
        "Book.sheets",
        "Sheets.__getitem__()",
        "Sheet.used_range",
        "Range.row",
        "Range.column",
        "Range.options()",
        "Range.value",
    ]


def test_read_of_an_empty_sheet_is_empty(xl: Excel) -> None:
    book = new_book(xl, sheets=("Özet",))
    assert ExcelGrid(book).read("Özet") == []


def test_write_converts_values_and_keeps_text_as_text(xl: Excel) -> None:
    book = new_book(xl, sheets=("Özet",))
    grid = ExcelGrid(book)
    grid.write(
        "Özet",
        2,
        2,
        [
            ["VKN", "Açıklama", "Tutar", "Tarih", "Karışık"],
            ["0012345678", '=HYPERLINK("http://evil.example","tıkla")', Decimal("2327.60"),
             date(2026, 11, 22), 5],
            ["1234567890", "-5% iskonto", Decimal("0.07"), datetime(2026, 1, 2, 3, 4), "=1+1"],
            ["00123", "Zil\x07 sesi", None, None, "0042"],
            [None, "@SUM(A1)", 1, True, Formula("SUM(D3:D4)")],
        ],
    )  # fmt: skip
    back = grid.read("Özet")
    assert back[2][1:] == [
        "0012345678",
        '=HYPERLINK("http://evil.example","tıkla")',
        2327.6,
        datetime(2026, 11, 22),
        5.0,
    ]
    assert back[3][1:] == ["1234567890", "-5% iskonto", 0.07, datetime(2026, 1, 2, 3, 4), "=1+1"]
    assert back[4][1:4] == ["00123", "Zil sesi", None]
    assert back[4][5] == "0042"  # the quote prefix kept the zeros in a mixed column
    assert back[5][2] == "@SUM(A1)"
    assert back[5][5] == "=SUM(D3:D4)"
    assert isinstance(back[5][5], LiveFormula)  # only the tool's own Formula is a formula
    live = [v for row in back for v in row if isinstance(v, (LiveFormula, ExcelErrorValue))]
    assert live == ["=SUM(D3:D4)"]
    data = book.sheet("Özet")
    # all-text columns got the text format on the written block; the mixed one the apostrophe
    assert (2, 2, 6, 2, "@") in data.formats
    assert (2, 3, 6, 3, "@") in data.formats
    assert not any(f[1] == 6 for f in data.formats)
    assert data.prefixed == {(4, 6), (5, 6)}
    # one "@" per such column, one block write
    assert xl.calls.count("Range.value=") == 1
    assert xl.calls.count("Range.number_format=") == 2


def test_write_into_text_formatted_cells_adds_no_apostrophe(xl: Excel) -> None:
    """Cells already formatted as text (template, earlier format_table): the value is kept
    as given, so an apostrophe would become part of it. None is written there."""
    book = new_book(xl, sheets=("Özet",))
    book.sheet("Özet").formats.append((1, 1, 100, 2, "@"))
    grid = ExcelGrid(book)
    grid.write("Özet", 1, 1, [["=1+1", "0012"], ["'quoted", "+90 555"]])
    assert grid.read("Özet") == [["=1+1", "0012"], ["'quoted", "+90 555"]]


def test_ragged_write_is_padded_and_none_and_empty_clear(xl: Excel) -> None:
    book = new_book(xl, sheets=("Özet",))
    grid = ExcelGrid(book)
    grid.write("Özet", 1, 1, [["a", "b", "c"], ["d"]])
    grid.write("Özet", 1, 1, [[None, ""]])
    assert grid.read("Özet") == [[None, None, "c"], ["d", None, None]]
    grid.clear("Özet", 1, 1, 5, 5)
    assert grid.read("Özet") == []
    grid.write("Özet", 1, 1, [])
    grid.clear("Özet", 3, 1, 2, 1)  # an empty block: nothing, no call


def test_ensure_sheet_places_it_in_the_layout_order_and_keeps_the_view(xl: Excel) -> None:
    book = new_book(xl, sheets=(layout.INVOICES, layout.SETTINGS, layout.XLWINGS_CONF))
    book.active_sheet = layout.SETTINGS
    grid = ExcelGrid(book)
    assert grid.ensure_sheet(layout.VAULTS) is True
    assert grid.ensure_sheet(layout.COLLECTION_LOG) is True
    assert grid.ensure_sheet("Benim Sayfam") is True
    assert grid.ensure_sheet(layout.VAULTS) is False
    assert grid.ensure_sheet("faturalar") is False  # Excel's names ignore case
    assert book.order == [
        layout.INVOICES,
        layout.VAULTS,
        layout.COLLECTION_LOG,
        layout.SETTINGS,
        layout.XLWINGS_CONF,
        "Benim Sayfam",
    ]
    assert book.active_sheet == layout.SETTINGS
    only = new_book(Excel(), sheets=(layout.SETTINGS,))
    ExcelGrid(only).ensure_sheet(layout.INVOICES)
    assert only.order == [layout.INVOICES, layout.SETTINGS]


def test_define_name_adds_then_repoints(xl: Excel) -> None:
    book = new_book(xl, sheets=(layout.VAULTS,))
    grid = ExcelGrid(book)
    grid.define_name("KasaAdlari", "Kasalar!$B$2:$B$5")
    grid.define_name("KasaAdlari", "=" + layout.VAULT_NAMES_FORMULA)
    assert book.defined == {"KasaAdlari": "=" + layout.VAULT_NAMES_FORMULA}
    assert "Names.add()" in xl.calls
    assert "Name.refers_to=" in xl.calls


def test_save_only_a_book_that_has_a_path(xl: Excel) -> None:
    saved = new_book(xl)
    ExcelGrid(saved).save()
    assert saved.saves == 1
    fresh = new_book(Excel(), fullname="Kitap1")
    ExcelGrid(fresh).save()
    assert fresh.saves == 0
    assert has_path("/Users/ayse/KolayBi.xlsm")
    assert has_path("https://d.docs.live.net/abc/KolayBi.xlsm")
    assert not has_path("Book1")
    assert not has_path("")


def test_progress_uses_the_status_bar_only_on_its_own_thread(xl: Excel) -> None:
    book = new_book(xl)
    seen: list[str] = []
    grid = ExcelGrid(book, on_progress=seen.append)
    grid.progress("Kasalar getiriliyor…")
    worker = threading.Thread(target=grid.progress, args=("Tahsilat: 3/10",))
    worker.start()
    worker.join()
    assert seen == ["Kasalar getiriliyor…", "Tahsilat: 3/10"]
    assert book.app.status_history == ["Kasalar getiriliyor…"]
    errors: list[BaseException] = []

    def misuse() -> None:
        try:
            grid.read(layout.INVOICES)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=misuse)
    worker.start()
    worker.join()
    assert len(errors) == 1
    assert isinstance(errors[0], RuntimeError)


def test_batch_turns_the_screen_off_and_restores_it(xl: Excel) -> None:
    book = new_book(xl)
    grid = ExcelGrid(book)

    def job() -> None:
        with grid.batch():
            with grid.batch():  # nested: only the outer one switches
                assert book.app._screen_updating is False
            assert book.app._screen_updating is False
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        job()
    assert book.app.screen_history == [False, True]
    assert book.app.status_history[-1] is False  # the status bar is Excel's again


def invoice_format(rows: int) -> TableFormat:
    from kolaybi_xl.jobs.fetch import invoice_table_format

    header = [c.header for c in layout.INVOICE_COLUMNS]
    return invoice_table_format(header, layout.INVOICE_HEADER_ROW, rows)


def test_format_table_sets_column_blocks_not_cells(xl: Excel) -> None:
    book = new_book(xl)
    book.defined["KasaAdlari"] = "=Kasalar!$B$2:$B$6"
    h = layout.INVOICE_HEADER_ROW
    mark = layout.INVOICE_COLUMNS.index(layout.C_MARK) + 1
    vault = layout.INVOICE_COLUMNS.index(layout.C_VAULT) + 1
    rules = book.validations
    rules[(layout.INVOICES, h + 1, mark, h + 20_000, mark)] = "the template's"
    grid = ExcelGrid(book, windows=False)
    grid.format_table(layout.INVOICES, invoice_format(50))  # replaces the template's rule
    xl.calls.clear()
    grid.format_table(layout.INVOICES, invoice_format(60))
    small = len(xl.calls)
    xl.calls.clear()
    grid.format_table(layout.INVOICES, invoice_format(50_000))
    assert len(xl.calls) == small
    data = book.sheet(layout.INVOICES)
    tax = layout.INVOICE_COLUMNS.index(layout.C_TAX_ID) + 1
    assert (h + 1, tax, h + 50_000 + 200, tax, "@") in data.formats
    assert (h + 1, mark, h + 50_000, mark, (0xFF, 0xF2, 0xCC)) in data.fills
    assert data.widths[tax] == layout.C_TAX_ID.width
    assert (h, 1, h, len(layout.INVOICE_COLUMNS), "bold", True) in data.fonts
    assert [k for k in rules if k[2] == mark] == [(layout.INVOICES, h + 1, mark, h + 50_200, mark)]
    assert rules[(layout.INVOICES, h + 1, mark, h + 50_200, mark)] == ["x", "evet", "hayır"]
    assert rules[(layout.INVOICES, h + 1, vault, h + 50_200, vault)].box == (2, 2, 6, 2)
    assert not book.api_mock.mock_calls  # nothing through .api off Windows


def test_a_dropdown_xlwings_cannot_set_keeps_the_templates(xl: Excel) -> None:
    """Off Windows, a name xlwings cannot resolve (OFFSET) leaves the template's rule alone."""
    book = new_book(xl)
    book.defined["KasaAdlari"] = "=" + layout.VAULT_NAMES_FORMULA
    h = layout.INVOICE_HEADER_ROW
    vault = layout.INVOICE_COLUMNS.index(layout.C_VAULT) + 1
    rules = book.validations
    rules[(layout.INVOICES, h + 1, vault, h + 20_000, vault)] = "the template's"
    ExcelGrid(book, windows=False).format_table(layout.INVOICES, invoice_format(30_000))
    assert rules[(layout.INVOICES, h + 1, vault, h + 20_000, vault)] == "the template's"
    assert [k for k in rules if k[2] == vault] == [
        (layout.INVOICES, h + 1, vault, h + 20_000, vault)
    ]


def test_format_table_windows_extras_go_through_api_and_never_raise(xl: Excel) -> None:
    book = new_book(xl)
    book.defined["KasaAdlari"] = "=" + layout.VAULT_NAMES_FORMULA  # xlwings cannot resolve it
    h = layout.INVOICE_HEADER_ROW
    vault = layout.INVOICE_COLUMNS.index(layout.C_VAULT) + 1
    rules = book.validations
    rules[(layout.INVOICES, h + 1, vault, h + 20_000, vault)] = "the template's"
    grid = ExcelGrid(book, windows=True)
    book.active_sheet = layout.SETTINGS
    grid.format_table(layout.INVOICES, invoice_format(10))
    calls = [str(c) for c in book.api_mock.mock_calls]
    assert any("FreezePanes" in c or "Windows(1)" in c for c in calls)
    assert any(".AutoFilter()" in c for c in calls)
    assert any("Validation.Add(" in c and "=KasaAdlari" in c for c in calls)
    assert book.active_sheet == layout.SETTINGS
    # .api failing (e.g. a protected sheet) is logged, never raised
    book.api_mock.Windows.side_effect = RuntimeError("COM error")
    book.api_mock.Worksheets.side_effect = RuntimeError("COM error")
    grid.format_table(layout.INVOICES, invoice_format(10))


def test_bar_chart_replaces_one_of_the_same_title(xl: Excel) -> None:
    book = new_book(xl, sheets=(layout.SUMMARY,))
    grid = ExcelGrid(book)
    chart = BarChart("Yaşlandırma", categories=(4, 1, 9, 1), values=(3, 2, 9, 3), anchor="H3")
    grid.add_bar_chart(layout.SUMMARY, chart)
    grid.add_bar_chart(layout.SUMMARY, chart)
    charts = book.charts[layout.SUMMARY]
    assert len(charts) == 1
    assert charts[0].title == "Yaşlandırma"
    assert charts[0].source.box == (3, 2, 9, 3)
    assert charts[0].categories.box == (4, 1, 9, 1)
    assert charts[0].anchor.box == (3, 8, 3, 8)


def test_what_excel_would_change() -> None:
    for text in ("=1+1", "+90 555", "-5%", "@x", "'a", "#N/A", "0012", "1.234,56", "01.02.2026",
                 "TRUE", "doğru", "12:30", "1/2"):  # fmt: skip
        assert excel_would_change(text), text
    for text in ("", "FTR2026000001", "Ödenmedi", "ACME LTD", "Satır 1\nSatır 2", "12 fatura"):
        assert not excel_would_change(text), text


# =============================================================================================
# The entry points, end to end against the sandbox
# =============================================================================================


class CountingGrid(ExcelGrid):
    """ExcelGrid that notes how many stand-in calls each grid operation made."""

    OPS = ("sheet_names", "ensure_sheet", "read", "write", "clear", "format_table",
           "define_name", "add_bar_chart", "progress", "save")  # fmt: skip
    log: ClassVar[list[tuple[str, str, int]]] = []

    def __init__(self, book: Any, **kwargs: Any) -> None:
        super().__init__(book, **kwargs)
        self._depth = 0
        for op in self.OPS:
            setattr(self, op, self._counted(op, getattr(super(), op)))

    def _counted(self, op: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            calls = self.book.xl.calls
            before = len(calls)
            self._depth += 1
            try:
                return method(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    where = args[0] if args and isinstance(args[0], str) else ""
                    self.log.append((op, where if op != "progress" else "", len(calls) - before))

        return run


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int]]:
    CountingGrid.log = []
    monkeypatch.setattr(excel, "ExcelGrid", CountingGrid)
    return CountingGrid.log


def last_alert(book: FakeBook) -> dict[str, Any]:
    assert book.app.alerts, "no message box was shown"
    alert = book.app.alerts[-1]
    no_traceback(alert["prompt"])
    return alert


def test_refresh_invoices_fills_the_sheet(sandbox: Sandbox, xl: Excel) -> None:
    book = new_book(xl)
    excel.refresh_invoices(book)

    alert = last_alert(book)
    assert alert["mode"] == "info"
    assert alert["prompt"].startswith("Faturalar güncellendi")
    expected = {r.id: r for r in sandbox.books.invoice_records("sale_invoice")}
    rows = table_rows(book)
    assert set(rows) == set(expected)
    for doc_id, record in expected.items():
        row = rows[doc_id]
        assert row["Seri No"] == record.serial_no
        assert row["Düzenleme Tarihi"] == datetime.combine(
            record.issue_date.date(), datetime.min.time()
        )
        assert row["VKN/TCKN"] == record.identity_no  # text: leading zeros kept
        assert row["Genel Toplam"] == float(record.grand_total)
        assert row["Kalan"] == float(record.remaining)
        assert row["Cari"] == record.associate_name.strip() or row["Cari"] == record.associate_name
    zeros = [r for r in expected.values() if r.identity_no.startswith("0")]
    assert zeros, "the sandbox seeds a tax number with a leading zero"
    hostile = next(r for r in expected.values() if r.description.startswith("=HYPERLINK"))
    assert rows[hostile.id]["Açıklama"] == hostile.description
    formula_name = next(r for r in expected.values() if r.associate_name == "=1+1")
    assert rows[formula_name.id]["Cari"] == "=1+1"
    data = book.sheet(layout.INVOICES)
    assert not [v for v in data.cells.values() if isinstance(v, (LiveFormula, ExcelErrorValue))]
    assert not [v for v in data.cells.values() if isinstance(v, str) and v.startswith("'")]
    # Kasalar, the dropdown's name, the control strip
    vault_names = [book.value(layout.VAULTS, r, 2) for r in range(2, 7)]
    assert vault_names == [
        v.name for v in sorted(sandbox.books.vault_records(), key=lambda v: v.id)
    ]
    assert book.defined["KasaAdlari"] == "=" + layout.VAULT_NAMES_FORMULA
    assert isinstance(book.value(layout.INVOICES, *layout.REFRESHED_CELL), datetime)
    # the screen was frozen for the job and given back; progress went to the status bar
    assert book.app.screen_history == [False, True]
    assert "Faturalar yazılıyor…" in book.app.status_history
    assert book.app.status_history[-1] is False
    assert book.saves == 0  # a refresh leaves saving to the user


def test_refresh_keeps_marks_and_writes_to_book_caller(
    sandbox: Sandbox, xl: Excel, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = new_book(xl)
    monkeypatch.setattr(xlwings.Book, "caller", classmethod(lambda cls: book))
    excel.refresh_invoices()
    rows = table_rows(book)
    first = min(rows)
    book.put(layout.INVOICES, rows[first]["_row"], column_of(book, "Tahsil Et"), "x")
    book.put(layout.INVOICES, rows[first]["_row"], column_of(book, "Kasa/Banka"), "Merkez Kasa")
    excel.refresh_invoices()
    again = table_rows(book)
    assert again[first]["Tahsil Et"] == "x"
    assert again[first]["Kasa/Banka"] == "Merkez Kasa"
    assert len(book.app.alerts) == 2


def test_refresh_vaults(sandbox: Sandbox, xl: Excel) -> None:
    book = new_book(xl, sheets=(layout.INVOICES, layout.SETTINGS, layout.XLWINGS_CONF))
    excel.refresh_vaults(book)
    assert book.order[:2] == [layout.INVOICES, layout.VAULTS]
    assert book.active_sheet == layout.INVOICES
    balances = [book.value(layout.VAULTS, r, 5) for r in range(2, 7)]
    vaults = sorted(sandbox.books.vault_records(), key=lambda v: v.id)
    assert balances == [float(v.balance) for v in vaults]
    assert last_alert(book)["prompt"] == "Kasalar güncellendi: 5 kasa/banka hesabı."


def mark(book: FakeBook, doc_ids: list[int], vault: str) -> None:
    rows = table_rows(book)
    for doc_id in doc_ids:
        book.put(layout.INVOICES, rows[doc_id]["_row"], column_of(book, "Tahsil Et"), "x")
        book.put(layout.INVOICES, rows[doc_id]["_row"], column_of(book, "Kasa/Banka"), vault)


def collectable(sb: Sandbox, n: int) -> list[int]:
    return [
        r.id
        for r in sb.books.invoice_records("sale_invoice")
        if r.currency == "TRY" and r.is_payable and not r.description.startswith("=")
    ][:n]


def test_collect_marked_collects_exactly_the_marked_rows(sandbox: Sandbox, xl: Excel) -> None:
    book = new_book(xl)
    excel.refresh_invoices(book)
    chosen = collectable(sandbox, 3)
    amounts = {i: sandbox.books.invoices[i].remaining for i in chosen}
    mark(book, chosen, "Merkez Kasa")
    book.app.answers = ["yes"]
    before = list(book.app.alerts)

    excel.collect_marked(book)

    shown = book.app.alerts[len(before) :]
    assert [a["buttons"] for a in shown] == ["yes_no", "ok"]
    question = shown[0]["prompt"]
    no_traceback(question)
    assert "Tahsilat planı: 3 fatura" in question
    assert "Merkez Kasa" in question
    assert question.rstrip().endswith("Bu 3 fatura tahsil edilsin mi?")
    ledger = sandbox.books.ledger
    assert sorted(e.document_id for e in ledger) == sorted(chosen)
    assert {e.document_id: e.amount for e in ledger} == amounts
    assert shown[1]["prompt"].startswith("Tahsilat: 3 tamamlandı")
    rows = table_rows(book)
    for doc_id, row in rows.items():
        outcome = row["Tahsilat Durumu"]
        if doc_id in chosen:
            assert str(outcome).startswith(layout.OUTCOME_DONE)
            assert row["Kalan"] == 0.0
        else:
            assert outcome is None  # unmarked rows are never touched
    assert book.saves == 1  # the job saves its outcomes
    assert book.app.screen_history[-1] is True
    assert len(book.app.status_history) < 40  # progress in steps, not one call per row


def test_collect_no_sends_nothing(sandbox: Sandbox, xl: Excel) -> None:
    book = new_book(xl)
    excel.refresh_invoices(book)
    mark(book, collectable(sandbox, 2), "Ziraat Bankası TL")
    book.app.answers = ["no"]
    excel.collect_marked(book)
    assert sandbox.books.ledger == []
    assert book.app.alerts[-2]["buttons"] == "yes_no"
    assert "Toplam" in book.app.alerts[-2]["prompt"] or "toplam" in book.app.alerts[-2]["prompt"]
    assert last_alert(book)["prompt"] == "Tahsilat iptal edildi; hiçbir şey gönderilmedi."
    assert all(r["Tahsilat Durumu"] is None for r in table_rows(book).values())
    assert book.saves == 0


def test_collect_with_nothing_marked_says_so_and_asks_nothing(sandbox: Sandbox, xl: Excel) -> None:
    book = new_book(xl)
    excel.refresh_invoices(book)
    excel.collect_marked(book)
    assert [a["buttons"] for a in book.app.alerts] == ["ok", "ok"]
    assert last_alert(book)["prompt"].startswith("İşaretli satır yok")
    assert sandbox.books.ledger == []


def test_collect_with_only_bad_rows_sends_nothing_and_says_why(sandbox: Sandbox, xl: Excel) -> None:
    book = new_book(xl)
    excel.refresh_invoices(book)
    chosen = collectable(sandbox, 1)
    mark(book, chosen, "Böyle Bir Kasa Yok")
    excel.collect_marked(book)
    assert [a["buttons"] for a in book.app.alerts] == ["ok", "ok"]  # nothing to confirm
    prompt = last_alert(book)["prompt"]
    assert prompt.startswith("Gönderilecek satır yok; hiçbir şey gönderilmedi.")
    assert "1 hata" in prompt
    assert "'Tahsilat Durumu'" in prompt
    assert sandbox.books.ledger == []
    assert str(table_rows(book)[chosen[0]]["Tahsilat Durumu"]).startswith(layout.OUTCOME_ERROR)


def test_build_report(sandbox: Sandbox, xl: Excel) -> None:
    book = new_book(xl)
    excel.refresh_invoices(book)
    excel.build_report(book)
    alert = last_alert(book)
    assert alert["mode"] == "info"
    assert alert["prompt"].startswith("Özet hazır")
    assert ExcelGrid(book).read(layout.SUMMARY)
    assert book.app.screen_history == [False, True, False, True]


def read_log() -> str:
    path = excel.log_file()
    return path.read_text(encoding="utf-8") if path.exists() else ""


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("key", "kimlik bilgilerini kabul etmedi"),
        ("unreachable", "KolayBi'ye ulaşılamadı: internet ya da VPN"),
        ("server", "KolayBi sunucusu hata verdi"),
        ("channel", "Channel tanımlı değil"),
        ("unexpected", "Beklenmeyen bir hata oluştu; ayrıntılar: "),
    ],
)
def test_errors_become_a_short_turkish_message_and_a_log(
    breakage: str, expected: str, xl: Excel, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = new_book(xl)
    # the client's retries without their waits
    monkeypatch.setattr(
        excel, "KolayBiClient", functools.partial(KolayBiClient, sleep=lambda s: None)
    )
    with Sandbox(invoices=20, seed=1) as sb:
        use_sandbox(monkeypatch, sb, api_key="yanlis-anahtar-1234" if breakage == "key" else None)
        if breakage == "unreachable":
            monkeypatch.setenv("KOLAYBI_BASE_URL", "http://127.0.0.1:9/kolaybi/v1")
        elif breakage == "server":
            sb.faults.inject("bad_json", endpoint="invoices", probability=1.0)
        elif breakage == "channel":
            monkeypatch.delenv("KOLAYBI_CHANNEL")
        elif breakage == "unexpected":
            import kolaybi_xl.jobs.fetch as fetch

            def boom(*args: Any, **kwargs: Any) -> Any:
                raise RuntimeError(f"boom with the key {sb.api_key} in it")

            monkeypatch.setattr(fetch, "refresh_invoices", boom)
        excel.refresh_invoices(book)

    alert = last_alert(book)
    assert alert["mode"] == "critical"
    assert expected in alert["prompt"]
    assert len(alert["prompt"]) < 400
    if breakage == "unexpected":
        assert str(excel.log_file()) in alert["prompt"]
    assert book.app.screen_history == [False, True]  # restored after the exception
    assert book.app.status_history[-1] is False
    log = read_log()
    assert "Traceback" in log
    assert "Faturaları Getir: failed" in log
    assert "yanlis-anahtar-1234" not in log
    assert "sandbox-demo-key" not in log
    assert not table_rows(book)  # nothing half-written


def test_collect_error_after_confirmation_is_a_message_too(
    sandbox: Sandbox, xl: Excel, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = new_book(xl)
    excel.refresh_invoices(book)
    mark(book, collectable(sandbox, 1), "Merkez Kasa")
    book.app.answers = ["yes"]

    def save(self: FakeBook, path: Any = None, password: str | None = None) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(FakeBook, "save", xlmethod(save))
    excel.collect_marked(book)
    alert = last_alert(book)
    assert alert["mode"] == "critical"
    assert "kaydedilemedi" in alert["prompt"]
    assert "günlüğünde saklı" in alert["prompt"]
    assert len(sandbox.books.ledger) == 1  # the money moved; the journal has the outcome


def test_no_calling_workbook_is_a_short_exit_not_a_traceback(
    log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_excel(cls: type) -> Any:
        raise RuntimeError("Could not activate App! Excel not found")

    monkeypatch.setattr(xlwings.Book, "caller", classmethod(no_excel))
    with pytest.raises(SystemExit) as exit_info:
        excel.build_report()
    message = str(exit_info.value.code)
    assert message.startswith("KolayBi: Excel çalışma kitabına bağlanılamadı")
    no_traceback(message)
    assert "Excel not found" in read_log()


def test_excel_calls_do_not_grow_with_the_rows(
    counting: list[tuple[str, str, int]], log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: dict[int, list[tuple[str, str, int]]] = {}
    written: dict[int, int] = {}
    for invoices in (10, 200, 1000):
        counting.clear()
        with Sandbox(invoices=invoices, seed=1) as sb:
            use_sandbox(monkeypatch, sb)
            book = new_book(Excel())
            excel.refresh_invoices(book)
        assert book.app.alerts[-1]["mode"] == "info", book.app.alerts[-1]
        runs[invoices] = list(counting)
        written[invoices] = len(table_rows(book))
    assert written[10] < written[200] < written[1000]
    assert runs[10] == runs[200] == runs[1000]
    table_write = [n for op, sheet, n in runs[1000] if op == "write" and sheet == layout.INVOICES]
    assert max(table_write) <= 3 + 2 * len(layout.INVOICE_COLUMNS)

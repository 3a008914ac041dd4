"""A stand-in for xlwings, so the Excel side can be tested without Excel.

There is no Excel on this machine, so the tests run against a stand-in for xlwings that
enforces xlwings' real signatures: every method of the fake classes is bound with
``inspect.signature`` of the same member of the real xlwings class before it runs, every
property must exist on the real class (with a setter when the fake is assigned to), and a
conformance test (tests/test_excel.py) compares the two class by class. Behind the stand-in is
an in-memory cell store that behaves like Excel where it matters here: numbers come back as
floats and dates as datetimes; a string written to a cell that is not text-formatted is
*entered* the way Excel enters it (``=``/``+``/``-``/``@`` starts a formula, ``0012`` becomes
the number 12, a leading apostrophe is a quote prefix), while in a cell formatted ``@`` it is
kept exactly as given (apostrophe included: the cautious assumption, which only Excel itself can
confirm). The stand-in counts every call into it.

Used by tests/test_excel.py, tests/test_grid_contract.py and bench/bench_excel_calls.py.
Import it only after ``pytest.importorskip("xlwings")``: xlwings needs Python 3.11+.
"""

from __future__ import annotations

import functools
import inspect
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar
from unittest import mock

import xlwings
import xlwings.main as xm

from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.excel_grid import ExcelGrid

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


def static_member(real: type, name: str) -> Any:
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
        real = static_member(type(obj).REAL, self.name)
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
        assert set(options) <= {"ndim", "numbers", "dates", "empty", "err_to_str"}
        return FakeRange(self.sheet, *self.box, **options)

    @xlproperty
    def value(self) -> Any:
        r1, c1, r2, c2 = self.box
        cells = self.data.cells
        rows = [[cells.get((r, c)) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]
        if not self._options.get("err_to_str"):  # like xlwings: error values read as None
            rows = [[None if isinstance(v, ExcelErrorValue) else v for v in row] for row in rows]
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
    def set_decimal(self, operator: str, formula1: Any, formula2: Any = None) -> None:
        assert operator == "greater_than"
        assert formula2 is None
        if any(k != self.key for k in self._overlapping()):
            raise xlwings.XlwingsError(
                "Cannot update data validation because the target cells have different "
                "validation rules."
            )
        self.rng.sheet.book.validations[self.key] = ("decimal", operator, str(formula1))

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


# -- reading a book back (test helpers, not xlwings) ----------------------------------------


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


# -- counting the calls of each grid operation ----------------------------------------------


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

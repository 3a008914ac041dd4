"""One contract for every Grid backend: what a value becomes in a cell.

``MemoryGrid`` (the reference), ``FileGrid`` (before saving, and written, saved, reopened and
read) and ``ExcelGrid`` (on the xlwings stand-in of ``tests/fakes``) are held to the same
answers, those of ``cell_values.cell_value``. Each value is written twice: alone in its column,
and above a number in the same column (where the Excel backend has to use the quote prefix
instead of the text format).

Backends hold the same thing in their own types: Excel gives every number back as a float and
every date as a datetime, a reopened file gives whole numbers as ints and dates as datetimes.
``kind`` puts a read value in those terms (number, date, text, formula, bool, empty) before
comparing; MemoryGrid and an unsaved FileGrid agree exactly, types included.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.cell_values import Formula, cell_value, quote_prefixed
from kolaybi_xl.workbook.grid import MemoryGrid
from kolaybi_xl.workbook.xlsx_file import FileGrid

S = layout.SUMMARY
AWARE = datetime(2024, 5, 1, 9, 30, 15, tzinfo=timezone(timedelta(hours=3)))
LOCAL = AWARE.astimezone().replace(tzinfo=None)
UTC_NOON = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
HYPERLINK = '=HYPERLINK("http://evil.example","tıkla")'
LONG = "ş" * 40_000


class Currency(str, Enum):
    TRY = "TRY"


class Rank(IntEnum):
    FIRST = 1


def empty() -> None:
    return None


def number(value: float) -> tuple[str, float]:
    return ("number", value)


def text(value: str) -> tuple[str, str]:
    return ("text", value)


def when(value: datetime) -> tuple[str, datetime]:
    return ("date", value)


# (id, value written, what every backend must read back, in ``kind`` terms)
CASES: list[tuple[str, Any, Any]] = [
    # not a number a cell can hold
    ("nan", math.nan, empty()),
    ("inf", math.inf, empty()),
    ("-inf", -math.inf, empty()),
    ("decimal-nan", Decimal("NaN"), empty()),
    ("decimal-snan", Decimal("sNaN"), empty()),
    ("decimal-inf", Decimal("Infinity"), empty()),
    ("decimal--inf", Decimal("-Infinity"), empty()),
    # Decimals: exact as far as a double goes; beyond a double, their text
    ("decimal-amount", Decimal("2327.60"), number(2327.6)),
    ("decimal-noise", Decimal("0.07"), number(0.07)),
    ("decimal-half", Decimal("9.995"), number(9.995)),
    ("decimal-whole", Decimal("1854"), number(1854)),
    ("decimal-negative", Decimal("-400.05"), number(-400.05)),
    ("decimal-17-digits", Decimal("12345678901234567.8"), number(12345678901234567.8)),
    ("decimal-huge", Decimal("1E+300"), number(1e300)),
    ("decimal-beyond-double", Decimal("1E+400"), text("1E+400")),
    ("decimal-beyond-double-negative", Decimal("-9.99E+999999"), text("-9.99E+999999")),
    ("decimal-tiny", Decimal("1E-300"), number(1e-300)),
    ("decimal-below-double", Decimal("1E-400"), number(0.0)),
    ("decimal-negative-zero", Decimal("-0"), number(0.0)),
    # floats
    ("float-exact", 0.1 + 0.2, number(0.30000000000000004)),
    ("float-denormal", 5e-324, number(0.0)),
    ("float-negative-zero", -0.0, number(0.0)),
    # whole numbers: exact within ±2**53, their digits as text beyond
    ("int", 1854, number(1854)),
    ("int-2**53", 2**53, number(2**53)),
    ("int-beyond-2**53", 2**53 + 1, text("9007199254740993")),
    ("int-beyond-2**53-negative", -(2**53) - 1, text("-9007199254740993")),
    ("int-beyond-double", 10**400, text(str(10**400))),
    ("int-enum", Rank.FIRST, number(1)),
    ("bool-true", True, ("bool", True)),
    ("bool-false", False, ("bool", False)),
    # dates and times: Excel has no time zones
    ("date", date(2026, 11, 22), when(datetime(2026, 11, 22))),
    ("datetime", datetime(2026, 1, 2, 3, 4, 5), when(datetime(2026, 1, 2, 3, 4, 5))),
    ("datetime-aware", AWARE, when(LOCAL)),
    ("datetime-utc", UTC_NOON, when(UTC_NOON.astimezone().replace(tzinfo=None))),
    # text stays text, as given
    ("leading-zeros-vkn", "0012345678", text("0012345678")),
    ("leading-zeros-tckn", "01234567890", text("01234567890")),
    ("digits", "1854", text("1854")),
    ("formula-text", "=1+1", text("=1+1")),
    ("hyperlink-text", HYPERLINK, text(HYPERLINK)),
    ("phone", "+90 555 123 45 67", text("+90 555 123 45 67")),
    ("percent", "-5%", text("-5%")),
    ("at-sum", "@SUM(A1)", text("@SUM(A1)")),
    ("error-text", "#N/A", text("#N/A")),
    ("true-text", "TRUE", text("TRUE")),
    ("turkish-date-text", "01.02.2026", text("01.02.2026")),
    ("apostrophe", "'alıntı", text("'alıntı")),
    ("plain", "Ödenmedi", text("Ödenmedi")),
    ("lines-and-tabs", "satır\nsatır\tsekme", text("satır\nsatır\tsekme")),
    ("spaces", "   ", text("   ")),
    ("str-enum", Currency.TRY, text("TRY")),
    # cleaned text
    ("control-characters", "a\x00b\x07c\x1fd\x7f", text("abcd")),
    ("only-control-characters", "\x01\x02", empty()),
    ("empty-string", "", empty()),
    ("none", None, empty()),
    ("too-long", LONG, text(LONG[:32_766] + "…")),
    # the tool's own formulas
    ("formula", Formula("=SUM(1,2)"), ("formula", "=SUM(1,2)")),
    ("formula-without-equals", Formula("SUM(1,2)"), ("formula", "=SUM(1,2)")),
]
IDS = [case[0] for case in CASES]
VALUES = [case[1] for case in CASES]
WIDTH = len(CASES)
# Row 1: every value alone in its column; columns WIDTH+1..: the same values above a number.
BLOCK: list[list[Any]] = [VALUES + VALUES, [None] * WIDTH + [1] * WIDTH]


def kind(value: Any) -> Any:
    """A read value in backend-neutral terms."""
    if value is None:
        return None
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", float(value))
    if isinstance(value, datetime):
        return ("date", value)
    if isinstance(value, date):
        return ("date", datetime(value.year, value.month, value.day))
    if isinstance(value, Formula) or type(value).__name__ == "LiveFormula":
        return ("formula", str(value))
    assert type(value) is str, f"{type(value).__name__}: {value!r}"  # not an Excel error value
    return ("text", value)


def expected_kind(expected: Any) -> Any:
    if expected is None:
        return None
    what, value = expected
    return (what, float(value)) if what == "number" else (what, value)


# -- the backends -------------------------------------------------------------------------------


def memory_round_trip(rows: list[list[Any]], tmp_path: Path) -> list[list[Any]]:
    grid = MemoryGrid()
    grid.ensure_sheet(S)
    grid.write(S, 1, 1, rows)
    return grid.read(S)


def file_unsaved_round_trip(rows: list[list[Any]], tmp_path: Path) -> list[list[Any]]:
    with FileGrid.open(tmp_path / "unsaved.xlsx", create=True) as grid:
        grid.write(S, 1, 1, rows)
        return grid.read(S)


def file_round_trip(rows: list[list[Any]], tmp_path: Path) -> list[list[Any]]:
    path = tmp_path / "contract.xlsx"
    with FileGrid.open(path, create=True) as grid:
        grid.write(S, 1, 1, rows)
        grid.save()
    with FileGrid.open(path, for_writing=False) as grid:
        return grid.read(S)


def excel_round_trip(rows: list[list[Any]], tmp_path: Path) -> list[list[Any]]:
    pytest.importorskip("xlwings", reason="the Excel side needs xlwings (Python 3.11+)")
    from fakes.xlwings_fake import new_book

    from kolaybi_xl.workbook.excel_grid import ExcelGrid

    grid = ExcelGrid(new_book(sheets=(S,)))
    grid.write(S, 1, 1, rows)
    return grid.read(S)


BACKENDS: dict[str, Callable[[list[list[Any]], Path], list[list[Any]]]] = {
    "memory": memory_round_trip,
    "file-unsaved": file_unsaved_round_trip,
    "file-reopened": file_round_trip,
    "excel": excel_round_trip,
}


@pytest.fixture(scope="module")
def read_back(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[list[Any]]]:
    """Each backend's read of ``BLOCK``, written once per backend for all the cases."""
    cache: dict[str, list[list[Any]]] = {}

    def read(backend: str) -> list[list[Any]]:
        if backend not in cache:
            folder = tmp_path_factory.mktemp(backend)
            rows = BACKENDS[backend](BLOCK, folder)
            cache[backend] = [row + [None] * (2 * WIDTH - len(row)) for row in rows]
        return cache[backend]

    return read


# -- the contract -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("column", range(WIDTH), ids=IDS)
def test_every_backend_reads_back_the_same_value(
    backend: str, column: int, read_back: Callable[[str], list[list[Any]]]
) -> None:
    expected = expected_kind(CASES[column][2])
    rows = read_back(backend)
    assert kind(rows[0][column]) == expected  # alone in its column
    assert kind(rows[0][WIDTH + column]) == expected  # above a number
    assert kind(rows[1][WIDTH + column]) == ("number", 1.0)


@pytest.mark.parametrize(("value", "expected"), [case[1:] for case in CASES], ids=IDS)
def test_the_converter_gives_the_contract(value: Any, expected: Any) -> None:
    assert kind(cell_value(value)) == expected_kind(expected)


def test_memory_and_an_unsaved_file_agree_exactly(
    read_back: Callable[[str], list[list[Any]]],
) -> None:
    memory, file = read_back("memory"), read_back("file-unsaved")
    assert [[(type(v), v) for v in row] for row in memory] == [
        [(type(v), v) for v in row] for row in file
    ]


def test_memory_and_a_reopened_file_agree(read_back: Callable[[str], list[list[Any]]]) -> None:
    memory, file = read_back("memory"), read_back("file-reopened")
    assert [[kind(v) for v in row] for row in memory] == [[kind(v) for v in row] for row in file]


def test_the_file_quote_prefix_is_exactly_on_formula_looking_text(tmp_path: Path) -> None:
    path = tmp_path / "prefix.xlsx"
    with FileGrid.open(path, create=True) as grid:
        grid.write(S, 1, 1, BLOCK)
        grid.save()
    sheet = openpyxl.load_workbook(path)[S]
    for column, value in enumerate(VALUES + VALUES, start=1):
        cell = sheet.cell(1, column)
        assert cell.quotePrefix is quote_prefixed(cell_value(value)), IDS[(column - 1) % WIDTH]
    prefixed = {IDS[c - 1] for c in range(1, WIDTH + 1) if sheet.cell(1, c).quotePrefix}
    assert prefixed == {
        "int-beyond-2**53-negative",
        "decimal-beyond-double-negative",
        "formula-text",
        "hyperlink-text",
        "phone",
        "percent",
        "at-sum",
    }


def test_no_text_becomes_a_live_formula_in_excel(
    read_back: Callable[[str], list[list[Any]]],
) -> None:
    rows = read_back("excel")
    formulas = [v for row in rows for v in row if kind(v) is not None and kind(v)[0] == "formula"]
    assert formulas == ["=SUM(1,2)"] * 4  # the two Formula cases, each written twice

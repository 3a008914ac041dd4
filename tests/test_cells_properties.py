"""Property-based tests of cell coercion (``kolaybi_xl.workbook.cells``).

Whatever a cell holds — from a person, Excel, openpyxl or a damaged file — every reader gives
a valid value of its type or raises ``CellError`` with a non-empty Turkish message; never any
other exception, and never a hang on huge numbers. Plus round trips: each accepted mark word,
Turkish-formatted amounts, text that is always safe to put in a cell, column letters.
"""

from __future__ import annotations

import math
import re
import string
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import column_index_from_string

from kolaybi_xl.workbook import cells
from kolaybi_xl.workbook.cells import CellError, VaultRef
from kolaybi_xl.workbook.layout import MARK_NO, MARK_YES

settings.register_profile(
    "cells",
    max_examples=300,
    deadline=None,  # a hang shows as a slow test; wall-clock deadlines flake on busy CI
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("cells")

CONTROL = "".join(map(chr, range(0x20))) + "\x7f"
FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# -- any cell value ---------------------------------------------------------------------------

special_decimals = st.sampled_from(
    [
        Decimal("NaN"),
        Decimal("-NaN"),
        Decimal("sNaN"),
        Decimal("-sNaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        Decimal("-0"),
        Decimal("0E-1000"),
        Decimal("1E+999999"),
        Decimal("9.99E+999999999"),
        Decimal("-1E+999999999"),
        Decimal("1E-999999999"),
        Decimal("1854.000"),
        Decimal("1854.0001"),
        Decimal("1E+4300"),
    ]
)
special_floats = st.sampled_from(
    [
        math.nan,
        math.inf,
        -math.inf,
        -0.0,
        0.0,
        1.0,
        1e300,
        -1e300,
        5e-324,
        2_958_465.9999999995,
        2_958_465.999999999,
        1854.0,
        1854.5,
    ]
)
special_ints = st.sampled_from([0, 1, -1, 10**18, -(10**18), 10**400, 10**5000, -(10**5000)])
number_texts = st.from_regex(r"\A\s*[-+]?[0-9., \u00a0]{0,20}(TL|₺|TRY)?\s*\Z")
tricky_texts = st.sampled_from(
    [
        "",
        " ",
        "\t\n",
        "x",
        "X ",
        "✓",
        "✔",
        "EVET",
        "Hayır",
        "HAYIR",
        "İ",
        "ı",
        "1.234,56",
        "1,234.56",
        "1.234.567,89 TL",
        "₺ 12,5",
        "NaN",
        "sNaN",
        "Infinity",
        "-inf",
        "1e999999999",
        "1" * 5000,
        "0" * 4301 + "7",
        "1854.0",
        " 1854 ",
        "١٨٥٤",  # Arabic-Indic digits
        "１８５４",  # full-width digits
        "31.12.9999",
        "01.01.0001",
        "29.02.2023",
        "2024-02-29",
        "2024-13-01",
        "15.01.2024 10:30",
        "15.01.2024 10:30:59",
        "2024-01-15 10:30:00",
        "\x00",
        "a\x00b",
        '=HYPERLINK("x")',
        "@SUM(A1)",
        "x" * 40_000,
        "\ud7ff\ue000\U0010ffff",
    ]
)
texts = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from(CONTROL + " x1.,-ğüşİıöç")),
    number_texts,
    tricky_texts,
)
zones = st.sampled_from(
    [timezone.utc, timezone(timedelta(hours=3)), timezone(-timedelta(hours=11))]
)
cell_values: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    special_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    special_floats,
    st.decimals(allow_nan=True, allow_infinity=True),
    special_decimals,
    texts,
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=zones),
    st.times(),
    st.timedeltas(),
    st.binary(max_size=20),
    st.lists(st.one_of(st.integers(), st.text(max_size=5), st.none()), max_size=3),
    st.tuples(st.integers()),
    st.builds(object),
)


def vault_refs() -> st.SearchStrategy[list[VaultRef]]:
    names = st.one_of(
        st.sampled_from(
            ["Merkez Kasa", "merkez kasa", " Merkez Kasa ", "1", "2", "", "İş Bankası"]
        ),
        st.text(max_size=8),
    )
    vault = st.builds(
        VaultRef,
        id=st.integers(min_value=1, max_value=20),
        name=names,
        type=st.sampled_from(["bank_account", "safe_deposit"]),
        currency=st.sampled_from(["TRY", "USD", "EUR"]),
    )
    return st.lists(vault, max_size=6)


def check_error(exc: CellError) -> None:
    """A row error: a non-empty, readable Turkish message."""
    assert isinstance(exc.message, str)
    assert exc.message.strip()
    assert str(exc) == exc.message
    assert not FORBIDDEN.search(exc.message)


def outcome(reader: Any, value: Any, *args: Any) -> Any:
    """The reader's value, or a CellError (checked); any other exception fails the test."""
    try:
        return reader(value, *args)
    except CellError as exc:
        check_error(exc)
        return exc


# -- every reader: a valid value or a clear row error ----------------------------------------


@given(cell_values)
@example(Decimal("sNaN"))
@example(Decimal("9.99E+999999999"))
def test_parse_mark(value: Any) -> None:
    result = outcome(cells.parse_mark, value)
    assert isinstance(result, (bool, CellError))
    if value is None:
        assert result is False


@given(cell_values)
@example(Decimal("NaN"))
@example(Decimal("Infinity"))
@example(Decimal("1E+999999999"))
@example("1" * 5000)
@example(10**5000)
def test_parse_int_and_document_id(value: Any) -> None:
    for result in (
        outcome(cells.parse_int, value, "Kasa ID"),
        outcome(cells.parse_document_id, value),
    ):
        if isinstance(result, CellError):
            continue
        if result is None:
            assert cells.is_blank(value)
        else:
            assert type(result) is int
            assert result > 0


@given(cell_values)
@example(Decimal("sNaN"))
@example("1e999999999")
def test_parse_decimal(value: Any) -> None:
    result = outcome(cells.parse_decimal, value)
    if isinstance(result, CellError):
        return
    if result is None:
        assert cells.is_blank(value)
    else:
        assert isinstance(result, Decimal)
        assert result.is_finite()


@given(cell_values)
@example(2_958_465.9999999995)
@example(2_958_466)
@example(1)
def test_parse_date(value: Any) -> None:
    result = outcome(cells.parse_date, value)
    if isinstance(result, CellError):
        return
    if result is None:
        assert cells.is_blank(value)
    else:
        assert type(result) is date


@given(cell_values)
@example(2_958_465.9999999995)
def test_parse_datetime(value: Any) -> None:
    result = outcome(cells.parse_datetime, value)
    if isinstance(result, CellError):
        return
    if result is None:
        assert cells.is_blank(value)
    else:
        assert isinstance(result, datetime)


@given(cell_values, vault_refs())
@example(Decimal("sNaN"), [VaultRef(1, "Merkez Kasa", "safe_deposit", "TRY")])
@example("1" * 5000, [VaultRef(1, "Merkez Kasa", "safe_deposit", "TRY")])
def test_resolve_vault(value: Any, vaults: list[VaultRef]) -> None:
    result = outcome(cells.resolve_vault, value, vaults)
    if not isinstance(result, CellError):
        assert result in vaults


@given(cell_values)
@example(math.inf)
@example(math.nan)
@example(10**5000)
def test_identity_text(value: Any) -> None:
    text = cells.identity_text(value)
    assert isinstance(text, str)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**11:
        assert text.isdigit()
        assert len(text) in (10, 11)
        assert int(text) == value


@given(cell_values)
@example(10**5000)
def test_cell_text_and_show(value: Any) -> None:
    text = cells.cell_text(value)
    assert isinstance(text, str)
    shown = cells.show(value)
    assert isinstance(shown, str)
    assert shown.startswith("'")
    assert shown.endswith("'")
    assert len(shown) <= 42
    assert "\n" not in shown
    assert not FORBIDDEN.search(shown)


@given(cell_values)
def test_is_blank_and_looks_like_formula(value: Any) -> None:
    assert isinstance(cells.is_blank(value), bool)
    if isinstance(value, str):
        assert cells.looks_like_formula(value) == (value[:1] in ("=", "+", "-", "@"))


# -- round trips and invariants ----------------------------------------------------------------


def _case_variants(word: str) -> st.SearchStrategy[str]:
    return st.sampled_from([word, word.upper(), word.title()]).flatmap(
        lambda w: st.tuples(st.sampled_from(["", " ", "  ", "\t"]), st.sampled_from(["", " "])).map(
            lambda pad: pad[0] + w + pad[1]
        )
    )


@given(st.sampled_from(sorted(MARK_YES)).flatmap(_case_variants))
def test_every_yes_word_marks(text: str) -> None:
    assert cells.parse_mark(text) is True


@given(st.sampled_from(sorted(MARK_NO)).flatmap(_case_variants))
def test_every_no_word_does_not_mark(text: str) -> None:
    assert cells.parse_mark(text) is False


@pytest.mark.parametrize("value", [True, 1, 1.0, Decimal(1), Decimal("1.00")])
def test_yes_values(value: Any) -> None:
    assert cells.parse_mark(value) is True


@pytest.mark.parametrize("value", [None, False, 0, 0.0, -0.0, Decimal(0), Decimal("-0")])
def test_no_values(value: Any) -> None:
    assert cells.parse_mark(value) is False


def turkish(amount: Decimal) -> str:
    """``Decimal("-1234.5")`` -> ``"-1.234,50"``."""
    text = f"{amount:,.2f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


amounts = st.decimals(
    min_value=Decimal("-999999999999.99"),
    max_value=Decimal("999999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@given(amounts, st.sampled_from(["", " TL", "TL", " ₺", "₺", " TRY"]), st.sampled_from(["", " "]))
def test_turkish_amounts_read_back(amount: Decimal, suffix: str, pad: str) -> None:
    text = pad + turkish(amount) + suffix + pad
    assert cells.parse_decimal(text) == amount
    # The dot-decimal form reads the same.
    assert cells.parse_decimal(f"{amount:.2f}") == amount
    # A comma-decimal form without thousands separators too.
    assert cells.parse_decimal(f"{amount:.2f}".replace(".", ",")) == amount


@given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, allow_infinity=False))
def test_float_amounts_read_exactly(number: float) -> None:
    assert cells.parse_decimal(number) == Decimal(repr(number))


@given(st.integers(min_value=1, max_value=10**15))
def test_document_ids_read_back_from_any_cell_form(number: int) -> None:
    for value in (
        number,
        float(number),
        str(number),
        f" {number} ",
        f"{number}.0",
        Decimal(number),
    ):
        if isinstance(value, float) and value != number:
            continue
        assert cells.parse_document_id(value) == number


@given(st.one_of(texts, st.text(alphabet=st.sampled_from(CONTROL), min_size=1)))
@example("x" * 40_000)
@example("\x00" * 10 + "a" * 40_000)
def test_clean_text_is_always_cell_safe(value: str) -> None:
    text = cells.clean_text(value)
    assert isinstance(text, str)
    assert len(text) <= cells.EXCEL_MAX_TEXT
    assert not FORBIDDEN.search(text)
    assert not ILLEGAL_CHARACTERS_RE.search(text)  # what openpyxl refuses
    if not FORBIDDEN.search(value) and len(value) <= cells.EXCEL_MAX_TEXT:
        assert text == value  # clean text is left alone
    assert cells.clean_text(text) == text


@given(st.integers(min_value=1, max_value=16_384))
def test_column_letters_round_trip(column: int) -> None:
    letters = cells.column_letter(column)
    assert letters
    assert set(letters) <= set(string.ascii_uppercase)
    assert column_index_from_string(letters) == column


@given(st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31)))
def test_dates_read_back_from_serials_and_texts(day: date) -> None:
    serial = (datetime.combine(day, time()) - cells.EXCEL_EPOCH).days
    assert cells.parse_date(serial) == day
    assert cells.parse_date(float(serial) + 0.75) == day
    assert cells.parse_date(day.strftime("%d.%m.%Y")) == day
    assert cells.parse_date(day.isoformat()) == day
    assert cells.parse_date(datetime.combine(day, time(13, 5))) == day


# -- Tahsil Tutarı (issue 14) -----------------------------------------------------------------

collect_amounts = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("999999999999.99"), places=2
)


@given(collect_amounts, st.sampled_from(["number", "turkish", "plain"]))
def test_collect_amounts_read_back_in_every_form(amount: Decimal, form: str) -> None:
    value = {"number": float(amount), "turkish": turkish(amount), "plain": f"{amount:.2f}"}[form]
    assert cells.parse_collect_amount(value) == amount


@given(st.one_of(st.integers(), st.floats(), st.text(), st.decimals(), st.booleans(), st.none()))
def test_collect_amount_is_a_positive_two_decimal_amount_or_a_row_error(value: object) -> None:
    message = ""
    try:
        amount = cells.parse_collect_amount(value)
    except cells.CellError as exc:
        message, amount = exc.message, None
    assert message.startswith("Tahsil Tutarı") or message == ""
    assert amount is None or (amount > 0 and amount == amount.quantize(Decimal("0.01")))


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [("\ud800bad", "bad"), ("a\udfffb", "ab"), ("x\ufffey", "xy"), ("x\uffffy", "xy")],
)
def test_clean_text_drops_what_no_xml_reader_accepts(text: str, cleaned: str) -> None:
    # A lone surrogate (JSON can carry "\ud800") or U+FFFE/U+FFFF: written as a character
    # reference, it left a workbook nothing could open.
    assert cells.clean_text(text) == cleaned

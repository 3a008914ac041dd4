"""One value as a cell's XML, by the grid's rules (the same as ``FileGrid``'s ``_store``):
text is always an inline string (never a formula, never an error value) and gets the quote
prefix when Excel would read it as a formula; ``Decimal`` as its exact shortest text; dates as
serial numbers in a date format; only a ``Formula`` becomes a formula.

``cell_content`` is the one place a value is converted: a shared converter can replace it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from openpyxl.cell.cell import TIME_FORMATS
from openpyxl.utils.datetime import to_excel

from ..cells import EXCEL_MAX_TEXT, clean_text, looks_like_formula
from ..grid import CellValue, Formula
from ..xlsx_file import _decimal_text
from .xmlbits import text_escape

EMPTY, NUMBER, TEXT, BOOLEAN, FORMULA = "empty", "n", "inlineStr", "b", "f"


@dataclass(frozen=True)
class CellContent:
    kind: str  # EMPTY, NUMBER, TEXT, BOOLEAN or FORMULA
    text: str = ""  # the number's text, the string, or the formula without '='
    quoted: bool = False  # text Excel would read as a formula: the quote-prefix style
    date_format: str | None = None  # a date or time: the format if the cell's is not one


def cell_content(value: CellValue, epoch: datetime) -> CellContent:
    """What ``FileGrid`` would store for ``value``."""
    if isinstance(value, Formula):
        text = str(value)
        return CellContent(FORMULA, text[1:] if text.startswith("=") else text)
    if isinstance(value, str):
        text = value if value.isprintable() and len(value) <= EXCEL_MAX_TEXT else clean_text(value)
        return CellContent(TEXT, text, quoted=looks_like_formula(text))
    if value is None:
        return CellContent(EMPTY)
    if isinstance(value, bool):
        return CellContent(BOOLEAN, "1" if value else "0")
    if isinstance(value, Decimal):
        number = _decimal_text(value)
        return CellContent(EMPTY) if number is None else CellContent(NUMBER, number)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return CellContent(EMPTY)
        return CellContent(NUMBER, _number_text(value))
    if isinstance(value, datetime | date | time | timedelta):
        if isinstance(value, datetime) and value.tzinfo is not None:
            # Excel has no time zones: the moment in this computer's local time.
            value = value.astimezone().replace(tzinfo=None)
        serial = to_excel(value, epoch)
        return CellContent(NUMBER, _number_text(serial), date_format=TIME_FORMATS[type(value)])
    raise TypeError(f"cannot write a {type(value).__name__} into a cell")


def _number_text(number: float) -> str:
    return f"{number:.16g}"  # openpyxl's number text


def render_cell(p: bytes, ref: str, style: int, content: CellContent) -> bytes:
    """``<c>`` for one cell (``p`` the sheet's namespace prefix)."""
    head = b"<" + p + b'c r="' + ref.encode() + b'"' + (b' s="%d"' % style if style else b"")
    kind = content.kind
    end = b"</" + p + b"c>"
    if kind == EMPTY:
        return head + b"/>"
    if kind == NUMBER:
        return head + b"><" + p + b"v>" + content.text.encode() + b"</" + p + b"v>" + end
    if kind == BOOLEAN:
        return head + b' t="b"><' + p + b"v>" + content.text.encode() + b"</" + p + b"v>" + end
    if kind == FORMULA:
        return head + b"><" + p + b"f>" + text_escape(content.text) + b"</" + p + b"f>" + end
    text = content.text
    if not text:
        return head + b' t="inlineStr"/>'  # as openpyxl writes ""
    space = b' xml:space="preserve"' if text != text.strip() else b""
    return (
        head + b' t="inlineStr"><' + p + b"is><" + p + b"t" + space + b">" + text_escape(text)
        + b"</" + p + b"t></" + p + b"is></" + p + b"c>"
    )  # fmt: skip

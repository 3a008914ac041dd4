"""One value as a cell's XML, by the grid's rules (the same as ``FileGrid``'s ``_store``):
text is always an inline string (never a formula, never an error value) and gets the quote
prefix when Excel would read it as a formula; ``Decimal`` as its exact shortest text; dates as
serial numbers in a date format; only a ``Formula`` becomes a formula.

``cell_content`` is the one place a value is converted: a shared converter can replace it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from openpyxl.cell.cell import TIME_FORMATS
from openpyxl.utils.datetime import to_excel

from ..cell_values import CellValue, Formula, cell_value, number_text, quote_prefixed
from .xmlbits import text_escape

EMPTY, NUMBER, TEXT, BOOLEAN, FORMULA = "empty", "n", "inlineStr", "b", "f"


@dataclass(frozen=True)
class CellContent:
    kind: str  # EMPTY, NUMBER, TEXT, BOOLEAN or FORMULA
    text: str = ""  # the number's text, the string, or the formula without '='
    quoted: bool = False  # text Excel would read as a formula: the quote-prefix style
    date_format: str | None = None  # a date or time: the format if the cell's is not one


def cell_content(value: CellValue, epoch: datetime) -> CellContent:
    """What ``FileGrid`` would store for ``value``: ``cell_values.cell_value`` decides, this
    only says it in XML terms."""
    stored = cell_value(value)
    if stored is None:
        return CellContent(EMPTY)
    if isinstance(stored, Formula):
        text = str(stored)
        return CellContent(FORMULA, text[1:] if text.startswith("=") else text)
    if isinstance(stored, str):
        return CellContent(TEXT, stored, quoted=quote_prefixed(stored))
    if isinstance(stored, bool):
        return CellContent(BOOLEAN, "1" if stored else "0")
    if isinstance(stored, int):
        return CellContent(NUMBER, str(stored))
    if isinstance(stored, float):
        return CellContent(NUMBER, number_text(stored))
    # a date or datetime (aware ones are already local): a serial number in a date format
    serial = to_excel(stored, epoch)
    return CellContent(NUMBER, f"{serial:.16g}", date_format=TIME_FORMATS[type(stored)])


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

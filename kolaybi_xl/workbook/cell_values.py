"""What a value becomes in a cell: decided once, here, for every Grid backend.

``cell_value`` turns what a job writes into what a cell holds; ``MemoryGrid`` stores its
answer, ``FileGrid`` and ``ExcelGrid`` only apply it with their own mechanics (openpyxl cell
attributes; one xlwings block and a number format). So every backend reads back the same thing
(tests/test_grid_contract.py holds them to it):

- ``None``, an empty string, or text that is empty once cleaned: an empty cell.
- ``str``: text, never a formula and never an error value, cleaned of control characters and
  cut to Excel's 32,767 characters. Text that starts like a formula (``= + - @``) stays text
  and is marked for Excel's quote prefix (``quote_prefixed``), so an edit keeps it text.
  Digit strings (``0012345678``) stay text with their zeros.
- ``Formula``: the tool's own formula, always with its leading ``=``.
- ``bool`` as it is; ``int`` as it is within ±2**53. A larger whole number (an id, never an
  amount) is kept as its exact digits, as text: a double would silently change it.
- ``float`` and ``Decimal``: a double. NaN and ±infinity (also ``Decimal('NaN')``, ``sNaN``)
  leave the cell empty; a magnitude below the smallest normal double becomes 0; a Decimal too
  large for a double is kept as its exact text (``1E+400``) rather than lost. A Decimal keeps
  its exact value as far as a double can (``Decimal('2327.60')`` -> ``2327.6``); the file
  backend writes the shortest text of that double, never binary noise.
- ``datetime``: Excel has no time zones, so an aware datetime becomes this computer's local
  time, naive. ``date`` and ``time`` as they are.
- Anything else: its text (cleaned), so a stray type never breaks a write.
"""

from __future__ import annotations

import math
import sys
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from .cells import EXCEL_MAX_TEXT, _text, clean_text, looks_like_formula

CellValue = str | int | float | Decimal | bool | date | datetime | None
# What ``cell_value`` returns: no Decimal, no aware datetime, no empty string.
StoredValue = str | int | float | bool | date | datetime | time | None

MAX_EXACT_INT = 2**53  # beyond this a double (what Excel holds) no longer has every integer
_SMALLEST_NORMAL = sys.float_info.min


class Formula(str):
    """A formula the tool writes on purpose (e.g. a total on Özet). Never API text."""


def cell_value(value: Any) -> StoredValue:
    """What a cell holds after ``Grid.write(value)``, the same for every backend."""
    kind = type(value)
    # The common types first: a refresh converts a few hundred thousand values.
    if kind is str:
        text = value if value.isprintable() and len(value) <= EXCEL_MAX_TEXT else clean_text(value)
        return text or None
    if value is None or kind is bool:
        return value
    if kind is int:
        return value if -MAX_EXACT_INT <= value <= MAX_EXACT_INT else _text(value)
    if kind is float:
        return _double(value)
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, datetime):
        # Excel has no time zones: show the moment in this computer's local time.
        return value.astimezone().replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date | time):  # a time-only cell reads back as a ``time``
        return value
    return _subclass(value)


def number_text(number: float) -> str:
    """The shortest text that reads back as the same double: for amounts with up to 15
    significant digits that is the amount itself (``2327.6``, ``0.07``, ``9.995``). Files hold
    this text, never binary noise such as ``0.07000000000000001``."""
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def quote_prefixed(stored: StoredValue) -> bool:
    """Does this stored value need Excel's quote prefix? Text (not a ``Formula``) that Excel
    would take for a formula if someone edited the cell."""
    return type(stored) is str and looks_like_formula(stored)


def _double(number: float) -> float | None:
    if not math.isfinite(number):
        return None
    if abs(number) < _SMALLEST_NORMAL:
        return 0.0  # also -0.0; Excel keeps neither denormals nor a negative zero
    return number


def _decimal(value: Decimal) -> StoredValue:
    if not value.is_finite():  # NaN, sNaN, ±Infinity
        return None
    number = float(value)
    if math.isinf(number):
        return _text(value)  # beyond any double: its exact text, not a lost value
    return _double(number)


def _subclass(value: Any) -> StoredValue:
    """Subclasses of the plain types (``Formula``, str and int enums, ``float`` subclasses)
    and anything else."""
    if isinstance(value, Formula):
        text = str.__str__(value)
        return Formula(text if text.startswith("=") else "=" + text)
    if isinstance(value, str):
        return cell_value(str.__str__(value))  # an enum's value, not its repr
    if isinstance(value, bool):  # pragma: no cover - bool cannot be subclassed
        return bool(value)
    if isinstance(value, int):
        return cell_value(int(value))
    if isinstance(value, float):
        return cell_value(float(value))
    return cell_value(_text(value))

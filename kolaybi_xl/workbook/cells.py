"""Cell coercion: what users type and what the API sends, turned into safe, typed values.

Readers raise ``CellError`` with a Turkish message meant for the row's outcome cell; they
never raise anything else for any cell value. Writers make text safe for a cell (no control
characters, within Excel's length limit); whether a string could be read as a formula is
decided here too, and each backend applies it its own way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from .layout import MARK_NO, MARK_UNDO, MARK_YES

EXCEL_MAX_TEXT = 32_767
# openpyxl refuses these (XML 1.0 forbids them); Excel cannot show them either. A lone
# surrogate (JSON may carry "\ud800") or U+FFFE/U+FFFF would be written as a character
# reference no XML reader accepts: the whole workbook would no longer open.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# Strings Excel would read as a formula when typed or written through COM.
FORMULA_STARTS = ("=", "+", "-", "@")
EXCEL_EPOCH = datetime(1899, 12, 30)


class CellError(ValueError):
    """A cell holds something the tool cannot use; ``message`` is Turkish, for the row."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def clean_text(value: str) -> str:
    """Text safe to put in a cell: control characters removed, at most 32,767 characters."""
    text = _CONTROL_CHARS.sub("", value)
    if len(text) > EXCEL_MAX_TEXT:
        text = text[: EXCEL_MAX_TEXT - 1] + "…"
    return text


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


# Whole numbers with more digits than this are refused as ids (Python will not even print
# one of more than 4,300 digits; no id or amount is anywhere near).
MAX_DIGITS = 4_300


def _text(value: Any) -> str:
    """``str(value)``, also for a whole number too long for ``str``."""
    try:
        return str(value)
    except ValueError:  # an int of more than 4,300 digits
        negative = isinstance(value, int) and value < 0
        return f"{'-' if negative else ''}(çok büyük bir sayı)"


def show(value: Any, limit: int = 40) -> str:
    """A short, quoted rendering of a cell value for an error message."""
    text = clean_text(_text(value)).replace("\n", " ")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"'{text}'"


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# -- reading user input -----------------------------------------------------------------------


def _mark_words(value: str) -> tuple[str, str]:
    """A typed mark compared trimmed and case-insensitively: as ``casefold`` reads it, and
    as Turkish lower case reads it (``casefold`` is not Turkish: "YANLIŞ" becomes "yanliş")."""
    text = " ".join(value.split())
    return text.casefold(), text.replace("I", "ı").replace("İ", "i").casefold()


def is_undo_mark(value: Any) -> bool:
    """``Tahsil Et`` says ``geri al``: the row is marked for undo (Tahsilatı Geri Al)."""
    return isinstance(value, str) and MARK_UNDO in _mark_words(value)


def parse_mark(value: Any) -> bool:
    """``Tahsil Et``: x/✓/evet/e/yes/y/1/TRUE are marked; blank/hayır/h/no/n/0/FALSE are not.

    ``geri al`` (an undo mark) is not a collection mark: collecting leaves such rows alone.
    """
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    marked: bool | None = None
    if isinstance(value, (int, float, Decimal)):
        marked = _number_mark(value)
    elif isinstance(value, str):
        marked = _text_mark(value)
    if marked is None:
        raise CellError(f"Tahsil Et değeri anlaşılamadı: {show(value)} (x ya da boş bırakın)")
    return marked


def _number_mark(value: float | Decimal) -> bool | None:
    """1 is marked, 0 is not; any other number (NaN too) is not understood (None)."""
    if isinstance(value, Decimal) and value.is_nan():  # sNaN cannot even be compared
        return None
    if value == 1:
        return True
    if value == 0:
        return False
    return None


def _text_mark(value: str) -> bool | None:
    """A yes-word is marked; a no-word or ``geri al`` is not; anything else is None."""
    words = _mark_words(value)
    if any(w in MARK_YES for w in words):
        return True
    if any(w in MARK_NO for w in words) or MARK_UNDO in words:
        return False
    return None


def parse_int(value: Any, what: str) -> int | None:
    """A whole number from a cell (``1854``, ``1854.0``, ``" 1854 "``); blank is None."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellError(f"{what} bir sayı olmalı: {show(value)}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, (float, Decimal)):
        number = _int_from_number(value, what)
    elif isinstance(value, str):
        number = _int_from_text(value, what)
    else:
        raise CellError(f"{what} bir sayı olmalı: {show(value)}")
    if number <= 0:
        raise CellError(f"{what} pozitif olmalı: {show(value)}")
    return number


def _int_from_number(value: float | Decimal, what: str) -> int:
    finite = math.isfinite(value) if isinstance(value, float) else value.is_finite()
    if not finite:
        raise CellError(f"{what} bir sayı olmalı: {show(value)}")
    if isinstance(value, Decimal) and value.adjusted() >= MAX_DIGITS:
        raise CellError(f"{what} çok büyük: {show(value)}")  # int() would take ages
    if value != int(value):
        raise CellError(f"{what} tam sayı olmalı: {show(value)}")
    return int(value)


def _int_from_text(value: str, what: str) -> int:
    text = value.strip().removesuffix(".0")
    if not text.isascii() or not text.isdigit():
        raise CellError(f"{what} bir sayı olmalı: {show(value)}")
    if len(text) > MAX_DIGITS:
        raise CellError(f"{what} çok büyük: {show(value)}")
    return int(text)


def parse_document_id(value: Any) -> int | None:
    return parse_int(value, "Belge ID")


def parse_decimal(value: Any, what: str = "Tutar") -> Decimal | None:
    """An amount read back from a cell, exactly: floats via their shortest repr."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellError(f"{what} bir tutar olmalı: {show(value)}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise CellError(f"{what} bir tutar olmalı: {show(value)}")
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    elif isinstance(value, str):
        result = _parse_amount_text(value, what)
    else:
        raise CellError(f"{what} bir tutar olmalı: {show(value)}")
    if not result.is_finite():
        raise CellError(f"{what} bir tutar olmalı: {show(value)}")
    return result


# Excel's error values, as both file backends and ``ExcelGrid`` (``err_to_str``) read them.
_ERROR_VALUE = re.compile(
    r"#(?:N/A|DIV/0!|VALUE!|REF!|NAME\?|NUM!|NULL!|SPILL!|CALC!|GETTING_DATA"
    r"|FIELD!|BLOCKED!|UNKNOWN!|CONNECT!|BUSY!)"
)
# Text such as "1.234": a Turkish thousands separator or a decimal point — never guessed.
_THOUSANDS_OR_DECIMAL = re.compile(r"-?\d{1,3}\.\d{3}")
# Excel keeps 15 significant digits: a formula result such as 15.000000000000002 is 15.
_EXCEL_DIGITS = 15


def parse_collect_amount(value: Any) -> Decimal | None:
    """``Tahsil Tutarı``: None when blank (the whole remaining amount); else a positive amount
    with at most 2 decimals. Whether it fits the invoice's remaining amount is the plan's."""
    what = "Tahsil Tutarı"
    if is_blank(value):
        return None
    if isinstance(value, str):
        _refuse_error_or_formula(value, what)
    if isinstance(value, float) and math.isfinite(value):
        value = Decimal(format(value, f".{_EXCEL_DIGITS}g"))
    amount = parse_decimal(value, what)
    if amount is None:
        return None
    _check_collect_amount(amount, value, what)
    return amount.quantize(Decimal("0.01"))


def _refuse_error_or_formula(value: str, what: str) -> None:
    """An Excel error value, a formula's text (a file holds no result to read) or an ambiguous
    "1.234" is no amount."""
    text = value.strip()
    if _ERROR_VALUE.fullmatch(text.upper()):
        raise CellError(f"{what} bir hata değeri: {show(value)}; bir tutar yazın ya da boş bırakın")
    if text.startswith("="):
        raise CellError(
            f"{what} bir formül: {show(value)}; formülün sonucu dosyadan okunamaz — "
            "tutarı sayı olarak yazın"
        )
    if _THOUSANDS_OR_DECIMAL.fullmatch(text):  # 1.234: one thousand, or 1,234?
        raise CellError(
            f"{what} belirsiz: {show(value)} — nokta binlik ayırıcı mı, ondalık mı "
            "anlaşılmıyor; '1234' ya da '1.234,00' yazın"
        )


def _check_collect_amount(amount: Decimal, value: Any, what: str) -> None:
    """Positive, within Excel's digits, at most 2 decimals."""
    if amount == 0:
        raise CellError(
            f"{what} sıfır olamaz; kalanın tamamı için boş bırakın, tahsil etmemek için "
            "işareti kaldırın"
        )
    if amount < 0:
        raise CellError(f"{what} negatif olamaz: {show(value)}")
    if amount.adjusted() >= _EXCEL_DIGITS:  # also keeps quantize() below within precision
        raise CellError(f"{what} çok büyük: {show(value)}")
    if amount != amount.quantize(Decimal("0.01")):
        raise CellError(f"{what} en çok 2 ondalık basamaklı olmalı: {show(value)}")


def _parse_amount_text(value: str, what: str) -> Decimal:
    """Accept ``1234.56``, ``1.234,56`` and ``1234,56`` (Turkish decimal comma)."""
    text = value.strip().replace(" ", "").replace("\u00a0", "")
    for symbol in ("₺", "TL", "TRY"):
        text = text.replace(symbol, "")
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise CellError(f"{what} bir tutar olmalı: {show(value)}") from None


def parse_date(value: Any, what: str = "Tarih") -> date | None:
    """A date from a cell: a real date, an Excel serial number, or dd.mm.yyyy / yyyy-mm-dd."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    day: date | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        day = _date_from_serial(value)
    elif isinstance(value, str):
        day = _date_from_text(value.strip())
    if day is None:
        raise CellError(f"{what} anlaşılamadı: {show(value)}")
    return day


def _date_from_serial(value: float) -> date | None:
    """An Excel serial number within Excel's range (1900-01-01 .. 9999-12-31), else None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if 1 <= value < 2_958_466:
        return (EXCEL_EPOCH + timedelta(days=float(value))).date()
    return None


def _date_from_text(text: str) -> date | None:
    for fmt in ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse_datetime(value: Any, what: str = "Zaman") -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        for fmt in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S"):
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
    day = parse_date(value, what)
    if day is None:
        return None
    if isinstance(value, float):
        return EXCEL_EPOCH + timedelta(days=value)
    return datetime.combine(day, time())


def tr_amount(amount: Decimal) -> str:
    """``2327.6`` -> ``2.327,60`` (Turkish: thousands '.', decimals ',')."""
    text = f"{amount.quantize(Decimal('0.01')):,.2f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def column_letter(column: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_text(value: Any) -> str:
    """Any cell value as the text a user sees (for comparing names, reading settings)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return _text(value).strip()


def identity_text(value: Any) -> str:
    """VKN/TCKN as text: a number that lost its leading zeros gets them back (10 or 11 digits)."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        digits = _text(int(value))
        width = 10 if len(digits) <= 10 else 11
        return digits.zfill(width)
    return _text(value).strip()


# -- vault references -------------------------------------------------------------------------


@dataclass(frozen=True)
class VaultRef:
    """A vault as the workbook knows it (from ``Kasalar`` or the API)."""

    id: int
    name: str
    type: str
    currency: str


def resolve_vault(value: Any, vaults: Sequence[VaultRef]) -> VaultRef:
    """``Kasa/Banka``: a vault id, or a vault name exactly as listed (trimmed).

    A name matching two vaults is ambiguous: the user must write the id.
    """
    if is_blank(value):
        raise CellError("Kasa/Banka seçilmemiş")
    by_id = {v.id: v for v in vaults}
    number = _vault_number(value)
    named = _vaults_named(cell_text(value), vaults)
    if number is not None and number in by_id:
        if any(v.id != number for v in named):
            raise CellError(
                f"Kasa/Banka belirsiz: {show(value)} hem bir kasa ID'si hem bir kasa adı"
            )
        return by_id[number]
    return _the_one_named(value, named)


def _the_one_named(value: Any, named: Sequence[VaultRef]) -> VaultRef:
    if len(named) > 1:
        ids = ", ".join(str(v.id) for v in named)
        raise CellError(
            f"Kasa/Banka belirsiz: {show(value)} adında birden çok kasa var (ID: {ids})"
        )
    if not named:
        raise CellError(f"Kasa/Banka bulunamadı: {show(value)} (Kasalar sayfasını yenileyin)")
    return named[0]


def _vault_number(value: Any) -> int | None:
    """The cell as a vault id, None when it is not a whole number."""
    try:
        return parse_int(value, "Kasa ID")
    except CellError:
        return None


def _vaults_named(text: str, vaults: Sequence[VaultRef]) -> list[VaultRef]:
    """The vaults with this name (trimmed): the exact spelling, else ignoring case."""
    named = [v for v in vaults if v.name.strip() == text]
    if named:
        return named
    folded = text.casefold()
    return [v for v in vaults if v.name.strip().casefold() == folded]


# -- reading tables ---------------------------------------------------------------------------


def find_header_row(rows: Sequence[Sequence[Any]], needle: str, limit: int) -> int | None:
    """0-based index of the first of ``limit`` rows that has a cell equal to ``needle``."""
    for index, row in enumerate(rows[:limit]):
        if any(cell_text(cell) == needle for cell in row):
            return index
    return None


def header_positions(header: Iterable[Any]) -> dict[str, int]:
    """Header text -> 0-based column; the first occurrence wins."""
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        text = cell_text(cell)
        if text and text not in positions:
            positions[text] = index
    return positions


def duplicate_headers(header: Iterable[Any]) -> list[str]:
    seen: set[str] = set()
    dupes: list[str] = []
    for cell in header:
        text = cell_text(cell)
        if text in seen and text not in dupes:
            dupes.append(text)
        seen.add(text)
    return dupes

"""The dropdowns and number checks (data validations) of a formatted table, for ``xlsx_format``.

Ours carry ``VALIDATION_TAG`` as their error title, so a later format replaces them and keeps
everyone else's.
"""

from __future__ import annotations

from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .cells import clean_text
from .grid import POSITIVE_DECIMAL, TableFormat, Validation

# Validations this backend adds carry this error title, so re-formatting replaces them
# instead of piling up copies (openpyxl keeps every DataValidation it is given).
VALIDATION_TAG = "KolayBi"
VALIDATION_ERROR_TR = "Lütfen listeden bir değer seçin."
AMOUNT_ERROR_TR = "Lütfen 0'dan büyük bir tutar yazın."
# Excel refuses a file whose inline list is longer than this (the quotes not counted).
INLINE_LIST_LIMIT = 255


def _validation_formula(source: str) -> str:
    """``formula1`` for a list: ``"a,b,c"`` for an inline list, a range or name verbatim.

    A source with a comma and neither ``!`` nor ``(`` is an inline list; anything else (a range,
    a defined name, a formula like ``OFFSET(...)``) is passed through without a leading ``=``.
    """
    text = source[1:] if source.startswith("=") else source
    if "," in text and "!" not in text and "(" not in text:
        items = ",".join(part.strip() for part in text.split(","))
        if '"' in items or len(items) > INLINE_LIST_LIMIT:
            raise ValueError(
                f"an inline dropdown list must be at most {INLINE_LIST_LIMIT} characters "
                f"without quotes: {source[:40]!r}…"
            )
        return f'"{items}"'
    return text


def _truncate(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = clean_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def apply_validations(ws: Any, table: TableFormat, top: int, bottom: int) -> None:
    """Replace the dropdowns of this table's data rows; keep every other validation.

    Replaced: ours (tagged) below the header within the table's columns, and anyone's that
    covers only one validated column below the header (e.g. the template's own dropdown).
    """
    validated = {v.column for v in table.validations}
    span = set(range(table.first_column, table.first_column + len(table.columns))) | validated
    ws.data_validations.dataValidation = [
        existing
        for existing in ws.data_validations.dataValidation
        if not _replaced(existing, table.header_row, span, validated)
    ]
    if bottom < top:
        return
    for validation in table.validations:
        ws.add_data_validation(_data_validation(ws, table, validation, top, bottom))


def _replaced(existing: Any, header_row: int, span: set[int], validated: set[int]) -> bool:
    """Whether a validation already on the sheet is one ``apply_validations`` replaces."""
    ranges = list(existing.sqref.ranges)
    below = bool(ranges) and all(r.min_row > header_row for r in ranges)
    if not below:
        return False
    if existing.errorTitle == VALIDATION_TAG:
        return all(r.min_col in span and r.max_col in span for r in ranges)
    return all(r.min_col == r.max_col and r.min_col in validated for r in ranges)


def _data_validation(
    ws: Any, table: TableFormat, validation: Validation, top: int, bottom: int
) -> DataValidation:
    letter = get_column_letter(validation.column)
    title = ws.cell(row=table.header_row, column=validation.column).value
    if validation.kind == POSITIVE_DECIMAL:
        rule: dict[str, Any] = {"type": "decimal", "operator": "greaterThan", "formula1": "0"}
        error = AMOUNT_ERROR_TR
    else:
        rule = {"type": "list", "formula1": _validation_formula(validation.source)}
        error = VALIDATION_ERROR_TR
    dv = DataValidation(
        **rule,
        allow_blank=True,
        showErrorMessage=validation.strict,
        errorStyle="stop",
        errorTitle=VALIDATION_TAG,
        error=error,
        showInputMessage=validation.prompt is not None,
        promptTitle=_truncate(str(title), 32) if validation.prompt and title else None,
        prompt=_truncate(validation.prompt, 255),
    )
    dv.add(f"{letter}{top}:{letter}{bottom}")
    return dv

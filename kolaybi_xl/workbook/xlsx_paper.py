"""The printed page of a formatted sheet: A4 landscape, fitted, titles repeated, header and
footer (``layout.PAPER`` says how each sheet fits)."""

from __future__ import annotations

from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break, RowBreak

from . import layout
from .cells import clean_text


def set_paper(
    ws: Any,
    header_row: int | None = None,
    first_column: int = 1,
    page_breaks: Any = (),
    scale: int | None = None,
) -> None:
    """A4 landscape, fitted as ``layout.PAPER`` says for the sheet, the header row (and the
    leading columns it names) on every page, a page header and a ``Sayfa 1 / N`` footer."""
    paper = layout.PAPER.get(ws.title, layout.PAPER_DEFAULT)
    setup = ws.page_setup
    setup.orientation = "landscape"
    setup.paperSize = layout.A4
    ws.row_breaks = RowBreak()
    for row in page_breaks:
        ws.row_breaks.append(Break(id=row - 1))
    if scale is None:
        setup.fitToWidth = paper.pages_wide
        setup.fitToHeight = paper.pages_tall
        setup.scale = None
    else:
        setup.fitToWidth = setup.fitToHeight = None
        setup.scale = scale
    ws.sheet_properties.pageSetUpPr.fitToPage = scale is None
    if paper.print_columns:  # whole columns
        ws.print_area = f"A1:{get_column_letter(paper.print_columns)}{layout.MAX_ROW}"
    ws.print_options.horizontalCentered = False
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.page_margins.header = ws.page_margins.footer = 0.25
    if header_row is not None:
        ws.print_title_rows = f"{header_row}:{header_row}"
    else:
        ws._print_rows = None  # openpyxl's setter cannot clear it
    if paper.repeat_columns:
        first = get_column_letter(first_column)
        last = get_column_letter(first_column + paper.repeat_columns - 1)
        ws.print_title_cols = f"{first}:{last}"
    _header_footer(ws.oddHeader, layout.page_header(_channel(ws)), bold_centre=True)
    _header_footer(ws.oddFooter, layout.PAGE_FOOTER)


def _header_footer(item: Any, parts: tuple[str, str, str], *, bold_centre: bool = False) -> None:
    for part, text in zip((item.left, item.center, item.right), parts, strict=True):
        part.text = text
        bold = bold_centre and part is item.center
        part.font = f"{layout.FONT_NAME},{'Bold' if bold else 'Regular'}"
        part.size = 12 if bold else 9


def _channel(ws: Any) -> str:
    """The Channel on ``Ayarlar`` (shown in the page header; never the API key)."""
    workbook = ws.parent
    if layout.SETTINGS not in workbook.sheetnames:
        return ""
    settings = workbook[layout.SETTINGS]
    for row in settings.iter_rows(min_row=1, max_row=20, max_col=2, values_only=True):
        if row and row[0] == layout.SETTING_CHANNEL and isinstance(row[1], str):
            return clean_text(row[1]).strip()[:60]
    return ""

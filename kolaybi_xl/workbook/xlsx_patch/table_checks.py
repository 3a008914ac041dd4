"""What a refresh leaves as it was, checked before anything is patched: the default cell
style, the formatted columns' widths, the header's styles and height, the frozen panes, the
title and label fonts, and how the sheet prints. ``xlsx_format.format_sheet_table`` would make
each of these again; here any difference raises ``NotPatchable`` and the save goes through
openpyxl, which does."""

from __future__ import annotations

import re

from openpyxl.utils.cell import get_column_letter

from .. import layout
from ..grid import TableFormat
from .errors import NotPatchable
from .sheet import Sheet
from .style_parts import TRUE, StyleParts, norm_flags
from .styles import Styles
from .workbook_xml import WorkbookXml
from .xmlbits import attrs, unescape

_HEADER_ALIGN = {"horizontal": "center", "vertical": "center", "wrapText": "1"}
_MARGINS = {"left": 0.4, "right": 0.4, "top": 0.6, "bottom": 0.6, "header": 0.25, "footer": 0.25}


class KeptFormat:
    """The checks of one sheet against the ``table`` format a refresh applies again."""

    def __init__(
        self,
        styles: Styles,
        parts: StyleParts,
        book: WorkbookXml,
        name: str,
        sheet: Sheet,
        table: TableFormat,
        channel: str,
    ) -> None:
        self.styles = styles
        self.parts = parts
        self.book = book
        self.name = name
        self.sheet = sheet
        self.table = table
        self.channel = channel
        self.span = range(table.first_column, table.first_column + len(table.columns))
        self.top = table.header_row + 1

    def check(self) -> None:
        self._plain_xf()
        self._widths()
        self._header()
        self._frame()
        self._strip()
        if self.table.print_fit:
            self._paper()

    def _plain_xf(self) -> None:
        xf = self.styles._xf(0)[0]
        if any(xf.get(k, "0") != "0" for k in ("fontId", "fillId", "borderId", "numFmtId")):
            raise NotPatchable("the default cell style is not plain")

    def _widths(self) -> None:
        own: dict[int, float] = {}
        cols = re.search(rb"<" + self.sheet.p + rb"cols>(.*?)</" + self.sheet.p + rb"cols>",
                         self.sheet.xml, re.S)  # fmt: skip
        for m in re.finditer(rb"<(?:\w+:)?col\b([^>]*?)/?>", cols.group(1) if cols else b""):
            a = attrs(m.group(1))
            if a.get("min") == a.get("max") and "width" in a:
                own[int(a["min"])] = float(a["width"])
        for index, column in zip(self.span, self.table.columns, strict=True):
            if column.width is not None and abs(own.get(index, -1) - column.width) > 1e-6:
                raise NotPatchable(f"column {get_column_letter(index)}'s width changes")

    def _cell_style(self, row: int, column: int) -> int | None:
        found = self.sheet._locate(row, self.sheet._data_open.end())
        if found is None or found[0] != row:
            return None
        body = self.sheet.xml[found[2] : found[3]]
        for cell in self.sheet.cells_of(body):
            if cell.column == column:
                return cell.style
        return None

    def _header(self) -> None:
        parts = self.parts
        for index, column in zip(self.span, self.table.columns, strict=True):
            style = self._cell_style(self.table.header_row, index)
            if style is None:
                raise NotPatchable("a header cell without its style")
            color = (
                layout.INPUT_HEADER_FILL
                if column.input
                else layout.OUTPUT_HEADER_FILL
                if column.output
                else layout.HEADER_FILL
            )
            fill = parts.fill_id(style)
            xf = self.styles._xf(style)[0]
            if (
                fill >= len(parts.fills)
                or not re.search(rb'rgb="[0-9A-Fa-f]{2}' + color.encode(), parts.fills[fill], re.I)
                or not re.search(rb"<(?:\w+:)?b\b", parts.font(style))
                or xf.get("borderId", "0") == "0"
                or parts.alignment(style) != norm_flags(_HEADER_ALIGN)
            ):
                raise NotPatchable(f"header cell {get_column_letter(index)} is not styled yet")

    def _frame(self) -> None:
        table, xml, p = self.table, self.sheet.xml, self.sheet.p
        head = xml[: self.sheet._data_open.start()]
        if table.freeze:
            pane = re.search(rb"<" + p + rb"pane\b([^>]*?)/?>", head)
            want = f"{get_column_letter(table.first_column + 1)}{self.top}"
            a = attrs(pane.group(1)) if pane else {}
            if a.get("topLeftCell") != want or a.get("state") != "frozen":
                raise NotPatchable("frozen panes differ")
        found = self.sheet._locate(table.header_row, self.sheet._data_open.end())
        if found is None or found[0] != table.header_row:
            raise NotPatchable("no header row")
        height = attrs(xml[found[1] : found[2]]).get("ht")
        if height is None or abs(float(height) - 30.0) > 1e-6:
            raise NotPatchable("the header row's height differs")

    def _strip(self) -> None:
        for cells, size in ((self.table.title_cells, 16), (self.table.label_cells, None)):
            for row, column in cells:
                style = self._cell_style(row, column)
                font = self.parts.font(style) if style is not None else b""
                if not re.search(rb"<(?:\w+:)?b\b", font):
                    raise NotPatchable("a title or label cell is not styled yet")
                if size is not None and not re.search(rb'<(?:\w+:)?sz val="%d"' % size, font):
                    raise NotPatchable("the title cell is not styled yet")

    def _paper(self) -> None:
        tail = self.sheet.xml[self.sheet._data_end :]
        setup = re.search(rb"<(?:\w+:)?pageSetup\b([^>]*?)/?>", tail)
        a = attrs(setup.group(1)) if setup else {}
        if a.get("orientation") != "landscape" or a.get("paperSize") != str(layout.A4):
            raise NotPatchable("the page setup differs")
        if re.search(rb"<(?:\w+:)?rowBreaks\b[^>]*[^/]>", tail) or self.table.page_breaks:
            raise NotPatchable("page breaks")
        paper = layout.PAPER.get(self.name, layout.PAPER_DEFAULT)
        self._margins(tail)
        self._fitting(a, paper)
        self._print_titles(paper)
        self._header_footer(tail)

    def _margins(self, tail: bytes) -> None:
        margins = re.search(rb"<(?:\w+:)?pageMargins\b([^>]*?)/?>", tail)
        found = attrs(margins.group(1)) if margins else {}
        if any(abs(float(found.get(k, -1)) - v) > 1e-9 for k, v in _MARGINS.items()):
            raise NotPatchable("the page margins differ")

    def _fitting(self, setup: dict[str, str], paper: layout.Paper) -> None:
        head = self.sheet.xml[: self.sheet._data_open.start()]
        fit_to_page = re.search(rb"<(?:\w+:)?pageSetUpPr\b([^>]*?)/?>", head)
        if fit_to_page is None or TRUE.get(attrs(fit_to_page.group(1)).get("fitToPage", "")) != "1":
            raise NotPatchable("the sheet is not fitted to pages")
        fit = (setup.get("fitToWidth", "1"), setup.get("fitToHeight", "1"))
        if self.table.print_scale is not None or fit != (
            str(paper.pages_wide),
            str(paper.pages_tall),
        ):
            raise NotPatchable("the page fitting differs")

    def _print_titles(self, paper: layout.Paper) -> None:
        index = self.book.sheet_names().index(self.name)
        titles = self.book.local_name("_xlnm.Print_Titles", index) or ""
        header = self.table.header_row
        if not self.table.freeze or f"${header}:${header}" not in titles:
            raise NotPatchable("print titles differ")
        if paper.repeat_columns:
            first = get_column_letter(self.table.first_column)
            last = get_column_letter(self.table.first_column + paper.repeat_columns - 1)
            if f"${first}:${last}" not in titles:
                raise NotPatchable("print title columns differ")
        area = self.book.local_name("_xlnm.Print_Area", index) or ""
        last = get_column_letter(paper.print_columns or 1)
        # Whole columns, as openpyxl writes them or as Excel and LibreOffice save them.
        if paper.print_columns and not area.endswith(
            (f"$A$1:${last}${layout.MAX_ROW}", f"$A:${last}")
        ):
            raise NotPatchable("the print area differs")

    def _header_footer(self, tail: bytes) -> None:
        header_code = layout.header_footer_code(layout.page_header(self.channel), bold_centre=True)
        for tag, code in (
            ("oddHeader", header_code),
            ("oddFooter", layout.header_footer_code(layout.PAGE_FOOTER)),
        ):
            found = re.search(rb"<(?:\w+:)?" + tag.encode() + rb">(.*?)</", tail, re.S)
            if found is None or _hf(unescape(found.group(1))) != _hf(code):
                raise NotPatchable("the page header or footer differs")


def _hf(code: str) -> str:
    """A header/footer code without the space openpyxl writes after a font size."""
    return re.sub(r"(&\d+) ", r"\1", code)


__all__ = ["KeptFormat"]

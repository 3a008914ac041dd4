"""A table format applied again to a sheet that already carries it (``fetch``'s refresh): the
same result ``xlsx_format.format_sheet_table`` gives, made as byte edits.

What stays the same from one refresh to the next (widths, header styles, frozen panes, the
title and labels, how the sheet prints) is *checked* here; any difference raises
``NotPatchable`` and the save goes through openpyxl. What moves with the row count is made:
each cell's number format, alignment and fill over the data and spare rows (our fill dropped
below the data), missing cells of the formatted range created, wrapped rows sized (and a row
sized by us earlier given its height back), the dropdowns' and the grey rows' ranges.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from openpyxl.utils.cell import column_index_from_string, get_column_letter

from .. import layout
from ..cells import clean_text
from ..grid import TableFormat
from ..xlsx_format import DEFAULT_WIDTH, LINE_HEIGHT, MAX_WRAPPED_LINES, wrapped_lines
from ..xlsx_validation import VALIDATION_TAG
from .errors import NotPatchable
from .sheet import Edit, Sheet
from .styles import Styles
from .workbook_xml import WorkbookXml
from .xmlbits import attrs, unescape

OUR_HEIGHTS = {f"{LINE_HEIGHT * n:g}" for n in range(2, MAX_WRAPPED_LINES + 1)}
_WRAP = {"wrapText": "1", "vertical": "top"}  # xlsx_format.WRAP_ALIGNMENT
_TOP = {"vertical": "top"}  # xlsx_format.TOP_ALIGNMENT
_HEADER_ALIGN = {"horizontal": "center", "vertical": "center", "wrapText": "1"}
_TRUE = {"1": "1", "true": "1", "0": "0", "false": "0"}


def _norm(a: dict[str, str]) -> dict[str, str]:
    return {k: _TRUE.get(v, v) for k, v in a.items() if _TRUE.get(v, v) != "0"}


class StyleParts:
    """The fills and fonts of styles.xml, and xfs changed in their fill or alignment."""

    def __init__(self, styles: Styles) -> None:
        self.styles = styles
        xml, p = styles.xml, styles.p
        self.fills = _children(xml, p, b"fills", b"fill")
        self.fonts = _children(xml, p, b"fonts", b"font")
        self._memo: dict[tuple[Any, ...], int] = {}

    def fill_id(self, style: int) -> int:
        return int(self.styles._xf(style)[0].get("fillId", "0") or 0)

    def solid_fill(self, color: str, *, ours: bool) -> int | None:
        """The index of the solid fill of ``color``: as openpyxl writes ``PatternFill`` (ours)
        or any solid fill of that foreground colour."""
        for index, fill in enumerate(self.fills):
            if not re.search(rb'patternType="solid"', fill):
                continue
            fg = re.search(rb'<(?:\w+:)?fgColor\b[^>]*?rgb="([0-9A-Fa-f]{8})"', fill)
            if fg is None:
                continue
            if ours:
                want = b'rgb="00' + color.upper().encode() + b'"'
                bg = re.search(rb"<(?:\w+:)?bgColor\b[^>]*/?>", fill)
                if fg.group(1).upper() == b"00" + color.upper().encode() and bg and want in bg[0]:
                    return index
            elif fg.group(1).upper().endswith(color.upper().encode()):
                return index
        return None

    def font(self, style: int) -> bytes:
        index = int(self.styles._xf(style)[0].get("fontId", "0") or 0)
        return self.fonts[index] if 0 <= index < len(self.fonts) else b""

    def alignment(self, style: int) -> dict[str, str]:
        found = re.search(rb"<(?:\w+:)?alignment\b([^>]*?)/?>", self.styles._xf(style)[1])
        return _norm(attrs(found.group(1))) if found else {}

    def with_fill(self, style: int, fill: int) -> int:
        if self.fill_id(style) == fill:
            return style
        key = ("fill", style, fill)
        if key not in self._memo:
            attributes, children = self.styles._xf(style)
            changed = {**attributes, "fillId": str(fill)}
            changed["applyFill"] = "1" if fill else "0"
            self._memo[key] = self.styles._find_or_add(changed, children)
        return self._memo[key]

    def with_alignment(self, style: int, alignment: dict[str, str]) -> int:
        if self.alignment(style) == alignment:
            return style
        key = ("align", style, tuple(alignment.items()))
        if key not in self._memo:
            attributes, children = self.styles._xf(style)
            p = self.styles.p
            element = b"<" + p + b"alignment" + b"".join(
                b' %s="%s"' % (k.encode(), v.encode()) for k, v in alignment.items()
            ) + b"/>"  # fmt: skip
            rest = re.sub(rb"<(?:\w+:)?alignment\b[^>]*?(?:/>|>.*?</(?:\w+:)?alignment>)", b"",
                          children, flags=re.S)  # fmt: skip
            changed = {**attributes, "applyAlignment": "1"}
            self._memo[key] = self.styles._find_or_add(changed, element + rest)
        return self._memo[key]


def _children(xml: bytes, p: bytes, section: bytes, item: bytes) -> list[bytes]:
    found = re.search(rb"<" + p + section + rb"\b[^>]*?>(.*?)</" + p + section + rb">", xml, re.S)
    if found is None:
        return []
    element = rb"<" + p + item + rb"\b[^>]*?(?:/>|>.*?</" + p + item + rb">)"
    return [m.group(0) for m in re.finditer(element, found.group(1), re.S)]


class TableReformat:
    """``table`` applied again to ``sheet``; built (and checked) when ``format_table`` is
    called, made at save once the sheet's final values are known."""

    def __init__(
        self,
        styles: Styles,
        book: WorkbookXml,
        name: str,
        sheet: Sheet,
        table: TableFormat,
        channel: str = "",
    ) -> None:
        self.channel = channel  # shown in the page header
        self.styles = styles
        self.parts = StyleParts(styles)
        self.book = book
        self.name = name
        self.sheet = sheet
        self.table = table
        header = table.header_row
        self.top = header + 1
        self.data_bottom = header + max(0, table.data_rows)
        self.format_bottom = self.data_bottom + max(0, table.spare_rows)
        self.span = range(table.first_column, table.first_column + len(table.columns))
        self.tall: dict[int, int] = {}  # row -> lines its wrapped text needs (rows written)
        self._single_rows = {row for (row, _column), _code in table.cell_formats}
        self._targets: dict[tuple[int, int, int], int] = {}
        if self.format_bottom > layout.MAX_ROW:
            raise NotPatchable("the formatted rows run past the sheet's end")  # openpyxl says so
        self._check_plain_xf()
        self._find_fills()
        self._columns()
        self._check_widths()
        self._check_header()
        self._check_frame()
        self._check_strip()
        if table.print_fit:
            self._check_paper()

    # -- checks: what a refresh leaves as it was must already be so ------------------------------

    def _check_plain_xf(self) -> None:
        xf = self.styles._xf(0)[0]
        if any(xf.get(k, "0") != "0" for k in ("fontId", "fillId", "borderId", "numFmtId")):
            raise NotPatchable("the default cell style is not plain")

    def _find_fills(self) -> None:
        parts = self.parts
        self.input_fill = parts.solid_fill(layout.INPUT_FILL, ours=True)
        self.output_fill = parts.solid_fill(layout.OUTPUT_FILL, ours=True)
        self.our_fills = {f for f in (self.input_fill, self.output_fill) if f is not None}

    def _columns(self) -> None:
        """Column -> (number format, fill id, wraps) of each formatted column."""
        self.formats: dict[int, tuple[str | None, int | None, bool]] = {}
        self.fill_columns: set[int] = set()
        self.wrapped: list[tuple[int, float]] = []
        widths = self.sheet.column_widths()
        for index, column in zip(self.span, self.table.columns, strict=True):
            fill: int | None = None
            if column.input or column.output:
                fill = self.input_fill if column.input else self.output_fill
                if fill is None:
                    raise NotPatchable("our input/outcome fill is not in styles.xml yet")
                self.fill_columns.add(index)
            if column.wrap:
                self.wrapped.append((index, column.width or widths.get(index, DEFAULT_WIDTH)))
            if column.number_format or fill is not None or column.wrap:
                self.formats[index] = (column.number_format, fill, column.wrap)

    def _check_widths(self) -> None:
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

    def _check_header(self) -> None:
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
                or parts.alignment(style) != _norm(_HEADER_ALIGN)
            ):
                raise NotPatchable(f"header cell {get_column_letter(index)} is not styled yet")

    def _check_frame(self) -> None:
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

    def _check_strip(self) -> None:
        for cells, size in ((self.table.title_cells, 16), (self.table.label_cells, None)):
            for row, column in cells:
                style = self._cell_style(row, column)
                font = self.parts.font(style) if style is not None else b""
                if not re.search(rb"<(?:\w+:)?b\b", font):
                    raise NotPatchable("a title or label cell is not styled yet")
                if size is not None and not re.search(rb'<(?:\w+:)?sz val="%d"' % size, font):
                    raise NotPatchable("the title cell is not styled yet")

    def _check_paper(self) -> None:
        xml = self.sheet.xml
        tail = xml[self.sheet._data_end :]
        setup = re.search(rb"<(?:\w+:)?pageSetup\b([^>]*?)/?>", tail)
        a = attrs(setup.group(1)) if setup else {}
        if a.get("orientation") != "landscape" or a.get("paperSize") != str(layout.A4):
            raise NotPatchable("the page setup differs")
        if re.search(rb"<(?:\w+:)?rowBreaks\b[^>]*[^/]>", tail) or self.table.page_breaks:
            raise NotPatchable("page breaks")
        margins = re.search(rb"<(?:\w+:)?pageMargins\b([^>]*?)/?>", tail)
        found_margins = attrs(margins.group(1)) if margins else {}
        wanted = {
            "left": 0.4,
            "right": 0.4,
            "top": 0.6,
            "bottom": 0.6,
            "header": 0.25,
            "footer": 0.25,
        }
        if any(abs(float(found_margins.get(k, -1)) - v) > 1e-9 for k, v in wanted.items()):
            raise NotPatchable("the page margins differ")
        head = xml[: self.sheet._data_open.start()]
        fit_to_page = re.search(rb"<(?:\w+:)?pageSetUpPr\b([^>]*?)/?>", head)
        if (
            fit_to_page is None
            or _TRUE.get(attrs(fit_to_page.group(1)).get("fitToPage", "")) != "1"
        ):
            raise NotPatchable("the sheet is not fitted to pages")
        paper = layout.PAPER.get(self.name, layout.PAPER_DEFAULT)
        fit = (a.get("fitToWidth", "1"), a.get("fitToHeight", "1"))
        if self.table.print_scale is not None or fit != (
            str(paper.pages_wide),
            str(paper.pages_tall),
        ):
            raise NotPatchable("the page fitting differs")
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
        header_code = layout.header_footer_code(layout.page_header(self.channel), bold_centre=True)
        for tag, code in (
            ("oddHeader", header_code),
            ("oddFooter", layout.header_footer_code(layout.PAGE_FOOTER)),
        ):
            found = re.search(rb"<(?:\w+:)?" + tag.encode() + rb">(.*?)</", tail, re.S)
            if found is None or _hf(unescape(found.group(1))) != _hf(code):
                raise NotPatchable("the page header or footer differs")

    # -- made at save --------------------------------------------------------------------------

    def fit_rows(self, rows: Sequence[int], values: list[list[Any]]) -> None:
        """The lines each of ``rows`` (rows written) needs for its wrapped text."""
        for row in rows:
            if not self.top <= row <= self.format_bottom or not self.wrapped:
                continue
            line = values[row - 1] if row <= len(values) else []
            lines = 1
            for column, width in self.wrapped:
                if column <= len(line):
                    lines = max(lines, wrapped_lines(line[column - 1], width))
            self.tall[row] = lines

    def rows_to_fit(self, values: list[list[Any]]) -> set[int]:
        """Rows of the formatted range whose height may be wrong though none of their values
        changes: a wrapped text longer than a line, or one of our heights (rows a person
        sorted carry their texts away from the heights made for them; openpyxl sizes every
        row of the range again)."""
        if not self.wrapped:
            return set()
        found: set[int] = set()
        low, high = self.top, min(self.format_bottom, len(values))
        for column, width in self.wrapped:
            per_line = max(1, int(width * 1.1))  # as ``wrapped_lines``: shorter is one line
            for row in range(low, high + 1):
                line = values[row - 1]
                if column <= len(line):
                    text = line[column - 1]
                    if isinstance(text, str) and (len(text) > per_line or "\n" in text):
                        found.add(row)
        p = self.sheet.p
        for m in re.finditer(rb"<" + p + rb"row\b([^>]*?\bht\s*=[^>]*)>", self.sheet.xml):
            a = attrs(m.group(1))
            number = a.get("r")
            if number is not None and f"{float(a['ht']):g}" in OUR_HEIGHTS:
                row = int(number)
                if self.top <= row <= self.format_bottom:
                    found.add(row)
        return found

    def fit(self, row: int, a: dict[str, str]) -> None:
        """A written row's height, as ``xlsx_format._fit_row_heights`` leaves it."""
        lines = self.tall.get(row)
        if lines is None:
            return
        if lines > 1:
            a["ht"] = f"{LINE_HEIGHT * min(lines, MAX_WRAPPED_LINES):g}"
            a["customHeight"] = "1"
        elif a.get("ht") is not None and f"{float(a['ht']):g}" in OUR_HEIGHTS:
            a.pop("ht")
            a.pop("customHeight", None)

    def target(self, style: int, row: int, column: int) -> int:
        """The style ``format_sheet_table`` leaves a cell of this style with."""
        style = self.column_target(style, self._zone(row), column)
        if row in self._single_rows:
            for (r, c), code in self.table.cell_formats:
                if (r, c) == (row, column):
                    style = self.styles.with_format(style, code)
        parts = self.parts
        if self.tall.get(row, 1) > 1 and column in self.span and not parts.alignment(style):
            style = parts.with_alignment(style, _TOP)  # xlsx_format._align_top
        return style

    def _zone(self, row: int) -> int:
        """-1 above the data, 0 a data row, 1 a spare row, 2 below."""
        if row < self.top:
            return -1
        return 0 if row <= self.data_bottom else 1 if row <= self.format_bottom else 2

    def column_target(self, style: int, zone: int, column: int) -> int:
        """``target`` for what a column's format does in a stretch of rows (memoised: a whole
        table's cells share a few dozen answers)."""
        key = (style, zone, column)
        found = self._targets.get(key)
        if found is not None:
            return found
        parts, styles = self.parts, self.styles
        spec = self.formats.get(column)
        if spec is not None and zone >= 0:
            code, fill, wrap = spec
            if zone < 2:
                if code:
                    style = styles.with_format(style, code)
                if wrap:
                    style = parts.with_alignment(style, _norm(_WRAP))
            if fill is not None:
                current = parts.fill_id(style)
                if zone == 0:
                    if current == 0 or current in self.our_fills:
                        style = parts.with_fill(style, fill)
                elif current in self.our_fills:
                    style = parts.with_fill(style, 0)
        self._targets[key] = style
        return style

    def blank(self, row: int, column: int) -> int | None:
        """The style of a cell ``format_sheet_table`` creates (None: it creates none there)."""
        if (row, column) in dict(self.table.cell_formats):
            return self.target(0, row, column)
        spec = self.formats.get(column)
        if spec is None or not self.top <= row <= self.format_bottom:
            return None
        code, fill, wrap = spec
        style = self.styles.with_format(0, code) if code else 0
        if wrap:
            style = self.parts.with_alignment(style, _norm(_WRAP))
        if fill is not None and row <= self.data_bottom:
            style = self.parts.with_fill(style, fill)
        if self.tall.get(row, 1) > 1 and not self.parts.alignment(style):
            style = self.parts.with_alignment(style, _TOP)
        return style

    def rows_to_visit(self) -> dict[int, set[int]]:
        """Row -> the columns whose cells may change or be created.

        The sheet's cells are tallied by (column, style) in three stretches of rows (data,
        spare, below); only a pair whose style would change, or a column with fewer cells than
        rows, is looked up row by row. A table formatted before has neither: 50,000 rows cost
        one scan in C, not a Python loop per cell. A cell the tally's pattern does not read
        (attributes in another order) only makes its row visited, where its real XML decides.
        """
        found: dict[int, set[int]] = {}
        letters = {get_column_letter(c): c for c in self.formats}
        zones = self._zones()
        for zone, (start, end, low, high) in enumerate(zones):
            xml = self.sheet.xml[start:end]
            tally = Counter(self._pairs.findall(xml))
            for (letter, s), _count in tally.items():
                column = letters.get(letter.decode())
                if column is None or (zone == 2 and column not in self.fill_columns):
                    continue
                style = int(s) if s else 0
                if self.column_target(style, zone, column) != style:
                    for row in self._rows_of(xml, letter, s):
                        found.setdefault(row, set()).add(column)
            if zone == 2:
                continue
            for letter, column in letters.items():
                count = sum(n for (a, _s), n in tally.items() if a == letter.encode())
                if count < high - low + 1:
                    present = set(self._rows_of(xml, letter.encode(), None))
                    for row in range(low, high + 1):
                        if row not in present:
                            found.setdefault(row, set()).add(column)
        for row, lines in self.tall.items():
            if lines > 1:
                found.setdefault(row, set()).update(self.span)
        for (row, column), _code in self.table.cell_formats:
            found.setdefault(row, set()).add(column)
        return found

    @cached_property
    def _pairs(self) -> re.Pattern[bytes]:
        return re.compile(rb"<" + self.sheet.p + rb'c\s+r="([A-Z]{1,3})\d+"(?:\s+s="(\d+)")?')

    def _rows_of(self, xml: bytes, letter: bytes, s: bytes | None) -> list[int]:
        """The rows of ``xml`` with a cell in column ``letter`` (of style ``s`` as tallied)."""
        head = rb"<" + self.sheet.p + rb'c\s+r="' + letter + rb'(\d+)"'
        if s is None:
            pattern = head
        elif s:
            pattern = head + rb'\s+s="' + s + rb'"'
        else:
            pattern = head + rb'(?!\s+s=")'
        return [int(n) for n in re.findall(pattern, xml)]

    def _zones(self) -> list[tuple[int, int, int, int]]:
        """(start, end) in the XML and (first, last) row of the data rows, the spare rows and
        the rows below."""
        sheet = self.sheet

        def at(row: int) -> int:
            found = sheet._locate(row, sheet._data_open.end())
            return found[1] if found is not None else sheet._data_end

        if sheet._empty_data:
            return []
        top, data_end, format_end = (
            at(self.top),
            at(self.data_bottom + 1),
            at(self.format_bottom + 1),
        )
        return [
            (top, data_end, self.top, self.data_bottom),
            (data_end, format_end, self.data_bottom + 1, self.format_bottom),
            (format_end, sheet._data_end, self.format_bottom + 1, self.format_bottom + 1),
        ]

    def outside_edits(self) -> list[Edit]:
        """The dropdowns' and the grey rows' ranges (after ``sheetData``)."""
        return [*self._validation_edits(), *self._muted_edits()]

    def _validation_edits(self) -> list[Edit]:
        table, sheet = self.table, self.sheet
        block = re.compile(
            rb"<" + sheet.p + rb"dataValidation\b([^>]*?)(?:/>|>(.*?)</" + sheet.p
            + rb"dataValidation>)", re.S
        )  # fmt: skip
        found = list(block.finditer(sheet.xml, sheet._data_end))
        validated = [v.column for v in table.validations]
        ours = [m for m in found if self._replaced(attrs(m.group(1)), set(validated))]
        if [self._single_column(attrs(m.group(1))) for m in ours] != validated:
            raise NotPatchable("the dropdowns are not ours as we left them")
        if ours and found[-len(ours) :] != ours:
            raise NotPatchable("other dropdowns after ours")
        if self.format_bottom < self.top:
            raise NotPatchable("a table format without rows")
        edits: list[Edit] = []
        for m, column in zip(ours, validated, strict=True):
            a = attrs(m.group(1))
            if a.get("errorTitle") != VALIDATION_TAG:
                raise NotPatchable("a dropdown not tagged as ours")
            letter = get_column_letter(column)
            want = f"{letter}{self.top}:{letter}{self.format_bottom}"
            if a["sqref"] != want:
                ref = re.search(rb'\ssqref="([^"]*)"', b" " + m.group(1))
                assert ref is not None
                start = m.start(1) + ref.start(1) - 1
                edits.append((start, start + len(ref.group(1)), want.encode()))
        return edits

    def _single_column(self, a: dict[str, str]) -> int | None:
        ref = a.get("sqref", "")
        m = re.fullmatch(r"([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)", ref)
        if m is None or m.group(1) != m.group(3) or int(m.group(2)) != self.top:
            return None
        return column_index_from_string(m.group(1))

    def _replaced(self, a: dict[str, str], validated: set[int]) -> bool:
        """``xlsx_validation._replaced`` on the raw attributes."""
        ranges = []
        for part in a.get("sqref", "").split():
            m = re.fullmatch(r"([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?", part)
            if m is None:
                raise NotPatchable("an unexpected dropdown range")
            low = column_index_from_string(m.group(1))
            high = column_index_from_string(m.group(3) or m.group(1))
            ranges.append((int(m.group(2)), low, high))
        if not ranges or not all(r[0] > self.table.header_row for r in ranges):
            return False
        span = set(self.span) | validated
        if a.get("errorTitle") == VALIDATION_TAG:
            return all(low in span and high in span for _, low, high in ranges)
        return all(low == high and low in validated for _, low, high in ranges)

    def _muted_edits(self) -> list[Edit]:
        table, sheet = self.table, self.sheet
        block = re.compile(
            rb"<" + sheet.p + rb'conditionalFormatting\b[^>]*?\ssqref="([^"]*)"[^>]*>(.*?)</'
            + sheet.p + rb"conditionalFormatting>", re.S
        )  # fmt: skip
        found = list(block.finditer(sheet.xml, sheet._data_end))
        muted = [m for m in found if self._is_muted(m.group(2))]
        if table.muted is None:
            if muted:
                raise NotPatchable("grey rows to remove")
            return []
        if len(muted) != 1 or found[-1] is not muted[0] or muted[0].group(2).count(b"<") > 6:
            raise NotPatchable("the grey rows' format is not as we left it")
        m = muted[0]
        text = table.muted.text.replace('"', '""')
        formula = f'${get_column_letter(table.muted.column)}{self.top}="{text}"'
        body = re.search(rb"<(?:\w+:)?formula>(.*?)</(?:\w+:)?formula>", m.group(2), re.S)
        if body is None or _unescaped(body.group(1)) != formula:
            raise NotPatchable("the grey rows' rule differs")
        first = get_column_letter(table.first_column)
        last = get_column_letter(self.span[-1])
        want = f"{first}{self.top}:{last}{self.format_bottom}".encode()
        return [] if m.group(1) == want else [(m.start(1), m.end(1), want)]

    def _is_muted(self, rules: bytes) -> bool:
        """A rule with our grey font (``xlsx_format._is_muted_rule``)."""
        found = re.search(rb'\sdxfId="(\d+)"', rules)
        if found is None or b'type="expression"' not in rules:
            return False
        dxfs = _children(self.styles.xml, self.styles.p, b"dxfs", b"dxf")
        index = int(found.group(1))
        if index >= len(dxfs):
            return False
        color = re.search(rb'<(?:\w+:)?color\b[^>]*?rgb="([0-9A-Fa-f]+)"', dxfs[index])
        return color is not None and color.group(1).upper().endswith(layout.MUTED_FONT.encode())


def _hf(code: str) -> str:
    """A header/footer code without the space openpyxl writes after a font size."""
    return re.sub(r"(&\d+) ", r"\1", code)


def channel_of(settings: list[list[Any]]) -> str:
    """The Channel on ``Ayarlar``, as ``xlsx_paper._channel`` reads it for the page header."""
    for row in settings[:20]:
        if len(row) >= 2 and row[0] == layout.SETTING_CHANNEL and isinstance(row[1], str):
            return clean_text(row[1]).strip()[:60]
    return ""


def _unescaped(raw: bytes) -> str:
    return unescape(raw)


__all__ = ["OUR_HEIGHTS", "StyleParts", "TableReformat", "channel_of"]

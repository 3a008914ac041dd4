"""A table format applied again to a sheet that already carries it (``fetch``'s refresh): the
same result ``xlsx_format.format_sheet_table`` gives, made as byte edits.

What stays the same from one refresh to the next is *checked* first (``table_checks``); any
difference raises ``NotPatchable`` and the save goes through openpyxl. What moves with the row
count is made: each cell's number format, alignment and fill over the data and spare rows (our
fill dropped below the data), missing cells of the formatted range created, wrapped rows sized
(and a row sized by us earlier given its height back), the dropdowns' and the grey rows' ranges.
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
from .style_parts import StyleParts, children, norm_flags
from .styles import Styles
from .table_checks import KeptFormat
from .workbook_xml import WorkbookXml
from .xmlbits import attrs, unescape

OUR_HEIGHTS = {f"{LINE_HEIGHT * n:g}" for n in range(2, MAX_WRAPPED_LINES + 1)}
_WRAP = {"wrapText": "1", "vertical": "top"}  # xlsx_format.WRAP_ALIGNMENT
_TOP = {"vertical": "top"}  # xlsx_format.TOP_ALIGNMENT


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
        KeptFormat(styles, self.parts, book, name, sheet, table, channel).check()
        self._find_fills()
        self._columns()

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
                    style = parts.with_alignment(style, norm_flags(_WRAP))
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
            style = self.parts.with_alignment(style, norm_flags(_WRAP))
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
        for zone, (start, end, low, high) in enumerate(self._zones()):
            xml = self.sheet.xml[start:end]
            tally = Counter(self._pairs.findall(xml))
            self._restyled(found, xml, zone, tally, letters)
            if zone != 2:
                self._missing(found, xml, tally, letters, range(low, high + 1))
        for row, lines in self.tall.items():
            if lines > 1:
                found.setdefault(row, set()).update(self.span)
        for (row, column), _code in self.table.cell_formats:
            found.setdefault(row, set()).add(column)
        return found

    def _restyled(
        self,
        found: dict[int, set[int]],
        xml: bytes,
        zone: int,
        tally: Counter[tuple[bytes, bytes]],
        letters: dict[str, int],
    ) -> None:
        """Adds the cells of ``zone`` whose style would change."""
        for letter, s in tally:
            column = letters.get(letter.decode())
            if column is None or (zone == 2 and column not in self.fill_columns):
                continue
            style = int(s) if s else 0
            if self.column_target(style, zone, column) != style:
                for row in self._rows_of(xml, letter, s):
                    found.setdefault(row, set()).add(column)

    def _missing(
        self,
        found: dict[int, set[int]],
        xml: bytes,
        tally: Counter[tuple[bytes, bytes]],
        letters: dict[str, int],
        rows: range,
    ) -> None:
        """Adds the cells of ``rows`` a formatted column lacks (they are created)."""
        for letter, column in letters.items():
            count = sum(n for (a, _s), n in tally.items() if a == letter.encode())
            if count < len(rows):
                present = set(self._rows_of(xml, letter.encode(), None))
                for row in rows:
                    if row not in present:
                        found.setdefault(row, set()).add(column)

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
        dxfs = children(self.styles.xml, self.styles.p, b"dxfs", b"dxf")
        index = int(found.group(1))
        if index >= len(dxfs):
            return False
        color = re.search(rb'<(?:\w+:)?color\b[^>]*?rgb="([0-9A-Fa-f]+)"', dxfs[index])
        return color is not None and color.group(1).upper().endswith(layout.MUTED_FONT.encode())


def channel_of(settings: list[list[Any]]) -> str:
    """The Channel on ``Ayarlar``, as ``xlsx_paper._channel`` reads it for the page header."""
    for row in settings[:20]:
        if len(row) >= 2 and row[0] == layout.SETTING_CHANNEL and isinstance(row[1], str):
            return clean_text(row[1]).strip()[:60]
    return ""


def _unescaped(raw: bytes) -> str:
    return unescape(raw)


__all__ = ["OUR_HEIGHTS", "TableReformat", "channel_of"]

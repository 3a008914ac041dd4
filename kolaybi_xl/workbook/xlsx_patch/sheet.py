"""A worksheet part scanned as bytes: its rows found by number, touched rows rebuilt cell by
cell (untouched cells keep their exact XML), missing rows and cells inserted in order, and the
``dimension`` and ``autoFilter`` refs moved. Everything outside the touched rows is copied."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from openpyxl.utils.cell import column_index_from_string, get_column_letter

from .errors import NotPatchable
from .xmlbits import attrs, main_prefix, render_attrs

_REF = re.compile(r"([A-Z]{1,3})(\d+)")
_STYLE = re.compile(rb"""\ss\s*=\s*(?:"(\d*)"|'(\d*)')""")
_HAS_STYLE = re.compile(rb"\ss\s*=")
_CELL_REF = re.compile(rb"""\sr\s*=\s*["']\$?([A-Z]{1,3})\$?\d+["']""")


def split_ref(ref: str) -> tuple[int, int]:
    """``"B7"`` -> (7, 2)."""
    match = _REF.fullmatch(ref)
    if match is None:
        raise NotPatchable(f"unexpected cell reference {ref!r}")
    return int(match.group(2)), column_index_from_string(match.group(1))


@dataclass
class Cell:
    column: int
    xml: bytes
    head: bytes  # the inside of its start tag, parsed only when needed

    @cached_property
    def attributes(self) -> dict[str, str]:
        return attrs(self.head)  # of the original start tag: read once

    @cached_property
    def style(self) -> int:
        # The plain ``s="12"`` of every writer read directly (2,000 rows: 10,000 cells);
        # anything else through the full attribute parse.
        plain = _STYLE.search(self.head)
        if plain is not None:
            return int(plain.group(1) or plain.group(2) or 0)
        if _HAS_STYLE.search(self.head) is None:
            return 0
        return int(self.attributes.get("s", "0") or 0)

    def has_formula(self, p: bytes) -> bool:
        return b"<" + p + b"f" in self.xml


Edit = tuple[int, int, bytes]  # bytes start..end of the original XML replaced by new bytes

# What a caller gives for one cell: called with the cell's current XML (None if absent), its
# row and column; returns the new XML, or None to leave the cell as it is.
CellPatch = Callable[[Cell | None, int, int], bytes | None]


class Sheet:
    def __init__(self, xml: bytes) -> None:
        self.xml = xml
        self.p = p = main_prefix(xml, b"worksheet")
        data = re.search(rb"<" + p + rb"sheetData\b[^>]*?(/?)>", xml)
        if data is None:
            raise NotPatchable("worksheet without sheetData")
        self._empty_data = bool(data.group(1))
        self._data_open = data
        if self._empty_data:
            self._data_end = data.end()
        else:
            close = xml.find(b"</" + p + b"sheetData>", data.end())
            if close < 0:
                raise NotPatchable("unclosed sheetData")
            self._data_end = close
        self._row_tag = re.compile(rb"<" + p + rb"row\b([^>]*?)(/?)>")
        self._cell_tag = re.compile(rb"<" + p + rb"c\b([^>]*?)(?:/>|>(.*?)</" + p + rb"c>)", re.S)
        self._row_number = re.compile(rb'\sr\s*=\s*["\'](\d+)')
        self._fit: Callable[[int, dict[str, str]], None] | None = None

    def check(self) -> None:
        """Refuse now what ``patch`` could not handle (rows or cells without their reference)."""
        first = self._row_tag.search(self.xml, self._data_open.end(), self._data_end)
        if first is not None and "r" not in attrs(first.group(1)):
            raise NotPatchable("rows without their number (r)")
        cell = self._cell_tag.search(self.xml, self._data_open.end(), self._data_end)
        if cell is not None and "r" not in attrs(cell.group(1)):
            raise NotPatchable("cells without their reference (r)")

    def _row_from(self, pos: int) -> tuple[int, int, int, int] | None:
        """The first row whose start tag begins at or after ``pos``: (number, start, end of the
        start tag, end of the row)."""
        match = self._row_tag.search(self.xml, pos, self._data_end)
        if match is None:
            return None
        found = self._row_number.search(b" " + match.group(1))
        if found is None:
            raise NotPatchable("a row without its number (r)")
        if match.group(2):
            end = match.end()
        else:
            close = b"</" + self.p + b"row>"
            end = self.xml.find(close, match.end(), self._data_end)
            if end < 0:
                raise NotPatchable("unclosed row")
            end += len(close)
        return int(found.group(1)), match.start(), match.end(), end

    def _locate(self, row: int, low: int) -> tuple[int, int, int, int] | None:
        """The first row numbered ``row`` or more, its start tag at or after ``low``: a
        bisection over the bytes (rows are in order), so a 50 MB sheet is not walked. The row
        right at ``low`` is tried first: patching every row in order finds each at once."""
        first = self._row_from(low)
        if first is None or first[0] >= row:
            return first
        high = self._data_end
        low = first[3]
        while low < high:
            middle = (low + high) // 2
            found = self._row_from(middle)
            if found is None or found[0] >= row:
                high = middle
            else:
                low = found[3]
        return self._row_from(low)

    @property
    def data_span(self) -> tuple[int, int]:
        """Where the rows are: from the end of the ``sheetData`` start tag to its end tag."""
        return self._data_open.end(), self._data_end

    @property
    def data_head(self) -> bytes:
        """The part's XML up to and including the ``sheetData`` start tag."""
        return self.xml[: self._data_open.end()]

    def find_row(self, row: int, low: int) -> tuple[int, int, int, int] | None:
        """The first row numbered ``row`` or more, its start tag at or after ``low``: (number,
        start, end of the start tag, end of the row)."""
        return self._locate(row, low)

    def row_holding(self, position: int) -> int | None:
        """The number of the row whose XML holds the byte at ``position`` (in ``sheetData``)."""
        start = self.xml.rfind(b"<" + self.p + b"row", self._data_open.end(), position + 1)
        while start >= 0:
            found = self._row_from(start)
            if found is not None and found[1] <= position < found[3]:
                return found[0]
            if found is not None and found[1] == start:
                return None  # the row tag before ``position`` ends before it
            start = self.xml.rfind(b"<" + self.p + b"row", self._data_open.end(), start)
        return None

    def last_row(self) -> int:
        start = self.xml.rfind(b"<" + self.p + b"row", self._data_open.end(), self._data_end)
        while start >= 0:
            found = self._row_from(start)
            if found is not None:
                return found[0]
            start = self.xml.rfind(b"<" + self.p + b"row", self._data_open.end(), start)
        return 0

    def row_style(self, row: int) -> int | None:
        """The style of a row formatted as a whole (``customFormat``), else None."""
        found = self._locate(row, self._data_open.end())
        if found is not None and found[0] == row:
            a = attrs(self.xml[found[1] : found[2]])
            if a.get("customFormat") in ("1", "true") and "s" in a:
                return int(a["s"])
        return None

    def _columns(self, attribute: str) -> dict[int, str]:
        """Column -> the value of ``attribute`` on its ``<col>`` (``style``, ``width``)."""
        found: dict[int, str] = {}
        cols = re.search(rb"<" + self.p + rb"cols>(.*?)</" + self.p + rb"cols>", self.xml, re.S)
        if cols is None:
            return found
        for m in re.finditer(rb"<" + self.p + rb"col\b([^>]*?)/?>", cols.group(1)):
            a = attrs(m.group(1))
            if attribute in a and "min" in a and "max" in a:
                for column in range(int(a["min"]), min(int(a["max"]), 16384) + 1):
                    found[column] = a[attribute]
        return found

    def column_styles(self) -> dict[int, int]:
        return {column: int(style) for column, style in self._columns("style").items()}

    def column_widths(self) -> dict[int, float]:
        return {column: float(width) for column, width in self._columns("width").items()}

    def cells_of(self, row_xml: bytes) -> list[Cell]:
        cells = []
        for m in self._cell_tag.finditer(row_xml):
            ref = _CELL_REF.search(b" " + m.group(1))
            if ref is None:
                raise NotPatchable("a cell without its reference (r)")
            column = column_index_from_string(ref.group(1).decode())
            cells.append(Cell(column, m.group(0), m.group(1)))
        return cells

    def edits(
        self,
        rows: dict[int, dict[int, CellPatch]],
        height: Callable[[int], float | None] = lambda row: None,
        fit: Callable[[int, dict[str, str]], None] | None = None,
    ) -> tuple[list[Edit], tuple[int, int]]:
        """The changes ``rows`` (row -> column -> patch) make, as (start, end, new bytes) of the
        original XML in order; and the bottom-right corner of the rows written ((0, 0): none).
        ``height(row)``, asked once the row's cells are patched: the height it needs at least;
        ``fit(row, attributes)`` then may set or drop a patched row's height exactly."""
        self._fit = fit
        edits: list[Edit] = []
        pos = self._data_open.end() if not self._empty_data else self._data_end
        inserted: list[bytes] = []
        corner = (0, 0)
        for row in sorted(rows):
            found = None if self._empty_data else self._locate(row, pos)
            made = self._row_edit(row, found, rows[row], height)
            if made is None:
                continue
            edit, right = made
            if self._empty_data:
                inserted.append(edit[2])
            else:
                edits.append(edit)
                pos = edit[1]
            corner = (max(corner[0], row), max(corner[1], right))
        if inserted:
            edits.append(self._filled_data(inserted))
        return edits, corner

    def _row_edit(
        self,
        row: int,
        found: tuple[int, int, int, int] | None,
        patches: dict[int, CellPatch],
        height: Callable[[int], float | None],
    ) -> tuple[Edit, int] | None:
        """The edit that patches ``row`` (``found``: the first row at or after it), and the
        row's last column; None if nothing changes."""
        if found is not None and found[0] == row:
            _, start, tag_end, end = found
            tag = self.xml[start:tag_end]
            close = len(self.p) + 6  # </row>
            body = self.xml[tag_end : end - close] if not tag.endswith(b"/>") else b""
            new = self._patch_row(row, tag, body, patches, height)
            return None if new is None else ((start, end, new[0]), new[1])
        new = self._patch_row(row, None, b"", patches, height)
        if new is None:
            return None
        at = found[1] if found is not None else self._data_end  # a new row goes before it
        return (at, at, new[0]), new[1]

    def _filled_data(self, inserted: list[bytes]) -> Edit:
        """An empty ``<sheetData/>`` replaced by one holding the ``inserted`` rows."""
        opening = self._data_open.group(0)[:-2] + b">"
        block = opening + b"".join(inserted) + b"</" + self.p + b"sheetData>"
        return self._data_open.start(), self._data_open.end(), block

    def apply(self, edits: list[Edit]) -> bytes:
        """The XML with ``edits`` (in order, not overlapping) made."""
        pieces: list[bytes] = []
        pos = 0
        for start, end, new in edits:
            pieces.append(self.xml[pos:start])
            pieces.append(new)
            pos = end
        pieces.append(self.xml[pos:])
        return b"".join(pieces)

    def _patch_row(
        self,
        row: int,
        tag: bytes | None,
        body: bytes,
        patches: dict[int, CellPatch],
        height: Callable[[int], float | None],
    ) -> tuple[bytes, int] | None:
        """The row rebuilt with ``patches`` made, and its last column; None if none changed."""
        cells = self._patched_cells(row, body, patches)
        if cells is None:
            return self._refitted(row, tag, body, height)
        head = self._row_head(row, tag, cells, height)
        content = b"".join(c.xml for c in cells)
        right = max((c.column for c in cells), default=0)
        return head + b">" + content + b"</" + self.p + b"row>", right

    def _refitted(
        self, row: int, tag: bytes | None, body: bytes, height: Callable[[int], float | None]
    ) -> tuple[bytes, int] | None:
        """A row none of whose cells changes, rebuilt when ``fit`` changes its height (its
        text was sorted away from the height made for it); None if it keeps its height."""
        if tag is None or self._fit is None:
            return None
        cells = self.cells_of(body) if body else []
        head = self._row_head(row, tag, cells, height)
        start = len(self.p) + 4

        def size(a: dict[str, str]) -> tuple[str | None, str | None]:
            return a.get("ht"), a.get("customHeight")

        if size(attrs(head[start:])) == size(attrs(tag[start:-1].rstrip(b"/"))):
            return None
        content = b"".join(c.xml for c in cells)
        right = max((c.column for c in cells), default=0)
        return head + b">" + content + b"</" + self.p + b"row>", right

    def _patched_cells(
        self, row: int, body: bytes, patches: dict[int, CellPatch]
    ) -> list[Cell] | None:
        """The row's cells in column order with ``patches`` made; None if none changed."""
        cells = self.cells_of(body) if body else []
        if body and self._cell_tag.sub(b"", body).strip():
            raise NotPatchable(f"row {row} holds more than cells")
        by_column = {c.column: c for c in cells}
        if not _apply_patches(by_column, row, patches):
            return None
        return [by_column[c] for c in sorted(by_column)]

    def _row_head(
        self,
        row: int,
        tag: bytes | None,
        cells: list[Cell],
        height: Callable[[int], float | None],
    ) -> bytes:
        """The row's start tag (unclosed): its ``spans`` and height fitted to ``cells``."""
        p = self.p
        if tag is None:
            a: dict[str, str] = {"r": str(row)}
        else:
            a = attrs(tag[len(p) + 4 : -1].rstrip(b"/"))
        if "spans" in a and cells:
            a["spans"] = f"{cells[0].column}:{cells[-1].column}"
        needed = height(row)
        if needed is not None and float(a.get("ht") or 0) < needed:
            a["ht"] = f"{needed:g}"  # files are not re-flowed on opening: size it now
            a["customHeight"] = "1"
        if self._fit is not None:
            self._fit(row, a)
        return b"<" + p + b"row" + render_attrs(a)

    # -- refs outside sheetData ---------------------------------------------------------------

    def dimension_edit(self, corner: tuple[int, int]) -> Edit | None:
        """``<dimension ref>`` grown to include ``corner`` (row, column)."""
        # The dimension comes before sheetData: never scan a big sheet's rows for it.
        head = self.xml[: self._data_open.start()]
        found = re.search(rb"<" + self.p + rb'dimension\b[^>]*?\bref="([^"]*)"', head)
        if found is None:
            return None
        ref = found.group(1).decode()
        first, _, last = ref.partition(":")
        last = last or first
        try:
            row, column = split_ref(last.replace("$", ""))
        except NotPatchable:
            return None
        row, column = max(row, corner[0]), max(column, corner[1])
        new = f"{first}:{get_column_letter(column)}{row}".encode()
        return found.start(1), found.end(1), new

    def _autofilter(self) -> re.Match[bytes] | None:
        tail = re.compile(rb"<" + self.p + rb'autoFilter\b[^>]*?\bref="([^"]*)"')
        return tail.search(self.xml, self._data_end)

    def autofilter_ref(self) -> str | None:
        found = self._autofilter()
        return found.group(1).decode() if found else None

    def autofilter_edit(self, ref: str) -> Edit:
        found = self._autofilter()
        if found is None:
            raise NotPatchable("no autoFilter to move")
        return found.start(1), found.end(1), ref.encode()


def _apply_patches(by_column: dict[int, Cell], row: int, patches: dict[int, CellPatch]) -> bool:
    """Make ``patches`` on a row's cells (column -> cell, new cells added); whether any did."""
    changed = False
    for column, patch in patches.items():
        cell = by_column.get(column)
        new = patch(cell, row, column)
        if new is None:
            continue
        changed = True
        if cell is not None:
            cell.xml = new
        else:
            by_column[column] = Cell(column, new, b"")
    return changed

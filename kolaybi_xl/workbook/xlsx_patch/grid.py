"""``PatchGrid``: the grid on a workbook file that changes only what it must.

The file is read once; its bytes are both the source of the values (python-calamine) and the
"unchanged" snapshot. Writes are recorded; ``save`` rewrites only the rows that really change
(a value written back unchanged touches nothing), adds styles only when no identical one
exists, and copies every other zip member byte for byte. What it cannot do that way it does
through openpyxl, by replaying the recorded calls on a ``FileGrid`` loaded from the same bytes,
so the result is always what ``FileGrid`` would have saved for those cells.

``PatchGrid.open`` decides up front (before any API call) whether a file qualifies and raises
``NotPatchable`` otherwise; the caller then opens it with ``FileGrid`` (which also gives the
user-facing errors for locked, damaged or unsupported files).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from openpyxl.utils.cell import get_column_letter, range_boundaries

from .. import layout
from ..cell_values import cell_value
from ..cells import looks_like_formula
from ..grid import BarChart, CellValue, TableFormat
from ..xlsx_errors import WorkbookError, check_suffix, merged_error
from ..xlsx_file import FileGrid
from ..xlsx_format import DEFAULT_WIDTH, LINE_HEIGHT, MAX_WRAPPED_LINES, wrapped_lines
from ..xlsx_load import Snapshot, check_expansion, load, read_with_snapshot, sniff
from ..xlsx_locks import find_lock, writer_lock
from .container import Package
from .errors import NotPatchable
from .render import EMPTY, TEXT, cell_content, render_cell
from .sheet import Cell, CellPatch, Edit, Sheet
from .styles import Styles
from .values import open_book, read_values, trimmed
from .workbook_xml import WorkbookXml

log = logging.getLogger(__name__)

STYLES = "xl/styles.xml"
CONTENT_TYPES = "[Content_Types].xml"
MAX_ROW, MAX_COLUMN = 1_048_576, 16_384


class _Cleared:
    """A cell emptied by ``clear``: its value goes, its style stays (as in ``FileGrid``)."""


CLEARED = _Cleared()


class _BytesSave(FileGrid):
    """``FileGrid``'s save (lock-file and read-only checks, the "changed by another program"
    check, temporary file, fsync, replace) for bytes made here."""

    def __init__(self, path: Path, snapshot: Snapshot) -> None:
        super().__init__(path, None, snapshot)
        self.data = b""

    def _serialise(self) -> bytes:
        return self.data


class PatchGrid:
    live = False  # only this process changes its cells (see ``grid.is_live``)

    def __init__(
        self,
        path: Path,
        data: bytes,
        snapshot: Snapshot,
        on_progress: Callable[[str], None] | None,
    ) -> None:
        self.path = path
        self._on_progress = on_progress
        self._saver = _BytesSave(path, snapshot)
        self._load(data)

    def _load(self, data: bytes) -> None:
        self._data = data
        self._package = Package(data)
        self._book = WorkbookXml(self._package)
        self._styles = Styles(self._package.read(STYLES))
        self._calamine = open_book(data)
        self._names = self._book.sheet_names()
        self._sheets: dict[str, Sheet] = {}
        self._values: dict[str, list[list[Any]]] = {}
        self._merged: dict[str, set[tuple[int, int]]] = {}
        self._writes: dict[str, dict[tuple[int, int], Any]] = {}
        self._before: dict[str, dict[tuple[int, int], Any]] = {}
        self._formats: dict[str, TableFormat] = {}
        self._ops: list[tuple[str, tuple[Any, ...]]] = []  # every change, for a replay
        self._replay_reason: str | None = None

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        for_writing: bool = True,
        formatted: Sequence[str] = (),
        on_progress: Callable[[str], None] | None = None,
    ) -> PatchGrid:
        """The grid on an existing ``path`` if this backend handles it, else ``NotPatchable``
        (also for anything ``FileGrid.open`` would refuse: it then says why to the user).

        ``formatted``: sheets that must already carry their table format (header, autofilter),
        because only extending it is done here (collect appends to the log sheet).
        """
        target = Path(path)
        try:
            check_suffix(target)
            if not target.is_file():
                raise NotPatchable("not an existing file")
            if for_writing and find_lock(target) is not None:
                raise NotPatchable("open in a spreadsheet program")
        except WorkbookError as exc:
            raise NotPatchable(exc.reason) from None
        # The workbook's writer lock, held from this read to the replace (released by save or
        # close), as FileGrid.open takes it; "busy" is the user's answer, not a fallback.
        held = writer_lock(target, None) if for_writing else None
        try:
            grid = cls._open_locked(target, for_writing, formatted, on_progress)
        except BaseException:
            if held is not None:
                held.close()
            raise
        grid._saver._writer_lock = held
        return grid

    @classmethod
    def _open_locked(
        cls,
        target: Path,
        for_writing: bool,
        formatted: Sequence[str],
        on_progress: Callable[[str], None] | None,
    ) -> PatchGrid:
        try:
            data, snapshot = read_with_snapshot(target)
            sniff(target, data)
        except WorkbookError as exc:
            raise NotPatchable(exc.reason) from None
        check_expansion(target, data)  # a zip bomb is refused before anything parses it
        try:
            grid = cls(target, data, snapshot, on_progress)
            for name in formatted:
                grid._check_formatted(name)
            for name in {layout.INVOICES, *formatted} & set(grid._names):
                if grid._book.sheet_part(name) is not None:
                    grid._sheet_xml(name).check()
        except NotPatchable:
            raise
        except Exception as exc:  # anything unexpected in the file: openpyxl's path decides
            raise NotPatchable(f"unexpected content: {type(exc).__name__}: {exc}") from None
        if for_writing:
            try:
                grid._saver.check_writable()
            except WorkbookError as exc:
                raise NotPatchable(exc.reason) from None
        return grid

    def _check_formatted(self, name: str) -> None:
        if name not in self._names:
            raise NotPatchable(f"no {name} sheet yet")
        sheet = self._sheet_xml(name)
        ref = sheet.autofilter_ref()
        if ref is None:
            raise NotPatchable(f"{name} has no table format yet")
        index = self._names.index(name)
        names = re.findall(rb"<(?:\w+:)?definedName\b([^>]*)>", self._book.xml)
        if not any(
            b'"_xlnm._FilterDatabase"' in n and b'localSheetId="%d"' % index in n for n in names
        ):
            raise NotPatchable(f"{name}: autofilter without its _FilterDatabase name")

    def __enter__(self) -> PatchGrid:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Forget the recorded changes (nothing is written without ``save``) and release the
        writer lock."""
        self._writes.clear()
        self._ops.clear()
        held, self._saver._writer_lock = self._saver._writer_lock, None
        if held is not None:
            held.close()

    # -- reading ------------------------------------------------------------------------------

    def _part(self, name: str) -> str:
        if name not in self._names:
            raise KeyError(name)
        part = self._book.sheet_part(name)
        if part is None or "/worksheets/" not in "/" + part:
            raise KeyError(name)  # a chart sheet, or a sheet created since (no part yet)
        return part

    def _sheet_xml(self, name: str) -> Sheet:
        if name not in self._sheets:
            self._sheets[name] = Sheet(self._package.read(self._part(name)))
        return self._sheets[name]

    def _grid(self, name: str) -> list[list[Any]]:
        if name not in self._values:
            if name not in self._names:
                raise KeyError(name)
            if self._book.sheet_part(name) is None:  # created by ensure_sheet
                self._values[name] = []
            else:
                sheet = self._sheet_xml(name)
                self._values[name] = read_values(self._calamine, name, sheet.xml, sheet.p)
        return self._values[name]

    def sheet_names(self) -> list[str]:
        return list(self._names)

    def read(self, sheet: str) -> list[list[Any]]:
        return trimmed(self._grid(sheet))

    # -- changing -----------------------------------------------------------------------------

    def _replay_needed(self, reason: str) -> None:
        if self._replay_reason is None:
            self._replay_reason = reason

    def ensure_sheet(self, name: str) -> bool:
        if name in self._names:
            return False
        self._ops.append(("ensure_sheet", (name,)))
        self._names.append(name)  # position aside: only the replay creates it
        self._replay_needed(f"a new sheet {name}")
        return True

    def _merged_cells(self, name: str) -> set[tuple[int, int]]:
        """Cells inside merged ranges, their top-left cells excepted."""
        if name not in self._merged:
            covered: set[tuple[int, int]] = set()
            if self._book.sheet_part(name) is not None:
                sheet = self._sheet_xml(name)
                tag = rb"<" + sheet.p + rb'mergeCell\b[^>]*?\bref="([^"]+)"'
                for m in re.finditer(tag, sheet.xml):
                    left, top, right, bottom = range_boundaries(m.group(1).decode())
                    for r in range(top or 1, (bottom or top or 1) + 1):
                        for c in range(left or 1, (right or left or 1) + 1):
                            if (r, c) != (top, left):
                                covered.add((r, c))
            self._merged[name] = covered
        return self._merged[name]

    def _set(self, sheet: str, row: int, column: int, value: Any, shown: Any) -> None:
        grid = self._grid(sheet)
        while len(grid) < row:
            grid.append([])
        line = grid[row - 1]
        if len(line) < column:
            line.extend([None] * (column - len(line)))
        self._before.setdefault(sheet, {}).setdefault((row, column), line[column - 1])
        self._writes.setdefault(sheet, {})[(row, column)] = value
        line[column - 1] = shown

    def write(self, sheet: str, top: int, left: int, rows: Sequence[Sequence[CellValue]]) -> None:
        self._grid(sheet)
        if top < 1 or left < 1 or top + len(rows) - 1 > MAX_ROW:
            raise ValueError(f"cells outside the sheet: row {top}, column {left}")
        merged = self._merged_cells(sheet)
        grid = self._grid(sheet)
        pending = self._writes.get(sheet, {})
        for r, values in enumerate(rows, start=top):
            if left + len(values) - 1 > MAX_COLUMN:
                raise ValueError(f"cells outside the sheet: row {r}")
            line = grid[r - 1] if r <= len(grid) else []
            for c, value in enumerate(values, start=left):
                if (r, c) in merged:
                    if value is None:
                        continue
                    raise merged_error(self.path, sheet, f"{get_column_letter(c)}{r}")
                shown = cell_value(value)
                # A value written back as it is read changes nothing: not even recorded, so a
                # block written over 10,000 rows to change 200 costs 200 rows at save. Text that
                # looks like a formula is always recorded (its cell must have the quote prefix).
                if (r, c) not in pending and not (type(value) is str and looks_like_formula(value)):
                    current = line[c - 1] if c <= len(line) else None
                    if type(current) is type(shown) and current == shown:
                        continue
                self._set(sheet, r, c, value, shown)
        self._ops.append(("write", (sheet, top, left, [list(v) for v in rows])))

    def clear(self, sheet: str, top: int, left: int, bottom: int, right: int) -> None:
        grid = self._grid(sheet)
        for r in range(top, min(bottom, len(grid)) + 1):
            line = grid[r - 1]
            for c in range(left, min(right, len(line)) + 1):
                if line[c - 1] is not None and (r, c) not in self._merged_cells(sheet):
                    self._set(sheet, r, c, CLEARED, None)
        self._ops.append(("clear", (sheet, top, left, bottom, right)))

    def format_table(self, sheet: str, table: TableFormat) -> None:
        """Extending a table format the sheet already has (more data rows) is done here;
        anything else (a first format, fills, dropdowns, titles) through openpyxl."""
        self._grid(sheet)
        self._ops.append(("format_table", (sheet, table)))
        if self._book.sheet_part(sheet) is None:
            self._replay_needed(f"formatting the new sheet {sheet}")
            return
        xml = self._sheet_xml(sheet)
        if xml.autofilter_ref() is None or not table.autofilter:
            self._replay_needed(f"a first table format on {sheet}")
        elif any(c.input or c.output for c in table.columns) or table.validations:
            self._replay_needed(f"fills or dropdowns on {sheet}")
        elif table.title_cells or table.label_cells or table.cell_formats:
            self._replay_needed(f"titles or labels on {sheet}")
        self._formats[sheet] = table

    def define_name(self, name: str, formula: str) -> None:
        self._ops.append(("define_name", (name, formula)))
        self._replay_needed("a defined name")

    def add_bar_chart(self, sheet: str, chart: BarChart) -> None:
        self._grid(sheet)
        self._ops.append(("add_bar_chart", (sheet, chart)))
        self._replay_needed("a chart")

    def progress(self, text: str) -> None:
        if self._on_progress is not None:
            self._on_progress(text)

    # -- saving -------------------------------------------------------------------------------

    def check_writable(self) -> None:
        self._saver.check_writable()

    def save(self) -> None:
        """Write the changes atomically (see ``FileGrid.save``); the original file is untouched
        if anything goes wrong, and so is a file another program changed meanwhile."""
        reason = self._replay_reason
        data: bytes | None = None
        if reason is None:
            try:
                data = self._patched()
            except NotPatchable as exc:
                reason = str(exc)
            except Exception as exc:  # a file this code did not foresee: openpyxl saves it
                log.warning("patching %s failed, saving through openpyxl", self.path.name)
                reason = f"{type(exc).__name__}: {exc}"
        if data is None:
            log.info("saving %s through openpyxl: %s", self.path.name, reason)
            self._replay()
        else:
            self._saver.data = data
            self._saver.save()
            self._saver.data = b""
        self._load(self.path.read_bytes() if data is None else data)

    def _replay(self) -> None:
        path = self.path
        workbook = load(path, self._data, keep_vba=path.suffix.lower() == ".xlsm")
        grid = FileGrid(path, workbook, self._saver._snapshot, self._on_progress)
        grid._writer_lock, self._saver._writer_lock = self._saver._writer_lock, None  # ours
        try:
            for name, args in self._ops:
                getattr(grid, name)(*args)
            grid.save()
            self._saver._snapshot = grid._snapshot
        finally:
            grid.close()

    def _patched(self) -> bytes:
        """The new package's bytes (raises ``NotPatchable`` for what needs openpyxl)."""
        replaced: dict[str, bytes] = {}
        removed: set[str] = set()
        styles = self._styles
        drop_calc_chain = False
        for sheet in self._names:
            writes = self._writes.get(sheet, {})
            table = self._formats.get(sheet)
            if not writes and table is None:
                continue
            part = self._part(sheet)
            source = self._sheet_xml(sheet)
            edits, calc = _SheetPatch(self, sheet, source, table).run(
                writes, self._before.get(sheet, {})
            )
            drop_calc_chain |= calc
            if not edits:
                continue
            replaced[part] = source.apply(edits)
        if styles.changed:
            replaced[STYLES] = styles.render()
        if self._book.changed:
            replaced[self._book.part] = self._book.xml
        if drop_calc_chain:
            removed |= self._drop_calc_chain(replaced)
        if not replaced and not removed:
            return self._data
        return self._package.rebuild(replaced, frozenset(removed))

    def _drop_calc_chain(self, replaced: dict[str, bytes]) -> set[str]:
        """A value now stands where a formula was: drop the calculation chain (Excel rebuilds
        it; openpyxl never keeps one) with its relationship and content type."""
        parts = {n for n in self._package.names() if n.lower().endswith("calcchain.xml")}
        if not parts:
            return set()
        rels_name = self._book.part.rsplit("/", 1)[0] + "/_rels/workbook.xml.rels"
        rels = self._package.read(rels_name)
        rels = re.sub(rb"<(?:\w+:)?Relationship\b[^>]*?/calcChain\"[^>]*/>", b"", rels)
        replaced[rels_name] = rels
        types = self._package.read(CONTENT_TYPES)
        types = re.sub(rb"<(?:\w+:)?Override\b[^>]*?calcChain[^>]*/>", b"", types)
        replaced[CONTENT_TYPES] = types
        return parts


class _SheetPatch:
    """The changes of one sheet: recorded writes, and a table format extended downwards."""

    def __init__(self, grid: PatchGrid, name: str, sheet: Sheet, table: TableFormat | None):
        self.grid = grid
        self.name = name
        self.sheet = sheet
        self.table = table
        self.styles = grid._styles
        self.epoch = grid._book.epoch
        self.calc_chain = False
        self._column_styles: dict[int, int] | None = None
        self._row_styles: dict[int, int | None] = {}
        self._formats: dict[int, str] = {}
        self._format_rows = (0, -1)
        self._lines: dict[int, int] = {}  # row -> lines its new wrapped text needs
        self._widths: dict[int, float] | None = None
        if table is not None:
            header = table.header_row
            self._format_rows = (header + 1, header + max(0, table.data_rows) + table.spare_rows)
            for offset, column in enumerate(table.columns):
                if column.number_format:
                    self._formats[table.first_column + offset] = column.number_format

    def _base_style(self, row: int, column: int) -> int:
        """A new cell's style: its row's, else its column's, else the default."""
        if row not in self._row_styles:  # a bisection of the sheet per row, not per cell
            self._row_styles[row] = self.sheet.row_style(row)
        style = self._row_styles[row]
        if style is not None:
            return style
        if self._column_styles is None:
            self._column_styles = self.sheet.column_styles()
        return self._column_styles.get(column, 0)

    def _format_for(self, row: int, column: int) -> str | None:
        low, high = self._format_rows
        return self._formats.get(column) if low <= row <= high else None

    def run(
        self, writes: dict[tuple[int, int], Any], before: dict[tuple[int, int], Any]
    ) -> tuple[list[Edit], bool]:
        """The sheet's edits (in order), and whether a formula gave way to a value."""
        rows: dict[int, dict[int, CellPatch]] = {}
        for (r, c), value in writes.items():
            rows.setdefault(r, {})[c] = self._value_patch(value, before.get((r, c)))
        if self.table is not None and self._formats:
            # Rows below the sheet's last row get their formats (spare rows), as in FileGrid.
            low, high = self._format_rows
            for r in range(max(low, self.sheet.last_row() + 1), high + 1):
                line = rows.setdefault(r, {})
                for c in self._formats:
                    line.setdefault(c, self._format_patch())
        edits, corner = self.sheet.edits(rows, self._height)
        if edits:
            dimension = self.sheet.dimension_edit(corner)
            if dimension is not None:
                edits.insert(0, dimension)
        if self.table is not None:
            table = self.table
            last = get_column_letter(table.first_column + max(len(table.columns), 1) - 1)
            first = get_column_letter(table.first_column)
            bottom = table.header_row + max(0, table.data_rows)
            ref = f"{first}{table.header_row}:{last}{bottom}"
            if self.sheet.autofilter_ref() != ref:
                edits.append(self.sheet.autofilter_edit(ref))
                absolute = f"${first}${table.header_row}:${last}${bottom}"
                self.grid._book.set_filter_database(self.name, absolute)
        return edits, self.calc_chain

    def _height(self, row: int) -> float | None:
        lines = self._lines.get(row, 1)
        return LINE_HEIGHT * min(lines, MAX_WRAPPED_LINES) if lines > 1 else None

    def _note_wrapped(self, row: int, column: int, style: int, text: str) -> None:
        """A written text in a wrapping cell: how many lines its row needs (as FileGrid's
        ``grow_wrapped_rows`` does: neither Excel nor LibreOffice sizes rows on opening)."""
        if len(text) < 8 or not self.styles.wraps(style):
            return
        if self._widths is None:
            self._widths = self.sheet.column_widths()
        lines = wrapped_lines(text, self._widths.get(column, DEFAULT_WIDTH))
        self._lines[row] = max(self._lines.get(row, 1), lines)

    def _format_patch(self) -> CellPatch:
        def create(cell: Cell | None, row: int, column: int) -> bytes | None:
            code = self._format_for(row, column)
            if code is None:
                return None
            if cell is None:
                style = self.styles.with_format(self._base_style(row, column), code)
                empty = cell_content(None, self.epoch)
                return render_cell(self.sheet.p, _ref(row, column), style, empty)
            style = self.styles.with_format(cell.style, code)
            if style == cell.style:
                return None
            return _restyle(cell, style)

        return create

    def _formula_goes(self, cell: Cell) -> None:
        if re.search(rb"<" + self.sheet.p + rb"f\b[^>]*\bref=", cell.xml):
            raise NotPatchable("a shared or array formula's master cell changes")
        self.calc_chain = True

    def _value_patch(self, value: Any, before: Any) -> CellPatch:
        def create(cell: Cell | None, row: int, column: int) -> bytes | None:
            p = self.sheet.p
            styles = self.styles
            if value is CLEARED:
                if cell is None:
                    return None
                if cell.has_formula(p):
                    self._formula_goes(cell)
                return _emptied(cell, p)
            content = cell_content(value, self.epoch)
            style = cell.style if cell is not None else self._base_style(row, column)
            style = styles.with_quote(style, content.quoted)
            if content.date_format is not None and not styles.is_date(style):
                style = styles.with_format(style, content.date_format)
            code = self._format_for(row, column)
            if code is not None:
                style = styles.with_format(style, code)
            if cell is None:
                if content.kind == EMPTY and code is None:
                    return None  # nothing into a cell that is not there: no cell needed
            elif style == cell.style and _same(before, value):
                return None  # written back as it was: the cell keeps its exact XML
            if cell is not None and cell.has_formula(p):
                self._formula_goes(cell)
            if content.kind == TEXT:
                self._note_wrapped(row, column, style, content.text)
            return render_cell(p, _ref(row, column), style, content)

        return create


def _ref(row: int, column: int) -> str:
    return f"{get_column_letter(column)}{row}"


def _same(before: Any, value: Any) -> bool:
    """Whether writing ``value`` leaves the cell's value as it was (type included)."""
    if value is CLEARED:
        return before is None
    shown = cell_value(value)
    return type(shown) is type(before) and shown == before


def _restyle(cell: Cell, style: int) -> bytes:
    xml = cell.xml
    found = re.match(rb"(<[^>]*?)(\s+s\s*=\s*[\"']\d*[\"'])", xml)
    attribute = b' s="%d"' % style if style else b""
    if found is not None:
        return found.group(1) + attribute + xml[found.end() :]
    head = re.match(rb"<[\w:]*c\b", xml)
    assert head is not None
    return xml[: head.end()] + attribute + xml[head.end() :]


def _emptied(cell: Cell, p: bytes) -> bytes:
    """The cell with its value (and formula) gone, its reference and style kept."""
    style = cell.style
    return (
        b"<"
        + p
        + b'c r="'
        + cell.attributes["r"].encode()
        + b'"'
        + (b' s="%d"' % style if style else b"")
        + b"/>"
    )


__all__ = ["CLEARED", "NotPatchable", "PatchGrid"]

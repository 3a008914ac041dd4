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
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from openpyxl.utils.cell import get_column_letter, range_boundaries

from .. import layout
from ..cell_values import cell_value
from ..cells import looks_like_formula
from ..grid import BarChart, CellValue, TableFormat
from ..xlsx_errors import WorkbookError, check_suffix, merged_error
from ..xlsx_file import FileGrid
from ..xlsx_load import Snapshot, check_expansion, load, read_with_snapshot, sniff
from ..xlsx_locks import find_lock, writer_lock
from .container import BIG, Deflated, Package
from .early_deflate import EarlyDeflate
from .errors import NotPatchable
from .sheet import Sheet
from .sheet_patch import CLEARED, SheetPatch
from .sparse import RowReader, SomeRows
from .styles import Styles
from .table_format import TableReformat, channel_of
from .values import open_book, put, read_values, trimmed
from .workbook_xml import WorkbookXml

log = logging.getLogger(__name__)

STYLES = "xl/styles.xml"
CONTENT_TYPES = "[Content_Types].xml"
MAX_ROW, MAX_COLUMN = 1_048_576, 16_384


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
        # Sheets read in part (``read_marked``): the rows read so far, by number; a whole read
        # replaces them (the writes made meanwhile applied to it).
        self._partial: dict[str, dict[int, list[Any]]] = {}
        self._merged: dict[str, set[tuple[int, int]]] = {}
        self._writes: dict[str, dict[tuple[int, int], Any]] = {}
        self._before: dict[str, dict[tuple[int, int], Any]] = {}
        # Sheets whose row lists ``read_shared`` handed out: (rows lent, rows copied since).
        self._lent: dict[str, tuple[int, set[int]]] = {}
        self._formats: dict[str, TableFormat] = {}
        self._reformats: dict[str, TableReformat] = {}
        self._ops: list[tuple[str, tuple[Any, ...]]] = []  # every change, for a replay
        self._replay_reason: str | None = None
        self._early: dict[str, EarlyDeflate] = {}  # part -> deflated ahead (``prepare_save``)

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
                if self._partial.pop(name, None) is not None:
                    self._apply_writes(name)
        return self._values[name]

    def _apply_writes(self, name: str) -> None:
        """The values written to a sheet read in part, shown in its whole read (made later)."""
        for (row, column), value in self._writes.get(name, {}).items():
            put(self._values[name], row, column, None if value is CLEARED else cell_value(value))

    def sheet_names(self) -> list[str]:
        return list(self._names)

    def read(self, sheet: str) -> list[list[Any]]:
        return trimmed(self._grid(sheet))

    def read_shared(self, sheet: str) -> list[list[Any]]:
        """``read`` without copying every row (50,000 rows: half a second): the first read of
        a sheet nothing was written to yet gets this grid's own row lists, which the caller
        must never change; a later write copies a lent row before changing it, so the lent
        rows keep showing what was read."""
        block = self._grid(sheet)
        if sheet in self._lent or sheet in self._before:
            return self.read(sheet)  # lent once already, or not the trimmed block as read
        self._lent[sheet] = (len(block), set())
        return list(block)

    def read_marked(
        self, sheet: str, head: int, column_of: Callable[[list[list[Any]]], int | None]
    ) -> SomeRows | None:
        """The first ``head`` rows of ``sheet`` and, below them, only the rows whose cell in the
        column ``column_of(first rows)`` holds something — each as ``read`` gives it — and how
        many rows ``read`` would give. None (read the whole sheet instead) when ``column_of``
        says None, the sheet was read whole already, or the scan is unsure (``sparse``).

        50,000 rows with 200 marked: 0.2 s instead of 2. The rows returned are copies."""
        if sheet in self._values or sheet in self._partial or sheet not in self._names:
            return None
        if self._book.sheet_part(sheet) is None:
            return None
        found = self._rows_of(sheet).marked(head, column_of)
        if found is None:
            return None
        self._partial[sheet] = found.rows
        return SomeRows({r: list(line) for r, line in found.rows.items()}, found.length)

    def _rows_of(self, sheet: str) -> RowReader:
        return RowReader(self._package, self._part(sheet), sheet, self._sheet_xml(sheet))

    def read_row(self, sheet: str, row: int) -> list[Any]:
        """Row ``row`` as this grid holds it now (a copy; not padded)."""
        return list(self._current(sheet, row))

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
                covered = _merge_covered(self._sheet_xml(name))
            self._merged[name] = covered
        return self._merged[name]

    def _current(self, sheet: str, row: int) -> list[Any]:
        """Row ``row`` as read and written since (not to be changed: see ``_line``)."""
        if sheet in self._partial:
            return self._line(sheet, row)
        grid = self._grid(sheet)
        return grid[row - 1] if row <= len(grid) else []

    def _line(self, sheet: str, row: int) -> list[Any]:
        """The list this grid keeps for row ``row`` of ``sheet``, to be changed."""
        partial = self._partial.get(sheet)
        if partial is not None:
            if row not in partial:  # a row the partial read left out: read it now
                partial.update(self._rows_of(sheet).read([row]))
            return partial[row]
        grid = self._grid(sheet)
        while len(grid) < row:
            grid.append([])
        line = grid[row - 1]
        lent = self._lent.get(sheet)
        if lent is not None and row <= lent[0] and row not in lent[1]:
            line = grid[row - 1] = list(line)  # the caller keeps the row as it was read
            lent[1].add(row)
        return line

    def _set(self, sheet: str, row: int, column: int, value: Any, shown: Any) -> None:
        line = self._line(sheet, row)
        if len(line) < column:
            line.extend([None] * (column - len(line)))
        self._before.setdefault(sheet, {}).setdefault((row, column), line[column - 1])
        self._writes.setdefault(sheet, {})[(row, column)] = value
        line[column - 1] = shown

    def write(self, sheet: str, top: int, left: int, rows: Sequence[Sequence[CellValue]]) -> None:
        if sheet not in self._partial:
            self._grid(sheet)  # KeyError for a sheet that is not there
        if top < 1 or left < 1 or top + len(rows) - 1 > MAX_ROW:
            raise ValueError(f"cells outside the sheet: row {top}, column {left}")
        merged = self._merged_cells(sheet)
        pending = self._writes.get(sheet, {})
        for r, values in enumerate(rows, start=top):
            if left + len(values) - 1 > MAX_COLUMN:
                raise ValueError(f"cells outside the sheet: row {r}")
            self._write_line(sheet, r, left, values, self._current(sheet, r), merged, pending)
        self._ops.append(("write", (sheet, top, left, [list(v) for v in rows])))

    def _write_line(
        self,
        sheet: str,
        r: int,
        left: int,
        values: Sequence[CellValue],
        line: list[Any],
        merged: set[tuple[int, int]],
        pending: dict[tuple[int, int], Any],
    ) -> None:
        """One row of a ``write``: ``line`` is its values as read (before this write)."""
        for c, value in enumerate(values, start=left):
            if (r, c) in merged:
                if value is None:
                    continue
                raise merged_error(self.path, sheet, f"{get_column_letter(c)}{r}")
            shown = cell_value(value)
            # A value written back as it is read changes nothing: not even recorded, so a
            # block written over 10,000 rows to change 200 costs 200 rows at save.
            if (r, c) not in pending and _reads_back(line, c, value, shown):
                continue
            self._set(sheet, r, c, value, shown)

    def refuse_merged(self, sheet: str, cells: Iterable[tuple[int, int]]) -> None:
        """The error ``write`` would give for a value on any of ``cells`` (row, column) that
        is inside merged cells, raised now (collect: before any money moves)."""
        merged = self._merged_cells(sheet)
        for r, c in sorted(cells):
            if (r, c) in merged:
                raise merged_error(self.path, sheet, f"{get_column_letter(c)}{r}")

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
        source = self._sheet_xml(sheet)
        reason = _format_replay_reason(source, sheet, table)
        self._reformats.pop(sheet, None)
        if reason is not None and _may_reformat(source, table):
            try:  # the table format the sheet already has, made again (fetch's refresh)
                settings = self._grid(layout.SETTINGS) if layout.SETTINGS in self._names else []
                self._reformats[sheet] = TableReformat(
                    self._styles, self._book, sheet, source, table, channel_of(settings)
                )
                reason = None
            except NotPatchable as exc:
                reason = f"{reason}: {exc}"
        if reason is not None:
            self._replay_needed(reason)
        self._formats[sheet] = table

    def define_name(self, name: str, formula: str) -> None:
        """A workbook-wide name the workbook has already is pointed at ``formula`` here; a
        new one needs openpyxl."""
        self._ops.append(("define_name", (name, formula)))
        try:
            self._book.set_name(name, formula)
        except NotPatchable as exc:
            self._replay_needed(str(exc))

    def add_bar_chart(self, sheet: str, chart: BarChart) -> None:
        self._grid(sheet)
        self._ops.append(("add_bar_chart", (sheet, chart)))
        self._replay_needed("a chart")

    def progress(self, text: str) -> None:
        if self._on_progress is not None:
            self._on_progress(text)

    # -- saving -------------------------------------------------------------------------------

    def prepare_save(self) -> None:
        """Start deflating the big sheets read so far (a 50,000-row sheet: about a second),
        in the background: ``save`` then deflates again only the pieces its edits touch. For
        a caller that will write a few rows and save after a while (collect's API calls)."""
        if self._replay_reason is not None:
            return
        for name, sheet in self._sheets.items():
            part = self._part(name)
            if part not in self._early and len(sheet.xml) >= BIG:
                self._early[part] = EarlyDeflate(sheet.xml)

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
        replaced: dict[str, bytes | Deflated] = {}
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
            patch = SheetPatch(
                self._styles,
                self._book,
                sheet,
                source,
                table,
                self._reformats.get(sheet),
                self._values.get(sheet),
            )
            edits, calc = patch.run(writes, self._before.get(sheet, {}))
            drop_calc_chain |= calc
            if not edits:
                continue
            early = self._early.get(part)
            deflated = early.edited(edits) if early is not None else None
            replaced[part] = deflated if deflated is not None else source.apply(edits)
        if styles.changed:
            replaced[STYLES] = styles.render()
        if self._book.changed:
            replaced[self._book.part] = self._book.xml
        if drop_calc_chain:
            removed |= self._drop_calc_chain(replaced)
        if not replaced and not removed:
            return self._data
        return self._package.rebuild(replaced, frozenset(removed))

    def _drop_calc_chain(self, replaced: dict[str, bytes | Deflated]) -> set[str]:
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


def _reads_back(line: list[Any], column: int, value: Any, shown: Any) -> bool:
    """Whether the cell already reads ``shown`` (type included). Text that looks like a
    formula never does: its cell must get the quote prefix."""
    if type(value) is str and looks_like_formula(value):
        return False
    current = line[column - 1] if column <= len(line) else None
    if type(current) is type(shown):
        return bool(current == shown)
    # The same number or day stored the same way: a whole number reads back as an int, and a
    # date in a date-formatted cell as a datetime at midnight (a refresh rewrites every row).
    if type(current) is int and type(shown) is float:
        return current == shown
    if type(current) is datetime and type(shown) is date:
        return current == datetime.combine(shown, time())
    return False


def _merge_covered(sheet: Sheet) -> set[tuple[int, int]]:
    """The cells the sheet's merged ranges cover, their top-left cells excepted."""
    covered: set[tuple[int, int]] = set()
    tag = re.compile(rb"<" + sheet.p + rb'mergeCell\b[^>]*?\bref="([^"]+)"')
    for m in tag.finditer(sheet.xml, sheet.data_span[1]):  # they follow the rows
        covered.update(_covered_by(m.group(1).decode()))
    return covered


def _covered_by(ref: str) -> set[tuple[int, int]]:
    """The cells of one merged range ``ref``, its top-left cell excepted."""
    left, top, right, bottom = range_boundaries(ref)
    rows = range(top or 1, (bottom or top or 1) + 1)
    columns = range(left or 1, (right or left or 1) + 1)
    return {(r, c) for r in rows for c in columns if (r, c) != (top, left)}


def _may_reformat(sheet: Sheet, table: TableFormat) -> bool:
    """Whether ``TableReformat`` may make ``table`` on the sheet (it checks the rest)."""
    return sheet.autofilter_ref() is not None and table.autofilter and bool(table.columns)


def _format_replay_reason(sheet: Sheet, name: str, table: TableFormat) -> str | None:
    """Why ``table`` on an existing sheet needs openpyxl (None: extending it is done here)."""
    if sheet.autofilter_ref() is None or not table.autofilter:
        return f"a first table format on {name}"
    if any(c.input or c.output for c in table.columns) or table.validations:
        return f"fills or dropdowns on {name}"
    if table.title_cells or table.label_cells or table.cell_formats:
        return f"titles or labels on {name}"
    return None


__all__ = ["CLEARED", "NotPatchable", "PatchGrid"]

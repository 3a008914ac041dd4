"""The file backend of the grid: ``.xlsx`` / ``.xlsm`` workbooks through openpyxl.

``FileGrid`` implements ``grid.Grid`` for the headless jobs (the command line, tests). What it
guarantees beyond the protocol, and where that lives:

- Text is data and numbers are exact (``xlsx_store``).
- ``.xlsm`` files are always loaded with ``keep_vba=True``: the VBA project and the legacy (VML)
  buttons come back byte-identical.
- ``save`` is atomic and never overwrites a workbook open in Excel, read-only, or changed by
  another program since it was opened (``xlsx_save``).
- One writer at a time: ``open(..., for_writing=True)`` takes the workbook's writer lock
  (``xlsx_locks``) and holds it until it is saved (or closed; a later save of the same grid
  takes it again for the save), so the whole load -> change -> replace of one command is never
  interleaved with another kolaybi-xl command's; a second writer waits ``lock_wait`` seconds,
  then is told the workbook is busy. The "changed by another program" check runs under that
  lock right before the replace. The lock file is removed on close (a killed process leaves an
  empty one, reused next time; the operating system releases the lock itself).
- Loads are bounded, and opening refuses, with one clear line in English and Turkish
  (``WorkbookError``), anything that is not a readable ``.xlsx``/``.xlsm`` (``xlsx_load``).

Nothing is written to disk before ``save()``, also for ``open(..., create=True)``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import openpyxl  # noqa: F401  (tests reach openpyxl through this module)
from openpyxl.workbook.defined_name import DefinedName

from ..gcpause import paused_gc
from . import layout
from .grid import BarChart, CellValue, TableFormat
from .xlsx_charts import add_bar_chart
from .xlsx_errors import WorkbookError, check_suffix, is_folder, not_found, save_failed
from .xlsx_format import format_sheet_table
from .xlsx_load import Snapshot, load, new_workbook, read_bytes, read_with_snapshot
from .xlsx_locks import Lock, find_lock, lock_file, locked_error, writer_lock
from .xlsx_save import TEMP_PREFIX, check_writable, save_atomically, serialise
from .xlsx_store import MAX_ROW, clear_block, read_block, refuse_merged, write_block

__all__ = [
    "MAX_ROW",
    "TEMP_PREFIX",
    "FileGrid",
    "Lock",
    "WorkbookError",
    "find_lock",
    "lock_file",
]

ProgressCallback = Callable[[str], None]


class FileGrid:
    """The grid on a workbook file (see the module docstring for what it guarantees)."""

    live = False  # only this process changes its cells (see ``grid.is_live``)

    def __init__(
        self,
        path: Path,
        workbook: Any,
        snapshot: Snapshot,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.path = path
        self._workbook: Any = workbook
        self._snapshot = snapshot
        self._on_progress = on_progress
        self._xlsm = path.suffix.lower() == ".xlsm"
        self._writer_lock: contextlib.ExitStack | None = None

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        create: bool = False,
        template: str | os.PathLike[str] | None = None,
        on_progress: ProgressCallback | None = None,
        for_writing: bool = True,
        lock_wait: float | None = None,
    ) -> FileGrid:
        """Open ``path`` (``.xlsx`` or ``.xlsm``; an ``.xlsm`` always keeps its macros).

        A missing file is an error unless ``create``: then the workbook starts as a copy of
        ``template`` (a ``.xlsm`` template keeps its macros in a ``.xlsm`` target), or empty
        with the layout's sheets. Nothing is written before ``save()``.

        With ``for_writing`` (the default) a file that could not be saved afterwards (open in
        Excel, read-only) is refused now, before any work is done, and the workbook's writer
        lock is held until ``close()`` (waiting up to ``lock_wait`` seconds for another
        command that holds it; default ``$KOLAYBI_XL_LOCK_WAIT`` or 5 s).
        """
        target = Path(path)
        suffix = check_suffix(target)
        if target.is_dir():
            raise is_folder(target)
        held = writer_lock(target, lock_wait) if for_writing else None
        try:
            grid = cls._open(target, suffix, create, template, on_progress, for_writing)
        except BaseException:
            if held is not None:
                held.close()
            raise
        grid._writer_lock = held
        return grid

    @classmethod
    def _open(
        cls,
        target: Path,
        suffix: str,
        create: bool,
        template: str | os.PathLike[str] | None,
        on_progress: ProgressCallback | None,
        for_writing: bool,
    ) -> FileGrid:
        keep_vba = suffix == ".xlsm"
        if not target.exists():
            if not create:
                raise not_found(target)
            workbook = _created_workbook(target, template, keep_vba)
            grid = cls(target, workbook, Snapshot(exists=False), on_progress)
        else:
            lock = find_lock(target)
            if lock is not None and for_writing:
                raise locked_error(target, lock)
            data, snapshot = read_with_snapshot(target)
            grid = cls(target, load(target, data, keep_vba=keep_vba), snapshot, on_progress)
        if for_writing:
            grid.check_writable()
        return grid

    def __enter__(self) -> FileGrid:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the workbook (unsaved changes are lost) and release the writer lock."""
        workbook, self._workbook = self._workbook, None
        if workbook is not None and workbook.vba_archive is not None:
            with contextlib.suppress(Exception):
                workbook.vba_archive.close()
        held, self._writer_lock = self._writer_lock, None
        if held is not None:
            held.close()

    @property
    def workbook(self) -> Any:
        """The openpyxl workbook (for the template builder and tests).

        A number written through the grid sits in its cell as a ``str`` subclass holding the
        exact number text (see ``xlsx_store.ExactNumber``); ``read`` gives it back as a float.
        """
        if self._workbook is None:
            raise RuntimeError(f"{self.path.name} is closed")
        return self._workbook

    def _sheet(self, name: str) -> Any:
        workbook = self.workbook
        if name not in workbook.sheetnames:
            raise KeyError(name)
        sheet = workbook[name]
        if not hasattr(sheet, "_cells"):  # a chart sheet
            raise KeyError(name)
        return sheet

    # -- the Grid protocol --------------------------------------------------------------------

    def sheet_names(self) -> list[str]:
        return list(self.workbook.sheetnames)

    def ensure_sheet(self, name: str) -> bool:
        """Create the sheet if missing, where ``layout.SHEET_ORDER`` puts it; True if created."""
        workbook = self.workbook
        existing = list(workbook.sheetnames)
        if name in existing:
            return False
        workbook.create_sheet(name, _sheet_position(name, existing))
        return True

    def read(self, sheet: str) -> list[list[Any]]:
        """The used block from A1: rows of values, short rows padded with None, empty trailing
        rows and columns trimmed. Formulas come back as ``Formula`` (their text)."""
        return read_block(self._sheet(sheet)._cells)

    def write(self, sheet: str, top: int, left: int, rows: Sequence[Sequence[CellValue]]) -> None:
        """Write a block of values; ``str`` is always text, ``Formula`` a formula."""
        write_block(self._sheet(sheet), self.path, sheet, top, left, rows)

    def refuse_merged(self, sheet: str, cells: Iterable[tuple[int, int]]) -> None:
        """The error ``write`` would give for a value on any of ``cells`` (row, column) that
        is inside merged cells, raised now (collect: before any money moves)."""
        refuse_merged(self._sheet(sheet), self.path, sheet, cells)

    def clear(self, sheet: str, top: int, left: int, bottom: int, right: int) -> None:
        """Empty the values of a block; formats (and the cells' styles) stay."""
        clear_block(self._sheet(sheet)._cells, top, left, bottom, right)

    def format_table(self, sheet: str, table: TableFormat) -> None:
        """Formats, widths, header style, fills, freeze panes, autofilter and dropdowns.

        An autofilter, not an Excel table (ListObject): openpyxl writes a table's range and
        column names once and does not follow the data, so a table whose rows changed makes
        Excel "repair" the file; an autofilter is a plain range openpyxl rewrites every save.
        """
        ws = self._sheet(sheet)
        with paused_gc(table.data_rows):
            format_sheet_table(ws, table)

    def define_name(self, name: str, formula: str) -> None:
        """A workbook-level defined name (a leading '=' is tolerated); replaces one of that name."""
        text = formula[1:] if formula.startswith("=") else formula
        self.workbook.defined_names[name] = DefinedName(name, attr_text=text)

    def add_bar_chart(self, sheet: str, chart: BarChart) -> None:
        """A clustered column chart (see ``xlsx_charts``); replaces one of the same title."""
        add_bar_chart(self._sheet(sheet), chart)

    def progress(self, text: str) -> None:
        if self._on_progress is not None:
            self._on_progress(text)

    # -- saving -------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Raise ``WorkbookError`` now if ``save()`` would be refused (lock, read-only file)."""
        check_writable(self.path)

    def save(self) -> None:
        """Write the workbook atomically (temporary file + replace); the original file stays
        untouched if anything goes wrong, and so does a file someone else changed meanwhile."""
        path = self.path
        self.check_writable()
        if self._writer_lock is None:  # a second save of this grid: lock again for it
            self._writer_lock = writer_lock(path, None)
        try:
            self._save_locked()
        finally:
            # Load -> replace is done: the next command may go on (a later save of this
            # grid takes the lock again, and finds any change made meanwhile).
            held, self._writer_lock = self._writer_lock, None
            held.close()

    def _save_locked(self) -> None:
        try:
            data = self._serialise()
        except Exception as exc:
            raise save_failed(self.path, "the workbook could not be written") from exc
        self._snapshot = save_atomically(self.path, data, self._snapshot)

    def _serialise(self) -> bytes:
        return serialise(self.workbook, self._xlsm)


def _created_workbook(target: Path, template: str | os.PathLike[str] | None, keep_vba: bool) -> Any:
    """The workbook of a file ``open(..., create=True)`` makes: a copy of ``template``, or
    empty with the layout's sheets."""
    if not target.parent.is_dir():
        raise WorkbookError(
            "Cannot create {target_name}: the folder {parent} does not exist",
            target_name=target.name,
            parent=target.parent,
            path=target,
            reason="not_found",
        )
    if template is None:
        return new_workbook(keep_vba)
    source = Path(template)
    check_suffix(source)
    if not source.is_file():
        raise WorkbookError(
            "Template not found: {source}",
            source=source,
            path=source,
            reason="not_found",
        )
    return load(source, read_bytes(source), keep_vba=keep_vba)


def _sheet_position(name: str, existing: list[str]) -> int | None:
    """Where a new sheet goes: right after the last existing sheet that comes before it in
    ``SHEET_ORDER``, else before the first that comes after it; other names go last."""
    order = layout.SHEET_ORDER
    if name not in order:
        return None
    rank = order.index(name)
    before = [i for i, s in enumerate(existing) if s in order and order.index(s) < rank]
    if before:
        return before[-1] + 1
    after = [i for i, s in enumerate(existing) if s in order and order.index(s) > rank]
    if after:
        return after[0]
    return None

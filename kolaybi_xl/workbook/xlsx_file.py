"""The file backend of the grid: ``.xlsx`` / ``.xlsm`` workbooks through openpyxl.

``FileGrid`` implements ``grid.Grid`` for the headless jobs (the command line, tests). What it
guarantees beyond the protocol:

- Text is data: every ``str`` is stored as an inline string (never a formula, never an error
  value), cleaned of control characters; text that Excel would read as a formula when edited
  (``= + - @`` at the start) also gets the "quote prefix" style so it stays text after an edit.
  Only ``grid.Formula`` values become formulas.
- Numbers (``Decimal`` too) are written as the shortest exact text of their double
  (``Decimal("2327.60")`` -> ``2327.6``), not through openpyxl's ``%.16g``, which turns ~5% of
  two-decimal amounts into binary noise such as ``0.07000000000000001``.
- ``.xlsm`` files are always loaded with ``keep_vba=True``: the VBA project and the legacy (VML)
  buttons come back byte-identical.
- ``save`` is atomic: a temporary ``.~kolaybi-*`` file in the same folder, flushed and fsynced,
  then ``os.replace``; on any failure the original file is untouched and the temporary file
  removed. A workbook open in Excel (its ``~$`` owner file is there, or Windows refuses the
  replace) or changed by another program since it was opened is never overwritten.
- One writer at a time: ``open(..., for_writing=True)`` takes an operating-system lock on a
  sidecar file (``.kolaybi-lock.<name>``, which spreadsheet lock detection ignores) and holds it
  until it is saved (or closed; a later save of the same grid takes it again for the save),
  so the whole load -> change -> replace of one command is never interleaved
  with another kolaybi-xl command's; a second writer waits ``lock_wait`` seconds, then is told
  the workbook is busy. The "changed by another program" check runs under that lock right
  before the replace. The lock file is removed on close (a killed process leaves an empty one,
  reused next time; the operating system releases the lock itself).
- Loads are bounded: a package that would expand past ``MAX_EXPANSION`` times its size (and
  over ``MAX_UNPACKED`` bytes), or with a member over ``MAX_MEMBER`` bytes, is refused before
  parsing.
- Opening refuses, with one clear line in English and Turkish (``WorkbookError``), anything that
  is not a readable ``.xlsx``/``.xlsm``: ``.xls``/``.xlsb``/``.csv``/``.ods``, empty, renamed,
  damaged or password-protected files, XML with entity tricks (``defusedxml`` is active).

Nothing is written to disk before ``save()``, also for ``open(..., create=True)``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import re
import secrets
import stat
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from defusedxml import DefusedXmlException
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.workbook.defined_name import DefinedName

from ..errors import UserError
from ..gcpause import paused_gc
from ..i18n import N_, Message
from ..oslock import Busy, exclusive
from . import layout
from .cell_values import cell_value, number_text, quote_prefixed
from .cells import clean_text
from .grid import BarChart, CellValue, Formula, TableFormat
from .xlsx_charts import add_bar_chart
from .xlsx_format import format_sheet_table, grow_wrapped_rows

__all__ = ["FileGrid", "WorkbookError"]

SUPPORTED_SUFFIXES = (".xlsx", ".xlsm")
MAX_ROW = 1_048_576  # Excel's last row
TEMP_PREFIX = ".~kolaybi-"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")

# Windows refuses a replace while an antivirus or indexer has the file open for a moment:
# try a few times before calling the file locked.
# The writer lock: how long a second command waits for the first (``KOLAYBI_XL_LOCK_WAIT``).
LOCK_PREFIX = ".kolaybi-lock."
DEFAULT_LOCK_WAIT = 5.0
ENV_LOCK_WAIT = "KOLAYBI_XL_LOCK_WAIT"

# Zip bombs: a workbook expands a lot (10-20x is common), but not 50x *and* past 200 MB.
MAX_EXPANSION = 50
MAX_UNPACKED = 200 * 1024 * 1024
MAX_MEMBER = 400 * 1024 * 1024

REPLACE_ATTEMPTS = 3
REPLACE_RETRY_SECONDS = 0.15

ProgressCallback = Callable[[str], None]


class WorkbookError(UserError):
    """A workbook file cannot be opened or saved.

    One line naming the file (an English msgid and its fields, in the catalogue), never a
    traceback or an exception repr. ``reason`` is a short machine-readable word:
    ``not_found``, ``format``, ``damaged``, ``protected``, ``unsafe``, ``locked``,
    ``read_only``, ``changed``, ``merged``, ``save_failed``, ``busy`` (another
    kolaybi-xl command holds the writer lock).
    """

    def __init__(
        self,
        message: str,
        /,
        *,
        path: Path | None = None,
        reason: str = "error",
        **fields: Any,
    ) -> None:
        super().__init__(message, **fields)
        self.path = path
        self.reason = reason


class _ExactNumber(str):
    """A number's exact text, kept in ``cell._value`` with data type ``n``.

    openpyxl writes numbers with ``"%.16g" % value``, which prints many two-decimal amounts with
    binary noise; a ``str`` passes through its writer unchanged, so the file gets this text.
    ``FileGrid.read`` turns it back into a float.
    """

    __slots__ = ()


# -- errors -----------------------------------------------------------------------------------


_SUFFIX_HINTS: dict[str, str] = {
    ".xls": N_("old Excel 97-2003 format: save it as .xlsx or .xlsm in Excel first"),
    ".xlsb": N_(
        "Excel binary workbook (.xlsb) is not supported: save it as .xlsx or .xlsm in Excel first"
    ),
    ".csv": N_("a CSV file is not a workbook: open it in Excel and save it as .xlsx or .xlsm"),
    ".ods": N_(
        "OpenDocument spreadsheets (.ods) are not supported: save it as .xlsx or .xlsm first"
    ),
    ".xltx": N_("this is an Excel template: save a workbook from it as .xlsx or .xlsm first"),
    ".xltm": N_("this is an Excel template: save a workbook from it as .xlsm first"),
}


def _check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return suffix
    known = _SUFFIX_HINTS.get(suffix)
    hint = (
        Message(known)
        if known
        else Message(
            "unsupported file type {suffix}: use an .xlsx or .xlsm workbook",
            suffix=suffix or Message("(none)"),
        )
    )
    raise WorkbookError("{name}: {hint}", name=path.name, hint=hint, path=path, reason="format")


def _locked_error(path: Path, lock: Lock) -> WorkbookError:
    by = Message(" (by {owner})", owner=lock.owner) if lock.owner else ""
    return WorkbookError(
        "{name} is open {place}{by}; close it and try again. Nothing was changed. "
        "If {program} is not running, delete the leftover lock file {lock_name}.",
        name=path.name,
        place=Message(LOCK_PLACES[lock.program]),
        program=lock.program,
        by=by,
        lock_name=lock.path.name,
        path=path,
        reason="locked",
    )


def _in_use_error(path: Path, saving: bool) -> WorkbookError:
    if saving:
        return WorkbookError(
            "Cannot save {name}: it is open in Excel or locked by another program; "
            "close it and try again. Nothing was changed.",
            name=path.name,
            path=path,
            reason="locked",
        )
    return WorkbookError(
        "Cannot open {name}: it is open in Excel or locked by another program; "
        "close it and try again. Nothing was changed.",
        name=path.name,
        path=path,
        reason="locked",
    )


def _read_only_error(path: Path, folder: bool) -> WorkbookError:
    if folder:
        return WorkbookError(
            "Cannot save {name}: the folder {parent} is read-only or you may not write "
            "there. Nothing was changed.",
            name=path.name,
            parent=path.parent,
            path=path,
            reason="read_only",
        )
    return WorkbookError(
        "Cannot save {name}: the file is read-only; remove the read-only mark (file "
        "properties) and try again. Nothing was changed.",
        name=path.name,
        path=path,
        reason="read_only",
    )


# -- lock files -------------------------------------------------------------------------------


def _excel_lock_owner(data: bytes) -> str | None:
    """The user name in an Excel owner file (``~$book.xlsx``), or None.

    Layout (as LibreOffice documents it): byte 0 is the name's length, then the name in the
    Windows code page, padded with spaces up to offset 55; at 55 the length again as a 2-byte
    integer, then the name in UTF-16-LE.
    """
    if not data or not 0 < data[0] <= 52:
        return None
    name = ""
    if len(data) >= 57:
        count = int.from_bytes(data[55:57], "little")
        if 0 < count <= 52 and len(data) >= 57 + 2 * count:
            with contextlib.suppress(UnicodeDecodeError):
                name = data[57 : 57 + 2 * count].decode("utf-16-le")
    if not name:
        name = data[1 : 1 + data[0]].decode("cp1254", errors="replace")
    name = clean_text(name).strip()
    return name or None


def _libreoffice_lock_owner(data: bytes) -> str | None:
    """The user name in a LibreOffice lock file (``.~lock.book.xlsx#``: ``name,host,...``)."""
    text = data.decode("utf-8", errors="replace")
    name = clean_text(text.split(",", 1)[0]).strip()
    return name or None


LOCK_PLACES = {"Excel": N_("in Excel"), "LibreOffice": N_("in LibreOffice")}


@dataclass(frozen=True)
class Lock:
    """A lock file saying a spreadsheet program has the workbook open."""

    path: Path
    owner: str | None
    program: str  # "Excel" or "LibreOffice"


def find_lock(path: Path) -> Lock | None:
    """The lock file beside ``path`` (Excel's ``~$name``, LibreOffice's ``.~lock.name#``)."""
    candidates = (
        (path.with_name("~$" + path.name), _excel_lock_owner, "Excel"),
        (path.with_name(".~lock." + path.name + "#"), _libreoffice_lock_owner, "LibreOffice"),
    )
    for lock, reader, program in candidates:
        try:
            if not lock.is_file():
                continue
        except OSError:
            continue
        owner: str | None = None
        with contextlib.suppress(OSError), lock.open("rb") as handle:
            owner = reader(handle.read(512))
        return Lock(lock, owner, program)
    return None


# -- loading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    """What the file on disk looked like when this grid last read or wrote it."""

    exists: bool
    size: int = 0
    mtime_ns: int = 0
    digest: str = ""


def _read_with_snapshot(path: Path) -> tuple[bytes, _Snapshot]:
    """The file's bytes, and its size and time as they were *before* reading: a change made
    while we read shows up as a difference at save time."""
    try:
        size, mtime_ns = _stat_pair(path)
    except FileNotFoundError:
        raise _not_found(path) from None
    except OSError:
        size = mtime_ns = -1
    data = _read_bytes(path)
    return data, _Snapshot(True, size, mtime_ns, hashlib.sha256(data).hexdigest())


def _read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise _not_found(path) from None
    except IsADirectoryError:
        raise _is_folder(path) from None
    except PermissionError as exc:
        if _sharing_violation(exc):
            raise _in_use_error(path, saving=False) from None
        raise WorkbookError(
            "Cannot open {name}: permission denied (or it is open in Excel); close it "
            "or check the file's permissions and try again.",
            name=path.name,
            path=path,
            reason="locked",
        ) from None
    except OSError as exc:
        raise WorkbookError(
            "Cannot open {name}: {why}.",
            name=path.name,
            why=exc.strerror or Message("read error"),
            path=path,
            reason="damaged",
        ) from None


def _sharing_violation(exc: OSError) -> bool:
    """A Windows sharing/lock violation (the file is open in another program)."""
    return getattr(exc, "winerror", None) in (32, 33)


def _not_found(path: Path) -> WorkbookError:
    return WorkbookError(
        "Workbook not found: {where}",
        where=path,
        path=path,
        reason="not_found",
    )


def _is_folder(path: Path) -> WorkbookError:
    return WorkbookError(
        "{name} is a folder, not a workbook: give the path of an .xlsx or .xlsm file",
        name=path.name,
        path=path,
        reason="format",
    )


def _sniff(path: Path, data: bytes) -> None:
    """Refuse content that cannot be an OOXML package, with the likely reason."""
    if not data:
        raise WorkbookError(
            "{name} is empty (0 bytes): it is not a workbook",
            name=path.name,
            path=path,
            reason="damaged",
        )
    if data.startswith(OLE_MAGIC):
        raise WorkbookError(
            "{name} is password protected or in an old format (Excel 97-2003): remove "
            "the password, or save it as .xlsx/.xlsm, in Excel first",
            name=path.name,
            path=path,
            reason="protected",
        )
    if not data.startswith(ZIP_MAGICS):
        raise WorkbookError(
            "{name} is not an Excel workbook (its content is not .xlsx/.xlsm; a renamed file?)",
            name=path.name,
            path=path,
            reason="format",
        )


def _damaged(path: Path) -> WorkbookError:
    return WorkbookError(
        "{name} is damaged or not an Excel workbook: open it in Excel, save it again and try again",
        name=path.name,
        path=path,
        reason="damaged",
    )


def _check_expansion(path: Path, data: bytes) -> None:
    """Refuse a package that would expand far beyond any real workbook (a zip bomb), from
    its directory alone: nothing is decompressed. (Python's zip reader never gives more than
    a member's declared size, so the declared sizes bound what parsing could take.)"""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sizes = [item.file_size for item in archive.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # not readable as a zip: loading says "damaged"
    total = sum(sizes)
    if (total > MAX_EXPANSION * len(data) and total > MAX_UNPACKED) or any(
        size > MAX_MEMBER for size in sizes
    ):
        raise WorkbookError(
            "{name} was refused: it would expand to {mb} MB (from {kb} KB), far more than a "
            "workbook does",
            name=path.name,
            mb=total // (1024 * 1024),
            kb=max(1, len(data) // 1024),
            path=path,
            reason="unsafe",
        )


def _load(path: Path, data: bytes, *, keep_vba: bool) -> Any:
    """openpyxl's workbook from the file's bytes, or a clear ``WorkbookError``."""
    _sniff(path, data)
    _check_expansion(path, data)
    try:
        with paused_gc(len(data) // 100):  # ~ a cell per 100 bytes of the zipped file
            return openpyxl.load_workbook(
                io.BytesIO(data), keep_vba=keep_vba, data_only=False, keep_links=True
            )
    except MemoryError:
        raise WorkbookError(
            "{name} is too large to open with the memory available",
            name=path.name,
            path=path,
            reason="unsafe",
        ) from None
    except Exception as exc:  # zipfile, XML, openpyxl's own errors: all mean "not readable"
        if _caused_by(exc, DefusedXmlException):
            raise WorkbookError(
                "{name} was refused: it contains unsafe XML (entity declarations)",
                name=path.name,
                path=path,
                reason="unsafe",
            ) from exc
        raise _damaged(path) from exc


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``kind`` is anywhere in the chain (openpyxl wraps parse errors in ValueError)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _has_vba_part(workbook: Any) -> bool:
    archive = workbook.vba_archive
    return archive is not None and "xl/vbaProject.bin" in archive.namelist()


_VBA_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*relationships/vbaProject\"[^>]*/>")


def _drop_dangling_vba_relationship(data: bytes) -> bytes:
    """openpyxl links ``vbaProject.bin`` for every workbook loaded with ``keep_vba=True``, also
    when there is no such part (a macro-free ``.xlsm``): Excel would then "repair" the file.
    Remove that relationship from the saved package."""
    source = zipfile.ZipFile(io.BytesIO(data))
    if "xl/vbaProject.bin" in source.namelist():
        return data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/_rels/workbook.xml.rels":
                content = _VBA_RELATIONSHIP.sub(b"", content)
            target.writestr(item, content)
    return out.getvalue()


def _new_workbook(xlsm: bool) -> Any:
    """An empty workbook with the layout's sheets, in the format the suffix asks for."""
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = layout.SHEET_ORDER[0]
    for name in layout.SHEET_ORDER[1:]:
        workbook.create_sheet(name)
    if not xlsm:
        return workbook
    # A macro-enabled package needs openpyxl's "kept VBA" archive for its content type:
    # round-trip through memory (the missing vbaProject link is removed again on save).
    buffer = io.BytesIO()
    workbook.save(buffer)
    return openpyxl.load_workbook(io.BytesIO(buffer.getvalue()), keep_vba=True)


# -- the grid ---------------------------------------------------------------------------------


class FileGrid:
    """The grid on a workbook file (see the module docstring for what it guarantees)."""

    live = False  # only this process changes its cells (see ``grid.is_live``)

    def __init__(
        self,
        path: Path,
        workbook: Any,
        snapshot: _Snapshot,
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
        suffix = _check_suffix(target)
        if target.is_dir():
            raise _is_folder(target)
        held = _writer_lock(target, lock_wait) if for_writing else None
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
        if not target.exists():
            if not create:
                raise _not_found(target)
            if not target.parent.is_dir():
                raise WorkbookError(
                    "Cannot create {target_name}: the folder {parent} does not exist",
                    target_name=target.name,
                    parent=target.parent,
                    path=target,
                    reason="not_found",
                )
            if template is not None:
                source = Path(template)
                _check_suffix(source)
                if not source.is_file():
                    raise WorkbookError(
                        "Template not found: {source}",
                        source=source,
                        path=source,
                        reason="not_found",
                    )
                workbook = _load(source, _read_bytes(source), keep_vba=suffix == ".xlsm")
            else:
                workbook = _new_workbook(suffix == ".xlsm")
            grid = cls(target, workbook, _Snapshot(exists=False), on_progress)
        else:
            lock = find_lock(target)
            if lock is not None and for_writing:
                raise _locked_error(target, lock)
            data, snapshot = _read_with_snapshot(target)
            workbook = _load(target, data, keep_vba=suffix == ".xlsm")
            grid = cls(target, workbook, snapshot, on_progress)
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
        exact number text (see ``_ExactNumber``); ``read`` gives it back as a float.
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
        # Walk the cells openpyxl holds rather than ``iter_rows``: that creates a cell object for
        # every empty position it passes, and a sheet with formatted cells far below the data
        # would make it walk (and create) all of them.
        cells = self._sheet(sheet)._cells
        filled: list[tuple[int, int, Any]] = []
        bottom = right = 0
        for (row, column), cell in cells.items():
            value = cell._value
            if value is None or value == "":
                continue
            if cell.data_type == "f":
                value = Formula(getattr(value, "text", None) or str(value))
            elif type(value) is _ExactNumber:
                value = float(value)
            filled.append((row, column, value))
            if row > bottom:
                bottom = row
            if column > right:
                right = column
        grid: list[list[Any]] = [[None] * right for _ in range(bottom)]
        for row, column, value in filled:
            grid[row - 1][column - 1] = value
        return grid

    def write(self, sheet: str, top: int, left: int, rows: Sequence[Sequence[CellValue]]) -> None:
        """Write a block of values; ``str`` is always text, ``Formula`` a formula."""
        ws = self._sheet(sheet)
        if top < 1 or left < 1 or top + len(rows) - 1 > MAX_ROW:
            _write_checked(ws, self.path, sheet, top, left, rows)  # openpyxl's own errors
            return
        # Cells are looked up and created directly in the sheet's cell map (what ``ws.cell``
        # does after its bounds check, done above for the whole block): a refresh writes a
        # few hundred thousand cells and the per-call overhead was a third of the write.
        cells = ws._cells
        last_row = 0
        with paused_gc(len(rows)):
            for r, row in enumerate(rows, start=top):
                for c, value in enumerate(row, start=left):
                    cell = cells.get((r, c))
                    if cell is None:
                        cell = cells[r, c] = Cell(ws, row=r, column=c)
                        last_row = r
                    elif type(cell) is MergedCell:
                        if value is None:
                            continue
                        raise _merged_error(self.path, sheet, cell.coordinate)
                    _store(cell, value)
        if last_row > ws._current_row:
            ws._current_row = last_row
        grow_wrapped_rows(ws, top, left, rows)

    def clear(self, sheet: str, top: int, left: int, bottom: int, right: int) -> None:
        """Empty the values of a block; formats (and the cells' styles) stay."""
        cells = self._sheet(sheet)._cells
        for cell in _cells_in(cells, top, left, bottom, right):
            if type(cell) is not MergedCell:
                cell._value = None
                cell.data_type = "n"

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
        path = self.path
        lock = find_lock(path)
        if lock is not None:
            raise _locked_error(path, lock)
        try:
            info = path.stat()
        except FileNotFoundError:
            info = None
        if info is not None and (
            not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
            or not os.access(path, os.W_OK)
        ):
            raise _read_only_error(path, folder=False)
        if not os.access(_real(path).parent, os.W_OK):
            raise _read_only_error(path, folder=True)

    def save(self) -> None:
        """Write the workbook atomically (temporary file + replace); the original file stays
        untouched if anything goes wrong, and so does a file someone else changed meanwhile."""
        path = self.path
        self.check_writable()
        if self._writer_lock is None:  # a second save of this grid: lock again for it
            self._writer_lock = _writer_lock(path, None)
        try:
            self._save_locked()
        finally:
            # Load -> replace is done: the next command may go on (a later save of this
            # grid takes the lock again, and finds any change made meanwhile).
            held, self._writer_lock = self._writer_lock, None
            held.close()

    def _save_locked(self) -> None:
        path = self.path
        try:
            data = self._serialise()
        except Exception as exc:
            raise _save_failed(path, "the workbook could not be written") from exc
        # A workbook reached through a symbolic link: replace the file it points to, not the link.
        target = _real(path)
        mode = _target_mode(target)
        temp = target.with_name(f"{TEMP_PREFIX}{target.stem}-{secrets.token_hex(4)}{target.suffix}")
        replaced = False
        try:
            try:
                self._write_temp(temp, data, mode)
            except PermissionError as exc:
                raise _read_only_error(path, folder=True) from exc
            except OSError as exc:
                raise _save_failed(path, _os_reason(exc)) from exc
            # Right before the replace (serialising takes seconds): nothing another program
            # saved meanwhile is overwritten. Other kolaybi-xl commands wait for our lock.
            self._check_unchanged()
            try:
                _replace(temp, target)
            except PermissionError as exc:
                raise _in_use_error(path, saving=True) from exc
            except OSError as exc:
                raise _save_failed(path, _os_reason(exc)) from exc
            replaced = True
        finally:
            if not replaced:
                _remove_quietly(temp)
        _fsync_folder(target.parent)
        self._snapshot = _Snapshot(True, *_stat_pair(path), hashlib.sha256(data).hexdigest())

    def _serialise(self) -> bytes:
        buffer = io.BytesIO()
        workbook = self.workbook
        cells = sum(len(getattr(sheet, "_cells", ())) for sheet in workbook.worksheets)
        with paused_gc(cells // 20):  # one XML element (and more) per cell
            workbook.save(buffer)
        data = buffer.getvalue()
        if self._xlsm and not _has_vba_part(self.workbook):
            data = _drop_dangling_vba_relationship(data)
        return data

    @staticmethod
    def _write_temp(temp: Path, data: bytes, mode: int | None) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        fd = os.open(temp, flags, 0o666 if mode is None else 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)

    def _check_unchanged(self) -> None:
        before = self._snapshot
        path = self.path
        try:
            size, mtime_ns = _stat_pair(path)
        except FileNotFoundError:
            if not before.exists:
                return
            raise WorkbookError(
                "{name} was moved or deleted by another program after it was opened; "
                "nothing was saved. Run the command again.",
                name=path.name,
                path=path,
                reason="changed",
            ) from None
        if before.exists and (size, mtime_ns) == (before.size, before.mtime_ns):
            return
        if before.exists:
            with contextlib.suppress(OSError):
                if hashlib.sha256(path.read_bytes()).hexdigest() == before.digest:
                    return
        raise WorkbookError(
            "{name} was changed by another program after it was opened; nothing was "
            "saved, so those changes are kept. Run the command again.",
            name=path.name,
            path=path,
            reason="changed",
        )


# -- helpers ----------------------------------------------------------------------------------


def lock_file(path: Path) -> Path:
    """The writer lock's sidecar file of a workbook (through symbolic links: one per file)."""
    real = _real(path)
    return real.with_name(LOCK_PREFIX + real.name)


def _lock_wait_default() -> float:
    text = os.environ.get(ENV_LOCK_WAIT, "").strip()
    try:
        return max(0.0, float(text)) if text else DEFAULT_LOCK_WAIT
    except ValueError:
        return DEFAULT_LOCK_WAIT


def _writer_lock(path: Path, wait: float | None) -> contextlib.ExitStack:
    """Take the workbook's writer lock (see the module docstring), or a clear error."""
    wait = _lock_wait_default() if wait is None else wait
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(exclusive(lock_file(path), wait=wait))
    except Busy:
        raise WorkbookError(
            "{name} is busy: another kolaybi-xl command (fetch, collect, report, …) is "
            "saving it; try again when it has finished. Nothing was changed.",
            name=path.name,
            path=path,
            reason="busy",
        ) from None
    except FileNotFoundError:
        raise WorkbookError(
            "Cannot create {name}: the folder {parent} does not exist",
            name=path.name,
            parent=path.parent,
            path=path,
            reason="not_found",
        ) from None
    except PermissionError:
        raise _read_only_error(path, folder=True) from None
    except OSError as exc:
        raise _save_failed(path, _os_reason(exc)) from None
    return stack


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


def _merged_error(path: Path, sheet: str, coordinate: str) -> WorkbookError:
    return WorkbookError(
        "{name}: cell {coordinate} on sheet {sheet} is inside merged cells; unmerge "
        "them and try again",
        name=path.name,
        coordinate=coordinate,
        sheet=sheet,
        path=path,
        reason="merged",
    )


def _save_failed(path: Path, why: str) -> WorkbookError:
    return WorkbookError(
        "Cannot save {name}: {why}. The file on disk is unchanged.",
        name=path.name,
        why=why,
        path=path,
        reason="save_failed",
    )


def _write_checked(
    ws: Any, path: Path, sheet: str, top: int, left: int, rows: Sequence[Sequence[CellValue]]
) -> None:
    """``FileGrid.write`` through ``ws.cell`` (which checks the bounds), one cell at a time."""
    cell_at = ws.cell
    for r, row in enumerate(rows, start=top):
        for c, value in enumerate(row, start=left):
            cell = cell_at(row=r, column=c)
            if type(cell) is MergedCell:
                if value is None:
                    continue
                raise _merged_error(path, sheet, cell.coordinate)
            _store(cell, value)


def _store(cell: Any, value: CellValue) -> None:
    """One value into one cell: ``cell_values.cell_value`` decides what it becomes, this sets
    the openpyxl attributes (value, data type, quote prefix) without openpyxl's type inference."""
    stored: Any = cell_value(value)  # narrowed by ``kind`` below, which mypy does not follow
    kind = type(stored)
    _set_quote_prefix(cell, quote_prefixed(stored))
    if kind is str:
        cell._value = stored
        cell.data_type = "s"  # never a formula ("=..."), never an error value ("#N/A")
    elif stored is None or kind is int:
        cell._value = stored
        cell.data_type = "n"
    elif kind is float:
        cell._value = _ExactNumber(number_text(stored))
        cell.data_type = "n"
    elif kind is Formula:
        cell._value = str(stored)
        cell.data_type = "f"
    else:  # bool, date, datetime: openpyxl's own typing
        cell.value = stored


def _set_quote_prefix(cell: Any, on: bool) -> None:
    style = cell._style
    if on:
        if style is None or not style.quotePrefix:
            cell.quotePrefix = True
    elif style is not None and style.quotePrefix:
        style.quotePrefix = 0


def _cells_in(
    cells: dict[tuple[int, int], Any], top: int, left: int, bottom: int, right: int
) -> Iterator[Any]:
    """The existing cells of a block, without creating any."""
    area = max(0, bottom - top + 1) * max(0, right - left + 1)
    if area <= len(cells):
        for row in range(top, bottom + 1):
            for column in range(left, right + 1):
                cell = cells.get((row, column))
                if cell is not None:
                    yield cell
    else:
        for (row, column), cell in list(cells.items()):
            if top <= row <= bottom and left <= column <= right:
                yield cell


def _real(path: Path) -> Path:
    """The file a path names, through symbolic links (the path itself if it is none)."""
    return Path(os.path.realpath(path))


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    return exc.strerror or "write error"


def _target_mode(path: Path) -> int | None:
    """Permission bits for the saved file: the original's; None for a new file (the umask's)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None


def _stat_pair(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _replace(temp: Path, path: Path) -> None:
    for attempt in range(REPLACE_ATTEMPTS):
        try:
            os.replace(temp, path)
            return
        except PermissionError:
            if attempt + 1 == REPLACE_ATTEMPTS:
                raise
            time.sleep(REPLACE_RETRY_SECONDS * (attempt + 1))


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open folders this way."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

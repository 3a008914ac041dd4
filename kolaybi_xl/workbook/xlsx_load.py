"""Reading a workbook file: its bytes and snapshot, a sniff of the content, the zip-bomb
bound, and openpyxl's load, each failure as one clear ``WorkbookError``.

Loads are bounded: a package that would expand past ``MAX_EXPANSION`` times its size (and over
``MAX_UNPACKED`` bytes), or with a member over ``MAX_MEMBER`` bytes, is refused before parsing.
XML with entity tricks is refused too (``defusedxml`` is active).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from defusedxml import DefusedXmlException

from ..gcpause import paused_gc
from ..i18n import Message
from . import layout
from .xlsx_errors import (
    WorkbookError,
    damaged,
    in_use_error,
    is_folder,
    not_found,
    sharing_violation,
)

OLE_MAGIC = b"\xd0\xcf\x11\xe0"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")

# Zip bombs: a workbook expands a lot (10-20x is common), but not 50x *and* past 200 MB.
MAX_EXPANSION = 50
MAX_UNPACKED = 200 * 1024 * 1024
MAX_MEMBER = 400 * 1024 * 1024


@dataclass(frozen=True)
class Snapshot:
    """What the file on disk looked like when this grid last read or wrote it."""

    exists: bool
    size: int = 0
    mtime_ns: int = 0
    digest: str = ""


def stat_pair(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def read_with_snapshot(path: Path) -> tuple[bytes, Snapshot]:
    """The file's bytes, and its size and time as they were *before* reading: a change made
    while we read shows up as a difference at save time."""
    try:
        size, mtime_ns = stat_pair(path)
    except FileNotFoundError:
        raise not_found(path) from None
    except OSError:
        size = mtime_ns = -1
    data = read_bytes(path)
    return data, Snapshot(True, size, mtime_ns, hashlib.sha256(data).hexdigest())


def read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise not_found(path) from None
    except IsADirectoryError:
        raise is_folder(path) from None
    except PermissionError as exc:
        if sharing_violation(exc):
            raise in_use_error(path, saving=False) from None
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


def sniff(path: Path, data: bytes) -> None:
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


def check_expansion(path: Path, data: bytes) -> None:
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


def load(path: Path, data: bytes, *, keep_vba: bool) -> Any:
    """openpyxl's workbook from the file's bytes, or a clear ``WorkbookError``."""
    sniff(path, data)
    check_expansion(path, data)
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
        raise damaged(path) from exc


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


def new_workbook(xlsm: bool) -> Any:
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

"""``WorkbookError`` and the one-line messages a workbook file can give.

Each factory names the file and says what to do, in English (the msgid, translated through the
catalogue); never a traceback or an exception repr.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..i18n import N_, Message

SUPPORTED_SUFFIXES = (".xlsx", ".xlsm")


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


def check_suffix(path: Path) -> str:
    """The path's suffix (lower case) if it is a supported workbook type, else a clear error."""
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


def in_use_error(path: Path, saving: bool) -> WorkbookError:
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


def read_only_error(path: Path, folder: bool) -> WorkbookError:
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


def not_found(path: Path) -> WorkbookError:
    return WorkbookError(
        "Workbook not found: {where}",
        where=path,
        path=path,
        reason="not_found",
    )


def is_folder(path: Path) -> WorkbookError:
    return WorkbookError(
        "{name} is a folder, not a workbook: give the path of an .xlsx or .xlsm file",
        name=path.name,
        path=path,
        reason="format",
    )


def damaged(path: Path) -> WorkbookError:
    return WorkbookError(
        "{name} is damaged or not an Excel workbook: open it in Excel, save it again and try again",
        name=path.name,
        path=path,
        reason="damaged",
    )


def merged_error(path: Path, sheet: str, coordinate: str) -> WorkbookError:
    return WorkbookError(
        "{name}: cell {coordinate} on sheet {sheet} is inside merged cells; unmerge "
        "them and try again",
        name=path.name,
        coordinate=coordinate,
        sheet=sheet,
        path=path,
        reason="merged",
    )


def save_failed(path: Path, why: str) -> WorkbookError:
    return WorkbookError(
        "Cannot save {name}: {why}. The file on disk is unchanged.",
        name=path.name,
        why=why,
        path=path,
        reason="save_failed",
    )


def os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    return exc.strerror or "write error"


def sharing_violation(exc: OSError) -> bool:
    """A Windows sharing/lock violation (the file is open in another program)."""
    return getattr(exc, "winerror", None) in (32, 33)

"""Who else has a workbook: spreadsheet lock files, and kolaybi-xl's own writer lock.

- Excel leaves an owner file ``~$name`` beside an open workbook, LibreOffice a lock file
  ``.~lock.name#``; ``find_lock`` reads either (with the user's name when it can).
- One writer at a time: ``writer_lock`` takes an operating-system lock on a sidecar file
  (``.kolaybi-lock.<name>``, which spreadsheet lock detection ignores); a second command waits
  ``$KOLAYBI_XL_LOCK_WAIT`` seconds (default 5), then is told the workbook is busy.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..i18n import N_, Message
from ..oslock import Busy, exclusive
from .cells import clean_text
from .xlsx_errors import WorkbookError, os_reason, read_only_error, save_failed

# The writer lock: how long a second command waits for the first (``KOLAYBI_XL_LOCK_WAIT``).
LOCK_PREFIX = ".kolaybi-lock."
DEFAULT_LOCK_WAIT = 5.0
ENV_LOCK_WAIT = "KOLAYBI_XL_LOCK_WAIT"

LOCK_PLACES = {"Excel": N_("in Excel"), "LibreOffice": N_("in LibreOffice")}


@dataclass(frozen=True)
class Lock:
    """A lock file saying a spreadsheet program has the workbook open."""

    path: Path
    owner: str | None
    program: str  # "Excel" or "LibreOffice"


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


def locked_error(path: Path, lock: Lock) -> WorkbookError:
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


def real_path(path: Path) -> Path:
    """The file a path names, through symbolic links (the path itself if it is none)."""
    return Path(os.path.realpath(path))


def lock_file(path: Path) -> Path:
    """The writer lock's sidecar file of a workbook (through symbolic links: one per file)."""
    real = real_path(path)
    return real.with_name(LOCK_PREFIX + real.name)


def _lock_wait_default() -> float:
    text = os.environ.get(ENV_LOCK_WAIT, "").strip()
    try:
        return max(0.0, float(text)) if text else DEFAULT_LOCK_WAIT
    except ValueError:
        return DEFAULT_LOCK_WAIT


def writer_lock(path: Path, wait: float | None) -> contextlib.ExitStack:
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
        raise read_only_error(path, folder=True) from None
    except OSError as exc:
        raise save_failed(path, os_reason(exc)) from None
    return stack

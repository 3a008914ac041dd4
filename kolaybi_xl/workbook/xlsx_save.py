"""Saving a workbook file atomically, and refusing a save that would lose someone's work.

A temporary ``.~kolaybi-*`` file in the same folder, flushed and fsynced, then ``os.replace``
(see ``kolaybi_xl.atomic``); on any failure the original file is untouched and the temporary
file removed. A workbook open in Excel (its ``~$`` owner file is there, or Windows refuses the
replace), read-only, or changed by another program since it was opened is never overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import secrets
import stat
import zipfile
from pathlib import Path
from typing import Any

from ..atomic import fsync_folder, remove_quietly, replace_retrying, write_new_synced
from ..gcpause import paused_gc
from .xlsx_errors import WorkbookError, in_use_error, os_reason, read_only_error, save_failed
from .xlsx_load import Snapshot, stat_pair
from .xlsx_locks import find_lock, locked_error, real_path

TEMP_PREFIX = ".~kolaybi-"


def check_writable(path: Path) -> None:
    """Raise ``WorkbookError`` now if a save would be refused (lock, read-only file)."""
    lock = find_lock(path)
    if lock is not None:
        raise locked_error(path, lock)
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    if info is not None and (
        not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        or not os.access(path, os.W_OK)
    ):
        raise read_only_error(path, folder=False)
    if not os.access(real_path(path).parent, os.W_OK):
        raise read_only_error(path, folder=True)


def save_atomically(path: Path, data: bytes, before: Snapshot) -> Snapshot:
    """Write ``data`` over ``path`` (temporary file + replace), unless the file changed
    since ``before``; the snapshot of what was written."""
    # A workbook reached through a symbolic link: replace the file it points to, not the link.
    target = real_path(path)
    mode = _target_mode(target)
    temp = target.with_name(f"{TEMP_PREFIX}{target.stem}-{secrets.token_hex(4)}{target.suffix}")
    replaced = False
    try:
        try:
            write_new_synced(temp, data, mode)
        except PermissionError as exc:
            raise read_only_error(path, folder=True) from exc
        except OSError as exc:
            raise save_failed(path, os_reason(exc)) from exc
        # Right before the replace (serialising takes seconds): nothing another program
        # saved meanwhile is overwritten. Other kolaybi-xl commands wait for our lock.
        _check_unchanged(path, before)
        try:
            replace_retrying(temp, target)
        except PermissionError as exc:
            raise in_use_error(path, saving=True) from exc
        except OSError as exc:
            raise save_failed(path, os_reason(exc)) from exc
        replaced = True
    finally:
        if not replaced:
            remove_quietly(temp)
    fsync_folder(target.parent)
    return Snapshot(True, *stat_pair(path), hashlib.sha256(data).hexdigest())


def serialise(workbook: Any, xlsm: bool) -> bytes:
    """The workbook as package bytes (without a dangling VBA link in a macro-free ``.xlsm``)."""
    buffer = io.BytesIO()
    cells = sum(len(getattr(sheet, "_cells", ())) for sheet in workbook.worksheets)
    with paused_gc(cells // 20):  # one XML element (and more) per cell
        workbook.save(buffer)
    data = buffer.getvalue()
    if xlsm and not _has_vba_part(workbook):
        data = _drop_dangling_vba_relationship(data)
    return data


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


def _check_unchanged(path: Path, before: Snapshot) -> None:
    try:
        size, mtime_ns = stat_pair(path)
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


def _target_mode(path: Path) -> int | None:
    """Permission bits for the saved file: the original's; None for a new file (the umask's)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None

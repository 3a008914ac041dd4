"""Durable file writes, shared by the workbook save and the journal.

A new file is written and fsynced before it is renamed into place; the folder is fsynced after
the rename (or after a file was created in it) so the directory entry survives a power cut too.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

# Windows refuses a replace while an antivirus or indexer has the file open for a moment:
# try a few times before giving up.
REPLACE_ATTEMPTS = 3
REPLACE_RETRY_SECONDS = 0.15


def write_new_synced(path: Path, data: bytes, mode: int | None) -> None:
    """Create ``path`` (it must not exist), write ``data`` and fsync it; ``mode`` sets the
    permission bits afterwards (None: the umask's, as for any new file)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o666 if mode is None else 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    if mode is not None:
        os.chmod(path, mode)


def replace_retrying(source: Path, target: Path) -> None:
    """``os.replace``, tried again a few times while Windows says the target is in use."""
    for attempt in range(REPLACE_ATTEMPTS):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if attempt + 1 == REPLACE_ATTEMPTS:
                raise
            time.sleep(REPLACE_RETRY_SECONDS * (attempt + 1))


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new file's directory entry durable (POSIX; Windows cannot open
    folders this way, so it is a no-op there)."""
    if os.name != "posix":  # pragma: no cover
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()

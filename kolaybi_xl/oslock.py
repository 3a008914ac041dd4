"""Operating-system file locks, shared by the journal and the workbook writer lock.

``fcntl.flock`` on POSIX, ``msvcrt.locking`` (one byte) on Windows. Both are released by the
operating system when the process dies, also after ``kill -9``: a crashed run never leaves a
lock behind, at most a harmless empty file.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def try_lock(handle: IO[bytes]) -> bool:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def lock_wait(handle: IO[bytes]) -> None:
        handle.seek(0)
        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)  # retries for ~10 s
                return
            except OSError:
                continue

    def unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        with contextlib.suppress(OSError):
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, PermissionError):
            return False
        return True

    def lock_wait(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)

    def unlock(handle: IO[bytes]) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def open_private(path: Path, flags: int) -> int:
    """Open (creating with owner-only permissions) a file of ours."""
    return os.open(path, flags | getattr(os, "O_BINARY", 0), 0o600)


class Busy(Exception):
    """The lock is held by someone else and was not released within the wait."""


def _same_file(handle: IO[bytes], path: Path) -> bool:
    """Whether ``path`` still names the file we locked (a releasing holder may have removed
    it meanwhile: then our lock guards nothing and we must lock the new file)."""
    try:
        mine, there = os.fstat(handle.fileno()), os.stat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


@contextlib.contextmanager
def exclusive(
    path: Path,
    *,
    wait: float = 0.0,
    remove: bool = True,
    poll: float = 0.05,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[IO[bytes]]:
    """Hold an exclusive lock on the file ``path`` (created if missing).

    Waits up to ``wait`` seconds for another holder, then raises ``Busy``. With ``remove``
    the file is deleted on release, so nothing stays beside the locked thing (a holder that
    is killed leaves the empty file; the next one reuses it).
    """
    deadline = clock() + max(0.0, wait)
    while True:
        fd = open_private(path, os.O_RDWR | os.O_CREAT)
        handle = os.fdopen(fd, "r+b")
        if try_lock(handle):
            if sys.platform == "win32" or _same_file(handle, path):  # pragma: no branch
                break
            unlock(handle)  # locked a file that was removed meanwhile: again
            handle.close()
            continue
        handle.close()
        if clock() >= deadline:
            raise Busy(str(path))
        sleep(poll)
    try:
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n".encode())
            handle.flush()
        yield handle
    finally:
        if remove and sys.platform != "win32":
            # Unlink while still holding the lock: a waiter that then locks the old file
            # notices (``_same_file``) and starts over. Windows cannot delete an open file.
            with contextlib.suppress(OSError):
                path.unlink()
        unlock(handle)
        handle.close()
        if remove and sys.platform == "win32":  # pragma: no cover
            with contextlib.suppress(OSError):
                path.unlink()


__all__ = ["Busy", "exclusive", "lock_wait", "open_private", "try_lock", "unlock"]

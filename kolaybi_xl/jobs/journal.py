"""The collection journal: an append-only record, per user and outside any workbook, of every
collection attempt — written to disk *before* the money moves.

One JSON object per line, one line per event:

- ``intent``  — about to send ``proceed`` for (account, document, vault, amount); fsync'd
  before the request leaves;
- ``outcome`` — what became of it: ``applied``, ``not_applied``, ``failed`` (the server refused,
  nothing applied), ``elsewhere`` (not ours: another collection closed the invoice) or
  ``unknown`` (it may have been applied; reconcile before anything else); a later ``outcome``
  of the same attempt supersedes an earlier ``unknown``;

An intent also records what settling it needs later, in this run or another: the wall-clock
time it was sent (``t``: an unanswered request counts as possibly in progress until a horizon
after it), the workbook it came from (path and the id stored in the workbook), and the ids of
the vault's transactions of this amount seen before sending (``seen``: a new one afterwards is
evidence that *this* request was applied). An outcome records whether the server answered.
- ``written`` — the final outcome has been saved into a workbook.

An intent has a ``kind``: ``collect`` (a proceed; records of older versions have no kind and
are collections) or ``undo`` (a DELETE of the invoice's collections; ``amount`` is what the
invoice had collected, ``remaining_before`` its remaining amount, ``vault_id`` 0). Settling an
undo reads the invoice the other way round: the remaining amount went back up -> applied.

So a run that dies at any point leaves enough behind for the next one: attempts without a final
outcome are reconciled against KolayBi (``pending``), final outcomes not yet saved to a workbook
are written there (``unwritten``). The API key and tokens are never part of a record.

Readers tolerate a torn last line (a crash mid-write) and garbage lines: they are skipped with a
warning. Appends are serialised by a lock (threads of this process and, through the file lock,
other processes), and a torn tail is terminated before the next record so it cannot swallow it.
While a run holds its account lock, the journal and that lock's side file stay open (no open
per record; each record is still fsync'd before it returns, and records written by
concurrent senders meanwhile share one fsync instead of queueing for one each).

While a collection runs it holds an exclusive, non-blocking lock for its account (a lock file
beside the journal): a second collection for the same account fails at once with ``JobError``.

This module is the file and its locks; ``journal_records`` is what a line holds and how the
lines of an attempt fold into an ``Attempt``; ``status.RowStatus`` spells the results.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from ..atomic import fsync_folder
from ..oslock import Busy, exclusive, lock_wait, open_private, unlock
from .account import normalise_key
from .errors import ExitCode, JobError
from .journal_records import (
    COLLECT,
    EVENTS,
    INTENT,
    KINDS,
    OUTCOME,
    UNDO,
    WRITTEN,
    Attempt,
    fold_attempts,
    intent_record,
    now_iso,
    outcome_record,
    valid,
    with_outcome,
    written_record,
)
from .status import RESULTS, RowStatus, result_status

log = logging.getLogger(__name__)

ENV_JOURNAL = "KOLAYBI_XL_JOURNAL"
APP_NAME = "kolaybi-xl"

# The results are ``RowStatus`` members (their values are the strings on disk); these names
# stay for the modules and tests that import them from here.
APPLIED = RowStatus.APPLIED
NOT_APPLIED = RowStatus.NOT_APPLIED
FAILED = RowStatus.FAILED
UNKNOWN = RowStatus.UNKNOWN
ELSEWHERE = RowStatus.ELSEWHERE
FINAL_RESULTS = frozenset(r for r in RESULTS if r.final)


class Journal:
    """The journal file at ``path`` (created with its directory on the first write)."""

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path).expanduser()
        self.clock = clock
        self._append_lock = threading.Lock()
        self._files: _OpenFiles | None = None  # kept open while a run holds the lock
        self._runs = 0

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    @classmethod
    def default(cls) -> Journal:
        """``$KOLAYBI_XL_JOURNAL``, else ``journal.jsonl`` in the user's data directory."""
        override = os.environ.get(ENV_JOURNAL, "").strip()
        if override:
            return cls(Path(override))
        import platformdirs

        return cls(platformdirs.user_data_path(APP_NAME, appauthor=False) / "journal.jsonl")

    def _unusable(self, exc: OSError) -> JobError:
        """One line for a journal that cannot be read or written (a bad path, a full disk)."""
        why = exc.strerror or type(exc).__name__
        return JobError(
            "the collection journal {path} cannot be used ({why}); fix the folder's "
            "permissions or set {ENV_JOURNAL} to a writable file. Nothing was sent.",
            path=self.path,
            why=why,
            ENV_JOURNAL=ENV_JOURNAL,
            exit_code=ExitCode.BAD_INPUT,
        )

    # -- writing ----------------------------------------------------------------------------

    def _append(self, *records: dict[str, Any]) -> None:
        """Append records (one write) and make them durable (flush + fsync) before returning."""
        data = "".join(
            json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
            for record in records
        ).encode("utf-8")
        with self._append_lock:  # threads of this process
            directory = self.path.parent
            if self._files is None:  # open files: the folder is there (no mkdir per record)
                directory.mkdir(parents=True, exist_ok=True)
            # A journal held open that the path still names exists: no stat per record for it.
            was_open = self._files is not None and self._files.names(self.path)
            created = not was_open and not self.path.exists()
            files = self._open_files(checked=was_open)
            try:
                # Other processes (another account's collection) append to the same file;
                # they take turns through a side file, so readers are never blocked (Windows
                # locks are mandatory: locking the journal itself would make it unreadable).
                lock_wait(files.guard)
                try:
                    _write_record(files.handle, data)
                finally:
                    unlock(files.guard)
                files.written += 1
                number = files.written
                # Its own descriptor of the file, for the fsync below.
                synced = os.dup(files.handle.fileno())
            finally:
                if not self._runs:
                    self._close_files()
        # The fsync runs outside the append lock, and one fsync covers every record written
        # before it started: the senders' records (an intent and an outcome per send, on 4
        # threads) share fsyncs instead of queueing for one each. Each record is still on disk
        # when this returns.
        try:
            files.sync_through(number, synced)
        finally:
            os.close(synced)
        if created:
            fsync_folder(directory)

    def _open_files(self, *, checked: bool = False) -> _OpenFiles:
        """The journal and its append-lock file, opened once per run (not once per record);
        opened again when the journal file was removed or replaced meanwhile (``checked``:
        the caller has just seen that the path still names the open file)."""
        files = self._files
        if files is not None and not checked and not files.names(self.path):
            self._close_files()
            files = None
        if files is None:
            guard = os.fdopen(
                open_private(
                    self.path.with_name(self.path.name + ".append.lock"), os.O_RDWR | os.O_CREAT
                ),
                "r+b",
            )
            try:
                handle = os.fdopen(
                    open_private(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND), "a+b"
                )
            except BaseException:
                guard.close()
                raise
            files = self._files = _OpenFiles(guard, handle)
        return files

    def _close_files(self) -> None:
        files, self._files = self._files, None
        if files is not None:
            files.close()

    def intent(
        self,
        *,
        key: str,
        document_id: int,
        vault_id: int,
        amount: Decimal,
        currency: str,
        remaining_before: Decimal,
        workbook: str,
        row: int | None,
        vault_name: str = "",
        serial_no: str = "",
        party: str = "",
        invoice_type: str = "",
        grand_total: Decimal | None = None,
        workbook_id: str = "",
        seen: Iterable[int] | None = None,
        seen_at: float | None = None,
        kind: str = COLLECT,
    ) -> Attempt:
        """Record that a proceed (or, ``kind=UNDO``, an undo) is about to be sent; on disk
        when this returns."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        seen_ids = None if seen is None else tuple(sorted(int(i) for i in seen))
        attempt = Attempt(
            attempt=uuid.uuid4().hex,
            key=key,
            document_id=int(document_id),
            vault_id=int(vault_id),
            amount=Decimal(amount),
            currency=currency,
            remaining_before=Decimal(remaining_before),
            workbook=workbook,
            row=row,
            at=now_iso(),
            vault_name=vault_name,
            serial_no=serial_no,
            party=party,
            invoice_type=invoice_type,
            grand_total=grand_total,
            workbook_id=workbook_id,
            sent_at=self.clock(),
            seen=seen_ids,
            seen_at=seen_at,
            kind=kind,
        )
        self._append(intent_record(attempt))
        return attempt

    def outcome(
        self,
        attempt: Attempt,
        result: RowStatus | str,
        detail: str,
        remaining_after: Decimal | None = None,
        *,
        answered: bool | None = None,
    ) -> Attempt:
        """Record what became of an attempt; returns the attempt with the outcome.

        ``answered``: whether the server answered the request (None: not known/not relevant).
        """
        status = result_status(result)
        if status is None:
            raise ValueError(f"unknown result {result!r}")
        updated = with_outcome(attempt, status, detail, remaining_after, now_iso(), answered)
        self._append(outcome_record(updated))
        return updated

    def mark_written(self, attempts: Iterable[Attempt], *, workbook: str | None = None) -> None:
        """Record that these attempts' final outcomes are saved in a workbook."""
        records = [
            written_record(attempt, workbook if workbook is not None else attempt.workbook)
            for attempt in attempts
        ]
        if records:  # one write and one fsync for a run's 2,000 outcomes, not one each
            self._append(*records)

    # -- reading ----------------------------------------------------------------------------

    def records(self) -> Iterator[dict[str, Any]]:
        """Every readable record, in file order; torn or garbage lines are skipped."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise self._unusable(exc) from None
        lines = raw.split(b"\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            torn = number == len(lines)  # no newline after it: a write cut short
            try:
                record = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                record = None
            if not isinstance(record, dict) or not valid(record):
                what = "torn last line" if torn else "unreadable line"
                log.warning("journal %s: skipping %s %d", self.path, what, number)
                continue
            yield record

    def attempts(self, key: str | None = None) -> list[Attempt]:
        """Every attempt (of one account, if ``key`` is given) with its latest outcome."""
        return fold_attempts(self.records(), key, source=self.path)

    def pending(self, key: str) -> list[Attempt]:
        """Attempts of this account with no final outcome (none at all, or ``unknown``)."""
        return [a for a in self.attempts(key) if not a.final]

    def unwritten(self, key: str) -> list[Attempt]:
        """Final outcomes of this account not yet saved into a workbook."""
        return [a for a in self.attempts(key) if a.final and not a.written]

    # -- the account lock ---------------------------------------------------------------------

    def lock_path(self, key: str) -> Path:
        digest = hashlib.sha256(normalise_key(key).encode("utf-8")).hexdigest()[:16]
        return self.path.with_name(f"{self.path.name}.{digest}.lock")

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold the account's exclusive collection lock, or raise ``JobError`` at once."""
        path = self.lock_path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            held = exclusive(path, remove=False)
            held.__enter__()
        except Busy:
            raise JobError(
                "another collection is running for this KolayBi account (another "
                "window, process or a second click); wait for it to finish",
                exit_code=ExitCode.BAD_INPUT,
            ) from None
        except OSError as exc:
            raise self._unusable(exc) from None
        with self._append_lock:
            self._runs += 1
        try:
            yield
        finally:
            with self._append_lock:
                self._runs -= 1
                if not self._runs:
                    self._close_files()
            held.__exit__(None, None, None)


@dataclass
class _OpenFiles:
    guard: IO[bytes]  # the append-lock file
    handle: IO[bytes]  # the journal, opened for appending
    written: int = 0  # records written through ``handle`` (counted once each is written)
    synced: int = 0  # records known to be on disk
    sync_lock: threading.Lock = field(default_factory=threading.Lock)

    def sync_through(self, number: int, fd: int) -> None:
        """Return once record ``number`` of this handle is on disk (``fd``: the file)."""
        with self.sync_lock:  # one fsync at a time; the others wait for it, then look
            if self.synced >= number:
                return  # an fsync that started after this record was written covered it
            covered = self.written  # every record up to here is written (counted after)
            os.fsync(fd)
            self.synced = covered

    def names(self, path: Path) -> bool:
        """Whether ``path`` still names the journal file held open."""
        try:
            return os.path.samestat(os.fstat(self.handle.fileno()), os.stat(path))
        except OSError:
            return False

    def close(self) -> None:
        for handle in (self.handle, self.guard):
            with contextlib.suppress(OSError):
                handle.close()


def _write_record(handle: IO[bytes], data: bytes) -> None:
    """Append ``data`` (flushed to the operating system; the caller fsyncs)."""
    size = handle.seek(0, os.SEEK_END)
    if size:
        handle.seek(size - 1)
        if handle.read(1) != b"\n":
            # A torn last line (a crash mid-write, or another process's): end it, so it
            # cannot swallow this record.
            data = b"\n" + data
    handle.write(data)  # O_APPEND: always at the end
    handle.flush()


__all__ = [
    "APPLIED",
    "COLLECT",
    "ELSEWHERE",
    "ENV_JOURNAL",
    "EVENTS",
    "FAILED",
    "FINAL_RESULTS",
    "INTENT",
    "KINDS",
    "NOT_APPLIED",
    "OUTCOME",
    "RESULTS",
    "UNDO",
    "UNKNOWN",
    "WRITTEN",
    "Attempt",
    "Journal",
    "RowStatus",
]

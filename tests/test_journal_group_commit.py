"""The journal's records share fsyncs between threads (group commit) and each is still on disk
when its call returns: an fsync that started after the record was written has finished."""

from __future__ import annotations

import os
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from kolaybi_xl.jobs import journal as journal_mod
from kolaybi_xl.jobs.journal import APPLIED, Journal

THREADS, PER_THREAD = 4, 25


def test_every_record_is_on_disk_when_its_call_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    done: list[int] = []  # file sizes covered by finished fsyncs
    started = threading.Event()
    real_fsync, real_write = os.fsync, journal_mod._write_record
    ends = threading.local()

    def fsync(fd: int) -> None:
        size = os.fstat(fd).st_size  # what this fsync covers: everything written so far
        real_fsync(fd)
        done.append(size)

    def write(handle, data: bytes) -> None:  # type: ignore[no-untyped-def]
        real_write(handle, data)
        ends.offset = handle.tell()  # where this thread's record ends

    monkeypatch.setattr(journal_mod.os, "fsync", fsync)
    monkeypatch.setattr(journal_mod, "_write_record", write)
    failures: list[str] = []

    def durable(what: str) -> None:
        if not any(size >= ends.offset for size in list(done)):
            failures.append(f"{what} returned before an fsync covered it")

    def sender(first: int) -> None:
        started.wait()
        for n in range(first, first + PER_THREAD):
            attempt = journal.intent(
                key="K",
                document_id=n,
                vault_id=1,
                amount=Decimal("10.00"),
                currency="TRY",
                remaining_before=Decimal("10.00"),
                workbook="book.xlsx",
                row=n,
            )
            durable(f"intent {n}")
            journal.outcome(attempt, APPLIED, "ok", Decimal(0), answered=True)
            durable(f"outcome {n}")

    with journal.lock("K"):
        threads = [
            threading.Thread(target=sender, args=(1 + i * PER_THREAD,)) for i in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        started.set()
        for thread in threads:
            thread.join()
    assert failures == []
    records = THREADS * PER_THREAD * 2
    assert len(done) <= records  # shared, never more than one per record
    assert sorted(a.document_id for a in journal.attempts("K")) == list(
        range(1, THREADS * PER_THREAD + 1)
    )
    assert all(a.result == APPLIED for a in journal.attempts("K"))

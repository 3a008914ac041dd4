"""The journal stays open for a run: no file opened per record, the same records on disk."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kolaybi_xl.jobs import journal as journal_mod
from kolaybi_xl.jobs.journal import APPLIED, Journal


def _intent(journal: Journal, document_id: int) -> Any:
    return journal.intent(
        key="K",
        document_id=document_id,
        vault_id=1,
        amount=Decimal("10.00"),
        currency="TRY",
        remaining_before=Decimal("10.00"),
        workbook="book.xlsx",
        row=document_id,
    )


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the journal opens for writing."""
    seen: list[str] = []
    real = journal_mod.open_private

    def counting(path: Path, flags: int) -> int:
        seen.append(Path(path).name)
        return real(path, flags)

    monkeypatch.setattr(journal_mod, "open_private", counting)
    return seen


def test_a_run_opens_the_journal_once(tmp_path: Path, opens: list[str]) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    with journal.lock("K"):
        for n in range(1, 6):
            attempt = _intent(journal, n)
            journal.outcome(attempt, APPLIED, "ok", Decimal(0), answered=True)
    writes = [name for name in opens if name.startswith("journal.jsonl") and "lock" not in name]
    guards = [name for name in opens if name.endswith(".append.lock")]
    assert (writes, guards) == (["journal.jsonl"], ["journal.jsonl.append.lock"])
    # every record is on disk, in order, and the files were closed with the run
    assert [(a.document_id, a.result) for a in journal.attempts("K")] == [
        (n, APPLIED) for n in range(1, 6)
    ]
    assert journal._files is None


def test_outside_a_run_each_record_opens_and_closes(tmp_path: Path, opens: list[str]) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    _intent(journal, 1)
    _intent(journal, 2)
    assert opens.count("journal.jsonl") == 2
    assert journal._files is None
    assert len(journal.attempts("K")) == 2


def test_a_journal_removed_during_a_run_is_written_again(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    with journal.lock("K"):
        _intent(journal, 1)
        path.unlink()  # e.g. the user cleared the folder: later records must not vanish
        _intent(journal, 2)
        assert [a.document_id for a in journal.attempts("K")] == [2]


def test_a_torn_line_from_another_writer_is_ended_first(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    with journal.lock("K"):
        _intent(journal, 1)
        with path.open("ab") as other:  # another process died mid-record
            other.write(b'{"event":"intent","torn')
        _intent(journal, 2)
    assert [a.document_id for a in journal.attempts("K")] == [1, 2]

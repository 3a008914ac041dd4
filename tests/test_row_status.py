"""RowStatus: one spelling of a row's / an attempt's state; the journal's strings unchanged."""

from __future__ import annotations

import json
from decimal import Decimal

from kolaybi_xl.jobs import journal as journal_module
from kolaybi_xl.jobs.collect import records
from kolaybi_xl.jobs.journal import Journal
from kolaybi_xl.jobs.status import RESULTS, RowStatus
from kolaybi_xl.workbook import layout


def test_the_journal_strings_on_disk_are_the_enum_values() -> None:
    assert {r.value for r in RESULTS} == {
        "applied",
        "not_applied",
        "failed",
        "unknown",
        "elsewhere",
    }
    assert journal_module.APPLIED is RowStatus.APPLIED
    assert RESULTS - {RowStatus.UNKNOWN} == journal_module.FINAL_RESULTS
    # a row's states: the old constants are the members, still equal to their strings
    assert records.DONE == "done"
    assert records.FAILED_ROW is RowStatus.FAILED
    assert records.UNKNOWN_ROW is RowStatus.UNKNOWN
    assert records.UNCHANGED == "unchanged"
    assert str(RowStatus.NOT_APPLIED) == f"{RowStatus.NOT_APPLIED}" == "not_applied"


def test_outcome_words() -> None:
    assert RowStatus.DONE.word() == RowStatus.APPLIED.word() == layout.OUTCOME_DONE
    assert RowStatus.APPLIED.word(undo=True) == layout.OUTCOME_UNDONE
    assert RowStatus.NOT_APPLIED.word() == RowStatus.FAILED.word() == layout.OUTCOME_ERROR
    assert RowStatus.UNKNOWN.word() == layout.OUTCOME_UNKNOWN
    assert RowStatus.ELSEWHERE.word() == RowStatus.SKIPPED.word() == layout.OUTCOME_SKIPPED
    assert [s for s in RowStatus if s.is_error] == [RowStatus.FAILED, RowStatus.UNKNOWN]


def test_journal_writes_and_reads_the_same_strings(tmp_path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    attempt = journal.intent(
        key="k",
        document_id=7,
        vault_id=1,
        amount=Decimal("10"),
        currency="TRY",
        remaining_before=Decimal("10"),
        workbook="w.xlsx",
        row=5,
    )
    journal.outcome(attempt, RowStatus.NOT_APPLIED, "x")
    journal.outcome(attempt, "applied", "y")  # a plain string is accepted too
    lines = [json.loads(line) for line in journal.path.read_text("utf-8").splitlines()]
    assert [line.get("result") for line in lines] == [None, "not_applied", "applied"]
    (read,) = journal.attempts("k")
    assert read.result is RowStatus.APPLIED
    assert read.final


def test_an_old_journal_line_still_reads(tmp_path) -> None:
    path = tmp_path / "journal.jsonl"
    intent = {
        "event": "intent",
        "attempt": "a1",
        "key": "k",
        "document_id": 3,
        "vault_id": 2,
        "amount": "5",
        "currency": "TRY",
        "remaining_before": "5",
        "workbook": "w.xlsx",
        "row": 4,
        "at": "2024-01-01T00:00:00+03:00",
    }
    outcome = {**intent, "event": "outcome", "result": "unknown", "detail": "Hata: ..."}
    future = {**intent, "event": "outcome", "result": "something-newer"}
    path.write_text("\n".join(json.dumps(r) for r in (intent, outcome, future)) + "\n", "utf-8")
    (read,) = Journal(path).pending("k")
    assert read.result is RowStatus.UNKNOWN
    assert not read.final

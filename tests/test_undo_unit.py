"""Undo's small parts: the mark, the journal's kind, and how an unclear undo is judged."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from kolaybi_xl.api.models import Invoice
from kolaybi_xl.jobs.collect.settle import WAIT, _judge_undo
from kolaybi_xl.jobs.journal import APPLIED, COLLECT, NOT_APPLIED, UNDO, UNKNOWN, Journal
from kolaybi_xl.workbook.cells import CellError, is_undo_mark, parse_mark


@pytest.mark.parametrize("text", ["geri al", "GERİ AL", "  Geri   Al ", "Geri al", "GERI AL"])
def test_geri_al_marks_for_undo_and_is_not_a_collection_mark(text: str) -> None:
    assert is_undo_mark(text)
    assert parse_mark(text) is False  # collect leaves such rows alone, without an error


@pytest.mark.parametrize("value", ["x", "", None, "geri", "geri alma", 1, True])
def test_other_values_are_not_undo_marks(value: object) -> None:
    assert not is_undo_mark(value)


def test_a_near_miss_is_still_an_error_for_collect() -> None:
    with pytest.raises(CellError):
        parse_mark("geri")


def _intent(journal: Journal, **kw: object) -> object:
    args: dict[str, object] = {
        "key": "http://127.0.0.1/kolaybi/v1|kanal",
        "document_id": 7,
        "vault_id": 0,
        "amount": Decimal("150.00"),
        "currency": "TRY",
        "remaining_before": Decimal("0"),
        "workbook": "/tmp/b.xlsx",
        "row": 7,
    }
    args.update(kw)
    return journal.intent(**args)  # type: ignore[arg-type]


def test_the_journal_records_the_kind_and_old_records_are_collections(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    undo = _intent(journal, kind=UNDO)
    collect = _intent(journal, vault_id=2)
    lines = [json.loads(x) for x in journal.path.read_text("utf-8").splitlines()]
    assert [x["kind"] for x in lines] == [UNDO, COLLECT]
    # a record of an older version has no kind: a collection
    old = dict(lines[1], attempt="old0001")
    del old["kind"]
    with journal.path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(old) + "\n")
    kinds = {a.attempt: a.kind for a in journal.attempts()}
    assert kinds == {undo.attempt: UNDO, collect.attempt: COLLECT, "old0001": COLLECT}  # type: ignore[attr-defined]
    assert [a.is_undo for a in journal.attempts()] == [True, False, False]
    with pytest.raises(ValueError, match="kind"):
        _intent(journal, kind="refund")


def _invoice(remaining: str) -> Invoice:
    return Invoice.model_validate(
        {
            "commercial_doc_id": 7,
            "type": "sale_invoice",
            "currency": "try",
            "header": {"serial_no": "KBI1"},
            "total": {"grand_total": 150},
            "payment_plan": {"total_remaining": remaining, "total_paid": 150 - float(remaining)},
        }
    )


@pytest.mark.parametrize(
    ("remaining", "final", "verdict"),
    [
        ("150", False, APPLIED),  # went back up: proven at once
        ("150", True, APPLIED),
        ("50", False, WAIT),  # unchanged, no answer yet: may still be applied
        ("50", True, NOT_APPLIED),  # unchanged after the horizon / an answer
        ("20", True, UNKNOWN),  # dropped: someone collected meanwhile
        ("20", False, WAIT),
    ],
)
def test_an_unclear_undo_is_judged_the_other_way_round(
    tmp_path: Path, remaining: str, final: bool, verdict: str
) -> None:
    attempt = _intent(Journal(tmp_path / "j.jsonl"), kind=UNDO, remaining_before=Decimal(50))
    invoice = _invoice(remaining)
    assert invoice.remaining is not None
    got = _judge_undo(attempt, invoice, invoice.remaining, final=final)  # type: ignore[arg-type]
    assert got.result == verdict


def test_an_unknown_kind_is_never_guessed(tmp_path: Path) -> None:
    attempt = _intent(Journal(tmp_path / "j.jsonl"), kind=UNDO)
    strange = replace(attempt, kind="refund")  # type: ignore[type-var]
    invoice = _invoice("150")
    assert invoice.remaining is not None
    assert _judge_undo(strange, invoice, invoice.remaining, final=True).result == UNKNOWN

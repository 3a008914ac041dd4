"""`kolaybi-xl undo` on real files against the sandbox (fast path and openpyxl path)."""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.xlsx_patch import PatchGrid, open_for_collect
from tests.test_cli_collect import (
    edit_rows,
    fetched,
    log_rows,
    open_rows,
    outcomes,
    run,
    vault_name,
)


@pytest.fixture
def sandbox(start_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return start_sandbox(invoices=60, seed=21)


def cells(path: Path, doc: int, header: str) -> object:
    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    columns = {c.value: c.column for c in sheet[layout.INVOICE_HEADER_ROW] if c.value}
    for row in sheet.iter_rows(min_row=layout.INVOICE_HEADER_ROW + 1, values_only=True):
        if row[columns[layout.ID_HEADER] - 1] == doc:
            return row[columns[header] - 1]
    raise AssertionError(doc)


@pytest.mark.parametrize("fast", ["1", "0"])
def test_undo_dry_run_no_terminal_yes_and_twice(
    sandbox, tmp_path, capsys, monkeypatch, fast: str
) -> None:
    monkeypatch.setenv("KOLAYBI_XL_FAST", fast)
    path = fetched(tmp_path, "book.xlsm" if fast == "1" else "book.xlsx")
    docs = [d for d in open_rows(sandbox) if sandbox.books.invoices[d].paid == 0][:3]
    totals = {d: sandbox.books.invoices[d].grand_total for d in docs}
    vault = vault_name(sandbox, "TRY")
    edit_rows(path, {d: {"Tahsil Et": "x", "Kasa/Banka": vault} for d in docs})
    assert run("collect", path, "--yes") == 0
    edit_rows(path, {d: {"Tahsil Et": "GERİ AL"} for d in docs})
    with open_for_collect(path, for_writing=False) as grid:
        assert isinstance(grid, PatchGrid) is (fast == "1")  # the path undo takes
    capsys.readouterr()

    before = path.read_bytes()
    assert run("undo", path, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "TÜM" in out or "EVERY" in out
    assert path.read_bytes() == before
    assert len(sandbox.books.collected_documents()) == 3

    monkeypatch.setattr("sys.stdin", open(os.devnull))  # noqa: SIM115 - closed with the test
    assert run("undo", path) == 2
    assert "--yes" in capsys.readouterr().err
    assert path.read_bytes() == before

    assert run("undo", path, "--yes") == 0
    assert sandbox.books.collected_documents() == {}
    got = outcomes(path)
    for doc in docs:
        assert got[doc].startswith("Geri alındı"), got[doc]
        assert Decimal(str(cells(path, doc, "Kalan"))) == totals[doc]
        assert cells(path, doc, "Ödenen") == 0
    logged = log_rows(path)
    assert len(logged) == 6
    assert [r[8] for r in logged[3:]] == ["Geri alındı"] * 3
    assert sorted(Decimal(str(r[6])) for r in logged[3:]) == sorted(-t for t in totals.values())

    # twice: nothing sent, nothing changed but the status strip
    ledger = sandbox.books.ledger
    assert run("undo", path, "--yes") == 0
    assert sandbox.books.ledger == ledger
    assert outcomes(path) == got
    assert len(log_rows(path)) == 6
    capsys.readouterr()
    assert run("journal", "--all") == 0
    assert capsys.readouterr().out.count("undo: applied") == 3


def test_an_unsettled_undo_blocks_collect_and_undo_and_can_be_resolved(
    sandbox, tmp_path, capsys
) -> None:
    from kolaybi_xl.jobs.journal import UNDO, UNKNOWN, Journal

    path = fetched(tmp_path)
    doc = next(d for d in open_rows(sandbox) if sandbox.books.invoices[d].paid == 0)
    vault = next(v for v in sandbox.books.vault_records() if v.currency.upper() == "TRY")
    sandbox.books.proceed(doc, vault.id, amount=Decimal("10.00"))
    record = sandbox.books.invoices[doc]
    journal = Journal.default()
    attempt = journal.intent(
        key=f"{sandbox.url}|{sandbox.channel}",
        document_id=doc,
        vault_id=0,
        amount=record.paid,
        currency="TRY",
        remaining_before=record.remaining + Decimal("5.00"),  # changed since: unknown
        workbook=str(path.resolve()),
        row=7,
        kind=UNDO,
    )
    journal.outcome(attempt, UNKNOWN, "sunucu hatası", answered=True)  # over: judged at once
    edit_rows(path, {doc: {"Tahsil Et": "geri al"}})
    capsys.readouterr()

    assert run("journal") == 0
    listing = capsys.readouterr().out
    assert attempt.attempt[:12] in listing
    assert "undo: unknown" in listing

    assert run("undo", path, "--yes") == 1
    assert "belirsiz" in outcomes(path)[doc]
    assert sandbox.books.collected_documents()[doc] == 1  # nothing sent

    edit_rows(path, {doc: {"Tahsil Et": "x", "Kasa/Banka": vault.name}})
    assert run("collect", path, "--yes") == 1  # blocked for collect too
    assert sandbox.books.collected_documents()[doc] == 1

    assert run("journal", "--resolve", attempt.attempt[:8], "--as", "not-applied") == 0
    edit_rows(path, {doc: {"Tahsil Et": "geri al"}})
    assert run("undo", path, "--yes") == 0
    assert outcomes(path)[doc].startswith("Geri alındı")
    assert sandbox.books.collected_documents().get(doc) is None


def test_no_wait_is_an_undo_option_too(sandbox, tmp_path, capsys) -> None:
    path = fetched(tmp_path)
    doc = next(d for d in open_rows(sandbox) if sandbox.books.invoices[d].paid == 0)
    edit_rows(path, {doc: {"Tahsil Et": "x", "Kasa/Banka": vault_name(sandbox, "TRY")}})
    assert run("collect", path, "--yes") == 0
    edit_rows(path, {doc: {"Tahsil Et": "geri al"}})
    assert run("undo", path, "--yes", "--no-wait") == 0
    assert outcomes(path)[doc].startswith("Geri alındı")
    assert doc not in sandbox.books.collected_documents()

"""Partial collections from the command line (issue 14): ``kolaybi-xl collect`` on a file,
both file backends, ``--dry-run``'s plan, and a refresh of a workbook made before the
``Tahsil Tutarı`` column existed."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_cli_collect import edit_rows, fetched, log_rows, open_rows, outcomes, run, vault_name

from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.cells import tr_amount
from kolaybi_xl.workbook.xlsx_patch import FAST_ENV

AMOUNT = layout.C_AMOUNT.header


@pytest.fixture
def sandbox(start_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return start_sandbox(invoices=120, seed=21)


def column(path: Path, header: str) -> dict[int, Any]:
    """Belge ID -> the value of one column of Faturalar (openpyxl: an independent reader)."""
    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    columns = {c.value: c.column for c in sheet[layout.INVOICE_HEADER_ROW] if c.value}
    values = {}
    for row in sheet.iter_rows(min_row=layout.INVOICE_HEADER_ROW + 1, values_only=True):
        doc = row[columns[layout.ID_HEADER] - 1]
        if isinstance(doc, int):
            values[doc] = row[columns[header] - 1]
    return values


@pytest.mark.parametrize("fast", ["1", "0"], ids=["fast-path", "openpyxl"])
def test_collect_partial_amounts_from_a_file(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: Any,
    fast: str,
) -> None:
    monkeypatch.setenv(FAST_ENV, fast)
    path = fetched(tmp_path)
    docs = open_rows(sandbox)[:5]
    remaining = {d: sandbox.books.invoices[d].remaining for d in docs}
    vault = vault_name(sandbox, "TRY")
    edit_rows(
        path,
        {
            docs[0]: {"Tahsil Et": "x", "Kasa/Banka": vault, AMOUNT: 1.25},
            docs[1]: {"Tahsil Et": "x", "Kasa/Banka": vault, AMOUNT: "2,50"},
            docs[2]: {"Tahsil Et": "x", "Kasa/Banka": vault},  # the whole remaining amount
            docs[3]: {"Tahsil Et": "x", "Kasa/Banka": vault, AMOUNT: "-3"},
            docs[4]: {"Tahsil Et": "x", "Kasa/Banka": vault, AMOUNT: "=1/0"},
        },
    )
    capsys.readouterr()

    before = path.read_bytes()
    assert run("collect", path, "--dry-run", "--lang", "en") == 1  # two rows with an error
    out = capsys.readouterr().out
    total = Decimal("1.25") + Decimal("2.50") + remaining[docs[2]]
    assert "1.25 TRY partial (of" in out
    assert "2.50 TRY partial (of" in out
    assert f"{vault}: {total:,.2f} TRY (3 invoices)" in out
    assert "2 of them are partial collections" in out
    assert "Tahsil Tutarı negatif olamaz" in out
    assert "Tahsil Tutarı bir formül" in out
    assert path.read_bytes() == before
    assert sandbox.books.ledger == []

    assert run("collect", path, "--yes") == 1
    collected = {e.document_id: e.amount for e in sandbox.books.ledger}
    assert collected == {
        docs[0]: Decimal("1.25"),
        docs[1]: Decimal("2.50"),
        docs[2]: remaining[docs[2]],
    }
    got = outcomes(path)
    assert str(got[docs[0]]).startswith("Tamamlandı: 1,25 TRY → ")
    assert "(kalan " in str(got[docs[0]])
    assert str(got[docs[3]]).startswith("Hata: Tahsil Tutarı negatif olamaz")
    assert str(got[docs[4]]).startswith("Hata: Tahsil Tutarı bir formül")
    kalan = column(path, "Kalan")
    for doc in docs:  # the sheet shows what KolayBi shows
        assert Decimal(str(kalan[doc])) == sandbox.books.invoices[doc].remaining, doc
    typed = column(path, AMOUNT)
    assert (typed[docs[0]], typed[docs[1]]) == (1.25, "2,50")  # the user's cells stay
    logged = {r[1]: r[6] for r in log_rows(path)}
    assert logged == {docs[0]: 1.25, docs[1]: 2.5, docs[2]: float(remaining[docs[2]])}

    # A second run with the rows still marked collects nothing more.
    assert run("collect", path, "--yes") == 1
    assert len(sandbox.books.ledger) == 3


def test_init_workbook_has_the_column_as_a_yellow_input(tmp_path: Path) -> None:
    path = tmp_path / "yeni.xlsx"
    assert run("init-workbook", path) == 0
    sheet = openpyxl.load_workbook(path)[layout.INVOICES]
    header = [c.value for c in sheet[layout.INVOICE_HEADER_ROW]]
    assert header.index(AMOUNT) == header.index("Kasa/Banka") + 1
    cell = sheet.cell(layout.INVOICE_HEADER_ROW, header.index(AMOUNT) + 1)
    mark = sheet.cell(layout.INVOICE_HEADER_ROW, header.index("Tahsil Et") + 1)
    assert cell.fill.fgColor.rgb == mark.fill.fgColor.rgb
    assert str(cell.fill.fgColor.rgb).endswith(layout.INPUT_HEADER_FILL)


@pytest.mark.parametrize("fast", ["1", "0"], ids=["fast-path", "openpyxl"])
def test_a_refresh_adds_the_column_to_an_older_workbook(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: Any, fast: str
) -> None:
    """A workbook from before issue 14: the refresh appends ``Tahsil Tutarı`` (the user's
    column order is kept); what was typed survives; the new column then works."""
    monkeypatch.setenv(FAST_ENV, fast)
    path = fetched(tmp_path)
    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    header = [c.value for c in sheet[layout.INVOICE_HEADER_ROW]]
    sheet.delete_cols(header.index(AMOUNT) + 1)
    book.save(path)
    docs = open_rows(sandbox)[:2]
    vault = vault_name(sandbox, "TRY")
    edit_rows(path, {d: {"Tahsil Et": "x", "Kasa/Banka": vault} for d in docs})
    edit_rows(path, {docs[0]: {"Tahsilat Durumu": "Hata: eski"}})

    assert run("fetch", path) == 0

    sheet = openpyxl.load_workbook(path)[layout.INVOICES]
    header = [c.value for c in sheet[layout.INVOICE_HEADER_ROW] if c.value]
    assert header[-1] == AMOUNT
    assert column(path, "Tahsil Et")[docs[0]] == "x"
    assert column(path, "Kasa/Banka")[docs[1]] == vault
    assert column(path, "Tahsilat Durumu")[docs[0]] == "Hata: eski"
    added = sheet.cell(layout.INVOICE_HEADER_ROW, len(header))
    assert str(added.fill.fgColor.rgb).endswith(layout.INPUT_HEADER_FILL)

    edit_rows(path, {docs[0]: {AMOUNT: "1,00"}})
    assert run("collect", path, "--yes") == 0
    collected = {e.document_id: e.amount for e in sandbox.books.ledger}
    assert collected[docs[0]] == Decimal("1.00")


def test_a_part_marked_in_two_copies_of_a_workbook_is_collected_once(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two copies of one workbook (one account, one journal) mark the same part of one
    invoice. The first copy collects it; the second copy's ``Kalan`` no longer matches
    KolayBi's, so its part is a row error and nothing is sent — until it is refreshed, when
    the accountant sees what is left and decides again (the refresh keeps the typed part)."""
    original = fetched(tmp_path)
    [doc] = open_rows(sandbox)[:1]
    remaining = sandbox.books.invoices[doc].remaining
    edit_rows(
        original,
        {doc: {"Tahsil Et": "x", "Kasa/Banka": vault_name(sandbox, "TRY"), AMOUNT: "1,25"}},
    )
    copy = tmp_path / "kopya.xlsx"
    copy.write_bytes(original.read_bytes())

    assert run("collect", original, "--yes") == 0
    assert [e.amount for e in sandbox.books.collections_of(doc)] == [Decimal("1.25")]
    capsys.readouterr()

    assert run("collect", copy, "--yes") == 1
    assert [e.amount for e in sandbox.books.collections_of(doc)] == [Decimal("1.25")]
    text = outcomes(copy)[doc]
    assert text.startswith("Hata: faturanın kalan tutarı değişmiş"), text
    assert f"KolayBi'de {tr_amount(remaining - Decimal('1.25'))} TRY" in text, text

    # refreshed, the copy shows what is left; collecting the part again is now a decision
    assert run("fetch", copy) == 0
    assert column(copy, AMOUNT)[doc] == "1,25"
    assert run("collect", copy, "--yes") == 0
    assert [e.amount for e in sandbox.books.collections_of(doc)] == [Decimal("1.25")] * 2


def test_a_part_resolved_as_applied_is_written_done_and_never_sent_again(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``journal --resolve … --as applied`` on a part whose outcome stayed unclear: the next
    collect writes ``Tamamlandı`` into the row — also after a refresh, when ``Kalan`` already
    shows what KolayBi shows — and never sends the part a second time."""
    from kolaybi_xl.jobs.journal import UNKNOWN, Journal

    path = fetched(tmp_path)
    doc = open_rows(sandbox)[0]
    vault = next(v for v in sandbox.books.vault_records() if v.currency.upper() == "TRY")
    edit_rows(path, {doc: {"Tahsil Et": "x", "Kasa/Banka": vault.name, AMOUNT: "1,25"}})
    record = sandbox.books.invoices[doc]
    journal = Journal.default()
    attempt = journal.intent(
        key=f"{sandbox.url}|{sandbox.channel}",
        document_id=doc,
        vault_id=vault.id,
        amount=Decimal("1.25"),
        currency="TRY",
        remaining_before=record.remaining,
        workbook=str(path.resolve()),
        row=7,
    )
    sandbox.books.proceed(doc, vault.id, amount=Decimal("1.25"))  # ours, it turns out
    sandbox.books.proceed(doc, vault.id, amount=Decimal("0.50"))  # and someone else's
    journal.outcome(attempt, UNKNOWN, "bağlantı koptu")

    assert run("journal", "--resolve", attempt.attempt[:8], "--as", "applied") == 0
    assert run("fetch", path) == 0  # Kalan now shows KolayBi's remaining amount
    capsys.readouterr()

    assert run("collect", path, "--yes") == 0
    assert [e.amount for e in sandbox.books.collections_of(doc)] == [
        Decimal("1.25"),
        Decimal("0.50"),
    ]
    text = outcomes(path)[doc]
    assert text.startswith("Tamamlandı: 1,25 TRY"), text
    assert "elle çözüldü" in text
    assert run("collect", path, "--yes") == 0  # still marked: nothing is sent
    assert len(sandbox.books.collections_of(doc)) == 2

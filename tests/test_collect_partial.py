"""Partial collections (issue 14): the ``Tahsil Tutarı`` column, exactly once for partial
amounts, and reconciling from what KolayBi certainly shows.

KolayBi is the sandbox over real HTTP on loopback (``test_collect_unit``'s helpers).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_collect_unit import (
    API_KEY,
    COL,
    FIRST,
    Recorder,
    add,
    cell,
    client_for,
    make_books,
    make_grid,
    outcome_of,
    run,
)

from kolaybi_xl.jobs.collect import account_key, plan_collection
from kolaybi_xl.jobs.journal import Journal
from kolaybi_xl.jobs.report import build_report
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout

AMOUNT = layout.C_AMOUNT.header


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(books=make_books(), api_key=API_KEY) as sb:
        yield sb


@pytest.fixture
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Journal:
    path = tmp_path / "journal" / "journal.jsonl"
    monkeypatch.setenv("KOLAYBI_XL_JOURNAL", str(path))
    return Journal(path)


def partial_row(doc: int, amount: Any, **kw: Any) -> dict[str, Any]:
    return {"id": doc, "mark": "x", "vault": "Merkez Kasa", AMOUNT: amount, **kw}


# -- validation: every wrong value is a row error, nothing sent for it ------------------------

WRONG = [
    (0, "Tahsil Tutarı sıfır olamaz"),
    ("0", "Tahsil Tutarı sıfır olamaz"),
    ("0,00", "Tahsil Tutarı sıfır olamaz"),
    (-5, "Tahsil Tutarı negatif olamaz"),
    ("-12,50", "Tahsil Tutarı negatif olamaz"),
    ("100,01", "faturanın KolayBi'deki kalan tutarından (100,00 TRY) fazla"),
    (250.0, "faturanın KolayBi'deki kalan tutarından (100,00 TRY) fazla"),
    (10.125, "en çok 2 ondalık basamaklı olmalı"),
    ("10,125", "en çok 2 ondalık basamaklı olmalı"),
    ("1.234", "Tahsil Tutarı belirsiz: '1.234' — nokta binlik ayırıcı mı, ondalık mı"),
    (" 12.500 ", "Tahsil Tutarı belirsiz"),
    ("on lira", "Tahsil Tutarı bir tutar olmalı: 'on lira'"),
    (True, "Tahsil Tutarı bir tutar olmalı"),
    ("#DIV/0!", "Tahsil Tutarı bir hata değeri: '#DIV/0!'"),
    ("#N/A", "Tahsil Tutarı bir hata değeri: '#N/A'"),
    ("=B7*2", "Tahsil Tutarı bir formül"),
    ("1e30", "Tahsil Tutarı çok büyük"),
]


@pytest.mark.parametrize(("value", "message"), WRONG, ids=[repr(v) for v, _ in WRONG])
def test_a_wrong_amount_is_a_row_error_and_nothing_is_sent(
    sandbox: Sandbox, journal: Journal, value: Any, message: str
) -> None:
    books = sandbox.books
    wrong, right = add(books, "100.00"), add(books, "80.00")
    grid = make_grid(books, [partial_row(wrong, value), partial_row(right, "30")])
    client = Recorder(client_for(sandbox))

    result = run(grid, client, journal)

    text = outcome_of(grid, FIRST)
    assert text.startswith("Hata: "), text
    assert message in text, text
    assert [(e.document_id, e.amount) for e in books.ledger] == [(right, Decimal("30.00"))]
    assert books.invoices[wrong].remaining == Decimal("100.00")
    assert [c for c in client.calls if c[0] == "proceed"] == [("proceed", right)]
    assert result.counts == {"failed": 1, "done": 1}
    assert result.exit_code == 1
    assert all(a.document_id != wrong for a in journal.attempts(account_key(client)))


@pytest.mark.parametrize(
    ("value", "amount"),
    [("1.234,50", "1234.50"), ("1234.5", "1234.50"), (1234.5, "1234.50"), (" 40 ", "40.00")],
)
def test_amounts_are_read_the_turkish_and_the_plain_way(
    sandbox: Sandbox, journal: Journal, value: Any, amount: str
) -> None:
    books = sandbox.books
    doc = add(books, "2000.00")
    grid = make_grid(books, [partial_row(doc, value)])
    client = client_for(sandbox)

    plan = plan_collection(grid, client, key=account_key(client), journal=journal)

    assert [(r.document_id, r.amount, r.partial) for r in plan.rows] == [
        (doc, Decimal(amount), True)
    ]


def test_an_amount_equal_to_the_remaining_is_a_whole_collection(
    sandbox: Sandbox, journal: Journal
) -> None:
    books = sandbox.books
    doc = add(books, "55.50")
    grid = make_grid(books, [partial_row(doc, "55,50")])
    run(grid, client_for(sandbox), journal)
    assert outcome_of(grid, FIRST) == "Tamamlandı: 55,50 TRY → Merkez Kasa"
    assert books.invoices[doc].remaining == 0


# -- collecting a part -------------------------------------------------------------------------


def test_a_partial_collection_collects_its_amount_once_and_refreshes_the_row(
    sandbox: Sandbox, journal: Journal
) -> None:
    books = sandbox.books
    doc, whole = add(books, "2000.00"), add(books, "10.00")
    grid = make_grid(
        books,
        [partial_row(doc, "1.234,50"), {"id": whole, "mark": "x", "vault": "Merkez Kasa"}],
    )
    client = Recorder(client_for(sandbox))

    result = run(grid, client, journal)

    assert result.counts == {"done": 2}
    assert {e.document_id: e.amount for e in books.ledger} == {
        doc: Decimal("1234.50"),
        whole: Decimal("10.00"),
    }
    assert outcome_of(grid, FIRST) == ("Tamamlandı: 1.234,50 TRY → Merkez Kasa (kalan 765,50 TRY)")
    assert cell(grid, FIRST, "Kalan") == Decimal("765.50")
    assert cell(grid, FIRST, "Ödenen") == Decimal("1234.50")
    assert cell(grid, FIRST, "Ödeme Durumu") == "Kısmen Ödendi"
    assert cell(grid, FIRST, AMOUNT) == "1.234,50"  # what the user typed stays
    log_rows = grid.read(layout.COLLECTION_LOG)
    amounts = {row[1]: row[6] for row in log_rows[1:]}
    assert amounts == {doc: Decimal("1234.50"), whole: Decimal("10.00")}
    (attempt,) = [a for a in journal.attempts(account_key(client)) if a.document_id == doc]
    assert (attempt.amount, attempt.remaining_before) == (Decimal("1234.50"), Decimal("2000.00"))
    assert attempt.result == "applied"

    # Run again with the row still marked: its part was collected; nothing is sent.
    again = run(grid, client, journal)
    assert again.counts == {"unchanged": 2}
    assert client.count("proceed") == 2
    assert books.invoices[doc].remaining == Decimal("765.50")

    # The next instalment: the accountant clears the outcome and types the new amount.
    grid.write(layout.INVOICES, FIRST, COL["Tahsilat Durumu"], [[None]])
    grid.write(layout.INVOICES, FIRST, COL[AMOUNT], [["700"]])
    third = run(grid, client, journal)
    assert third.counts["done"] == 1
    assert books.invoices[doc].remaining == Decimal("65.50")
    assert outcome_of(grid, FIRST) == "Tamamlandı: 700,00 TRY → Merkez Kasa (kalan 65,50 TRY)"


def test_the_plan_shows_partial_amounts_and_totals_them(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    a, b, c = add(books, "100.00"), add(books, "250.00"), add(books, "40.00", currency="USD")
    grid = make_grid(
        books,
        [
            partial_row(a, "30"),
            {"id": b, "mark": "x", "vault": "Merkez Kasa"},
            partial_row(c, "12,34", vault="Dolar Kasa"),
        ],
    )
    client = client_for(sandbox)

    plan = plan_collection(grid, client, key=account_key(client), journal=journal)

    assert plan.totals == {
        ("Merkez Kasa", "TRY"): Decimal("280.00"),
        ("Dolar Kasa", "USD"): Decimal("12.34"),
    }
    tr = plan.describe("tr")
    assert "30,00 TRY kısmi (açık 100,00 TRY) → Merkez Kasa" in tr
    assert "250,00 TRY → Merkez Kasa" in tr
    assert "Merkez Kasa: 280,00 TRY (2 fatura)" in tr
    assert "Dolar Kasa: 12,34 USD (1 fatura)" in tr
    assert "Bunlardan 2 tanesi kısmi tahsilat" in tr
    en = plan.describe("en")
    assert "30.00 TRY partial (of 100.00 TRY open) → Merkez Kasa" in en
    assert "2 of them are partial collections" in en
    assert books.ledger == []


def test_an_amount_over_what_is_left_now_is_an_error_even_if_the_sheet_says_more(
    sandbox: Sandbox, journal: Journal
) -> None:
    """The check is against the remaining amount KolayBi reports at plan time, not the
    sheet's (stale) ``Kalan``."""
    books = sandbox.books
    doc = add(books, "100.00")
    grid = make_grid(books, [partial_row(doc, "60")])  # the sheet's Kalan: 100
    books.proceed(doc, 2, Decimal("50.00"))  # someone collected 50 meanwhile
    run(grid, client_for(sandbox), journal)
    assert "kalan tutarından (50,00 TRY) fazla" in outcome_of(grid, FIRST)
    assert len(books.ledger) == 1


# -- exactly once: reconciling a partial collection -------------------------------------------


@pytest.mark.parametrize("fault", ["error_after", "drop_after", "slow_after", "bad_json"])
def test_an_unclear_partial_is_proven_by_its_amount_and_never_sent_twice(
    sandbox: Sandbox, journal: Journal, fault: str
) -> None:
    books = sandbox.books
    doc = add(books, "90.00")
    sandbox.faults.slow_seconds = 0.5
    grid = make_grid(books, [partial_row(doc, "25")])
    sandbox.faults.inject(fault)
    client = Recorder(client_for(sandbox, proceed_timeout=(2.0, 0.2)))

    run(grid, client, journal)

    ledger = [(e.document_id, e.amount) for e in books.ledger]
    if fault == "bad_json":  # nothing applied: sent again, once
        assert ledger == [(doc, Decimal("25.00"))]
    else:
        assert ledger == [(doc, Decimal("25.00"))]
        assert outcome_of(grid, FIRST) == (
            "Tamamlandı (yeniden okunarak doğrulandı): 25,00 TRY → Merkez Kasa (kalan 65,00 TRY)"
        )
    assert books.invoices[doc].remaining == Decimal("65.00")
    assert cell(grid, FIRST, "Kalan") == Decimal("65.00")
    assert journal.pending(account_key(client)) == []


def test_an_unchanged_invoice_after_an_answered_error_is_sent_again(
    sandbox: Sandbox, journal: Journal
) -> None:
    books = sandbox.books
    doc = add(books, "90.00")
    grid = make_grid(books, [partial_row(doc, "25")])
    sandbox.faults.inject("error_before")  # a 503: answered, nothing applied
    client = Recorder(client_for(sandbox))

    run(grid, client, journal)

    assert client.count("proceed") == 2
    assert [(e.document_id, e.amount) for e in books.ledger] == [(doc, Decimal("25.00"))]
    assert outcome_of(grid, FIRST).startswith("Tamamlandı")
    attempts = journal.attempts(account_key(client))
    assert [a.result for a in attempts] == ["not_applied", "applied"]
    # each intent: the part, and the remaining amount read just before sending it
    assert [(a.amount, a.remaining_before) for a in attempts] == [
        (Decimal("25.00"), Decimal("90.00")),
        (Decimal("25.00"), Decimal("90.00")),
    ]


def test_someone_else_collecting_another_amount_meanwhile_leaves_it_unknown(
    sandbox: Sandbox, journal: Journal
) -> None:
    """Our partial got no clear answer and the invoice dropped by another amount: neither
    "applied" nor "not applied" can be proven — unknown, never sent again by itself."""
    books = sandbox.books
    doc = add(books, "90.00")
    grid = make_grid(books, [partial_row(doc, "25")])

    def another_user(document_id: int) -> None:
        books.proceed(document_id, 2, Decimal("10.00"))  # someone else, another vault
        sandbox.faults.inject("error_before", 3)  # ours: 503s, nothing applied

    client = Recorder(client_for(sandbox), before_proceed=another_user)
    result = run(grid, client, journal)

    assert outcome_of(grid, FIRST) == (
        "Hata: sonuç belirsiz — KolayBi'de kontrol edin; tekrar gönderilmedi"
    )
    assert result.counts == {"unknown": 1}
    assert [(e.vault_id, e.amount) for e in books.ledger] == [(2, Decimal("10.00"))]
    # Kalan and Ödenen show what KolayBi shows, whoever collected it
    assert grid.value(layout.INVOICES, FIRST, COL["Kalan"]) == Decimal("80.00")
    assert grid.value(layout.INVOICES, FIRST, COL["Ödenen"]) == Decimal("10.00")
    key = account_key(client)
    assert [a.result for a in journal.pending(key)] == ["unknown"]

    # The next run does not send it either: only the accountant can settle it.
    sandbox.faults.clear()
    client.before_proceed = None
    again = run(grid, client, journal)
    assert client.count("proceed") == 1
    assert again.counts == {"unknown": 1}
    assert len(books.ledger) == 1


def test_someone_else_collecting_the_same_amount_elsewhere_is_not_claimed(
    sandbox: Sandbox, journal: Journal
) -> None:
    """Dropped by exactly our amount, but into another vault (ours shows nothing new): not
    ours, and for a partial not "elsewhere" either (re-sending could collect twice)."""
    books = sandbox.books
    doc = add(books, "90.00")
    grid = make_grid(books, [partial_row(doc, "25")])

    def another_user(document_id: int) -> None:
        books.proceed(document_id, 2, Decimal("25.00"))
        sandbox.faults.inject("error_before", 3)

    client = Recorder(client_for(sandbox), before_proceed=another_user)
    result = run(grid, client, journal)

    assert result.counts == {"unknown": 1}
    assert "belirsiz" in outcome_of(grid, FIRST)
    assert [(e.vault_id, e.amount) for e in books.ledger] == [(2, Decimal("25.00"))]


@pytest.mark.parametrize("fault", ["error_after", "drop_after"])
def test_a_detail_without_payment_fields_is_reconciled_from_the_list(
    journal: Journal, fault: str
) -> None:
    books = make_books()
    doc = books.add_invoice(grand_total=Decimal("90.00"))
    with Sandbox(books=books, detail_has_payment_plan=False) as sb:
        grid = make_grid(books, [partial_row(doc, "25")])
        sb.faults.inject(fault)
        client = Recorder(client_for(sb))
        run(grid, client, journal)
        assert outcome_of(grid, FIRST) == (
            "Tamamlandı (yeniden okunarak doğrulandı): 25,00 TRY → Merkez Kasa (kalan 65,00 TRY)"
        )
        assert client.count("list_invoices") >= 2  # the plan's read and the reconciling
        assert [(e.document_id, e.amount) for e in books.ledger] == [(doc, Decimal("25.00"))]


# -- the report: collections per vault and day ------------------------------------------------


def test_the_report_counts_a_partial_collection_with_its_amount(
    sandbox: Sandbox, journal: Journal
) -> None:
    books = sandbox.books
    part, whole = add(books, "500.00"), add(books, "80.00")
    grid = make_grid(
        books, [partial_row(part, "120,25"), {"id": whole, "mark": "x", "vault": "Merkez Kasa"}]
    )
    run(grid, client_for(sandbox), journal)

    result = build_report(grid)

    (day,) = result.report.collections
    assert (day.vault, day.currency, day.count) == ("Merkez Kasa", "TRY", 2)
    assert day.amount == Decimal("200.25")  # the part, not the invoice's total


class NoRemainingInDetail(Recorder):
    """The sandbox's detail answer with a payment plan but no ``total_remaining`` (the other
    way a detail may lack the payment fields); everything else is the sandbox's own."""

    def get_invoice(self, document_id: int) -> Any:
        invoice = super().get_invoice(document_id)
        plan = invoice.payment_plan.model_copy(update={"total_remaining": None})
        return invoice.model_copy(update={"payment_plan": plan})


def test_a_detail_without_the_remaining_amount_is_never_taken_for_not_applied(
    sandbox: Sandbox, journal: Journal
) -> None:
    books = sandbox.books
    doc = add(books, "90.00")
    grid = make_grid(books, [partial_row(doc, "25")])
    sandbox.faults.inject("error_after")
    client = NoRemainingInDetail(client_for(sandbox))

    result = run(grid, client, journal)

    assert result.counts == {"done": 1}
    assert outcome_of(grid, FIRST).startswith("Tamamlandı (yeniden okunarak doğrulandı)")
    assert client.count("list_invoices") == 2  # the plan's read and the reconciling one
    assert [(e.document_id, e.amount) for e in books.ledger] == [(doc, Decimal("25.00"))]


@pytest.mark.parametrize("typed", ["12,5 TL", "₺12,50", "12.50 TRY"])
def test_a_part_typed_in_lira_on_an_invoice_in_another_currency_is_not_sent(
    sandbox: Sandbox, journal: Journal, typed: str
) -> None:
    """``12,5 TL`` on a USD invoice: the number alone would be collected as 12,50 USD."""
    books = sandbox.books
    usd, lira = add(books, "40.00", currency="USD"), add(books, "40.00")
    grid = make_grid(
        books,
        [partial_row(usd, typed, vault="Dolar Kasa"), partial_row(lira, typed)],
    )

    result = run(grid, client_for(sandbox), journal)

    text = outcome_of(grid, FIRST)
    assert text.startswith("Hata: Tahsil Tutarı TL olarak yazılmış"), text
    assert "fatura USD" in text
    assert [(e.document_id, e.amount) for e in books.ledger] == [(lira, Decimal("12.50"))]
    assert result.exit_code == 1

"""Unit tests of collecting (``jobs.collect``) and its journal (``jobs.journal``).

The workbook is a ``MemoryGrid`` built here cell by cell; KolayBi is the local sandbox over HTTP
on loopback (small books built per test), or a stand-in client where a test needs to watch or
break the call order. Every test uses its own journal under ``tmp_path``.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kolaybi_xl.api import (
    AuthenticationError,
    InvoiceType,
    KolayBiClient,
    OutcomeUnknown,
)
from kolaybi_xl.jobs import journal as journal_mod
from kolaybi_xl.jobs.collect import (
    CollectResult,
    Plan,
    Waits,
    account_key,
    collect_marked,
    done_text,
    plan_collection,
    tr_amount,
)
from kolaybi_xl.jobs.errors import JobError
from kolaybi_xl.jobs.journal import Attempt, Journal
from kolaybi_xl.sandbox import Books, Sandbox
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.grid import MemoryGrid

API_KEY = "kb_test_Very5ecretApiKey_0123456789"
HEADERS = [c.header for c in layout.INVOICE_COLUMNS] + ["Notlarım"]
COL = {h: i + 1 for i, h in enumerate(HEADERS)}
HEADER_ROW = layout.INVOICE_HEADER_ROW
FIRST = HEADER_ROW + 1
OUTCOME_WORDS = ("Tamamlandı", "Hata", "Atlandı")


# -- building books, workbooks, clients -------------------------------------------------------


# Short waits, passed in: no test waits real seconds. A horizon of 0: a request without an
# answer is judged at once (the tests of the horizon itself pass their own).
FAST = Waits(reconcile_delay=0.0, resend_backoff=0.01, reread_backoff=0.0, horizon=0.0, poll=0.01)


@pytest.fixture
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Journal:
    path = tmp_path / "journal" / "journal.jsonl"
    monkeypatch.setenv("KOLAYBI_XL_JOURNAL", str(path))
    return Journal(path)


def make_books() -> Books:
    books = Books()
    books.add_vault("Merkez Kasa", "safe_deposit", "TRY", "1000", id=1)
    books.add_vault("Ziraat TL", "bank_account", "TRY", "0", id=2)
    books.add_vault("Dolar Kasa", "safe_deposit", "USD", "0", id=3)
    return books


def add(books: Books, total: str, **kw: Any) -> int:
    return books.add_invoice(grand_total=Decimal(total), **kw)


def client_for(sb: Sandbox, **kw: Any) -> KolayBiClient:
    kw.setdefault("timeout", (2.0, 5.0))
    kw.setdefault("backoff", 0.0)
    kw.setdefault("max_retries", 2)
    kw.setdefault("sleep", lambda _s: None)
    return KolayBiClient(sb.url, sb.channel, sb.api_key, **kw)


def earlier_intent(
    journal: Journal, key: str, doc: int, amount: str, *, row: int = FIRST, **extra: Any
) -> Attempt:
    """The journal intent a run that died after writing it leaves: ``amount`` TRY of ``doc``
    (its whole remaining amount then) into vault 1, from row ``row`` of test.xlsx."""
    return journal.intent(
        key=key,
        document_id=doc,
        vault_id=1,
        amount=Decimal(amount),
        currency="TRY",
        remaining_before=Decimal(amount),
        workbook="test.xlsx",
        row=row,
        **extra,
    )


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(books=make_books(), api_key=API_KEY) as sb:
        yield sb


def make_grid(books: Books, rows: list[dict[str, Any]], *, kasalar: bool = True) -> MemoryGrid:
    """Faturalar with a control strip, the header on row 6 and one user column (Notlarım).

    Each row: ``id`` (an int of the books, or any raw cell value) plus optional ``mark``,
    ``vault``, ``outcome``, ``note``, ``type`` (a label) and any header -> value override.
    """
    grid = MemoryGrid()
    grid.ensure_sheet(layout.INVOICES)
    grid.write(
        layout.INVOICES,
        1,
        1,
        [
            [layout.TITLE],
            ["Fatura Türü", "Satış Faturası"],
            ["Son Güncelleme", datetime(2026, 11, 1, 9, 0)],
            ["Durum", "hazır"],
        ],
    )
    block: list[list[Any]] = [list(HEADERS)]
    for spec in rows:
        row: list[Any] = [None] * len(HEADERS)
        doc = spec["id"]
        row[COL["Belge ID"] - 1] = doc
        record = books.invoices.get(doc) if isinstance(doc, int) else None
        if record is not None:
            row[COL["Seri No"] - 1] = record.serial_no
            row[COL["Cari"] - 1] = record.associate_name
            row[COL["VKN/TCKN"] - 1] = record.identity_no
            row[COL["Para Birimi"] - 1] = record.currency
            row[COL["Genel Toplam"] - 1] = float(record.grand_total)
            row[COL["Ödenen"] - 1] = float(record.paid)
            row[COL["Kalan"] - 1] = float(record.remaining)
            row[COL["Ödeme Durumu"] - 1] = "Ödenmedi"
            row[COL["Tür"] - 1] = InvoiceType(record.type).label
        for key, header in (
            ("mark", "Tahsil Et"),
            ("vault", "Kasa/Banka"),
            ("outcome", "Tahsilat Durumu"),
            ("note", "Notlarım"),
            ("type", "Tür"),
        ):
            if key in spec:
                row[COL[header] - 1] = spec[key]
        for header, value in spec.items():
            if header in COL:
                row[COL[header] - 1] = value
        block.append(row)
    grid.write(layout.INVOICES, HEADER_ROW, 1, block)
    if kasalar:
        grid.ensure_sheet(layout.VAULTS)
        vaults = [[c.header for c in layout.VAULT_COLUMNS]]
        for v in books.vault_records():
            vaults.append([v.id, v.name, layout.VAULT_TYPE_LABELS[v.type], v.currency, 0.0])
        grid.write(layout.VAULTS, 1, 1, vaults)
    return grid


def cell(grid: MemoryGrid, row: int, header: str) -> Any:
    return grid.value(layout.INVOICES, row, COL[header])


def outcome_of(grid: MemoryGrid, row: int) -> str:
    return str(cell(grid, row, "Tahsilat Durumu") or "")


def run(grid: MemoryGrid, client: Any, journal: Journal, **kw: Any) -> CollectResult:
    kw.setdefault("key", account_key(client))
    kw.setdefault("workbook", "test.xlsx")
    kw.setdefault("waits", FAST)
    return collect_marked(grid, client, journal, **kw)


def all_text(grid: MemoryGrid) -> str:
    return "\n".join(
        str(v) for sheet in grid.sheets.values() for v in sheet.values() if v is not None
    )


class Recorder:
    """Wraps a client: records calls, optionally interferes with ``proceed``."""

    def __init__(self, inner: Any, before_proceed: Any = None, after_proceed: Any = None):
        self.inner = inner
        self.base_url = inner.base_url
        self.channel = inner.channel
        self.calls: list[tuple[str, Any]] = []
        self.before_proceed = before_proceed
        self.after_proceed = after_proceed
        self._lock = threading.Lock()

    def _log(self, name: str, arg: Any) -> None:
        with self._lock:
            self.calls.append((name, arg))

    def get_invoice(self, document_id: int) -> Any:
        self._log("get_invoice", document_id)
        return self.inner.get_invoice(document_id)

    def list_invoices(self, type: Any = InvoiceType.SALE_INVOICE) -> Any:
        self._log("list_invoices", str(type))
        return self.inner.list_invoices(type)

    def list_vaults(self) -> Any:
        self._log("list_vaults", None)
        return self.inner.list_vaults()

    def proceed(self, document_id: int, vault_id: int, amount: Decimal | None = None) -> Any:
        self._log("proceed", document_id)
        if self.before_proceed is not None:
            self.before_proceed(document_id)
        answer = self.inner.proceed(document_id, vault_id, amount)
        if self.after_proceed is not None:
            self.after_proceed(document_id)
        return answer

    def vault_transactions(self, vault_id: int) -> Any:
        self._log("vault_transactions", vault_id)
        return self.inner.vault_transactions(vault_id)

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.calls if n == name)


# -- formatting -------------------------------------------------------------------------------


def test_turkish_amount_format() -> None:
    assert tr_amount(Decimal("2327.6")) == "2.327,60"
    assert tr_amount(Decimal("0.1")) == "0,10"
    assert tr_amount(Decimal("1234567.891")) == "1.234.567,89"
    assert tr_amount(Decimal("-5")) == "-5,00"
    assert done_text(Decimal("2327.6"), "TRY", "Merkez Kasa") == (
        "Tamamlandı: 2.327,60 TRY → Merkez Kasa"
    )
    assert done_text(Decimal(100), "USD", "K", Decimal("20"), verified=True) == (
        "Tamamlandı (yeniden okunarak doğrulandı): 100,00 USD → K (kalan 20,00 USD)"
    )


# -- planning: every row error -------------------------------------------------------------------


def test_every_row_error_kind_and_valid_rows_collected_once(
    sandbox: Sandbox, journal: Journal
) -> None:
    books = sandbox.books
    books.add_vault("Ortak Kasa", "safe_deposit", "TRY", id=4)
    books.add_vault("Ortak Kasa", "bank_account", "TRY", id=5)
    ok1 = add(books, "2327.60")
    ok2 = add(books, "100.00", paid=Decimal("40.00"))  # partly paid: collects 60.00
    ok_by_id = add(books, "10.00")
    bad_mark = add(books, "11.00")
    unknown_vault = add(books, "12.00")
    ambiguous = add(books, "13.00")
    blank_vault = add(books, "14.00")
    dup = add(books, "15.00")
    usd = add(books, "16.00", currency="USD")
    purchase = add(books, "17.00", type="purchase_invoice")
    paid = add(books, "18.00", paid=Decimal("18.00"))
    paid_done = add(books, "19.00", paid=Decimal("19.00"))
    cancelled = add(books, "20.00", status="cancelled")
    rows = [
        {"id": ok1, "mark": "x", "vault": "Merkez Kasa"},  # 7
        {"id": ok2, "mark": " Evet ", "vault": "Ziraat TL"},  # 8
        {"id": ok_by_id, "mark": "✓", "vault": 2},  # 9: vault by id
        {"id": bad_mark, "mark": "belki", "vault": "Merkez Kasa"},  # 10
        {"id": None, "mark": "x", "vault": "Merkez Kasa"},  # 11: blank id
        {"id": "ABC-12", "mark": "x", "vault": "Merkez Kasa"},  # 12: text id
        {"id": unknown_vault, "mark": "x", "vault": "Yok Böyle Kasa"},  # 13
        {"id": ambiguous, "mark": "x", "vault": "Ortak Kasa"},  # 14
        {"id": blank_vault, "mark": "x", "vault": None},  # 15
        {"id": dup, "mark": "x", "vault": "Merkez Kasa"},  # 16
        {"id": dup, "mark": "e", "vault": "Ziraat TL"},  # 17
        {"id": usd, "mark": "x", "vault": "Merkez Kasa"},  # 18
        {"id": purchase, "mark": "x", "vault": "Merkez Kasa"},  # 19
        {"id": 999_999, "mark": "x", "vault": "Merkez Kasa"},  # 20: not in KolayBi
        {"id": paid, "mark": "x", "vault": "Merkez Kasa"},  # 21: nothing left
        {"id": paid_done, "mark": "x", "vault": "Merkez Kasa", "outcome": "Tamamlandı: eski"},
        {"id": cancelled, "mark": "x", "vault": "Merkez Kasa"},  # 23
        {"id": ok1 + 1000, "mark": "hayır", "vault": "Merkez Kasa"},  # 24: not marked
    ]
    grid = make_grid(books, rows)
    client = client_for(sandbox)

    result = run(grid, client, journal)

    expect = {
        7: "Tamamlandı: 2.327,60 TRY → Merkez Kasa",
        8: "Tamamlandı: 60,00 TRY → Ziraat TL",
        9: "Tamamlandı: 10,00 TRY → Ziraat TL",
        10: "Hata: Tahsil Et değeri anlaşılamadı: 'belki' (x ya da boş bırakın)",
        11: "Hata: Belge ID boş",
        12: "Hata: Belge ID bir sayı olmalı: 'ABC-12'",
        13: "Hata: Kasa/Banka bulunamadı: 'Yok Böyle Kasa' (Kasalar sayfasını yenileyin)",
        14: "Hata: Kasa/Banka belirsiz: 'Ortak Kasa' adında birden çok kasa var (ID: 4, 5)",
        15: "Hata: Kasa/Banka seçilmemiş",
        16: f"Hata: Belge ID {dup} birden çok işaretli satırda (satır 16, 17); "
        "yalnız birini işaretleyin",
        17: f"Hata: Belge ID {dup} birden çok işaretli satırda (satır 16, 17); "
        "yalnız birini işaretleyin",
        18: "Hata: para birimi uyuşmuyor: fatura USD, kasa 'Merkez Kasa' TRY",
        19: "Hata: yalnız satış faturaları tahsil edilir (bu belge: Alış Faturası)",
        20: "Hata: fatura KolayBi'de bulunamadı (Belge ID 999999)",
        21: "Atlandı: kalan tutar yok",
        22: "Tamamlandı: eski",
        23: "Hata: fatura iptal edilmiş; tahsil edilemez",
        24: None,
    }
    actual = {row: cell(grid, row, "Tahsilat Durumu") for row in expect}
    assert actual == expect

    # only the three valid rows moved money, each exactly once, for the planned amount
    ledger = {(e.document_id, e.vault_id, e.amount) for e in books.ledger}
    assert ledger == {
        (ok1, 1, Decimal("2327.60")),
        (ok2, 2, Decimal("60.00")),
        (ok_by_id, 2, Decimal("10.00")),
    }
    assert books.collected_documents() == {ok1: 1, ok2: 1, ok_by_id: 1}
    assert result.counts == {"done": 3, "failed": 12, "skipped": 1, "unchanged": 1}
    assert result.exit_code == 1
    # refreshed amounts of collected rows, untouched ones of the rest
    assert cell(grid, 8, "Kalan") == 0
    assert cell(grid, 8, "Ödenen") == 100.0
    assert cell(grid, 8, "Ödeme Durumu") == "Ödendi"
    assert isinstance(cell(grid, 8, "Tahsilat Zamanı"), datetime)
    assert cell(grid, 18, "Kalan") == 16.0
    assert cell(grid, 22, "Tahsilat Zamanı") is None
    assert grid.saves == 1
    status = grid.value(layout.INVOICES, *layout.STATUS_CELL)
    assert status.startswith("Tahsilat: 3 tamamlandı, 12 hata, 1 atlandı")


def test_unknown_earlier_attempt_blocks_the_document(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    doc = add(books, "500.00")
    other = add(books, "70.00")
    client = client_for(sandbox)
    key = account_key(client)
    # An earlier attempt for 500 that left the invoice at neither 500 nor 0: nobody can say.
    earlier_intent(journal, key, doc, "500.00", row=7)
    books.update_invoice(doc, paid=Decimal("123.45"))
    grid = make_grid(
        books,
        [{"id": doc, "mark": "x", "vault": "Merkez Kasa"}, {"id": other, "mark": "x", "vault": 1}],
    )

    result = run(grid, client, journal)

    assert outcome_of(grid, FIRST) == (
        "Hata: önceki denemenin sonucu belirsiz; KolayBi'de kontrol edin"
    )
    assert outcome_of(grid, FIRST + 1).startswith("Tamamlandı")
    assert books.collected_documents() == {other: 1}  # never re-sent while unknown
    assert result.unresolved == 1
    assert [a.document_id for a in journal.pending(key)] == [doc]
    assert result.exit_code == 1
    # the read-only plan reports it the same way
    plan = plan_collection(grid, client, key=key, journal=journal)
    assert [i.outcome for i in plan.issues if i.document_id == doc] == [
        "Hata: önceki denemenin sonucu belirsiz; KolayBi'de kontrol edin"
    ]


# -- what is never touched --------------------------------------------------------------------


def test_unmarked_rows_and_user_columns_untouched(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    ids = [add(books, f"{100 + i}.00") for i in range(8)]
    rows: list[dict[str, Any]] = []
    for i, doc in enumerate(ids):
        spec: dict[str, Any] = {"id": doc, "note": f"not {i} =SUM(A1)"}
        if i % 3 == 0:
            spec.update(mark="x", vault="Merkez Kasa")
        else:
            spec.update(mark="" if i % 2 else "hayır", vault="Ziraat TL", outcome=f"eski {i}")
        rows.append(spec)
    grid = make_grid(books, rows)
    grid.write(layout.INVOICES, FIRST + 2, len(HEADERS) + 2, [["kenarda bir not"]])
    before = copy.deepcopy(grid.sheets)

    result = run(grid, client_for(sandbox), journal)

    assert result.counts == {"done": 3}
    marked_rows = {FIRST + i for i in range(len(ids)) if i % 3 == 0}
    tool_columns = {
        COL[h] for h in ("Tahsilat Durumu", "Tahsilat Zamanı", "Ödenen", "Kalan", "Ödeme Durumu")
    }
    after = grid.sheets[layout.INVOICES]
    changed = {
        key
        for key in set(before[layout.INVOICES]) | set(after)
        if before[layout.INVOICES].get(key) != after.get(key)
    }
    # only the marked rows' tool columns and the status cell changed
    assert changed, "the marked rows were written"
    for row, column in changed:
        if (row, column) == layout.STATUS_CELL:
            continue
        assert row in marked_rows, (row, column)
        assert column in tool_columns, (row, column)
    # every other sheet is as it was, except the new log
    for name, cells in before.items():
        if name != layout.INVOICES:
            assert grid.sheets[name] == cells
    assert books.collected_documents() == {ids[0]: 1, ids[3]: 1, ids[6]: 1}


def test_nothing_marked_changes_nothing(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    doc = add(books, "10.00")
    grid = make_grid(books, [{"id": doc, "mark": None, "vault": "Merkez Kasa"}])
    before = copy.deepcopy(grid.sheets)
    result = run(grid, client_for(sandbox), journal)
    assert result.outcomes == []
    assert result.exit_code == 0
    assert grid.sheets == before
    assert grid.saves == 0
    assert books.ledger == []


# -- the plan ---------------------------------------------------------------------------------


def test_plan_totals_per_vault_and_currency_are_exact(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    amounts = ["0.10", "0.20", "1234.56", "0.01", "99999.99"]
    try_ids = [add(books, a) for a in amounts]
    usd_ids = [add(books, a, currency="USD") for a in ("0.10", "0.20")]
    rows = [
        {"id": d, "mark": "x", "vault": "Merkez Kasa" if i % 2 == 0 else "Ziraat TL"}
        for i, d in enumerate(try_ids)
    ]
    rows += [{"id": d, "mark": "x", "vault": "Dolar Kasa"} for d in usd_ids]
    rows.append({"id": "yazı", "mark": "x", "vault": "Merkez Kasa"})
    grid = make_grid(books, rows)
    client = client_for(sandbox)

    plan = plan_collection(grid, client, key=account_key(client), journal=journal)

    assert plan.totals == {
        ("Merkez Kasa", "TRY"): Decimal("0.10") + Decimal("1234.56") + Decimal("99999.99"),
        ("Ziraat TL", "TRY"): Decimal("0.20") + Decimal("0.01"),
        ("Dolar Kasa", "USD"): Decimal("0.30"),
    }
    assert plan.totals[("Merkez Kasa", "TRY")] == Decimal("101234.65")
    assert all(isinstance(v, Decimal) for v in plan.totals.values())
    assert [r.amount for r in plan.rows][:2] == [Decimal("0.10"), Decimal("0.20")]
    assert plan.errors == 1
    tr = plan.describe("tr")
    assert "7 fatura tahsil edilecek" in tr
    assert "Merkez Kasa: 101.234,65 TRY (3 fatura)" in tr
    assert "Dolar Kasa: 0,30 USD (2 fatura)" in tr
    assert "1 satırda hata" in tr
    en = plan.describe("en")
    assert "7 invoices to collect" in en  # plural forms (issue 13)
    assert "Merkez Kasa: 101,234.65 TRY (3 invoices)" in en
    assert "1 row with an error" in en
    assert books.ledger == []


def test_dry_run_changes_nothing_and_sends_nothing(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    docs = [add(books, "10.00"), add(books, "20.00", currency="USD")]
    grid = make_grid(
        books,
        [
            {"id": docs[0], "mark": "x", "vault": "Merkez Kasa"},
            {"id": docs[1], "mark": "x", "vault": "Merkez Kasa"},  # a row error
            {"id": "x", "mark": "zz", "vault": None},
        ],
    )
    before = copy.deepcopy(grid.sheets)
    confirmations: list[Plan] = []

    result = run(grid, client_for(sandbox), journal, dry_run=True, confirm=confirmations.append)

    assert grid.sheets == before
    assert grid.saves == 0
    assert books.ledger == []
    assert confirmations == []
    assert not journal.path.exists() or journal.attempts() == []
    assert result.dry_run
    assert [r.document_id for r in result.plan.rows] == [docs[0]]
    assert result.plan.errors == 2
    assert result.exit_code == 1


def test_confirm_false_sends_and_writes_nothing(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    doc = add(books, "10.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": "Merkez Kasa"}])
    before = copy.deepcopy(grid.sheets)
    seen: list[Plan] = []

    def refuse(plan: Plan) -> bool:
        seen.append(plan)
        return False

    result = run(grid, client_for(sandbox), journal, confirm=refuse)

    assert len(seen) == 1
    assert [r.document_id for r in seen[0].rows] == [doc]
    assert result.cancelled
    assert result.exit_code == 2
    assert grid.sheets == before
    assert grid.saves == 0
    assert books.ledger == []
    assert journal.attempts() == []

    result = run(grid, client_for(sandbox), journal, confirm=lambda plan: True)
    assert result.counts == {"done": 1}
    assert books.collected_documents() == {doc: 1}


# -- workbook problems ------------------------------------------------------------------------


def test_workbook_problems_are_job_errors(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    doc = add(books, "10.00")
    client = client_for(sandbox)

    def expect(grid: MemoryGrid, en: str, tr: str) -> None:
        with pytest.raises(JobError) as caught:
            run(grid, client, journal)
        assert caught.value.exit_code == 2
        assert en in caught.value.message
        assert tr in caught.value.message_tr

    expect(MemoryGrid(), "no 'Faturalar' sheet", "'Faturalar' sayfası yok")
    empty_sheet = MemoryGrid()
    empty_sheet.ensure_sheet(layout.INVOICES)
    expect(empty_sheet, "has no invoice table", "fatura tablosu yok")
    no_vault_column = make_grid(books, [{"id": doc, "mark": "x", "vault": 1}])
    no_vault_column.write(layout.INVOICES, HEADER_ROW, COL["Kasa/Banka"], [["Kasa"]])
    expect(no_vault_column, "missing column(s) 'Kasa/Banka'", "eksik: 'Kasa/Banka'")
    no_outcome = make_grid(books, [{"id": doc, "mark": "x", "vault": 1}])
    no_outcome.write(layout.INVOICES, HEADER_ROW, COL["Tahsilat Durumu"], [[None]])
    expect(no_outcome, "'Tahsilat Durumu'", "'Tahsilat Durumu'")
    expect(make_grid(books, []), "is empty", "tablosu boş")
    assert books.ledger == []


def test_vaults_come_from_the_api_when_kasalar_is_missing(
    sandbox: Sandbox, journal: Journal
) -> None:
    books = sandbox.books
    doc = add(books, "10.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": "Ziraat TL"}], kasalar=False)
    client = Recorder(client_for(sandbox))
    result = run(grid, client, journal)
    assert result.counts == {"done": 1}
    assert client.count("list_vaults") == 1
    assert [(e.document_id, e.vault_id) for e in books.ledger] == [(doc, 2)]
    assert layout.VAULTS not in grid.sheets  # collecting does not rewrite Kasalar


def test_vault_deleted_in_kolaybi_is_a_row_error(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    doc = add(books, "10.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": "Eski Kasa"}])
    grid.write(layout.VAULTS, 5, 1, [[77, "Eski Kasa", "Kasa", "TRY", 0]])
    run(grid, client_for(sandbox), journal)
    assert outcome_of(grid, FIRST) == (
        "Hata: Kasa/Banka KolayBi'de bulunamadı: 'Eski Kasa' (ID 77); Kasalar sayfasını yenileyin"
    )
    assert books.ledger == []


# -- reading KolayBi with few calls -----------------------------------------------------------


def test_few_rows_read_one_by_one_many_rows_by_list(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    few = [add(books, "5.00") for _ in range(3)]
    grid = make_grid(books, [{"id": d, "mark": "x", "vault": 1} for d in few])
    client = Recorder(client_for(sandbox))
    run(grid, client, journal)
    assert client.count("get_invoice") == 3
    assert client.count("list_invoices") == 0

    many = [add(books, "5.00") for _ in range(30)]
    grid = make_grid(books, [{"id": d, "mark": "x", "vault": 1} for d in many])
    client = Recorder(client_for(sandbox))
    result = run(grid, client, journal)
    assert result.counts == {"done": 30}
    assert client.count("get_invoice") == 0
    assert client.calls.count(("list_invoices", "sale_invoice")) == 1
    assert client.count("proceed") == 30
    assert all(books.collected_documents()[d] == 1 for d in few + many)


def test_detail_without_payment_plan_falls_back_to_the_list(journal: Journal) -> None:
    books = make_books()
    docs = [books.add_invoice(grand_total=Decimal("7.50")) for _ in range(2)]
    with Sandbox(books=books, detail_has_payment_plan=False) as sb:
        grid = make_grid(books, [{"id": d, "mark": "x", "vault": 1} for d in docs])
        client = Recorder(client_for(sb))
        result = run(grid, client, journal)
        assert result.counts == {"done": 2}
        assert client.calls.count(("list_invoices", "sale_invoice")) == 1
        assert books.collected_documents() == {docs[0]: 1, docs[1]: 1}
        # and an unclear proceed is reconciled through the list as well
        third = books.add_invoice(grand_total=Decimal("3.00"))
        sb.faults.inject("drop_after", 1)
        grid = make_grid(books, [{"id": third, "mark": "x", "vault": 1}])
        run(grid, client_for(sb), journal)
        assert outcome_of(grid, FIRST) == (
            "Tamamlandı (yeniden okunarak doğrulandı): 3,00 TRY → Merkez Kasa"
        )
        assert books.collected_documents()[third] == 1


# -- sending: errors by kind ------------------------------------------------------------------


def test_draft_and_rejected_invoices_are_never_sent(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    draft = add(books, "10.00", status="draft")
    rejected = add(books, "12.00", status="rejected")
    doc = add(books, "11.00")
    grid = make_grid(
        books,
        [
            {"id": draft, "mark": "x", "vault": 1},
            {"id": rejected, "mark": "x", "vault": 1},
            {"id": doc, "mark": "x", "vault": 1},
        ],
    )
    result = run(grid, client_for(sandbox), journal)
    assert outcome_of(grid, FIRST) == "Hata: fatura taslak durumunda; önce KolayBi'de kesinleştirin"
    assert outcome_of(grid, FIRST + 1) == "Hata: fatura reddedilmiş; tahsil edilemez"
    assert outcome_of(grid, FIRST + 2).startswith("Tamamlandı")
    assert result.exit_code == 1
    assert books.collected_documents() == {doc: 1}


def test_server_refusal_is_a_row_error(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    paid_meanwhile = add(books, "10.00")
    doc = add(books, "11.00")
    grid = make_grid(
        books,
        [{"id": paid_meanwhile, "mark": "x", "vault": 1}, {"id": doc, "mark": "x", "vault": 1}],
    )

    def confirm(plan: Any) -> bool:
        # someone collects it in the web app while the dialog is open
        books.proceed(paid_meanwhile, 1)
        return True

    result = run(grid, client_for(sandbox), journal, confirm=confirm)
    assert outcome_of(grid, FIRST).startswith("Hata: KolayBi reddetti: ")
    assert outcome_of(grid, FIRST + 1).startswith("Tamamlandı")
    assert result.exit_code == 1
    assert books.collected_documents() == {paid_meanwhile: 1, doc: 1}  # ours was refused
    assert journal.unwritten(account_key(client_for(sandbox))) == []


def test_rate_limited_after_client_retries_is_a_row_error(
    sandbox: Sandbox, journal: Journal
) -> None:
    books = sandbox.books
    docs = [add(books, "10.00"), add(books, "11.00")]
    grid = make_grid(books, [{"id": d, "mark": "x", "vault": 1} for d in docs])
    sandbox.faults.inject("rate_limit", 2, retry_after=0)  # max_retries=1: gives up
    result = run(grid, client_for(sandbox, max_retries=1), journal, concurrency=1)
    assert outcome_of(grid, FIRST) == (
        "Hata: KolayBi çok fazla istek aldı (HTTP 429); gönderilmedi, daha sonra tekrar deneyin"
    )
    assert outcome_of(grid, FIRST + 1).startswith("Tamamlandı")
    assert books.collected_documents() == {docs[1]: 1}
    assert result.exit_code == 1


def test_credentials_refused_mid_run_stops_sending(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    docs = [add(books, f"{10 + i}.00") for i in range(5)]
    grid = make_grid(books, [{"id": d, "mark": "x", "vault": 1} for d in docs])
    sent: list[int] = []

    def refuse_after_two(document_id: int) -> None:
        sent.append(document_id)
        if len(sent) > 2:
            raise AuthenticationError("Unauthenticated.", status=401)

    client = Recorder(client_for(sandbox), before_proceed=refuse_after_two)
    result = run(grid, client, journal, concurrency=1)

    assert result.exit_code == 3
    assert result.stopped
    assert "kimlik bilgilerini reddetti" in result.stopped
    assert books.collected_documents() == {docs[0]: 1, docs[1]: 1}
    assert client.count("proceed") == 3  # the refused one; nothing after it
    texts = [outcome_of(grid, FIRST + i) for i in range(5)]
    assert texts[0].startswith("Tamamlandı")
    assert texts[1].startswith("Tamamlandı")
    for text in texts[2:]:
        assert text.startswith("Hata: gönderilmedi: KolayBi kimlik bilgilerini reddetti")
    assert journal.pending(account_key(client)) == []


def test_unexpected_exception_in_a_worker_loses_no_outcome(
    sandbox: Sandbox, journal: Journal
) -> None:
    books = sandbox.books
    docs = [add(books, f"{10 + i}.00") for i in range(6)]
    never_sent, applied_then_broken = docs[1], docs[4]

    def before(document_id: int) -> None:
        if document_id == never_sent:
            raise ValueError("a bug before sending")

    def after(document_id: int) -> None:
        if document_id == applied_then_broken:
            raise RuntimeError("a bug after the server applied it")

    grid = make_grid(books, [{"id": d, "mark": "x", "vault": 1} for d in docs])
    client = Recorder(client_for(sandbox), before_proceed=before, after_proceed=after)
    result = run(grid, client, journal, concurrency=3)

    by_row = {o.document_id: o for o in result.outcomes}
    assert by_row[never_sent].status == "failed"
    assert outcome_of(grid, FIRST + 1) == (
        "Hata: KolayBi yanıt vermedi; tahsilat yapılmadı (3 deneme) — "
        "daha sonra tekrar deneyebilirsiniz"
    )
    assert by_row[applied_then_broken].outcome == (
        "Tamamlandı (yeniden okunarak doğrulandı): 14,00 TRY → Merkez Kasa"
    )
    assert books.collected_documents() == {d: 1 for d in docs if d != never_sent}
    assert client.calls.count(("proceed", never_sent)) == 3
    assert sum(1 for o in result.outcomes if o.status == "done") == 5


def test_unclear_outcome_never_resent_blindly_and_settled_later(
    sandbox: Sandbox, journal: Journal
) -> None:
    books = sandbox.books
    doc = add(books, "42.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": 1}])

    def arm(_document_id: int) -> None:
        # applied, the answer lost; then every re-read of the invoice fails
        sandbox.faults.inject("drop_after", 1)
        sandbox.faults.inject("bad_json", 50, endpoint="invoices")

    client = Recorder(client_for(sandbox), before_proceed=arm)
    result = run(grid, client, journal)
    assert outcome_of(grid, FIRST) == (
        "Hata: sonuç belirsiz — KolayBi'de kontrol edin; tekrar gönderilmedi"
    )
    assert result.counts == {"unknown": 1}
    assert result.exit_code == 1
    assert books.collected_documents() == {doc: 1}
    key = account_key(client)
    assert [a.result for a in journal.pending(key)] == ["unknown"]
    log_rows = grid.read(layout.COLLECTION_LOG)
    assert log_rows[-1][8] == "Belirsiz"

    # KolayBi answers again: the next run proves it was applied and never sends it again
    sandbox.faults.clear()
    result = run(grid, client_for(sandbox), journal)
    assert outcome_of(grid, FIRST) == (
        "Tamamlandı (yeniden okunarak doğrulandı): 42,00 TRY → Merkez Kasa"
    )
    assert result.recovered == 1
    assert books.collected_documents() == {doc: 1}
    assert journal.pending(key) == []
    assert journal.unwritten(key) == []


def test_progress_is_reported(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    docs = [add(books, "1.00") for _ in range(45)]
    grid = make_grid(books, [{"id": d, "mark": "x", "vault": 1} for d in docs])
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def progress(done: int, total: int) -> None:
        with lock:
            seen.append((done, total))

    run(grid, client_for(sandbox), journal, on_progress=progress)
    assert seen == [(i, 45) for i in range(1, 46)]
    counting = [m for m in grid.messages if m.startswith("Tahsilat: ") and "/" in m]
    assert 1 <= len(counting) <= 25
    assert counting[-1] == "Tahsilat: 45/45"


# -- the journal ------------------------------------------------------------------------------


class FsyncWatch:
    def __init__(self, journal_path: Path) -> None:
        self.path = journal_path
        self.events: list[str] = []
        self.real = os.fsync

    def fsync(self, fd: int) -> None:
        self.real(fd)
        self.events.append("fsync")


def test_intent_is_on_disk_before_proceed_is_sent(
    sandbox: Sandbox, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    books = sandbox.books
    docs = [add(books, "10.00"), add(books, "20.00")]
    grid = make_grid(books, [{"id": d, "mark": "x", "vault": "Merkez Kasa"} for d in docs])
    watch = FsyncWatch(journal.path)
    monkeypatch.setattr(journal_mod.os, "fsync", watch.fsync)
    checked: list[int] = []

    def intent_already_durable(document_id: int) -> None:
        # read the file afresh, as another process (or the next run) would
        lines = journal.path.read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines]
        mine = [r for r in records if r["document_id"] == document_id]
        assert [r["event"] for r in mine] == ["intent"]
        assert mine[0]["amount"] in ("10.00", "20.00")
        assert Decimal(mine[0]["remaining_before"]) == Decimal(mine[0]["amount"])
        assert mine[0]["vault_id"] == 1
        # the normalised account key (127.0.0.1 and localhost are one account)
        assert mine[0]["key"] == f"{sandbox.url.replace('127.0.0.1', 'localhost')}|sandbox-channel"
        assert watch.events
        assert watch.events[-1] == "fsync"
        watch.events.append(f"proceed {document_id}")
        checked.append(document_id)

    client = Recorder(client_for(sandbox), before_proceed=intent_already_durable)
    run(grid, client, journal, concurrency=1)

    assert sorted(checked) == sorted(docs)
    # every proceed was preceded by an fsync, and followed by one (the outcome)
    for i, event in enumerate(watch.events):
        if event.startswith("proceed"):
            assert watch.events[i - 1] == "fsync"
            assert watch.events[i + 1] == "fsync"
    records = [json.loads(line) for line in journal.path.read_text().splitlines()]
    assert [r["event"] for r in records] == [
        "intent",
        "outcome",
        "intent",
        "outcome",
        "written",
        "written",
    ]
    outcome = records[1]
    assert outcome["result"] == "applied"
    assert outcome["detail"].startswith("Tamamlandı: ")
    assert outcome["remaining_after"] in ("0.0", "0", "0.00")
    for field in ("attempt", "key", "document_id", "vault_id", "amount", "currency", "at"):
        assert field in records[0]
    assert len(records[0]["attempt"]) == 32
    datetime.fromisoformat(records[0]["at"])


def test_journal_reading_tolerates_torn_and_garbage_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    common = {
        "key": "K",
        "vault_id": 1,
        "amount": Decimal("10"),
        "currency": "TRY",
        "remaining_before": Decimal("10"),
        "workbook": "a.xlsx",
        "row": 7,
    }
    first = journal.intent(document_id=1, **common)
    journal.outcome(first, "applied", "Tamamlandı: 10,00 TRY → K", Decimal(0))
    second = journal.intent(document_id=2, **common)
    with journal.path.open("ab") as handle:
        handle.write(b"this is not json\n")
        handle.write(b'["a list", 1]\n')
        handle.write(b"\xff\xfe broken utf-8\n")
        handle.write(b'{"event": "outcome", "attempt": "' + second.attempt.encode() + b'", "ke')
    caplog.set_level(logging.WARNING, logger="kolaybi_xl.jobs.journal")

    assert [a.document_id for a in journal.pending("K")] == [2]
    assert [a.document_id for a in journal.unwritten("K")] == [1]
    assert "torn last line" in caplog.text
    assert "unreadable line" in caplog.text

    # the next append terminates the torn line first, so nothing is swallowed
    journal.outcome(second, "failed", "Hata: x")
    assert journal.pending("K") == []
    assert sorted(a.document_id for a in journal.unwritten("K")) == [1, 2]
    journal.mark_written(journal.unwritten("K"))
    assert journal.unwritten("K") == []
    assert journal.pending("other account") == []


def test_journal_pending_unwritten_and_accounts(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "deep" / "dir" / "j.jsonl")
    common = {
        "vault_id": 1,
        "amount": Decimal("5.5"),
        "currency": "TRY",
        "remaining_before": Decimal("5.5"),
        "workbook": "a.xlsx",
        "row": 9,
    }
    a = journal.intent(key="A", document_id=1, **common)
    b = journal.intent(key="B", document_id=1, **common)
    assert [x.attempt for x in journal.pending("A")] == [a.attempt]
    assert [x.attempt for x in journal.pending("B")] == [b.attempt]
    journal.outcome(a, "unknown", "Hata: sonuç belirsiz")
    assert [x.result for x in journal.pending("A")] == ["unknown"]  # unknown stays pending
    assert journal.unwritten("A") == []
    journal.outcome(a, "applied", "Tamamlandı", Decimal(0))
    assert journal.pending("A") == []
    [done] = journal.unwritten("A")
    assert done.result == "applied"
    assert done.remaining_after == 0
    assert done.amount == Decimal("5.5")
    assert done.row == 9
    journal.mark_written([done])
    assert journal.unwritten("A") == []
    assert [x.attempt for x in journal.pending("B")] == [b.attempt]
    if sys.platform != "win32":
        assert journal.path.stat().st_mode & 0o077 == 0  # private to the user
    with pytest.raises(ValueError, match="unknown result"):
        journal.outcome(b, "maybe", "")


def test_default_journal_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KOLAYBI_XL_JOURNAL", str(tmp_path / "x.jsonl"))
    assert Journal.default().path == tmp_path / "x.jsonl"
    monkeypatch.delenv("KOLAYBI_XL_JOURNAL")
    path = Journal.default().path
    assert path.name == "journal.jsonl"
    assert "kolaybi-xl" in str(path)


def test_lock_refuses_a_second_collection_in_process(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    first, second = Journal(path), Journal(path)
    with first.lock("K"):
        with pytest.raises(JobError, match="another collection is running") as caught:  # noqa: SIM117
            with second.lock("K"):
                pass  # pragma: no cover
        assert "başka bir tahsilat" in caught.value.message_tr
        with second.lock("other account"):  # other accounts are independent
            pass
    with second.lock("K"):  # released
        pass


def test_lock_refuses_a_collection_while_another_process_holds_it(
    sandbox: Sandbox, journal: Journal
) -> None:
    books = sandbox.books
    doc = add(books, "10.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": 1}])
    client = client_for(sandbox)
    key = account_key(client)
    code = (
        "import sys\n"
        "from kolaybi_xl.jobs.journal import Journal\n"
        f"with Journal({str(journal.path)!r}).lock({key!r}):\n"
        "    print('locked', flush=True)\n"
        "    sys.stdin.read()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(JobError, match="another collection is running"):
            run(grid, client, journal)
        assert books.ledger == []
        assert grid.saves == 0
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)
    assert run(grid, client, journal).counts == {"done": 1}


def test_the_api_key_is_never_written(
    journal: Journal, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    books = make_books()
    docs = [books.add_invoice(grand_total=Decimal(f"{10 + i}.00")) for i in range(6)]
    draft = books.add_invoice(grand_total=Decimal("1.00"), status="draft")
    with Sandbox(books=books, api_key=API_KEY) as sb:
        client = client_for(sb, timeout=(2.0, 0.5), proceed_timeout=(2.0, 0.5))
        sb.faults.slow_seconds = 0.8
        for kind in ("drop_after", "error_after", "slow_after", "bad_json", "expire_token"):
            sb.faults.inject(kind, 1)
        grid = make_grid(books, [{"id": d, "mark": "x", "vault": 1} for d in [*docs, draft]])
        run(grid, client, journal, concurrency=2)
        token = client._token
    assert books.collected_documents() == {d: 1 for d in docs}
    texts = {
        "journal": journal.path.read_text(encoding="utf-8"),
        "workbook": all_text(grid),
        "log": caplog.text,
        "progress": "\n".join(grid.messages),
    }
    assert "Tahsilat Günlüğü" in grid.sheets
    assert token
    for where, text in texts.items():
        assert API_KEY not in text, where
        assert token not in text, where
        assert "Bearer" not in text, where


def test_recovered_outcomes_are_logged_once(sandbox: Sandbox, journal: Journal) -> None:
    """An outcome of an earlier run is written once: a third run writes nothing new."""
    books = sandbox.books
    doc = add(books, "10.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": 1}])
    client = client_for(sandbox)
    key = account_key(client)
    attempt = earlier_intent(
        journal,
        key,
        doc,
        "10.00",
        vault_name="Merkez Kasa",
        seen=(),  # the vault had no transaction of this amount before: a new one is ours
    )
    client.proceed(doc, 1, Decimal("10.00"))  # applied by a run that then died
    result = run(grid, client, journal)
    assert result.recovered == 1
    assert outcome_of(grid, FIRST) == (
        "Tamamlandı (yeniden okunarak doğrulandı): 10,00 TRY → Merkez Kasa"
    )
    log_rows = grid.read(layout.COLLECTION_LOG)
    assert len(log_rows) == 2
    assert log_rows[1][1] == doc
    assert log_rows[1][8] == "Tamamlandı"
    assert [a.attempt for a in journal.attempts(key)] == [attempt.attempt]
    result = run(grid, client, journal)
    assert result.recovered == 0
    assert result.counts == {"unchanged": 1}
    assert len(grid.read(layout.COLLECTION_LOG)) == 2
    assert books.collected_documents() == {doc: 1}


class Flaky(Recorder):
    """``proceed`` answers OutcomeUnknown: once after applying, once without applying."""

    def __init__(self, inner: Any, applied: int, lost: int) -> None:
        super().__init__(inner)
        self.applied, self.lost = applied, lost
        self.lost_failures = 1

    def proceed(self, document_id: int, vault_id: int, amount: Decimal | None = None) -> Any:
        self._log("proceed", document_id)
        if document_id == self.applied:
            self.inner.proceed(document_id, vault_id, amount)
            raise OutcomeUnknown("read timeout", document_id=document_id)
        if document_id == self.lost and self.lost_failures:
            self.lost_failures -= 1
            raise OutcomeUnknown("connection reset before the server read it")
        return self.inner.proceed(document_id, vault_id, amount)


def test_outcome_unknown_from_the_client_is_reconciled(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    applied = add(books, "30.00")
    lost = add(books, "40.00")
    client = Flaky(client_for(sandbox), applied, lost)
    grid = make_grid(books, [{"id": d, "mark": "x", "vault": 1} for d in (applied, lost)])

    run(grid, client, journal)

    assert outcome_of(grid, FIRST) == (
        "Tamamlandı (yeniden okunarak doğrulandı): 30,00 TRY → Merkez Kasa"
    )
    assert outcome_of(grid, FIRST + 1) == "Tamamlandı: 40,00 TRY → Merkez Kasa"
    assert client.calls.count(("proceed", applied)) == 1
    assert client.calls.count(("proceed", lost)) == 2  # proven not applied, then resent
    assert books.collected_documents() == {applied: 1, lost: 1}
    key = account_key(client)
    results = [a.result for a in journal.attempts(key) if a.document_id == lost]
    assert results == ["not_applied", "applied"]
    log_rows = grid.read(layout.COLLECTION_LOG)
    assert len(log_rows) == 1 + 3  # the header and one row per attempt
    assert [r[8] for r in log_rows[1:]].count("Hata") == 1


def test_journal_that_cannot_be_written_sends_nothing(
    sandbox: Sandbox, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    books = sandbox.books
    docs = [add(books, "10.00"), add(books, "20.00")]
    grid = make_grid(books, [{"id": d, "mark": "x", "vault": 1} for d in docs])

    def disk_full(self: Journal, record: dict[str, Any]) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Journal, "_append", disk_full)
    client = Recorder(client_for(sandbox))
    result = run(grid, client, journal)

    assert client.count("proceed") == 0
    assert books.ledger == []
    for i in range(2):
        assert outcome_of(grid, FIRST + i) == (
            "Hata: gönderilmedi: tahsilat günlüğü yazılamadı (OSError)"
        )
    assert result.exit_code == 1  # a local problem, not an unreachable API


def test_killed_before_the_request_left_is_sent_again(sandbox: Sandbox, journal: Journal) -> None:
    """An intent with no outcome whose invoice is unchanged: proven not applied, sent again."""
    books = sandbox.books
    doc = add(books, "25.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": "Merkez Kasa"}])
    client = client_for(sandbox)
    key = account_key(client)
    earlier_intent(journal, key, doc, "25.00")

    result = run(grid, client, journal)

    assert outcome_of(grid, FIRST) == "Tamamlandı: 25,00 TRY → Merkez Kasa"
    assert books.collected_documents() == {doc: 1}
    assert [a.result for a in journal.attempts(key)] == ["not_applied", "applied"]
    assert result.recovered == 1
    log_rows = grid.read(layout.COLLECTION_LOG)
    assert [r[8] for r in log_rows[1:]] == ["Hata", "Tamamlandı"]
    assert journal.pending(key) == []
    assert journal.unwritten(key) == []


def test_two_open_attempts_of_one_invoice_stay_unknown(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    doc = add(books, "25.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": 1}])
    client = client_for(sandbox)
    key = account_key(client)
    for _ in range(2):
        earlier_intent(journal, key, doc, "25.00")
    run(grid, client, journal)
    assert outcome_of(grid, FIRST) == (
        "Hata: önceki denemenin sonucu belirsiz; KolayBi'de kontrol edin"
    )
    assert books.ledger == []
    assert len(journal.pending(key)) == 2


def test_outcomes_follow_their_invoice_when_rows_move_during_the_run(
    sandbox: Sandbox, journal: Journal
) -> None:
    """Someone sorts the table in Excel while collecting: outcomes go by Belge ID."""
    books = sandbox.books
    docs = [add(books, f"{i}.00") for i in range(1, 6)]
    grid = make_grid(books, [{"id": d, "mark": "x", "vault": 1} for d in docs])
    width = len(HEADERS)
    moved = {"done": False}

    def reverse_rows(done: int, total: int) -> None:
        if moved["done"]:
            return
        moved["done"] = True
        rows = [
            [grid.value(layout.INVOICES, FIRST + i, c) for c in range(1, width + 1)]
            for i in range(len(docs))
        ]
        grid.write(layout.INVOICES, FIRST, 1, rows[::-1])

    run(grid, client_for(sandbox), journal, on_progress=reverse_rows, concurrency=1)

    for i in range(len(docs)):
        doc = cell(grid, FIRST + i, "Belge ID")
        amount = int(books.invoices[doc].grand_total)
        assert outcome_of(grid, FIRST + i) == f"Tamamlandı: {amount},00 TRY → Merkez Kasa"
        assert cell(grid, FIRST + i, "Kalan") == 0


def test_a_failing_progress_display_never_stops_a_collection(
    sandbox: Sandbox, journal: Journal
) -> None:
    books = sandbox.books
    docs = [add(books, f"{10 + i}.00") for i in range(3)]
    grid = make_grid(books, [{"id": d, "mark": "x", "vault": 1} for d in docs])

    def broken(done: int, total: int) -> None:
        raise RuntimeError("terminal went away")

    result = run(grid, client_for(sandbox), journal, on_progress=broken)
    assert result.exit_code == 0
    assert books.collected_documents() == dict.fromkeys(docs, 1)
    assert all(outcome_of(grid, FIRST + i).startswith("Tamamlandı") for i in range(3))


def test_vault_transactions_by_amount_find_what_a_scan_finds():
    """The evidence's per-vault index gives the ids a scan of every transaction gives (either
    sign, within the tolerance, in the vault's order)."""
    import random
    from decimal import Decimal

    from kolaybi_xl.api.models import VaultTransaction
    from kolaybi_xl.jobs.collect.settle import _ByAmount, _same_amount

    rng = random.Random(3)
    items = [
        VaultTransaction(
            id=i,
            amount=None
            if rng.random() < 0.05
            else Decimal(rng.choice([1, -1]) * rng.randrange(0, 3000)) / 100,
        )
        for i in range(2000)
    ]
    by_amount = _ByAmount(items)
    nudges = [Decimal(n) for n in ("0", "0.005", "-0.005", "0.004", "0.006", "-0.006")]
    for _ in range(2000):
        amount = (Decimal(rng.randrange(0, 3000)) / 100 + rng.choice(nudges)) * rng.choice([1, -1])
        expected = tuple(t.id for t in items if _same_amount(t.amount, amount))
        assert by_amount.ids_of(amount) == expected

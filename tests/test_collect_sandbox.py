"""Collecting against the sandbox over real HTTP, with every fault it can inject.

The workbook is a ``MemoryGrid``; KolayBi is ``kolaybi_xl.sandbox.Sandbox`` on loopback. The
invariants checked after every run:

- no invoice is ever collected twice (``collected_documents()`` counts are all 1), and only
  invoices that are valid and marked are collected;
- every marked row has an outcome starting with Tamamlandı / Hata / Atlandı; a Tamamlandı row
  was collected exactly once, a Hata row that does not say the outcome is unclear was not;
- nothing is left unwritten in the journal after a saved run.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kolaybi_xl.api import InvoiceType, KolayBiClient
from kolaybi_xl.jobs import collect as collect_mod
from kolaybi_xl.jobs.collect import (
    CollectResult,
    OutcomesNotSaved,
    Waits,
    account_key,
    collect_marked,
)
from kolaybi_xl.jobs.errors import JobError
from kolaybi_xl.jobs.journal import Journal
from kolaybi_xl.sandbox import FAULT_KINDS, Books, Sandbox
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.grid import MemoryGrid

HEADERS = [c.header for c in layout.INVOICE_COLUMNS] + ["Notlarım"]
COL = {h: i + 1 for i, h in enumerate(HEADERS)}
HEADER_ROW = layout.INVOICE_HEADER_ROW
OUTCOME_WORDS = ("Tamamlandı", "Hata", "Atlandı")
VAULT_FOR = {"USD": "Garanti BBVA USD", "EUR": "İş Bankası EUR"}
TRY_VAULTS = ("Merkez Kasa", "Ziraat Bankası TL")


# Short waits, passed in. The horizon is the product's rule (3 x the 0.5 s read timeout): the
# sandbox's late-applying faults land inside it, as a real server's must.
FAST = Waits(reconcile_delay=0.0, resend_backoff=0.01, reread_backoff=0.0, poll=0.05)


@pytest.fixture
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Journal:
    path = tmp_path / "journal.jsonl"
    monkeypatch.setenv("KOLAYBI_XL_JOURNAL", str(path))
    return Journal(path)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(invoices=60, seed=1) as sb:
        sb.faults.slow_seconds = 0.6
        yield sb


def client_for(sb: Sandbox, **kw: Any) -> KolayBiClient:
    """Short read timeouts, so ``slow_after`` times out after the server applied the request."""
    kw.setdefault("timeout", (2.0, 0.5))
    kw.setdefault("proceed_timeout", (2.0, 0.5))
    kw.setdefault("backoff", 0.0)
    kw.setdefault("max_retries", 3)
    kw.setdefault("sleep", lambda _s: None)
    return KolayBiClient(sb.url, sb.channel, sb.api_key, **kw)


@dataclass
class Book:
    """A workbook of the sandbox's invoices and what collecting it must achieve."""

    grid: MemoryGrid
    marked: dict[int, int]  # sheet row -> document id (marked rows)
    valid: set[int]  # documents that must end collected exactly once


class FailingSaveGrid(MemoryGrid):
    failures: int = 0

    def save(self) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("the file is open in Excel (locked)")
        super().save()


def make_book(books: Books, *, grid: MemoryGrid | None = None) -> Book:
    """Every sale invoice marked (vault by currency), a few other types marked too."""
    grid = grid if grid is not None else MemoryGrid()
    grid.ensure_sheet(layout.INVOICES)
    grid.write(layout.INVOICES, 1, 1, [[layout.TITLE], ["Fatura Türü", "Tümü"]])
    block: list[list[Any]] = [list(HEADERS)]
    marked: dict[int, int] = {}
    valid: set[int] = set()
    others = 0
    for n, record in enumerate(books.invoice_records()):
        row: list[Any] = [None] * len(HEADERS)
        sheet_row = HEADER_ROW + 1 + n
        values = {
            "Belge ID": record.id,
            "Seri No": record.serial_no,
            "Cari": record.associate_name,
            "Para Birimi": record.currency,
            "Genel Toplam": float(record.grand_total),
            "Kalan": float(record.remaining),
            "Tür": InvoiceType(record.type).label,
            "Notlarım": f"not {record.id}",
        }
        for header, value in values.items():
            row[COL[header] - 1] = value
        vault = VAULT_FOR.get(record.currency, TRY_VAULTS[n % 2])
        sale = record.type == "sale_invoice"
        if sale or others < 4:
            others += 0 if sale else 1
            row[COL["Tahsil Et"] - 1] = "x"
            row[COL["Kasa/Banka"] - 1] = vault
            marked[sheet_row] = record.id
            if sale and record.status not in ("draft", "cancelled") and record.remaining > 0:
                valid.add(record.id)
        block.append(row)
    grid.write(layout.INVOICES, HEADER_ROW, 1, block)
    grid.ensure_sheet(layout.VAULTS)
    vaults = [[c.header for c in layout.VAULT_COLUMNS]]
    for v in books.vault_records():
        vaults.append([v.id, v.name, layout.VAULT_TYPE_LABELS[v.type], v.currency, 0.0])
    grid.write(layout.VAULTS, 1, 1, vaults)
    assert len(valid) > 20  # the list path of planning is used
    return Book(grid, marked, valid)


def run(book: Book, client: Any, journal: Journal, **kw: Any) -> CollectResult:
    kw.setdefault("key", account_key(client))
    kw.setdefault("workbook", "sandbox.xlsx")
    kw.setdefault("waits", FAST)
    return collect_marked(book.grid, client, journal, **kw)


def run_or_unreachable(book: Book, client: Any, journal: Journal, **kw: Any) -> bool:
    """Run; False when planning could not read KolayBi (a JobError with exit code 3)."""
    try:
        run(book, client, journal, **kw)
    except JobError as exc:
        if exc.exit_code != 3:
            raise
        return False
    return True


def outcome(book: Book, row: int) -> str:
    return str(book.grid.value(layout.INVOICES, row, COL["Tahsilat Durumu"]) or "")


def check_invariants(book: Book, books: Books, journal: Journal, key: str) -> None:
    counts = books.collected_documents()
    assert all(n == 1 for n in counts.values()), counts.most_common(3)
    assert set(counts) <= book.valid
    for row, doc in book.marked.items():
        text = outcome(book, row)
        assert text.startswith(OUTCOME_WORDS), (row, doc, text)
        if text.startswith("Tamamlandı"):
            assert counts[doc] == 1, (row, doc, text)
        elif "belirsiz" not in text:
            assert counts[doc] == 0, (row, doc, text)
    assert journal.unwritten(key) == []
    unknown_docs = {a.document_id for a in journal.pending(key)}
    for row, doc in book.marked.items():
        if doc in unknown_docs:
            assert "belirsiz" in outcome(book, row)


def check_all_done(book: Book, books: Books) -> None:
    counts = books.collected_documents()
    assert counts == {doc: 1 for doc in book.valid}
    for row, doc in book.marked.items():
        if doc in book.valid:
            assert outcome(book, row).startswith("Tamamlandı"), (row, outcome(book, row))
        else:
            assert outcome(book, row).startswith(("Hata", "Atlandı")), (row, outcome(book, row))


def finish(book: Book, sb: Sandbox, journal: Journal) -> None:
    """Faults off: a run completes the rest; one more run changes nothing."""
    sb.faults.clear()
    client = client_for(sb)
    key = account_key(client)
    result = run(book, client, journal)
    check_invariants(book, sb.books, journal, key)
    check_all_done(book, sb.books)
    assert journal.pending(key) == []
    ledger = sb.books.ledger
    before = copy.deepcopy(book.grid.sheets[layout.INVOICES])
    result = run(book, client, journal)
    assert sb.books.ledger == ledger  # nothing more collected
    assert result.counts["done"] == 0
    assert result.counts["unchanged"] == len(book.valid)
    for row, doc in book.marked.items():  # every row as it was, except the status cell
        if doc in book.valid:
            assert book.grid.value(layout.INVOICES, row, COL["Tahsilat Durumu"]) == before.get(
                (row, COL["Tahsilat Durumu"])
            )


# -- every fault kind -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_fault_kind_never_collects_twice(
    kind: str, sandbox: Sandbox, journal: Journal
) -> None:
    book = make_book(sandbox.books)
    client = client_for(sandbox)
    key = account_key(client)
    sandbox.faults.inject(kind, 4, retry_after=0)

    result = run(book, client, journal)

    check_invariants(book, sandbox.books, journal, key)
    fired = [f.kind for f in sandbox.faults.fired]
    if kind == "expire_token":
        # a request refused twice in a row (its renewed token expired too) stops the run
        assert fired.count(kind) >= 2
        assert result.exit_code in (0, 3)
        if result.exit_code == 3:
            assert result.stopped
            assert "kimlik bilgilerini reddetti" in result.stopped
    else:
        assert fired.count(kind) == 4
    if kind in ("error_after", "drop_after", "slow_after"):
        # applied, answer lost: each proven by re-reading, none resent
        verified = [o for o in result.outcomes if "yeniden okunarak doğrulandı" in o.outcome]
        assert len(verified) == 4
        check_all_done(book, sandbox.books)
    finish(book, sandbox, journal)


def test_faults_on_reads_and_token_too(sandbox: Sandbox, journal: Journal) -> None:
    """Faults on every endpoint: planning or reconciling reads may fail as well."""
    book = make_book(sandbox.books)
    key = account_key(client_for(sandbox))
    for kind in FAULT_KINDS:
        sandbox.faults.inject(kind, 2, endpoint="any", retry_after=0)
    for _ in range(6):
        before = copy.deepcopy(book.grid.sheets)
        if not run_or_unreachable(book, client_for(sandbox), journal):
            assert book.grid.sheets == before  # KolayBi unreadable while planning: no change
            continue
        check_invariants(book, sandbox.books, journal, key)
    finish(book, sandbox, journal)


@pytest.mark.parametrize(
    ("endpoint", "probability", "seed"), [("proceed", 0.3, 7), ("any", 0.04, 11)]
)
def test_random_mix_of_every_fault(
    endpoint: str, probability: float, seed: int, sandbox: Sandbox, journal: Journal
) -> None:
    book = make_book(sandbox.books)
    key = account_key(client_for(sandbox))
    sandbox.faults.seed(seed)
    for kind in FAULT_KINDS:
        sandbox.faults.inject(kind, endpoint=endpoint, probability=probability, retry_after=0)
    runs = 0
    while runs < 8:
        runs += 1
        if not run_or_unreachable(book, client_for(sandbox), journal, concurrency=4):
            continue
        check_invariants(book, sandbox.books, journal, key)
        if set(sandbox.books.collected_documents()) == book.valid:
            break
    assert len(sandbox.faults.fired) > 10
    finish(book, sandbox, journal)


# -- a run killed half way ----------------------------------------------------------------------


class KilledAfter:
    """A client that dies (BaseException) right after the k-th proceed was applied."""

    def __init__(self, inner: KolayBiClient, k: int, exc: type[BaseException]) -> None:
        self.inner, self.k, self.exc = inner, k, exc
        self.base_url, self.channel = inner.base_url, inner.channel
        self.sent = 0
        self._lock = threading.Lock()

    def get_invoice(self, document_id: int) -> Any:
        return self.inner.get_invoice(document_id)

    def list_invoices(self, type: Any = InvoiceType.SALE_INVOICE) -> Any:
        return self.inner.list_invoices(type)

    def list_vaults(self) -> Any:
        return self.inner.list_vaults()

    def vault_transactions(self, vault_id: int) -> Any:
        return self.inner.vault_transactions(vault_id)

    def proceed(self, document_id: int, vault_id: int, amount: Decimal | None = None) -> Any:
        answer = self.inner.proceed(document_id, vault_id, amount)
        with self._lock:
            self.sent += 1
            dying = self.sent == self.k
        if dying:
            raise self.exc()
        return answer


@pytest.mark.parametrize(
    ("exc", "concurrency"), [(KeyboardInterrupt, 1), (SystemExit, 4), (KeyboardInterrupt, 4)]
)
def test_killed_run_is_recovered_by_the_next(
    exc: type[BaseException], concurrency: int, sandbox: Sandbox, journal: Journal
) -> None:
    book = make_book(sandbox.books)
    before = copy.deepcopy(book.grid.sheets)
    k = 7
    dying = KilledAfter(client_for(sandbox), k, exc)
    key = account_key(dying)

    with pytest.raises(exc):
        run(book, dying, journal, concurrency=concurrency)

    # killed before writing: the workbook is as it was; the journal knows everything
    assert book.grid.sheets == before
    assert book.grid.saves == 0
    collected = sandbox.books.collected_documents()
    assert k <= len(collected) < len(book.valid)
    assert all(n == 1 for n in collected.values())
    pending = journal.pending(key)
    applied = [a for a in journal.unwritten(key) if a.result == "applied"]
    assert len(pending) >= 1
    assert all(a.result is None for a in pending)
    assert {a.document_id for a in pending} | {a.document_id for a in applied} == set(collected)
    if concurrency == 1:
        assert len(pending) == 1
        assert len(applied) == k - 1
        assert len(collected) == k

    result = run(book, client_for(sandbox), journal, concurrency=concurrency)

    assert result.recovered >= len(collected)  # (and the refused attempts of the first run)
    check_invariants(book, sandbox.books, journal, key)
    check_all_done(book, sandbox.books)
    assert journal.pending(key) == []
    for attempt in pending:  # the attempt cut off mid-flight: proven by re-reading
        rows = [r for r, d in book.marked.items() if d == attempt.document_id]
        assert [outcome(book, r) for r in rows] == [
            f"Tamamlandı (yeniden okunarak doğrulandı): "
            f"{collect_mod.tr_amount(attempt.amount)} {attempt.currency} → {attempt.vault_name}"
        ]
    log_rows = book.grid.read(layout.COLLECTION_LOG)
    attempts = journal.attempts(key)
    assert len(log_rows) == 1 + len(attempts)  # one row per attempt of both runs, none lost
    assert sorted(r[1] for r in log_rows[1:]) == sorted(a.document_id for a in attempts)
    assert {r[1] for r in log_rows[1:] if r[8] == "Tamamlandı"} == book.valid
    finish(book, sandbox, journal)


# -- the save fails -----------------------------------------------------------------------------


def test_save_failure_is_written_by_the_next_run(sandbox: Sandbox, journal: Journal) -> None:
    grid = FailingSaveGrid()
    book = make_book(sandbox.books, grid=grid)
    on_disk = copy.deepcopy(grid.sheets)  # what the saved file holds
    client = client_for(sandbox)
    key = account_key(client)
    grid.failures = 1

    with pytest.raises(OutcomesNotSaved) as caught:
        run(book, client, journal)

    error = caught.value
    assert error.exit_code == 2
    assert "journal" in error.message
    assert "günlüğünde" in error.message_tr
    assert error.result.counts["done"] == len(book.valid)
    assert sandbox.books.collected_documents() == {d: 1 for d in book.valid}
    unwritten = journal.unwritten(key)
    assert {a.document_id for a in unwritten if a.result == "applied"} == book.valid
    assert journal.pending(key) == []
    ledger = sandbox.books.ledger

    grid.sheets = copy.deepcopy(on_disk)  # reopen the file: the unsaved writes are gone
    grid.order = [name for name in grid.order if name in grid.sheets]  # (its sheets too)
    result = run(book, client, journal)

    assert sandbox.books.ledger == ledger  # nothing collected again
    assert result.recovered == len(unwritten)
    assert result.saved
    assert grid.saves == 1
    check_invariants(book, sandbox.books, journal, key)
    check_all_done(book, sandbox.books)
    for row, doc in book.marked.items():
        if doc in book.valid:
            assert outcome(book, row).startswith("Tamamlandı: ")
            assert book.grid.value(layout.INVOICES, row, COL["Kalan"]) == 0
            assert book.grid.value(layout.INVOICES, row, COL["Ödeme Durumu"]) == "Ödendi"
    log_rows = book.grid.read(layout.COLLECTION_LOG)
    assert len(log_rows) == 1 + len(journal.attempts(key))  # the refused draft is sent again
    assert {r[1] for r in log_rows[1:] if r[8] == "Tamamlandı"} == book.valid


# -- concurrency changes nothing but speed --------------------------------------------------------


def collect_once(concurrency: int, tmp_path: Path, page_size: int | None) -> tuple[Any, Any]:
    with Sandbox(invoices=60, seed=1, page_size=page_size) as sb:
        book = make_book(sb.books)
        journal = Journal(tmp_path / f"j{concurrency}.jsonl")
        result = run(book, client_for(sb), journal, concurrency=concurrency)
        assert result.exit_code == 1  # the marked non-sale rows are errors
        texts = {row: outcome(book, row) for row in book.marked}
        ledger = sorted((e.document_id, e.vault_id, e.amount) for e in sb.books.ledger)
        check_all_done(book, sb.books)
        return texts, ledger


def test_concurrency_4_and_1_give_the_same_result(tmp_path: Path) -> None:
    one = collect_once(1, tmp_path, page_size=None)
    four = collect_once(4, tmp_path, page_size=7)  # and the list read across pages
    assert one == four
    texts, ledger = one
    assert len(ledger) > 20
    assert any(t.startswith("Hata: yalnız satış faturaları") for t in texts.values())

"""Undo (``geri al``) against the sandbox over real HTTP: remaining goes back up, the row says
``Geri alındı``, the log has the attempt; undoing twice sends nothing; every fault on the DELETE
is reconciled and the DELETE is never sent twice."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kolaybi_xl.api import InvoiceType, KolayBiClient
from kolaybi_xl.jobs.collect import OutcomesNotSaved, Waits, account_key, collect_marked
from kolaybi_xl.jobs.journal import APPLIED, UNDO, Journal
from kolaybi_xl.jobs.report.log import read_log
from kolaybi_xl.jobs.undo import UndoPlan, undo_marked
from kolaybi_xl.sandbox import FAULT_KINDS, Sandbox
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.grid import MemoryGrid

HEADERS = [c.header for c in layout.INVOICE_COLUMNS]
COL = {h: i + 1 for i, h in enumerate(HEADERS)}
HEADER_ROW = layout.INVOICE_HEADER_ROW
FAST = Waits(reconcile_delay=0.0, resend_backoff=0.01, reread_backoff=0.0, poll=0.05)
VAULT_FOR = {"USD": "Garanti BBVA USD", "EUR": "İş Bankası EUR", "TRY": "Merkez Kasa"}


class CountingClient(KolayBiClient):
    """The real client, counting the DELETEs it sends."""

    undos: list[int]

    def undo_collection(self, document_id: int) -> None:
        self.undos.append(int(document_id))
        super().undo_collection(document_id)


@pytest.fixture
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Journal:
    path = tmp_path / "journal.jsonl"
    monkeypatch.setenv("KOLAYBI_XL_JOURNAL", str(path))
    return Journal(path)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(invoices=40, seed=3) as sb:
        sb.faults.slow_seconds = 0.6
        yield sb


def client_for(sb: Sandbox) -> CountingClient:
    client = CountingClient(
        sb.url,
        sb.channel,
        sb.api_key,
        timeout=(2.0, 0.5),
        proceed_timeout=(2.0, 0.5),
        backoff=0.0,
        max_retries=3,
        sleep=lambda _s: None,
    )
    client.undos = []
    return client


def make_grid(sb: Sandbox, n: int = 5) -> tuple[MemoryGrid, dict[int, int]]:
    """``n`` open sale invoices with nothing paid yet, marked x (sheet row -> document id)."""
    grid = MemoryGrid()
    grid.ensure_sheet(layout.INVOICES)
    grid.write(layout.INVOICES, 1, 1, [[layout.TITLE], ["Fatura Türü", "Satış Faturası"]])
    block: list[list[Any]] = [list(HEADERS)]
    rows: dict[int, int] = {}
    records = [
        r
        for r in sb.books.invoice_records("sale_invoice")
        if r.status not in ("draft", "cancelled", "rejected") and r.paid == 0 and r.remaining > 0
    ][:n]
    assert len(records) == n
    for k, record in enumerate(records):
        row: list[Any] = [None] * len(HEADERS)
        values = {
            "Belge ID": record.id,
            "Seri No": record.serial_no,
            "Cari": record.associate_name,
            "Para Birimi": record.currency,
            "Genel Toplam": float(record.grand_total),
            "Kalan": float(record.remaining),
            "Tür": InvoiceType.SALE_INVOICE.label,
            "Tahsil Et": "x",
            "Kasa/Banka": VAULT_FOR[record.currency],
        }
        for header, value in values.items():
            row[COL[header] - 1] = value
        block.append(row)
        rows[HEADER_ROW + 1 + k] = record.id
    grid.write(layout.INVOICES, HEADER_ROW, 1, block)
    grid.ensure_sheet(layout.VAULTS)
    vaults = [[c.header for c in layout.VAULT_COLUMNS]]
    for v in sb.books.vault_records():
        vaults.append([v.id, v.name, layout.VAULT_TYPE_LABELS[v.type], v.currency, 0.0])
    grid.write(layout.VAULTS, 1, 1, vaults)
    return grid, rows


def cell(grid: MemoryGrid, row: int, header: str) -> Any:
    return grid.value(layout.INVOICES, row, COL[header])


def mark(grid: MemoryGrid, rows: dict[int, int], text: str) -> None:
    for row in rows:
        grid.write(layout.INVOICES, row, COL["Tahsil Et"], [[text]])


def log_rows(grid: MemoryGrid) -> list[list[Any]]:
    return grid.read(layout.COLLECTION_LOG)[layout.LOG_HEADER_ROW :]


def collect(grid: MemoryGrid, client: Any, journal: Journal) -> None:
    result = collect_marked(
        grid, client, journal, key=account_key(client), workbook="u.xlsx", waits=FAST
    )
    assert result.counts["done"] == len(result.plan.rows) > 0


def undo(grid: MemoryGrid, client: Any, journal: Journal, **kw: Any) -> Any:
    kw.setdefault("waits", FAST)
    return undo_marked(grid, client, journal, key=account_key(client), workbook="u.xlsx", **kw)


def test_undo_takes_back_refreshes_the_row_and_logs_it(sandbox: Sandbox, journal: Journal) -> None:
    grid, rows = make_grid(sandbox)
    client = client_for(sandbox)
    collect(grid, client, journal)
    totals = {d: sandbox.books.invoices[d].grand_total for d in rows.values()}
    assert all(sandbox.books.invoices[d].remaining == 0 for d in rows.values())
    logged = len(log_rows(grid))

    # collect leaves `geri al` rows alone: nothing sent, no outcome written
    mark(grid, rows, "  Geri Al ")
    before = dict(grid.sheets[layout.INVOICES])
    again = collect_marked(
        grid, client, journal, key=account_key(client), workbook="u.xlsx", waits=FAST
    )
    assert again.plan.marked == 0
    assert again.outcomes == []
    assert grid.sheets[layout.INVOICES] == before

    seen: list[UndoPlan] = []

    def confirm(plan: Any) -> bool:
        seen.append(plan)
        return True

    result = undo(grid, client, journal, confirm=confirm)
    assert result.exit_code == 0
    assert result.counts["done"] == len(rows)
    [plan] = seen
    text = plan.describe("tr")
    assert "TÜM tahsilatlarını" in text
    assert sorted(r.amount for r in plan.rows) == sorted(totals.values())
    assert sorted(client.undos) == sorted(rows.values())
    for row, doc in rows.items():
        invoice = sandbox.books.invoices[doc]
        assert invoice.remaining == totals[doc]  # KolayBi's remaining went back up
        assert str(cell(grid, row, "Tahsilat Durumu")).startswith("Geri alındı")
        assert Decimal(str(cell(grid, row, "Kalan"))) == invoice.remaining
        assert Decimal(str(cell(grid, row, "Ödenen"))) == 0
        assert cell(grid, row, "Ödeme Durumu") == layout.PAYMENT_STATUS_LABELS["unpaid"]
        assert cell(grid, row, "Tahsil Et").strip().casefold() == "geri al"  # kept as typed
    new = log_rows(grid)[logged:]
    assert len(new) == len(rows)
    for entry in new:
        assert entry[8] == "Geri alındı"
        assert Decimal(str(entry[6])) == -totals[entry[1]]  # negative: what was taken back
        assert entry[4] is None  # no vault
    assert all(a.kind == UNDO and a.result == APPLIED for a in journal.attempts() if a.is_undo)
    summary = read_log(grid.read(layout.COLLECTION_LOG))
    assert summary.collections == ()  # the report counts nothing collected any more
    assert summary.undone == len(rows)
    assert journal.pending(account_key(client)) == []
    assert journal.unwritten(account_key(client)) == []

    # undoing twice sends nothing the second time, and the rows keep their text
    texts = {row: cell(grid, row, "Tahsilat Durumu") for row in rows}
    client.undos.clear()
    second = undo(grid, client, journal, confirm=confirm)
    assert client.undos == []
    assert second.plan.rows == []
    assert second.counts["unchanged"] == len(rows)
    assert {row: cell(grid, row, "Tahsilat Durumu") for row in rows} == texts
    assert len(log_rows(grid)) == logged + len(rows)


def test_nothing_collected_is_skipped_and_dry_run_sends_nothing(
    sandbox: Sandbox, journal: Journal
) -> None:
    grid, rows = make_grid(sandbox, 3)
    client = client_for(sandbox)
    mark(grid, rows, "geri al")
    dry = undo(grid, client, journal, dry_run=True)
    assert dry.plan.skipped == len(rows)
    assert client.undos == []
    assert undo(grid, client, journal).exit_code == 0
    assert client.undos == []
    for row in rows:
        assert cell(grid, row, "Tahsilat Durumu") == "Atlandı: geri alınacak tahsilat yok"


def test_a_refusal_is_an_error_in_the_row(sandbox: Sandbox, journal: Journal) -> None:
    """KolayBi's own refusal (here: the invoice's collections were taken back meanwhile,
    but its total_paid still shows an older payment) is the row's error, in its words."""
    grid, rows = make_grid(sandbox, 1)
    client = client_for(sandbox)
    [(row, doc)] = rows.items()
    collect(grid, client, journal)
    sandbox.books.undo(doc)  # someone else took it back...
    invoice = sandbox.books.invoices[doc]
    sandbox.books.update_invoice(doc, paid=invoice.paid + Decimal("1.00"))  # ...KolayBi says 1
    mark(grid, rows, "geri al")
    result = undo(grid, client, journal)
    assert client.undos == [doc]
    assert result.exit_code == 1
    text = str(cell(grid, row, "Tahsilat Durumu"))
    assert text.startswith("Hata: KolayBi reddetti"), text
    assert log_rows(grid)[-1][8] == "Hata"


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_fault_on_the_delete_is_reconciled_never_sent_twice(
    kind: str, sandbox: Sandbox, journal: Journal
) -> None:
    grid, rows = make_grid(sandbox, 4)
    client = client_for(sandbox)
    collect(grid, client, journal)
    totals = {d: sandbox.books.invoices[d].grand_total for d in rows.values()}
    mark(grid, rows, "geri al")
    sandbox.faults.inject(kind, 2, endpoint="undo", retry_after=0)

    undo(grid, client, journal)

    key = account_key(client)
    sent = list(client.undos)
    assert len(sent) == len(set(sent))  # never twice in one run
    for row, doc in rows.items():
        text = str(cell(grid, row, "Tahsilat Durumu"))
        undone = sandbox.books.invoices[doc].remaining == totals[doc]
        assert text.startswith(("Geri alındı", "Hata", "Atlandı")), text
        if text.startswith("Geri alındı"):
            assert undone, (kind, text)
        elif "belirsiz" not in text and "bekleniyor" not in text:
            assert not undone, (kind, text)
    if kind in ("error_after", "drop_after", "slow_after"):
        verified = [row for row in rows if "doğrulandı" in str(cell(grid, row, "Tahsilat Durumu"))]
        assert len(verified) == 2  # applied, answer lost: proven by re-reading, not resent

    # faults off: another run finishes the rest, and sends nothing already undone
    applied = {a.document_id for a in journal.attempts(key) if a.is_undo and a.result == APPLIED}
    sandbox.faults.clear()
    client.undos.clear()
    undo(grid, client, journal)
    assert not set(client.undos) & applied
    assert journal.pending(key) == []
    for row, doc in rows.items():
        assert sandbox.books.invoices[doc].remaining == totals[doc]
        assert str(cell(grid, row, "Tahsilat Durumu")).startswith("Geri alındı")


def test_an_undo_recovered_from_a_run_that_could_not_save_is_not_sent_again(
    sandbox: Sandbox, journal: Journal
) -> None:
    """A run whose DELETE went through but whose outcome never reached the workbook (killed,
    or the save failed) leaves ``Kalan`` showing the collected state. The next run writes the
    recovered ``Geri alındı`` — and must not send a second DELETE because the invoice still
    shows something paid (KolayBi may take back only the last collection: a second DELETE
    would take back an earlier one the accountant never marked)."""
    grid, rows = make_grid(sandbox, 1)
    client = client_for(sandbox)
    [(row, doc)] = rows.items()
    sandbox.books.update_invoice(doc, paid=Decimal("5.00"))  # an older part DELETE leaves
    grid.write(layout.INVOICES, row, COL["Kalan"], [[float(sandbox.books.invoices[doc].remaining)]])
    collect(grid, client, journal)
    mark(grid, rows, "geri al")

    saved = {name: dict(cells) for name, cells in grid.sheets.items()}
    real_save = grid.save
    grid.save = lambda: (_ for _ in ()).throw(OSError("disk full"))  # type: ignore[method-assign]
    with pytest.raises(OutcomesNotSaved):
        undo(grid, client, journal)
    assert client.undos == [doc]
    grid.save = real_save  # type: ignore[method-assign]
    grid.sheets = saved  # the file on disk: as before that run
    remaining = sandbox.books.invoices[doc].remaining
    assert remaining == Decimal(str(cell(grid, row, "Genel Toplam"))) - Decimal("5.00")
    assert Decimal(str(cell(grid, row, "Kalan"))) == 0
    client.undos.clear()

    result = undo(grid, client, journal)

    assert client.undos == []  # nothing sent a second time
    assert result.exit_code == 0
    assert str(cell(grid, row, "Tahsilat Durumu")).startswith("Geri alındı")
    assert Decimal(str(cell(grid, row, "Kalan"))) == remaining
    assert journal.unwritten(account_key(client)) == []
    # and pressing the button once more still sends nothing
    assert undo(grid, client, journal).exit_code == 0
    assert client.undos == []


def test_an_invoice_collected_by_someone_else_after_the_plan_is_not_undone(
    sandbox: Sandbox, journal: Journal
) -> None:
    """The plan (and the confirmation) said what the invoice had collected; a colleague
    collects more of it before the DELETE goes. KolayBi may take back every collection of
    the invoice — the colleague's too, which nobody confirmed — so the DELETE is not sent:
    the row says the invoice changed and shows KolayBi's amounts; the next run plans again."""
    grid, rows = make_grid(sandbox, 2)
    client = client_for(sandbox)
    [(row, doc), (other_row, other)] = rows.items()
    sandbox.books.update_invoice(doc, paid=Decimal("0"))
    grid.write(layout.INVOICES, row, COL["Tahsil Tutarı"], [["10,00"]])
    collect(grid, client, journal)  # a part of one, all of the other
    mark(grid, rows, "geri al")
    logged = len(log_rows(grid))

    def colleague_collects(plan: Any) -> bool:
        assert {r.document_id: r.amount for r in plan.rows}[doc] == Decimal("10.00")
        sandbox.books.proceed(doc, 1, Decimal("5.00"))  # between the plan and the DELETE
        return True

    result = undo(grid, client, journal, confirm=colleague_collects)

    assert client.undos == [other]  # the unchanged invoice is taken back, the other not
    assert sorted(e.amount for e in sandbox.books.collections_of(doc)) == [
        Decimal("5.00"),
        Decimal("10.00"),
    ]
    assert result.exit_code == 1
    text = str(cell(grid, row, "Tahsilat Durumu"))
    assert text.startswith("Hata: fatura plan yapıldıktan sonra değişti"), text
    assert Decimal(str(cell(grid, row, "Kalan"))) == sandbox.books.invoices[doc].remaining
    assert str(cell(grid, other_row, "Tahsilat Durumu")).startswith("Geri alındı")
    assert [entry[1] for entry in log_rows(grid)[logged:]] == [other]  # nothing sent: no log
    assert journal.pending(account_key(client)) == []

    # the next run plans with what KolayBi shows now, and asks again
    seen: list[Any] = []
    undo(grid, client, journal, confirm=lambda plan: seen.append(plan) or True)
    assert [(r.document_id, r.amount) for r in seen[0].rows] == [(doc, Decimal("15.00"))]
    assert client.undos == [other, doc]
    assert sandbox.books.collections_of(doc) == []


def test_a_row_already_taken_back_never_takes_back_a_later_collection_by_itself(
    sandbox: Sandbox, journal: Journal
) -> None:
    """The row says ``Geri alındı`` and is still marked ``geri al``; someone collects the
    invoice again afterwards. Pressing the button again must not take that collection back
    (nobody marked it): the row says so and nothing is sent; clearing ``Tahsilat Durumu``
    is how the accountant asks for it."""
    grid, rows = make_grid(sandbox, 1)
    client = client_for(sandbox)
    [(row, doc)] = rows.items()
    collect(grid, client, journal)
    mark(grid, rows, "geri al")
    undo(grid, client, journal)
    assert str(cell(grid, row, "Tahsilat Durumu")).startswith("Geri alındı")
    sandbox.books.proceed(doc, 1, Decimal("5.00"))  # a colleague, afterwards
    client.undos.clear()

    result = undo(grid, client, journal)

    assert client.undos == []
    assert result.exit_code == 1
    text = str(cell(grid, row, "Tahsilat Durumu"))
    assert text.startswith("Geri alındı; sonra faturaya yeni tahsilat yapılmış"), text
    assert [e.amount for e in sandbox.books.collections_of(doc)] == [Decimal("5.00")]
    assert undo(grid, client, journal).exit_code == 1  # pressed again: still nothing sent
    assert client.undos == []
    assert str(cell(grid, row, "Tahsilat Durumu")) == text

    grid.write(layout.INVOICES, row, COL["Tahsilat Durumu"], [[None]])
    assert undo(grid, client, journal).exit_code == 0
    assert client.undos == [doc]
    assert sandbox.books.collections_of(doc) == []

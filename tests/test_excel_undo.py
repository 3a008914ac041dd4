"""``excel.undo_marked`` (Tahsilatı Geri Al) on the xlwings stand-in against the sandbox: the
same dialogs as collect, and the same constant number of Excel calls whatever the rows."""

from __future__ import annotations

import pytest

pytest.importorskip("xlwings", reason="the Excel side needs xlwings (Python 3.11+)")

from collections.abc import Callable
from pathlib import Path

from fakes.xlwings_fake import CountingGrid, Excel, FakeBook, column_of, new_book, table_rows

from kolaybi_xl import excel
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, str, int]]:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    CountingGrid.log = []
    monkeypatch.setattr(excel, "ExcelGrid", CountingGrid)
    return CountingGrid.log


def collectable(sb: Sandbox, n: int) -> list[int]:
    return [
        r.id
        for r in sb.books.invoice_records("sale_invoice")
        if r.currency == "TRY"
        and r.is_payable
        and r.paid == 0
        and not r.description.startswith("=")
    ][:n]


def put_marks(book: FakeBook, docs: list[int], mark: str, vault: str | None = None) -> None:
    rows = table_rows(book)
    for doc in docs:
        book.put(layout.INVOICES, rows[doc]["_row"], column_of(book, "Tahsil Et"), mark)
        if vault is not None:
            book.put(layout.INVOICES, rows[doc]["_row"], column_of(book, "Kasa/Banka"), vault)


def grid_ops(log: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """The grid operations with their Excel calls (progress messages vary with the rows)."""
    return [entry for entry in log if entry[0] != "progress"]


def collect_then_undo(
    sb: Sandbox, n: int, log: list[tuple[str, str, int]]
) -> tuple[FakeBook, list[int], list[tuple[str, str, int]], list[tuple[str, str, int]]]:
    book = new_book(Excel())
    excel.refresh_invoices(book)
    docs = collectable(sb, n)
    put_marks(book, docs, "x", "Merkez Kasa")
    book.app.answers = ["yes"]
    log.clear()
    excel.collect_marked(book)
    collect_ops = grid_ops(log)
    assert all(sb.books.invoices[d].remaining == 0 for d in docs)
    put_marks(book, docs, "Geri al")
    book.app.answers = ["yes"]
    log.clear()
    excel.undo_marked(book)
    return book, docs, collect_ops, grid_ops(log)


def test_undo_marked_takes_back_with_a_constant_number_of_excel_calls(
    counting: list[tuple[str, str, int]], use_sandbox: Callable[..., Sandbox]
) -> None:
    runs = {}
    for n in (2, 6):
        with Sandbox(invoices=60, seed=1) as sb:
            use_sandbox(sb)
            book, docs, collect_ops, undo_ops = collect_then_undo(sb, n, counting)
            totals = {d: sb.books.invoices[d].grand_total for d in docs}
            assert all(sb.books.invoices[d].remaining == totals[d] for d in docs)
            assert sb.books.collected_documents() == {}
        runs[n] = (collect_ops, undo_ops)
        shown = book.app.alerts[-2:]
        assert [a["buttons"] for a in shown] == ["yes_no", "ok"]
        question = shown[0]["prompt"]
        assert f"Geri alma planı: {n} faturanın tahsilatı geri alınacak." in question
        assert "TÜM tahsilatlarını" in question
        assert question.rstrip().endswith(f"Bu {n} faturanın tahsilatı geri alınsın mı?")
        assert shown[1]["prompt"].startswith(f"Geri alma: {n} geri alındı")
        rows = table_rows(book)
        for doc in docs:
            assert str(rows[doc]["Tahsilat Durumu"]).startswith(layout.OUTCOME_UNDONE)
            assert rows[doc]["Kalan"] == float(totals[doc])
            assert rows[doc]["Ödenen"] == 0.0
        assert book.saves == 2  # collect's and undo's outcomes saved
        assert book.app.screen_history[-1] is True
    # constant: the same grid operations with the same Excel calls for 2 and 6 rows (a write
    # sets a text format per column holding digit-only text: data, not rows, decides that)
    undo_2, undo_6 = runs[2][1], runs[6][1]
    assert [(op, sheet) for op, sheet, _n in undo_2] == [(op, sheet) for op, sheet, _n in undo_6]
    for (op, sheet, small), (_op, _sheet, big) in zip(undo_2, undo_6, strict=True):
        if op == "write":
            assert max(small, big) <= 1 + len(layout.INVOICE_COLUMNS), (sheet, small, big)
        else:
            assert small == big, (op, sheet, small, big)
    # no more than collect's (undo reads no vaults)
    for n in (2, 6):
        assert sum(k for *_x, k in runs[n][1]) <= sum(k for *_x, k in runs[n][0])


def test_undo_no_sends_nothing_and_nothing_marked_says_so(
    counting: list[tuple[str, str, int]], use_sandbox: Callable[..., Sandbox]
) -> None:
    with Sandbox(invoices=40, seed=2) as sb:
        use_sandbox(sb)
        book = new_book(Excel())
        excel.refresh_invoices(book)
        excel.undo_marked(book)
        assert book.app.alerts[-1]["prompt"].startswith("Geri alınacak satır yok")
        docs = collectable(sb, 1)
        put_marks(book, docs, "x", "Merkez Kasa")
        book.app.answers = ["yes"]
        excel.collect_marked(book)
        put_marks(book, docs, "geri al")
        book.app.answers = ["no"]
        excel.undo_marked(book)
        assert book.app.alerts[-1]["prompt"] == "Geri alma iptal edildi; hiçbir şey gönderilmedi."
        assert sb.books.collected_documents() == {docs[0]: 1}

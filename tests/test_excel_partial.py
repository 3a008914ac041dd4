"""Partial collections from Excel (issue 14), on the xlwings stand-in against the sandbox:
the confirmation shows the parts, error values are row errors (xlwings would read them as
empty cells without ``err_to_str``), and the Excel calls do not grow with the rows."""

from __future__ import annotations

import pytest

pytest.importorskip("xlwings", reason="the Excel side needs xlwings (Python 3.11+)")

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from fakes.xlwings_fake import CountingGrid, Excel, FakeBook, column_of, new_book, table_rows
from test_excel import collectable, last_alert, mark, no_traceback

from kolaybi_xl import excel
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout

AMOUNT = layout.C_AMOUNT.header


@pytest.fixture
def log_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path


@pytest.fixture
def sandbox(start_sandbox: Callable[..., Sandbox], log_dir: Path) -> Sandbox:
    return start_sandbox(invoices=60, seed=1)


def type_amount(book: FakeBook, doc_id: int, value: object) -> None:
    row = table_rows(book)[doc_id]["_row"]
    book.put(layout.INVOICES, row, column_of(book, AMOUNT), value)


def test_collect_partial_amounts_from_excel(sandbox: Sandbox) -> None:
    book = new_book(Excel())
    excel.refresh_invoices(book)
    chosen = collectable(sandbox, 4)
    whole = sandbox.books.invoices[chosen[2]].remaining
    mark(book, chosen, "Merkez Kasa")
    type_amount(book, chosen[0], 12.5)
    type_amount(book, chosen[1], "3")  # typed: Excel makes it the number 3
    type_amount(book, chosen[3], "#DIV/0!")  # a formula's error value
    book.app.answers = ["yes"]
    before = len(book.app.alerts)

    excel.collect_marked(book)

    shown = book.app.alerts[before:]
    question = shown[0]["prompt"]
    no_traceback(question)
    assert "12,50 TRY kısmi (açık " in question
    assert "3,00 TRY kısmi (açık " in question
    total = Decimal("15.50") + whole
    assert f"Merkez Kasa: {total:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".") in (
        question
    )
    assert "Bunlardan 2 tanesi kısmi tahsilat" in question
    assert {e.document_id: e.amount for e in sandbox.books.ledger} == {
        chosen[0]: Decimal("12.50"),
        chosen[1]: Decimal("3.00"),
        chosen[2]: whole,
    }
    rows = table_rows(book)
    assert str(rows[chosen[0]]["Tahsilat Durumu"]).startswith("Tamamlandı: 12,50 TRY")
    assert str(rows[chosen[3]]["Tahsilat Durumu"]).startswith(
        "Hata: Tahsil Tutarı bir hata değeri: '#DIV/0!'"
    )
    for doc in chosen:  # Kalan is what KolayBi shows
        assert Decimal(str(rows[doc]["Kalan"])) == sandbox.books.invoices[doc].remaining


def collect_counted(sb: Sandbox, partials: int) -> list[tuple[str, str, int]]:
    CountingGrid.log = []
    book = new_book(Excel())
    excel.refresh_invoices(book)
    chosen = collectable(sb, partials)
    mark(book, chosen, "Merkez Kasa")
    for doc in chosen:
        type_amount(book, doc, 1)
    book.app.answers = ["yes"]
    CountingGrid.log.clear()
    excel.collect_marked(book)
    assert last_alert(book)["prompt"].startswith(f"Tahsilat: {partials} tamamlandı")
    return [entry for entry in CountingGrid.log if entry[0] != "progress"]


def test_excel_calls_of_a_partial_collection_do_not_grow_with_the_rows(
    monkeypatch: pytest.MonkeyPatch,
    log_dir: Path,
    use_sandbox: Callable[..., Sandbox],
) -> None:
    monkeypatch.setattr(excel, "ExcelGrid", CountingGrid)
    runs = {}
    for partials in (2, 12):
        with Sandbox(invoices=60, seed=1) as sb:
            use_sandbox(sb)
            runs[partials] = collect_counted(sb, partials)
    # The same operations, each with the same number of Excel calls — but for a write, which
    # adds one number-format call per all-text column Excel would change (data, not rows).
    assert [(op, sheet) for op, sheet, _ in runs[2]] == [(op, sheet) for op, sheet, _ in runs[12]]
    for (op, sheet, few), (_, _, many) in zip(runs[2], runs[12], strict=True):
        if op == "write":
            assert many <= 1 + len(layout.LOG_COLUMNS), (sheet, many)
        else:
            assert few == many, (op, sheet)

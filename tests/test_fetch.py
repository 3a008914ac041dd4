"""Fetch and refresh of Faturalar/Kasalar against the sandbox over HTTP (MemoryGrid)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from kolaybi_xl.api import InvoiceType, KolayBiClient
from kolaybi_xl.jobs.errors import JobError
from kolaybi_xl.jobs.fetch import NOT_LISTED, chosen_types, refresh_invoices
from kolaybi_xl.jobs.table import read_invoice_table
from kolaybi_xl.jobs.vaults import read_vaults
from kolaybi_xl.sandbox import Books, Sandbox
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.grid import MemoryGrid

FIXED_NOW = datetime(2026, 11, 22, 10, 30)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(invoices=80, seed=3) as sb:
        yield sb


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[KolayBiClient]:
    with KolayBiClient(sandbox.url, sandbox.channel, sandbox.api_key) as c:
        yield c


def fetch(grid: MemoryGrid, client: KolayBiClient, *types: InvoiceType):
    return refresh_invoices(
        grid, client, list(types) or [InvoiceType.SALE_INVOICE], now=lambda: FIXED_NOW
    )


def rows_by_id(grid: MemoryGrid) -> dict[int, dict[str, object]]:
    table = read_invoice_table(grid)
    assert table is not None
    out = {}
    for index in range(len(table.rows)):
        row = {h: table.get(index, h) for h in table.columns}
        if isinstance(row[layout.ID_HEADER], int):
            out[row[layout.ID_HEADER]] = row
    return out


def test_fetch_fills_every_sale_invoice_with_typed_values(sandbox, client):
    grid = MemoryGrid()
    result = fetch(grid, client)
    expected = {r.id: r for r in sandbox.books.invoice_records("sale_invoice")}
    rows = rows_by_id(grid)
    assert set(rows) == set(expected)
    assert result.invoices == len(expected) == result.added
    for doc_id, _record in expected.items():
        row = rows[doc_id]
        api = sandbox.books.invoice_json(doc_id)
        assert row["Genel Toplam"] == float(Decimal(str(api["total"]["grand_total"])))
        assert row["Kalan"] == float(Decimal(str(api["payment_plan"]["total_remaining"])))
        assert row["Para Birimi"] == api["currency"].upper()
        assert isinstance(row["Düzenleme Tarihi"], date)
        assert not isinstance(row["Düzenleme Tarihi"], datetime)
        assert row["VKN/TCKN"] == api["header"]["associate"]["identity_no"]
        assert isinstance(row["VKN/TCKN"], str)
        assert row["Tahsil Et"] is None
        assert row["Kasa/Banka"] is None
    # the header sits on row 6 under the control strip, which states type and time
    assert grid.value(layout.INVOICES, layout.INVOICE_HEADER_ROW, 1) == layout.ID_HEADER
    assert grid.value(layout.INVOICES, *layout.TYPE_CELL) == "Satış Faturası"
    assert grid.value(layout.INVOICES, *layout.REFRESHED_CELL) == FIXED_NOW


def test_leading_zero_identity_numbers_and_hostile_text_survive(sandbox, client):
    grid = MemoryGrid()
    fetch(grid, client)
    values = [v for row in rows_by_id(grid).values() for v in row.values() if isinstance(v, str)]
    assert any(v.startswith("00") for v in values), "seed has identity numbers with leading zeros"
    assert any(v.startswith("=") for v in values), "seed has formula-like text"
    assert not any("\x07" in v or "\x00" in v or "\x1b" in v for v in values)


def test_vaults_sheet_and_dropdown_name(sandbox, client):
    grid = MemoryGrid()
    result = fetch(grid, client)
    refs = read_vaults(grid)
    assert result.vaults == len(sandbox.books.vaults) == len(refs)
    for ref in refs:
        record = sandbox.books.vaults[ref.id]
        assert ref.name == record.name
        assert ref.currency == record.currency.upper()
        assert ref.type == record.type
    assert grid.names[layout.VAULT_NAMES_RANGE] == layout.VAULT_NAMES_FORMULA


def test_refresh_keeps_marks_vaults_outcomes_and_user_columns(sandbox, client):
    grid = MemoryGrid()
    fetch(grid, client)
    table = read_invoice_table(grid)
    assert table is not None
    # the user adds a column of their own and fills input cells on two rows
    note_col = table.width + 1
    grid.write(layout.INVOICES, table.header_row, note_col, [["Notlarım"]])
    picked = [0, 3]
    ids = []
    for index in picked:
        row = table.sheet_row(index)
        ids.append(table.get(index, layout.ID_HEADER))
        grid.write(layout.INVOICES, row, table.col("Tahsil Et"), [["x"]])
        grid.write(layout.INVOICES, row, table.col("Kasa/Banka"), [["Merkez Kasa"]])
        grid.write(layout.INVOICES, row, table.col("Tahsilat Durumu"), [["Hata: deneme"]])
        grid.write(layout.INVOICES, row, note_col, [[f"not {index}"]])
    # the books change between refreshes: one marked invoice is paid elsewhere
    sandbox.books.update_invoice(ids[1], paid=sandbox.books.invoices[ids[1]].grand_total)
    result = fetch(grid, client)
    assert result.updated == len(rows_by_id(grid))
    assert result.added == 0
    rows = rows_by_id(grid)
    for index, doc_id in zip(picked, ids, strict=True):
        row = rows[doc_id]
        assert row["Tahsil Et"] == "x"
        assert row["Kasa/Banka"] == "Merkez Kasa"
        assert row["Tahsilat Durumu"] == "Hata: deneme"
        assert row["Notlarım"] == f"not {index}"
    assert rows[ids[1]]["Kalan"] == 0


def test_unlisted_rows_with_user_input_are_kept_at_the_end(sandbox, client):
    grid = MemoryGrid()
    fetch(grid, client)
    table = read_invoice_table(grid)
    assert table is not None
    typed_id = table.get(2, layout.ID_HEADER)
    untyped_id = table.get(5, layout.ID_HEADER)
    payment_status = table.get(2, "Ödeme Durumu")
    assert payment_status
    grid.write(layout.INVOICES, table.sheet_row(2), table.col("Tahsil Et"), [["x"]])
    # both invoices disappear from the API (e.g. deleted in KolayBi)
    sandbox.books.update_invoice(typed_id, type="purchase_invoice")
    sandbox.books.update_invoice(untyped_id, type="purchase_invoice")
    result = fetch(grid, client)
    assert result.kept_unlisted == 1
    assert result.dropped == 1
    table = read_invoice_table(grid)
    assert table is not None
    last = len(table.rows) - 1
    assert table.get(last, layout.ID_HEADER) == typed_id
    assert table.get(last, "Tahsil Et") == "x"
    # "not listed" has its own place (Belge Durumu); the payment status stays (#13)
    assert table.get(last, "Belge Durumu") == NOT_LISTED
    assert table.get(last, "Ödeme Durumu") == payment_status
    assert untyped_id not in rows_by_id(grid)
    muted = grid.formats[layout.INVOICES].muted
    assert muted is not None
    assert (muted.column, muted.text) == (table.col("Belge Durumu"), NOT_LISTED)


def test_fetching_other_types_never_marks_rows_not_listed(sandbox, client):
    """Sales fetched, a note typed, then purchases fetched into the same workbook: no sales
    row says not listed and every one keeps its payment status."""
    grid = MemoryGrid()
    fetch(grid, client, InvoiceType.SALE_INVOICE)
    table = read_invoice_table(grid)
    assert table is not None
    note_col = table.width + 1
    grid.write(layout.INVOICES, table.header_row, note_col, [["Notlarım"]])
    for index in range(len(table.rows)):
        grid.write(layout.INVOICES, table.sheet_row(index), note_col, [[f"not {index}"]])
    sales = {doc_id: dict(row) for doc_id, row in rows_by_id(grid).items()}
    result = fetch(grid, client, InvoiceType.PURCHASE_INVOICE)
    assert result.kept_unlisted == 0
    assert result.kept_other_types == len(sales)
    rows = rows_by_id(grid)
    purchases = sandbox.books.invoice_records("purchase_invoice")
    assert {r.id for r in purchases} <= set(rows)
    for doc_id, before in sales.items():
        after = rows[doc_id]
        assert NOT_LISTED not in after.values()
        assert after["Ödeme Durumu"] == before["Ödeme Durumu"]
        assert after["Belge Durumu"] == before["Belge Durumu"]
        assert after["Notlarım"] == before["Notlarım"]
    # fetched again, the sales rows are simply updated
    fetch(grid, client, InvoiceType.SALE_INVOICE)
    assert all(NOT_LISTED not in row.values() for row in rows_by_id(grid).values())


def test_shrinking_table_clears_leftover_rows(sandbox, client):
    grid = MemoryGrid()
    fetch(grid, client, *InvoiceType)
    before = len(read_invoice_table(grid).rows)
    fetch(grid, client, InvoiceType.SELF_EMPLOYMENT_RECEIPT)
    table = read_invoice_table(grid)
    assert table is not None
    assert len(table.rows) < before
    assert all(r[0] is None or isinstance(r[0], int) for r in table.rows), (
        "no stale rows below the new table"
    )
    expected = len(sandbox.books.invoice_records("self_employment_receipt"))
    assert len(table.rows) == expected


def test_all_types_fill_the_type_column(sandbox, client):
    grid = MemoryGrid()
    result = fetch(grid, client, *InvoiceType)
    assert result.invoices == len(sandbox.books.invoices)
    types = {row["Tür"] for row in rows_by_id(grid).values()}
    assert types == {t.label for t in InvoiceType}
    assert grid.value(layout.INVOICES, *layout.TYPE_CELL) == layout.ALL_TYPES_LABEL
    assert chosen_types(grid, InvoiceType.SALE_INVOICE) == list(InvoiceType)


def test_missing_columns_are_added_and_user_order_kept(sandbox, client):
    grid = MemoryGrid()
    grid.ensure_sheet(layout.INVOICES)
    grid.write(layout.INVOICES, 3, 1, [["Kasa/Banka", "Belge ID", "Tahsil Et", "Benim"]])
    result = fetch(grid, client)
    table = read_invoice_table(grid)
    assert table is not None
    assert table.header_row == 3
    assert [table.header[i] for i in range(4)] == ["Kasa/Banka", "Belge ID", "Tahsil Et", "Benim"]
    assert "Kalan" in result.added_columns
    assert "Kasa/Banka" not in result.added_columns


def test_foreign_data_on_the_sheet_is_never_overwritten(client):
    grid = MemoryGrid()
    grid.ensure_sheet(layout.INVOICES)
    grid.write(layout.INVOICES, 8, 1, [["benim tablom", 1, 2]])
    with pytest.raises(JobError) as err:
        fetch(grid, client)
    assert "Belge ID" in err.value.message_tr
    assert grid.value(layout.INVOICES, 8, 1) == "benim tablom"


def test_duplicate_headers_are_refused(client):
    grid = MemoryGrid()
    grid.ensure_sheet(layout.INVOICES)
    grid.write(layout.INVOICES, 6, 1, [["Belge ID", "Kalan", "Kalan"]])
    with pytest.raises(JobError, match="duplicate"):
        fetch(grid, client)


def test_unknown_type_in_the_dropdown_is_a_clear_error():
    grid = MemoryGrid()
    grid.ensure_sheet(layout.INVOICES)
    grid.write(layout.INVOICES, *layout.TYPE_CELL, [["Bilinmeyen"]])
    with pytest.raises(JobError) as err:
        chosen_types(grid, InvoiceType.SALE_INVOICE)
    assert "Bilinmeyen" in err.value.message_tr


def test_table_has_a_defined_name_for_pivots(sandbox, client):
    grid = MemoryGrid()
    result = fetch(grid, client)
    width = len(layout.INVOICE_COLUMNS)
    last = layout.INVOICE_HEADER_ROW + result.invoices
    assert grid.names[layout.INVOICE_TABLE_NAME] == f"Faturalar!$A$6:$W${last}"
    assert width == 23  # Tahsil Tutarı (issue 14)


def test_a_table_starting_inside_the_strip_is_not_written_over(client):
    grid = MemoryGrid()
    grid.ensure_sheet(layout.INVOICES)
    grid.write(layout.INVOICES, 2, 1, [["Belge ID", "Tahsil Et"]])
    fetch(grid, client)
    assert grid.value(layout.INVOICES, 2, 1) == "Belge ID"
    assert grid.value(layout.INVOICES, 2, 2) == "Tahsil Et"
    assert chosen_types(grid, InvoiceType.PURCHASE_INVOICE) == [InvoiceType.PURCHASE_INVOICE]


def test_an_incomplete_list_is_said_to_the_user():
    with Sandbox(invoices=60, seed=3, page_size=10) as sb:
        client = KolayBiClient(sb.url, sb.channel, sb.api_key, max_pages=2)
        with client:
            grid = MemoryGrid()
            result = fetch(grid, client)
    assert result.invoices == 20
    assert result.warnings
    assert "stopped after 2 pages" in result.summary("en")
    assert "UYARI" in grid.value(layout.INVOICES, *layout.STATUS_CELL)


# -- the streamed listing (``iter_invoices``) against the models' path ------------------------


def test_fetch_writes_what_the_invoice_models_say(sandbox, client):
    """The rows come from the plain-data stream; each must equal what the ``Invoice`` model
    of the same answer gives (``invoice_values`` of a model), hostile seeds included."""
    from kolaybi_xl.jobs.table import invoice_values
    from kolaybi_xl.workbook.cell_values import cell_value

    grid = MemoryGrid()
    fetch(grid, client, InvoiceType.SALE_INVOICE, InvoiceType.PURCHASE_INVOICE)
    rows = rows_by_id(grid)
    models = [
        m
        for kind in (InvoiceType.SALE_INVOICE, InvoiceType.PURCHASE_INVOICE)
        for m in client.list_invoices(kind)
    ]
    assert set(rows) == {m.commercial_doc_id for m in models}
    headers = {c.key: c.header for c in layout.INVOICE_COLUMNS}
    for model in models:
        row = rows[model.commercial_doc_id]
        for key, value in invoice_values(model).items():
            assert row[headers[key]] == cell_value(value), (key, value)


def test_a_malformed_invoice_on_a_later_page_is_skipped_and_said(monkeypatch):
    """Paged answers (real HTTP): a malformed invoice on page 3 is left out and named in the
    summary, the others (an unusual but valid one too) are written; no crash."""
    from kolaybi_xl.sandbox import endpoints

    books = Books.seeded(invoices=60, seed=4)
    sales = books.invoice_records("sale_invoice")
    broken, odd = sales[17].id, sales[18].id
    render = endpoints.invoice_item

    def rendered(record: Any, **options: Any) -> dict[str, Any]:
        item = render(record, **options)
        if record.id == broken:
            item["payment_plan"]["total_remaining"] = "abc"
        if record.id == odd:
            item["header"]["serial_no"] = 4242  # a number: the model makes it text
        return item

    monkeypatch.setattr(endpoints, "invoice_item", rendered)
    with (
        Sandbox(books=books, page_size=7) as sb,
        KolayBiClient(sb.url, sb.channel, sb.api_key) as client,
    ):
        grid = MemoryGrid()
        result = fetch(grid, client)
    rows = rows_by_id(grid)
    assert set(rows) == {r.id for r in sales} - {broken}
    assert rows[odd][layout.C_SERIAL.header] == "4242"
    assert result.invoices == len(sales) - 1
    assert len(result.skipped) == 1
    assert str(broken) in result.skipped[0]
    assert "total_remaining" in result.skipped[0]
    assert "unreadable invoice skipped" in result.summary("en")
    assert result.warnings == []  # every page came: complete

"""``invoice_listing``: a listing kept as plain data, each invoice validated only when asked."""

from __future__ import annotations

from decimal import Decimal

from kolaybi_xl.api import InvalidResponse, Invoice, KolayBiClient
from kolaybi_xl.api.listing import InvoiceListing
from kolaybi_xl.api.models import InvoiceType
from kolaybi_xl.sandbox import Books, Sandbox


def test_only_looked_up_items_are_validated() -> None:
    parsed: list[int] = []

    def parse(item: dict[str, object]) -> Invoice:
        ident = int(str(item["commercial_doc_id"]))
        parsed.append(ident)
        if item.get("bad"):
            raise InvalidResponse(f"unexpected invoice {ident}: field 'x': broken")
        return Invoice.model_validate({"commercial_doc_id": ident})

    skipped: list[str] = []
    listing = InvoiceListing(
        ({"commercial_doc_id": n, "bad": n == 3} for n in range(1, 1001)), parse, skipped
    )
    assert len(listing) == 1000
    assert parsed == []
    first = listing.get(7)
    assert first is not None
    assert first.commercial_doc_id == 7
    assert listing.get(7) is first  # validated once
    assert listing.get(3) is None
    assert 3 not in listing
    assert skipped == ["unexpected invoice 3: field 'x': broken"]
    assert listing.get(5000) is None
    assert sorted(set(parsed)) == [3, 7]


def test_listing_matches_list_invoices() -> None:
    books = Books()
    for n in range(30):
        books.add_invoice(grand_total=Decimal(100 + n))
    with (
        Sandbox(books=books, api_key="k") as sandbox,
        KolayBiClient(sandbox.url, sandbox.channel, sandbox.api_key) as client,
    ):
        full = client.list_invoices(InvoiceType.SALE_INVOICE)
        listing = client.invoice_listing(InvoiceType.SALE_INVOICE)
    assert len(listing) == len(full) > 0
    for invoice in full:
        assert listing.get(invoice.commercial_doc_id) == invoice

"""The KolayBi API endpoints: token, invoice list and detail, vaults, proceed, undo.

Each handler takes the request (and the path's id) and returns a ``Response`` or raises a
``Refusal``; the Channel and token checks and the faults happen before, in ``app``.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlencode

from .books import Books, InvoiceRecord, Refusal
from .catalog import DEFAULT_INVOICE_TYPE, INVOICE_TYPES, TRANSACTION_COMPLETED
from .inputs import amount_field, field_value, int_field, int_param, query_params, request_input
from .render import invoice_item, vault_item
from .tokens import TokenStore
from .wire import API_PREFIX, Request, Response, dumps, ok

MAX_PER_PAGE = 1000


class ApiEndpoints:
    def __init__(
        self,
        *,
        books: Books,
        tokens: TokenStore,
        api_key: str,
        page_size: int | None,
        detail_has_payment_plan: bool,
    ) -> None:
        if page_size is not None and not 1 <= page_size <= MAX_PER_PAGE:
            raise ValueError(f"page_size must be between 1 and {MAX_PER_PAGE}")
        self.books = books
        self.tokens = tokens
        self._api_key = api_key
        self.page_size = page_size
        self.detail_has_payment_plan = detail_has_payment_plan
        # commercial_doc_id -> (record, its encoded JSON). Records are immutable and replaced on
        # every change, so an entry is used only while `cached is current` and is never stale.
        self._item_cache: dict[int, tuple[InvoiceRecord, bytes]] = {}

    def access_token(self, request: Request) -> Response:
        api_key = field_value(request_input(request), "api_key")
        if api_key is None:
            raise Refusal(422, "api_key alanı zorunludur.")
        if not isinstance(api_key, str) or not hmac.compare_digest(
            api_key.encode(), self._api_key.encode()
        ):
            raise Refusal(401, "API anahtarı geçersiz.")
        return ok(self.tokens.issue())

    # ---- invoices --------------------------------------------------------------------------

    def list_invoices(self, request: Request) -> Response:
        query = query_params(request)
        invoice_type = query.get("type", "").strip() or DEFAULT_INVOICE_TYPE
        if invoice_type not in INVOICE_TYPES:
            raise Refusal(422, f"Geçersiz fatura türü: {invoice_type}")
        records = self.books.invoice_records(invoice_type)
        if self.page_size is None:
            return Response(200, b'{"success":true,"data":' + self.items(records) + b"}")
        return self._invoice_page(request, query, invoice_type, records, self.page_size)

    def _invoice_page(
        self,
        request: Request,
        query: dict[str, str],
        invoice_type: str,
        records: list[InvoiceRecord],
        page_size: int,
    ) -> Response:
        """One page, Laravel-style: ``links`` as absolute URLs (``type`` and ``per_page`` kept)
        and ``meta``."""
        per_page = int_param(query, "per_page", page_size, 1, MAX_PER_PAGE)
        page = int_param(query, "page", 1, 1, None)
        chunk = records[(page - 1) * per_page : page * per_page]
        base = f"http://{request.headers.get('host', 'localhost')}{API_PREFIX}/invoices"
        keep = {"type": invoice_type} | ({"per_page": str(per_page)} if "per_page" in query else {})
        last_page = max(1, -(-len(records) // per_page))
        links = _page_links(base, keep, page, last_page)
        meta = _page_meta(base, page, last_page, per_page, len(records), len(chunk))
        return Response(
            200,
            b'{"success":true,"data":'
            + self.items(chunk)
            + b',"links":'
            + dumps(links)
            + b',"meta":'
            + dumps(meta)
            + b"}",
        )

    def items(self, records: list[InvoiceRecord]) -> bytes:
        """The list items as one JSON array, each record encoded once while it is unchanged."""
        cache = self._item_cache
        parts = []
        for record in records:
            hit = cache.get(record.id)
            if hit is None or hit[0] is not record:
                hit = cache[record.id] = (record, dumps(invoice_item(record)))
            parts.append(hit[1])
        return b"[" + b",".join(parts) + b"]"

    def invoice(self, request: Request, document_id: int) -> Response:
        """The invoice detail (``GET /invoices/{id}``)."""
        record = self.books.invoices.get(document_id)
        if record is None:
            raise Refusal(404, "Fatura bulunamadı")
        return ok(invoice_item(record, with_payment_plan=self.detail_has_payment_plan))

    # ---- vaults ----------------------------------------------------------------------------

    def list_vaults(self, request: Request) -> Response:
        query = query_params(request)
        currency = query.get("currency", "").strip().upper()
        vault_type = query.get("type", "").strip().lower()
        return ok(
            [
                vault_item(v)
                for v in self.books.vault_records()
                if (not currency or v.currency.upper() == currency)
                and (not vault_type or v.type.lower() == vault_type)
            ]
        )

    def vault(self, request: Request, vault_id: int) -> Response:
        vault = self.books.vaults.get(vault_id)
        if vault is None:
            raise Refusal(404, "Kasa bulunamadı")
        return ok(vault_item(vault))

    def vault_transactions(self, request: Request, vault_id: int) -> Response:
        return ok(self.books.vault_transactions_json(vault_id))

    # ---- collections -----------------------------------------------------------------------

    def proceed(self, request: Request) -> Response:
        data = request_input(request)
        document_id = int_field(data, "document_id")
        vault_id = int_field(data, "vault_id")
        amount = amount_field(data, "amount")
        result = self.books.proceed(document_id, vault_id, amount)
        return ok(
            {
                "transaction_status": TRANSACTION_COMPLETED,
                "remaining_amount": float(result.remaining),
            }
        )

    def undo(self, request: Request, document_id: int) -> Response:
        self.books.undo(document_id)
        return ok()


def _page_links(base: str, keep: dict[str, str], page: int, last_page: int) -> dict[str, Any]:
    def link(n: int) -> str:
        return f"{base}?{urlencode(keep | {'page': str(n)})}"

    return {
        "first": link(1),
        "last": link(last_page),
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < last_page else None,
    }


def _page_meta(
    base: str, page: int, last_page: int, per_page: int, total: int, shown: int
) -> dict[str, Any]:
    first = (page - 1) * per_page + 1
    return {
        "current_page": page,
        "last_page": last_page,
        "per_page": per_page,
        "total": total,
        "from": first if shown else None,
        "to": first + shown - 1 if shown else None,
        "path": base,
    }

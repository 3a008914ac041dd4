"""Enumerations of the KolayBi API as the sandbox serves them (docs/architecture.md §4).

Values marked "emulator-chosen" are not documented by KolayBi; they are the sandbox's answer to an
open question (docs/architecture.md §4) and clients must not depend on them.
"""

from __future__ import annotations

from typing import NamedTuple


class InvoiceType(NamedTuple):
    group: str
    description: str
    # 1 = receivable (money comes into a vault), -1 = payable (money goes out).
    # Emulator-chosen: sale_invoice, purchase_return_invoice and self_employment_receipt (a
    # freelancer's receipt to a client) are receivable; purchase_invoice and sale_return_invoice
    # are payable.
    cash_flow_direction: int


INVOICE_TYPES: dict[str, InvoiceType] = {
    "sale_invoice": InvoiceType("sale", "Satış Faturası", 1),
    "sale_return_invoice": InvoiceType("sale", "Satış İade Faturası", -1),
    "purchase_invoice": InvoiceType("purchase", "Alış Faturası", -1),
    "purchase_return_invoice": InvoiceType("purchase", "Alış İade Faturası", 1),
    "self_employment_receipt": InvoiceType("sale", "Serbest Meslek Makbuzu", 1),
}
DEFAULT_INVOICE_TYPE = "sale_invoice"

# commercial_doc_status.value -> description (documented values and Turkish labels).
STATUSES: dict[str, str] = {
    "draft": "Taslak",
    "ready_to_send": "Gönderime Hazır",
    "sent": "GİB'e Gönderildi",
    "approved": "Onaylandı",
    "rejected": "Reddedildi",
    "cancelled": "İptal Edildi",
}
# Emulator-chosen: proceed refuses these statuses with 422.
NOT_COLLECTABLE_STATUSES = frozenset({"draft", "cancelled"})

# Emulator-chosen e_document_status per document status ("ready" and "sent_to_receiver" are
# the documented examples).
E_DOCUMENT_STATUS: dict[str, str] = {
    "draft": "draft",
    "ready_to_send": "ready",
    "sent": "sent_to_receiver",
    "approved": "accepted",
    "rejected": "rejected",
    "cancelled": "cancelled",
}

VAULT_TYPES: dict[str, str] = {"bank_account": "Banka Hesabı", "safe_deposit": "Kasa"}

# Emulator-chosen payment_plan.payment_status_value labels (only "unpaid" is documented).
UNPAID, PARTIALLY_PAID, PAID = "unpaid", "partially_paid", "paid"

# Emulator-chosen: the proceed label is "Tamamlandı" for full AND partial collections.
TRANSACTION_COMPLETED = "Tamamlandı"

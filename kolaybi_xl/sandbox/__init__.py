"""A local, stateful emulator of the KolayBi API, for demos, tests and trying things out.

    from kolaybi_xl.sandbox import Sandbox

    with Sandbox(invoices=300, seed=1) as sb:     # 127.0.0.1, a free port, a daemon thread
        sb.url          # "http://127.0.0.1:<port>/kolaybi/v1"
        sb.channel      # "sandbox-channel"
        sb.api_key      # "sandbox-demo-key"
        sb.books        # the state: invoices, vaults, the ledger of collections
        sb.faults       # fault injection, changeable while it runs

It serves the documented endpoints (docs/architecture.md §4: token, invoice list, proceed,
undo, vaults) plus invoice and vault detail. Standard library only; it imports nothing else
from kolaybi_xl. Modules: ``catalog`` (enumerations and labels), ``books`` (state and rules),
``render`` (JSON shapes), ``seed`` (demo data), ``faults``, ``tokens``, ``app`` (routing and
validation; its docstring lists the status codes and other emulator-chosen behaviour) and
``server`` (HTTP and the ``Sandbox`` class).

Emulator-chosen behaviour, in short (undocumented by KolayBi, do not build a client on it):

- Channel header: missing -> 400, wrong -> 401; token problems -> 401 "Unauthenticated.".
- Unknown invoice -> 404 "Fatura bulunamadı"; unknown vault -> 404 "Kasa bulunamadı"; other
  refusals (validation, draft/cancelled invoice, currency mismatch, nothing remaining,
  over-payment, nothing to undo, unknown invoice type) -> 422 with a Turkish message.
- ``payment_status_value``: "unpaid", "partially_paid", "paid".
- ``transaction_status``: "Tamamlandı" for full and partial collections.
- ``cash_flow_direction``: 1 (receivable) for sale_invoice, purchase_return_invoice and
  self_employment_receipt; -1 (payable) for purchase_invoice and sale_return_invoice. Proceed on a
  payable document is a payment: the vault balance goes down.
- ``is_payable``: true exactly when proceed would accept the invoice (given a matching vault).
- Paging (only with ``page_size``): Laravel resource-collection style ``links``/``meta``.
- ``DELETE /invoices/proceed/{id}`` undoes all live collections of the invoice.

Control endpoints (no Channel, no token, never faulted), under ``root_url``:
``GET /_sandbox/ledger`` (list of entries, amounts as exact strings), ``GET /_sandbox/state``,
``GET /_sandbox/faults``, ``POST /_sandbox/faults`` (JSON: kind, count, endpoint, probability,
retry_after, seed, latency, slow_seconds), ``DELETE /_sandbox/faults``,
``POST /_sandbox/tokens/expire``.
"""

from .books import (
    Books,
    InvoiceRecord,
    LedgerEntry,
    ProceedResult,
    Refusal,
    Tag,
    VaultRecord,
)
from .faults import ENDPOINTS, FAULT_KINDS, Fault, Faults
from .seed import HOSTILE_TEXTS, SAMPLE_INVOICE
from .server import DEFAULT_API_KEY, DEFAULT_CHANNEL, Sandbox

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CHANNEL",
    "ENDPOINTS",
    "FAULT_KINDS",
    "HOSTILE_TEXTS",
    "SAMPLE_INVOICE",
    "Books",
    "Fault",
    "Faults",
    "InvoiceRecord",
    "LedgerEntry",
    "ProceedResult",
    "Refusal",
    "Sandbox",
    "Tag",
    "VaultRecord",
]

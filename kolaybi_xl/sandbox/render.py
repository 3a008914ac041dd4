"""What the API returns for one record: the documented JSON shapes (docs/architecture.md §4).

Amounts are JSON numbers made from the exact ``Decimal`` state (``float(Decimal("2327.60"))`` is
2327.6, which parses back to the same Decimal); currencies are lower case on invoices and upper
case on vaults, as in the documented examples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .catalog import INVOICE_TYPES, STATUSES

if TYPE_CHECKING:
    from .books import InvoiceRecord, LedgerEntry, VaultRecord

DATETIME = "%Y-%m-%d %H:%M:%S"
# No invoice carries a subtotal discount in the sandbox; the shape is still complete.
_NO_DISCOUNT_TYPE = {"value": "numeric", "key": "NUMERIC", "description": "numeric"}


def invoice_item(record: InvoiceRecord, *, with_payment_plan: bool = True) -> dict[str, Any]:
    kind = INVOICE_TYPES[record.type]
    currency = record.currency.lower()
    grand_total = float(record.grand_total)
    issue = record.issue_date
    item: dict[str, Any] = {
        "commercial_doc_id": record.id,
        "currency": currency,
        "tracking_currency": currency,
        "commercial_doc_type": {
            "group": kind.group,
            "value": record.type,
            "key": record.type.upper(),
            "description": kind.description,
        },
        "commercial_doc_status": {
            "group": kind.group,
            "value": record.status,
            "key": record.status.upper(),
            "description": STATUSES[record.status],
        },
        "cash_flow_direction": kind.cash_flow_direction,
        "transformation_status": None,
        "financial_action_type_id": 0,
        "e_document_status": record.e_document_status,
        "is_payable": record.is_payable,
        "is_exchange_diff": False,
        "header": {
            "serial_no": record.serial_no,
            # isoformat: several times faster than strftime, which matters for 50k invoices
            "issue_date": issue.isoformat(" ", "seconds"),
            "issue_time": issue.time().isoformat("seconds"),
            "due_date": f"{record.due_date.isoformat()} 00:00:00" if record.due_date else None,
            "description": record.description,
            "associate": {
                "full_name": record.associate_name,
                "identity_no": record.identity_no,
            },
        },
        "total": {
            "total_vat": float(record.total_vat),
            "total_amount": grand_total,
            "subtotal": float(record.subtotal),
            "grand_total": grand_total,
            "exchange_grand_total": float(
                (record.grand_total * record.exchange_rate).quantize(record.grand_total)
            ),
            "subtotal_discount_type": dict(_NO_DISCOUNT_TYPE),
            "subtotal_discount_value": 0,
        },
    }
    if with_payment_plan:
        item["payment_plan"] = {
            "actual_amount": grand_total,
            "total_amount": grand_total,
            "cash_flow_direction": kind.cash_flow_direction,
            "total_paid": float(record.paid),
            "total_remaining": float(record.remaining),
            "tracking_currency": currency,
            "actual_currency": currency,
            "payment_status_value": record.payment_status,
        }
    item["projects"] = []
    item["tags"] = [{"id": t.id, "name": t.name, "description": t.description} for t in record.tags]
    return item


def vault_item(record: VaultRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "type": record.type,
        "currency": record.currency,
        "balance": float(record.balance),
    }


def vault_transaction(entry: LedgerEntry, serial_no: str) -> dict[str, Any]:
    """A ledger entry as one of the vault's ``transactionables``; ``amount`` is signed as it
    moved the vault balance (a payment out of the vault is negative)."""
    label = "Tahsilat" if entry.direction > 0 else "Ödeme"
    return {
        "id": entry.seq,
        "amount": float(entry.direction * entry.amount),
        "description": f"{label} - {serial_no}",
        "document_id": entry.document_id,
        "created_at": entry.at.strftime(DATETIME),
    }


def ledger_entry(entry: LedgerEntry) -> dict[str, Any]:
    """Control endpoint shape: exact amounts as strings, the time as ISO 8601 with offset."""
    return {
        "seq": entry.seq,
        "document_id": entry.document_id,
        "vault_id": entry.vault_id,
        "amount": str(entry.amount),
        "currency": entry.currency,
        "direction": entry.direction,
        "at": entry.at.isoformat(),
        "undone": entry.undone,
    }

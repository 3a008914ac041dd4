"""The sandbox's state (invoices, vaults, the collection ledger) and the rules that change it.

Records are immutable; a change replaces the record under ``Books.lock``, so a reader that took a
record (or a snapshot list of records) outside the lock always sees one consistent version.
Money is ``Decimal`` quantized to 0.01 everywhere.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from .catalog import (
    E_DOCUMENT_STATUS,
    INVOICE_TYPES,
    NOT_COLLECTABLE_STATUSES,
    PAID,
    PARTIALLY_PAID,
    STATUSES,
    UNPAID,
    VAULT_TYPES,
)
from .render import invoice_item, vault_item, vault_transaction

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ONE = Decimal(1)
# Türkiye has used UTC+3 all year since 2016; the API speaks local time without an offset.
TURKEY = timezone(timedelta(hours=3), "TRT")
# "Today" of the seed data (fixed, so data is deterministic) and the default issue date of
# invoices added without one.
REFERENCE_DATE = datetime(2026, 11, 1, 10, 0, 0)

Money = Decimal | int | str | float


def money(value: Money) -> Decimal:
    """A finite amount quantized to kuruş; floats go through ``repr`` so 2327.6 stays 2327.60."""
    if isinstance(value, bool):
        raise TypeError("an amount cannot be a bool")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class Refusal(Exception):
    """The books refuse a request; ``status`` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Tag:
    id: int
    name: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class InvoiceRecord:
    """One invoice; ``id`` is the API's ``commercial_doc_id`` (the proceed ``document_id``)."""

    id: int
    type: str
    currency: str  # upper case ISO code; the API shows it lower case
    status: str
    serial_no: str
    issue_date: datetime
    due_date: date | None
    description: str
    associate_name: str
    identity_no: str
    subtotal: Decimal
    total_vat: Decimal
    grand_total: Decimal
    paid: Decimal = ZERO
    exchange_rate: Decimal = ONE  # invoice currency -> TRY, for exchange_grand_total
    tags: tuple[Tag, ...] = ()

    @property
    def remaining(self) -> Decimal:
        return self.grand_total - self.paid

    @property
    def payment_status(self) -> str:
        if self.remaining <= 0:
            return PAID
        return PARTIALLY_PAID if self.paid > 0 else UNPAID

    @property
    def cash_flow_direction(self) -> int:
        return INVOICE_TYPES[self.type].cash_flow_direction

    @property
    def e_document_status(self) -> str:
        return E_DOCUMENT_STATUS[self.status]

    @property
    def is_payable(self) -> bool:
        """Emulator-chosen: true exactly when proceed would accept it (given a matching vault)."""
        return self.status not in NOT_COLLECTABLE_STATUSES and self.remaining > 0


@dataclass(frozen=True, slots=True)
class VaultRecord:
    id: int
    name: str
    type: str  # bank_account | safe_deposit
    currency: str  # upper case
    balance: Decimal


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One collection applied by proceed. ``amount`` is what was taken off the invoice (> 0);
    ``direction`` says whether it went into the vault (1, receivables) or out of it (-1)."""

    seq: int
    document_id: int
    vault_id: int
    amount: Decimal
    currency: str
    at: datetime
    undone: bool = False
    direction: int = 1


@dataclass(frozen=True, slots=True)
class ProceedResult:
    entry: LedgerEntry
    remaining: Decimal


class Books:
    """Thread-safe state. Read through the read-only views or the ``*_json`` methods; change it
    only through the methods (``add_*``, ``update_invoice``, ``proceed``, ``undo``)."""

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        self.lock = threading.RLock()
        self._invoices: dict[int, InvoiceRecord] = {}
        self._vaults: dict[int, VaultRecord] = {}
        self._tags: dict[int, Tag] = {}
        self._ledger: list[LedgerEntry] = []
        self._clock = clock or (lambda: datetime.now(TURKEY).replace(microsecond=0))

    @classmethod
    def seeded(cls, invoices: int = 300, seed: int = 1) -> Books:
        from .seed import seed_books  # local import: seed builds on this module

        books = cls()
        seed_books(books, invoices=invoices, seed=seed)
        return books

    # ---- read-only views -------------------------------------------------------------------

    @property
    def invoices(self) -> Mapping[int, InvoiceRecord]:
        return MappingProxyType(self._invoices)

    @property
    def vaults(self) -> Mapping[int, VaultRecord]:
        return MappingProxyType(self._vaults)

    @property
    def tags(self) -> Mapping[int, Tag]:
        return MappingProxyType(self._tags)

    @property
    def ledger(self) -> list[LedgerEntry]:
        with self.lock:
            return list(self._ledger)

    def invoice_records(self, type: str | None = None) -> list[InvoiceRecord]:
        """A consistent snapshot, ordered by id, optionally of one invoice type."""
        with self.lock:
            records = list(self._invoices.values())
        if type is not None:
            records = [r for r in records if r.type == type]
        records.sort(key=lambda r: r.id)
        return records

    def vault_records(self) -> list[VaultRecord]:
        with self.lock:
            return sorted(self._vaults.values(), key=lambda v: v.id)

    def collections_of(self, document_id: int) -> list[LedgerEntry]:
        with self.lock:
            return [e for e in self._ledger if e.document_id == document_id and not e.undone]

    def collected_documents(self) -> Counter[int]:
        """document_id -> number of live collections (a count > 1 is a repeated collection)."""
        with self.lock:
            return Counter(e.document_id for e in self._ledger if not e.undone)

    def invoice_json(self, id: int, *, with_payment_plan: bool = True) -> dict[str, Any]:
        return invoice_item(self._invoices[id], with_payment_plan=with_payment_plan)

    def vault_json(self, id: int) -> dict[str, Any]:
        return vault_item(self._vaults[id])

    def vault_transactions_json(self, vault_id: int) -> dict[str, Any]:
        """The ``data`` of GET /vaults/{id}/transactions: live collections into/out of it."""
        with self.lock:
            vault = self._vaults.get(vault_id)
            if vault is None:
                raise Refusal(404, "Kasa bulunamadı")
            entries = [e for e in self._ledger if e.vault_id == vault_id and not e.undone]
            serials = {e.document_id: self._invoices[e.document_id].serial_no for e in entries}
        return {
            "transactionables": [vault_transaction(e, serials[e.document_id]) for e in entries],
            "calculations": [{"amount": float(vault.balance), "currency": vault.currency.lower()}],
        }

    # ---- building state (seed data and test scenarios) --------------------------------------

    def add_tag(self, name: str, description: str | None = None) -> Tag:
        with self.lock:
            for tag in self._tags.values():
                if tag.name == name:
                    return tag
            tag = Tag(max(self._tags, default=0) + 1, name, description)
            self._tags[tag.id] = tag
            return tag

    def add_vault(
        self,
        name: str,
        type: str = "safe_deposit",
        currency: str = "TRY",
        balance: Money = ZERO,
        *,
        id: int | None = None,
    ) -> int:
        if type not in VAULT_TYPES:
            raise ValueError(f"unknown vault type {type!r}; expected one of {list(VAULT_TYPES)}")
        with self.lock:
            vault_id = max(self._vaults, default=0) + 1 if id is None else id
            if vault_id in self._vaults:
                raise ValueError(f"vault {vault_id} exists")
            self._vaults[vault_id] = VaultRecord(
                vault_id, name, type, currency.upper(), money(balance)
            )
            return vault_id

    def add_invoice(
        self,
        *,
        type: str = "sale_invoice",
        currency: str = "TRY",
        grand_total: Money = Decimal("1180.00"),
        paid: Money = ZERO,
        due_date: date | None = None,
        issue_date: date | datetime | None = None,
        associate_name: str = "ACME LTD",
        identity_no: str = "1234567890",
        serial_no: str | None = None,
        description: str = "",
        status: str = "approved",
        tags: Iterable[str | Tag] = (),
        vat_rate: int = 20,
        subtotal: Money | None = None,
        exchange_rate: Money | None = None,
        commercial_doc_id: int | None = None,
    ) -> int:
        """Add one invoice and return its commercial_doc_id. Subtotal and VAT are derived from
        ``grand_total`` and ``vat_rate`` unless ``subtotal`` is given; they always add up."""
        if type not in INVOICE_TYPES:
            raise ValueError(f"unknown invoice type {type!r}")
        if status not in STATUSES:
            raise ValueError(f"unknown invoice status {status!r}")
        grand, sub, paid_amount = _invoice_amounts(grand_total, subtotal, paid, vat_rate)
        issued = _issue_time(issue_date)
        tag_records = tuple(t if isinstance(t, Tag) else self.add_tag(t) for t in tags)
        with self.lock:
            doc_id = self._new_invoice_id(commercial_doc_id)
            self._invoices[doc_id] = InvoiceRecord(
                id=doc_id,
                type=type,
                currency=currency.upper(),
                status=status,
                serial_no=serial_no or f"KBI{issued.year}{doc_id:09d}",
                issue_date=issued,
                due_date=due_date.date() if isinstance(due_date, datetime) else due_date,
                description=description,
                associate_name=associate_name,
                identity_no=identity_no,
                subtotal=sub,
                total_vat=grand - sub,
                grand_total=grand,
                paid=paid_amount,
                exchange_rate=ONE if exchange_rate is None else Decimal(str(exchange_rate)),
                tags=tag_records,
            )
            return doc_id

    def _new_invoice_id(self, wanted: int | None) -> int:
        """``wanted`` if it is free, or the next after the highest (the lock is held)."""
        doc_id = wanted or max(self._invoices, default=1000) + 1
        if doc_id in self._invoices:
            raise ValueError(f"invoice {doc_id} exists")
        return doc_id

    def put_invoice(self, record: InvoiceRecord) -> None:
        """Store a fully built record (used by the seed; replaces any record with its id)."""
        with self.lock:
            self._invoices[record.id] = record

    def update_invoice(self, id: int, **changes: Any) -> InvoiceRecord:
        """Replace fields of one invoice (e.g. ``status="cancelled"``) for a test scenario."""
        with self.lock:
            record = replace(self._invoices[id], **changes)
            self._invoices[id] = record
            return record

    # ---- the rules -------------------------------------------------------------------------

    def proceed(
        self, document_id: int, vault_id: int, amount: Decimal | None = None
    ) -> ProceedResult:
        """Collect ``amount`` (default: everything remaining) of an invoice into a vault.

        Checks and state change happen under one lock acquisition, so concurrent collections of
        one invoice can never take more than what remains.
        """
        with self.lock:
            invoice = self._invoices.get(document_id)
            if invoice is None:
                raise Refusal(404, "Fatura bulunamadı")
            vault = self._vaults.get(vault_id)
            if vault is None:
                raise Refusal(404, "Kasa bulunamadı")
            if invoice.status in NOT_COLLECTABLE_STATUSES:
                raise Refusal(
                    422,
                    f"{STATUSES[invoice.status]} durumundaki faturaya tahsilat yapılamaz.",
                )
            if vault.currency != invoice.currency:
                raise Refusal(
                    422,
                    f"Kasanın para birimi ({vault.currency}) faturanın para birimi "
                    f"({invoice.currency}) ile aynı olmalıdır.",
                )
            remaining = invoice.remaining
            if remaining <= 0:
                raise Refusal(422, "Faturanın kalan tutarı yok.")
            if amount is None:
                amount = remaining
            elif amount <= 0:
                raise Refusal(422, "Tutar sıfırdan büyük olmalıdır.")
            elif amount != amount.quantize(CENT):
                raise Refusal(422, "Tutar en fazla 2 ondalık basamak içerebilir.")
            elif amount > remaining:
                raise Refusal(
                    422,
                    f"Tutar, faturanın kalan tutarını ({remaining} {invoice.currency}) aşamaz.",
                )
            amount = amount.quantize(CENT)
            direction = invoice.cash_flow_direction
            entry = LedgerEntry(
                seq=len(self._ledger) + 1,
                document_id=document_id,
                vault_id=vault_id,
                amount=amount,
                currency=invoice.currency,
                at=self._clock(),
                direction=direction,
            )
            self._ledger.append(entry)
            self._invoices[document_id] = replace(invoice, paid=invoice.paid + amount)
            self._vaults[vault_id] = replace(vault, balance=vault.balance + direction * amount)
            return ProceedResult(entry, remaining - amount)

    def undo(self, document_id: int) -> list[LedgerEntry]:
        """Undo every live collection of an invoice (emulator-chosen: all of them, not only the
        last). Payments the seed data marks as made before the sandbox started are kept."""
        with self.lock:
            if document_id not in self._invoices:
                raise Refusal(404, "Fatura bulunamadı")
            undone: list[LedgerEntry] = []
            for index, entry in enumerate(self._ledger):
                if entry.document_id != document_id or entry.undone:
                    continue
                self._ledger[index] = replace(entry, undone=True)
                vault = self._vaults[entry.vault_id]
                self._vaults[entry.vault_id] = replace(
                    vault, balance=vault.balance - entry.direction * entry.amount
                )
                undone.append(entry)
            if not undone:
                raise Refusal(422, "Faturaya ait silinecek tahsilat bulunamadı.")
            invoice = self._invoices[document_id]
            self._invoices[document_id] = replace(
                invoice, paid=invoice.paid - sum((e.amount for e in undone), ZERO)
            )
            return undone

    def summary(self) -> dict[str, Any]:
        with self.lock:
            by_type = Counter(r.type for r in self._invoices.values())
            by_payment = Counter(r.payment_status for r in self._invoices.values())
            live = sum(1 for e in self._ledger if not e.undone)
            return {
                "invoices": len(self._invoices),
                "invoices_by_type": {t: by_type.get(t, 0) for t in INVOICE_TYPES},
                "invoices_by_payment_status": dict(sorted(by_payment.items())),
                "vaults": len(self._vaults),
                "ledger_entries": len(self._ledger),
                "live_collections": live,
                "undone_collections": len(self._ledger) - live,
            }


def _invoice_amounts(
    grand_total: Money, subtotal: Money | None, paid: Money, vat_rate: int
) -> tuple[Decimal, Decimal, Decimal]:
    """Grand total, subtotal (from the VAT rate unless given) and paid, checked to fit."""
    grand = money(grand_total)
    sub = money(grand / (1 + Decimal(vat_rate) / 100) if subtotal is None else subtotal)
    paid_amount = money(paid)
    if not ZERO <= sub <= grand:
        raise ValueError(f"subtotal {sub} must be between 0 and grand_total {grand}")
    if not ZERO <= paid_amount <= grand:
        raise ValueError(f"paid {paid_amount} must be between 0 and grand_total {grand}")
    return grand, sub, paid_amount


def _issue_time(issue_date: date | datetime | None) -> datetime:
    """A date is issued at 10:00; none: the reference date."""
    if isinstance(issue_date, datetime):
        return issue_date
    if isinstance(issue_date, date):
        return datetime.combine(issue_date, time(10, 0))
    return REFERENCE_DATE

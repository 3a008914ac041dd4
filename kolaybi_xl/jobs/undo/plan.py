"""Undo step 1: the rows marked ``geri al``, each invoice re-read, what it has collected."""

from __future__ import annotations

from decimal import Decimal

from ... import i18n
from ...api.models import Invoice
from ...i18n import Lang, _, ngettext, number
from ...workbook import layout
from ...workbook.cells import (
    CellError,
    VaultRef,
    cell_text,
    parse_decimal,
    tr_amount,
)
from ...workbook.grid import Grid
from ..collect.plan import _marked_ids, _singles, _strip_type, _type_label
from ..collect.reading import _invoice_type, _is_undo_marked, _Prefetch, _Reader, _row_type
from ..collect.records import (
    T_NOTHING_TO_UNDO,
    CollectClient,
    Plan,
    PlannedRow,
    RowOutcome,
    _payment_label,
    error_text,
)
from ..collect.waits import DEFAULT_WAITS, SALE, TOLERANCE, ZERO, Waits
from ..status import RowStatus
from ..table import InvoiceTable

# An undo goes to no vault: KolayBi takes the invoice's collections back from wherever they went.
NO_VAULT = VaultRef(0, "", "", "")
UNDO_LABEL = "-"
NOT_FOUND = "fatura KolayBi'de bulunamadı"


class UndoPlan(Plan):
    """The plan of an undo run: ``rows[i].amount`` is what the invoice has collected."""

    def describe(self, lang: Lang | None = None, limit: int = 20) -> str:
        n = len(self.rows)
        lines = [
            ngettext(
                "Undo plan: the collections of {n} invoice will be taken back.",
                "Undo plan: the collections of {n} invoices will be taken back.",
                n,
                lang,
            ).format(n=number(n, lang))
        ]
        row_text = _("  row {row}: document {doc} {serial} {party} — collected {amount}", lang)
        for row in self.rows[:limit]:
            lines.append(
                row_text.format(
                    row=row.sheet_row,
                    doc=row.document_id,
                    serial=row.serial_no,
                    party=row.party,
                    amount=i18n.amount(row.amount, row.currency, lang),
                )
            )
        if n > limit:
            lines.append(_("  … and {n} more", lang).format(n=n - limit))
        if self.totals:
            total = ", ".join(
                i18n.amount(amount, currency, lang)
                for (_label, currency), amount in sorted(self.totals.items())
            )
            lines.append(_("Collected in total: {total}", lang).format(total=total))
        if self.rows:
            lines.append(
                _(
                    "Warning: KolayBi may take back EVERY collection of such an invoice, not "
                    "only the last one.",
                    lang,
                )
            )
        parts = [
            ngettext("{n} row with an error", "{n} rows with an error", self.errors, lang),
            ngettext(
                "{n} row skipped (nothing collected to take back)",
                "{n} rows skipped (nothing collected to take back)",
                self.skipped,
                lang,
            ),
            ngettext(
                "{n} row already taken back", "{n} rows already taken back", self.unchanged, lang
            ),
        ]
        counted = (self.errors, self.skipped, self.unchanged)
        lines.append(", ".join(p.format(n=k) for p, k in zip(parts, counted, strict=True)) + ".")
        row_issue = _("  row {row}: {outcome}", lang)
        for issue in self.issues:
            if issue.status.is_error:
                lines.append(row_issue.format(row=issue.sheet_row, outcome=issue.outcome))
        return "\n".join(lines)


def collected(invoice: Invoice) -> Decimal | None:
    """What the invoice has collected (Ödenen): its ``total_paid``, else total - remaining."""
    paid = invoice.payment_plan.total_paid if invoice.payment_plan else None
    if paid is None and invoice.total.grand_total is not None and invoice.remaining is not None:
        paid = invoice.total.grand_total - invoice.remaining
    return paid


def _already_undone(table: InvoiceTable, index: int, current: str, invoice: Invoice) -> bool:
    """The row says ``Geri alındı`` and KolayBi's remaining amount is still the one written
    then (nothing collected since): there is nothing of ours to take back."""
    if not current.startswith(layout.OUTCOME_UNDONE) or invoice.remaining is None:
        return False
    try:
        shown = parse_decimal(table.get(index, layout.C_REMAINING.header), "Kalan")
    except CellError:
        return False
    return shown is not None and abs(shown - invoice.remaining) <= TOLERANCE


def _collected_since(table: InvoiceTable, index: int, doc_id: int, invoice: Invoice) -> RowOutcome:
    """The row says ``Geri alındı`` but the invoice has collected again since (a colleague,
    a bank feed): that collection was never marked here, so it is not taken back by pressing
    the button again — the accountant clears ``Tahsilat Durumu`` to ask for it."""
    try:
        shown = parse_decimal(table.get(index, layout.C_REMAINING.header), "Kalan")
    except CellError:
        shown = None
    currency = (invoice.currency or cell_text(table.get(index, layout.C_CURRENCY.header))).upper()
    change = ""
    if shown is not None and invoice.remaining is not None:
        change = f" (kalan {tr_amount(shown)} → {tr_amount(invoice.remaining)} {currency})"
    # Still starts with "Geri alındı": the next press must recognise this row the same way.
    text = (
        f"{layout.OUTCOME_UNDONE}; sonra faturaya yeni tahsilat yapılmış{change} — o geri "
        "alınmadı; onu da geri almak için Tahsilat Durumu'nu temizleyip yeniden çalıştırın"
    )
    return RowOutcome(index, table.sheet_row(index), doc_id, text, RowStatus.FAILED)


def _skip(
    table: InvoiceTable, index: int, doc_id: int, invoice: Invoice, overlay: dict[int, str]
) -> RowOutcome | None:
    """A row with nothing to take back: unchanged if it already says so, else skipped;
    None when there is something to take back."""
    paid = collected(invoice)
    current = overlay.get(index, cell_text(table.get(index, layout.C_OUTCOME.header)))
    if _already_undone(table, index, current, invoice):
        return RowOutcome(
            index, table.sheet_row(index), doc_id, current, RowStatus.UNCHANGED, undo=True
        )
    if current.startswith(layout.OUTCOME_UNDONE) and paid is not None and paid > TOLERANCE:
        return _collected_since(table, index, doc_id, invoice)
    if paid is None or paid > TOLERANCE:
        return None  # something to take back (or unreadable: reported by the caller)
    if current.startswith(layout.OUTCOME_UNDONE):
        return RowOutcome(
            index, table.sheet_row(index), doc_id, current, RowStatus.UNCHANGED, undo=True
        )
    return RowOutcome(
        index,
        table.sheet_row(index),
        doc_id,
        T_NOTHING_TO_UNDO,
        RowStatus.SKIPPED,
        paid=paid,
        remaining=invoice.remaining,
        payment_status=_payment_label(paid, invoice.remaining),
        undo=True,
    )


def build_undo_plan(
    grid: Grid,
    table: InvoiceTable,
    client: CollectClient,
    *,
    blocked: dict[int, float | None],
    overlay: dict[int, str],
    concurrency: int,
    waits: Waits = DEFAULT_WAITS,
    prefetched: _Prefetch | None = None,
) -> UndoPlan:
    """The rows marked ``geri al``: validated like collect's (id, duplicates, an earlier
    attempt still open), each invoice read afresh; nothing collected -> skipped, not sent."""
    issues: list[RowOutcome] = []
    candidates, marked = _marked_ids(table, issues, _is_undo_marked)
    singles = _singles(table, candidates, blocked, issues) if candidates else []
    rows: list[PlannedRow] = []
    if singles:
        grid.progress(f"{len(singles)} faturanın güncel durumu okunuyor…")
        reader = _Reader(client, concurrency, waits)
        wanted = {d: _row_type(table, i) for i, d in singles}
        found, read_errors = reader.read(wanted, lambda: _strip_type(grid))
        for index, doc_id in singles:
            planned = _plan_row(table, index, doc_id, found.get(doc_id), read_errors, overlay)
            if isinstance(planned, PlannedRow):
                rows.append(planned)
            else:
                issues.append(planned)
    totals: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        key = ("", row.currency)
        totals[key] = totals.get(key, ZERO) + row.amount
    for issue in issues:
        issue.undo = True  # its row is marked `geri al`
    issues.sort(key=lambda o: o.index)
    return UndoPlan(rows, issues, totals, marked)


def _plan_row(
    table: InvoiceTable,
    index: int,
    doc_id: int,
    invoice: Invoice | None,
    read_errors: dict[int, str],
    overlay: dict[int, str],
) -> PlannedRow | RowOutcome:
    """One marked row: planned (what the invoice has collected is taken back), or the outcome
    that says why not (unreadable, not a sale, nothing collected, already undone)."""
    why = _unfit(invoice, read_errors.get(doc_id), doc_id)
    if why is not None or invoice is None:
        return RowOutcome(
            index, table.sheet_row(index), doc_id, error_text(why or ""), RowStatus.FAILED
        )
    skipped = _skip(table, index, doc_id, invoice, overlay)
    if skipped is not None:
        return skipped
    paid, remaining = collected(invoice), invoice.remaining
    if paid is None or remaining is None:
        return _unreadable(table, index, doc_id)
    return _planned(table, index, doc_id, invoice, paid, remaining)


def _unfit(invoice: Invoice | None, read_error: str | None, doc_id: int) -> str | None:
    """Why this invoice's collections cannot be taken back from here (None: they can)."""
    if invoice is None:
        return f"{read_error or NOT_FOUND} (Belge ID {doc_id})"
    invoice_type = _invoice_type(invoice)
    if invoice_type is not SALE:
        label = _type_label(invoice, invoice_type)
        return f"yalnız satış faturalarının tahsilatı geri alınır (bu belge: {label})"
    return None


def _unreadable(table: InvoiceTable, index: int, doc_id: int) -> RowOutcome:
    text = error_text("faturanın kalan/ödenen tutarı KolayBi'den okunamadı")
    return RowOutcome(index, table.sheet_row(index), doc_id, text, RowStatus.FAILED)


def _planned(
    table: InvoiceTable,
    index: int,
    doc_id: int,
    invoice: Invoice,
    paid: Decimal,
    remaining: Decimal,
) -> PlannedRow:
    currency = (invoice.currency or cell_text(table.get(index, layout.C_CURRENCY.header))).upper()
    return PlannedRow(
        index=index,
        sheet_row=table.sheet_row(index),
        document_id=doc_id,
        vault=NO_VAULT,
        amount=paid,
        currency=currency,
        serial_no=invoice.header.serial_no or cell_text(table.get(index, layout.C_SERIAL.header)),
        party=invoice.header.associate.full_name
        or cell_text(table.get(index, layout.C_PARTY.header)),
        vault_label=UNDO_LABEL,
        remaining_before=remaining,
        grand_total=invoice.total.grand_total,
        invoice_type=SALE.value,
    )

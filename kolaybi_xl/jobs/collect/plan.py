"""Step 1: validate the marked rows and build the plan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_DOWN, Decimal

from ...api.errors import KolayBiError
from ...api.models import Invoice, InvoiceType
from ...workbook import layout
from ...workbook.cells import (
    CellError,
    VaultRef,
    cell_text,
    parse_collect_amount,
    parse_decimal,
    parse_document_id,
    parse_mark,
    resolve_vault,
    tr_amount,
)
from ...workbook.grid import Grid
from ..errors import JobError
from ..journal import Journal
from ..status import RowStatus
from ..table import InvoiceTable, chosen_types
from ..vaults import read_vaults, vault_ref
from .reading import (
    _invoice_type,
    _Prefetch,
    _read_again,
    _read_table,
    _Reader,
    _row_doc_id,
    _row_type,
)
from .records import (
    T_BLOCKED,
    T_NOTHING_LEFT,
    UNCOLLECTABLE_STATUSES,
    CollectClient,
    Plan,
    PlannedRow,
    RowOutcome,
    _payment_label,
    error_text,
    pending_text,
)
from .waits import CENT, DEFAULT_WAITS, SALE, TOLERANCE, ZERO, Waits, _clamp

_Resolved = tuple[int, int, VaultRef, Decimal | None]  # index, document, vault, partial amount

# -- planning ---------------------------------------------------------------------------------


def _vault_label(vault: VaultRef, vaults: Sequence[VaultRef]) -> str:
    name = vault.name.strip() or f"Kasa {vault.id}"
    same = [v for v in vaults if v.name.strip() == vault.name.strip()]
    return f"{name} (ID {vault.id})" if len(same) > 1 else name


def _issue(
    issues: list[RowOutcome],
    table: InvoiceTable,
    index: int,
    doc_id: int | None,
    text: str,
    status: RowStatus = RowStatus.FAILED,
) -> None:
    issues.append(RowOutcome(index, table.sheet_row(index), doc_id, text, status))


def _marked_for_collect(table: InvoiceTable, index: int) -> bool:
    """The row's ``Tahsil Et`` marks it for collecting (``CellError``: not a mark at all)."""
    return parse_mark(table.get(index, layout.C_MARK.header))


def _marked_ids(
    table: InvoiceTable,
    issues: list[RowOutcome],
    is_marked: Callable[[InvoiceTable, int], bool] = _marked_for_collect,
) -> tuple[list[tuple[int, int]], int]:
    """Step 1: marks and ids -> (index, document id) of each usable marked row, rows marked."""
    candidates: list[tuple[int, int]] = []
    marked = 0
    for index in table.indexes():
        try:
            if not is_marked(table, index):
                continue
        except CellError as exc:
            marked += 1
            _issue(issues, table, index, _row_doc_id(table, index), error_text(exc.message))
            continue
        marked += 1
        try:
            doc_id = parse_document_id(table.get(index, layout.ID_HEADER))
        except CellError as exc:
            _issue(issues, table, index, None, error_text(exc.message))
            continue
        if doc_id is None:
            _issue(issues, table, index, None, error_text("Belge ID boş"))
            continue
        candidates.append((index, doc_id))
    return candidates, marked


def _singles(
    table: InvoiceTable,
    candidates: list[tuple[int, int]],
    blocked: dict[int, float | None],
    issues: list[RowOutcome],
) -> list[tuple[int, int]]:
    """Step 2: duplicates of one invoice (none of them is sent) and still-open attempts."""
    rows_of: dict[int, list[int]] = {}
    for index, doc_id in candidates:
        rows_of.setdefault(doc_id, []).append(index)
    singles: list[tuple[int, int]] = []
    for index, doc_id in candidates:
        others = rows_of[doc_id]
        if len(others) > 1:
            where = ", ".join(str(table.sheet_row(i)) for i in others)
            text = error_text(
                f"Belge ID {doc_id} birden çok işaretli satırda (satır {where}); "
                "yalnız birini işaretleyin"
            )
            _issue(issues, table, index, doc_id, text)
        elif doc_id in blocked:
            until = blocked[doc_id]
            text = T_BLOCKED if until is None else pending_text(until)
            _issue(issues, table, index, doc_id, text, RowStatus.UNKNOWN)
        else:
            singles.append((index, doc_id))
    return singles


def _api_vaults(client: CollectClient, waits: Waits) -> list[VaultRef]:
    try:
        return [vault_ref(v) for v in _read_again(lambda _: client.list_vaults(), None, waits)]
    except KolayBiError as exc:
        raise JobError.from_api(exc) from None


def _resolve_vaults(
    grid: Grid,
    table: InvoiceTable,
    singles: list[tuple[int, int]],
    api_vaults: list[VaultRef],
    issues: list[RowOutcome],
) -> list[tuple[int, int, VaultRef]]:
    """Step 3: vaults as the user picked them on Kasalar, checked against KolayBi's."""
    choices = read_vaults(grid) or api_vaults
    api_by_id = {v.id: v for v in api_vaults}
    resolved: list[tuple[int, int, VaultRef]] = []
    for index, doc_id in singles:
        try:
            chosen = resolve_vault(table.get(index, layout.C_VAULT.header), choices)
        except CellError as exc:
            _issue(issues, table, index, doc_id, error_text(exc.message))
            continue
        vault = api_by_id.get(chosen.id)
        if vault is None:
            text = error_text(
                f"Kasa/Banka KolayBi'de bulunamadı: '{chosen.name}' (ID {chosen.id}); "
                "Kasalar sayfasını yenileyin"
            )
            _issue(issues, table, index, doc_id, text)
            continue
        resolved.append((index, doc_id, vault))
    return resolved


def _amounts(
    table: InvoiceTable, resolved: list[tuple[int, int, VaultRef]], issues: list[RowOutcome]
) -> list[_Resolved]:
    """Step 3b: each row's ``Tahsil Tutarı`` (None: the whole remaining amount). Whether it
    fits the invoice is decided once its current remaining amount is read."""
    if table.col(layout.C_AMOUNT.header) is None:
        return [(index, doc_id, vault, None) for index, doc_id, vault in resolved]
    amounts: list[_Resolved] = []
    for index, doc_id, vault in resolved:
        try:
            wanted = parse_collect_amount(table.get(index, layout.C_AMOUNT.header))
        except CellError as exc:
            _issue(issues, table, index, doc_id, error_text(exc.message))
            continue
        amounts.append((index, doc_id, vault, wanted))
    return amounts


def _too_much(wanted: Decimal, remaining: Decimal, currency: str) -> str:
    return (
        f"Tahsil Tutarı ({tr_amount(wanted)} {currency}) faturanın KolayBi'deki kalan "
        f"tutarından ({tr_amount(remaining)} {currency}) fazla; tahsilat yapılmadı"
    )


def _other_currency(table: InvoiceTable, index: int, currency: str) -> str | None:
    """A part typed as lira (``12,5 TL``) on an invoice in another currency: the number alone
    would go in the invoice's currency — never guess which one was meant."""
    typed = table.get(index, layout.C_AMOUNT.header)
    if currency == "TRY" or not isinstance(typed, str):
        return None
    if not any(symbol in typed.upper() for symbol in ("TL", "₺", "TRY")):
        return None
    return (
        f"Tahsil Tutarı TL olarak yazılmış ({cell_text(typed).strip()}) ama fatura {currency}; "
        f"tutarı {currency} olarak, para birimi yazmadan girin"
    )


def _moved(table: InvoiceTable, index: int, remaining: Decimal, currency: str) -> str | None:
    """Why a part must not go now: KolayBi's remaining amount is no longer the ``Kalan`` this
    row shows, the one the part was decided against (None: it is). Something was collected
    (or taken back) since — from a copy of this workbook, by a colleague, in KolayBi — and
    the part may already be among it: sending it again would collect too much."""
    try:
        shown = parse_decimal(table.get(index, layout.C_REMAINING.header), "Kalan")
    except CellError:
        return None  # not a number: nothing to compare (the user's own edit)
    if shown is None or abs(shown - remaining) <= TOLERANCE:
        return None
    return (
        f"faturanın kalan tutarı değişmiş: bu satırda {tr_amount(shown)} {currency}, "
        f"KolayBi'de {tr_amount(remaining)} {currency} — arada başka bir tahsilat "
        "yapılmış olabilir; faturaları yenileyip Tahsil Tutarı'nı kontrol edin, tahsilat "
        "yapılmadı"
    )


def _partial_done(
    table: InvoiceTable, index: int, doc_id: int, overlay: dict[int, str]
) -> RowOutcome | None:
    """A partial row that already says ``Tamamlandı`` is not sent again: its amount was
    collected. (Another instalment: clear the row's ``Tahsilat Durumu`` first.)"""
    current = overlay.get(index, cell_text(table.get(index, layout.C_OUTCOME.header)))
    if current.startswith(layout.OUTCOME_DONE):
        return RowOutcome(index, table.sheet_row(index), doc_id, current, RowStatus.UNCHANGED)
    return None


def _strip_type(grid: Grid) -> InvoiceType | None:
    try:
        types = chosen_types(grid, SALE)
    except JobError:
        return None
    return types[0] if len(types) == 1 else None


def _type_label(invoice: Invoice, invoice_type: InvoiceType | None) -> str:
    if invoice_type:
        return invoice_type.label
    described = invoice.commercial_doc_type.description if invoice.commercial_doc_type else None
    return described or invoice.type or "bilinmiyor"


def _unfit(
    table: InvoiceTable, index: int, invoice: Invoice, vault: VaultRef
) -> tuple[str | None, str]:
    """Why this invoice cannot be collected into this vault (None: it can), and its currency."""
    invoice_type = _invoice_type(invoice)
    if invoice_type is not SALE:
        label = _type_label(invoice, invoice_type)
        return f"yalnız satış faturaları tahsil edilir (bu belge: {label})", ""
    status = invoice.commercial_doc_status.value if invoice.commercial_doc_status else None
    if status in UNCOLLECTABLE_STATUSES:
        return UNCOLLECTABLE_STATUSES[status], ""
    currency = (invoice.currency or cell_text(table.get(index, layout.C_CURRENCY.header))).upper()
    if not currency:
        return "faturanın para birimi okunamadı", currency
    if currency != vault.currency.upper():
        return (
            f"para birimi uyuşmuyor: fatura {currency}, kasa '{vault.name}' "
            f"{vault.currency.upper() or '?'}"
        ), currency
    if invoice.remaining is None:
        return "faturanın kalan tutarı KolayBi'den okunamadı", currency
    return None, currency


def _nothing_left(
    table: InvoiceTable, index: int, doc_id: int, invoice: Invoice, overlay: dict[int, str]
) -> RowOutcome:
    """A row whose invoice has nothing left: unchanged if it already says done, else skipped."""
    current = overlay.get(index, cell_text(table.get(index, layout.C_OUTCOME.header)))
    if current.startswith(layout.OUTCOME_DONE):
        return RowOutcome(index, table.sheet_row(index), doc_id, current, RowStatus.UNCHANGED)
    remaining = invoice.remaining
    grand_total = invoice.total.grand_total
    paid = invoice.payment_plan.total_paid if invoice.payment_plan else None
    if paid is None and grand_total is not None and remaining is not None:
        paid = grand_total - remaining
    return RowOutcome(
        index,
        table.sheet_row(index),
        doc_id,
        T_NOTHING_LEFT,
        RowStatus.SKIPPED,
        paid=paid,
        remaining=remaining,
        payment_status=_payment_label(paid, remaining),
    )


def _build_plan(
    grid: Grid,
    table: InvoiceTable,
    client: CollectClient,
    *,
    blocked: dict[int, float | None],
    overlay: dict[int, str],
    concurrency: int,
    waits: Waits = DEFAULT_WAITS,
    prefetched: _Prefetch | None = None,
) -> Plan:
    """``blocked``: documents with an earlier attempt not settled -> when its horizon passes
    (None: only a person can settle it); ``prefetched``: a listing read while the table was."""
    issues: list[RowOutcome] = []
    candidates, marked = _marked_ids(table, issues)
    singles = _singles(table, candidates, blocked, issues) if candidates else []
    if not singles:
        return Plan([], issues, {}, marked)
    api_vaults = _api_vaults(client, waits)  # one call
    resolved = _amounts(table, _resolve_vaults(grid, table, singles, api_vaults, issues), issues)
    resolved, done = _split_done(table, resolved, overlay)
    issues.extend(done)
    if not resolved:
        issues.sort(key=lambda o: o.index)
        return Plan([], issues, {}, marked)

    # 4. the invoices' current state
    grid.progress(f"{len(resolved)} faturanın güncel kalan tutarı okunuyor…")
    reader = _Reader(client, concurrency, waits, prefetched)
    wanted = {d: _row_type(table, i) for i, d, _, _ in resolved}
    found, read_errors = reader.read(wanted, lambda: _strip_type(grid))

    rows: list[PlannedRow] = []
    for item in resolved:
        planned = _plan_row(table, item, found, read_errors, overlay, api_vaults)
        if isinstance(planned, PlannedRow):
            rows.append(planned)
        else:
            issues.append(planned)
    issues.sort(key=lambda o: o.index)
    return Plan(rows, issues, _totals(rows), marked)


def _plan_row(
    table: InvoiceTable,
    item: _Resolved,
    found: dict[int, Invoice],
    read_errors: dict[int, str],
    overlay: dict[int, str],
    api_vaults: list[VaultRef],
) -> PlannedRow | RowOutcome:
    """One resolved row: planned with the invoice's current remaining amount (or its
    ``Tahsil Tutarı``), or the outcome that says why it is not sent."""
    index, doc_id, vault, partial = item
    invoice = found.get(doc_id)
    if invoice is None:
        reason = read_errors.get(doc_id, "fatura KolayBi'de bulunamadı")
        return _failed(table, index, doc_id, f"{reason} (Belge ID {doc_id})")
    unfit, currency = _unfit(table, index, invoice, vault)
    if unfit is not None or invoice.remaining is None:
        return _failed(table, index, doc_id, unfit or "")
    amount = invoice.remaining.quantize(CENT, rounding=ROUND_DOWN)
    if amount <= 0:
        return _nothing_left(table, index, doc_id, invoice, overlay)
    if partial is not None:
        refused = _refused_part(table, index, partial, amount, invoice.remaining, currency)
        if refused is not None:
            return _failed(table, index, doc_id, refused)
        amount = partial
    return _planned_row(table, index, doc_id, vault, invoice, amount, currency, api_vaults)


def _refused_part(
    table: InvoiceTable,
    index: int,
    partial: Decimal,
    left: Decimal,
    remaining: Decimal,
    currency: str,
) -> str | None:
    """Why a ``Tahsil Tutarı`` part cannot go: more than is left, typed in another currency,
    or KolayBi's remaining amount moved since the row's ``Kalan`` (the part was typed
    against a state that is gone: it may have been collected already)."""
    if partial > left:
        return _too_much(partial, left, currency)
    return _other_currency(table, index, currency) or _moved(table, index, remaining, currency)


def _failed(table: InvoiceTable, index: int, doc_id: int, reason: str) -> RowOutcome:
    return RowOutcome(index, table.sheet_row(index), doc_id, error_text(reason), RowStatus.FAILED)


def _totals(rows: list[PlannedRow]) -> dict[tuple[str, str], Decimal]:
    """(vault label, currency) -> the sum to collect."""
    totals: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        key = (row.vault_label, row.currency)
        totals[key] = totals.get(key, ZERO) + row.amount
    return totals


def _split_done(
    table: InvoiceTable, resolved: list[_Resolved], overlay: dict[int, str]
) -> tuple[list[_Resolved], list[RowOutcome]]:
    """Partial rows already collected (see ``_partial_done``) apart from the rest."""
    rest: list[_Resolved] = []
    done: list[RowOutcome] = []
    for item in resolved:
        index, doc_id, _, partial = item
        outcome = _partial_done(table, index, doc_id, overlay) if partial is not None else None
        if outcome is None:
            rest.append(item)
        else:
            done.append(outcome)
    return rest, done


def _planned_row(
    table: InvoiceTable,
    index: int,
    doc_id: int,
    vault: VaultRef,
    invoice: Invoice,
    amount: Decimal,
    currency: str,
    api_vaults: list[VaultRef],
) -> PlannedRow:
    return PlannedRow(
        index=index,
        sheet_row=table.sheet_row(index),
        document_id=doc_id,
        vault=vault,
        amount=amount,
        currency=currency,
        serial_no=invoice.header.serial_no or cell_text(table.get(index, layout.C_SERIAL.header)),
        party=invoice.header.associate.full_name
        or cell_text(table.get(index, layout.C_PARTY.header)),
        vault_label=_vault_label(vault, api_vaults),
        remaining_before=invoice.remaining,
        grand_total=invoice.total.grand_total,
        invoice_type=SALE.value,
        partial=invoice.remaining is not None and amount < invoice.remaining,
    )


def plan_collection(
    grid: Grid,
    client: CollectClient,
    *,
    key: str,
    journal: Journal | None = None,
    concurrency: int = 4,
) -> Plan:
    """The plan alone: read-only (no lock, no journal writes, nothing sent, nothing written).

    Documents with an earlier attempt whose outcome is not settled are reported, not planned.
    """
    table = _read_table(grid, marked_only=True)  # no earlier outcome is written here
    journal = journal if journal is not None else Journal.default()
    blocked: dict[int, float | None] = {a.document_id: None for a in journal.pending(key)}
    return _build_plan(
        grid, table, client, blocked=blocked, overlay={}, concurrency=_clamp(concurrency)
    )

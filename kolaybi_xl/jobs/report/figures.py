"""The report's figures: pure computation over the invoice table (``Decimal`` throughout, every
amount quantized to kuruş as it is read, sums exact). No grid, no I/O.

Figures are kept per invoice type (``Tür``) and currency, and grouped into two sides: what is
owed to the business (``Alacaklar``) and what it owes (``Borçlar``). No side, type or currency
is ever added to another, and no exchange rate is applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ...api.models import INVOICE_TYPE_LABELS, InvoiceType
from ...workbook import layout
from ...workbook.cells import (
    CellError,
    cell_text,
    identity_text,
    is_blank,
    parse_date,
    parse_decimal,
    parse_document_id,
)
from ..table import InvoiceTable, require_columns
from .log import LogSummary, SkippedRow, read_log
from .order import currency_order, fold

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
TOP_N = 10

# -- aging buckets ----------------------------------------------------------------------------

NOT_DUE = "Vadesi gelmemiş"
DAYS_1_30 = "1–30 gün"
DAYS_31_60 = "31–60 gün"
DAYS_61_90 = "61–90 gün"
DAYS_OVER_90 = "90 günden fazla"
NO_DUE_DATE = "Vadesiz"
BUCKETS = (NOT_DUE, DAYS_1_30, DAYS_31_60, DAYS_61_90, DAYS_OVER_90, NO_DUE_DATE)


def bucket_for(due: date | None, as_of: date) -> str:
    """The aging bucket of an invoice due on ``due``, seen on ``as_of``."""
    if due is None:
        return NO_DUE_DATE
    days = (as_of - due).days
    if days <= 0:
        return NOT_DUE
    if days <= 30:
        return DAYS_1_30
    if days <= 60:
        return DAYS_31_60
    if days <= 90:
        return DAYS_61_90
    return DAYS_OVER_90


# -- sides ------------------------------------------------------------------------------------

RECEIVABLES = "Alacaklar"
PAYABLES = "Borçlar"
SIDES = (RECEIVABLES, PAYABLES)
# Who owes whom: a purchase return is money the supplier gives back, a self-employment
# receipt is a fee the business bills; a sales return is money the business gives back.
SIDE_OF_TYPE = {
    INVOICE_TYPE_LABELS[InvoiceType.SALE_INVOICE]: RECEIVABLES,
    INVOICE_TYPE_LABELS[InvoiceType.PURCHASE_RETURN_INVOICE]: RECEIVABLES,
    INVOICE_TYPE_LABELS[InvoiceType.SELF_EMPLOYMENT_RECEIPT]: RECEIVABLES,
    INVOICE_TYPE_LABELS[InvoiceType.PURCHASE_INVOICE]: PAYABLES,
    INVOICE_TYPE_LABELS[InvoiceType.SALE_RETURN_INVOICE]: PAYABLES,
}


def side_of(type_label: str) -> str:
    """The side of a ``Tür`` text; a table without types (or an unknown one) is receivables,
    as the table's default type is sales."""
    return SIDE_OF_TYPE.get(type_label, RECEIVABLES)


# Columns read from Faturalar (by header text). Ödenen, Tür, the statuses are optional.
REQUIRED_COLUMNS = (
    layout.C_ID,
    layout.C_CURRENCY,
    layout.C_TOTAL,
    layout.C_REMAINING,
    layout.C_DUE,
    layout.C_PARTY,
    layout.C_TAX_ID,
)
# Documents that are not receivables or payables (Belge Durumu as fetch writes it).
VOID_DOC_STATUSES = frozenset(
    layout.DOC_STATUS_LABELS[k] for k in ("cancelled", "rejected", "draft")
)

# -- the figures ------------------------------------------------------------------------------


def percent(part: Decimal, whole: Decimal) -> Decimal:
    """``part`` of ``whole`` in percent, 0.01 precision (0 when there is no whole)."""
    if whole <= 0:
        return ZERO
    return (part * 100 / whole).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class GroupTotals:
    """Everything counted for one invoice type and currency."""

    type: str  # the Tür text ("" when the table has no Tür column)
    currency: str
    invoices: int
    grand_total: Decimal
    paid: Decimal
    remaining: Decimal  # all invoices, as the table has it (may include negative remainders)
    open_invoices: int  # invoices with Kalan > 0
    aging: Mapping[str, Decimal]  # bucket -> sum of Kalan > 0; every bucket present

    @property
    def side(self) -> str:
        return side_of(self.type)

    @property
    def outstanding(self) -> Decimal:
        """Sum of the positive remainders (the aging total)."""
        return sum(self.aging.values(), ZERO)

    def share(self, bucket: str) -> Decimal:
        """The bucket's part of ``outstanding`` in percent (0.01 precision; 0 when nothing)."""
        return percent(self.aging[bucket], self.outstanding)


@dataclass(frozen=True)
class SideAging:
    """The aging of one side in one currency: its types' open amounts added up."""

    side: str
    currency: str
    aging: Mapping[str, Decimal]

    @property
    def outstanding(self) -> Decimal:
        return sum(self.aging.values(), ZERO)

    def share(self, bucket: str) -> Decimal:
        return percent(self.aging[bucket], self.outstanding)


@dataclass(frozen=True)
class Debtor:
    """One account among the top ten of its side and currency (what it owes, or is owed)."""

    side: str
    currency: str
    rank: int
    name: str
    tax_id: str
    remaining: Decimal
    invoices: int  # its invoices with Kalan > 0
    types: tuple[str, ...] = ()  # the types of those invoices, in table order


@dataclass(frozen=True)
class Report:
    as_of: date
    groups: tuple[GroupTotals, ...]  # by side, type and currency
    debtors: tuple[Debtor, ...]  # top ten per side and currency
    log: LogSummary = field(default_factory=LogSummary)
    unlisted: int = 0  # rows no longer listed, left out
    void: int = 0  # cancelled, rejected and draft documents left out
    skipped_invoices: tuple[SkippedRow, ...] = ()  # invoice rows that could not be used
    negative_remaining: int = 0  # invoices with Kalan < 0 (overpaid): in totals, not in aging

    @property
    def invoices(self) -> int:
        return sum(g.invoices for g in self.groups)

    @property
    def skipped(self) -> tuple[SkippedRow, ...]:
        return (*self.skipped_invoices, *self.log.skipped)

    @property
    def collections(self) -> tuple[Any, ...]:
        return self.log.collections

    @property
    def log_applied(self) -> int:
        return self.log.applied

    @property
    def log_not_applied(self) -> int:
        return self.log.not_applied

    @property
    def log_undone(self) -> int:
        return self.log.undone

    @property
    def log_problem(self) -> str | None:
        return self.log.problem

    @property
    def currencies(self) -> list[str]:
        return sorted({g.currency for g in self.groups}, key=currency_order)

    @property
    def types(self) -> list[str]:
        return list(dict.fromkeys(g.type for g in self.groups))

    @property
    def sides(self) -> list[str]:
        present = {g.side for g in self.groups}
        return [s for s in SIDES if s in present]

    def side_groups(self, side: str) -> list[GroupTotals]:
        return [g for g in self.groups if g.side == side]

    def side_aging(self, side: str) -> list[SideAging]:
        """One aging per currency of the side (types added up), currencies in order."""
        groups = self.side_groups(side)
        currencies = sorted({g.currency for g in groups}, key=currency_order)
        out = []
        for currency in currencies:
            aging = dict.fromkeys(BUCKETS, ZERO)
            for g in groups:
                if g.currency == currency:
                    for bucket in BUCKETS:
                        aging[bucket] += g.aging[bucket]
            out.append(SideAging(side, currency, aging))
        return out

    def group(self, currency: str, type: str | None = None) -> GroupTotals:
        """The totals of one currency (and type, when the report has several)."""
        found = [
            g for g in self.groups if g.currency == currency and (type is None or g.type == type)
        ]
        if len(found) != 1:
            raise KeyError((currency, type))
        return found[0]

    def top(self, currency: str, side: str | None = None) -> list[Debtor]:
        return [
            d for d in self.debtors if d.currency == currency and (side is None or d.side == side)
        ]


def kurus(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


_TYPE_ORDER = {label: index for index, label in enumerate(INVOICE_TYPE_LABELS.values())}


def _group_order(key: tuple[str, str]) -> tuple[int, int, str, tuple[int, str]]:
    type_, currency = key
    return (
        SIDES.index(side_of(type_)),
        _TYPE_ORDER.get(type_, len(_TYPE_ORDER)),
        type_,
        currency_order(currency),
    )


@dataclass
class _Group:
    invoices: int = 0
    grand_total: Decimal = ZERO
    paid: Decimal = ZERO
    remaining: Decimal = ZERO
    open_invoices: int = 0
    aging: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, ZERO))


@dataclass
class _Account:
    tax_id: str
    first: int  # table position of its first row: ties are broken by table order
    remaining: Decimal = ZERO
    invoices: int = 0
    names: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (rows, last row)
    types: dict[str, None] = field(default_factory=dict)

    def add(self, name: str, type_: str, position: int, remaining: Decimal) -> None:
        count, _ = self.names.get(name, (0, position))
        self.names[name] = (count + 1, position)
        self.types.setdefault(type_, None)
        self.remaining += remaining
        self.invoices += 1

    @property
    def name(self) -> str:
        """The name on most of its rows; on a tie, the one on the latest row."""
        return max(self.names.items(), key=lambda item: item[1])[0]


@dataclass(frozen=True)
class _Row:
    """One invoice row as the report reads it."""

    doc_id: int
    type: str
    currency: str
    total: Decimal
    paid: Decimal
    remaining: Decimal
    due: date | None
    name: str
    tax_id: str


class _Reader:
    """Reads the cells the report needs from one table row (by header text)."""

    def __init__(self, table: InvoiceTable) -> None:
        self.table = table
        self.has_paid = table.col(layout.C_PAID.header) is not None
        self.seen: dict[int, int] = {}  # document id -> sheet row

    def get(self, row: Sequence[Any], column: layout.Column) -> Any:
        index = self.table.col(column.header)
        return None if index is None else row[index - 1]

    def is_unlisted(self, row: Sequence[Any]) -> bool:
        # Belge Durumu since #13; Ödeme Durumu in workbooks refreshed before.
        return any(
            fold(cell_text(self.get(row, column))) == fold(layout.NOT_LISTED)
            for column in (layout.C_DOC_STATUS, layout.C_PAYMENT_STATUS)
        )

    def is_void(self, row: Sequence[Any]) -> bool:
        return cell_text(self.get(row, layout.C_DOC_STATUS)) in VOID_DOC_STATUSES

    def amounts(self, row: Sequence[Any]) -> tuple[Decimal, Decimal, Decimal]:
        """Genel Toplam, Ödenen, Kalan; a missing Ödenen or Kalan follows from the others."""
        total = parse_decimal(self.get(row, layout.C_TOTAL), "Genel Toplam")
        if total is None:
            raise CellError("Genel Toplam boş")
        remaining = parse_decimal(self.get(row, layout.C_REMAINING), "Kalan")
        paid = parse_decimal(self.get(row, layout.C_PAID), "Ödenen") if self.has_paid else None
        total = kurus(total)
        if remaining is not None:
            remaining = kurus(remaining)
            return total, kurus(paid) if paid is not None else total - remaining, remaining
        if paid is not None:
            return total, kurus(paid), total - kurus(paid)
        raise CellError("Kalan boş")

    def read(self, row: Sequence[Any], sheet_row: int) -> _Row:
        """The row's figures; ``CellError`` when it cannot be used."""
        doc_id = parse_document_id(self.get(row, layout.C_ID))
        if doc_id is None:
            raise CellError("Belge ID boş")
        if doc_id in self.seen:
            raise CellError(
                f"Belge ID {doc_id} satır {self.seen[doc_id]} ile aynı; bir kez sayıldı"
            )
        currency = cell_text(self.get(row, layout.C_CURRENCY)).upper()
        if not currency:
            raise CellError("Para Birimi boş")
        total, paid, remaining = self.amounts(row)
        due = parse_date(self.get(row, layout.C_DUE), "Vade Tarihi")
        self.seen[doc_id] = sheet_row
        return _Row(
            doc_id,
            cell_text(self.get(row, layout.C_TYPE)),
            currency,
            total,
            paid,
            remaining,
            due,
            cell_text(self.get(row, layout.C_PARTY)),
            identity_text(self.get(row, layout.C_TAX_ID)),
        )


def compute_report(
    table: InvoiceTable,
    log: Sequence[Sequence[Any]] = (),
    *,
    as_of: date,
) -> Report:
    """The figures of the report from the invoice table and the ``Tahsilat Günlüğü`` block."""
    require_columns(table, REQUIRED_COLUMNS)
    reader = _Reader(table)
    groups: dict[tuple[str, str], _Group] = {}
    accounts: dict[tuple[str, str, str], _Account] = {}
    skipped: list[SkippedRow] = []
    unlisted = negative = void = 0

    for position, cells in enumerate(table.rows):
        if all(is_blank(v) for v in cells):
            continue
        if reader.is_unlisted(cells):
            unlisted += 1
            continue
        if reader.is_void(cells):
            void += 1
            continue
        sheet_row = table.sheet_row(position)
        try:
            row = reader.read(cells, sheet_row)
        except CellError as exc:
            skipped.append(SkippedRow(layout.INVOICES, sheet_row, exc.message))
            continue
        if row.remaining < 0:
            negative += 1
        _add_invoice(groups, accounts, row, position, as_of)

    order = sorted(groups, key=_group_order)
    totals = tuple(
        GroupTotals(t, c, g.invoices, g.grand_total, g.paid, g.remaining, g.open_invoices, g.aging)
        for (t, c), g in ((k, groups[k]) for k in order)
    )
    return Report(
        as_of=as_of,
        groups=totals,
        debtors=_top(accounts, totals),
        log=read_log(log),
        unlisted=unlisted,
        void=void,
        skipped_invoices=tuple(skipped),
        negative_remaining=negative,
    )


def _add_invoice(
    groups: dict[tuple[str, str], _Group],
    accounts: dict[tuple[str, str, str], _Account],
    row: _Row,
    position: int,
    as_of: date,
) -> None:
    """Count one invoice in its type and currency's totals; an open one also in the aging
    and in its account (by VKN/TCKN, else by name)."""
    group = groups.setdefault((row.type, row.currency), _Group())
    group.invoices += 1
    group.grand_total += row.total
    group.paid += row.paid
    group.remaining += row.remaining
    if row.remaining <= 0:
        return
    group.open_invoices += 1
    group.aging[bucket_for(row.due, as_of)] += row.remaining
    key = f"vkn:{row.tax_id}" if row.tax_id else f"ad:{fold(row.name)}"
    account = accounts.setdefault(
        (side_of(row.type), row.currency, key), _Account(row.tax_id, position)
    )
    account.add(row.name, row.type, position, row.remaining)


def _top(
    accounts: dict[tuple[str, str, str], _Account], groups: Sequence[GroupTotals]
) -> tuple[Debtor, ...]:
    """The ten accounts with the most left, per side and currency (ties: table order)."""
    debtors: list[Debtor] = []
    keys = dict.fromkeys((g.side, g.currency) for g in groups)
    for side, currency in sorted(keys, key=lambda k: (SIDES.index(k[0]), currency_order(k[1]))):
        mine = [a for (s, c, _), a in accounts.items() if (s, c) == (side, currency)]
        mine.sort(key=lambda a: (-a.remaining, a.first))
        debtors.extend(
            Debtor(side, currency, rank, a.name, a.tax_id, a.remaining, a.invoices, tuple(a.types))
            for rank, a in enumerate(mine[:TOP_N], start=1)
        )
    return tuple(debtors)

"""``Özet``: the finance report built from the invoice table and the collection log.

Two parts: ``compute_report`` is pure computation (``Decimal`` throughout, every amount
quantized to kuruş as it is read, sums exact); ``write_report`` lays the figures out on the
``Özet`` sheet through the grid. ``build_report`` reads the workbook, does both and returns the
figures with a one-line summary for the command line and for Excel.

Rules (they are also stated on the sheet):

- Figures are kept per invoice type (``Tür``) and currency: a sale and a purchase invoice are
  never added together, nor are TRY and USD. No exchange rates are applied.
- Rows whose ``Ödeme Durumu`` is ``Listede yok`` (no longer listed by the API, kept because a
  person typed in them) are left out of every figure; the sheet says how many.
- Aging uses only invoices with something left to collect (``Kalan`` > 0). Days overdue are
  ``as_of - Vade Tarihi``: 0 or less is not yet due, then 1–30, 31–60, 61–90, over 90 days;
  invoices without a due date have their own bucket, ``Vadesiz``.
- Top ten accounts (``Cari``) per type and currency by what they still owe (ties: table
  order); an account is its VKN/TCKN, or its name when it has none; the name shown is the one
  on most of its open invoices (on a tie, the latest row's).
- Collections come from ``Tahsilat Günlüğü``: only rows whose ``Sonuç`` starts with
  ``Tamamlandı`` (the collect job's word for an applied collection, also after a retry or a
  reconciliation proved it went through) are counted, per day, vault and currency.
- ``Ödenen`` is read when the table has it, otherwise it is ``Genel Toplam - Kalan``.
- Rows that cannot be read (an amount that is not a number, an unreadable date, a repeated
  ``Belge ID``) are left out and listed in the notes; nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from ..api.models import INVOICE_TYPE_LABELS
from ..workbook import layout
from ..workbook.cells import (
    CellError,
    cell_text,
    column_letter,
    find_header_row,
    header_positions,
    identity_text,
    is_blank,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_document_id,
    parse_int,
    tr_amount,
)
from ..workbook.grid import BarChart, CellValue, ColumnFormat, Grid, TableFormat
from .errors import JobError
from .table import NOT_LISTED, InvoiceTable, read_invoice_table, require_columns

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

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


# Columns read from Faturalar (by header text). Ödenen, Tür and Ödeme Durumu are optional.
# Documents that are not receivables (Belge Durumu as fetch writes it).
VOID_DOC_STATUSES = frozenset(
    layout.DOC_STATUS_LABELS[k] for k in ("cancelled", "rejected", "draft")
)
REQUIRED_COLUMNS = (
    layout.C_ID,
    layout.C_CURRENCY,
    layout.C_TOTAL,
    layout.C_REMAINING,
    layout.C_DUE,
    layout.C_PARTY,
    layout.C_TAX_ID,
)
LOG_RESULT_HEADER = "Sonuç"
LOG_REQUIRED = ("Zaman", "Tutar", "Para Birimi", LOG_RESULT_HEADER)
APPLIED_PREFIX = layout.OUTCOME_DONE  # "Tamamlandı"
TOP_N = 10

# -- the figures ------------------------------------------------------------------------------


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
    def outstanding(self) -> Decimal:
        """Sum of the positive remainders (the aging total)."""
        return sum(self.aging.values(), ZERO)

    def share(self, bucket: str) -> Decimal:
        """The bucket's part of ``outstanding`` in percent (0.01 precision; 0 when nothing)."""
        return percent(self.aging[bucket], self.outstanding)


@dataclass(frozen=True)
class Debtor:
    """One account among the top ten of its type and currency."""

    type: str
    currency: str
    rank: int
    name: str
    tax_id: str
    remaining: Decimal
    invoices: int  # its invoices with Kalan > 0


@dataclass(frozen=True)
class Collection:
    """Applied collections of one day into one vault, in one currency."""

    day: date
    vault_id: int | None
    vault: str
    currency: str
    count: int
    amount: Decimal


@dataclass(frozen=True)
class SkippedRow:
    sheet: str
    row: int  # sheet row
    reason: str  # Turkish


@dataclass(frozen=True)
class Report:
    as_of: date
    groups: tuple[GroupTotals, ...]
    debtors: tuple[Debtor, ...]  # top ten per group, in group order
    collections: tuple[Collection, ...]
    unlisted: int = 0  # "Listede yok" rows left out
    void: int = 0  # cancelled, rejected and draft documents left out: not receivables
    skipped: tuple[SkippedRow, ...] = ()  # invoice and log rows that could not be used
    negative_remaining: int = 0  # invoices with Kalan < 0 (overpaid): in totals, not in aging
    log_applied: int = 0
    log_not_applied: int = 0  # log rows whose result is not "Tamamlandı…"
    log_problem: str | None = None  # the log could not be read at all (Turkish)

    @property
    def invoices(self) -> int:
        return sum(g.invoices for g in self.groups)

    @property
    def currencies(self) -> list[str]:
        return sorted({g.currency for g in self.groups}, key=_currency_order)

    @property
    def types(self) -> list[str]:
        return list(dict.fromkeys(g.type for g in self.groups))

    def group(self, currency: str, type: str | None = None) -> GroupTotals:
        """The totals of one currency (and type, when the report has several)."""
        found = [
            g for g in self.groups if g.currency == currency and (type is None or g.type == type)
        ]
        if len(found) != 1:
            raise KeyError((currency, type))
        return found[0]

    def top(self, currency: str, type: str | None = None) -> list[Debtor]:
        return [
            d for d in self.debtors if d.currency == currency and (type is None or d.type == type)
        ]


def percent(part: Decimal, whole: Decimal) -> Decimal:
    if whole <= 0:
        return ZERO
    return (part * 100 / whole).quantize(CENT, rounding=ROUND_HALF_UP)


def _kurus(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


_TURKISH_TO_ASCII = str.maketrans("İIıŞşĞğÜüÖöÇç", "iiissgguuoocc")


def _fold(text: str) -> str:
    """Compare names and words without case, Turkish letters or repeated spaces."""
    return " ".join(text.translate(_TURKISH_TO_ASCII).lower().replace("\u0307", "").split())


_TYPE_ORDER = {label: index for index, label in enumerate(INVOICE_TYPE_LABELS.values())}


def _currency_order(currency: str) -> tuple[int, str]:
    return (0 if currency == "TRY" else 1, currency)


def _group_order(key: tuple[str, str]) -> tuple[int, str, tuple[int, str]]:
    type_, currency = key
    return (_TYPE_ORDER.get(type_, len(_TYPE_ORDER)), type_, _currency_order(currency))


@dataclass
class _Group:
    invoices: int = 0
    grand_total: Decimal = ZERO
    paid: Decimal = ZERO
    remaining: Decimal = ZERO
    open_invoices: int = 0
    aging: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, ZERO))


@dataclass
class _Day:
    vault_id: int | None
    vault: str
    count: int = 0
    amount: Decimal = ZERO


@dataclass
class _Account:
    tax_id: str
    first: int  # table position of its first row: ties are broken by table order
    remaining: Decimal = ZERO
    invoices: int = 0
    names: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (rows, last row)

    def add_name(self, name: str, position: int) -> None:
        count, _ = self.names.get(name, (0, position))
        self.names[name] = (count + 1, position)

    @property
    def name(self) -> str:
        """The name on most of its rows; on a tie, the one on the latest row."""
        return max(self.names.items(), key=lambda item: item[1])[0]


def compute_report(
    table: InvoiceTable,
    log: Sequence[Sequence[Any]] = (),
    *,
    as_of: date,
) -> Report:
    """The figures of the report from the invoice table and the ``Tahsilat Günlüğü`` block."""
    require_columns(table, REQUIRED_COLUMNS)
    groups: dict[tuple[str, str], _Group] = {}
    accounts: dict[tuple[str, str, str], _Account] = {}
    skipped: list[SkippedRow] = []
    seen: dict[int, int] = {}
    unlisted = negative = void = 0

    def get(row: Sequence[Any], column: layout.Column) -> Any:
        index = table.col(column.header)
        return None if index is None else row[index - 1]

    for position, row in enumerate(table.rows):
        sheet_row = table.sheet_row(position)
        if all(is_blank(v) for v in row):
            continue
        status = cell_text(get(row, layout.C_PAYMENT_STATUS))
        if _fold(status) == _fold(NOT_LISTED):
            unlisted += 1
            continue
        if cell_text(get(row, layout.C_DOC_STATUS)) in VOID_DOC_STATUSES:
            void += 1
            continue
        try:
            doc_id = parse_document_id(get(row, layout.C_ID))
            if doc_id is None:
                raise CellError("Belge ID boş")
            if doc_id in seen:
                raise CellError(f"Belge ID {doc_id} satır {seen[doc_id]} ile aynı; bir kez sayıldı")
            currency = cell_text(get(row, layout.C_CURRENCY)).upper()
            if not currency:
                raise CellError("Para Birimi boş")
            total = parse_decimal(get(row, layout.C_TOTAL), "Genel Toplam")
            if total is None:
                raise CellError("Genel Toplam boş")
            remaining = parse_decimal(get(row, layout.C_REMAINING), "Kalan")
            paid = (
                parse_decimal(get(row, layout.C_PAID), "Ödenen")
                if table.col(layout.C_PAID.header) is not None
                else None
            )
            total = _kurus(total)
            if remaining is not None:
                remaining = _kurus(remaining)
                paid = _kurus(paid) if paid is not None else total - remaining
            elif paid is not None:
                paid = _kurus(paid)
                remaining = total - paid
            else:
                raise CellError("Kalan boş")
            due = parse_date(get(row, layout.C_DUE), "Vade Tarihi")
        except CellError as exc:
            skipped.append(SkippedRow(layout.INVOICES, sheet_row, exc.message))
            continue
        seen[doc_id] = sheet_row

        type_ = cell_text(get(row, layout.C_TYPE))
        group = groups.setdefault((type_, currency), _Group())
        group.invoices += 1
        group.grand_total += total
        group.paid += paid
        group.remaining += remaining
        if remaining < 0:
            negative += 1
        if remaining <= 0:
            continue
        group.open_invoices += 1
        group.aging[bucket_for(due, as_of)] += remaining

        name = cell_text(get(row, layout.C_PARTY))
        tax_id = identity_text(get(row, layout.C_TAX_ID))
        key = f"vkn:{tax_id}" if tax_id else f"ad:{_fold(name)}"
        account = accounts.setdefault((type_, currency, key), _Account(tax_id, position))
        account.remaining += remaining
        account.invoices += 1
        account.add_name(name, position)

    order = sorted(groups, key=_group_order)
    totals = tuple(
        GroupTotals(
            type=t,
            currency=c,
            invoices=g.invoices,
            grand_total=g.grand_total,
            paid=g.paid,
            remaining=g.remaining,
            open_invoices=g.open_invoices,
            aging=dict(g.aging),
        )
        for (t, c), g in ((k, groups[k]) for k in order)
    )
    debtors: list[Debtor] = []
    for type_, currency in order:
        mine = [a for (t, c, _), a in accounts.items() if (t, c) == (type_, currency)]
        mine.sort(key=lambda a: (-a.remaining, a.first))
        debtors.extend(
            Debtor(type_, currency, rank, a.name, a.tax_id, a.remaining, a.invoices)
            for rank, a in enumerate(mine[:TOP_N], start=1)
        )

    collections, log_skipped, applied, not_applied, problem = _read_log(log)
    return Report(
        as_of=as_of,
        groups=totals,
        debtors=tuple(debtors),
        collections=collections,
        unlisted=unlisted,
        void=void,
        skipped=(*skipped, *log_skipped),
        negative_remaining=negative,
        log_applied=applied,
        log_not_applied=not_applied,
        log_problem=problem,
    )


def is_applied(result: Any) -> bool:
    """A ``Tahsilat Günlüğü`` result that means the money was collected."""
    return cell_text(result).startswith(APPLIED_PREFIX)


def _read_log(
    block: Sequence[Sequence[Any]],
) -> tuple[tuple[Collection, ...], list[SkippedRow], int, int, str | None]:
    if not any(any(not is_blank(v) for v in row) for row in block):
        return (), [], 0, 0, None
    found = find_header_row(block, LOG_RESULT_HEADER, layout.HEADER_SEARCH_ROWS)
    if found is None:
        return (), [], 0, 0, f"'{LOG_RESULT_HEADER}' başlığı bulunamadı"
    positions = header_positions(block[found])
    missing = [h for h in LOG_REQUIRED if h not in positions]
    if "Kasa ID" not in positions and "Kasa/Banka" not in positions:
        missing.append("Kasa ID ya da Kasa/Banka")
    if missing:
        return (), [], 0, 0, "eksik sütun(lar): " + ", ".join(f"'{m}'" for m in missing)

    def get(row: Sequence[Any], header: str) -> Any:
        index = positions.get(header)
        return row[index] if index is not None and index < len(row) else None

    days: dict[tuple[date, str, str], _Day] = {}
    skipped: list[SkippedRow] = []
    applied = not_applied = 0
    for offset, row in enumerate(block[found + 1 :]):
        sheet_row = found + 2 + offset
        if all(is_blank(v) for v in row):
            continue
        if not is_applied(get(row, LOG_RESULT_HEADER)):
            not_applied += 1
            continue
        try:
            at = parse_datetime(get(row, "Zaman"), "Zaman")
            if at is None:
                raise CellError("Zaman boş")
            amount = parse_decimal(get(row, "Tutar"), "Tutar")
            if amount is None:
                raise CellError("Tutar boş")
            currency = cell_text(get(row, "Para Birimi")).upper()
            if not currency:
                raise CellError("Para Birimi boş")
            vault_id = parse_int(get(row, "Kasa ID"), "Kasa ID")
            vault = cell_text(get(row, "Kasa/Banka"))
            if vault_id is None and not vault:
                raise CellError("Kasa boş")
        except CellError as exc:
            skipped.append(SkippedRow(layout.COLLECTION_LOG, sheet_row, exc.message))
            continue
        applied += 1
        vault_key = f"id:{vault_id}" if vault_id is not None else f"ad:{_fold(vault)}"
        day = days.setdefault((at.date(), vault_key, currency), _Day(vault_id, vault))
        day.vault = day.vault or vault
        day.count += 1
        day.amount += _kurus(amount)

    def order(key: tuple[date, str, str]) -> tuple[date, int, str, tuple[int, str]]:
        day = days[key]
        vault_id = day.vault_id if day.vault_id is not None else 1 << 62  # named vaults last
        return (key[0], vault_id, _fold(day.vault), _currency_order(key[2]))

    collections = tuple(
        Collection(key[0], d.vault_id, d.vault, key[2], d.count, d.amount)
        for key in sorted(days, key=order)
        for d in [days[key]]
    )
    return collections, skipped, applied, not_applied, None


# -- the sheet --------------------------------------------------------------------------------

TITLE = "KolayBi Özet Raporu"
SECTION_TOTALS = "Tür ve Para Birimine Göre Toplamlar"
SECTION_AGING = "Vade Analizi: kalan tutarlar"
SECTION_TOP = "En Çok Bakiyesi Olan 10 Cari (her tür ve para birimi için)"
SECTION_COLLECTIONS = "Bu Çalışma Kitabından Yapılan Tahsilatlar (gün ve kasa/banka)"
SECTION_NOTES = "Notlar"
CHART_TITLE = "Vade Analizi"
AGING_LABEL_HEADER = "Vade Dilimi"
TOTAL_LABEL = "Toplam"
NO_COLLECTIONS = "Henüz tamamlanmış tahsilat yok."

INFO_HEADERS = ("Rapor Tarihi", "Faturalar Güncellendi", "Rapor Oluşturuldu", "Kaynak")
TOTALS_HEADERS = (
    "Tür",
    "Para Birimi",
    "Fatura Adedi",
    "Genel Toplam",
    "Ödenen",
    "Kalan",
    "Açık Fatura Adedi",
)
TOP_HEADERS = ("Tür", "Para Birimi", "Sıra", "Cari", "VKN/TCKN", "Kalan", "Açık Fatura Adedi")
COLLECTION_HEADERS = ("Tarih", "Kasa ID", "Para Birimi", "Kasa/Banka", "Tahsilat Adedi", "Tutar")

MONEY = layout.NUMBER_FORMATS[layout.Kind.MONEY]
DATE = layout.NUMBER_FORMATS[layout.Kind.DATE]
DATETIME = layout.NUMBER_FORMATS[layout.Kind.DATETIME]
TEXT = layout.NUMBER_FORMATS[layout.Kind.TEXT]
COUNT = "#,##0"
# A number followed by left-aligned text: a little room so they do not run together.
RANK = '0"."_)_)'
ID = "0_)_)"
DATETIME_PADDED = DATETIME + "_)_)"
SHARE = '0.0"%"'  # the value is a percentage (12.5), shown as 12.5%
# One width per sheet column, whatever block uses it (A: labels and dates, D: names).
WIDTHS = (24.0, 17.0, 18.0, 36.0, 17.0, 17.0, 17.0)
OTHER_WIDTH = 15.0


@dataclass(frozen=True)
class Source:
    """Where the figures come from, as the Faturalar control strip says."""

    type_label: str
    refreshed_at: datetime | None
    refreshed_text: str  # the cell as written when it is not a date and time


@dataclass
class ReportResult:
    """The figures (``report``) and what was written (``rows``, ``chart``)."""

    report: Report
    source: Source
    generated_at: datetime
    rows: int  # rows used on Özet
    chart: BarChart | None
    notes: list[str]

    @property
    def as_of(self) -> date:
        return self.report.as_of

    @property
    def groups(self) -> tuple[GroupTotals, ...]:
        return self.report.groups

    @property
    def debtors(self) -> tuple[Debtor, ...]:
        return self.report.debtors

    @property
    def collections(self) -> tuple[Collection, ...]:
        return self.report.collections

    @property
    def unlisted(self) -> int:
        return self.report.unlisted

    @property
    def skipped(self) -> tuple[SkippedRow, ...]:
        return self.report.skipped

    def _remaining(self, tr: bool) -> str:
        several_types = len(self.report.types) > 1
        parts = []
        for g in self.report.groups:
            amount = tr_amount(g.remaining) if tr else f"{g.remaining:,.2f}"
            label = f"{g.currency} {amount}"
            parts.append(f"{g.type} {label}" if several_types and g.type else label)
        return ", ".join(parts)

    def summary_en(self) -> str:
        r = self.report
        text = (
            f"Özet built as of {r.as_of.isoformat()}: {r.invoices} invoices; "
            f"remaining {self._remaining(False)}; {len(r.collections)} collection day/vault rows"
        )
        if r.unlisted:
            text += f"; {r.unlisted} rows no longer listed left out"
        if r.skipped:
            text += f"; {len(r.skipped)} unreadable rows left out (see the notes on Özet)"
        return text

    def summary_tr(self) -> str:
        r = self.report
        text = (
            f"Özet hazır ({r.as_of:%d.%m.%Y} itibarıyla): {r.invoices} fatura; "
            f"kalan {self._remaining(True)}; {len(r.collections)} günlük tahsilat satırı"
        )
        if r.unlisted:
            text += f"; 'Listede yok' olan {r.unlisted} satır katılmadı"
        if r.skipped:
            text += f"; okunamayan {len(r.skipped)} satır katılmadı (Özet'teki notlara bakın)"
        return text

    def __str__(self) -> str:
        return self.summary_en()


def _width(column: int) -> float:
    return WIDTHS[column - 1] if column <= len(WIDTHS) else OTHER_WIDTH


def _formats(*number_formats: str | None) -> list[ColumnFormat]:
    return [ColumnFormat(fmt, _width(i)) for i, fmt in enumerate(number_formats, start=1)]


def report_notes(report: Report) -> list[str]:
    """The notes printed under the figures (Turkish)."""
    notes = [
        "Tutarlar her fatura türü ve para birimi için ayrı verilir; kur çevrimi yapılmaz, "
        "farklı para birimleri ya da satış ve alış faturaları birbirine eklenmez.",
        "Gecikme günü = Rapor Tarihi − Vade Tarihi. 0 ve altı 'Vadesi gelmemiş' sayılır; "
        f"vade tarihi boş olan faturalar '{NO_DUE_DATE}' dilimindedir.",
        "Vade analizi ve cari listesi yalnızca kalanı sıfırdan büyük faturaları içerir; "
        "ödenmiş faturalar yalnızca toplamlarda sayılır.",
        "Cariler VKN/TCKN'ye, VKN/TCKN yoksa adına göre birleştirilir.",
        f"Grafik: her sütundaki kalan tutarın vade dilimlerine dağılımı (%); tutarlar "
        f"'{SECTION_AGING}' tablosundadır.",
        f"Tahsilatlar '{layout.COLLECTION_LOG}' sayfasından: yalnızca Sonuç'u "
        f"'{APPLIED_PREFIX}' ile başlayan satırlar sayılır ({report.log_applied} satır); "
        f"diğer {report.log_not_applied} satır (Hata, Atlandı, Belirsiz…) sayılmadı.",
    ]
    if report.log_problem:
        notes.append(f"'{layout.COLLECTION_LOG}' okunamadı: {report.log_problem}.")
    if report.unlisted:
        notes.append(
            f"'{NOT_LISTED}' olarak işaretli {report.unlisted} satır (API artık listelemiyor, "
            "içine yazı yazıldığı için saklanıyor) hesaplara katılmadı."
        )
    if report.void:
        notes.append(
            f"İptal edilmiş, reddedilmiş ya da taslak {report.void} belge alacak sayılmadığı "
            "için hesaplara katılmadı."
        )
    if report.negative_remaining:
        notes.append(
            f"{report.negative_remaining} faturanın kalanı sıfırın altında (fazla ödeme): "
            "toplamlarda var, vade analizinde yok."
        )
    if report.skipped:
        listed = "; ".join(f"{s.sheet} satır {s.row}: {s.reason}" for s in report.skipped[:10])
        more = f" … ve {len(report.skipped) - 10} satır daha" if len(report.skipped) > 10 else ""
        notes.append(f"Okunamayan {len(report.skipped)} satır katılmadı: {listed}{more}.")
    return notes


def _value_text(value: str) -> str:
    return value if value else "—"


def write_report(
    grid: Grid, report: Report, source: Source, generated_at: datetime
) -> tuple[int, BarChart | None, list[str]]:
    """Lay the report out on ``Özet``; returns the rows used, the chart and the notes."""
    rows: list[list[CellValue]] = []
    tables: list[TableFormat] = []
    titles: list[tuple[int, int]] = []

    def add(*values: CellValue) -> int:
        rows.append(list(values))
        return len(rows)

    def section(title: str) -> int:
        if rows:
            add()
        row = add(title)
        titles.append((row, 1))
        return row

    def table(
        header_row: int,
        data_rows: int,
        columns: list[ColumnFormat],
        labels: Sequence[tuple[int, int]] = (),
    ) -> None:
        tables.append(
            TableFormat(
                header_row=header_row,
                columns=columns,
                data_rows=data_rows,
                freeze=False,
                autofilter=False,
                spare_rows=0,
                title_cells=list(titles),
                label_cells=list(labels),
            )
        )
        titles.clear()

    several_types = len(report.types) > 1

    # Title and source
    add(TITLE)
    titles.append((1, 1))
    add()
    header = add(*INFO_HEADERS)
    source_text = f"{layout.INVOICES} sayfası"
    if source.type_label:
        source_text += f" – {source.type_label}"
    add(
        report.as_of,
        source.refreshed_at or _value_text(source.refreshed_text),
        generated_at,
        source_text,
    )
    table(header, 1, _formats(DATE, DATETIME, DATETIME_PADDED, TEXT))

    # Totals per type and currency
    section(SECTION_TOTALS)
    header = add(*TOTALS_HEADERS)
    for g in report.groups:
        add(
            g.type or None,
            g.currency,
            g.invoices,
            g.grand_total,
            g.paid,
            g.remaining,
            g.open_invoices,
        )
    table(header, len(report.groups), _formats(TEXT, TEXT, COUNT, MONEY, MONEY, MONEY, COUNT))

    # Aging: one row per bucket, one amount column and one share column per group
    section(f"{SECTION_AGING} ({report.as_of:%d.%m.%Y} itibarıyla)")
    labels = [
        f"{g.type} {g.currency}" if several_types and g.type else g.currency for g in report.groups
    ]
    n = len(report.groups)
    header = add(AGING_LABEL_HEADER, *labels, *(f"{label} %" for label in labels))
    first_bucket = header + 1
    for bucket in BUCKETS:
        add(
            bucket,
            *(g.aging[bucket] for g in report.groups),
            *(g.share(bucket) for g in report.groups),
        )
    last_bucket = len(rows)
    add(
        TOTAL_LABEL,
        *(g.outstanding for g in report.groups),
        *(percent(g.outstanding, g.outstanding) for g in report.groups),
    )
    table(
        header,
        len(BUCKETS) + 1,
        _formats(TEXT, *([MONEY] * n), *([SHARE] * n)),
        labels=[(len(rows), 1)],  # the total row's label in bold
    )
    aging_title_row = header - 1
    chart = BarChart(
        title=CHART_TITLE,
        categories=(first_bucket, 1, last_bucket, 1),
        values=(header, 2 + n, last_bucket, 1 + 2 * n),
        anchor="",  # set below, once the width of the whole sheet is known
        y_title="Kalan tutarın payı (%)",
        x_title="Vade dilimi",
        # Large enough to read the bucket labels and the legend without zooming.
        width_cm=20.0,
        height_cm=10.5,
    )

    # Top ten accounts
    section(SECTION_TOP)
    header = add(*TOP_HEADERS)
    for d in report.debtors:
        add(d.type or None, d.currency, d.rank, d.name, d.tax_id, d.remaining, d.invoices)
    table(header, len(report.debtors), _formats(TEXT, TEXT, RANK, TEXT, TEXT, MONEY, COUNT))

    # Collections per day and vault
    section(SECTION_COLLECTIONS)
    if report.collections:
        header = add(*COLLECTION_HEADERS)
        for c in report.collections:
            add(c.day, c.vault_id, c.currency, c.vault, c.count, c.amount)
        table(header, len(report.collections), _formats(DATE, ID, TEXT, TEXT, COUNT, MONEY))
    else:
        add(NO_COLLECTIONS)

    # Notes
    section(SECTION_NOTES)
    notes = report_notes(report)
    for note in notes:
        add(note)
    if titles:  # the titles after the last table (Notlar) ride on the last table's format
        tables[-1] = replace(tables[-1], title_cells=[*tables[-1].title_cells, *titles])

    width = max(len(r) for r in rows)
    # Right next to the widest block, level with the aging table it plots.
    chart = replace(chart, anchor=f"{column_letter(width + 1)}{aging_title_row}")
    block = [r + [None] * (width - len(r)) for r in rows]

    grid.ensure_sheet(layout.SUMMARY)
    old = grid.read(layout.SUMMARY)
    old_rows, old_width = len(old), max((len(r) for r in old), default=0)
    grid.write(layout.SUMMARY, 1, 1, block)
    if old_rows > len(block):
        grid.clear(layout.SUMMARY, len(block) + 1, 1, old_rows, max(width, old_width))
    if old_width > width:
        grid.clear(layout.SUMMARY, 1, width + 1, len(block), old_width)
    for fmt in tables:
        grid.format_table(layout.SUMMARY, fmt)
    grid.add_bar_chart(layout.SUMMARY, chart)
    return len(block), chart, notes


# -- the job ----------------------------------------------------------------------------------


class _Block:
    """Hands ``read_invoice_table`` the block already read, so a big sheet is read once."""

    def __init__(self, names: list[str], sheet: str, block: list[list[Any]]) -> None:
        self._names, self._sheet, self._block = names, sheet, block

    def sheet_names(self) -> list[str]:
        return self._names

    def read(self, sheet: str) -> list[list[Any]]:
        if sheet != self._sheet:  # pragma: no cover - read_invoice_table reads only Faturalar
            raise KeyError(sheet)
        return self._block


def _cell(block: Sequence[Sequence[Any]], cell: tuple[int, int]) -> Any:
    row, column = cell
    if len(block) >= row and len(block[row - 1]) >= column:
        return block[row - 1][column - 1]
    return None


def read_source(block: Sequence[Sequence[Any]]) -> Source:
    """The invoice type and refresh time from the Faturalar control strip."""
    refreshed = _cell(block, layout.REFRESHED_CELL)
    at: datetime | None
    try:
        at = parse_datetime(refreshed, "Son Güncelleme")
    except CellError:
        at = None
    return Source(cell_text(_cell(block, layout.TYPE_CELL)), at, cell_text(refreshed))


def build_report(
    grid: Grid,
    *,
    as_of: date | None = None,
    now: Callable[[], datetime] = datetime.now,
) -> ReportResult:
    """Compute the report from ``Faturalar`` and ``Tahsilat Günlüğü`` and write ``Özet``.

    ``as_of`` (default: today) is the date the aging is computed on. Raises ``JobError`` when
    there is no invoice table or it holds no invoices; the workbook is then left as it was.
    """
    generated_at = now().replace(microsecond=0)
    as_of = as_of or generated_at.date()
    names = grid.sheet_names()
    if layout.INVOICES not in names:
        raise JobError(
            f"the workbook has no '{layout.INVOICES}' sheet: fetch the invoices first "
            "(kolaybi-xl fetch WORKBOOK)",
            f"Çalışma kitabında '{layout.INVOICES}' sayfası yok: önce faturaları getirin",
        )
    grid.progress("Özet hazırlanıyor…")
    block = grid.read(layout.INVOICES)
    table = read_invoice_table(cast(Grid, _Block(names, layout.INVOICES, block)))
    if table is None or all(all(is_blank(v) for v in row) for row in table.rows):
        raise JobError(
            f"sheet '{layout.INVOICES}' holds no invoices: fetch them first "
            "(kolaybi-xl fetch WORKBOOK)",
            f"'{layout.INVOICES}' sayfasında fatura yok: önce faturaları getirin "
            "(Faturaları Getir)",
        )
    log = grid.read(layout.COLLECTION_LOG) if layout.COLLECTION_LOG in names else []
    report = compute_report(table, log, as_of=as_of)
    if not report.groups:
        unreadable = [s for s in report.skipped if s.sheet == layout.INVOICES]
        first = f"; first: row {unreadable[0].row}, {unreadable[0].reason}" if unreadable else ""
        ilk = f"; ilki: satır {unreadable[0].row}, {unreadable[0].reason}" if unreadable else ""
        raise JobError(
            f"sheet '{layout.INVOICES}' has no invoice to report ({report.unlisted} rows "
            f"no longer listed, {len(unreadable)} unreadable{first})",
            f"'{layout.INVOICES}' sayfasında rapora girecek fatura yok ({report.unlisted} satır "
            f"'{NOT_LISTED}', {len(unreadable)} satır okunamadı{ilk})",
        )
    source = read_source(block)
    grid.progress("Özet yazılıyor…")
    used, chart, notes = write_report(grid, report, source, generated_at)
    return ReportResult(report, source, generated_at, used, chart, notes)


__all__ = [
    "BUCKETS",
    "DAYS_1_30",
    "DAYS_31_60",
    "DAYS_61_90",
    "DAYS_OVER_90",
    "NOT_DUE",
    "NO_DUE_DATE",
    "Collection",
    "Debtor",
    "GroupTotals",
    "Report",
    "ReportResult",
    "SkippedRow",
    "Source",
    "bucket_for",
    "build_report",
    "compute_report",
    "is_applied",
    "report_notes",
    "write_report",
]

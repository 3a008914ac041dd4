"""Laying the figures out on ``Özet``: one small function per section, one grid write.

The sheet, top to bottom: the title and where the figures come from; then per side
(``Alacaklar``, ``Borçlar``) the totals per type and currency, the aging per currency (amounts
and shares, with a chart of the shares beside it) and the top ten accounts; then the
collections made from this workbook and the notes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from ...workbook import layout
from ...workbook.cells import column_letter
from ...workbook.grid import BarChart, CellValue, ColumnFormat, Grid, TableFormat
from .figures import BUCKETS, NO_DUE_DATE, SIDE_OF_TYPE, SIDES, Report, SideAging, side_of
from .log import APPLIED_PREFIX, Collection, SkippedRow

TITLE = "KolayBi Özet Raporu"
SECTION_TOTALS = "Tür ve Para Birimine Göre Toplamlar"
SECTION_AGING = "Vade Analizi: kalan tutarlar"
SECTION_TOP = "En Çok Bakiyesi Olan 10 Cari (her para birimi için)"
SECTION_COLLECTIONS = "Bu Çalışma Kitabından Yapılan Tahsilatlar (gün ve kasa/banka)"
SECTION_NOTES = "Notlar"
SIDE_MEANING = {"Alacaklar": "size borçlu olunan", "Borçlar": "sizin borcunuz"}
CHART_TITLE = "Vade Analizi"
# The types of an account's open invoices, short enough for one cell.
SHORT_TYPE = {
    "Satış Faturası": "Satış",
    "Satış İade Faturası": "Satış İade",
    "Alış Faturası": "Alış",
    "Alış İade Faturası": "Alış İade",
    "Serbest Meslek Makbuzu": "SMM",
}
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
SHARE = layout.PERCENT_FORMAT  # the cell holds a fraction: 0.743 shows as %74,3
# One width per sheet column, whatever block uses it (A: labels and dates, D: names).
WIDTHS = (24.0, 17.0, 18.0, 36.0, 17.0, 17.0, 17.0)
OTHER_WIDTH = 15.0


# How Özet prints: each part on one page (see ``_Sheet.print_scale``).
POINTS_PER_CM = 72 / 2.54
CHART_GAP_PT = 8.0
TITLE_ROW_PT = 21.0
MIN_SCALE = 10  # Excel's smallest


@dataclass(frozen=True)
class Source:
    """Where the figures come from, as the Faturalar control strip says."""

    type_label: str
    refreshed_at: datetime | None
    refreshed_text: str  # the cell as written when it is not a date and time


def _width(column: int) -> float:
    return WIDTHS[column - 1] if column <= len(WIDTHS) else OTHER_WIDTH


def _formats(*number_formats: str | None) -> list[ColumnFormat]:
    return [ColumnFormat(fmt, _width(i)) for i, fmt in enumerate(number_formats, start=1)]


@dataclass
class _Sheet:
    """The rows of ``Özet`` as they are laid out, and the formats of their blocks."""

    rows: list[list[CellValue]] = field(default_factory=list)
    tables: list[TableFormat] = field(default_factory=list)
    titles: list[tuple[int, int]] = field(default_factory=list)  # not yet on a table
    labels: list[tuple[int, int]] = field(default_factory=list)
    breaks: list[int] = field(default_factory=list)  # rows that start a printed page

    def add(self, *values: CellValue) -> int:
        self.rows.append(list(values))
        return len(self.rows)

    def title(self, text: str, *, big: bool = True) -> int:
        """A section title after a blank row (a big title, or a bold label)."""
        if self.rows:
            self.add()
        row = self.add(text)
        (self.titles if big else self.labels).append((row, 1))
        return row

    def table(self, header_row: int, data_rows: int, columns: list[ColumnFormat]) -> None:
        self.tables.append(
            TableFormat(
                header_row=header_row,
                columns=columns,
                data_rows=data_rows,
                freeze=False,
                autofilter=False,
                spare_rows=0,
                title_cells=list(self.titles),
                label_cells=list(self.labels),
            )
        )
        self.titles.clear()
        self.labels.clear()

    @property
    def width(self) -> int:
        return max(len(r) for r in self.rows)

    def row_height(self, row: int) -> float:
        """The printed height of a row: table headers are two lines, big titles 16 pt."""
        if any(t.header_row == row for t in self.tables):
            return 2 * layout.ROW_HEIGHT_PT
        if any(cell[0] == row for t in self.tables for cell in t.title_cells):
            return TITLE_ROW_PT
        return layout.ROW_HEIGHT_PT

    def print_scale(self, chart_cm: float) -> int:
        """The size (percent) that prints each part (between page breaks) on one page, as
        wide as the widest block and the charts beside it."""
        width = sum(layout.column_width_pt(_width(c)) for c in range(1, self.width + 1))
        width += chart_cm * POINTS_PER_CM + CHART_GAP_PT if chart_cm else 0
        starts = [1, *self.breaks, len(self.rows) + 1]
        tallest = max(
            sum(self.row_height(r) for r in range(top, bottom))
            for top, bottom in itertools.pairwise(starts)
        )
        fits = min(layout.PRINTABLE_WIDTH_PT / width, layout.PRINTABLE_HEIGHT_PT / tallest)
        return max(MIN_SCALE, min(100, int(fits * 100)))


def _value_text(value: str) -> str:
    return value if value else "—"


def _info(sheet: _Sheet, report: Report, source: Source, generated_at: datetime) -> None:
    sheet.add(TITLE)
    sheet.titles.append((1, 1))
    sheet.add()
    header = sheet.add(*INFO_HEADERS)
    source_text = f"{layout.INVOICES} sayfası"
    if source.type_label:
        source_text += f" – {source.type_label}"
    sheet.add(
        report.as_of,
        source.refreshed_at or _value_text(source.refreshed_text),
        generated_at,
        source_text,
    )
    sheet.table(header, 1, _formats(DATE, DATETIME, DATETIME_PADDED, TEXT))


def _side_heading(sheet: _Sheet, report: Report, side: str) -> None:
    types = [t for t in report.types if side_of(t) == side]
    named = ", ".join(t for t in types if t)
    sheet.title(f"{side} ({SIDE_MEANING[side]})" + (f": {named}" if named else ""))


def _totals(sheet: _Sheet, report: Report, side: str) -> None:
    sheet.title(SECTION_TOTALS, big=False)
    header = sheet.add(*TOTALS_HEADERS)
    groups = report.side_groups(side)
    for g in groups:
        sheet.add(
            g.type or None,
            g.currency,
            g.invoices,
            g.grand_total,
            g.paid,
            g.remaining,
            g.open_invoices,
        )
    sheet.table(header, len(groups), _formats(TEXT, TEXT, COUNT, MONEY, MONEY, MONEY, COUNT))


def _fraction(share: Decimal) -> Decimal:
    return share / 100


def _aging(sheet: _Sheet, report: Report, side: str) -> BarChart:
    """Buckets down, one amount and one share column per currency; a chart of the shares."""
    agings: list[SideAging] = report.side_aging(side)
    title_row = sheet.title(f"{SECTION_AGING} ({report.as_of:%d.%m.%Y} itibarıyla)", big=False)
    n = len(agings)
    currencies = [a.currency for a in agings]
    header = sheet.add(AGING_LABEL_HEADER, *currencies, *(f"{c} %" for c in currencies))
    for bucket in BUCKETS:
        sheet.add(
            bucket,
            *(a.aging[bucket] for a in agings),
            *(_fraction(a.share(bucket)) for a in agings),
        )
    last_bucket = len(sheet.rows)
    total_row = sheet.add(
        TOTAL_LABEL,
        *(a.outstanding for a in agings),
        *(Decimal(1 if a.outstanding > 0 else 0) for a in agings),
    )
    sheet.labels.append((total_row, 1))  # the total row's label in bold
    sheet.table(header, len(BUCKETS) + 1, _formats(TEXT, *([MONEY] * n), *([SHARE] * n)))
    return BarChart(
        title=f"{CHART_TITLE} – {side}",
        categories=(header + 1, 1, last_bucket, 1),
        values=(header, 2 + n, last_bucket, 1 + 2 * n),
        anchor=f"A{title_row}",  # moved right of the widest block once it is known
        y_title="Kalan tutarın payı",
        x_title="Vade dilimi",
        # Large enough to read the bucket labels and the legend without zooming.
        width_cm=13.0,
        height_cm=8.0,
        y_max=1.0,
        y_number_format="%0",
        replaces=(CHART_TITLE,),  # the one chart of earlier versions
    )


def _top(sheet: _Sheet, report: Report, side: str) -> None:
    sheet.title(SECTION_TOP, big=False)
    header = sheet.add(*TOP_HEADERS)
    debtors = [d for d in report.debtors if d.side == side]
    for d in debtors:
        types = ", ".join(SHORT_TYPE.get(t, t) for t in d.types) or None
        sheet.add(types, d.currency, d.rank, d.name, d.tax_id, d.remaining, d.invoices)
    sheet.table(header, len(debtors), _formats(TEXT, TEXT, RANK, TEXT, TEXT, MONEY, COUNT))


def _collections(sheet: _Sheet, collections: Sequence[Collection]) -> None:
    sheet.title(SECTION_COLLECTIONS)
    if not collections:
        sheet.add(NO_COLLECTIONS)
        return
    header = sheet.add(*COLLECTION_HEADERS)
    for c in collections:
        sheet.add(c.day, c.vault_id, c.currency, c.vault, c.count, c.amount)
    sheet.table(header, len(collections), _formats(DATE, ID, TEXT, TEXT, COUNT, MONEY))


def _notes(sheet: _Sheet, notes: Sequence[str]) -> None:
    sheet.title(SECTION_NOTES)
    for note in notes:
        sheet.add(note)
    # The titles after the last table ride on the last table's format.
    last = sheet.tables[-1]
    sheet.tables[-1] = replace(
        last,
        title_cells=[*last.title_cells, *sheet.titles],
        label_cells=[*last.label_cells, *sheet.labels],
    )
    sheet.titles.clear()
    sheet.labels.clear()


def report_notes(report: Report) -> list[str]:
    """The notes printed under the figures (Turkish)."""
    sides = "; ".join(
        f"{side}: " + ", ".join(t for t, s in SIDE_OF_TYPE.items() if s == side) for side in SIDES
    )
    notes = [
        "Tutarlar her fatura türü ve para birimi için ayrı verilir; kur çevrimi yapılmaz, "
        "farklı para birimleri ya da alacaklar ve borçlar birbirine eklenmez.",
        f"Taraflar: {sides}.",
        "Gecikme günü = Rapor Tarihi − Vade Tarihi. 0 ve altı 'Vadesi gelmemiş' sayılır; "
        f"vade tarihi boş olan faturalar '{NO_DUE_DATE}' dilimindedir.",
        "Vade analizi ve cari listesi yalnızca kalanı sıfırdan büyük faturaları içerir; "
        "ödenmiş faturalar yalnızca toplamlarda sayılır.",
        "Cariler VKN/TCKN'ye, VKN/TCKN yoksa adına göre birleştirilir.",
        "Grafik: her para birimindeki kalan tutarın vade dilimlerine dağılımı (%); tutarlar "
        f"'{SECTION_AGING}' tablosundadır.",
        f"Tahsilatlar '{layout.COLLECTION_LOG}' sayfasından: yalnızca Sonuç'u "
        f"'{APPLIED_PREFIX}' ile başlayan satırlar sayılır ({report.log_applied} satır); "
        f"diğer {report.log_not_applied} satır (Hata, Atlandı, Belirsiz…) sayılmadı.",
    ]
    notes.extend(_notes_when(report))
    return notes


def _notes_when(report: Report) -> list[str]:
    """The notes that apply only to some reports (undone, unreadable, left out rows)."""
    when = [
        (
            report.log_undone,
            f"'{layout.OUTCOME_UNDONE}' satırlarının geri aldığı {report.log_undone} tahsilat "
            "sayılmadı (KolayBi geri alınan tahsilatı siler; kendi gününden düşülür).",
        ),
        (report.log_problem, f"'{layout.COLLECTION_LOG}' okunamadı: {report.log_problem}."),
        (
            report.unlisted,
            f"Belge Durumu '{layout.NOT_LISTED}' olan {report.unlisted} satır (API artık "
            "listelemiyor, içine yazı yazıldığı için saklanıyor) hesaplara katılmadı.",
        ),
        (
            report.void,
            f"İptal edilmiş, reddedilmiş ya da taslak {report.void} belge alacak ya da borç "
            "sayılmadığı için hesaplara katılmadı.",
        ),
        (
            report.negative_remaining,
            f"{report.negative_remaining} faturanın kalanı sıfırın altında (fazla ödeme): "
            "toplamlarda var, vade analizinde yok.",
        ),
    ]
    notes = [text for applies, text in when if applies]
    if report.skipped:
        notes.append(_skipped_note(report.skipped))
    return notes


def _skipped_note(skipped: Sequence[SkippedRow]) -> str:
    listed = "; ".join(f"{s.sheet} satır {s.row}: {s.reason}" for s in skipped[:10])
    more = f" … ve {len(skipped) - 10} satır daha" if len(skipped) > 10 else ""
    return f"Okunamayan {len(skipped)} satır katılmadı: {listed}{more}."


def layout_report(
    report: Report, source: Source, generated_at: datetime
) -> tuple[_Sheet, list[BarChart], list[str]]:
    """The sheet's rows and formats, the charts (anchored) and the notes."""
    sheet = _Sheet()
    _info(sheet, report, source, generated_at)
    charts = []
    for index, side in enumerate(report.sides):
        if index:  # each side on a page of its own
            sheet.breaks.append(len(sheet.rows) + 2)
        _side_heading(sheet, report, side)
        _totals(sheet, report, side)
        charts.append(_aging(sheet, report, side))
        _top(sheet, report, side)
    _collections(sheet, report.collections)
    notes = report_notes(report)
    _notes(sheet, notes)
    # Right next to the widest block, level with the aging table each chart plots; a chart
    # of a side this report no longer has goes.
    right = column_letter(sheet.width + 1)
    gone = tuple(f"{CHART_TITLE} – {s}" for s in SIDES if s not in report.sides)
    charts = [replace(c, anchor=right + c.anchor[1:], replaces=c.replaces + gone) for c in charts]
    return sheet, charts, notes


def write_report(
    grid: Grid, report: Report, source: Source, generated_at: datetime
) -> tuple[int, list[BarChart], list[str]]:
    """Lay the report out on ``Özet``; returns the rows used, the charts and the notes."""
    sheet, charts, notes = layout_report(report, source, generated_at)
    width = sheet.width
    block = [r + [None] * (width - len(r)) for r in sheet.rows]
    grid.ensure_sheet(layout.SUMMARY)
    old = grid.read(layout.SUMMARY)
    old_rows, old_width = len(old), max((len(r) for r in old), default=0)
    grid.write(layout.SUMMARY, 1, 1, block)
    if old_rows > len(block):
        grid.clear(layout.SUMMARY, len(block) + 1, 1, old_rows, max(width, old_width))
    if old_width > width:
        grid.clear(layout.SUMMARY, 1, width + 1, len(block), old_width)
    scale = sheet.print_scale(max((c.width_cm for c in charts), default=0.0))
    for fmt in sheet.tables:
        grid.format_table(layout.SUMMARY, replace(fmt, page_breaks=sheet.breaks, print_scale=scale))
    for chart in charts:
        grid.add_bar_chart(layout.SUMMARY, chart)
    return len(block), charts, notes

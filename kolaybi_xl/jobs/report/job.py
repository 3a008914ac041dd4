"""The report job: read ``Faturalar`` and ``Tahsilat Günlüğü``, compute, write ``Özet``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ...workbook import layout
from ...workbook.cells import CellError, cell_text, is_blank, parse_datetime, tr_amount
from ...workbook.grid import BarChart, Grid
from ..errors import JobError
from ..table import parse_invoice_table
from .figures import Debtor, GroupTotals, Report, compute_report
from .log import Collection, SkippedRow
from .sheet import Source, write_report


@dataclass
class ReportResult:
    """The figures (``report``) and what was written (``rows``, ``charts``)."""

    report: Report
    source: Source
    generated_at: datetime
    rows: int  # rows used on Özet
    charts: list[BarChart]
    notes: list[str]

    @property
    def chart(self) -> BarChart | None:
        """The first chart (receivables' aging when there are receivables)."""
        return self.charts[0] if self.charts else None

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
            text += f"; '{layout.NOT_LISTED}' olan {r.unlisted} satır katılmadı"
        if r.skipped:
            text += f"; okunamayan {len(r.skipped)} satır katılmadı (Özet'teki notlara bakın)"
        return text

    def __str__(self) -> str:
        return self.summary_en()


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


def _nothing_to_report(report: Report) -> JobError:
    unreadable = [s for s in report.skipped if s.sheet == layout.INVOICES]
    first = f"; first: row {unreadable[0].row}, {unreadable[0].reason}" if unreadable else ""
    ilk = f"; ilki: satır {unreadable[0].row}, {unreadable[0].reason}" if unreadable else ""
    return JobError(
        f"sheet '{layout.INVOICES}' has no invoice to report ({report.unlisted} rows "
        f"no longer listed, {len(unreadable)} unreadable{first})",
        f"'{layout.INVOICES}' sayfasında rapora girecek fatura yok ({report.unlisted} satır "
        f"'{layout.NOT_LISTED}', {len(unreadable)} satır okunamadı{ilk})",
    )


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
    table = parse_invoice_table(block)
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
        raise _nothing_to_report(report)
    source = read_source(block)
    grid.progress("Özet yazılıyor…")
    used, charts, notes = write_report(grid, report, source, generated_at)
    return ReportResult(report, source, generated_at, used, charts, notes)

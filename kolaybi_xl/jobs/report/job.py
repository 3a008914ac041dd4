"""The report job: read ``Faturalar`` and ``Tahsilat Günlüğü``, compute, write ``Özet``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ...i18n import Lang, amount, day, ngettext, number
from ...workbook import layout
from ...workbook.cells import CellError, cell_text, is_blank, parse_datetime
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

    def _remaining(self, lang: Lang | None) -> str:
        several_types = len(self.report.types) > 1
        parts = []
        for g in self.report.groups:
            label = f"{g.currency} {amount(g.remaining, lang=lang)}"
            parts.append(f"{g.type} {label}" if several_types and g.type else label)
        return ", ".join(parts)

    def summary(self, lang: Lang | None = None) -> str:
        """One line: the command line's language, or Turkish for Excel."""
        r = self.report
        text = ngettext(
            "Özet built as of {day}: {n} invoice; remaining {remaining}; {days} collection "
            "day/vault rows",
            "Özet built as of {day}: {n} invoices; remaining {remaining}; {days} collection "
            "day/vault rows",
            r.invoices,
            lang,
        ).format(
            day=day(r.as_of, lang),
            n=number(r.invoices, lang),
            remaining=self._remaining(lang),
            days=len(r.collections),
        )
        if r.unlisted:
            text += "; " + ngettext(
                "{n} row no longer listed left out",
                "{n} rows no longer listed left out",
                r.unlisted,
                lang,
            ).format(n=r.unlisted)
        if r.skipped:
            text += "; " + ngettext(
                "{n} unreadable row left out (see the notes on Özet)",
                "{n} unreadable rows left out (see the notes on Özet)",
                len(r.skipped),
                lang,
            ).format(n=len(r.skipped))
        return text

    def __str__(self) -> str:
        return self.summary()


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
    if unreadable:
        return JobError(
            "sheet '{sheet}' has no invoice to report ({unlisted} rows marked '{label}', "
            "{unreadable} unreadable; first: row {row}, {reason})",
            sheet=layout.INVOICES,
            unlisted=report.unlisted,
            label=layout.NOT_LISTED,
            unreadable=len(unreadable),
            row=unreadable[0].row,
            reason=unreadable[0].reason,
        )
    return JobError(
        "sheet '{sheet}' has no invoice to report ({unlisted} rows marked '{label}')",
        sheet=layout.INVOICES,
        unlisted=report.unlisted,
        label=layout.NOT_LISTED,
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
            "the workbook has no '{sheet}' sheet: fetch the invoices first "
            "(Faturaları Getir, or kolaybi-xl fetch WORKBOOK)",
            sheet=layout.INVOICES,
        )
    grid.progress("Özet hazırlanıyor…")
    block = grid.read(layout.INVOICES)
    table = parse_invoice_table(block)
    if table is None or all(all(is_blank(v) for v in row) for row in table.rows):
        raise JobError(
            "sheet '{sheet}' holds no invoices: fetch them first "
            "(Faturaları Getir, or kolaybi-xl fetch WORKBOOK)",
            sheet=layout.INVOICES,
        )
    log = grid.read(layout.COLLECTION_LOG) if layout.COLLECTION_LOG in names else []
    report = compute_report(table, log, as_of=as_of)
    if not report.groups:
        raise _nothing_to_report(report)
    source = read_source(block)
    grid.progress("Özet yazılıyor…")
    used, charts, notes = write_report(grid, report, source, generated_at)
    return ReportResult(report, source, generated_at, used, charts, notes)

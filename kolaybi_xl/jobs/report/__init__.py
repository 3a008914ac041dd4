"""``Özet``: the finance report built from the invoice table and the collection log.

- ``figures``: pure computation (``Decimal`` throughout, every amount quantized to kuruş as it
  is read, sums exact) — ``compute_report`` turns the table's rows into a ``Report``;
- ``log``: the collections, read from ``Tahsilat Günlüğü`` into a ``LogSummary``;
- ``sheet``: lays a ``Report`` out on ``Özet`` (one small function per section);
- ``job``: ``build_report`` reads the workbook, does both and returns the figures with a
  one-line summary for the command line and for Excel.

Rules (they are also stated on the sheet):

- Figures are kept per invoice type (``Tür``) and currency, in two sides: ``Alacaklar``
  (sales, purchase returns, self-employment receipts) and ``Borçlar`` (purchases, sales
  returns). Nothing of one side, type or currency is added to another; no exchange rates.
- Rows whose ``Belge Durumu`` (or, in older workbooks, ``Ödeme Durumu``) is ``Listede yok``
  (no longer listed by the API, kept because a person typed in them) are left out of every
  figure; the sheet says how many. So are cancelled, rejected and draft documents.
- Aging uses only invoices with something left (``Kalan`` > 0), per side and currency (the
  side's types added up). Days overdue are ``as_of - Vade Tarihi``: 0 or less is not yet due,
  then 1–30, 31–60, 61–90, over 90 days; invoices without a due date are ``Vadesiz``.
- Top ten accounts (``Cari``) per side and currency by what is left (ties: table order); an
  account is its VKN/TCKN, or its name when it has none; the name shown is the one on most of
  its open invoices (on a tie, the latest row's).
- Collections: only ``Tahsilat Günlüğü`` rows whose ``Sonuç`` starts with ``Tamamlandı``,
  per day, vault and currency.
- ``Ödenen`` is read when the table has it, otherwise it is ``Genel Toplam - Kalan``.
- Rows that cannot be read (an amount that is not a number, an unreadable date, a repeated
  ``Belge ID``) are left out and listed in the notes; nothing is guessed.
"""

from ...workbook.cells import column_letter
from .figures import (
    BUCKETS,
    DAYS_1_30,
    DAYS_31_60,
    DAYS_61_90,
    DAYS_OVER_90,
    NO_DUE_DATE,
    NOT_DUE,
    PAYABLES,
    RECEIVABLES,
    Debtor,
    GroupTotals,
    Report,
    SideAging,
    bucket_for,
    compute_report,
    side_of,
)
from .job import ReportResult, build_report, read_source
from .log import Collection, LogSummary, SkippedRow, is_applied, read_log
from .sheet import Source, report_notes, write_report

__all__ = [
    "BUCKETS",
    "DAYS_1_30",
    "DAYS_31_60",
    "DAYS_61_90",
    "DAYS_OVER_90",
    "NOT_DUE",
    "NO_DUE_DATE",
    "PAYABLES",
    "RECEIVABLES",
    "Collection",
    "Debtor",
    "GroupTotals",
    "LogSummary",
    "Report",
    "ReportResult",
    "SideAging",
    "SkippedRow",
    "Source",
    "bucket_for",
    "build_report",
    "column_letter",
    "compute_report",
    "is_applied",
    "read_log",
    "read_source",
    "report_notes",
    "side_of",
    "write_report",
]

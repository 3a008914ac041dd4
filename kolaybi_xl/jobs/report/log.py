"""The collections of the report, read from ``Tahsilat Günlüğü`` (pure: rows in, a record out).

Only rows whose ``Sonuç`` starts with ``Tamamlandı`` (the collect job's word for an applied
collection, also after a retry or a reconciliation proved it went through) are counted, per
day, vault and currency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ...workbook import layout
from ...workbook.cells import (
    CellError,
    cell_text,
    find_header_row,
    header_positions,
    is_blank,
    parse_datetime,
    parse_decimal,
    parse_int,
)
from .order import currency_order, fold

LOG_RESULT_HEADER = "Sonuç"
LOG_REQUIRED = ("Zaman", "Tutar", "Para Birimi", LOG_RESULT_HEADER)
APPLIED_PREFIX = layout.OUTCOME_DONE  # "Tamamlandı"
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class SkippedRow:
    sheet: str
    row: int  # sheet row
    reason: str  # Turkish


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
class LogSummary:
    """What the log says: the collections, and what could not be counted."""

    collections: tuple[Collection, ...] = ()
    skipped: tuple[SkippedRow, ...] = ()
    applied: int = 0  # rows counted
    not_applied: int = 0  # rows whose result is not "Tamamlandı…"
    problem: str | None = None  # the log could not be read at all (Turkish)


def is_applied(result: Any) -> bool:
    """A ``Tahsilat Günlüğü`` result that means the money was collected."""
    return cell_text(result).startswith(APPLIED_PREFIX)


@dataclass(frozen=True)
class _Entry:
    day: date
    vault_id: int | None
    vault: str
    currency: str
    amount: Decimal

    @property
    def vault_key(self) -> str:
        return f"id:{self.vault_id}" if self.vault_id is not None else f"ad:{fold(self.vault)}"


def _entry(get: Any) -> _Entry:
    at = parse_datetime(get("Zaman"), "Zaman")
    if at is None:
        raise CellError("Zaman boş")
    amount = parse_decimal(get("Tutar"), "Tutar")
    if amount is None:
        raise CellError("Tutar boş")
    currency = cell_text(get("Para Birimi")).upper()
    if not currency:
        raise CellError("Para Birimi boş")
    vault_id = parse_int(get("Kasa ID"), "Kasa ID")
    vault = cell_text(get("Kasa/Banka"))
    if vault_id is None and not vault:
        raise CellError("Kasa boş")
    return _Entry(at.date(), vault_id, vault, currency, amount)


def _missing_columns(positions: dict[str, int]) -> list[str]:
    missing = [h for h in LOG_REQUIRED if h not in positions]
    if "Kasa ID" not in positions and "Kasa/Banka" not in positions:
        missing.append("Kasa ID ya da Kasa/Banka")
    return missing


def read_log(block: Sequence[Sequence[Any]]) -> LogSummary:
    """The collections in the rows of ``Tahsilat Günlüğü`` as read."""
    if not any(any(not is_blank(v) for v in row) for row in block):
        return LogSummary()
    found = find_header_row(block, LOG_RESULT_HEADER, layout.HEADER_SEARCH_ROWS)
    if found is None:
        return LogSummary(problem=f"'{LOG_RESULT_HEADER}' başlığı bulunamadı")
    positions = header_positions(block[found])
    missing = _missing_columns(positions)
    if missing:
        return LogSummary(problem="eksik sütun(lar): " + ", ".join(f"'{m}'" for m in missing))

    entries: list[_Entry] = []
    skipped: list[SkippedRow] = []
    not_applied = 0
    for offset, row in enumerate(block[found + 1 :]):
        if all(is_blank(v) for v in row):
            continue

        def get(header: str, row: Sequence[Any] = row) -> Any:
            index = positions.get(header)
            return row[index] if index is not None and index < len(row) else None

        if not is_applied(get(LOG_RESULT_HEADER)):
            not_applied += 1
            continue
        try:
            entries.append(_entry(get))
        except CellError as exc:
            skipped.append(SkippedRow(layout.COLLECTION_LOG, found + 2 + offset, exc.message))
    return LogSummary(_per_day(entries), tuple(skipped), len(entries), not_applied)


def _per_day(entries: Sequence[_Entry]) -> tuple[Collection, ...]:
    """Entries added up per day, vault and currency; by day, then vault id (named last)."""
    days: dict[tuple[date, str, str], list[_Entry]] = {}
    for entry in entries:
        days.setdefault((entry.day, entry.vault_key, entry.currency), []).append(entry)

    def collection(key: tuple[date, str, str]) -> Collection:
        mine = days[key]
        vault = next((e.vault for e in mine if e.vault), "")
        amount = sum((e.amount.quantize(_CENT, rounding=ROUND_HALF_UP) for e in mine), Decimal(0))
        return Collection(key[0], mine[0].vault_id, vault, key[2], len(mine), amount)

    collections = [collection(key) for key in days]
    collections.sort(
        key=lambda c: (
            c.day,
            c.vault_id if c.vault_id is not None else 1 << 62,
            fold(c.vault),
            currency_order(c.currency),
        )
    )
    return tuple(collections)

"""The collections of the report, read from ``Tahsilat Günlüğü`` (pure: rows in, a record out).

Only rows whose ``Sonuç`` starts with ``Tamamlandı`` (the collect job's word for an applied
collection, also after a retry or a reconciliation proved it went through) are counted, per
day, vault and currency — less the collections an undo took back: a ``Geri alındı`` row of an
invoice removes that invoice's collections logged above it, the latest first, until what it
took back (its negative ``Tutar``) is accounted for (all of them when it cannot be read:
KolayBi may take back every collection of the invoice). KolayBi deletes an undone collection,
so it is removed from its own day, not subtracted on the day of the undo.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
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
UNDONE_PREFIX = layout.OUTCOME_UNDONE  # "Geri alındı"
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
    not_applied: int = 0  # rows whose result is neither "Tamamlandı…" nor "Geri alındı…"
    undone: int = 0  # collections left out: taken back by a "Geri alındı" row
    problem: str | None = None  # the log could not be read at all (Turkish)


def is_applied(result: Any) -> bool:
    """A ``Tahsilat Günlüğü`` result that means the money was collected."""
    return cell_text(result).startswith(APPLIED_PREFIX)


def is_undone(result: Any) -> bool:
    """A ``Tahsilat Günlüğü`` result that means an invoice's collections were taken back."""
    return cell_text(result).startswith(UNDONE_PREFIX)


@dataclass(frozen=True)
class _Entry:
    day: date
    vault_id: int | None
    vault: str
    currency: str
    amount: Decimal
    document_id: int | None = None
    order: int = 0  # the row's place in the log (appended in time order)

    @property
    def vault_key(self) -> str:
        return f"id:{self.vault_id}" if self.vault_id is not None else f"ad:{fold(self.vault)}"


@dataclass(frozen=True)
class _Undo:
    document_id: int
    taken_back: Decimal | None  # None: unreadable, so every earlier collection
    order: int


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


def _document_id(get: Any) -> int | None:
    try:
        return parse_int(get("Belge ID"), "Belge ID")
    except CellError:
        return None


def _undo(get: Any, order: int) -> _Undo | None:
    document_id = _document_id(get)
    if document_id is None:
        return None
    try:
        amount = parse_decimal(get("Tutar"), "Tutar")
    except CellError:
        amount = None
    return _Undo(document_id, None if amount is None else abs(amount), order)


def _less_undone(entries: list[_Entry], undos: Sequence[_Undo]) -> tuple[list[_Entry], int]:
    """The collections no undo took back, and how many were taken back."""
    live = list(entries)
    removed = 0
    for undo in undos:  # log order
        mine = [e for e in live if e.document_id == undo.document_id and e.order < undo.order]
        left = undo.taken_back
        for entry in sorted(mine, key=lambda e: e.order, reverse=True):
            if left is not None and left <= _CENT / 2:
                break
            live.remove(entry)
            removed += 1
            if left is not None:
                left -= entry.amount
    return live, removed


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

    rows = _LogRows()
    for offset, row in enumerate(block[found + 1 :]):
        if not all(is_blank(v) for v in row):
            rows.take(_getter(positions, row), offset, found + 2 + offset)
    live, undone = _less_undone(rows.entries, rows.undos)
    return LogSummary(
        _per_day(live), tuple(rows.skipped), len(rows.entries), rows.not_applied, undone=undone
    )


def _getter(positions: dict[str, int], row: Sequence[Any]) -> Callable[[str], Any]:
    """The row's cell under a header (None when the row is shorter or the header missing)."""

    def get(header: str) -> Any:
        index = positions.get(header)
        return row[index] if index is not None and index < len(row) else None

    return get


@dataclass
class _LogRows:
    """The log's rows sorted as they are read: collections, undos, unreadable rows, and how
    many say something else (Hata, Atlandı, Belirsiz…)."""

    entries: list[_Entry] = field(default_factory=list)
    undos: list[_Undo] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    not_applied: int = 0

    def take(self, get: Callable[[str], Any], offset: int, sheet_row: int) -> None:
        if is_undone(get(LOG_RESULT_HEADER)):
            undo = _undo(get, offset)
            if undo is None:
                self.skipped.append(SkippedRow(layout.COLLECTION_LOG, sheet_row, "Belge ID boş"))
            else:
                self.undos.append(undo)
        elif not is_applied(get(LOG_RESULT_HEADER)):
            self.not_applied += 1
        else:
            self._take_entry(get, offset, sheet_row)

    def _take_entry(self, get: Callable[[str], Any], offset: int, sheet_row: int) -> None:
        try:
            entry = _entry(get)
        except CellError as exc:
            self.skipped.append(SkippedRow(layout.COLLECTION_LOG, sheet_row, exc.message))
            return
        self.entries.append(replace(entry, document_id=_document_id(get), order=offset))


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

"""Step 4: write outcomes, refreshed amounts and log rows into the workbook."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from ...workbook import layout
from ...workbook.cell_values import cell_value
from ...workbook.cells import cell_text
from ...workbook.grid import Grid, is_live, layout_table
from ..journal import Attempt
from ..status import RowStatus
from ..table import InvoiceTable, read_invoice_table
from .reading import _is_marked, _is_undo_marked, _row_doc_id
from .records import LOG_ROWS_SPARE, RowOutcome, _parse_time

_WRITE_COLUMNS = (
    (layout.C_OUTCOME.header, "outcome"),
    (layout.C_COLLECTED_AT.header, "collected_at"),
    (layout.C_PAID.header, "paid"),
    (layout.C_REMAINING.header, "remaining"),
    (layout.C_PAYMENT_STATUS.header, "payment_status"),
)


def _refuse_merged_outcomes(grid: Grid, table: InvoiceTable, indexes: Iterable[int]) -> None:
    """A row whose outcome cells lie inside merged cells could not take its outcome: the save
    after the sends would refuse it (the money moved, the outcome only in the journal). The
    grid's error now instead, before anything is sent. (Excel's grid has no such check.)"""
    refuse = getattr(grid, "refuse_merged", None)
    if refuse is None:
        return
    columns = [c for header, _ in _WRITE_COLUMNS if (c := table.col(header)) is not None]
    refuse(layout.INVOICES, [(table.sheet_row(i), c) for i in set(indexes) for c in columns])


def _target_rows(table: InvoiceTable, original: InvoiceTable, outcome: RowOutcome) -> list[int]:
    """Where an outcome goes in the table as it is now (rows may have moved in Excel)."""
    if _still_in_place(table, original, outcome):
        return [outcome.index]
    if outcome.document_id is None:
        return []
    marked = _is_undo_marked if outcome.undo else _is_marked
    return [
        i
        for i in range(len(table.rows))
        if _row_doc_id(table, i) == outcome.document_id and marked(table, i)
    ]


def _still_in_place(table: InvoiceTable, original: InvoiceTable, outcome: RowOutcome) -> bool:
    """Whether the outcome's row is still where it was read: the same document there, or — a
    row without a usable id — the same id text and mark as when the run read it."""
    index = outcome.index
    if index >= len(table.rows):
        return False
    if outcome.document_id is not None:
        return _row_doc_id(table, index) == outcome.document_id
    if index >= len(original.rows):
        return False
    return all(
        cell_text(table.get(index, header)) == cell_text(original.get(index, header))
        for header in (layout.ID_HEADER, layout.C_MARK.header)
    )


def _write_rows(grid: Grid, original: InvoiceTable, outcomes: Sequence[RowOutcome]) -> int:
    """Write outcome cells.

    A workbook file holds what was read at the start: its outcome cells are written row by
    row, only in touched rows. On a grid someone may edit meanwhile (Excel: rows may have
    moved during the run) the table is read again, and each column is written as one block
    over the affected rows (a constant number of calls into Excel)."""
    live = is_live(grid)
    table = (read_invoice_table(grid) or original) if live else original
    updates = _updates(table, original, outcomes)
    if live:
        _write_columns(grid, table, updates)
    else:
        _write_row_by_row(grid, table, updates)
    return len(updates)


def _updates(
    table: InvoiceTable, original: InvoiceTable, outcomes: Sequence[RowOutcome]
) -> dict[int, RowOutcome]:
    """Row index -> the outcome to write there; later outcomes win, unchanged rows are left."""
    updates: dict[int, RowOutcome] = {}
    for outcome in outcomes:
        if outcome.status == RowStatus.UNCHANGED:
            continue
        for index in _target_rows(table, original, outcome):
            updates[index] = outcome
    return updates


def _write_row_by_row(grid: Grid, table: InvoiceTable, updates: dict[int, RowOutcome]) -> None:
    """Each touched row's outcome cells, one write per run of adjacent columns (the outcome
    columns sit side by side)."""
    columns = [(table.col(header), attribute) for header, attribute in _WRITE_COLUMNS]
    for index in sorted(updates):
        outcome = updates[index]
        cells = {
            column: value
            for column, attribute in columns
            if column is not None and (value := getattr(outcome, attribute)) is not None
        }
        for first, last in _adjacent_runs(cells):
            block = [[cells[c] for c in range(first, last + 1)]]
            grid.write(layout.INVOICES, table.sheet_row(index), first, block)


def _adjacent_runs(columns: Iterable[int]) -> list[tuple[int, int]]:
    """Runs of adjacent column numbers as (first, last), in order."""
    runs: list[tuple[int, int]] = []
    for column in sorted(columns):
        if runs and runs[-1][1] == column - 1:
            runs[-1] = (runs[-1][0], column)
        else:
            runs.append((column, column))
    return runs


def _write_columns(grid: Grid, table: InvoiceTable, updates: dict[int, RowOutcome]) -> None:
    """Each outcome column as one block from the lowest to the highest touched row."""
    for header, attribute in _WRITE_COLUMNS:
        column = table.col(header)
        if column is None:
            continue
        values = {
            index: getattr(outcome, attribute)
            for index, outcome in updates.items()
            if getattr(outcome, attribute) is not None
        }
        if not values:
            continue
        low, high = min(values), max(values)
        block = [
            [values[i] if i in values else table.rows[i][column - 1]] for i in range(low, high + 1)
        ]
        grid.write(layout.INVOICES, table.sheet_row(low), column, block)


def _log_rows(attempts: Iterable[Attempt], times: dict[str, datetime]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for attempt in attempts:
        if attempt.result is None:
            continue
        at = times.get(attempt.attempt) or _parse_time(attempt.outcome_at or attempt.at)
        if attempt.is_undo:
            rows.append(_undo_log_row(attempt, at))
            continue
        rows.append(
            [
                at,
                attempt.document_id,
                attempt.serial_no,
                attempt.party,
                attempt.vault_id,
                attempt.vault_name,
                attempt.amount,
                attempt.currency,
                _log_word(attempt, attempt.result),
                attempt.detail,
                attempt.remaining_after,
            ]
        )
    return rows


def _undo_log_row(attempt: Attempt, at: datetime | None) -> list[Any]:
    """An undo's log row: a negative amount (what was taken back: the rise of the remaining
    amount, else what the invoice had collected) and ``Geri alındı`` when applied; no vault
    (KolayBi takes back the invoice's collections from whichever vaults they went to)."""
    amount = attempt.amount
    if attempt.result == RowStatus.APPLIED and attempt.remaining_after is not None:
        amount = attempt.remaining_after - attempt.remaining_before
    return [
        at,
        attempt.document_id,
        attempt.serial_no,
        attempt.party,
        None,
        None,
        -amount,
        attempt.currency,
        _log_word(attempt, attempt.result) if attempt.result is not None else None,
        attempt.detail,
        attempt.remaining_after,
    ]


def _log_word(attempt: Attempt, result: RowStatus) -> str:
    """The log row's result word: the status's own (``Geri alındı`` for an applied undo),
    except a collection's ``elsewhere`` that left the invoice open: its row says ``Hata``."""
    if (
        not attempt.is_undo
        and result == RowStatus.ELSEWHERE
        and attempt.detail.startswith(layout.OUTCOME_ERROR)
    ):
        return layout.OUTCOME_ERROR
    return result.word(undo=attempt.is_undo)


def _append_log(grid: Grid, rows: list[list[Any]], recovered: int = 0) -> None:
    """Append ``rows`` to the log; the first ``recovered`` are earlier runs' attempts, which a
    run killed after saving (before the journal noted it) may have logged already: those
    already there are not logged twice."""
    if not rows:
        return
    created = grid.ensure_sheet(layout.COLLECTION_LOG)
    block = [] if created else grid.read(layout.COLLECTION_LOG)
    if recovered and block:
        rows = [r for r in rows[:recovered] if not _logged(block, r)] + rows[recovered:]
        if not rows:
            return
    header = [c.header for c in layout.LOG_COLUMNS]
    if not block:
        grid.write(layout.COLLECTION_LOG, layout.LOG_HEADER_ROW, 1, [header])
        used = layout.LOG_HEADER_ROW
    else:
        used = len(block)
    grid.write(layout.COLLECTION_LOG, used + 1, 1, rows)
    grid.format_table(
        layout.COLLECTION_LOG,
        layout_table(
            layout.LOG_COLUMNS,
            layout.LOG_HEADER_ROW,
            used + len(rows) - layout.LOG_HEADER_ROW,
            spare_rows=LOG_ROWS_SPARE,
        ),
    )


# Log columns that tell one attempt's row: time, invoice, vault, amount, currency, result.
_TIME, _DOCUMENT, _VAULT, _AMOUNT, _CURRENCY, _RESULT = 0, 1, 4, 6, 7, 8
_SAME_MOMENT = timedelta(seconds=2)  # the journal's time of an outcome against the run's


def _logged(block: Sequence[Sequence[Any]], row: list[Any]) -> bool:
    """Whether the log already holds ``row``: the same invoice, vault, amount, currency and
    result at the same moment (one invoice is never in flight twice, so two attempts of it
    cannot end within seconds of each other)."""
    at = row[_TIME]
    if not isinstance(at, datetime):
        return False
    wanted = [cell_value(row[i]) for i in (_DOCUMENT, _VAULT, _AMOUNT, _CURRENCY, _RESULT)]
    for line in reversed(block):
        if len(line) <= _RESULT or not isinstance(line[_TIME], datetime):
            continue
        if abs(line[_TIME] - at) > _SAME_MOMENT:
            continue
        if [line[i] for i in (_DOCUMENT, _VAULT, _AMOUNT, _CURRENCY, _RESULT)] == wanted:
            return True
    return False


# -- the job ----------------------------------------------------------------------------------

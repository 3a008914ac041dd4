"""Step 0: settle earlier attempts and find which outcomes belong to this workbook."""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from ...workbook import layout
from ..identity import new_workbook_id
from ..journal import Attempt, Journal
from ..status import RowStatus
from ..table import InvoiceTable
from .reading import _is_marked, _is_undo_marked, _row_doc_id
from .records import (
    T_NOT_APPLIED,
    T_UNDO_NOT_APPLIED,
    T_UNKNOWN,
    RowOutcome,
    _parse_time,
    _payment_label,
    done_text,
    elsewhere_text,
    error_text,
    pending_text,
    undone_text,
)
from .settle import WAIT, _Settler, _Verdict

log = logging.getLogger(__name__)


# -- recovery ---------------------------------------------------------------------------------


def _record_verdict(journal: Journal, attempt: Attempt, verdict: _Verdict) -> bool:
    """Journal a verdict on an earlier attempt; True when it is settled now."""
    label = attempt.vault_name or f"Kasa {attempt.vault_id}"
    if verdict.result == RowStatus.APPLIED:
        if attempt.is_undo:
            text = undone_text(
                _taken_back(attempt, verdict.remaining),
                attempt.currency,
                verdict.remaining,
                verified=True,
            )
        else:
            text = done_text(
                attempt.amount, attempt.currency, label, verdict.remaining, verified=True
            )
        journal.outcome(
            attempt, RowStatus.APPLIED, text, verdict.remaining, answered=attempt.answered
        )
        return True
    if verdict.result == RowStatus.NOT_APPLIED:
        text = T_UNDO_NOT_APPLIED if attempt.is_undo else T_NOT_APPLIED
        journal.outcome(
            attempt, RowStatus.NOT_APPLIED, text, verdict.remaining, answered=attempt.answered
        )
        return True
    if verdict.result == RowStatus.ELSEWHERE:
        text = elsewhere_text(verdict.remaining, attempt.currency)
        journal.outcome(
            attempt, RowStatus.ELSEWHERE, text, verdict.remaining, answered=attempt.answered
        )
        return True
    if attempt.result is None:
        text = T_UNKNOWN if verdict.pending_until is None else pending_text(verdict.pending_until)
        journal.outcome(attempt, RowStatus.UNKNOWN, text, verdict.remaining, answered=False)
    return False


def _recover_pending(
    journal: Journal,
    key: str,
    settler: _Settler,
    *,
    progress: Callable[[int, float], None],
) -> tuple[int, dict[int, float | None]]:
    """Settle every attempt of the account without a final outcome, by the same rule as a
    run's own: one that got an answer is judged now; one without (a killed run's request, a
    timeout) is "applied" as soon as that is proven, otherwise judged only after its horizon —
    this run waits for that (``progress`` says how many and how long), unless told not to.

    Returns (how many were settled, document -> when it can be settled (None: only by a
    person) for those still open).
    """
    pending = journal.pending(key)
    if not pending:
        return 0, {}
    open_, unknown = _one_per_document(pending)
    settled = 0
    while open_:
        judged, later, halted = _judge_round(journal, settler, open_, unknown)
        settled += judged
        if halted or not later:
            break
        deadlines = [settler.deadline(a) for a in later]
        if settler.no_wait:
            _leave_pending(journal, later, deadlines, unknown)
            break
        left = max(deadlines) - settler.clock()
        progress(len(later), max(0.0, left))
        settler.waits.sleep(max(0.0, min(settler.waits.poll, min(deadlines) - settler.clock())))
        open_ = later
    return settled, unknown


def _one_per_document(
    pending: Sequence[Attempt],
) -> tuple[list[Attempt], dict[int, float | None]]:
    """The attempts to settle (one per document), and the documents with more than one open
    attempt: those are left unknown (for a person), never guessed at."""
    by_doc: dict[int, list[Attempt]] = {}
    for attempt in pending:
        by_doc.setdefault(attempt.document_id, []).append(attempt)
    open_: list[Attempt] = []
    unknown: dict[int, float | None] = {}
    for doc_id, attempts in by_doc.items():
        if len(attempts) > 1:
            log.warning(
                "document %s has %d unsettled attempts; left unknown", doc_id, len(attempts)
            )
            unknown[doc_id] = None
        else:
            open_.append(attempts[0])
    return open_, unknown


def _judge_round(
    journal: Journal,
    settler: _Settler,
    open_: Sequence[Attempt],
    unknown: dict[int, float | None],
) -> tuple[int, list[Attempt], bool]:
    """Judge each open attempt once: (how many were settled, those to judge again later,
    whether KolayBi could not be reached — then every open one is left unknown)."""
    settled = 0
    later: list[Attempt] = []
    for attempt in open_:
        verdict = settler.judge_now(attempt, answered=attempt.answered is True)
        if verdict.halt is not None:
            # The API is unreachable: leave the rest for later.
            unknown.update(dict.fromkeys((a.document_id for a in open_), None))
            return settled, later, True
        if verdict.result == WAIT:
            later.append(attempt)
        elif _record_verdict(journal, attempt, verdict):
            settled += 1
        else:
            unknown[attempt.document_id] = None
    return settled, later, False


def _leave_pending(
    journal: Journal,
    later: Sequence[Attempt],
    deadlines: Sequence[float],
    unknown: dict[int, float | None],
) -> None:
    """``--no-wait``: record the attempts still within their horizon as pending until then."""
    for attempt, deadline in zip(later, deadlines, strict=True):
        _record_verdict(journal, attempt, _Verdict(RowStatus.UNKNOWN, pending_until=deadline))
        unknown[attempt.document_id] = deadline


def _taken_back(attempt: Attempt, remaining_after: Decimal | None) -> Decimal | None:
    """What an applied undo took back: how much the invoice's remaining amount rose."""
    if remaining_after is None:
        return None
    return remaining_after - attempt.remaining_before


def _same_path(a: str, b: str) -> bool:
    if not a or not b:
        return False
    try:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))
    except (OSError, ValueError):
        return a == b


def _belongs(attempt: Attempt, workbook: str, workbook_id: str) -> bool:
    """Whether an attempt's outcome is this workbook's to write.

    Both carry an id: the same id, and the same path or the recorded file is gone (the
    workbook was moved or renamed). A copy (same id, the original still there) is not it.
    An attempt of an older version (no id): the same path.
    """
    if attempt.workbook_id and workbook_id:
        if attempt.workbook_id != workbook_id:
            return False
        return _same_path(attempt.workbook, workbook) or not Path(attempt.workbook).exists()
    return _same_path(attempt.workbook, workbook)


def _adopted_id(attempts: Iterable[Attempt], workbook: str) -> str:
    """The id to give a workbook that has none: the one its earlier attempts recorded (a run
    that was killed before it could save the new id), else a new one."""
    for attempt in reversed(list(attempts)):
        if attempt.workbook_id and _same_path(attempt.workbook, workbook):
            return attempt.workbook_id
    return new_workbook_id()


def _recovered_rows(
    table: InvoiceTable, attempts: Sequence[Attempt], workbook: str, workbook_id: str
) -> tuple[list[RowOutcome], list[Attempt], Counter[str]]:
    """Rows to receive earlier final outcomes of *this* workbook, those attempts, and how many
    outcomes wait for other workbooks (path -> count)."""
    if not attempts:  # the usual case: no scan of every row
        return [], [], Counter()
    # An attempt's outcome goes to the rows marked for its kind: a collection's to rows marked
    # to collect, an undo's to rows marked ``geri al``.
    marked_rows: dict[tuple[bool, int], list[int]] = {}
    for index in range(len(table.rows)):
        doc_id = _row_doc_id(table, index)
        if doc_id is None:
            continue
        if _is_marked(table, index):
            marked_rows.setdefault((False, doc_id), []).append(index)
        elif _is_undo_marked(table, index):
            marked_rows.setdefault((True, doc_id), []).append(index)
    rows: list[RowOutcome] = []
    taken: list[Attempt] = []
    elsewhere: Counter[str] = Counter()
    for attempt in attempts:  # journal order: a later attempt's outcome wins
        if not _belongs(attempt, workbook, workbook_id):
            elsewhere[attempt.workbook] += 1
            continue
        taken.append(attempt)
        for index in marked_rows.get((attempt.is_undo, attempt.document_id), []):
            rows.append(_outcome_from_attempt(table, index, attempt))
    return rows, taken, elsewhere


def _outcome_from_attempt(table: InvoiceTable, index: int, attempt: Attempt) -> RowOutcome:
    applied = attempt.result == RowStatus.APPLIED
    remaining = attempt.remaining_after
    paid = None
    if applied and remaining is not None and attempt.grand_total is not None:
        paid = attempt.grand_total - remaining
    text = attempt.detail or _recovered_text(attempt, applied=applied)
    return RowOutcome(
        index,
        table.sheet_row(index),
        attempt.document_id,
        text,
        _recovered_status(attempt, text),
        collected_at=_parse_time(attempt.outcome_at) if applied and not attempt.is_undo else None,
        paid=paid,
        remaining=remaining if applied else None,
        payment_status=_payment_label(paid, remaining) if applied else None,
        amount=attempt.amount,
        currency=attempt.currency,
        attempts=[attempt],
        recovered=True,
        undo=attempt.is_undo,
    )


def _recovered_text(attempt: Attempt, *, applied: bool) -> str:
    """The row's text for an earlier final outcome whose journal record carries none."""
    if not applied:
        return error_text("önceki deneme başarısız")
    remaining = attempt.remaining_after
    if attempt.is_undo:
        return undone_text(_taken_back(attempt, remaining), attempt.currency, remaining)
    label = attempt.vault_name or f"Kasa {attempt.vault_id}"
    return done_text(attempt.amount, attempt.currency, label)


def _recovered_status(attempt: Attempt, text: str) -> RowStatus:
    """The row's status for an earlier final outcome: done when applied, skipped when another
    collection closed the invoice (its text says ``Atlandı``), otherwise failed."""
    if attempt.result == RowStatus.APPLIED:
        return RowStatus.DONE
    if attempt.result == RowStatus.ELSEWHERE and text.startswith(layout.OUTCOME_SKIPPED):
        return RowStatus.SKIPPED
    return RowStatus.FAILED

"""The run skeleton shared by collect and undo: lock, recover, plan, confirm, send, write back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ...gcpause import frozen_heap, paused_gc
from ...workbook import layout
from ...workbook.grid import Grid
from ..identity import read_workbook_id, write_workbook_id
from ..journal import Attempt, Journal
from ..status import RowStatus
from ..table import InvoiceTable, write_status
from .plan import _build_plan
from .reading import _prefetch_sales, _read_table
from .records import (
    T_NOTHING_LEFT,
    CollectClient,
    CollectResult,
    OutcomesNotSaved,
    Plan,
    RowOutcome,
)
from .recover import _adopted_id, _recover_pending, _recovered_rows
from .send import _report_wait, _send_all, _Sender
from .settle import _Evidence, _Settler
from .waits import Waits, _clamp, proceed_horizon
from .write_back import _append_log, _log_rows, _refuse_merged_outcomes, _write_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Steps:
    """What differs between collecting and undoing (the rest of a run is the same).

    ``plan(grid, table, client, *, blocked, overlay, concurrency, waits, prefetched)`` builds
    the plan from the rows marked for this kind; ``sender`` sends one planned row exactly once
    (a ``_Sender``); ``prefetch``: a big workbook's sales list may be read while its table is.
    """

    plan: Callable[..., Plan]
    sender: type[_Sender]
    prefetch: bool = True
    undo: bool = False


COLLECT_STEPS = Steps(plan=_build_plan, sender=_Sender)


def run_marked(
    grid: Grid,
    client: CollectClient,
    journal: Journal,
    steps: Steps,
    *,
    key: str,
    workbook: str,
    confirm: Callable[[Plan], bool] | None = None,
    dry_run: bool = False,
    concurrency: int = 4,
    on_progress: Callable[[int, int], None] | None = None,
    now: Callable[[], datetime] = datetime.now,
    waits: Waits | None = None,
    no_wait: bool = False,
    on_wait: Callable[[int, float], None] | None = None,
) -> CollectResult:
    """One run over the marked rows of ``Faturalar`` (the arguments: see ``collect_marked``)."""
    concurrency = _clamp(concurrency)
    waits = _waits_or_default(waits)
    with journal.lock(key):
        prefetched = (
            _prefetch_sales(grid, client, journal, key, workbook, waits) if steps.prefetch else None
        )
        # A bad workbook fails before any other API call. Whole rows are read only where marked,
        # unless an earlier attempt (pending, or final but not written) may need its row found.
        open_work = any(not (a.final and a.written) for a in journal.attempts(key))
        table = _read_table(grid, marked_only=not open_work)
        horizon = proceed_horizon(client, waits)
        evidence = _Evidence(client, journal, key, waits)
        settler = _Settler(
            client, evidence, waits=waits, horizon=horizon, no_wait=no_wait, clock=journal.clock
        )
        workbook_id, id_to_write = _workbook_id(grid, journal, key, workbook)

        # 0. recover
        settled, still_open = _recover(
            grid, journal, key, settler, dry_run=dry_run, on_wait=on_wait
        )
        earlier, taken, elsewhere = _recovered_rows(
            table, journal.unwritten(key), workbook, workbook_id
        )
        if still_open or settled:  # the invoices may have changed since the early read
            prefetched = None

        # 1. plan
        grid.progress("Tahsilat planı hazırlanıyor…")
        plan = steps.plan(
            grid,
            _as_recovered(table, earlier),
            client,
            blocked=still_open,
            overlay={o.index: o.outcome for o in earlier},
            concurrency=concurrency,
            waits=waits,
            prefetched=prefetched,
        )
        plan.recovered = earlier
        result = CollectResult(
            plan,
            [],
            recovered=len(taken),
            unresolved=len(still_open),
            dry_run=dry_run,
            waiting_elsewhere=dict(elsewhere),
            undo=steps.undo,
        )
        log.info("recovery: %d earlier attempt(s) settled, %d to write", settled, len(taken))

        # 2. what the write-back could not write is refused now (a dry run too: it says what
        # the run would do); the confirmation is below
        touched = [r.index for r in plan.rows] + [o.index for o in [*plan.issues, *plan.recovered]]
        _refuse_merged_outcomes(grid, table, touched)
        if dry_run:
            return result

        # 3. send. The table, the listing and the plan live on unchanged: the collector need
        # not walk them again and again while the plan is shown and the sends allocate.
        with frozen_heap():
            if _declined(plan, confirm):
                result.cancelled = True
                return result
            _prepare_save(grid)
            sender = steps.sender(
                client,
                journal,
                key=key,
                workbook=workbook,
                workbook_id=workbook_id,
                now=now,
                waits=waits,
                settler=settler,
            )
            sent = _send_all(
                sender,
                plan,
                grid=grid,
                concurrency=concurrency,
                on_progress=on_progress,
                on_wait=on_wait,
            )
        _note_stop(result, sender)

        # 4. write back: earlier outcomes first, this run's override them row by row
        result.outcomes = _merged(earlier, [*plan.issues, *sent])
        to_log = [*taken, *_attempts_of(sent)]
        new_id = workbook_id if id_to_write else ""
        if result.outcomes or to_log:
            with paused_gc(len(result.outcomes) + len(to_log)):  # cells and rows that live on
                _write_back(grid, table, result, to_log, len(taken), sender.times, new_id, now)
            _mark_written(journal, to_log, workbook)
        return result


def _prepare_save(grid: Grid) -> None:
    """A workbook file's grid may start the slow part of its save (deflating a big sheet)
    now, while the sends run (``PatchGrid.prepare_save``; other grids have nothing to do)."""
    prepare = getattr(grid, "prepare_save", None)
    if prepare is not None:
        prepare()


def _note_stop(result: CollectResult, sender: _Sender) -> None:
    """Why sending stopped early (if it did), and whether KolayBi could not be reached."""
    result.stopped = sender.stop_reason if sender.stop.is_set() else None
    result.unreachable = sender.unreachable


def _declined(plan: Plan, confirm: Callable[[Plan], bool] | None) -> bool:
    """The user said no to a plan with rows to send (an empty plan is not asked about)."""
    return bool(plan.rows) and confirm is not None and not confirm(plan)


def _attempts_of(outcomes: list[RowOutcome]) -> list[Attempt]:
    return [a for o in outcomes for a in o.attempts]


def _waits_or_default(waits: Waits | None) -> Waits:
    if waits is not None:
        return waits
    # Looked up on the package at call time: a caller may replace ``collect.DEFAULT_WAITS``.
    from . import DEFAULT_WAITS as default_waits

    return default_waits


def _workbook_id(grid: Grid, journal: Journal, key: str, workbook: str) -> tuple[str, bool]:
    """This workbook's id (kept on Ayarlar: outcomes are written only where they belong), and
    whether it still has to be written there. A workbook without one gets it written with
    this run's outcomes; a run killed before that recorded it in the journal, and the next run
    on this path adopts it from there."""
    workbook_id = read_workbook_id(grid)
    if workbook_id:
        return workbook_id, False
    return _adopted_id(journal.attempts(key), workbook), True


def _recover(
    grid: Grid,
    journal: Journal,
    key: str,
    settler: _Settler,
    *,
    dry_run: bool,
    on_wait: Callable[[int, float], None] | None,
) -> tuple[int, dict[int, float | None]]:
    """Settle earlier open attempts (a dry run only lists them): (how many were settled,
    document -> when it can be settled, for those still open)."""
    grid.progress("Önceki tahsilat denemeleri denetleniyor…")
    if dry_run:
        return 0, {a.document_id: None for a in journal.pending(key)}

    def waiting(count: int, seconds: float) -> None:
        _report_wait(grid, on_wait, count, seconds)

    return _recover_pending(journal, key, settler, progress=waiting)


def _mark_written(journal: Journal, to_log: list[Attempt], workbook: str) -> None:
    """Record the final outcomes now saved in the workbook; a failure is only logged (they
    are saved anyway; the next run merely writes them once more)."""
    written = [a for a in to_log if a.final]
    try:
        journal.mark_written(written, workbook=workbook)
    except OSError as exc:
        log.warning("journal: could not mark %d outcome(s) written: %s", len(written), exc)


def _as_recovered(table: InvoiceTable, earlier: list[RowOutcome]) -> InvoiceTable:
    """The table as the recovered outcomes leave it, for planning: a run that could not save
    left ``Kalan`` showing the state before its attempt, and the plan compares ``Kalan`` with
    KolayBi's (an undo already made is not sent again). The write-back uses the real table."""
    column = table.col(layout.C_REMAINING.header)
    recovered = [o for o in earlier if o.remaining is not None]
    if column is None or not recovered:
        return table
    rows = list(table.rows)
    for outcome in recovered:
        rows[outcome.index] = list(rows[outcome.index])
        rows[outcome.index][column - 1] = outcome.remaining
    return InvoiceTable(table.header_row, table.header, rows)


def _merged(earlier: list[RowOutcome], this_run: list[RowOutcome]) -> list[RowOutcome]:
    """Row by row: an earlier run's outcome, unless this run says more."""
    final: dict[int, RowOutcome] = {o.index: o for o in earlier}
    for outcome in this_run:
        earlier_one = final.get(outcome.index)
        if earlier_one is not None and (
            outcome.status == RowStatus.UNCHANGED
            # "nothing left" says less than an earlier "closed by another collection"
            or (outcome.outcome == T_NOTHING_LEFT and earlier_one.status == RowStatus.SKIPPED)
        ):
            continue
        final[outcome.index] = outcome
    return [final[i] for i in sorted(final)]


def _write_back(
    grid: Grid,
    table: InvoiceTable,
    result: CollectResult,
    to_log: list[Attempt],
    recovered: int,
    times: dict[str, datetime],
    new_workbook_id: str,
    now: Callable[[], datetime],
) -> None:
    """Outcomes, log rows (of ``to_log``, the first ``recovered`` of them earlier runs'), the
    status line, saved; ``OutcomesNotSaved`` when that failed."""
    grid.progress("Sonuçlar yazılıyor…")
    try:
        if new_workbook_id:
            write_workbook_id(grid, new_workbook_id)
        _write_rows(grid, table, result.outcomes)
        earlier = _log_rows(to_log[:recovered], times)
        _append_log(grid, earlier + _log_rows(to_log[recovered:], times), len(earlier))
        stamp = now().strftime("%d.%m.%Y %H:%M")
        # Above the table as found: a table moved up into the strip's rows leaves no room.
        write_status(grid, f"{result.summary('tr')} ({stamp})", header_row=table.header_row)
        grid.save()  # under the workbook's writer lock: the saved file holds them now
    except Exception as exc:
        log.error("writing the outcomes failed: %s", exc)
        raise OutcomesNotSaved(result, exc) from exc
    result.saved = True

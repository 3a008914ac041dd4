"""Step 3: send the planned rows, bounded and exactly once."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from ...api.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    NotFoundError,
    RateLimitedError,
    RejectedError,
)
from ...workbook import layout
from ...workbook.grid import Grid
from ..journal import Attempt, Journal
from ..status import RowStatus
from .records import (
    T_NOT_APPLIED,
    T_RATE_LIMITED,
    T_UNKNOWN,
    CollectClient,
    Plan,
    PlannedRow,
    RowOutcome,
    _payment_label,
    _report_progress,
    done_text,
    elsewhere_text,
    error_text,
    pending_text,
)
from .settle import _Settler, _Verdict
from .waits import MAX_SENDS, Waits

log = logging.getLogger(__name__)


class _Sender:
    def __init__(
        self,
        client: CollectClient,
        journal: Journal,
        *,
        key: str,
        workbook: str,
        workbook_id: str,
        now: Callable[[], datetime],
        waits: Waits,
        settler: _Settler,
    ) -> None:
        self.client = client
        self.journal = journal
        self.key = key
        self.workbook = workbook
        self.workbook_id = workbook_id
        self.now = now
        self.waits = waits
        self.settler = settler
        self.stop = threading.Event()
        self.stop_reason: str | None = None
        self.unreachable = False
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()
        self.times: dict[str, datetime] = {}  # attempt id -> when its outcome was known

    def halt(self, reason: str, *, unreachable: bool = False) -> None:
        """Send no new rows; ``unreachable``: KolayBi cannot be reached or refuses us."""
        with self._lock:
            if self.stop_reason is None:
                self.stop_reason = reason
            self.unreachable = self.unreachable or unreachable
        self.stop.set()

    def _not_sent(self, row: PlannedRow, attempts: list[Attempt]) -> RowOutcome:
        reason = self.stop_reason or "tahsilat durduruldu"
        return self._outcome(row, error_text(f"gönderilmedi: {reason}"), RowStatus.FAILED, attempts)

    def _outcome(
        self,
        row: PlannedRow,
        text: str,
        status: RowStatus,
        attempts: list[Attempt],
        remaining: Decimal | None = None,
    ) -> RowOutcome:
        outcome = RowOutcome(
            row.index,
            row.sheet_row,
            row.document_id,
            text,
            status,
            amount=row.amount,
            currency=row.currency,
            vault=row.vault,
            attempts=attempts,
        )
        if status == RowStatus.DONE:
            outcome.collected_at = self.now().replace(microsecond=0)
            outcome.remaining = remaining
            if remaining is not None and row.grand_total is not None:
                outcome.paid = row.grand_total - remaining
            outcome.payment_status = _payment_label(outcome.paid, remaining)
        return outcome

    def unexpected(self, row: PlannedRow, exc: BaseException) -> RowOutcome:
        """The outcome of a row whose sending raised what ``send`` did not catch."""
        return self._outcome(
            row, f"{T_UNKNOWN} (beklenmeyen hata: {type(exc).__name__})", RowStatus.UNKNOWN, []
        )

    def _record(
        self,
        attempts: list[Attempt],
        attempt: Attempt,
        result: RowStatus,
        text: str,
        remaining: Decimal | None,
        answered: bool | None = True,
    ) -> None:
        """Append the outcome; the row's outcome survives even if the journal cannot."""
        try:
            attempts.append(
                self.journal.outcome(attempt, result, text, remaining, answered=answered)
            )
        except Exception:  # the proceed happened; the next run reconciles the open intent
            log.exception("journal: could not record the outcome of %s", attempt.attempt)
            self.halt("tahsilat günlüğü yazılamadı")
            attempts.append(attempt)
        self.times[attempt.attempt] = self.now().replace(microsecond=0)

    def send(self, row: PlannedRow) -> RowOutcome:
        with self._lock:
            if row.document_id in self._in_flight:  # the plan never allows this
                raise RuntimeError(f"document {row.document_id} is already being collected")
            self._in_flight.add(row.document_id)
        try:
            return self._send(row)
        except Exception as exc:  # a bug must not lose the other rows' outcomes
            log.exception("collecting document %s failed unexpectedly", row.document_id)
            return self._outcome(
                row, f"{T_UNKNOWN} (beklenmeyen hata: {type(exc).__name__})", RowStatus.UNKNOWN, []
            )
        except BaseException:  # interrupted: no other worker starts a new row
            self.halt("tahsilat kesildi")
            raise
        finally:
            with self._lock:
                self._in_flight.discard(row.document_id)

    def _send(self, row: PlannedRow) -> RowOutcome:
        attempts: list[Attempt] = []
        remaining_before = row.remaining_before if row.remaining_before is not None else row.amount
        amount = row.amount
        sends = 0
        while True:
            if self.stop.is_set():
                return self._not_sent(row, attempts)
            sends += 1
            attempt = self._intent(row, amount, remaining_before)
            if attempt is None:
                return self._not_sent(row, attempts)
            try:
                answer = self.client.proceed(row.document_id, row.vault.id, amount)
            except Exception as exc:
                refused = self._refusal(exc)
                if refused is not None:
                    self._record(attempts, attempt, RowStatus.FAILED, refused, None)
                    return self._outcome(row, refused, RowStatus.FAILED, attempts)
                outcome, remaining = self._unclear(row, attempt, attempts, exc, sends)
                if outcome is not None:
                    return outcome
                if remaining is not None:
                    remaining_before = remaining
                continue
            remaining_after = answer.remaining_amount
            if remaining_after is None:
                remaining_after = remaining_before - amount
            text = done_text(amount, row.currency, row.vault_label, remaining_after)
            self._record(attempts, attempt, RowStatus.APPLIED, text, remaining_after, True)
            return self._outcome(row, text, RowStatus.DONE, attempts, remaining_after)

    def _intent(
        self, row: PlannedRow, amount: Decimal, remaining_before: Decimal
    ) -> Attempt | None:
        """The journal's intent for one send, on disk before it; None (and halt) if it failed."""
        seen, seen_at = self.settler.evidence.seen(row.vault.id, amount)
        return self._journal_intent(
            row,
            amount,
            remaining_before,
            vault_id=row.vault.id,
            vault_name=row.vault_label,
            seen=seen,
            seen_at=seen_at,
        )

    def _journal_intent(
        self, row: PlannedRow, amount: Decimal, remaining_before: Decimal, **specific: Any
    ) -> Attempt | None:
        """The intent of ``row`` (``specific``: what a collection or an undo adds), on disk
        when this returns; None (and halt: nothing is sent) if it could not be written."""
        try:
            return self.journal.intent(
                key=self.key,
                document_id=row.document_id,
                amount=amount,
                currency=row.currency,
                remaining_before=remaining_before,
                workbook=self.workbook,
                row=row.sheet_row,
                serial_no=row.serial_no,
                party=row.party,
                invoice_type=row.invoice_type,
                grand_total=row.grand_total,
                workbook_id=self.workbook_id,
                **specific,
            )
        except Exception as exc:
            log.exception("journal: could not record the intent; nothing sent")
            self.halt(f"tahsilat günlüğü yazılamadı ({type(exc).__name__})")
            return None

    def _refusal(self, exc: Exception) -> str | None:
        """The row's text when KolayBi provably did not apply the proceed (None: unclear)."""
        if isinstance(exc, (RejectedError, NotFoundError)):
            return error_text(f"KolayBi reddetti: {exc.message}")
        if isinstance(exc, RateLimitedError):
            return T_RATE_LIMITED
        if isinstance(exc, (AuthenticationError, ConfigurationError)):
            self.halt(f"KolayBi kimlik bilgilerini reddetti ({exc})", unreachable=True)
            return error_text(f"gönderilmedi: {self.stop_reason}")
        if isinstance(exc, ConnectionFailed):
            self.halt(f"KolayBi'ye ulaşılamadı ({exc})", unreachable=True)
            return error_text(f"gönderilmedi: {self.stop_reason}")
        return None

    def _settle_unclear(
        self, row: PlannedRow, attempt: Attempt, exc: Exception
    ) -> tuple[Attempt, _Verdict, bool]:
        """The verdict on a request whose outcome is unclear (a proceed or an undo), by the
        horizon rule; halts the run when KolayBi cannot be reached. Returns the attempt as
        answered or not, the verdict, and whether the server answered."""
        answered = bool(getattr(exc, "answered", False))
        log.warning(
            "document %s: unclear outcome (%s, %s); reconciling",
            row.document_id,
            exc,
            "answered" if answered else "no answer",
        )
        if answered:
            self.waits.sleep(self.waits.reconcile_delay)
        attempt = _replace_answered(attempt, answered)
        verdict = self.settler.settle(attempt, answered=answered, stop=self.stop)
        if verdict.halt is not None:
            self.halt(f"KolayBi'ye ulaşılamadı ({verdict.halt})", unreachable=True)
        return attempt, verdict, answered

    def _unclear(
        self,
        row: PlannedRow,
        attempt: Attempt,
        attempts: list[Attempt],
        exc: Exception,
        sends: int,
    ) -> tuple[RowOutcome | None, Decimal | None]:
        """Settle a proceed that may have been applied (OutcomeUnknown, or anything else).

        Answered (a 500, a 503, an unreadable 2xx): the request is over and a re-read tells the
        truth. No answer (timeout, drop, 504, anything unexpected): KolayBi may still apply it
        until the horizon; nothing is sent again before that. Returns the row's outcome, or
        (None, the invoice's remaining amount) when it may be sent again."""
        attempt, verdict, answered = self._settle_unclear(row, attempt, exc)
        if verdict.result != RowStatus.NOT_APPLIED:
            return self._judged(row, attempt, attempts, verdict, answered), None
        # Provably not applied: it may be sent again.
        self._record(
            attempts, attempt, RowStatus.NOT_APPLIED, T_NOT_APPLIED, verdict.remaining, answered
        )
        if sends >= MAX_SENDS:
            text = error_text(
                f"KolayBi yanıt vermedi; tahsilat yapılmadı ({sends} deneme) — "
                "daha sonra tekrar deneyebilirsiniz"
            )
            return self._outcome(row, text, RowStatus.FAILED, attempts), None
        if self.stop.wait(self.waits.resend_backoff * sends):
            return self._not_sent(row, attempts), None
        return None, verdict.remaining

    def _judged(
        self,
        row: PlannedRow,
        attempt: Attempt,
        attempts: list[Attempt],
        verdict: _Verdict,
        answered: bool,
    ) -> RowOutcome:
        """The row's outcome for a verdict other than "not applied": applied (verified),
        closed by another collection, or unknown (perhaps pending until the horizon)."""
        if verdict.result == RowStatus.APPLIED:
            text = done_text(
                row.amount, row.currency, row.vault_label, verdict.remaining, verified=True
            )
            self._record(attempts, attempt, RowStatus.APPLIED, text, verdict.remaining, answered)
            return self._outcome(row, text, RowStatus.DONE, attempts, verdict.remaining)
        if verdict.result == RowStatus.ELSEWHERE:
            text = elsewhere_text(verdict.remaining, row.currency)
            self._record(attempts, attempt, RowStatus.ELSEWHERE, text, verdict.remaining, answered)
            status = (
                RowStatus.SKIPPED if text.startswith(layout.OUTCOME_SKIPPED) else RowStatus.FAILED
            )
            outcome = self._outcome(row, text, status, attempts)
            outcome.remaining = verdict.remaining
            return outcome
        text = T_UNKNOWN if verdict.pending_until is None else pending_text(verdict.pending_until)
        self._record(attempts, attempt, RowStatus.UNKNOWN, text, verdict.remaining, answered)
        outcome = self._outcome(row, text, RowStatus.UNKNOWN, attempts)
        if verdict.remaining is not None:  # Kalan shows what KolayBi shows, whoever's
            outcome.remaining = verdict.remaining
            if row.grand_total is not None:
                outcome.paid = row.grand_total - verdict.remaining
            outcome.payment_status = _payment_label(outcome.paid, verdict.remaining)
        return outcome


def _replace_answered(attempt: Attempt, answered: bool) -> Attempt:
    return replace(attempt, answered=answered)


def _send_all(
    sender: _Sender,
    plan: Plan,
    *,
    grid: Grid,
    concurrency: int,
    on_progress: Callable[[int, int], None] | None,
    on_wait: Callable[[int, float], None] | None,
) -> list[RowOutcome]:
    if not plan.rows:  # nothing to send: no progress, no threads
        return []
    total = len(plan.rows)
    outcomes: list[RowOutcome] = []
    step = max(1, total // 20)
    grid.progress(f"Tahsilat: {total} fatura gönderiliyor…")
    told = 0.0
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="kolaybi-collect") as pool:
        # Finished sends arrive on a queue: ``wait`` over the futures still running would
        # install and remove a waiter on each of them every time one finishes (2,000 rows:
        # millions of lock operations competing with the senders for the GIL).
        done: queue.SimpleQueue[Future[RowOutcome]] = queue.SimpleQueue()
        futures: dict[Future[RowOutcome], PlannedRow] = {}
        for row in plan.rows:
            future = pool.submit(sender.send, row)
            futures[future] = row
            future.add_done_callback(done.put)
        try:
            while len(outcomes) < total:
                for future in _finished(done, timeout=1.0):
                    row = futures[future]
                    try:
                        outcome = future.result()
                    except Exception as exc:  # send() catches everything; belt and braces
                        log.exception("collecting row %s failed", row.sheet_row)
                        outcome = sender.unexpected(row, exc)
                    outcomes.append(outcome)
                    _report_progress(grid, on_progress, len(outcomes), total, step)
                # Requests without an answer are waited for: say how many and how long (from
                # this thread: the grid may be Excel's, which the workers never touch).
                count, left = sender.settler.longest_wait()
                if count and time.monotonic() - told >= 5.0:
                    told = time.monotonic()
                    _report_wait(grid, on_wait, count, left)
        except BaseException:
            # Interrupted (Ctrl+C, a kill signal turned exception, a failing callback): send
            # nothing new, let the requests in flight finish and journal their outcomes, and
            # leave the writing to the next run, which recovers everything from the journal.
            sender.halt("tahsilat kesildi")
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    outcomes.sort(key=lambda o: o.index)
    return outcomes


_F = TypeVar("_F")


def _finished(done: queue.SimpleQueue[_F], timeout: float) -> list[_F]:
    """What finished: the first within ``timeout`` (none: an empty list), then all others
    already there."""
    try:
        finished = [done.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            finished.append(done.get_nowait())
        except queue.Empty:
            return finished


def wait_text(count: int, seconds: float) -> str:
    return (
        f"Tahsilat: {count} isteğin sonucu için KolayBi bekleniyor (en çok {seconds:.0f} sn; "
        "yanıt gelmeyen bir tahsilat bu süre dolmadan yeniden gönderilmez)"
    )


def _report_wait(
    grid: Grid, on_wait: Callable[[int, float], None] | None, count: int, seconds: float
) -> None:
    try:
        if on_wait is not None:
            on_wait(count, seconds)
        grid.progress(wait_text(count, seconds))
    except Exception:
        log.warning("progress display failed; collecting goes on", exc_info=True)


# -- writing back -----------------------------------------------------------------------------

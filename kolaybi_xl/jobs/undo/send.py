"""Undo step 3: one DELETE per planned row, journaled like a collection, never sent twice."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Protocol, cast

from ...api.models import Invoice
from ...workbook.cells import tr_amount
from ..collect.reading import _read_again, _reread
from ..collect.records import (
    T_UNDO_NOT_APPLIED,
    T_UNKNOWN,
    CollectClient,
    PlannedRow,
    RowOutcome,
    error_text,
    pending_text,
    undone_text,
)
from ..collect.send import _Sender
from ..collect.waits import TOLERANCE
from ..journal import UNDO, Attempt
from ..status import RowStatus

log = logging.getLogger(__name__)


class UndoClient(CollectClient, Protocol):
    """What undoing needs from ``KolayBiClient``: collect's reads and the DELETE."""

    def undo_collection(self, document_id: int) -> None: ...


class UndoSender(_Sender):
    """Collect's sender (bounded, one document in flight once, journal before sending),
    sending ``undo_collection`` instead of ``proceed``. Sent once: an undo proven not applied
    is reported (the next run may send it again after re-reading), not repeated here."""

    def _outcome(
        self,
        row: PlannedRow,
        text: str,
        status: RowStatus,
        attempts: list[Attempt],
        remaining: Decimal | None = None,
    ) -> RowOutcome:
        outcome = super()._outcome(row, text, status, attempts, remaining)
        outcome.undo = True
        outcome.collected_at = None  # 'Tahsilat Zamanı' is a collection's, not an undo's
        if status != RowStatus.DONE and remaining is not None:
            outcome.remaining = remaining
        return outcome

    def _intent(
        self, row: PlannedRow, amount: Decimal, remaining_before: Decimal
    ) -> Attempt | None:
        """The journal's intent (kind undo: what the invoice had collected and its remaining
        amount), on disk before the DELETE; None (and halt) if it could not be written."""
        return self._journal_intent(row, amount, remaining_before, vault_id=0, kind=UNDO)

    def _send(self, row: PlannedRow) -> RowOutcome:
        attempts: list[Attempt] = []
        if self.stop.is_set():
            return self._not_sent(row, attempts)
        remaining_before, changed = self._as_planned(row)
        if changed is not None or remaining_before is None:
            return self._outcome(row, changed or "", RowStatus.FAILED, attempts, remaining_before)
        attempt = self._intent(row, row.amount, remaining_before)
        if attempt is None:
            return self._not_sent(row, attempts)
        try:
            cast(UndoClient, self.client).undo_collection(row.document_id)
        except Exception as exc:
            refused = self._refusal(exc)
            if refused is not None:
                self._record(attempts, attempt, RowStatus.FAILED, refused, None)
                return self._outcome(row, refused, RowStatus.FAILED, attempts)
            return self._unclear_undo(row, attempt, attempts, exc)
        remaining = self._remaining_now(row)
        taken = None if remaining is None else remaining - remaining_before
        text = undone_text(taken, row.currency, remaining)
        self._record(attempts, attempt, RowStatus.APPLIED, text, remaining, True)
        return self._outcome(row, text, RowStatus.DONE, attempts, remaining)

    def _as_planned(self, row: PlannedRow) -> tuple[Decimal | None, str | None]:
        """The invoice read again right before its DELETE: (its remaining amount, why not to
        send). The plan — what the accountant confirmed — may be minutes old; a collection
        made since (a colleague's) would be taken back with ours, unconfirmed and unseen."""
        invoice = self._read_invoice(row, "not read before the undo")
        now = invoice.remaining if invoice is not None else None
        if now is None:
            return None, error_text(
                "fatura geri almadan hemen önce KolayBi'den okunamadı; geri alma gönderilmedi"
            )
        planned = row.remaining_before
        if planned is not None and abs(now - planned) > TOLERANCE:
            return now, error_text(
                f"fatura plan yapıldıktan sonra değişti (kalan {tr_amount(planned)} → "
                f"{tr_amount(now)} {row.currency}); arada başka bir tahsilat yapılmış olabilir, "
                "geri alma gönderilmedi — yeniden çalıştırın"
            )
        return now, None

    def _remaining_now(self, row: PlannedRow) -> Decimal | None:
        """The invoice's remaining amount after an undo KolayBi confirmed (its answer has no
        amounts): read again, for the row's Kalan and Ödenen; None if it cannot be read."""
        invoice = self._read_invoice(row, "undone, but not read again")
        return invoice.remaining if invoice is not None else None

    def _read_invoice(self, row: PlannedRow, failure: str) -> Invoice | None:
        """The row's invoice read afresh (with collect's retries); None, logged, if it cannot be."""
        try:
            return _read_again(
                lambda doc: _reread(self.client, doc, row.invoice_type), row.document_id, self.waits
            )
        except Exception as exc:
            log.warning("document %s: %s (%s)", row.document_id, failure, exc)
            return None

    def _unclear_undo(
        self, row: PlannedRow, attempt: Attempt, attempts: list[Attempt], exc: Exception
    ) -> RowOutcome:
        """Settled by the same horizon rule as a collection, read the other way round: the
        remaining amount went back up -> undone; unchanged -> not applied (only once the
        request is over); anything else -> unknown, for ``journal --resolve``."""
        attempt, verdict, answered = self._settle_unclear(row, attempt, exc)
        if verdict.result == RowStatus.APPLIED and verdict.remaining is not None:
            taken = verdict.remaining - attempt.remaining_before
            text = undone_text(taken, row.currency, verdict.remaining, verified=True)
            self._record(attempts, attempt, RowStatus.APPLIED, text, verdict.remaining, answered)
            return self._outcome(row, text, RowStatus.DONE, attempts, verdict.remaining)
        if verdict.result == RowStatus.NOT_APPLIED:
            text = T_UNDO_NOT_APPLIED
            self._record(
                attempts, attempt, RowStatus.NOT_APPLIED, text, verdict.remaining, answered
            )
            return self._outcome(row, text, RowStatus.FAILED, attempts, verdict.remaining)
        text = T_UNKNOWN if verdict.pending_until is None else pending_text(verdict.pending_until)
        self._record(attempts, attempt, RowStatus.UNKNOWN, text, verdict.remaining, answered)
        return self._outcome(row, text, RowStatus.UNKNOWN, attempts)

"""Settling an unclear proceed: evidence, the verdict, the horizon's settler."""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final, Literal

from ...api.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    InvalidResponse,
    KolayBiError,
    NotFoundError,
)
from ...api.models import Invoice, VaultTransaction
from ..journal import COLLECT, UNDO, Attempt, Journal
from ..status import RowStatus
from .reading import _read_again, _reread
from .records import CollectClient
from .waits import DEFAULT_WAITS, TOLERANCE, Waits

log = logging.getLogger(__name__)


WAIT: Final = "wait"  # a verdict: no proof either way yet, the request may still be in progress


@dataclass
class _Verdict:
    result: RowStatus | Literal["wait"]  # applied | not_applied | elsewhere | unknown | wait
    remaining: Decimal | None = None
    invoice: Invoice | None = None
    halt: KolayBiError | None = None  # the API is unreachable / refuses us: stop the run
    pending_until: float | None = None  # unknown because the horizon has not passed yet


def _same_amount(a: Decimal | None, b: Decimal) -> bool:
    return a is not None and abs(abs(a) - abs(b)) <= TOLERANCE


class _ByAmount:
    """A vault's transactions sorted by size, for the ids of those of one amount (within
    ``TOLERANCE``, either sign) in their original order: one send of thousands looks up its
    amount without walking the vault's whole history."""

    def __init__(self, items: list[VaultTransaction]) -> None:
        ordered = sorted(
            (abs(t.amount), position, t.id)
            for position, t in enumerate(items)
            if t.amount is not None
        )
        self._sizes = [size for size, _, _ in ordered]
        self._entries = [(position, id_) for _, position, id_ in ordered]

    def ids_of(self, amount: Decimal) -> tuple[int, ...]:
        size = abs(amount)
        low = bisect.bisect_left(self._sizes, size - TOLERANCE)
        high = bisect.bisect_right(self._sizes, size + TOLERANCE)
        return tuple(id_ for _, id_ in sorted(self._entries[low:high]))


class _Evidence:
    """Proof that a collection was *ours*: a transaction of its amount in its vault that was
    not there before it was sent (ids remembered in the intent) and is not accounted for by
    another of our collections of the same amount into that vault. The documented shape of a
    vault transaction (``id``, ``amount``, ``description``) has no document id to rely on."""

    def __init__(
        self, client: CollectClient, journal: Journal, key: str, waits: Waits = DEFAULT_WAITS
    ) -> None:
        self.client = client
        self.journal = journal
        self.key = key
        self.waits = waits
        self._lock = threading.Lock()
        self._snapshots: dict[int, tuple[float, _ByAmount]] = {}

    def seen(self, vault_id: int, amount: Decimal) -> tuple[tuple[int, ...] | None, float | None]:
        """Ids of the vault's transactions of this amount before sending (read once per vault
        and run, before the first proceed into it); (None, None) when they cannot be read."""
        with self._lock:
            if vault_id not in self._snapshots:
                at = self.journal.clock()
                try:
                    items = _read_again(self._transactions, vault_id, self.waits)
                except KolayBiError as exc:
                    # Sent all the same (nothing is risked), but an unclear answer of this
                    # attempt cannot be proven ours; the next send tries to read them again.
                    log.warning("vault %s: transactions not readable (%s)", vault_id, exc)
                    return None, None
                self._snapshots[vault_id] = (at, _ByAmount(items))
            at, by_amount = self._snapshots[vault_id]
        return by_amount.ids_of(amount), at

    def _transactions(self, vault_id: int) -> list[VaultTransaction]:
        read = getattr(self.client, "vault_transactions", None)
        if read is None:
            raise InvalidResponse("this client cannot read vault transactions")
        items: list[VaultTransaction] = read(vault_id)
        return items

    def ours(self, attempt: Attempt) -> bool | None:
        """True: proven ours; False: no such transaction; None: cannot tell."""
        if attempt.seen is None:
            return None
        try:
            items = _read_again(self._transactions, attempt.vault_id, self.waits)
        except KolayBiError as exc:
            log.warning("vault %s: transactions not readable (%s)", attempt.vault_id, exc)
            return None
        new = _new_of_its_amount(items, attempt)
        if not new:
            return False
        since = attempt.seen_at if attempt.seen_at is not None else attempt.sent_at or 0.0
        others = [a for a in self.journal.attempts(self.key) if _explains(a, attempt, since)]
        return len(new) > len(others)


def _new_of_its_amount(items: list[VaultTransaction], attempt: Attempt) -> list[VaultTransaction]:
    """The vault's transactions of the attempt's amount that were not there before sending."""
    before = set(attempt.seen or ())
    return [t for t in items if t.id not in before and _same_amount(t.amount, attempt.amount)]


def _explains(other: Attempt, attempt: Attempt, since: float) -> bool:
    """Whether ``other``, one of our applied collections of the same amount into the same
    vault sent since ``attempt``'s snapshot, accounts for one of the new transactions."""
    return (
        other.attempt != attempt.attempt
        and other.result == RowStatus.APPLIED
        and other.vault_id == attempt.vault_id
        and _same_amount(other.amount, attempt.amount)
        and (other.sent_at or 0.0) >= since
    )


def _judge(
    client: CollectClient,
    evidence: _Evidence,
    attempt: Attempt,
    *,
    final: bool,
    waits: Waits,
) -> _Verdict:
    """What became of ``attempt``, from the invoice's state now and the vault's transactions.

    ``final``: the request is over (it was answered, or its horizon has passed), so an
    unchanged invoice proves "not applied" and a changed one without our transaction proves
    "someone else". Before that only "applied" can be proven; anything else is ``WAIT``.
    """
    invoice = _read_invoice(client, attempt, final=final, waits=waits)
    if isinstance(invoice, _Verdict):
        return invoice
    remaining = invoice.remaining
    if remaining is None:
        # Never "not applied" from a missing field (``_reread`` already tried the list).
        log.warning("reconciling %s: no remaining amount in the answer", attempt.document_id)
        return _Verdict(RowStatus.UNKNOWN, invoice=invoice)
    if attempt.kind != COLLECT:
        return _judge_undo(attempt, invoice, remaining, final=final)
    return _by_amount(evidence, attempt, remaining, invoice, final=final)


def _read_invoice(
    client: CollectClient, attempt: Attempt, *, final: bool, waits: Waits
) -> Invoice | _Verdict:
    """The invoice as it is now (read again a few times when reading fails), or the verdict
    when it cannot be read: unknown (and a halt when KolayBi cannot be reached or refuses us),
    or ``WAIT`` before the horizon."""
    last: KolayBiError | None = None
    for n in range(max(1, waits.reread_tries)):
        if n:
            waits.sleep(waits.reread_backoff * n)
        try:
            return _reread(client, attempt.document_id, attempt.invoice_type or None)
        except NotFoundError as exc:
            log.warning("reconciling %s: invoice not found (%s)", attempt.document_id, exc)
            return _Verdict(RowStatus.UNKNOWN)
        except (ConnectionFailed, AuthenticationError, ConfigurationError) as exc:
            return _Verdict(RowStatus.UNKNOWN, halt=exc)
        except KolayBiError as exc:
            last = exc
    log.warning("reconciling %s: invoice could not be read (%s)", attempt.document_id, last)
    return _Verdict(RowStatus.UNKNOWN if final else WAIT)


def _is_partial(attempt: Attempt) -> bool:
    """Less than the whole remaining amount was asked for (``Tahsil Tutarı``)."""
    return attempt.amount < attempt.remaining_before - TOLERANCE


def _by_amount(
    evidence: _Evidence, attempt: Attempt, remaining: Decimal, invoice: Invoice, *, final: bool
) -> _Verdict:
    """The verdict from how much the remaining amount dropped since just before sending.

    Unchanged: not applied (once final). Dropped by exactly the attempt's amount, with our
    transaction in the vault: applied. Any other change is someone else's or unclear: for a
    whole-remaining collection a vault proving it was not ours says "elsewhere" (sending the
    rest again cannot collect too much); a partial one is never judged so — it stays unknown
    for the accountant (``journal --resolve``), as does anything the vault cannot tell.
    """
    drop = attempt.remaining_before - remaining
    if abs(drop) <= TOLERANCE:
        return _Verdict(RowStatus.NOT_APPLIED if final else WAIT, remaining, invoice)
    exact = abs(drop - attempt.amount) <= TOLERANCE
    ours = evidence.ours(attempt)
    if ours and exact:
        return _Verdict(RowStatus.APPLIED, remaining, invoice)
    if not final:
        return _Verdict(WAIT, remaining, invoice)
    if ours is False and not _is_partial(attempt):
        return _Verdict(RowStatus.ELSEWHERE, remaining, invoice)
    log.warning(
        "reconciling %s: the invoice changed (%s -> %s) for an attempt of %s; %s",
        attempt.document_id,
        attempt.remaining_before,
        remaining,
        attempt.amount,
        "the vault cannot tell by whom" if ours is None else "not by exactly this attempt",
    )
    return _Verdict(RowStatus.UNKNOWN, remaining, invoice)


def _judge_undo(attempt: Attempt, invoice: Invoice, remaining: Decimal, *, final: bool) -> _Verdict:
    """An undo read the other way round: the remaining amount went back up -> applied
    (taken back; by this request or another, the invoice's state is what was asked for);
    unchanged -> not applied, once the request is over; anything else (someone collected
    meanwhile) -> unknown, for a person (``journal --resolve``)."""
    if attempt.kind != UNDO:  # a kind of a newer version: never guessed at
        return _Verdict(RowStatus.UNKNOWN, remaining, invoice)
    if remaining > attempt.remaining_before + TOLERANCE:
        return _Verdict(RowStatus.APPLIED, remaining, invoice)
    if not final:
        return _Verdict(WAIT, remaining, invoice)
    if abs(remaining - attempt.remaining_before) <= TOLERANCE:
        return _Verdict(RowStatus.NOT_APPLIED, remaining, invoice)
    log.warning(
        "reconciling undo of %s: the remaining amount dropped (%s -> %s)",
        attempt.document_id,
        attempt.remaining_before,
        remaining,
    )
    return _Verdict(RowStatus.UNKNOWN, remaining, invoice)


class _Settler:
    """Settles unclear attempts by the horizon rule (see ``HORIZON_FACTOR``)."""

    def __init__(
        self,
        client: CollectClient,
        evidence: _Evidence,
        *,
        waits: Waits,
        horizon: float,
        no_wait: bool,
        clock: Callable[[], float],
    ) -> None:
        self.client = client
        self.evidence = evidence
        self.waits = waits
        self.horizon = horizon
        self.no_wait = no_wait
        self.clock = clock
        self._lock = threading.Lock()
        self.waiting: dict[str, float] = {}  # attempt id -> its horizon (for progress)

    def deadline(self, attempt: Attempt) -> float:
        sent = attempt.sent_at if attempt.sent_at is not None else _epoch(attempt.at)
        return (sent if sent is not None else 0.0) + self.horizon

    def judge_now(self, attempt: Attempt, *, answered: bool) -> _Verdict:
        final = answered or self.clock() >= self.deadline(attempt)
        return _judge(self.client, self.evidence, attempt, final=final, waits=self.waits)

    def settle(
        self, attempt: Attempt, *, answered: bool, stop: threading.Event | None = None
    ) -> _Verdict:
        """The verdict; without an answer, waits (re-reading every ``poll`` seconds) until
        "applied" is proven or the horizon has passed — unless told not to wait."""
        deadline = self.deadline(attempt)
        try:
            while True:
                verdict = self.judge_now(attempt, answered=answered)
                if verdict.result != WAIT:
                    return verdict
                left = deadline - self.clock()
                if self.no_wait or (stop is not None and stop.is_set()):
                    # Told not to wait, or the run is stopping (Ctrl+C): pending, and the
                    # next run settles it by the same rule.
                    return _Verdict(RowStatus.UNKNOWN, verdict.remaining, pending_until=deadline)
                with self._lock:
                    self.waiting[attempt.attempt] = deadline
                log.info(
                    "document %s: no answer; waiting up to %.0f s before deciding",
                    attempt.document_id,
                    max(0.0, left),
                )
                self.waits.sleep(max(0.0, min(self.waits.poll, left)))
        finally:
            with self._lock:
                self.waiting.pop(attempt.attempt, None)

    def longest_wait(self) -> tuple[int, float]:
        """(how many requests are being waited for, seconds until the last horizon)."""
        with self._lock:
            deadlines = list(self.waiting.values())
        if not deadlines:
            return 0, 0.0
        return len(deadlines), max(0.0, max(deadlines) - self.clock())


def _epoch(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp()
    except (TypeError, ValueError):
        return None

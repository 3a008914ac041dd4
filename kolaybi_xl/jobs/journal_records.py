"""The journal's records: what one line of the journal file holds, and how the lines of one
attempt fold into an ``Attempt`` (its intent and its latest outcome).

The format on disk (one JSON object per line) is described in ``journal.py``; the names and
strings here are that format and must stay readable by every later version: records of older
versions (no ``kind``, no ``t``, no ``seen``) still read, lines this version does not
understand are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .account import normalise_key
from .status import RowStatus, result_status

log = logging.getLogger(__name__)

INTENT, OUTCOME, WRITTEN = "intent", "outcome", "written"
EVENTS = frozenset({INTENT, OUTCOME, WRITTEN})
# What an attempt sent: a collection (proceed) or an undo of the invoice's collections.
COLLECT, UNDO = "collect", "undo"
KINDS = frozenset({COLLECT, UNDO})


@dataclass(frozen=True)
class Attempt:
    """One collection attempt as the journal knows it (its intent and its latest outcome)."""

    attempt: str
    key: str
    document_id: int
    vault_id: int
    amount: Decimal
    currency: str
    remaining_before: Decimal
    workbook: str
    row: int | None
    at: str
    vault_name: str = ""
    serial_no: str = ""
    party: str = ""
    invoice_type: str = ""
    grand_total: Decimal | None = None
    result: RowStatus | None = None  # latest outcome, None when none was recorded
    detail: str = ""
    remaining_after: Decimal | None = None
    outcome_at: str | None = None
    written: bool = False
    workbook_id: str = ""
    sent_at: float | None = None  # seconds since the epoch; None in records of old versions
    seen: tuple[int, ...] | None = None  # None: the vault's transactions were not read
    seen_at: float | None = None
    answered: bool | None = None  # the latest outcome's: did the server answer the request?
    kind: str = COLLECT  # collect | undo

    @property
    def final(self) -> bool:
        return self.result is not None and self.result.final

    @property
    def is_undo(self) -> bool:
        return self.kind == UNDO


# -- writing: one record per event ------------------------------------------------------------


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def intent_record(attempt: Attempt) -> dict[str, Any]:
    """The ``intent`` line of an attempt about to be sent."""
    return {
        "event": INTENT,
        "kind": attempt.kind,
        "t": attempt.sent_at,
        "workbook_id": attempt.workbook_id,
        "seen": None if attempt.seen is None else list(attempt.seen),
        "seen_at": attempt.seen_at,
        **_what_was_sent(attempt),
        "at": attempt.at,
        "vault_name": attempt.vault_name,
        "serial_no": attempt.serial_no,
        "party": attempt.party,
        "invoice_type": attempt.invoice_type,
        "grand_total": None if attempt.grand_total is None else str(attempt.grand_total),
    }


def outcome_record(attempt: Attempt) -> dict[str, Any]:
    """The ``outcome`` line of an attempt that carries its (new) outcome."""
    result, after = attempt.result, attempt.remaining_after
    return {
        "event": OUTCOME,
        **_what_was_sent(attempt),
        "at": attempt.outcome_at,
        "result": None if result is None else result.value,
        "detail": attempt.detail,
        "remaining_after": None if after is None else str(after),
        "answered": attempt.answered,
    }


def _what_was_sent(attempt: Attempt) -> dict[str, Any]:
    """The fields an intent and its outcomes both carry (an outcome line reads on its own)."""
    return {
        "attempt": attempt.attempt,
        "key": attempt.key,
        "document_id": attempt.document_id,
        "vault_id": attempt.vault_id,
        "amount": str(attempt.amount),
        "currency": attempt.currency,
        "remaining_before": str(attempt.remaining_before),
        "workbook": attempt.workbook,
        "row": attempt.row,
    }


def written_record(attempt: Attempt, workbook: str) -> dict[str, Any]:
    """The ``written`` line: the attempt's final outcome is saved in ``workbook``."""
    return {
        "event": WRITTEN,
        "attempt": attempt.attempt,
        "key": attempt.key,
        "document_id": attempt.document_id,
        "workbook": workbook,
        "at": now_iso(),
    }


def with_outcome(
    attempt: Attempt,
    result: RowStatus,
    detail: str,
    remaining_after: Decimal | None,
    at: str,
    answered: bool | None = None,
) -> Attempt:
    return replace(
        attempt,
        result=result,
        detail=detail,
        remaining_after=remaining_after,
        outcome_at=at,
        written=False,
        answered=answered,
    )


# -- reading: lines -> attempts -------------------------------------------------------------------


def valid(record: dict[str, Any]) -> bool:
    """Whether a parsed line is a record at all (an event, an attempt id, an account key)."""
    return (
        record.get("event") in EVENTS
        and isinstance(record.get("attempt"), str)
        and bool(record.get("attempt"))
        and isinstance(record.get("key"), str)
    )


@dataclass
class _State:
    attempt: Attempt
    written_seq: int = -1
    outcome_seq: int = -1

    def take_outcome(self, record: dict[str, Any], seq: int) -> None:
        """A later outcome supersedes an earlier one; one this version cannot read is skipped."""
        outcome = result_status(record.get("result"))
        if outcome is None:
            return
        self.attempt = with_outcome(
            self.attempt,
            outcome,
            _text(record, "detail"),
            _dec(record.get("remaining_after")),
            _text(record, "at"),
            _bool(record.get("answered")),
        )
        self.outcome_seq = seq

    def folded(self) -> Attempt:
        """The attempt, written when a ``written`` came after its final outcome."""
        written = self.attempt.final and self.written_seq > self.outcome_seq
        return replace(self.attempt, written=written)


def fold_attempts(
    records: Iterable[dict[str, Any]], key: str | None = None, *, source: object = ""
) -> list[Attempt]:
    """Every attempt in ``records`` (of one account, if ``key`` is given), in the order of
    their intents, each with its latest outcome. ``source`` names the journal in warnings."""
    states: dict[str, _State] = {}
    wanted = None if key is None else normalise_key(key)
    for seq, record in enumerate(records):
        if wanted is None or normalise_key(record["key"]) == wanted:
            _fold(states, seq, record, source)
    return [state.folded() for state in states.values()]


def _fold(states: dict[str, _State], seq: int, record: dict[str, Any], source: object) -> None:
    event, ident = record["event"], record["attempt"]
    if event == INTENT:
        parsed = intent_from(record)
        if parsed is not None and ident not in states:
            states[ident] = _State(parsed)
        return
    state = states.get(ident)
    if state is None:
        log.warning("journal %s: %s record without intent (%s)", source, event, ident)
    elif event == OUTCOME:
        state.take_outcome(record, seq)
    elif event == WRITTEN:
        state.written_seq = seq


def intent_from(record: dict[str, Any]) -> Attempt | None:
    """The attempt an ``intent`` line describes; None when its essentials are unreadable."""
    try:
        document_id = int(record["document_id"])
        vault_id = int(record["vault_id"])
    except (KeyError, TypeError, ValueError):
        return None
    amount = _dec(record.get("amount"))
    remaining_before = _dec(record.get("remaining_before"))
    if amount is None or remaining_before is None:
        return None
    return Attempt(
        attempt=record["attempt"],
        key=record["key"],
        document_id=document_id,
        vault_id=vault_id,
        amount=amount,
        currency=_text(record, "currency"),
        remaining_before=remaining_before,
        workbook=_text(record, "workbook"),
        row=_row(record.get("row")),
        at=_text(record, "at"),
        vault_name=_text(record, "vault_name"),
        serial_no=_text(record, "serial_no"),
        party=_text(record, "party"),
        invoice_type=_text(record, "invoice_type"),
        grand_total=_dec(record.get("grand_total")),
        workbook_id=_text(record, "workbook_id"),
        sent_at=_float(record.get("t")),
        seen=_ids(record.get("seen")),
        seen_at=_float(record.get("seen_at")),
        kind=_text(record, "kind") or COLLECT,
    )


def _text(record: dict[str, Any], name: str) -> str:
    """A text field; missing, null or empty reads as ``""``."""
    return str(record.get(name) or "")


def _row(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _ids(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, list):
        return None
    try:
        return tuple(int(v) for v in value)
    except (TypeError, ValueError):
        return None

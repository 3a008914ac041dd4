"""A user's verdict on collection attempts the tool could not settle (``kolaybi-xl journal``).

Listing what is open and recording "applied" / "not applied" for one attempt, checked in
KolayBi by the user; the next collect on the attempt's workbook writes that outcome into its row.
"""

from __future__ import annotations

from ..workbook import layout
from .collect.records import done_text
from .errors import JobError
from .journal import Attempt, Journal
from .status import RowStatus

# The journal's detail for a user's verdict (Turkish: it ends up in the workbook's row).
_RESOLVED = "elle çözüldü: KolayBi'de kontrol edildi"


def attempts_to_show(journal: Journal, *, everything: bool = False) -> list[Attempt]:
    """The attempts without a final outcome (``everything``: all of them), oldest first."""
    attempts = journal.attempts()
    shown = attempts if everything else [a for a in attempts if not a.final]
    return sorted(shown, key=lambda a: a.at)


def record_verdict(journal: Journal, prefix: str, *, applied: bool) -> Attempt:
    """Record the user's verdict on the one open attempt whose id starts with ``prefix``."""
    attempt = _one_open_attempt(journal, prefix)
    result = RowStatus.APPLIED if applied else RowStatus.NOT_APPLIED
    with journal.lock(attempt.key):
        return journal.outcome(attempt, result, _verdict_text(attempt, applied=applied))


def _verdict_text(attempt: Attempt, *, applied: bool) -> str:
    """The journal's detail: the row's text (an undo's starts with its outcome word)."""
    if not attempt.is_undo:
        # It starts with the outcome word as every row's outcome does: a row that does not
        # say ``Tamamlandı`` is planned again, and a part would be collected a second time.
        if applied:
            label = attempt.vault_name or f"Kasa {attempt.vault_id}"
            return f"{done_text(attempt.amount, attempt.currency, label)} ({_RESOLVED})"
        return f"{layout.OUTCOME_ERROR}: tahsil edilmemiş ({_RESOLVED})"
    if applied:
        return f"{layout.OUTCOME_UNDONE} ({_RESOLVED})"
    return f"{layout.OUTCOME_ERROR}: geri alınmamış ({_RESOLVED})"


def _one_open_attempt(journal: Journal, prefix: str) -> Attempt:
    matches = [a for a in journal.attempts() if a.attempt.startswith(prefix)]
    if len(matches) != 1:
        raise JobError(
            "--resolve {id}: {n} attempts match; give more of the id", id=prefix, n=len(matches)
        )
    attempt = matches[0]
    if attempt.final:
        raise JobError(
            "attempt {id} is already settled ({result})",
            id=attempt.attempt[:12],
            result=attempt.result,
        )
    return attempt

"""``RowStatus``: the one spelling of what became of a row or an attempt.

Collect's row outcomes, the journal's results and the first words of the outcome texts all
come from here. The journal's members have the strings the journal file stores as their values
(``applied``, ``not_applied``, ...): those are on disk in every user's journal and must never
change. A row in a run has three more states the journal never records (``done``, ``skipped``,
``unchanged``); ``failed`` and ``unknown`` mean the same for a row and for an attempt.
"""

from __future__ import annotations

from enum import Enum

from ..workbook import layout


class RowStatus(str, Enum):
    # What became of an attempt: the journal's ``result`` strings (on disk, never change).
    APPLIED = "applied"
    NOT_APPLIED = "not_applied"
    FAILED = "failed"  # the server refused; nothing applied (also a row that failed)
    UNKNOWN = "unknown"  # it may have been applied; reconcile first (also such a row)
    ELSEWHERE = "elsewhere"  # not ours: another collection closed or changed the invoice
    # What became of a row in a run (never in the journal).
    DONE = "done"
    SKIPPED = "skipped"
    UNCHANGED = "unchanged"  # the row already says it is done; left alone

    def __str__(self) -> str:
        return self.value

    @property
    def final(self) -> bool:
        """An attempt with this result is settled (nothing to reconcile)."""
        return self in _FINAL

    @property
    def is_error(self) -> bool:
        """A row in this state counts as an error (the run's exit code, the plan's count)."""
        return self in (RowStatus.FAILED, RowStatus.UNKNOWN)

    def word(self, *, undo: bool = False) -> str:
        """The outcome word of this state: the first word on ``Tahsilat Günlüğü``.

        A row's ``Tahsilat Durumu`` spells an unknown outcome ``Hata`` (it must alarm) and an
        ``elsewhere`` that left something open ``Hata`` too; the texts say so themselves."""
        if undo and self in (RowStatus.APPLIED, RowStatus.DONE):
            return layout.OUTCOME_UNDONE
        return _WORDS[self]


# The journal's results: what ``Journal.outcome`` accepts and reads back.
RESULTS = frozenset(
    {
        RowStatus.APPLIED,
        RowStatus.NOT_APPLIED,
        RowStatus.FAILED,
        RowStatus.UNKNOWN,
        RowStatus.ELSEWHERE,
    }
)
_FINAL = RESULTS - {RowStatus.UNKNOWN}

_WORDS = {
    RowStatus.APPLIED: layout.OUTCOME_DONE,
    RowStatus.DONE: layout.OUTCOME_DONE,
    RowStatus.UNCHANGED: layout.OUTCOME_DONE,
    RowStatus.FAILED: layout.OUTCOME_ERROR,
    RowStatus.NOT_APPLIED: layout.OUTCOME_ERROR,
    RowStatus.UNKNOWN: layout.OUTCOME_UNKNOWN,
    RowStatus.ELSEWHERE: layout.OUTCOME_SKIPPED,
    RowStatus.SKIPPED: layout.OUTCOME_SKIPPED,
}


def result_status(value: object) -> RowStatus | None:
    """A journal ``result`` read from the file, or None for one this version does not know."""
    try:
        status = RowStatus(value)
    except (TypeError, ValueError):
        return None
    return status if status in RESULTS else None


__all__ = ["RESULTS", "RowStatus", "result_status"]

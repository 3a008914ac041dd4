"""What a collect run plans, does and reports: rows, outcomes, texts, results."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from ... import i18n
from ...api.models import Invoice, InvoiceType, ProceedResult, Vault, VaultTransaction
from ...errors import UserError
from ...i18n import N_, Lang, _, ngettext, number
from ...workbook import layout
from ...workbook.cells import VaultRef, tr_amount
from ...workbook.grid import Grid
from ..account import client_account_key
from ..errors import ExitCode, JobError
from ..journal import Attempt
from ..status import RowStatus
from .waits import SALE, TOLERANCE

log = logging.getLogger(__name__)


LOG_ROWS_SPARE = 50

REQUIRED_COLUMNS = (
    layout.C_ID,
    layout.C_MARK,
    layout.C_VAULT,
    layout.C_OUTCOME,
    layout.C_REMAINING,
    layout.C_CURRENCY,
)

# Row statuses are ``RowStatus`` members (jobs/status.py); these names stay for older imports.
DONE = RowStatus.DONE
FAILED_ROW = RowStatus.FAILED
SKIPPED = RowStatus.SKIPPED
UNKNOWN_ROW = RowStatus.UNKNOWN
UNCHANGED = RowStatus.UNCHANGED

# -- outcome texts (the first word is the contract: Tamamlandı / Hata / Atlandı) -------------

T_UNKNOWN = f"{layout.OUTCOME_ERROR}: sonuç belirsiz — KolayBi'de kontrol edin; tekrar gönderilmedi"
T_BLOCKED = f"{layout.OUTCOME_ERROR}: önceki denemenin sonucu belirsiz; KolayBi'de kontrol edin"


def pending_text(until: float | None) -> str:
    """The row of a request KolayBi may still be processing (``--no-wait``)."""
    when = datetime.fromtimestamp(until).strftime("%H:%M:%S") if until is not None else ""
    after = f" {when} sonrasında" if when else " biraz sonra"
    return (
        f"{layout.OUTCOME_ERROR}: sonuç bekleniyor — KolayBi isteği hâlâ işliyor olabilir; "
        f"tekrar gönderilmedi.{after} tahsilatı yeniden çalıştırın"
    )


def elsewhere_text(remaining: Decimal | None, currency: str) -> str:
    """Not ours: another collection closed (or changed) the invoice; say what KolayBi shows."""
    shown = f"{tr_amount(remaining)} {currency}".strip() if remaining is not None else "?"
    if remaining is not None and remaining <= TOLERANCE:
        return f"{layout.OUTCOME_SKIPPED}: başka bir tahsilatla kapanmış — KolayBi'de kalan {shown}"
    return (
        f"{layout.OUTCOME_ERROR}: fatura bu arada başka bir tahsilatla değişmiş — KolayBi'de "
        f"kalan {shown}; bu satırdan tahsilat yapılmadı, kontrol edip yeniden işaretleyin"
    )


T_NOTHING_LEFT = f"{layout.OUTCOME_SKIPPED}: kalan tutar yok"
T_NOT_APPLIED = (
    f"{layout.OUTCOME_ERROR}: gönderim KolayBi'de uygulanmadı; tahsilat yapılmadı "
    "(tekrar gönderilebilir)"
)
T_RATE_LIMITED = (
    f"{layout.OUTCOME_ERROR}: KolayBi çok fazla istek aldı (HTTP 429); gönderilmedi, "
    "daha sonra tekrar deneyin"
)


def done_text(
    amount: Decimal,
    currency: str,
    vault_label: str,
    remaining_after: Decimal | None = None,
    *,
    verified: bool = False,
) -> str:
    head = layout.OUTCOME_DONE + (" (yeniden okunarak doğrulandı)" if verified else "")
    text = f"{head}: {tr_amount(amount)} {currency} → {vault_label}"
    if remaining_after is not None and remaining_after > 0:
        text += f" (kalan {tr_amount(remaining_after)} {currency})"
    return text


def error_text(reason: str) -> str:
    return f"{layout.OUTCOME_ERROR}: {reason}"


# -- undo's outcome texts (Geri alındı / Hata / Atlandı) ----------------------------------------

T_NOTHING_TO_UNDO = f"{layout.OUTCOME_SKIPPED}: geri alınacak tahsilat yok"
T_UNDO_NOT_APPLIED = (
    f"{layout.OUTCOME_ERROR}: geri alma KolayBi'de uygulanmadı; tahsilat yerinde "
    "(yeniden deneyebilirsiniz)"
)


def undone_text(
    taken_back: Decimal | None,
    currency: str,
    remaining_after: Decimal | None = None,
    *,
    verified: bool = False,
) -> str:
    """``Geri alındı``: what KolayBi took back (the rise of the remaining amount) and what is
    left to collect now."""
    head = layout.OUTCOME_UNDONE + (" (yeniden okunarak doğrulandı)" if verified else "")
    parts = []
    if taken_back is not None and taken_back > 0:
        parts.append(f"{tr_amount(taken_back)} {currency} tahsilat geri alındı")
    if remaining_after is not None:
        parts.append(f"kalan {tr_amount(remaining_after)} {currency}")
    return f"{head}: {'; '.join(parts)}" if parts else head


def account_key(client: Any) -> str:
    """The journal's account key: normalised API URL + channel (never the API key)."""
    return client_account_key(client)


class CollectClient(Protocol):
    """What collecting needs from ``KolayBiClient`` (tests may hand in a stand-in)."""

    def get_invoice(self, document_id: int) -> Invoice: ...

    def list_invoices(self, type: InvoiceType | str = ...) -> list[Invoice]: ...

    def list_vaults(self) -> list[Vault]: ...

    def proceed(
        self, document_id: int, vault_id: int, amount: Decimal | None = None
    ) -> ProceedResult: ...

    def vault_transactions(self, vault_id: int) -> list[VaultTransaction]: ...


# -- results ----------------------------------------------------------------------------------


@dataclass
class PlannedRow:
    index: int  # 0-based row of the table
    sheet_row: int
    document_id: int
    vault: VaultRef
    amount: Decimal  # what will be collected: the current remaining amount
    currency: str
    serial_no: str
    party: str
    vault_label: str = ""
    remaining_before: Decimal | None = None  # as KolayBi reported it (amount is it in kuruş)
    grand_total: Decimal | None = None
    invoice_type: str = SALE.value
    partial: bool = False  # ``amount`` is the row's Tahsil Tutarı, less than what remains

    def __post_init__(self) -> None:
        if self.remaining_before is None:
            self.remaining_before = self.amount
        if not self.vault_label:
            self.vault_label = self.vault.name or f"Kasa {self.vault.id}"


@dataclass
class RowOutcome:
    index: int
    sheet_row: int
    document_id: int | None
    outcome: str  # the full 'Tahsilat Durumu' text
    status: RowStatus  # done | failed | skipped | unknown | unchanged
    collected_at: datetime | None = None
    paid: Decimal | None = None
    remaining: Decimal | None = None
    payment_status: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    vault: VaultRef | None = None
    attempts: list[Attempt] = field(default_factory=list)
    recovered: bool = False  # the outcome of an earlier run, written now
    undo: bool = False  # the outcome of an undo (its row is marked ``geri al``)


@dataclass
class Plan:
    rows: list[PlannedRow]
    issues: list[RowOutcome]  # marked rows that will not be sent, with their outcome text
    totals: dict[tuple[str, str], Decimal]  # (vault label, currency) -> sum
    marked: int = 0
    recovered: list[RowOutcome] = field(default_factory=list)  # earlier outcomes to write

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.status.is_error)

    @property
    def skipped(self) -> int:
        return sum(1 for i in self.issues if i.status == RowStatus.SKIPPED)

    @property
    def unchanged(self) -> int:
        return sum(1 for i in self.issues if i.status == RowStatus.UNCHANGED)

    def _count_by_total(self) -> Counter[tuple[str, str]]:
        return Counter((r.vault_label, r.currency) for r in self.rows)

    def describe(self, lang: Lang | None = None, limit: int = 20) -> str:
        """The plan (rows, totals per vault and currency, rows that will not go) in ``lang``:
        the command line's language, or Turkish for Excel's confirmation."""
        n = len(self.rows)
        lines = [
            ngettext(
                "Collection plan: {n} invoice to collect.",
                "Collection plan: {n} invoices to collect.",
                n,
                lang,
            ).format(n=number(n, lang)),
            *self._row_lines(lang, limit),
            *self._total_lines(lang),
            *self._count_lines(lang),
        ]
        row_issue = _("  row {row}: {outcome}", lang)
        for issue in self.issues:
            if issue.status.is_error:
                # the outcome is the row's 'Tahsilat Durumu' text: the workbook's, Turkish
                lines.append(row_issue.format(row=issue.sheet_row, outcome=issue.outcome))
        if self.recovered:
            k = len(self.recovered)
            lines.append(
                ngettext(
                    "{n} outcome of an earlier run will be written.",
                    "{n} outcomes of earlier runs will be written.",
                    k,
                    lang,
                ).format(n=k)
            )
        return "\n".join(lines)

    def _row_lines(self, lang: Lang | None, limit: int) -> list[str]:
        """The first ``limit`` planned rows (partial ones say so), then how many more."""
        row_text = _("  row {row}: document {doc} {serial} {party} — {amount} → {vault}", lang)
        partial_text = _(
            "  row {row}: document {doc} {serial} {party} — {amount} partial (of {remaining} "
            "open) → {vault}",
            lang,
        )
        lines = [
            (partial_text if row.partial else row_text).format(
                row=row.sheet_row,
                doc=row.document_id,
                serial=row.serial_no,
                party=row.party,
                amount=i18n.amount(row.amount, row.currency, lang),
                remaining=i18n.amount(row.remaining_before or row.amount, row.currency, lang),
                vault=row.vault_label,
            )
            for row in self.rows[:limit]
        ]
        if len(self.rows) > limit:
            lines.append(_("  … and {n} more", lang).format(n=len(self.rows) - limit))
        return lines

    def _total_lines(self, lang: Lang | None) -> list[str]:
        """Totals per vault and currency, and how many rows are partial collections."""
        lines: list[str] = []
        counts = self._count_by_total()
        if self.totals:
            lines.append(_("Totals per vault and currency:", lang))
            for (label, currency), total in sorted(self.totals.items()):
                k = counts[(label, currency)]
                invoices = ngettext("{n} invoice", "{n} invoices", k, lang).format(n=k)
                lines.append(f"  {label}: {i18n.amount(total, currency, lang)} ({invoices})")
        partials = sum(1 for r in self.rows if r.partial)
        if partials:
            lines.append(
                ngettext(
                    "{n} of them is a partial collection (its amount from Tahsil Tutarı).",
                    "{n} of them are partial collections (their amounts from Tahsil Tutarı).",
                    partials,
                    lang,
                ).format(n=number(partials, lang))
            )
        return lines

    def _count_lines(self, lang: Lang | None) -> list[str]:
        """One line: rows with an error, skipped, already collected."""
        parts = [
            ngettext("{n} row with an error", "{n} rows with an error", self.errors, lang),
            ngettext(
                "{n} row skipped (nothing left to collect)",
                "{n} rows skipped (nothing left to collect)",
                self.skipped,
                lang,
            ),
            ngettext(
                "{n} row already collected", "{n} rows already collected", self.unchanged, lang
            ),
        ]
        counted = (self.errors, self.skipped, self.unchanged)
        return [", ".join(p.format(n=k) for p, k in zip(parts, counted, strict=True)) + "."]


@dataclass
class CollectResult:
    plan: Plan
    outcomes: list[RowOutcome]
    recovered: int = 0  # earlier attempts settled or written into the workbook by this run
    cancelled: bool = False
    dry_run: bool = False
    stopped: str | None = None  # why sending stopped early (Turkish)
    unreachable: bool = False  # it stopped because KolayBi could not be reached / refused us
    saved: bool = False
    unresolved: int = 0  # earlier attempts still unknown after reconciling
    # Outcomes of other workbooks (path -> how many) not yet written there: only a collect
    # run on that workbook writes them.
    waiting_elsewhere: dict[str, int] = field(default_factory=dict)
    undo: bool = False  # the result of an undo run (Tahsilatı Geri Al)

    @property
    def counts(self) -> Counter[str]:
        rows = self.plan.issues if self.dry_run else self.outcomes
        return Counter(o.status for o in rows)

    @property
    def exit_code(self) -> int:
        if self.cancelled:
            return ExitCode.BAD_INPUT
        if self.unreachable:
            return ExitCode.API
        counts = self.counts
        failed = any(counts[s] for s in RowStatus if s.is_error)
        return ExitCode.ROWS_FAILED if failed else ExitCode.OK

    def summary(self, lang: Lang | None = None) -> str:
        """One line: the command line's language, or Turkish for the workbook's status."""
        c = self.counts
        head = (
            _("Undo: {done} taken back, {failed} failed, {skipped} skipped", lang)
            if self.undo
            else _("Collection: {done} done, {failed} failed, {skipped} skipped", lang)
        )
        text = head.format(
            done=c[RowStatus.DONE], failed=c[RowStatus.FAILED], skipped=c[RowStatus.SKIPPED]
        )
        if c[RowStatus.UNKNOWN]:
            text += _(", {n} unknown", lang).format(n=c[RowStatus.UNKNOWN])
        if c[RowStatus.UNCHANGED]:
            text += _(", {n} already done", lang).format(n=c[RowStatus.UNCHANGED])
        if self.recovered:
            text += "; " + ngettext(
                "{n} outcome of an earlier run recovered",
                "{n} outcomes of earlier runs recovered",
                self.recovered,
                lang,
            ).format(n=self.recovered)
        if self.stopped:  # the reason is the rows' own (Turkish) text
            text += _(" — stopped: {reason}", lang).format(reason=self.stopped)
        for path, n in sorted(self.waiting_elsewhere.items()):
            text += "; " + ngettext(
                "{n} outcome of collections made from {workbook} waits to be written there "
                "(run collect on that workbook)",
                "{n} outcomes of collections made from {workbook} wait to be written there "
                "(run collect on that workbook)",
                n,
                lang,
            ).format(n=n, workbook=path)
        return text

    def __str__(self) -> str:
        return self.summary()


# Documents that are not (or no longer) real invoices: never sent (the sandbox refuses
# them too; the real API's answer is undocumented, so the safe side is not to ask).
UNCOLLECTABLE_STATUSES = {
    "cancelled": "fatura iptal edilmiş; tahsil edilemez",
    "draft": "fatura taslak durumunda; önce KolayBi'de kesinleştirin",
    "rejected": "fatura reddedilmiş; tahsil edilemez",
}


def _report_progress(
    grid: Grid,
    on_progress: Callable[[int, int], None] | None,
    done: int,
    total: int,
    step: int,
) -> None:
    """Progress is for people: a failing progress display must never stop a collection
    half way (the money is moving), so its errors are logged and ignored."""
    try:
        if on_progress is not None:
            on_progress(done, total)
        if done % step == 0 or done == total:
            grid.progress(f"Tahsilat: {done}/{total}")
    except Exception:
        log.warning("progress display failed; collecting goes on", exc_info=True)


OUTCOMES_NOT_SAVED = N_(
    "the workbook could not be saved ({reason}); the outcomes are kept in the journal and will "
    "be written by the next collect run"
)


class OutcomesNotSaved(JobError):
    """Collections were made but the workbook could not be written or saved.

    Every outcome is in the journal; the next run writes them into the workbook.
    """

    def __init__(self, result: CollectResult, cause: BaseException) -> None:
        reason = cause if isinstance(cause, UserError) else (str(cause) or type(cause).__name__)
        super().__init__(
            OUTCOMES_NOT_SAVED,
            reason=reason,
            exit_code=getattr(cause, "exit_code", ExitCode.BAD_INPUT),
        )
        self.result = result


# -- reading the table ------------------------------------------------------------------------


def _payment_label(paid: Decimal | None, remaining: Decimal | None) -> str | None:
    if remaining is None:
        return None
    if remaining <= 0:
        return layout.PAYMENT_STATUS_LABELS["paid"]
    if paid is not None and paid > 0:
        return layout.PAYMENT_STATUS_LABELS["partially_paid"]
    return layout.PAYMENT_STATUS_LABELS["unpaid"]


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is not None:
        value = value.astimezone().replace(tzinfo=None)
    return value.replace(microsecond=0)

"""Collect (tahsilat) the marked rows of ``Faturalar`` — exactly once, never losing an outcome.

The API has no idempotency key, so exactly-once is this module's job (docs/architecture.md §3).
The run holds the account's journal lock throughout; the caller holds the workbook's writer lock
(the file backend takes it on open) from load to replace.

0. **Recover.** Every earlier attempt without a final outcome (a crash, a kill, an unclear
   answer) is settled by the rule of step 3; this run waits for those that may still be in
   progress at KolayBi (or, with ``no_wait``, leaves their rows pending). Final outcomes that
   never reached their workbook are written now — only into the workbook they belong to
   (path and the id kept on ``Ayarlar``); other workbooks' are announced, not written.
1. **Plan.** Marked rows are validated (mark, Belge ID, vault, duplicates, currency, invoice
   type, an earlier attempt still open), each invoice's *current* remaining amount is read
   from KolayBi, rows with nothing left are skipped. Totals per vault and currency.
2. **Confirm.** ``dry_run`` stops with the plan (nothing written anywhere); ``confirm(plan)``
   may refuse (nothing sent, nothing written).
3. **Send.** Bounded concurrency, one document never in flight twice; each proceed is preceded
   by a journal intent on disk (with the vault's transactions of that amount seen before) and
   followed by its outcome. Settling an unclear answer:

   - a request that got an answer (a 500, a 503, an unreadable 2xx, ``success: false``) is
     over: the re-read tells the truth at once;
   - one without an answer (timeout, dropped connection, a gateway's 502/504, a killed run)
     may still be applied until the *horizon* (``HORIZON_FACTOR`` x the read timeout) after it
     was sent: "applied" can be proven at once, "not applied" only after the horizon; until
     then nothing is sent again for that invoice, in this run or another;
   - "applied" (``Tamamlandı``) is claimed only with evidence tied to this request: its own
     answer, or a new transaction of its amount in its vault that none of our other
     collections explains. An invoice that changed without that was collected by someone
     else, and its row says so (``Atlandı: başka bir tahsilatla kapanmış``).

   Provably not applied -> sent again (at most twice more, each with its own intent).
4. **Write back** outcome texts and refreshed amounts in a few block writes, one log row per
   attempt on ``Tahsilat Günlüğü``, the control strip; save; then mark the journal written.

Unmarked rows are never touched. Jobs never import openpyxl or xlwings. Every wait is in one
``Waits`` value passed in (tests pass short ones and a fake ``sleep``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .. import i18n
from ..api.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    InvalidResponse,
    KolayBiError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    ServerError,
)
from ..api.listing import InvoiceListing
from ..api.models import Invoice, InvoiceType, ProceedResult, Vault, VaultTransaction
from ..errors import UserError
from ..i18n import N_, Lang, _, ngettext, number
from ..workbook import layout
from ..workbook.cells import (
    CellError,
    VaultRef,
    cell_text,
    is_blank,
    parse_document_id,
    parse_mark,
    resolve_vault,
    tr_amount,
)
from ..workbook.grid import Grid, is_live, layout_table
from .account import client_account_key
from .errors import ExitCode, JobError
from .identity import new_workbook_id, read_workbook_id, write_workbook_id
from .journal import (
    APPLIED,
    ELSEWHERE,
    FAILED,
    FINAL_RESULTS,
    NOT_APPLIED,
    UNKNOWN,
    Attempt,
    Journal,
)
from .table import InvoiceTable, chosen_types, read_invoice_table, require_columns, write_status
from .vaults import read_vaults, vault_ref

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
ZERO = Decimal(0)
TOLERANCE = Decimal("0.005")
SALE = InvoiceType.SALE_INVOICE

DETAIL_LIMIT = 20  # up to this many rows: one detail call each; more: one list call per type
MAX_SENDS = 3  # the first send plus at most two resends after a proven "not applied"
MIN_CONCURRENCY, MAX_CONCURRENCY = 1, 8

# The horizon: how long after it was sent a proceed that got no answer may still be applied
# by KolayBi. Until then only "applied" can be proven, "not applied" cannot, and nothing is
# sent again for that invoice. Three times the client's read timeout: the server worked on
# the request for at least one timeout without answering; a request still running after two
# more is past any gateway or PHP execution limit we know of (nginx 60 s, php-fpm 30-120 s).
HORIZON_FACTOR = 3
DEFAULT_PROCEED_READ_TIMEOUT = 60.0
ENV_HORIZON = "KOLAYBI_XL_HORIZON"


@dataclass(frozen=True)
class Waits:
    """Every wait of a collection run, as one value (tests pass a fake ``sleep``)."""

    reconcile_delay: float = 1.0  # after an unclear *answer*, before re-reading
    resend_backoff: float = 1.0  # before resend n (times n)
    reread_tries: int = 3  # re-reads of one invoice when reading fails, before "unknown"
    reread_backoff: float = 0.5
    horizon: float | None = None  # None: $KOLAYBI_XL_HORIZON or HORIZON_FACTOR x read timeout
    poll: float = 5.0  # re-read interval while waiting for the horizon
    sleep: Callable[[float], None] = time.sleep


DEFAULT_WAITS = Waits()


def proceed_horizon(client: Any, waits: Waits = DEFAULT_WAITS) -> float:
    """The horizon in seconds (see ``HORIZON_FACTOR``)."""
    if waits.horizon is not None:
        return max(0.0, waits.horizon)
    text = os.environ.get(ENV_HORIZON, "").strip()
    if text:
        try:
            return max(0.0, float(text))
        except ValueError:
            log.warning("%s=%r is not a number of seconds; ignored", ENV_HORIZON, text)
    timeout = getattr(client, "proceed_timeout", None)
    read = DEFAULT_PROCEED_READ_TIMEOUT
    if isinstance(timeout, tuple) and len(timeout) == 2:
        read = float(timeout[1])
    elif isinstance(timeout, (int, float)):
        read = float(timeout)
    return HORIZON_FACTOR * read


LOG_ROWS_SPARE = 50

REQUIRED_COLUMNS = (
    layout.C_ID,
    layout.C_MARK,
    layout.C_VAULT,
    layout.C_OUTCOME,
    layout.C_REMAINING,
    layout.C_CURRENCY,
)

# Row statuses.
DONE, FAILED_ROW, SKIPPED, UNKNOWN_ROW, UNCHANGED = (
    "done",
    "failed",
    "skipped",
    "unknown",
    "unchanged",
)

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
    status: str  # done | failed | skipped | unknown | unchanged
    collected_at: datetime | None = None
    paid: Decimal | None = None
    remaining: Decimal | None = None
    payment_status: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    vault: VaultRef | None = None
    attempts: list[Attempt] = field(default_factory=list)
    recovered: bool = False  # the outcome of an earlier run, written now


@dataclass
class Plan:
    rows: list[PlannedRow]
    issues: list[RowOutcome]  # marked rows that will not be sent, with their outcome text
    totals: dict[tuple[str, str], Decimal]  # (vault label, currency) -> sum
    marked: int = 0
    recovered: list[RowOutcome] = field(default_factory=list)  # earlier outcomes to write

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.status in (FAILED_ROW, UNKNOWN_ROW))

    @property
    def skipped(self) -> int:
        return sum(1 for i in self.issues if i.status == SKIPPED)

    @property
    def unchanged(self) -> int:
        return sum(1 for i in self.issues if i.status == UNCHANGED)

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
            ).format(n=number(n, lang))
        ]
        row_text = _("  row {row}: document {doc} {serial} {party} — {amount} → {vault}", lang)
        for row in self.rows[:limit]:
            lines.append(
                row_text.format(
                    row=row.sheet_row,
                    doc=row.document_id,
                    serial=row.serial_no,
                    party=row.party,
                    amount=i18n.amount(row.amount, row.currency, lang),
                    vault=row.vault_label,
                )
            )
        if n > limit:
            lines.append(_("  … and {n} more", lang).format(n=n - limit))
        counts = self._count_by_total()
        if self.totals:
            lines.append(_("Totals per vault and currency:", lang))
            for (label, currency), total in sorted(self.totals.items()):
                k = counts[(label, currency)]
                invoices = ngettext("{n} invoice", "{n} invoices", k, lang).format(n=k)
                lines.append(f"  {label}: {i18n.amount(total, currency, lang)} ({invoices})")
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
        lines.append(", ".join(p.format(n=k) for p, k in zip(parts, counted, strict=True)) + ".")
        row_issue = _("  row {row}: {outcome}", lang)
        for issue in self.issues:
            if issue.status in (FAILED_ROW, UNKNOWN_ROW):
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
        return ExitCode.ROWS_FAILED if counts[FAILED_ROW] or counts[UNKNOWN_ROW] else ExitCode.OK

    def summary(self, lang: Lang | None = None) -> str:
        """One line: the command line's language, or Turkish for the workbook's status."""
        c = self.counts
        text = _("Collection: {done} done, {failed} failed, {skipped} skipped", lang).format(
            done=c[DONE], failed=c[FAILED_ROW], skipped=c[SKIPPED]
        )
        if c[UNKNOWN_ROW]:
            text += _(", {n} unknown", lang).format(n=c[UNKNOWN_ROW])
        if c[UNCHANGED]:
            text += _(", {n} already done", lang).format(n=c[UNCHANGED])
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


def _read_table(grid: Grid) -> InvoiceTable:
    if layout.INVOICES not in grid.sheet_names():
        raise JobError(
            "the workbook has no '{sheet}' sheet; fetch invoices first", sheet=layout.INVOICES
        )
    table = read_invoice_table(grid)
    if table is None:
        raise JobError(
            "sheet '{sheet}' has no invoice table (no '{header}' header); fetch invoices first",
            sheet=layout.INVOICES,
            header=layout.ID_HEADER,
        )
    require_columns(table, REQUIRED_COLUMNS)
    if not any(any(not is_blank(v) for v in row) for row in table.rows):
        raise JobError(
            "the invoice table on '{sheet}' is empty; fetch invoices first", sheet=layout.INVOICES
        )
    return table


def _is_marked(table: InvoiceTable, index: int) -> bool:
    try:
        return parse_mark(table.get(index, layout.C_MARK.header))
    except CellError:
        return False


def _row_doc_id(table: InvoiceTable, index: int) -> int | None:
    try:
        return parse_document_id(table.get(index, layout.ID_HEADER))
    except CellError:
        return None


def _row_type(table: InvoiceTable, index: int) -> InvoiceType | None:
    text = cell_text(table.get(index, layout.C_TYPE.header))
    if not text:
        return None
    try:
        return InvoiceType.parse(text)
    except ValueError:
        return None


# -- reading invoices from the API --------------------------------------------------------------


PREFETCH_BYTES = 1 << 20  # a workbook file this big: its sales listing is read while it loads


class _Prefetch:
    """One type's listing read on a thread while the workbook's table is read (the read of a
    big sheet releases the GIL). Only taken when nothing could change the invoices between
    this read and the plan (see ``_prefetch_sales``); a failed read is simply read again."""

    def __init__(self, client: CollectClient, invoice_type: InvoiceType, waits: Waits) -> None:
        self.invoice_type = invoice_type
        self._done = threading.Event()
        self._listing: InvoiceListing | None = None
        threading.Thread(
            target=self._run, args=(client, waits), name="kolaybi-prefetch", daemon=True
        ).start()

    def _run(self, client: CollectClient, waits: Waits) -> None:
        try:
            self._listing = _read_again(
                client.invoice_listing,  # type: ignore[attr-defined]
                self.invoice_type,
                waits,
            )
        except Exception as exc:  # read again, and reported, where it is needed
            log.info("prefetching the %s list failed: %s", self.invoice_type.value, exc)
        finally:
            self._done.set()

    def take(self) -> InvoiceListing | None:
        self._done.wait()
        return self._listing


def _prefetch_sales(
    grid: Grid, client: CollectClient, journal: Journal, key: str, workbook: str, waits: Waits
) -> _Prefetch | None:
    """Start reading the sales list before the table is read, when that is worth a possibly
    unneeded call: a big workbook file (many marked rows are then likely, and its table read
    is slow) and no earlier attempt of this account to settle first (settling could change
    an invoice after this read; the plan must read after it)."""
    if is_live(grid) or getattr(client, "invoice_listing", None) is None:
        return None
    if layout.INVOICES not in grid.sheet_names():
        return None  # refused below without any API call
    try:
        if os.path.getsize(workbook) < PREFETCH_BYTES or journal.pending(key):
            return None
    except (OSError, JobError):
        return None
    return _Prefetch(client, SALE, waits)


class _Reader:
    """Reads invoices' current state with as few calls as possible; list answers are cached
    for one planning pass (never across a send: reconciling always reads afresh)."""

    def __init__(
        self,
        client: CollectClient,
        concurrency: int,
        waits: Waits,
        prefetched: _Prefetch | None = None,
    ) -> None:
        self.client = client
        self.concurrency = concurrency
        self.waits = waits
        self._lists: dict[InvoiceType, InvoiceListing | dict[int, Invoice]] = {}
        self._prefetched = prefetched

    def listing(self, invoice_type: InvoiceType) -> InvoiceListing | dict[int, Invoice]:
        """One type's invoices by id. Kept as plain data where the client can (its
        ``invoice_listing``): only the invoices looked up become models."""
        early = self._prefetched
        if invoice_type not in self._lists and early and early.invoice_type is invoice_type:
            self._prefetched = None
            listing = early.take()
            if listing is not None:
                self._lists[invoice_type] = listing
        if invoice_type not in self._lists:
            lazy = getattr(self.client, "invoice_listing", None)
            if lazy is not None:
                self._lists[invoice_type] = _read_again(lazy, invoice_type, self.waits)
            else:
                items = _read_again(self.client.list_invoices, invoice_type, self.waits)
                self._lists[invoice_type] = {inv.commercial_doc_id: inv for inv in items}
        return self._lists[invoice_type]

    def read(
        self, wanted: dict[int, InvoiceType | None], strip_type: Callable[[], InvoiceType | None]
    ) -> tuple[dict[int, Invoice], dict[int, str]]:
        """document_id -> invoice, and document_id -> Turkish reason for those not read.

        Raises ``JobError`` (exit 3) when KolayBi cannot be reached or refuses the credentials.
        """
        found: dict[int, Invoice] = {}
        errors: dict[int, str] = {}
        try:
            if len(wanted) <= DETAIL_LIMIT:
                self._details(list(wanted), wanted, found, errors)
                return found, errors
            hints: dict[int, InvoiceType] = {}
            # The control strip's type (a second read of the whole sheet) only when a row
            # has no type of its own.
            fallback = (strip_type() or SALE) if None in wanted.values() else SALE
            for doc_id, hint in wanted.items():
                hints[doc_id] = hint or fallback
            for invoice_type in sorted(set(hints.values()), key=lambda t: t.value):
                listed = self.listing(invoice_type)
                for doc_id, hint in hints.items():
                    if hint is invoice_type and (invoice := listed.get(doc_id)) is not None:
                        found[doc_id] = invoice
            missing = [d for d in wanted if d not in found]
            if len(missing) > DETAIL_LIMIT:
                for invoice_type in InvoiceType:
                    listed = self.listing(invoice_type)
                    for doc_id in missing:
                        if doc_id not in found and (invoice := listed.get(doc_id)) is not None:
                            found[doc_id] = invoice
                for doc_id in missing:
                    if doc_id not in found:
                        errors[doc_id] = "fatura KolayBi'de bulunamadı"
            elif missing:
                self._details(missing, wanted, found, errors)
        except KolayBiError as exc:
            raise JobError.from_api(exc) from None
        return found, errors

    def _details(
        self,
        ids: Sequence[int],
        hints: dict[int, InvoiceType | None],
        found: dict[int, Invoice],
        errors: dict[int, str],
    ) -> None:
        def one(doc_id: int) -> Invoice | KolayBiError:
            try:
                return _read_again(self.client.get_invoice, doc_id, self.waits)
            except (ConnectionFailed, AuthenticationError, ConfigurationError):
                raise
            except KolayBiError as exc:
                return exc

        workers = max(1, min(self.concurrency, len(ids)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kolaybi-read") as pool:
            answers = dict(zip(ids, pool.map(one, ids), strict=True))
        for doc_id in ids:
            answer = answers[doc_id]
            if isinstance(answer, Invoice) and answer.payment_plan is not None:
                found[doc_id] = answer
                continue
            # The detail has no payment plan, could not be read or says "not found" (which a
            # missing route would say too): look in its type's list before deciding.
            invoice_type = _invoice_type(answer) if isinstance(answer, Invoice) else None
            invoice_type = invoice_type or hints.get(doc_id) or SALE
            try:
                listed = self.listing(invoice_type).get(doc_id)
            except (ConnectionFailed, AuthenticationError, ConfigurationError):
                raise
            except KolayBiError as exc:
                errors[doc_id] = f"fatura KolayBi'den okunamadı: {exc}"
                continue
            if listed is not None:
                found[doc_id] = listed
            elif isinstance(answer, Invoice):
                found[doc_id] = answer  # no payment plan anywhere: reported as unreadable
            elif isinstance(answer, NotFoundError):
                errors[doc_id] = "fatura KolayBi'de bulunamadı"
            else:
                errors[doc_id] = f"fatura KolayBi'den okunamadı: {answer}"


_T = TypeVar("_T")
_A = TypeVar("_A")


def _read_again(read: Callable[[_A], _T], argument: _A, waits: Waits) -> _T:
    """A read, repeated a few times when the server failed or answered nonsense.

    The client already retries what it knows to be transient (connection errors, 429,
    502-504); a 500 or an unreadable answer to a read is worth another try too before a
    whole collection run gives up.
    """
    tries = max(1, waits.reread_tries)
    for n in range(tries):
        try:
            return read(argument)
        except (ServerError, InvalidResponse, RateLimitedError) as exc:
            if n + 1 >= tries:
                raise
            log.info("read failed (%s); trying again", exc)
            waits.sleep(waits.reread_backoff * (n + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _invoice_type(invoice: Invoice) -> InvoiceType | None:
    try:
        return InvoiceType(invoice.type) if invoice.type else None
    except ValueError:
        return None


def _reread(client: CollectClient, document_id: int, type_hint: str | None) -> Invoice:
    """The invoice's state right now: the detail, or its type's list if the detail has no plan."""
    invoice = client.get_invoice(document_id)
    if invoice.payment_plan is not None:
        return invoice
    invoice_type = _invoice_type(invoice)
    if invoice_type is None:
        try:
            invoice_type = InvoiceType.parse(type_hint) if type_hint else SALE
        except ValueError:
            invoice_type = SALE
    for item in client.list_invoices(invoice_type):
        if item.commercial_doc_id == document_id:
            return item
    raise NotFoundError(f"invoice {document_id} is not in the {invoice_type.value} list")


WAIT = "wait"  # a verdict: no proof either way yet, the request may still be in progress


@dataclass
class _Verdict:
    result: str  # applied | not_applied | elsewhere | unknown | wait
    remaining: Decimal | None = None
    invoice: Invoice | None = None
    halt: KolayBiError | None = None  # the API is unreachable / refuses us: stop the run
    pending_until: float | None = None  # unknown because the horizon has not passed yet


def _same_amount(a: Decimal | None, b: Decimal) -> bool:
    return a is not None and abs(abs(a) - abs(b)) <= TOLERANCE


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
        self._snapshots: dict[int, tuple[float, list[VaultTransaction]]] = {}

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
                self._snapshots[vault_id] = (at, items)
            at, items = self._snapshots[vault_id]
        return tuple(t.id for t in items if _same_amount(t.amount, amount)), at

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
        before = set(attempt.seen)
        new = [t for t in items if t.id not in before and _same_amount(t.amount, attempt.amount)]
        if not new:
            return False
        since = attempt.seen_at if attempt.seen_at is not None else attempt.sent_at or 0.0
        others = [
            a
            for a in self.journal.attempts(self.key)
            if a.attempt != attempt.attempt
            and a.result == APPLIED
            and a.vault_id == attempt.vault_id
            and _same_amount(a.amount, attempt.amount)
            and (a.sent_at or 0.0) >= since
        ]
        return len(new) > len(others)


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
    last: KolayBiError | None = None
    invoice: Invoice | None = None
    for n in range(max(1, waits.reread_tries)):
        if n:
            waits.sleep(waits.reread_backoff * n)
        try:
            invoice = _reread(client, attempt.document_id, attempt.invoice_type or None)
            break
        except NotFoundError as exc:
            log.warning("reconciling %s: invoice not found (%s)", attempt.document_id, exc)
            return _Verdict(UNKNOWN)
        except (ConnectionFailed, AuthenticationError, ConfigurationError) as exc:
            return _Verdict(UNKNOWN, halt=exc)
        except KolayBiError as exc:
            last = exc
    if invoice is None:
        log.warning("reconciling %s: invoice could not be read (%s)", attempt.document_id, last)
        return _Verdict(UNKNOWN if final else WAIT)
    remaining = invoice.remaining
    if remaining is None:
        log.warning("reconciling %s: no remaining amount in the answer", attempt.document_id)
        return _Verdict(UNKNOWN, invoice=invoice)
    if abs(remaining - attempt.remaining_before) <= TOLERANCE:
        return _Verdict(NOT_APPLIED if final else WAIT, remaining, invoice)
    ours = evidence.ours(attempt)
    if ours:
        return _Verdict(APPLIED, remaining, invoice)
    if not final:
        return _Verdict(WAIT, remaining, invoice)
    if ours is None:
        log.warning(
            "reconciling %s: the invoice changed (%s -> %s) but the vault cannot tell by whom",
            attempt.document_id,
            attempt.remaining_before,
            remaining,
        )
        return _Verdict(UNKNOWN, remaining, invoice)
    return _Verdict(ELSEWHERE, remaining, invoice)


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
                    return _Verdict(UNKNOWN, verdict.remaining, pending_until=deadline)
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


# -- planning ---------------------------------------------------------------------------------


def _vault_label(vault: VaultRef, vaults: Sequence[VaultRef]) -> str:
    name = vault.name.strip() or f"Kasa {vault.id}"
    same = [v for v in vaults if v.name.strip() == vault.name.strip()]
    return f"{name} (ID {vault.id})" if len(same) > 1 else name


def _payment_label(paid: Decimal | None, remaining: Decimal | None) -> str | None:
    if remaining is None:
        return None
    if remaining <= 0:
        return layout.PAYMENT_STATUS_LABELS["paid"]
    if paid is not None and paid > 0:
        return layout.PAYMENT_STATUS_LABELS["partially_paid"]
    return layout.PAYMENT_STATUS_LABELS["unpaid"]


def _build_plan(
    grid: Grid,
    table: InvoiceTable,
    client: CollectClient,
    *,
    blocked: dict[int, float | None],
    overlay: dict[int, str],
    concurrency: int,
    waits: Waits = DEFAULT_WAITS,
    prefetched: _Prefetch | None = None,
) -> Plan:
    """``blocked``: documents with an earlier attempt not settled -> when its horizon passes
    (None: only a person can settle it); ``prefetched``: a listing read while the table was."""
    issues: list[RowOutcome] = []

    def issue(index: int, doc_id: int | None, text: str, status: str = FAILED_ROW) -> None:
        issues.append(RowOutcome(index, table.sheet_row(index), doc_id, text, status))

    # 1. marks, ids
    candidates: list[tuple[int, int]] = []  # (index, document_id)
    marked = 0
    for index in range(len(table.rows)):
        try:
            if not parse_mark(table.get(index, layout.C_MARK.header)):
                continue
        except CellError as exc:
            marked += 1
            issue(index, _row_doc_id(table, index), error_text(exc.message))
            continue
        marked += 1
        try:
            doc_id = parse_document_id(table.get(index, layout.ID_HEADER))
        except CellError as exc:
            issue(index, None, error_text(exc.message))
            continue
        if doc_id is None:
            issue(index, None, error_text("Belge ID boş"))
            continue
        candidates.append((index, doc_id))
    if not candidates:
        return Plan([], issues, {}, marked)

    # 2. duplicates of one invoice: none of them is sent
    rows_of: dict[int, list[int]] = {}
    for index, doc_id in candidates:
        rows_of.setdefault(doc_id, []).append(index)
    singles: list[tuple[int, int]] = []
    for index, doc_id in candidates:
        others = rows_of[doc_id]
        if len(others) > 1:
            where = ", ".join(str(table.sheet_row(i)) for i in others)
            issue(
                index,
                doc_id,
                error_text(
                    f"Belge ID {doc_id} birden çok işaretli satırda (satır {where}); "
                    "yalnız birini işaretleyin"
                ),
            )
        elif doc_id in blocked:
            until = blocked[doc_id]
            issue(index, doc_id, T_BLOCKED if until is None else pending_text(until), UNKNOWN_ROW)
        else:
            singles.append((index, doc_id))
    if not singles:
        return Plan([], issues, {}, marked)

    # 3. vaults: names as the user picked them on Kasalar, checked against KolayBi (one call)
    try:
        api_vaults = [
            vault_ref(v) for v in _read_again(lambda _: client.list_vaults(), None, waits)
        ]
    except KolayBiError as exc:
        raise JobError.from_api(exc) from None
    sheet_vaults = read_vaults(grid)
    choices = sheet_vaults or api_vaults
    api_by_id = {v.id: v for v in api_vaults}
    resolved: list[tuple[int, int, VaultRef]] = []
    for index, doc_id in singles:
        try:
            chosen = resolve_vault(table.get(index, layout.C_VAULT.header), choices)
        except CellError as exc:
            issue(index, doc_id, error_text(exc.message))
            continue
        vault = api_by_id.get(chosen.id)
        if vault is None:
            issue(
                index,
                doc_id,
                error_text(
                    f"Kasa/Banka KolayBi'de bulunamadı: '{chosen.name}' (ID {chosen.id}); "
                    "Kasalar sayfasını yenileyin"
                ),
            )
            continue
        resolved.append((index, doc_id, vault))
    if not resolved:
        return Plan([], issues, {}, marked)

    # 4. the invoices' current state
    grid.progress(f"{len(resolved)} faturanın güncel kalan tutarı okunuyor…")

    def strip_type() -> InvoiceType | None:
        try:
            types = chosen_types(grid, SALE)
        except JobError:
            return None
        return types[0] if len(types) == 1 else None

    reader = _Reader(client, concurrency, waits, prefetched)
    found, read_errors = reader.read({d: _row_type(table, i) for i, d, _ in resolved}, strip_type)

    rows: list[PlannedRow] = []
    totals: dict[tuple[str, str], Decimal] = {}
    for index, doc_id, vault in resolved:
        invoice = found.get(doc_id)
        if invoice is None:
            reason = read_errors.get(doc_id, "fatura KolayBi'de bulunamadı")
            issue(index, doc_id, error_text(f"{reason} (Belge ID {doc_id})"))
            continue
        invoice_type = _invoice_type(invoice)
        if invoice_type is not SALE:
            label = (
                invoice_type.label
                if invoice_type
                else (
                    invoice.commercial_doc_type.description if invoice.commercial_doc_type else None
                )
                or invoice.type
                or "bilinmiyor"
            )
            issue(
                index,
                doc_id,
                error_text(f"yalnız satış faturaları tahsil edilir (bu belge: {label})"),
            )
            continue
        status = invoice.commercial_doc_status.value if invoice.commercial_doc_status else None
        if status in UNCOLLECTABLE_STATUSES:
            issue(index, doc_id, error_text(UNCOLLECTABLE_STATUSES[status]))
            continue
        currency = (
            invoice.currency or cell_text(table.get(index, layout.C_CURRENCY.header))
        ).upper()
        if not currency:
            issue(index, doc_id, error_text("faturanın para birimi okunamadı"))
            continue
        if currency != vault.currency.upper():
            issue(
                index,
                doc_id,
                error_text(
                    f"para birimi uyuşmuyor: fatura {currency}, kasa '{vault.name}' "
                    f"{vault.currency.upper() or '?'}"
                ),
            )
            continue
        remaining = invoice.remaining
        if remaining is None:
            issue(index, doc_id, error_text("faturanın kalan tutarı KolayBi'den okunamadı"))
            continue
        amount = remaining.quantize(CENT, rounding=ROUND_DOWN)
        grand_total = invoice.total.grand_total
        if amount <= 0:
            current = overlay.get(index, cell_text(table.get(index, layout.C_OUTCOME.header)))
            if current.startswith(layout.OUTCOME_DONE):
                issue(index, doc_id, current, UNCHANGED)
            else:
                paid = invoice.payment_plan.total_paid if invoice.payment_plan else None
                if paid is None and grand_total is not None:
                    paid = grand_total - remaining
                skipped = RowOutcome(
                    index,
                    table.sheet_row(index),
                    doc_id,
                    T_NOTHING_LEFT,
                    SKIPPED,
                    paid=paid,
                    remaining=remaining,
                    payment_status=_payment_label(paid, remaining),
                )
                issues.append(skipped)
            continue
        label = _vault_label(vault, api_vaults)
        rows.append(
            PlannedRow(
                index=index,
                sheet_row=table.sheet_row(index),
                document_id=doc_id,
                vault=vault,
                amount=amount,
                currency=currency,
                serial_no=invoice.header.serial_no
                or cell_text(table.get(index, layout.C_SERIAL.header)),
                party=invoice.header.associate.full_name
                or cell_text(table.get(index, layout.C_PARTY.header)),
                vault_label=label,
                remaining_before=remaining,
                grand_total=grand_total,
                invoice_type=SALE.value,
            )
        )
        totals[(label, currency)] = totals.get((label, currency), ZERO) + amount
    issues.sort(key=lambda o: o.index)
    return Plan(rows, issues, totals, marked)


def plan_collection(
    grid: Grid,
    client: CollectClient,
    *,
    key: str,
    journal: Journal | None = None,
    concurrency: int = 4,
) -> Plan:
    """The plan alone: read-only (no lock, no journal writes, nothing sent, nothing written).

    Documents with an earlier attempt whose outcome is not settled are reported, not planned.
    """
    table = _read_table(grid)
    journal = journal if journal is not None else Journal.default()
    blocked: dict[int, float | None] = {a.document_id: None for a in journal.pending(key)}
    return _build_plan(
        grid, table, client, blocked=blocked, overlay={}, concurrency=_clamp(concurrency)
    )


def _clamp(concurrency: int) -> int:
    return max(MIN_CONCURRENCY, min(MAX_CONCURRENCY, int(concurrency)))


# -- recovery ---------------------------------------------------------------------------------


def _record_verdict(journal: Journal, attempt: Attempt, verdict: _Verdict) -> bool:
    """Journal a verdict on an earlier attempt; True when it is settled now."""
    label = attempt.vault_name or f"Kasa {attempt.vault_id}"
    if verdict.result == APPLIED:
        text = done_text(attempt.amount, attempt.currency, label, verdict.remaining, verified=True)
        journal.outcome(attempt, APPLIED, text, verdict.remaining, answered=attempt.answered)
        return True
    if verdict.result == NOT_APPLIED:
        journal.outcome(
            attempt, NOT_APPLIED, T_NOT_APPLIED, verdict.remaining, answered=attempt.answered
        )
        return True
    if verdict.result == ELSEWHERE:
        text = elsewhere_text(verdict.remaining, attempt.currency)
        journal.outcome(attempt, ELSEWHERE, text, verdict.remaining, answered=attempt.answered)
        return True
    if attempt.result is None:
        text = T_UNKNOWN if verdict.pending_until is None else pending_text(verdict.pending_until)
        journal.outcome(attempt, UNKNOWN, text, verdict.remaining, answered=False)
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
    by_doc: dict[int, list[Attempt]] = {}
    for attempt in pending:
        by_doc.setdefault(attempt.document_id, []).append(attempt)
    settled = 0
    unknown: dict[int, float | None] = {}
    open_: list[Attempt] = []
    for doc_id, attempts in by_doc.items():
        if len(attempts) > 1:
            log.warning(
                "document %s has %d unsettled attempts; left unknown", doc_id, len(attempts)
            )
            unknown[doc_id] = None
        else:
            open_.append(attempts[0])
    while open_:
        later: list[Attempt] = []
        for attempt in open_:
            answered = attempt.answered is True
            verdict = settler.judge_now(attempt, answered=answered)
            if verdict.halt is not None:
                # The API is unreachable: leave the rest for later.
                unknown.update(dict.fromkeys((a.document_id for a in open_), None))
                return settled, unknown
            if verdict.result == WAIT:
                later.append(attempt)
                continue
            if _record_verdict(journal, attempt, verdict):
                settled += 1
            else:
                unknown[attempt.document_id] = None
        if not later:
            break
        deadlines = [settler.deadline(a) for a in later]
        if settler.no_wait:
            for attempt, deadline in zip(later, deadlines, strict=True):
                pending_verdict = _Verdict(UNKNOWN, pending_until=deadline)
                _record_verdict(journal, attempt, pending_verdict)
                unknown[attempt.document_id] = deadline
            break
        left = max(deadlines) - settler.clock()
        progress(len(later), max(0.0, left))
        settler.waits.sleep(max(0.0, min(settler.waits.poll, min(deadlines) - settler.clock())))
        open_ = later
    return settled, unknown


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
    marked_rows: dict[int, list[int]] = {}
    for index in range(len(table.rows)):
        doc_id = _row_doc_id(table, index)
        if doc_id is not None and _is_marked(table, index):
            marked_rows.setdefault(doc_id, []).append(index)
    rows: list[RowOutcome] = []
    taken: list[Attempt] = []
    elsewhere: Counter[str] = Counter()
    for attempt in attempts:  # journal order: a later attempt's outcome wins
        if not _belongs(attempt, workbook, workbook_id):
            elsewhere[attempt.workbook] += 1
            continue
        taken.append(attempt)
        for index in marked_rows.get(attempt.document_id, []):
            rows.append(_outcome_from_attempt(table, index, attempt))
    return rows, taken, elsewhere


def _outcome_from_attempt(table: InvoiceTable, index: int, attempt: Attempt) -> RowOutcome:
    applied = attempt.result == APPLIED
    remaining = attempt.remaining_after
    paid = None
    if applied and remaining is not None and attempt.grand_total is not None:
        paid = attempt.grand_total - remaining
    text = attempt.detail or (
        done_text(
            attempt.amount, attempt.currency, attempt.vault_name or f"Kasa {attempt.vault_id}"
        )
        if applied
        else error_text("önceki deneme başarısız")
    )
    status = DONE if applied else FAILED_ROW
    if attempt.result == ELSEWHERE and text.startswith(layout.OUTCOME_SKIPPED):
        status = SKIPPED
    return RowOutcome(
        index,
        table.sheet_row(index),
        attempt.document_id,
        text,
        status,
        collected_at=_parse_time(attempt.outcome_at) if applied else None,
        paid=paid,
        remaining=remaining if applied else None,
        payment_status=_payment_label(paid, remaining) if applied else None,
        amount=attempt.amount,
        currency=attempt.currency,
        attempts=[attempt],
        recovered=True,
    )


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


# -- sending ----------------------------------------------------------------------------------


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
        return self._outcome(row, error_text(f"gönderilmedi: {reason}"), FAILED_ROW, attempts)

    def _outcome(
        self,
        row: PlannedRow,
        text: str,
        status: str,
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
        if status == DONE:
            outcome.collected_at = self.now().replace(microsecond=0)
            outcome.remaining = remaining
            if remaining is not None and row.grand_total is not None:
                outcome.paid = row.grand_total - remaining
            outcome.payment_status = _payment_label(outcome.paid, remaining)
        return outcome

    def _record(
        self,
        attempts: list[Attempt],
        attempt: Attempt,
        result: str,
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
                row, f"{T_UNKNOWN} (beklenmeyen hata: {type(exc).__name__})", UNKNOWN_ROW, []
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
            seen, seen_at = self.settler.evidence.seen(row.vault.id, amount)
            try:
                attempt = self.journal.intent(
                    key=self.key,
                    document_id=row.document_id,
                    vault_id=row.vault.id,
                    amount=amount,
                    currency=row.currency,
                    remaining_before=remaining_before,
                    workbook=self.workbook,
                    row=row.sheet_row,
                    vault_name=row.vault_label,
                    serial_no=row.serial_no,
                    party=row.party,
                    invoice_type=row.invoice_type,
                    grand_total=row.grand_total,
                    workbook_id=self.workbook_id,
                    seen=seen,
                    seen_at=seen_at,
                )
            except Exception as exc:
                log.exception("journal: could not record the intent; nothing sent")
                self.halt(f"tahsilat günlüğü yazılamadı ({type(exc).__name__})")
                return self._not_sent(row, attempts)
            try:
                answer = self.client.proceed(row.document_id, row.vault.id, amount)
            except (RejectedError, NotFoundError) as exc:
                text = error_text(f"KolayBi reddetti: {exc.message}")
                self._record(attempts, attempt, FAILED, text, None)
                return self._outcome(row, text, FAILED_ROW, attempts)
            except RateLimitedError:
                self._record(attempts, attempt, FAILED, T_RATE_LIMITED, None)
                return self._outcome(row, T_RATE_LIMITED, FAILED_ROW, attempts)
            except (AuthenticationError, ConfigurationError) as exc:
                self.halt(f"KolayBi kimlik bilgilerini reddetti ({exc})", unreachable=True)
                text = error_text(f"gönderilmedi: {self.stop_reason}")
                self._record(attempts, attempt, FAILED, text, None)
                return self._outcome(row, text, FAILED_ROW, attempts)
            except ConnectionFailed as exc:
                self.halt(f"KolayBi'ye ulaşılamadı ({exc})", unreachable=True)
                text = error_text(f"gönderilmedi: {self.stop_reason}")
                self._record(attempts, attempt, FAILED, text, None)
                return self._outcome(row, text, FAILED_ROW, attempts)
            except Exception as exc:  # OutcomeUnknown, or anything else: it may have been applied
                # Answered (a 500, a 503, an unreadable 2xx): the request is over and a re-read
                # tells the truth. No answer (timeout, drop, 504, anything unexpected): KolayBi
                # may still apply it until the horizon; nothing is sent again before that.
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
                if verdict.result == APPLIED:
                    text = done_text(
                        amount, row.currency, row.vault_label, verdict.remaining, verified=True
                    )
                    self._record(attempts, attempt, APPLIED, text, verdict.remaining, answered)
                    return self._outcome(row, text, DONE, attempts, verdict.remaining)
                if verdict.result == ELSEWHERE:
                    text = elsewhere_text(verdict.remaining, row.currency)
                    self._record(attempts, attempt, ELSEWHERE, text, verdict.remaining, answered)
                    status = SKIPPED if text.startswith(layout.OUTCOME_SKIPPED) else FAILED_ROW
                    outcome = self._outcome(row, text, status, attempts)
                    outcome.remaining = verdict.remaining
                    return outcome
                if verdict.result != NOT_APPLIED:
                    text = (
                        T_UNKNOWN
                        if verdict.pending_until is None
                        else pending_text(verdict.pending_until)
                    )
                    self._record(attempts, attempt, UNKNOWN, text, verdict.remaining, answered)
                    return self._outcome(row, text, UNKNOWN_ROW, attempts)
                # Provably not applied: it may be sent again.
                self._record(
                    attempts, attempt, NOT_APPLIED, T_NOT_APPLIED, verdict.remaining, answered
                )
                if sends >= MAX_SENDS:
                    text = error_text(
                        f"KolayBi yanıt vermedi; tahsilat yapılmadı ({sends} deneme) — "
                        "daha sonra tekrar deneyebilirsiniz"
                    )
                    return self._outcome(row, text, FAILED_ROW, attempts)
                if self.stop.wait(self.waits.resend_backoff * sends):
                    return self._not_sent(row, attempts)
                if verdict.remaining is not None:
                    remaining_before = verdict.remaining
                continue
            remaining_after = answer.remaining_amount
            if remaining_after is None:
                remaining_after = remaining_before - amount
            text = done_text(amount, row.currency, row.vault_label, remaining_after)
            self._record(attempts, attempt, APPLIED, text, remaining_after, True)
            return self._outcome(row, text, DONE, attempts, remaining_after)


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
    total = len(plan.rows)
    outcomes: list[RowOutcome] = []
    step = max(1, total // 20)
    grid.progress(f"Tahsilat: {total} fatura gönderiliyor…")
    told = 0.0
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="kolaybi-collect") as pool:
        futures = {pool.submit(sender.send, row): row for row in plan.rows}
        running = set(futures)
        try:
            while running:
                finished, running = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in finished:
                    row = futures[future]
                    try:
                        outcome = future.result()
                    except Exception as exc:  # send() catches everything; belt and braces
                        log.exception("collecting row %s failed", row.sheet_row)
                        outcome = sender._outcome(
                            row,
                            f"{T_UNKNOWN} (beklenmeyen hata: {type(exc).__name__})",
                            UNKNOWN_ROW,
                            [],
                        )
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

_WRITE_COLUMNS = (
    (layout.C_OUTCOME.header, "outcome"),
    (layout.C_COLLECTED_AT.header, "collected_at"),
    (layout.C_PAID.header, "paid"),
    (layout.C_REMAINING.header, "remaining"),
    (layout.C_PAYMENT_STATUS.header, "payment_status"),
)
_LOG_RESULT = {
    APPLIED: layout.OUTCOME_DONE,
    FAILED: layout.OUTCOME_ERROR,
    NOT_APPLIED: layout.OUTCOME_ERROR,
    UNKNOWN: layout.OUTCOME_UNKNOWN,
    ELSEWHERE: layout.OUTCOME_SKIPPED,
}


def _target_rows(table: InvoiceTable, original: InvoiceTable, outcome: RowOutcome) -> list[int]:
    """Where an outcome goes in the table as it is now (rows may have moved in Excel)."""
    index = outcome.index
    if index < len(table.rows):
        if outcome.document_id is not None and _row_doc_id(table, index) == outcome.document_id:
            return [index]
        if outcome.document_id is None and index < len(original.rows):
            same_id = cell_text(table.get(index, layout.ID_HEADER)) == cell_text(
                original.get(index, layout.ID_HEADER)
            )
            same_mark = cell_text(table.get(index, layout.C_MARK.header)) == cell_text(
                original.get(index, layout.C_MARK.header)
            )
            if same_id and same_mark:
                return [index]
    if outcome.document_id is None:
        return []
    return [
        i
        for i in range(len(table.rows))
        if _row_doc_id(table, i) == outcome.document_id and _is_marked(table, i)
    ]


def _write_rows(grid: Grid, original: InvoiceTable, outcomes: Sequence[RowOutcome]) -> int:
    """Write outcome cells.

    A workbook file holds what was read at the start: its outcome cells are written row by
    row, only in touched rows. On a grid someone may edit meanwhile (Excel: rows may have
    moved during the run) the table is read again, and each column is written as one block
    over the affected rows (a constant number of calls into Excel)."""
    live = is_live(grid)
    table = (read_invoice_table(grid) or original) if live else original
    updates: dict[int, RowOutcome] = {}
    for outcome in outcomes:  # later outcomes win
        if outcome.status == UNCHANGED:
            continue
        for index in _target_rows(table, original, outcome):
            updates[index] = outcome
    if not updates:
        return 0
    if live:
        _write_columns(grid, table, updates)
        return len(updates)
    columns = [(table.col(header), attribute) for header, attribute in _WRITE_COLUMNS]
    for index in sorted(updates):
        outcome = updates[index]
        cells = {
            column: value
            for column, attribute in columns
            if column is not None and (value := getattr(outcome, attribute)) is not None
        }
        # One write per run of adjacent columns (the outcome columns sit side by side).
        ordered = sorted(cells)
        for first, column in enumerate(ordered):
            if first and ordered[first - 1] == column - 1:
                continue  # written with the run it continues
            last = column
            while last + 1 in cells:
                last += 1
            block = [[cells[c] for c in range(column, last + 1)]]
            grid.write(layout.INVOICES, table.sheet_row(index), column, block)
    return len(updates)


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
                (
                    layout.OUTCOME_ERROR
                    if attempt.result == ELSEWHERE
                    and attempt.detail.startswith(layout.OUTCOME_ERROR)
                    else _LOG_RESULT.get(attempt.result, attempt.result)
                ),
                attempt.detail,
                attempt.remaining_after,
            ]
        )
    return rows


def _append_log(grid: Grid, rows: list[list[Any]]) -> None:
    if not rows:
        return
    created = grid.ensure_sheet(layout.COLLECTION_LOG)
    block = [] if created else grid.read(layout.COLLECTION_LOG)
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


# -- the job ----------------------------------------------------------------------------------


def collect_marked(
    grid: Grid,
    client: CollectClient,
    journal: Journal,
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
    """Collect the marked rows of ``Faturalar`` (see the module docstring for the steps).

    ``workbook`` is the workbook's path (outcomes are written only into the workbook they
    belong to); ``waits`` every wait of the run; ``no_wait``: do not wait for requests that
    got no answer (their rows say the outcome is pending); ``on_wait(count, seconds)`` is told
    while the run waits for such requests.

    Raises ``JobError`` for a workbook or settings problem (nothing sent), with exit code 3
    when KolayBi cannot be reached while planning; ``OutcomesNotSaved`` when money moved but
    the workbook could not be written or saved (the next run writes the outcomes).
    """
    concurrency = _clamp(concurrency)
    waits = DEFAULT_WAITS if waits is None else waits
    with journal.lock(key):
        prefetched = _prefetch_sales(grid, client, journal, key, workbook, waits)
        table = _read_table(grid)  # a bad workbook fails before any other API call
        horizon = proceed_horizon(client, waits)
        evidence = _Evidence(client, journal, key, waits)
        settler = _Settler(
            client, evidence, waits=waits, horizon=horizon, no_wait=no_wait, clock=journal.clock
        )

        # This workbook's id (kept on Ayarlar): outcomes are written only where they belong.
        # (Written into the workbook with this run's outcomes; a run killed before that
        # recorded it in the journal, and the next run on this path adopts it from there.)
        workbook_id = read_workbook_id(grid)
        id_to_write = not workbook_id
        if id_to_write:
            workbook_id = _adopted_id(journal.attempts(key), workbook)

        # 0. recover
        grid.progress("Önceki tahsilat denemeleri denetleniyor…")

        def waiting(count: int, seconds: float) -> None:
            _report_wait(grid, on_wait, count, seconds)

        if dry_run:
            settled = 0
            still_open: dict[int, float | None] = {
                a.document_id: None for a in journal.pending(key)
            }
        else:
            settled, still_open = _recover_pending(journal, key, settler, progress=waiting)
        earlier, taken, elsewhere = _recovered_rows(
            table, journal.unwritten(key), workbook, workbook_id
        )
        overlay = {o.index: o.outcome for o in earlier}
        if settled or still_open:  # the invoices may have changed since the early read
            prefetched = None

        # 1. plan
        grid.progress("Tahsilat planı hazırlanıyor…")
        plan = _build_plan(
            grid,
            table,
            client,
            blocked=still_open,
            overlay=overlay,
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
        )
        log.info("recovery: %d earlier attempt(s) settled, %d to write", settled, len(taken))

        # 2. confirm
        if dry_run:
            return result
        if plan.rows and confirm is not None and not confirm(plan):
            result.cancelled = True
            return result

        # 3. send
        sender = _Sender(
            client,
            journal,
            key=key,
            workbook=workbook,
            workbook_id=workbook_id,
            now=now,
            waits=waits,
            settler=settler,
        )
        sent = (
            _send_all(
                sender,
                plan,
                grid=grid,
                concurrency=concurrency,
                on_progress=on_progress,
                on_wait=on_wait,
            )
            if plan.rows
            else []
        )
        result.stopped = sender.stop_reason if sender.stop.is_set() else None
        result.unreachable = sender.unreachable

        # 4. write back: earlier outcomes first, this run's override them row by row
        this_run = {o.index: o for o in [*plan.issues, *sent]}
        final: dict[int, RowOutcome] = {}
        for outcome in earlier:
            final[outcome.index] = outcome
        for index, outcome in this_run.items():
            earlier_one = final.get(index)
            if earlier_one is not None and (
                outcome.status == UNCHANGED
                # "nothing left" says less than an earlier "closed by another collection"
                or (outcome.outcome == T_NOTHING_LEFT and earlier_one.status == SKIPPED)
            ):
                continue
            final[index] = outcome
        result.outcomes = [final[i] for i in sorted(final)]

        attempts_now = [a for o in sent for a in o.attempts]
        to_log = [*taken, *attempts_now]
        if not final and not to_log:
            return result
        grid.progress("Sonuçlar yazılıyor…")
        try:
            if id_to_write:
                write_workbook_id(grid, workbook_id)
            _write_rows(grid, table, result.outcomes)
            _append_log(grid, _log_rows(to_log, sender.times))
            write_status(
                grid,
                f"{result.summary('tr')} ({now().strftime('%d.%m.%Y %H:%M')})",
            )
            grid.save()  # under the workbook's writer lock: the saved file holds them now
        except Exception as exc:
            log.error("writing the outcomes failed: %s", exc)
            raise OutcomesNotSaved(result, exc) from exc
        result.saved = True
        written = [a for a in to_log if a.result in FINAL_RESULTS]
        try:
            journal.mark_written(written, workbook=workbook)
        except OSError as exc:  # saved anyway; the next run only writes them once more
            log.warning("journal: could not mark %d outcome(s) written: %s", len(written), exc)
        return result


__all__ = [
    "DEFAULT_WAITS",
    "CollectClient",
    "CollectResult",
    "OutcomesNotSaved",
    "Plan",
    "PlannedRow",
    "RowOutcome",
    "Waits",
    "account_key",
    "collect_marked",
    "done_text",
    "plan_collection",
    "proceed_horizon",
    "tr_amount",
]

"""Reading the sheet and KolayBi: the table, invoice listings, the sales prefetch."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ...api.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    InvalidResponse,
    KolayBiError,
    NotFoundError,
    RateLimitedError,
    ServerError,
)
from ...api.listing import InvoiceListing
from ...api.models import Invoice, InvoiceType
from ...workbook import layout
from ...workbook.cells import (
    CellError,
    cell_text,
    is_blank,
    is_undo_mark,
    parse_document_id,
    parse_mark,
)
from ...workbook.grid import Grid, is_live
from ..errors import JobError
from ..journal import Journal
from ..marked_table import read_marked_table
from ..table import InvoiceTable, read_invoice_table, require_columns
from .records import REQUIRED_COLUMNS, CollectClient
from .waits import DETAIL_LIMIT, SALE, Waits

log = logging.getLogger(__name__)


def _read_table(grid: Grid, *, marked_only: bool = False) -> InvoiceTable:
    """The invoice table; ``marked_only``: whole rows may be read only where ``Tahsil Et`` holds
    something (see ``marked_table``), for a run that looks at no other row."""
    if layout.INVOICES not in grid.sheet_names():
        raise JobError(
            "the workbook has no '{sheet}' sheet; fetch invoices first", sheet=layout.INVOICES
        )
    table = read_marked_table(grid) if marked_only else None
    if table is not None:
        require_columns(table, REQUIRED_COLUMNS)
        return table
    # Shared: a run never changes its table's rows (``_as_recovered`` copies the few it
    # adjusts), so a workbook file's grid lends them instead of copying 50,000 rows.
    table = read_invoice_table(grid, shared=True)
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


def _is_undo_marked(table: InvoiceTable, index: int) -> bool:
    return is_undo_mark(table.get(index, layout.C_MARK.header))


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
            self._from_listings(wanted, strip_type, found)
            missing = [d for d in wanted if d not in found]
            if len(missing) > DETAIL_LIMIT:
                self._from_every_listing(missing, found, errors)
            elif missing:
                self._details(missing, wanted, found, errors)
        except KolayBiError as exc:
            raise JobError.from_api(exc) from None
        return found, errors

    def _from_listings(
        self,
        wanted: dict[int, InvoiceType | None],
        strip_type: Callable[[], InvoiceType | None],
        found: dict[int, Invoice],
    ) -> None:
        """Many rows: one listing per invoice type the rows name."""
        # The control strip's type (a second read of the whole sheet) only when a row has no
        # type of its own.
        fallback = (strip_type() or SALE) if None in wanted.values() else SALE
        hints = {doc_id: hint or fallback for doc_id, hint in wanted.items()}
        for invoice_type in sorted(set(hints.values()), key=lambda t: t.value):
            listed = self.listing(invoice_type)
            for doc_id, hint in hints.items():
                if hint is invoice_type and (invoice := listed.get(doc_id)) is not None:
                    found[doc_id] = invoice

    def _from_every_listing(
        self, missing: list[int], found: dict[int, Invoice], errors: dict[int, str]
    ) -> None:
        """Many rows not where their type said: every type's listing."""
        for invoice_type in InvoiceType:
            listed = self.listing(invoice_type)
            for doc_id in missing:
                if doc_id not in found and (invoice := listed.get(doc_id)) is not None:
                    found[doc_id] = invoice
        for doc_id in missing:
            if doc_id not in found:
                errors[doc_id] = "fatura KolayBi'de bulunamadı"

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
            if isinstance(answer, Invoice) and answer.remaining is not None:
                found[doc_id] = answer
            else:
                self._from_list(doc_id, answer, hints.get(doc_id), found, errors)

    def _from_list(
        self,
        doc_id: int,
        answer: Invoice | KolayBiError,
        hint: InvoiceType | None,
        found: dict[int, Invoice],
        errors: dict[int, str],
    ) -> None:
        """The detail has no remaining amount (no payment plan), could not be read or says
        "not found" (which a missing route would say too): look in its type's list."""
        invoice_type = _invoice_type(answer) if isinstance(answer, Invoice) else None
        invoice_type = invoice_type or hint or SALE
        try:
            listed = self.listing(invoice_type).get(doc_id)
        except (ConnectionFailed, AuthenticationError, ConfigurationError):
            raise
        except KolayBiError as exc:
            errors[doc_id] = f"fatura KolayBi'den okunamadı: {exc}"
            return
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
    """The invoice's state right now: the detail, or — when the detail lacks the payment
    fields (KolayBi's detail may hide what its list carries) — its type's list, read afresh."""
    invoice = client.get_invoice(document_id)
    if invoice.remaining is not None:
        return invoice
    invoice_type = _invoice_type(invoice)
    if invoice_type is None:
        try:
            invoice_type = InvoiceType.parse(type_hint) if type_hint else SALE
        except ValueError:
            invoice_type = SALE
    log.info("invoice %s: the detail has no remaining amount; reading its list", document_id)
    lazy = getattr(client, "invoice_listing", None)
    if lazy is not None:
        listed = lazy(invoice_type).get(document_id)
        if listed is not None:
            return listed
    else:
        for item in client.list_invoices(invoice_type):
            if item.commercial_doc_id == document_id:
                return item
    raise NotFoundError(f"invoice {document_id} is not in the {invoice_type.value} list")

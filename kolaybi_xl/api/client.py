"""The KolayBi HTTP client: the public calls, the token, and the one request loop.

Retries are decided by what is safe to repeat (``answers.next_step``): reads and the token
call are retried on connection errors, 429 and 502/503/504; a collection (``proceed``) is
only sent again when the server certainly did not apply it (429, 401, connection refused)
and otherwise raises ``OutcomeUnknown`` for the caller to reconcile. Paging lives in
``paging``, the HTTP helpers in ``http``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from ..gcpause import paused_gc
from .answers import (
    Failure,
    Step,
    final_error,
    network_failure,
    next_step,
    outcome_unknown,
    parse_model,
    read_answer,
)
from .errors import (
    ConfigurationError,
    InvalidResponse,
    KolayBiError,
    NotFoundError,
    OutcomeUnknown,
)
from .http import MAX_RETRY_AFTER, USER_AGENT, BearerAuth, Redactor, backoff_delay
from .inputs import check_base_url, checked_credentials, format_amount, is_loopback
from .listed import InvoiceStream
from .listing import InvoiceListing
from .models import Invoice, InvoiceType, ProceedResult, Vault, VaultTransaction
from .paging import Listing, PageWalk

log = logging.getLogger("kolaybi_xl.api")

SANDBOX_URL = "https://ofis-sandbox-api.kolaybi.com/kolaybi/v1"
PRODUCTION_URL = "https://ofis-api.kolaybi.com/kolaybi/v1"

# Tokens live 24 h; renew an hour early so a long run never holds an expiring one.
TOKEN_TTL = 23 * 3600.0


@dataclass(frozen=True)
class _Request:
    """One logical request, as ``_exchange`` sends it (perhaps more than once)."""

    method: str
    path: str
    url: str
    form: dict[str, str] | None
    json: dict[str, Any] | None
    auth: bool
    # May it be sent again after it possibly reached the server? (reads and the token call:
    # yes; proceed: no)
    repeatable: bool
    whole_body: bool


class KolayBiClient:
    """A client for the KolayBi REST API.

    >>> client = KolayBiClient(base_url=SANDBOX_URL, channel="...", api_key="...")  # doctest: +SKIP
    >>> client.list_invoices("sale_invoice")  # doctest: +SKIP
    """

    def __init__(
        self,
        base_url: str,
        channel: str,
        api_key: str,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        proceed_timeout: tuple[float, float] | None = None,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        token_ttl: float = TOKEN_TTL,
        max_pages: int = 10_000,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = check_base_url(base_url)
        self.channel, self._api_key = checked_credentials(channel, api_key)
        self.timeout = timeout
        self.proceed_timeout = proceed_timeout or (timeout[0], max(timeout[1], 60.0))
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.token_ttl = token_ttl
        self.max_pages = max_pages
        self._sleep = sleep
        self._clock = clock
        self._redact = Redactor()
        self._redact.add(self._api_key)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        # One session per thread: requests.Session is not documented as thread-safe.
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self._rng = random.Random()
        # Until the server has answered once, a refused connection or an unknown host is a
        # wrong URL or a missing network, not a blip: fail at once instead of retrying.
        self._answered = False
        # A running record of every call's notes (a list that may be incomplete) and skipped
        # invoices; ``list_invoices`` returns the same for its own call (``Listing``).
        self.warnings: list[str] = []
        self.skipped: list[str] = []

    def __repr__(self) -> str:
        return f"KolayBiClient(base_url={self.base_url!r}, channel={self.channel!r})"

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        self._local = threading.local()

    def __enter__(self) -> KolayBiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            session.headers["Accept"] = "application/json"
            session.trust_env = True
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    # -- public API --------------------------------------------------------------------------

    def list_invoices(self, type: InvoiceType | str = InvoiceType.SALE_INVOICE) -> Listing[Invoice]:
        """Every invoice of one type, following any paging the answer carries.

        A list (``Listing``): ``.complete``/``.notes`` say whether it may lack invoices,
        ``.skipped`` names the malformed ones left out.
        """
        invoice_type = InvoiceType.parse(type)
        walk = self._page_walk("/invoices", {"type": invoice_type.value}, "commercial_doc_id")
        invoices: Listing[Invoice] = Listing()
        skipped: list[str] = []
        # Tens of thousands of parsed dicts and models that all live on: the cyclic collector
        # would walk them over and over for nothing (see ``gcpause``).
        with paused_gc():
            for page in walk.pages():
                # In order, each answer dict dropped as soon as its model exists: at the peak
                # memory holds about one form of a page, not both.
                page.reverse()
                while page:
                    item = page.pop()
                    try:
                        invoices.append(self._parse(Invoice, item, "invoice"))
                    except InvalidResponse as exc:
                        # One malformed invoice is that invoice's problem, not the whole list's.
                        log.warning("%s; skipped", exc.message)
                        skipped.append(exc.message)
        invoices.notes = tuple(walk.notes)
        invoices.skipped = tuple(skipped)
        self.warnings.extend(walk.notes)
        self.skipped.extend(skipped)
        return invoices

    def iter_invoices(self, type: InvoiceType | str = InvoiceType.SALE_INVOICE) -> InvoiceStream:
        """``list_invoices`` as a stream of ``ListedInvoice`` (the values a table row shows):
        each invoice is read while its page is at hand, no model or list of them is kept.
        Malformed invoices are skipped and reported as ``list_invoices`` does them."""
        invoice_type = InvoiceType.parse(type)
        walk = self._page_walk("/invoices", {"type": invoice_type.value}, "commercial_doc_id")
        return InvoiceStream(
            walk, lambda item: self._parse(Invoice, item, "invoice"), self.skipped, self.warnings
        )

    def invoice_listing(self, type: InvoiceType | str = InvoiceType.SALE_INVOICE) -> InvoiceListing:
        """``list_invoices`` as the answer's plain data: each item validated only when asked
        for (a collection re-reads a few invoices out of a long list)."""
        invoice_type = InvoiceType.parse(type)
        with paused_gc():  # many dicts that all live on (see ``list_invoices``)
            items = self._get_all_pages(
                "/invoices", {"type": invoice_type.value}, "commercial_doc_id"
            )
        return InvoiceListing(
            items,
            lambda item: self._parse(Invoice, item, "invoice"),
            self.skipped,
            getattr(items, "notes", ()),
        )

    def get_invoice(self, document_id: int) -> Invoice:
        data = self._get(f"/invoices/{int(document_id)}")
        if not isinstance(data, dict):
            raise InvalidResponse("invoice detail: expected an object in 'data'")
        return self._parse(Invoice, data, "invoice")

    def list_vaults(self, *, currency: str | None = None, type: str | None = None) -> list[Vault]:
        currency = (currency or "").strip() or None
        type = (type or "").strip() or None
        params = {k: v for k, v in (("currency", currency), ("type", type)) if v}
        items = self._get_all_pages("/vaults", params, "id")
        vaults = [self._parse(Vault, item, "vault") for item in items]
        return _matching(vaults, currency, type)

    def vault_transactions(self, vault_id: int) -> list[VaultTransaction]:
        """The transaction history of a vault (``transactionables``; documented fields only)."""
        data = self._get(f"/vaults/{int(vault_id)}/transactions")
        items = data.get("transactionables") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise InvalidResponse("vault transactions: expected a list of 'transactionables'")
        return [self._parse(VaultTransaction, item, "vault transaction") for item in items]

    def proceed(
        self,
        document_id: int,
        vault_id: int,
        amount: Decimal | float | int | str | None = None,
    ) -> ProceedResult:
        """Collect (tahsilat) an invoice into a vault: the whole remaining amount by default.

        Raises ``OutcomeUnknown`` whenever the request may have been applied without a
        trustworthy answer; never repeats such a request.
        """
        document_id, vault_id = int(document_id), int(vault_id)
        form: dict[str, str] = {"document_id": str(document_id), "vault_id": str(vault_id)}
        if amount is not None:
            form["amount"] = format_amount(amount)
        status, data = self._exchange("POST", "/invoices/proceed", form=form, repeatable=False)
        # From here on the server said `success: true`: the collection was most likely
        # applied, so an unreadable result must not look like "nothing happened".
        if not isinstance(data, dict):
            raise outcome_unknown("the collection answer has no result object", status, form)
        try:
            return self._parse(ProceedResult, data, "proceed result")
        except InvalidResponse as exc:
            raise outcome_unknown(
                f"the collection was accepted but its result is unreadable: {exc.message}",
                status,
                form,
            ) from None

    def undo_collection(self, document_id: int) -> None:
        """Take back the collection(s) of an invoice (``DELETE /invoices/proceed/{id}``).

        Whether KolayBi takes back every collection of the invoice or only the last one is not
        documented. Not repeatable, like ``proceed``: whenever the request may have been
        applied without a trustworthy answer it raises ``OutcomeUnknown``; a 4xx is the usual
        ``KolayBiError`` subclass (e.g. ``RejectedError``: nothing to take back).
        """
        document_id = int(document_id)
        try:
            self._exchange("DELETE", f"/invoices/proceed/{document_id}", repeatable=False)
        except OutcomeUnknown as exc:
            if exc.document_id is None:  # no form to read it from: the id is in the path
                exc.document_id = document_id
            raise

    def _get_all_pages(
        self, path: str, params: dict[str, str], id_field: str
    ) -> Listing[dict[str, Any]]:
        """Every item of a paged list (see ``paging``); its notes also go to ``warnings``."""
        walk = self._page_walk(path, params, id_field)
        items: Listing[dict[str, Any]] = Listing(item for page in walk.pages() for item in page)
        items.notes = tuple(walk.notes)
        self.warnings.extend(walk.notes)
        return items

    def _page_walk(self, path: str, params: dict[str, str], id_field: str) -> PageWalk:
        """A walk over the pages of a list (see ``paging``); nothing is sent until it starts."""

        def fetch(page_path: str, page_params: dict[str, str]) -> dict[str, Any]:
            body: dict[str, Any] = self._request(
                "GET", page_path, params=page_params, whole_body=True
            )
            return body

        return PageWalk(fetch, self.base_url, path, params, id_field, max_pages=self.max_pages)

    # -- token -------------------------------------------------------------------------------

    def _current_token(self) -> str:
        with self._token_lock:
            if self._token is None or self._clock() >= self._token_expires:
                # The server's 24 h start when it issues the token: count from before asking.
                asked = self._clock()
                self._token = self._fetch_token()
                self._token_expires = asked + self.token_ttl
            return self._token

    def _drop_token(self, token: str) -> None:
        with self._token_lock:
            if self._token == token:  # another thread may have renewed it already
                self._token = None

    def _fetch_token(self) -> str:
        try:
            data = self._request(
                "POST", "/access_token", json={"api_key": self._api_key}, auth=False
            )
        except NotFoundError as exc:
            # The first call of every run: a 404 here is a URL without the API's path.
            hint = (
                "the URL probably lacks the /kolaybi/v1 path "
                "(it must look like https://host/kolaybi/v1)"
                if not urlsplit(self.base_url).path.rstrip("/").endswith("/kolaybi/v1")
                else "check the URL (it must look like https://host/kolaybi/v1)"
            )
            raise ConfigurationError(
                f"{self.base_url}/access_token answered 404 (not found): {hint}", status=404
            ) from exc
        if not isinstance(data, str) or not data.strip():
            raise InvalidResponse("access_token: expected the token string in 'data'")
        token = data.strip()
        self._redact.add(token)
        return token

    # -- the one request path ---------------------------------------------------------------

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self._request("GET", path, params=params)

    def _request(self, method: str, path: str, **options: Any) -> Any:
        """Send one logical request; return ``data`` (or the whole body) of a success.

        Takes the keyword options of ``_exchange``.
        """
        return self._exchange(method, path, **options)[1]

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        auth: bool = True,
        repeatable: bool = True,
        whole_body: bool = False,
    ) -> tuple[int, Any]:
        """Send one logical request; return the HTTP status and ``data`` (or the whole body).

        ``repeatable`` says whether the request may be sent again after it possibly reached
        the server (true for reads and the token call, false for proceed).
        """
        url = self.base_url + path
        if params:
            url = f"{url}?{urlencode(params)}"
        request = _Request(method, path, url, form, json, auth, repeatable, whole_body)
        renewed = False
        attempt = 0
        while True:
            token = self._current_token() if auth else None
            outcome = self._send_once(request, token)
            if not isinstance(outcome, Failure):
                return outcome
            step = next_step(
                outcome,
                repeatable=repeatable,
                attempt=attempt,
                max_retries=self.max_retries,
                renewed=renewed,
            )
            if step is Step.RAISE:
                raise final_error(outcome, repeatable=repeatable, form=form)
            if step is Step.RENEW and token is not None:
                self._drop_token(token)
                renewed = True
                continue
            self._wait(attempt, outcome.retry_after, f"{method} {path}: {outcome.why}")
            attempt += 1

    def _send_once(self, request: _Request, token: str | None) -> tuple[int, Any] | Failure:
        """One try: the status and the answer's ``data`` (or whole body), or a ``Failure``."""
        started = self._clock()
        try:
            response = self._session.request(
                request.method,
                request.url,
                headers={"Channel": self.channel},
                data=request.form,
                json=request.json,
                timeout=self.timeout if request.repeatable else self.proceed_timeout,
                allow_redirects=False,
                auth=BearerAuth(token),
            )
        except requests.exceptions.RequestException as exc:
            # Before the server has answered once, a refused or unknown host is no blip.
            return network_failure(exc, self._redact, self.base_url, answered=self._answered)
        self._answered = True
        elapsed = self._clock() - started
        log.debug(
            "%s %s -> %s in %.3fs", request.method, request.path, response.status_code, elapsed
        )
        answer = read_answer(
            response,
            request.path,
            self._redact,
            whole_body=request.whole_body,
            strict=not request.repeatable,
            had_token=token is not None,
        )
        return answer if isinstance(answer, Failure) else (response.status_code, answer)

    def _wait(self, attempt: int, retry_after: float | None, why: str) -> None:
        delay = backoff_delay(
            attempt, retry_after, backoff=self.backoff, max_backoff=self.max_backoff, rng=self._rng
        )
        log.info("%s; retrying in %.2fs", why, delay)
        self._sleep(delay)

    def _parse(self, model: Any, data: Any, what: str) -> Any:
        return parse_model(model, data, what, self._redact)


def _matching(vaults: list[Vault], currency: str | None, type: str | None) -> list[Vault]:
    # The documented filter key is `type`; one client sends `vault_type`. Filter here too,
    # case-insensitively (answers mix `try`/`TRY` and `SAFE_DEPOSIT`/`safe_deposit`).
    return [
        v
        for v in vaults
        if (not currency or (v.currency or "") == currency.upper())
        and (not type or (v.type or "") == type.lower())
    ]


__all__ = [
    "MAX_RETRY_AFTER",
    "PRODUCTION_URL",
    "SANDBOX_URL",
    "KolayBiClient",
    "KolayBiError",
    "Listing",
    "check_base_url",
    "is_loopback",
]

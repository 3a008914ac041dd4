"""The KolayBi HTTP client.

Retries are decided by what is safe to repeat: reads and the token call are retried on
connection errors, 429 and 502/503/504; a collection (``proceed``) is only sent again when
the server certainly did not apply it (429, 401, connection refused) and otherwise raises
``OutcomeUnknown`` for the caller to reconcile.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json as json_module
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urlencode, urlsplit, urlunsplit

import requests
import requests.auth
from pydantic import ValidationError

from ..gcpause import paused_gc
from .errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    InvalidResponse,
    KolayBiError,
    NotFoundError,
    OutcomeUnknown,
    RateLimitedError,
    RejectedError,
    ServerError,
)
from .listing import InvoiceListing
from .models import Invoice, InvoiceType, ProceedResult, Vault, VaultTransaction

log = logging.getLogger("kolaybi_xl.api")

SANDBOX_URL = "https://ofis-sandbox-api.kolaybi.com/kolaybi/v1"
PRODUCTION_URL = "https://ofis-api.kolaybi.com/kolaybi/v1"

# Tokens live 24 h; renew an hour early so a long run never holds an expiring one.
TOKEN_TTL = 23 * 3600.0
RETRYABLE_READ_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 60.0
USER_AGENT = "kolaybi-xl/0.1 (+python-requests)"
_UNPARSED: Any = object()
_UNICODE_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{4}")


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str) -> str:
    """Return the normalised base URL, or raise ``ConfigurationError``.

    ``https`` is required for any host but loopback, so a token never crosses a network
    in clear text.
    """
    text = (base_url or "").strip()
    expected = "the API URL must look like https://host/kolaybi/v1"
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        # The text may carry a password: never echo it.
        raise ConfigurationError(f"{expected}; this one cannot be read") from None
    # Checked first so that no later message can echo a password.
    if "@" in parts.netloc:
        raise ConfigurationError("the API URL must not carry a user name or password")
    if parts.scheme not in ("http", "https") or not hostname:
        raise ConfigurationError(f"{expected}, got {text!r}")
    if parts.scheme == "http" and not is_loopback(hostname):
        raise ConfigurationError(
            f"refusing plain http:// for {hostname}: use https:// (http is only for loopback)"
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


class _Redactor:
    """Removes the API key and tokens from any text that may reach a user or a log."""

    def __init__(self) -> None:
        # An immutable tuple, replaced whole: threads may redact while a token is added.
        # Longest first, so a secret that contains another one is removed whole.
        self._secrets: tuple[str, ...] = ()

    def add(self, secret: str | None) -> None:
        if not secret or len(secret) < 4 or secret in self._secrets:
            return
        # Also the forms a server may echo it in: JSON-escaped (``\u00e7``, either case,
        # ``\/`` as PHP writes it) and URL-encoded (``%C3%A7``, ``+`` for a space).
        escaped = json_module.dumps(secret)[1:-1]
        forms = {
            secret,
            escaped,
            escaped.replace("/", "\\/"),
            _UNICODE_ESCAPE.sub(lambda m: m.group(0).upper().replace("\\U", "\\u"), escaped),
            json_module.dumps(secret, ensure_ascii=False)[1:-1],
            quote(secret, safe=""),
            quote(secret, safe="").lower(),
            quote_plus(secret, safe=""),
        }
        self._secrets = tuple(
            sorted({*self._secrets, *(f for f in forms if len(f) >= 4)}, key=len, reverse=True)
        )

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text


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
        if not channel or not str(channel).strip():
            raise ConfigurationError("the Channel is empty (ask KolayBi support for it)")
        if not api_key or not str(api_key).strip():
            raise ConfigurationError("the API key is empty")
        if not str(channel).strip().isprintable():
            # A line break would end the header (requests refuses it only at send time).
            raise ConfigurationError("the Channel contains control characters")
        if not str(api_key).strip().isprintable():
            raise ConfigurationError("the API key contains control characters")
        self.channel = str(channel).strip()
        self._api_key = str(api_key).strip()
        self.timeout = timeout
        self.proceed_timeout = proceed_timeout or (timeout[0], max(timeout[1], 60.0))
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.token_ttl = token_ttl
        self.max_pages = max_pages
        self._sleep = sleep
        self._clock = clock
        self._redact = _Redactor()
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
        # Things a caller should tell the user (e.g. a list that may be incomplete); the
        # jobs show them, the client only records them.
        self.warnings: list[str] = []
        # Invoices of a list that could not be read (one line each), skipped with a warning.
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

    def list_invoices(self, type: InvoiceType | str = InvoiceType.SALE_INVOICE) -> list[Invoice]:
        """Every invoice of one type, following any paging the answer carries."""
        invoice_type = InvoiceType.parse(type)
        # Tens of thousands of parsed dicts and models that all live on: the cyclic collector
        # would walk them over and over for nothing (see ``gcpause``).
        with paused_gc():
            items = self._get_all_pages(
                "/invoices", {"type": invoice_type.value}, "commercial_doc_id"
            )
            # In order, each answer dict dropped as soon as its model exists: at the peak
            # memory holds about one form of the list, not both.
            items.reverse()
            invoices: list[Invoice] = []
            while items:
                item = items.pop()
                try:
                    invoices.append(self._parse(Invoice, item, "invoice"))
                except InvalidResponse as exc:
                    # One malformed invoice is that invoice's problem, not the whole list's.
                    log.warning("%s; skipped", exc.message)
                    self.skipped.append(exc.message)
            return invoices

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
        # The documented filter key is `type`; one client sends `vault_type`. Filter here too,
        # case-insensitively (answers mix `try`/`TRY` and `SAFE_DEPOSIT`/`safe_deposit`).
        if currency:
            vaults = [v for v in vaults if (v.currency or "") == currency.upper()]
        if type:
            vaults = [v for v in vaults if (v.type or "") == type.lower()]
        return vaults

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
            form["amount"] = _format_amount(amount)
        status, data = self._exchange("POST", "/invoices/proceed", form=form, repeatable=False)
        # From here on the server said `success: true`: the collection was most likely
        # applied, so an unreadable result must not look like "nothing happened".
        if not isinstance(data, dict):
            raise _outcome_unknown("the collection answer has no result object", status, form)
        try:
            return self._parse(ProceedResult, data, "proceed result")
        except InvalidResponse as exc:
            raise _outcome_unknown(
                f"the collection was accepted but its result is unreadable: {exc.message}",
                status,
                form,
            ) from None

    # -- paging ------------------------------------------------------------------------------

    def _get_all_pages(
        self, path: str, params: dict[str, str], id_field: str
    ) -> list[dict[str, Any]]:
        """Follow ``links.next``, ``meta.last_page`` or an older ``pagination`` object.

        A plain ``data`` list is one page. Items are de-duplicated by ``id_field``; the walk
        stops when a page adds nothing new, when the pages run out, or at ``max_pages``.
        """
        body = self._request("GET", path, params=params, whole_body=True)
        seen: dict[int, dict[str, Any]] = {}
        self._collect_items(body, seen, path, id_field)
        pages = 1
        page_no = 1
        while True:
            next_request = self._next_page(body, path, params, page_no, len(seen))
            if next_request is None:
                break
            if pages >= self.max_pages:
                log.warning("%s: stopped after %s pages", path, self.max_pages)
                self.warnings.append(f"{path}: stopped after {self.max_pages} pages")
                break
            next_path, next_params = next_request
            try:
                page_no = int(next_params.get("page", page_no + 1))
            except ValueError:
                page_no += 1
            body = self._request("GET", next_path, params=next_params, whole_body=True)
            pages += 1
            if self._collect_items(body, seen, path, id_field) == 0:
                log.warning("%s: page %s added no new items; stopping", path, page_no)
                break
        total = _paging_total(body)
        if total is not None and total != len(seen):
            log.warning("%s: server reported %s items, received %s", path, total, len(seen))
            self.warnings.append(
                f"{path}?{urlencode(params)}: KolayBi reported {total} items, {len(seen)} received"
            )
        return list(seen.values())

    def _collect_items(
        self, body: dict[str, Any], seen: dict[int, dict[str, Any]], path: str, id_field: str
    ) -> int:
        data = body.get("data")
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]  # a paginator nested inside data
        if not isinstance(data, list):
            raise InvalidResponse(f"{path}: expected a list in 'data'")
        added = 0
        for item in data:
            if not isinstance(item, dict):
                raise InvalidResponse(f"{path}: list item is not an object")
            key = _int_id(item.get(id_field))
            if key is None:
                raise InvalidResponse(
                    f"{path}: list item {len(seen) + added + 1} without an integer {id_field!r}"
                )
            if key not in seen:
                seen[key] = item
                added += 1
        return added

    def _next_page(
        self,
        body: dict[str, Any],
        path: str,
        params: dict[str, str],
        page_no: int,
        received: int,
    ) -> tuple[str, dict[str, str]] | None:
        links = body.get("links")
        if isinstance(links, dict) and links.get("next"):
            return self._same_api_url(str(links["next"]), path, params)
        meta = body.get("meta") or (
            body.get("data") if isinstance(body.get("data"), dict) else None
        )
        if isinstance(meta, dict):
            current, last = meta.get("current_page"), meta.get("last_page")
            if isinstance(current, int) and isinstance(last, int):
                return (path, {**params, "page": str(current + 1)}) if current < last else None
        pagination = body.get("pagination")
        if isinstance(pagination, dict):
            total = pagination.get("total")
            current = pagination.get("current_page", page_no)
            if isinstance(total, int) and isinstance(current, int) and received < total:
                return path, {**params, "page": str(current + 1)}
        return None

    def _same_api_url(
        self, url: str, path: str, params: dict[str, str]
    ) -> tuple[str, dict[str, str]]:
        """Turn a ``links.next`` URL into a path under our base URL; refuse other hosts.

        The bearer token must never be sent to a host the user did not configure: only the
        link's path and query are used, always against ``base_url`` (so an ``http://`` link
        to our own host, as a TLS-terminating proxy produces, is still fetched over https).
        The first request's filters are kept: Laravel's next links drop them by default.
        """
        base = urlsplit(self.base_url)
        try:
            parts = urlsplit(url.strip())
            host = parts.hostname
        except ValueError:
            raise InvalidResponse("the next page link cannot be read") from None
        if parts.netloc and (host or "") != (base.hostname or ""):
            raise InvalidResponse(f"the next page points to another host ({host or '?'})")
        link_params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        merged = {**params, **link_params}
        if not parts.path:  # "?page=2": the same path
            return path, merged
        prefix = base.path.rstrip("/")
        if prefix and parts.path != prefix and not parts.path.startswith(prefix + "/"):
            raise InvalidResponse("the next page points outside the API")
        return parts.path[len(prefix) :] or "/", merged

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
        reauthenticated = False
        attempt = 0
        while True:
            headers = {"Channel": self.channel}
            token = None
            if auth:
                token = self._current_token()
            timeout = self.timeout if repeatable else self.proceed_timeout
            started = self._clock()
            try:
                response = self._session.request(
                    method,
                    url,
                    headers=headers,
                    data=form,
                    json=json,
                    timeout=timeout,
                    allow_redirects=False,
                    # An explicit auth object: without one, requests lets a ~/.netrc entry for
                    # the host replace the Authorization header.
                    auth=_BearerAuth(token),
                )
            except requests.exceptions.RequestException as exc:
                sent = _may_have_been_sent(exc)
                reason = self._redact(_describe_network_error(exc))
                if not repeatable and sent:
                    raise _outcome_unknown(
                        f"no answer after sending the collection: {reason}", None, form
                    ) from None
                cause = _network_cause(exc)
                fail_fast = not self._answered and cause in _HINTS
                if attempt < self.max_retries and not fail_fast:
                    self._wait(attempt, None, f"{method} {path}: {reason}")
                    attempt += 1
                    continue
                raise ConnectionFailed(self._unreachable(reason, cause), cause=cause) from None
            self._answered = True
            elapsed = self._clock() - started
            log.debug("%s %s -> %s in %.3fs", method, path, response.status_code, elapsed)
            status = response.status_code

            if status == 401 and auth and not reauthenticated and token is not None:
                # An expired or revoked token: nothing was applied; renew once and resend.
                self._drop_token(token)
                reauthenticated = True
                continue
            if status == 429 or (repeatable and status in RETRYABLE_READ_STATUSES):
                retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                if attempt < self.max_retries:
                    self._wait(attempt, retry_after, f"{method} {path}: HTTP {status}")
                    attempt += 1
                    continue
                message = self._server_message(response)
                if status == 429:
                    raise RateLimitedError(message, retry_after=retry_after)
                raise ServerError(message, status=status)
            return status, self._interpret(response, path, form, repeatable, whole_body)

    def _interpret(
        self,
        response: requests.Response,
        path: str,
        form: dict[str, str] | None,
        repeatable: bool,
        whole_body: bool,
    ) -> Any:
        status = response.status_code
        body = _json_or_none(response)  # parsed once: list answers can be large
        if 200 <= status < 300 and isinstance(body, dict) and body.get("success") is not False:
            message = ""  # not needed on the success path
        else:
            message = self._server_message(response, body)
        if status >= 500:
            if not repeatable:
                raise _outcome_unknown(
                    f"the server failed while collecting: {message}", status, form
                )
            raise ServerError(message, status=status)
        if status in (401, 403):
            raise AuthenticationError(message, status=status)
        if status == 404:
            raise NotFoundError(message, status=status)
        if status == 429:
            raise RateLimitedError(message)
        if 300 <= status < 400:
            # Redirects are not followed: a POST must not silently turn into a GET elsewhere,
            # and the token must not follow the redirect to another host.
            where = self._redact(response.headers.get("Location", "?"))[:200]
            if not repeatable:
                # The request did reach a server; whether it acted on it is unknown.
                raise _outcome_unknown(
                    f"the collection was answered with a redirect to {where}", status, form
                )
            raise ConfigurationError(f"{path}: the server redirects to {where}", status=status)
        if not 200 <= status < 300:
            raise RejectedError(message, status=status)
        if not isinstance(body, dict):
            excerpt = self._excerpt(response) or "empty answer"
            if not repeatable:
                raise _outcome_unknown(
                    f"unreadable answer to the collection: {excerpt}", status, form
                )
            raise InvalidResponse(f"{path}: not a JSON object: {excerpt}", status=status)
        success = body.get("success")
        if success is False:
            if not repeatable:
                # A 2xx that says "not successful" after a collection: the server may have
                # applied it anyway; only a re-read can tell.
                raise _outcome_unknown(
                    f"the collection was answered 'success: false' ({message})", status, form
                )
            raise RejectedError(message, status=status)
        if success is not True:
            if not repeatable:
                # A collection is only trusted with an explicit `"success": true`.
                raise _outcome_unknown("the collection answer has no success flag", status, form)
            # Reads: the documented list answer (docs/architecture.md §4) has only `data`; no flag:
            # accept an answer that has `data` (its shape is checked by the caller).
            if success is not None or "data" not in body:
                raise InvalidResponse(f"{path}: the answer has no success flag", status=status)
        return body if whole_body else body.get("data")

    def _server_message(self, response: requests.Response, body: Any = _UNPARSED) -> str:
        if body is _UNPARSED:
            body = _json_or_none(response)
        message: Any = None
        if isinstance(body, dict):
            message = body.get("message")
            error = body.get("error")
            if not message and isinstance(error, dict):
                message = error.get("message")
            elif not message and isinstance(error, str):
                message = error
            errors = body.get("errors")
            if isinstance(errors, dict) and errors:
                details = "; ".join(
                    f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                    for k, v in errors.items()
                )
                message = f"{message} ({details})" if message else details
        if not message:
            message = self._excerpt(response) or f"HTTP {response.status_code}"
        return self._redact(str(message).strip())[:500]

    def _excerpt(self, response: requests.Response) -> str:
        """A short, readable, secret-free piece of a body that is not the expected JSON."""
        # Redact the whole text before cutting anything, so no piece of a secret survives.
        text = self._redact(_body_text(response))[:20_000]
        if _LOOKS_LIKE_HTML.search(text[:2_000]):
            text = _HTML_TAG.sub(" ", _HIDDEN_HTML.sub(" ", text))
        text = self._redact(" ".join(text.split()))
        return text[:160] + ("…" if len(text) > 160 else "")

    def _unreachable(self, reason: str, cause: str | None) -> str:
        """'KolayBi could not be reached' with the reason and what to check."""
        host = urlsplit(self.base_url).netloc
        hint = _HINTS.get(cause or "", "check your internet or VPN connection")
        return f"KolayBi could not be reached at {host}: {reason}; {hint}"

    def _wait(self, attempt: int, retry_after: float | None, why: str) -> None:
        if retry_after is not None:
            delay = min(retry_after, MAX_RETRY_AFTER)
        else:
            # Capped exponential backoff with jitter so parallel workers do not stampede.
            ceiling = min(self.max_backoff, self.backoff * (2.0 ** min(attempt, 60)))
            delay = ceiling * self._rng.uniform(0.5, 1.0)
        log.info("%s; retrying in %.2fs", why, delay)
        self._sleep(delay)

    def _parse(self, model: Any, data: Any, what: str) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            ident = (
                data.get("commercial_doc_id", data.get("id")) if isinstance(data, dict) else None
            )
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            label = f"{what} {ident}" if ident is not None else what
            raise InvalidResponse(
                self._redact(f"unexpected {label}: field '{where}': {first.get('msg')}")
            ) from None


_LOOKS_LIKE_HTML = re.compile(r"<(!doctype|html|head|body|title|p|div|h[1-6])\b", re.I)
_HIDDEN_HTML = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_HTML_TAG = re.compile(r"<[^>]*>")


def _format_amount(amount: Decimal | float | int | str) -> str:
    """``Decimal("100.5")`` -> ``"100.50"``; refuse what cannot be sent exactly.

    Silently rounding an amount of money (``100.505``) would collect something else than
    asked. A float is read through its shortest text (``0.1`` -> ``"0.10"``), as amounts in
    answers are.
    """
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, float, int, str)):
        raise ValueError(f"not an amount: {amount!r}")
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"amount must be a positive number: {amount!r}")
    try:
        cents = value.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValueError(f"amount is too large: {amount!r}") from None
    if cents != value:
        raise ValueError(f"amount has more than 2 decimals: {amount!r}")
    return f"{cents:f}"


def _int_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class _BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>`` (or no Authorization at all for the token call)."""

    def __init__(self, token: str | None) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        if self._token is not None:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(***)"


def _paging_total(body: dict[str, Any]) -> int | None:
    for key in ("meta", "pagination"):
        block = body.get(key)
        if isinstance(block, dict) and isinstance(block.get("total"), int):
            total: int = block["total"]
            return total
    return None


def _declares_charset(response: requests.Response) -> bool:
    return "charset" in response.headers.get("Content-Type", "").lower()


def _body_text(response: requests.Response) -> str:
    """The body as text. Without a declared charset requests falls back to ISO-8859-1 for
    ``text/*``, which turns Turkish UTF-8 text ("Bakım") into mojibake ("BakÄ±m")."""
    if _declares_charset(response):
        return response.text or ""
    return (response.content or b"").decode("utf-8", errors="replace")


def _json_or_none(response: requests.Response) -> Any:
    try:
        if _declares_charset(response):
            return response.json()
        # JSON is UTF-8 (or UTF-16/32, which json.loads detects from the bytes), even when
        # a server labels it text/html without a charset.
        return json_module.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        return None


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _may_have_been_sent(exc: requests.exceptions.RequestException) -> bool:
    """False only when the request certainly never reached the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = repr(exc)
        refused = ("NewConnectionError", "NameResolutionError", "ConnectionRefusedError")
        return not any(marker in text for marker in refused)
    return not isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema))


# What to check when the first connection of a run fails this way (no retry for these).
_HINTS = {
    "refused": "nothing answers at that address: check the URL (KOLAYBI_BASE_URL or the "
    "workbook's Ortam setting) and that the server is running",
    "dns": "check the spelling of the URL and your internet or VPN connection",
}


def _network_cause(exc: requests.exceptions.RequestException) -> str | None:
    """How a request failed without an answer, in one word (``ConnectionFailed.cause``)."""
    if isinstance(exc, requests.exceptions.Timeout):
        return "timeout"
    text = repr(exc)
    if "NameResolutionError" in text or "getaddrinfo" in text or "Name or service" in text:
        return "dns"
    if "ConnectionRefusedError" in text or "Connection refused" in text:
        return "refused"
    if isinstance(exc, requests.exceptions.SSLError):
        return "tls"
    if "RemoteDisconnected" in text or "ConnectionResetError" in text:
        return "closed"
    return None


def _describe_network_error(exc: requests.exceptions.RequestException) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer in time (read timeout)"
    text = repr(exc)
    if "ConnectionRefusedError" in text or "NewConnectionError" in text:
        return "connection refused"
    if "NameResolutionError" in text or "getaddrinfo" in text:
        return "host name could not be resolved"
    if "RemoteDisconnected" in text or "ConnectionResetError" in text or "ProtocolError" in text:
        return "connection closed by the server"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS/SSL error"
    return exc.__class__.__name__


def _outcome_unknown(text: str, status: int | None, form: dict[str, str] | None) -> OutcomeUnknown:
    return OutcomeUnknown(
        text,
        status=status,
        document_id=_int_or_none(form, "document_id"),
        vault_id=_int_or_none(form, "vault_id"),
    )


def _int_or_none(form: dict[str, str] | None, key: str) -> int | None:
    if not form or key not in form:
        return None
    try:
        return int(form[key])
    except ValueError:
        return None


__all__ = [
    "PRODUCTION_URL",
    "SANDBOX_URL",
    "KolayBiClient",
    "KolayBiError",
    "check_base_url",
    "is_loopback",
]

"""Request handling without sockets: routing, the Channel and token checks, and the faults.

The endpoints are in ``endpoints`` (the API; the invoice detail is ``ApiEndpoints.invoice``)
and ``control`` (``/_sandbox/...``); reading inputs in ``inputs``; the envelope in ``wire``.

Emulator-chosen behaviour (undocumented by KolayBi; see docs/architecture.md §4):

- Order of checks: route (404 unknown path, 405 wrong method with ``Allow``), latency,
  ``Channel`` header (400 when missing, 401 when wrong), bearer token (401 "Unauthenticated."),
  injected fault, then the endpoint itself.
- Errors use the documented envelope ``{"success": false, "message": ...}``: 400 invalid JSON
  body, 404 unknown invoice ("Fatura bulunamadı") or vault ("Kasa bulunamadı"), 415 a body that is
  neither JSON nor form-encoded, 422 validation (bad or missing fields, unknown invoice type, draft
  or cancelled invoice, vault/invoice currency mismatch, nothing left to collect, amount <= 0, more
  than 2 decimals or above the remaining amount, nothing to undo). 429/500/503 only come from
  faults; an unexpected error is a 500 envelope, never a traceback.
- Inputs are the query string merged with the body (the body wins), like Laravel's
  ``$request->input()``; an empty string counts as missing (so ``amount=`` collects everything).
- ``GET /invoices`` answers ``{"success": true, "data": [...]}``; with ``page_size`` set it pages
  Laravel-style: ``page`` (1-based) and ``per_page`` (1..1000) parameters, ``links`` {first, last,
  prev, next} as absolute URLs (``type`` and ``per_page`` kept) and ``meta`` {current_page,
  last_page, per_page, total, from, to, path}. Items are ordered by ``commercial_doc_id``.
- Proceed answers ``transaction_status: "Tamamlandı"`` for full and partial collections alike.
- ``DELETE /invoices/proceed/{id}`` undoes every live collection of the invoice.
- JSON is ASCII-escaped (``\\u00e7``), as Laravel's default ``json_encode`` does.
- ``/_sandbox/...`` control endpoints need neither Channel nor token and are never faulted.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .books import Books, Refusal
from .control import ControlEndpoints
from .endpoints import MAX_PER_PAGE, ApiEndpoints
from .faults import Fault, Faults
from .inputs import bearer
from .tokens import TokenStore
from .wire import API_PREFIX, JSON_TYPE, Request, Response, dumps, error, ok

__all__ = [
    "API_PREFIX",
    "JSON_TYPE",
    "MAX_PER_PAGE",
    "Request",
    "Response",
    "SandboxApp",
    "dumps",
    "error",
    "ok",
]

# What a proxy or maintenance page in front of an API returns: 200, but not JSON.
BAD_JSON_BODY = (
    '<!DOCTYPE html>\n<html lang="tr"><head><title>Bakım Çalışması</title></head>'
    "<body><h1>Kısa bir bakım çalışması yapıyoruz</h1><p>Lütfen daha sonra tekrar deneyin.</p>"
    "</body></html>\n"
).encode()

Handler = Callable[..., Response]


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    endpoint: str | None  # fault endpoint name; None for control endpoints
    auth: bool = True


class SandboxApp:
    def __init__(
        self,
        *,
        books: Books,
        faults: Faults,
        tokens: TokenStore,
        channel: str,
        api_key: str,
        page_size: int | None = None,
        detail_has_payment_plan: bool = True,
    ) -> None:
        self.api = ApiEndpoints(
            books=books,
            tokens=tokens,
            api_key=api_key,
            page_size=page_size,
            detail_has_payment_plan=detail_has_payment_plan,
        )
        self.control = ControlEndpoints(
            books=books, faults=faults, tokens=tokens, page_size=page_size
        )
        self.books = books
        self.faults = faults
        self.tokens = tokens
        self.channel = channel
        self.on_error: Callable[[BaseException], None] | None = None
        self._routes = self._api_routes(self.api) + self._control_routes(self.control)

    @staticmethod
    def _api_routes(api: ApiEndpoints) -> tuple[_Route, ...]:
        def route(
            method: str, path: str, handler: Handler, endpoint: str, auth: bool = True
        ) -> _Route:
            return _Route(method, re.compile(API_PREFIX + path), handler, endpoint, auth)

        return (
            route("POST", "/access_token", api.access_token, "token", auth=False),
            route("GET", "/invoices", api.list_invoices, "invoices"),
            route("POST", "/invoices/proceed", api.proceed, "proceed"),
            route("DELETE", r"/invoices/proceed/(\d{1,18})", api.undo, "undo"),
            route("GET", r"/invoices/(\d{1,18})", api.invoice, "invoices"),
            route("GET", "/vaults", api.list_vaults, "vaults"),
            route("GET", r"/vaults/(\d{1,18})", api.vault, "vaults"),
            route("GET", r"/vaults/(\d{1,18})/transactions", api.vault_transactions, "vaults"),
        )

    @staticmethod
    def _control_routes(control: ControlEndpoints) -> tuple[_Route, ...]:
        def route(method: str, path: str, handler: Handler) -> _Route:
            return _Route(method, re.compile("/_sandbox" + path), handler, None, auth=False)

        return (
            route("GET", "/ledger", control.ledger),
            route("GET", "/state", control.state),
            route("GET", "/faults", control.show_faults),
            route("POST", "/faults", control.inject),
            route("DELETE", "/faults", control.clear_faults),
            route("POST", "/tokens/expire", control.expire_tokens),
        )

    @property
    def page_size(self) -> int | None:
        return self.api.page_size

    @property
    def detail_has_payment_plan(self) -> bool:
        return self.api.detail_has_payment_plan

    # ---- dispatch --------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request; never raises (an unexpected error is a 500 envelope)."""
        try:
            return self._dispatch(request)
        except Exception as exc:
            if self.on_error is not None:
                self.on_error(exc)
            return error(500, "Sunucu hatası.")

    def _dispatch(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        method = "GET" if request.method == "HEAD" else request.method
        allowed: list[str] = []
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            if route.method != method:
                allowed.append(route.method)
                continue
            args = [int(group) for group in match.groups()]
            if route.endpoint is None:
                return _refusals(route.handler, request, *args)
            return self._api(route, route.endpoint, request, args)
        if allowed:
            return error(
                405, "Bu adres bu istek yöntemini desteklemiyor.", Allow=", ".join(allowed)
            )
        return error(404, "İstenen adres bulunamadı.")

    def _api(self, route: _Route, endpoint: str, request: Request, args: list[int]) -> Response:
        """Latency, the caller's Channel and token, then the endpoint with any drawn fault."""
        if self.faults.latency > 0:
            time.sleep(self.faults.latency)
        token, refused = self._caller(route, request)
        if refused is not None:
            return refused
        fault = self.faults.draw(endpoint)
        if fault is None:
            return _refusals(route.handler, request, *args)
        return self._faulted(fault, token, route, request, args)

    def _caller(self, route: _Route, request: Request) -> tuple[str | None, Response | None]:
        """The request's bearer token, or the answer that refuses the caller."""
        channel = request.headers.get("channel", "").strip()
        if not channel:
            return None, error(400, "Channel başlığı zorunludur.")
        if channel != self.channel:
            return None, error(401, "Geçersiz Channel.")
        if not route.auth:
            return None, None
        token = bearer(request.headers.get("authorization", ""))
        if token is None or not self.tokens.valid(token):
            return token, error(401, "Unauthenticated.")
        return token, None

    # ---- faults ----------------------------------------------------------------------------

    def _faulted(
        self, fault: Fault, token: str | None, route: _Route, request: Request, args: list[int]
    ) -> Response:
        refused = self._fault_before(fault, token)
        if refused is not None:
            return refused
        if fault.kind == "gateway_timeout":
            self._apply_later(route, request, args)
            return error(504, "Gateway Timeout")
        if fault.kind == "apply_late":
            time.sleep(self.faults.slow_seconds)  # still working when the client gave up
        return self._fault_after(fault, _refusals(route.handler, request, *args))

    def _fault_before(self, fault: Fault, token: str | None) -> Response | None:
        if fault.kind == "rate_limit":
            return error(429, "Too Many Attempts.", **{"Retry-After": str(fault.retry_after)})
        if fault.kind == "error_before":
            return error(
                503,
                "Servis geçici olarak kullanılamıyor.",
                **{"Retry-After": str(fault.retry_after)},
            )
        if fault.kind == "expire_token":
            if token is not None:
                self.tokens.revoke(token)
            return error(401, "Unauthenticated.")
        if fault.kind == "bad_json":
            return Response(200, BAD_JSON_BODY, content_type="text/html; charset=utf-8")
        return None  # an "_after" kind: the request is applied first

    def _apply_later(self, route: _Route, request: Request, args: list[int]) -> None:
        """A gateway gave up: the request is applied after ``slow_seconds`` all the same."""
        delay = self.faults.slow_seconds

        def apply_later() -> None:
            time.sleep(delay)
            _refusals(route.handler, request, *args)

        threading.Thread(target=apply_later, name="sandbox-late-apply", daemon=True).start()

    def _fault_after(self, fault: Fault, response: Response) -> Response:
        if fault.kind == "error_after":
            return error(500, "Sunucu hatası.")
        if fault.kind == "drop_after":
            return Response(0, drop=True)
        if fault.kind == "slow_after":
            response.delay = self.faults.slow_seconds
        return response


def _refusals(handler: Handler, request: Request, *args: int) -> Response:
    try:
        return handler(request, *args)
    except Refusal as refusal:
        return error(refusal.status, refusal.message)

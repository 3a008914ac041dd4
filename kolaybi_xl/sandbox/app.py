"""Request handling without sockets: routing, Channel and token checks, faults, validation.

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

import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode

from .books import Books, InvoiceRecord, Refusal
from .catalog import DEFAULT_INVOICE_TYPE, INVOICE_TYPES, TRANSACTION_COMPLETED
from .faults import Fault, Faults
from .render import invoice_item, ledger_entry, vault_item
from .tokens import TokenStore

API_PREFIX = "/kolaybi/v1"
JSON_TYPE = "application/json"
MAX_PER_PAGE = 1000
# What a proxy or maintenance page in front of an API returns: 200, but not JSON.
BAD_JSON_BODY = (
    '<!DOCTYPE html>\n<html lang="tr"><head><title>Bakım Çalışması</title></head>'
    "<body><h1>Kısa bir bakım çalışması yapıyoruz</h1><p>Lütfen daha sonra tekrar deneyin.</p>"
    "</body></html>\n"
).encode()
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_INTEGER = re.compile(r"[+-]?\d{1,18}")  # longer ones cannot be ids anyway


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # without the query string
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    delay: float = 0.0  # seconds to wait before answering


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("ascii")


def ok(data: Any = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"success": True}
    if data is not None:
        body["data"] = data
    body.update(extra)
    return Response(200, dumps(body))


def error(status: int, message: str, **headers: str) -> Response:
    return Response(status, dumps({"success": False, "message": message}), headers=headers)


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
        if page_size is not None and not 1 <= page_size <= MAX_PER_PAGE:
            raise ValueError(f"page_size must be between 1 and {MAX_PER_PAGE}")
        self.books = books
        self.faults = faults
        self.tokens = tokens
        self.channel = channel
        self._api_key = api_key
        self.page_size = page_size
        self.detail_has_payment_plan = detail_has_payment_plan
        self.on_error: Callable[[BaseException], None] | None = None
        # commercial_doc_id -> (record, its encoded JSON). Records are immutable and replaced on
        # every change, so an entry is used only while `cached is current` and is never stale.
        self._item_cache: dict[int, tuple[InvoiceRecord, bytes]] = {}

        def api(
            method: str, path: str, handler: Handler, endpoint: str, auth: bool = True
        ) -> _Route:
            return _Route(method, re.compile(API_PREFIX + path), handler, endpoint, auth)

        def control(method: str, path: str, handler: Handler) -> _Route:
            return _Route(method, re.compile("/_sandbox" + path), handler, None, auth=False)

        self._routes = (
            api("POST", "/access_token", self._access_token, "token", auth=False),
            api("GET", "/invoices", self._list_invoices, "invoices"),
            api("POST", "/invoices/proceed", self._proceed, "proceed"),
            api("DELETE", r"/invoices/proceed/(\d{1,18})", self._undo, "undo"),
            api("GET", r"/invoices/(\d{1,18})", self._invoice, "invoices"),
            api("GET", "/vaults", self._list_vaults, "vaults"),
            api("GET", r"/vaults/(\d{1,18})", self._vault, "vaults"),
            api("GET", r"/vaults/(\d{1,18})/transactions", self._vault_transactions, "vaults"),
            control("GET", "/ledger", self._ctl_ledger),
            control("GET", "/state", self._ctl_state),
            control("GET", "/faults", self._ctl_faults),
            control("POST", "/faults", self._ctl_inject),
            control("DELETE", "/faults", self._ctl_clear),
            control("POST", "/tokens/expire", self._ctl_expire_tokens),
        )

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
                return self._refusals(route.handler, request, *args)
            return self._api(route, route.endpoint, request, args)
        if allowed:
            return error(
                405, "Bu adres bu istek yöntemini desteklemiyor.", Allow=", ".join(allowed)
            )
        return error(404, "İstenen adres bulunamadı.")

    def _api(self, route: _Route, endpoint: str, request: Request, args: list[int]) -> Response:
        if self.faults.latency > 0:
            time.sleep(self.faults.latency)
        channel = request.headers.get("channel", "").strip()
        if not channel:
            return error(400, "Channel başlığı zorunludur.")
        if channel != self.channel:
            return error(401, "Geçersiz Channel.")
        token = None
        if route.auth:
            token = _bearer(request.headers.get("authorization", ""))
            if token is None or not self.tokens.valid(token):
                return error(401, "Unauthenticated.")
        fault = self.faults.draw(endpoint)
        if fault is not None:
            refused = self._fault_before(fault, token)
            if refused is not None:
                return refused
        if fault is not None and fault.kind == "apply_late":
            time.sleep(self.faults.slow_seconds)  # still working when the client gave up
        if fault is not None and fault.kind == "gateway_timeout":
            delay = self.faults.slow_seconds

            def apply_later() -> None:
                time.sleep(delay)
                self._refusals(route.handler, request, *args)

            threading.Thread(target=apply_later, name="sandbox-late-apply", daemon=True).start()
            return error(504, "Gateway Timeout")
        response = self._refusals(route.handler, request, *args)
        if fault is None:
            return response
        if fault.kind == "error_after":
            return error(500, "Sunucu hatası.")
        if fault.kind == "drop_after":
            return Response(0, drop=True)
        if fault.kind == "slow_after":
            response.delay = self.faults.slow_seconds
        return response

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

    @staticmethod
    def _refusals(handler: Handler, request: Request, *args: int) -> Response:
        try:
            return handler(request, *args)
        except Refusal as refusal:
            return error(refusal.status, refusal.message)

    # ---- API endpoints ---------------------------------------------------------------------

    def _access_token(self, request: Request) -> Response:
        api_key = _field(_input(request), "api_key")
        if api_key is None:
            raise Refusal(422, "api_key alanı zorunludur.")
        if not isinstance(api_key, str) or not hmac.compare_digest(
            api_key.encode(), self._api_key.encode()
        ):
            raise Refusal(401, "API anahtarı geçersiz.")
        return ok(self.tokens.issue())

    def _list_invoices(self, request: Request) -> Response:
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        invoice_type = query.get("type", "").strip() or DEFAULT_INVOICE_TYPE
        if invoice_type not in INVOICE_TYPES:
            raise Refusal(422, f"Geçersiz fatura türü: {invoice_type}")
        records = self.books.invoice_records(invoice_type)
        if self.page_size is None:
            return Response(200, b'{"success":true,"data":' + self._items(records) + b"}")

        per_page = _int_param(query, "per_page", self.page_size, 1, MAX_PER_PAGE)
        page = _int_param(query, "page", 1, 1, None)
        total = len(records)
        last_page = max(1, -(-total // per_page))
        chunk = records[(page - 1) * per_page : page * per_page]
        base = f"http://{request.headers.get('host', 'localhost')}{API_PREFIX}/invoices"
        keep = {"type": invoice_type} | ({"per_page": str(per_page)} if "per_page" in query else {})

        def link(n: int) -> str:
            return f"{base}?{urlencode(keep | {'page': str(n)})}"

        links = {
            "first": link(1),
            "last": link(last_page),
            "prev": link(page - 1) if page > 1 else None,
            "next": link(page + 1) if page < last_page else None,
        }
        first = (page - 1) * per_page + 1
        meta = {
            "current_page": page,
            "last_page": last_page,
            "per_page": per_page,
            "total": total,
            "from": first if chunk else None,
            "to": first + len(chunk) - 1 if chunk else None,
            "path": base,
        }
        return Response(
            200,
            b'{"success":true,"data":'
            + self._items(chunk)
            + b',"links":'
            + dumps(links)
            + b',"meta":'
            + dumps(meta)
            + b"}",
        )

    def _items(self, records: list[InvoiceRecord]) -> bytes:
        cache = self._item_cache
        parts = []
        for record in records:
            hit = cache.get(record.id)
            if hit is None or hit[0] is not record:
                hit = cache[record.id] = (record, dumps(invoice_item(record)))
            parts.append(hit[1])
        return b"[" + b",".join(parts) + b"]"

    def _invoice(self, request: Request, document_id: int) -> Response:
        record = self.books.invoices.get(document_id)
        if record is None:
            raise Refusal(404, "Fatura bulunamadı")
        return ok(invoice_item(record, with_payment_plan=self.detail_has_payment_plan))

    def _list_vaults(self, request: Request) -> Response:
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        currency = query.get("currency", "").strip().upper()
        vault_type = query.get("type", "").strip().lower()
        return ok(
            [
                vault_item(v)
                for v in self.books.vault_records()
                if (not currency or v.currency.upper() == currency)
                and (not vault_type or v.type.lower() == vault_type)
            ]
        )

    def _vault(self, request: Request, vault_id: int) -> Response:
        vault = self.books.vaults.get(vault_id)
        if vault is None:
            raise Refusal(404, "Kasa bulunamadı")
        return ok(vault_item(vault))

    def _vault_transactions(self, request: Request, vault_id: int) -> Response:
        return ok(self.books.vault_transactions_json(vault_id))

    def _proceed(self, request: Request) -> Response:
        data = _input(request)
        document_id = _int_field(data, "document_id")
        vault_id = _int_field(data, "vault_id")
        amount = _amount_field(data, "amount")
        result = self.books.proceed(document_id, vault_id, amount)
        return ok(
            {
                "transaction_status": TRANSACTION_COMPLETED,
                "remaining_amount": float(result.remaining),
            }
        )

    def _undo(self, request: Request, document_id: int) -> Response:
        self.books.undo(document_id)
        return ok()

    # ---- control endpoints (/_sandbox/...) -------------------------------------------------

    def _ctl_ledger(self, request: Request) -> Response:
        return Response(200, dumps([ledger_entry(e) for e in self.books.ledger]))

    def _ctl_state(self, request: Request) -> Response:
        state = self.books.summary()
        state["active_tokens"] = len(self.tokens)
        state["pending_faults"] = self.faults.injected
        state["page_size"] = self.page_size
        return Response(200, dumps(state))

    def _ctl_faults(self, request: Request) -> Response:
        fired = [{"kind": f.kind, "endpoint": f.endpoint} for f in self.faults.fired]
        body = {
            "pending": self.faults.injected,
            "fired": fired,
            "latency": self.faults.latency,
            "slow_seconds": self.faults.slow_seconds,
        }
        return Response(200, dumps(body))

    def _ctl_inject(self, request: Request) -> Response:
        data = _input(request)
        fault_fields = {"kind", "count", "endpoint", "probability", "retry_after"}
        known = fault_fields | {"seed", "latency", "slow_seconds"}
        if not data or set(data) - known:
            raise Refusal(422, f"Beklenen alanlar: {', '.join(sorted(known))}")
        if set(data) & fault_fields and "kind" not in data:
            raise Refusal(422, "kind alanı zorunludur.")
        try:
            if "seed" in data:
                self.faults.seed(int(data["seed"]))
            if "latency" in data:
                self.faults.latency = float(data["latency"])
            if "slow_seconds" in data:
                self.faults.slow_seconds = float(data["slow_seconds"])
            if "kind" in data:
                probability = data.get("probability")
                self.faults.inject(
                    str(data["kind"]),
                    int(data.get("count", 1)),
                    endpoint=str(data.get("endpoint", "proceed")),
                    probability=None if probability is None else float(probability),
                    retry_after=int(data.get("retry_after", 1)),
                )
        except (TypeError, ValueError) as exc:
            raise Refusal(422, str(exc)) from None
        return ok(pending=self.faults.injected)

    def _ctl_clear(self, request: Request) -> Response:
        self.faults.clear()
        return ok()

    def _ctl_expire_tokens(self, request: Request) -> Response:
        self.faults.expire_all_tokens()
        return ok()


# ---- input parsing ---------------------------------------------------------------------------


def _bearer(header: str) -> str | None:
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _input(request: Request) -> dict[str, Any]:
    """Query string merged with a JSON or form-encoded body (the body wins)."""
    data: dict[str, Any] = dict(parse_qsl(request.query, keep_blank_values=True))
    if not request.body.strip():
        return data
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == JSON_TYPE or content_type.endswith("+json"):
        try:
            body = json.loads(request.body)
        except ValueError:  # includes UnicodeDecodeError
            raise Refusal(400, "Geçersiz JSON gövdesi.") from None
        if not isinstance(body, dict):
            raise Refusal(400, "JSON gövdesi bir nesne olmalıdır.")
        data.update(body)
    elif content_type in ("application/x-www-form-urlencoded", ""):
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise Refusal(400, "Gövde UTF-8 olmalıdır.") from None
        data.update(parse_qsl(text, keep_blank_values=True))
    else:
        raise Refusal(415, f"Desteklenmeyen içerik türü: {content_type}")
    return data


def _field(data: Mapping[str, Any], name: str) -> Any:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _int_field(data: Mapping[str, Any], name: str) -> int:
    value = _field(data, name)
    if value is None:
        raise Refusal(422, f"{name} alanı zorunludur.")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise Refusal(422, f"{name} alanı tam sayı olmalıdır.")


def _amount_field(data: Mapping[str, Any], name: str) -> Decimal | None:
    value = _field(data, name)
    if value is None:
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
            if amount.is_finite():
                return amount
        elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
            return Decimal(value.strip())
    except InvalidOperation:
        pass
    raise Refusal(422, f"{name} alanı sayı olmalıdır (ondalık ayırıcı nokta).")


def _int_param(
    query: Mapping[str, str], name: str, default: int, low: int, high: int | None
) -> int:
    raw = query.get(name, "").strip()
    if not raw:
        return default
    if not _INTEGER.fullmatch(raw) or int(raw) < low or (high is not None and int(raw) > high):
        bound = f"{low}-{high}" if high is not None else f">= {low}"
        raise Refusal(422, f"{name} parametresi {bound} aralığında bir tam sayı olmalıdır.")
    return int(raw)

"""The emulator's own control endpoints (``/_sandbox/...``): the ledger, the state, faults, tokens.

They need neither Channel nor token and are never faulted.
"""

from __future__ import annotations

from typing import Any

from .books import Books, Refusal
from .faults import Faults
from .inputs import request_input
from .render import ledger_entry
from .tokens import TokenStore
from .wire import Request, Response, dumps, ok

_FAULT_FIELDS = frozenset({"kind", "count", "endpoint", "probability", "retry_after"})
_SETTINGS = frozenset({"seed", "latency", "slow_seconds"})
_KNOWN = _FAULT_FIELDS | _SETTINGS


class ControlEndpoints:
    def __init__(
        self, *, books: Books, faults: Faults, tokens: TokenStore, page_size: int | None
    ) -> None:
        self.books = books
        self.faults = faults
        self.tokens = tokens
        self.page_size = page_size

    def ledger(self, request: Request) -> Response:
        return Response(200, dumps([ledger_entry(e) for e in self.books.ledger]))

    def state(self, request: Request) -> Response:
        state = self.books.summary()
        state["active_tokens"] = len(self.tokens)
        state["pending_faults"] = self.faults.injected
        state["page_size"] = self.page_size
        return Response(200, dumps(state))

    def show_faults(self, request: Request) -> Response:
        fired = [{"kind": f.kind, "endpoint": f.endpoint} for f in self.faults.fired]
        body = {
            "pending": self.faults.injected,
            "fired": fired,
            "latency": self.faults.latency,
            "slow_seconds": self.faults.slow_seconds,
        }
        return Response(200, dumps(body))

    def inject(self, request: Request) -> Response:
        """Settings (``seed``, ``latency``, ``slow_seconds``) and/or one fault (``kind``...)."""
        data = _checked_fields(request_input(request))
        try:
            self._apply_settings(data)
            if "kind" in data:
                self._inject_fault(data)
        except (TypeError, ValueError) as exc:
            raise Refusal(422, str(exc)) from None
        return ok(pending=self.faults.injected)

    def _apply_settings(self, data: dict[str, Any]) -> None:
        if "seed" in data:
            self.faults.seed(int(data["seed"]))
        if "latency" in data:
            self.faults.latency = float(data["latency"])
        if "slow_seconds" in data:
            self.faults.slow_seconds = float(data["slow_seconds"])

    def _inject_fault(self, data: dict[str, Any]) -> None:
        probability = data.get("probability")
        self.faults.inject(
            str(data["kind"]),
            int(data.get("count", 1)),
            endpoint=str(data.get("endpoint", "proceed")),
            probability=None if probability is None else float(probability),
            retry_after=int(data.get("retry_after", 1)),
        )

    def clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return ok()

    def expire_tokens(self, request: Request) -> Response:
        self.faults.expire_all_tokens()
        return ok()


def _checked_fields(data: dict[str, Any]) -> dict[str, Any]:
    if not data or set(data) - _KNOWN:
        raise Refusal(422, f"Beklenen alanlar: {', '.join(sorted(_KNOWN))}")
    if set(data) & _FAULT_FIELDS and "kind" not in data:
        raise Refusal(422, "kind alanı zorunludur.")
    return data

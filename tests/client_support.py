"""Shared pieces of the HTTP client's unit tests (``test_client_*.py``): the fake API's
addresses and credentials, the documented sample answers, a fake clock, and the connection
errors requests raises. Their fixtures (``rsps``, ``client``, ``make_client``, ``sleeps``,
``clock``) are in ``conftest.py``."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import responses
from responses import matchers
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://api.kolaybi.test/kolaybi/v1"
CHANNEL = "kanal-42"
API_KEY = "kb_live_AbCdEf0123456789SecretApiKey"
TOKEN = "<token string>"  # the literal token of the documented sample answer (§3)
TOKEN_URL = f"{BASE}/access_token"
INVOICES_URL = f"{BASE}/invoices"
PROCEED_URL = f"{BASE}/invoices/proceed"
VAULTS_URL = f"{BASE}/vaults"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def add_token(rsps, token: str = TOKEN) -> None:
    if token == TOKEN:
        rsps.add(responses.POST, TOKEN_URL, json=load("access_token.json"))
    else:
        rsps.add(responses.POST, TOKEN_URL, json={"success": True, "data": token})


def calls(rsps, url: str, method: str | None = None) -> list[Any]:
    """The recorded calls whose URL (without query) is ``url``."""
    return [
        c
        for c in rsps.calls
        if c.request.url.split("?")[0] == url and (method is None or c.request.method == method)
    ]


def query(call: Any) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def inv(doc_id: int) -> dict[str, Any]:
    return {"commercial_doc_id": doc_id, "currency": "try"}


def refused() -> requests.exceptions.ConnectionError:
    """What requests raises when the TCP connection is refused: nothing was sent."""
    reason = NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused"
    )
    return requests.exceptions.ConnectionError(MaxRetryError(None, PROCEED_URL, reason))


def aborted() -> requests.exceptions.ConnectionError:
    """What requests raises when the server drops the connection after the request went out."""
    return requests.exceptions.ConnectionError(
        ProtocolError(
            "Connection aborted.",
            http.client.RemoteDisconnected("Remote end closed connection without response"),
        )
    )


def page_matcher(**params: str) -> Any:
    return matchers.query_param_matcher(params)


def full_flow(rsps, client) -> None:
    """Token, invoice list, one invoice, vaults and a collection, all answered well."""
    add_token(rsps)
    rsps.add(responses.GET, INVOICES_URL, json=load("invoices_list.json"))
    rsps.add(responses.GET, f"{INVOICES_URL}/1854", json={"success": True, "data": inv(1854)})
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))
    rsps.add(responses.POST, PROCEED_URL, json=load("proceed_success.json"))
    client.list_invoices()
    client.get_invoice(1854)
    client.list_vaults(currency="TRY", type="bank_account")
    client.proceed(1854, 2)

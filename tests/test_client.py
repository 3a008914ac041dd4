"""Unit tests of the KolayBi HTTP client (``kolaybi_xl.api.client``), without any network.

Every HTTP answer is served by ``responses``; ``sleep=`` records the delays instead of
sleeping and ``clock=`` is a fake monotonic clock, so the tests are fast and deterministic.
The sample answers in ``tests/fixtures`` are copied verbatim from ``kolaybi-api.md``.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from kolaybi_xl.api import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    InvalidResponse,
    InvoiceType,
    KolayBiClient,
    KolayBiError,
    NotFoundError,
    OutcomeUnknown,
    RateLimitedError,
    RejectedError,
    ServerError,
)
from kolaybi_xl.api.client import MAX_RETRY_AFTER, TOKEN_TTL

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


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def make_client(sleeps, clock):
    made: list[KolayBiClient] = []

    def make(**options: Any) -> KolayBiClient:
        options.setdefault("sleep", sleeps.append)
        options.setdefault("clock", clock)
        client = KolayBiClient(BASE, CHANNEL, API_KEY, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client) -> KolayBiClient:
    return make_client()


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


# ---------------------------------------------------------------------------------------
# Token
# ---------------------------------------------------------------------------------------


def test_token_call_sends_channel_header_and_json_api_key(rsps, client):
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))

    client.list_vaults()

    (token_call,) = calls(rsps, TOKEN_URL, "POST")
    request = token_call.request
    assert request.headers["Channel"] == CHANNEL
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {"api_key": API_KEY}
    assert "Authorization" not in request.headers


def test_token_is_reused_across_calls(rsps, client):
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))
    rsps.add(responses.GET, INVOICES_URL, json=load("invoices_list.json"))

    client.list_vaults()
    client.list_invoices()
    client.list_vaults()

    assert len(calls(rsps, TOKEN_URL)) == 1
    assert len(calls(rsps, VAULTS_URL)) == 2


def test_token_is_renewed_when_the_clock_passes_token_ttl(rsps, client, clock):
    assert TOKEN_TTL == 23 * 3600  # renew an hour before the documented 24 h lifetime
    assert client.token_ttl == TOKEN_TTL
    add_token(rsps, "token-number-one")
    add_token(rsps, "token-number-two")
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))

    client.list_vaults()
    clock.advance(TOKEN_TTL - 1)
    client.list_vaults()  # still inside the TTL: no new token
    clock.advance(2)
    client.list_vaults()  # past the TTL: renewed before the server's 24 h expiry

    assert len(calls(rsps, TOKEN_URL)) == 2
    bearers = [c.request.headers["Authorization"] for c in calls(rsps, VAULTS_URL)]
    assert bearers == [
        "Bearer token-number-one",
        "Bearer token-number-one",
        "Bearer token-number-two",
    ]


def test_401_on_get_fetches_a_new_token_once_and_repeats_the_call(rsps, client):
    add_token(rsps, "old-token-1111")
    add_token(rsps, "new-token-2222")
    rsps.add(responses.GET, VAULTS_URL, status=401, json={"success": False, "message": "exp"})
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))

    vaults = client.list_vaults()

    assert [v.id for v in vaults] == [1, 2]
    assert len(calls(rsps, TOKEN_URL)) == 2
    bearers = [c.request.headers["Authorization"] for c in calls(rsps, VAULTS_URL)]
    assert bearers == ["Bearer old-token-1111", "Bearer new-token-2222"]


def test_401_on_proceed_reauthenticates_and_sends_again(rsps, client):
    add_token(rsps, "old-token-1111")
    add_token(rsps, "new-token-2222")
    rsps.add(responses.POST, PROCEED_URL, status=401, json={"success": False, "message": "x"})
    rsps.add(responses.POST, PROCEED_URL, json=load("proceed_success.json"))

    result = client.proceed(1854, 2)

    assert result.remaining_amount == Decimal("0.0")
    assert len(calls(rsps, TOKEN_URL)) == 2
    bearers = [c.request.headers["Authorization"] for c in calls(rsps, PROCEED_URL)]
    assert bearers == ["Bearer old-token-1111", "Bearer new-token-2222"]


@pytest.mark.parametrize("operation", ["get", "proceed"])
def test_second_401_raises_authentication_error(rsps, client, operation):
    add_token(rsps)
    body = {"success": False, "message": "Yetkisiz erişim"}
    if operation == "get":
        rsps.add(responses.GET, VAULTS_URL, status=401, json=body)
        url = VAULTS_URL
        with pytest.raises(AuthenticationError) as caught:
            client.list_vaults()
    else:
        rsps.add(responses.POST, PROCEED_URL, status=401, json=body)
        url = PROCEED_URL
        with pytest.raises(AuthenticationError) as caught:
            client.proceed(1854, 2)

    assert caught.value.status == 401
    assert caught.value.message == "Yetkisiz erişim"
    assert len(calls(rsps, url)) == 2  # the call and its one repetition, no more
    assert len(calls(rsps, TOKEN_URL)) == 2


def test_401_from_access_token_raises_authentication_error_with_server_message(rsps, client):
    rsps.add(
        responses.POST,
        TOKEN_URL,
        status=401,
        json={"success": False, "message": "API anahtarı geçersiz"},
    )
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))

    with pytest.raises(AuthenticationError) as caught:
        client.list_vaults()

    assert caught.value.message == "API anahtarı geçersiz"
    assert caught.value.status == 401
    assert len(calls(rsps, TOKEN_URL)) == 1  # a refused key is not retried
    assert calls(rsps, VAULTS_URL) == []


def _full_flow(rsps, client) -> None:
    add_token(rsps)
    rsps.add(responses.GET, INVOICES_URL, json=load("invoices_list.json"))
    rsps.add(responses.GET, f"{INVOICES_URL}/1854", json={"success": True, "data": inv(1854)})
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))
    rsps.add(responses.POST, PROCEED_URL, json=load("proceed_success.json"))
    client.list_invoices()
    client.get_invoice(1854)
    client.list_vaults(currency="TRY", type="bank_account")
    client.proceed(1854, 2)


def test_channel_header_on_every_request(rsps, client):
    _full_flow(rsps, client)

    assert len(rsps.calls) == 5
    assert all(c.request.headers.get("Channel") == CHANNEL for c in rsps.calls)


def test_bearer_token_on_every_non_token_request(rsps, client):
    _full_flow(rsps, client)

    others = [c for c in rsps.calls if c.request.url != TOKEN_URL]
    assert len(others) == 4
    assert all(c.request.headers["Authorization"] == f"Bearer {TOKEN}" for c in others)


def test_concurrent_threads_share_one_token_fetch(rsps, client):
    def slow_token(request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(0.05)  # keep the fetch in flight while the other threads arrive
        return 200, {}, json.dumps({"success": True, "data": "shared-token-77"})

    rsps.add_callback(responses.POST, TOKEN_URL, callback=slow_token)
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            client.list_vaults()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert errors == []
    assert len(calls(rsps, TOKEN_URL)) == 1
    vault_calls = calls(rsps, VAULTS_URL)
    assert len(vault_calls) == 8
    assert {c.request.headers["Authorization"] for c in vault_calls} == {"Bearer shared-token-77"}


# ---------------------------------------------------------------------------------------
# Timeouts
# ---------------------------------------------------------------------------------------


def test_every_request_passes_a_connect_read_timeout(rsps, make_client):
    client = make_client(timeout=(3.0, 17.0), proceed_timeout=(4.0, 90.0))
    _full_flow(rsps, client)

    for call in rsps.calls:
        timeout = call.request.req_kwargs["timeout"]
        assert isinstance(timeout, tuple)
        assert len(timeout) == 2
        expected = (4.0, 90.0) if call.request.url == PROCEED_URL else (3.0, 17.0)
        assert timeout == expected, call.request.url


def test_default_timeouts_are_bounded_and_proceed_waits_longer(rsps, client):
    _full_flow(rsps, client)

    by_url = {c.request.url.split("?")[0]: c.request.req_kwargs["timeout"] for c in rsps.calls}
    connect, read = by_url[VAULTS_URL]
    assert 0 < connect <= 10
    assert 0 < read <= 60
    assert by_url[PROCEED_URL][1] >= read


# ---------------------------------------------------------------------------------------
# list_invoices
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "sent"),
    [
        (None, "sale_invoice"),
        ("sale_invoice", "sale_invoice"),
        (InvoiceType.PURCHASE_INVOICE, "purchase_invoice"),
        ("SALE_RETURN_INVOICE", "sale_return_invoice"),
        ("Satış Faturası", "sale_invoice"),
        ("SATIŞ İADE FATURASI", "sale_return_invoice"),
        ("alış iade faturası", "purchase_return_invoice"),
        ("Serbest meslek makbuzu", "self_employment_receipt"),
    ],
)
def test_list_invoices_always_sends_type_explicitly(rsps, client, argument, sent):
    add_token(rsps)
    rsps.add(responses.GET, INVOICES_URL, json={"data": []})

    if argument is None:
        client.list_invoices()
    else:
        client.list_invoices(argument)

    (call,) = calls(rsps, INVOICES_URL)
    assert query(call) == {"type": sent}


@pytest.mark.parametrize("argument", ["sales", "fatura", "", "sale_invoices"])
def test_list_invoices_unknown_type_raises_value_error_without_a_request(rsps, client, argument):
    with pytest.raises(ValueError, match="unknown invoice type"):
        client.list_invoices(argument)
    assert len(rsps.calls) == 0


def test_plain_data_list_is_one_request(rsps, client):
    add_token(rsps)
    rsps.add(responses.GET, INVOICES_URL, json=load("invoices_list.json"))

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [1854]
    assert invoices[0].total.grand_total == Decimal("2327.6")
    assert len(calls(rsps, INVOICES_URL)) == 1


def _page_matcher(**params: str) -> Any:
    return matchers.query_param_matcher(params)


@pytest.mark.parametrize(
    "next_link",
    [
        f"{INVOICES_URL}?page=2",  # Laravel's default next link drops the other filters
        f"{INVOICES_URL}?type=sale_invoice&page=2",
        "/kolaybi/v1/invoices?page=2",  # relative to the host
        "http://api.kolaybi.test/kolaybi/v1/invoices?page=2",  # TLS-terminating proxy
    ],
)
def test_paging_follows_links_next_on_the_same_host(rsps, client, next_link):
    add_token(rsps)
    rsps.add(
        responses.GET,
        INVOICES_URL,
        match=[_page_matcher(type="sale_invoice")],
        json={"data": [inv(1), inv(2)], "links": {"next": next_link}},
    )
    rsps.add(
        responses.GET,
        INVOICES_URL,
        match=[_page_matcher(type="sale_invoice", page="2")],
        json={"data": [inv(3)], "links": {"next": None}},
    )

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [1, 2, 3]
    page_calls = calls(rsps, INVOICES_URL)
    assert len(page_calls) == 2
    # The second page went to the configured https base, filter kept, token with it.
    assert page_calls[1].request.url.startswith(BASE)
    assert query(page_calls[1]) == {"type": "sale_invoice", "page": "2"}
    assert page_calls[1].request.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "next_link",
    [
        "https://evil.example.com/kolaybi/v1/invoices?page=2",
        "https://api.kolaybi.test.evil.example.com/kolaybi/v1/invoices?page=2",
        "//evil.example.com/kolaybi/v1/invoices?page=2",
    ],
)
def test_links_next_to_another_host_is_refused_and_the_token_never_sent_there(
    rsps, client, next_link
):
    add_token(rsps)
    rsps.add(
        responses.GET,
        INVOICES_URL,
        json={"data": [inv(1)], "links": {"next": next_link}},
    )
    rsps.add(responses.GET, "https://evil.example.com/kolaybi/v1/invoices", json={"data": []})
    rsps.add(
        responses.GET,
        "https://api.kolaybi.test.evil.example.com/kolaybi/v1/invoices",
        json={"data": []},
    )

    with pytest.raises(InvalidResponse, match="another host"):
        client.list_invoices()

    hosts = {urlsplit(c.request.url).hostname for c in rsps.calls}
    assert hosts == {"api.kolaybi.test"}
    assert len(calls(rsps, INVOICES_URL)) == 1


def test_paging_via_meta_current_page_and_last_page(rsps, client):
    add_token(rsps)
    for page in (1, 2, 3):
        params = (
            {"type": "sale_invoice"} if page == 1 else {"type": "sale_invoice", "page": str(page)}
        )
        rsps.add(
            responses.GET,
            INVOICES_URL,
            match=[matchers.query_param_matcher(params)],
            json={
                "data": [inv(page * 10), inv(page * 10 + 1)],
                "meta": {"current_page": page, "last_page": 3, "total": 6},
            },
        )

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [10, 11, 20, 21, 30, 31]
    assert [query(c).get("page") for c in calls(rsps, INVOICES_URL)] == [None, "2", "3"]


def test_paging_via_the_older_pagination_object(rsps, client):
    add_token(rsps)
    pages = {1: [inv(1), inv(2)], 2: [inv(3), inv(4)], 3: [inv(5)]}
    for page, items in pages.items():
        params = (
            {"type": "sale_invoice"} if page == 1 else {"type": "sale_invoice", "page": str(page)}
        )
        rsps.add(
            responses.GET,
            INVOICES_URL,
            match=[matchers.query_param_matcher(params)],
            json={
                "success": True,
                "data": items,
                "pagination": {"current_page": page, "per_page": 2, "total": 5},
            },
        )

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [1, 2, 3, 4, 5]
    assert len(calls(rsps, INVOICES_URL)) == 3


def test_overlapping_pages_are_deduplicated_by_commercial_doc_id(rsps, client):
    add_token(rsps)
    # An invoice created while paging shifts page 2 by one: invoice 3 comes twice.
    rsps.add(
        responses.GET,
        INVOICES_URL,
        match=[_page_matcher(type="sale_invoice")],
        json={"data": [inv(1), inv(2), inv(3)], "meta": {"current_page": 1, "last_page": 2}},
    )
    rsps.add(
        responses.GET,
        INVOICES_URL,
        match=[_page_matcher(type="sale_invoice", page="2")],
        json={"data": [inv(3), inv(4)], "meta": {"current_page": 2, "last_page": 2}},
    )

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [1, 2, 3, 4]


def test_a_server_repeating_the_same_page_with_a_next_link_does_not_loop(rsps, client):
    add_token(rsps)
    # The server ignores `page` and always answers page 1 with a next link.
    rsps.add(
        responses.GET,
        INVOICES_URL,
        json={"data": [inv(1), inv(2)], "links": {"next": f"{INVOICES_URL}?page=2"}},
    )

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [1, 2]
    assert len(calls(rsps, INVOICES_URL)) == 2


def test_a_server_ignoring_page_with_old_pagination_total_does_not_loop(rsps, client):
    add_token(rsps)
    rsps.add(
        responses.GET,
        INVOICES_URL,
        json={"data": [inv(1)], "pagination": {"current_page": 1, "per_page": 1, "total": 9}},
    )

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [1]
    assert len(calls(rsps, INVOICES_URL)) == 2


def test_paging_stops_at_max_pages(rsps, make_client, caplog):
    client = make_client(max_pages=5)
    add_token(rsps)

    def endless(request: Any) -> tuple[int, dict[str, str], str]:
        page = int(parse_qs(urlsplit(request.url).query).get("page", ["1"])[0])
        body = {"data": [inv(page)], "links": {"next": f"{INVOICES_URL}?page={page + 1}"}}
        return 200, {}, json.dumps(body)

    rsps.add_callback(responses.GET, INVOICES_URL, callback=endless)

    with caplog.at_level(logging.WARNING, logger="kolaybi_xl.api"):
        invoices = client.list_invoices()

    assert len(calls(rsps, INVOICES_URL)) == 5
    assert [i.commercial_doc_id for i in invoices] == [1, 2, 3, 4, 5]
    assert "5 pages" in caplog.text


# ---------------------------------------------------------------------------------------
# get_invoice, list_vaults, proceed
# ---------------------------------------------------------------------------------------


def test_get_invoice_reads_the_detail_endpoint(rsps, client):
    add_token(rsps)
    item = load("invoices_list.json")["data"][0]
    rsps.add(responses.GET, f"{INVOICES_URL}/1854", json={"success": True, "data": item})

    invoice = client.get_invoice(1854)

    assert invoice.commercial_doc_id == 1854
    assert invoice.payment_plan is not None
    assert invoice.payment_plan.total_remaining == Decimal("2327.6")
    assert len(calls(rsps, f"{INVOICES_URL}/1854", "GET")) == 1


def test_get_invoice_without_an_object_is_invalid_response(rsps, client):
    add_token(rsps)
    rsps.add(responses.GET, f"{INVOICES_URL}/1854", json={"success": True, "data": []})

    with pytest.raises(InvalidResponse):
        client.get_invoice(1854)


def test_list_vaults_parses_the_documented_sample(rsps, client):
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))

    vaults = client.list_vaults()

    assert [(v.id, v.name, v.type, v.currency, v.balance) for v in vaults] == [
        (1, "Merkez Kasa", "safe_deposit", "TRY", Decimal("12500.0")),
        (2, "Banka Hesabı", "bank_account", "TRY", Decimal("98000.0")),
    ]
    assert query(calls(rsps, VAULTS_URL)[0]) == {}


def test_list_vaults_sends_currency_and_type_filters(rsps, client):
    add_token(rsps)
    rsps.add(
        responses.GET,
        VAULTS_URL,
        match=[_page_matcher(currency="TRY", type="bank_account")],
        json={"success": True, "data": [load("vaults.json")["data"][1]]},
    )

    vaults = client.list_vaults(currency="TRY", type="bank_account")

    assert [v.id for v in vaults] == [2]


def test_list_vaults_filters_client_side_case_insensitively(rsps, client):
    add_token(rsps)
    # The server ignores the filters and answers with mixed cases (theposeidonas mocks).
    rsps.add(
        responses.GET,
        VAULTS_URL,
        json={
            "success": True,
            "data": [
                {"id": 1, "name": "Kasa", "type": "SAFE_DEPOSIT", "currency": "try", "balance": 1},
                {"id": 2, "name": "Banka", "type": "bank_account", "currency": "TRY", "balance": 2},
                {"id": 3, "name": "USD Kasa", "type": "Safe_Deposit", "currency": "usd"},
                {"id": 4, "name": "Euro", "type": "BANK_ACCOUNT", "currency": "Eur"},
            ],
        },
    )

    assert [v.id for v in client.list_vaults(currency="try", type="SAFE_DEPOSIT")] == [1]
    assert [v.id for v in client.list_vaults(currency="TRY")] == [1, 2]
    assert [v.id for v in client.list_vaults(type="safe_deposit")] == [1, 3]
    assert [v.id for v in client.list_vaults(currency="EUR", type="bank_account")] == [4]
    assert [v.type for v in client.list_vaults()] == [
        "safe_deposit",
        "bank_account",
        "safe_deposit",
        "bank_account",
    ]


def test_proceed_sends_exactly_the_documented_form_body(rsps, client):
    add_token(rsps)
    rsps.add(responses.POST, PROCEED_URL, json=load("proceed_success.json"))

    client.proceed(1854, 2)

    (call,) = calls(rsps, PROCEED_URL)
    assert call.request.body == "document_id=1854&vault_id=2"
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("amount", "sent"),
    [
        (Decimal("100.50"), "100.50"),
        (Decimal("100.5"), "100.50"),
        (Decimal("100"), "100.00"),
        (Decimal("1E+2"), "100.00"),
        (Decimal("2327.600"), "2327.60"),
        (Decimal("0.01"), "0.01"),
        (100, "100.00"),
        ("99.9", "99.90"),
        (0.1, "0.10"),  # a float is read through its shortest text, never 0.1000000000000000055
    ],
)
def test_proceed_sends_a_partial_amount_with_two_decimals(rsps, client, amount, sent):
    add_token(rsps)
    rsps.add(responses.POST, PROCEED_URL, json=load("proceed_success.json"))

    client.proceed(1854, 2, amount=amount)

    (call,) = calls(rsps, PROCEED_URL)
    assert call.request.body == f"document_id=1854&vault_id=2&amount={sent}"


@pytest.mark.parametrize(
    "amount",
    [
        Decimal(0),
        Decimal("-5"),
        Decimal("100.505"),
        Decimal("0.001"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("1E+40"),
        float("nan"),
        100.505,
        True,
        "abc",
        "1.234,56",
    ],
)
def test_proceed_refuses_an_amount_it_cannot_send_exactly(rsps, client, amount):
    with pytest.raises(ValueError):
        client.proceed(1854, 2, amount=amount)
    assert len(rsps.calls) == 0


def test_proceed_parses_the_documented_answer(rsps, client):
    add_token(rsps)
    rsps.add(responses.POST, PROCEED_URL, json=load("proceed_success.json"))

    result = client.proceed(1854, 2)

    assert result.transaction_status == "Tamamlandı"
    assert result.remaining_amount == Decimal("0.0")
    assert isinstance(result.remaining_amount, Decimal)


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (400, load("error.json"), RejectedError, "Hata!"),
        (422, {"success": False, "message": "Fatura zaten ödenmiş"}, RejectedError, None),
        (404, load("vault_not_found_404.json"), NotFoundError, "Kasa bulunamadı"),
        (403, {"success": False, "message": "Erişim yok"}, AuthenticationError, "Erişim yok"),
        (200, load("error.json"), RejectedError, "Hata!"),
        (201, {"success": False, "message": "MODEL.ALREADY_EXISTS"}, RejectedError, None),
        (400, {"error": {"message": "Geçersiz kasa"}}, RejectedError, "Geçersiz kasa"),
        (
            422,
            {
                "message": "The given data was invalid.",
                "errors": {"vault_id": ["The selected vault id is invalid."]},
            },
            RejectedError,
            "The given data was invalid. (vault_id: The selected vault id is invalid.)",
        ),
        (
            422,
            {"errors": {"amount": ["must be positive", "too large"]}},
            RejectedError,
            "amount: must be positive, too large",
        ),
    ],
)
def test_error_answers_map_to_error_classes(rsps, client, status, body, error, message):
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, status=status, json=body)

    with pytest.raises(error) as caught:
        client.list_vaults()

    expected = message if message is not None else body["message"]
    assert caught.value.message == expected
    assert caught.value.status == status
    assert expected in str(caught.value)
    assert len(calls(rsps, VAULTS_URL)) == 1  # none of these is retried


def test_html_body_is_invalid_response_with_a_short_excerpt(rsps, client):
    add_token(rsps)
    page = (
        "<!DOCTYPE html><html><head><title>Bakım çalışması</title>"
        "<style>body { color: red; }</style></head><body><h1>Bakım çalışması</h1>"
        + "<p>Lütfen daha sonra tekrar deneyin.</p>" * 400
        + "</body></html>"
    )
    rsps.add(responses.GET, VAULTS_URL, status=200, body=page, content_type="text/html")

    with pytest.raises(InvalidResponse) as caught:
        client.list_vaults()

    text = str(caught.value)
    assert caught.value.status == 200
    assert "Bakım çalışması" in text
    assert len(text) < 300
    assert "<" not in text  # tags stripped, readable for an accountant


def test_html_error_page_on_get_is_server_error_with_a_short_message(rsps, client):
    add_token(rsps)
    page = "<html><body><h1>500 Internal Server Error</h1>" + "x" * 5000 + "</body></html>"
    rsps.add(responses.GET, VAULTS_URL, status=500, body=page, content_type="text/html")

    with pytest.raises(ServerError) as caught:
        client.list_vaults()

    assert caught.value.status == 500
    assert "500 Internal Server Error" in caught.value.message
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("content_type", ["text/html", "text/plain", "application/json"])
def test_turkish_json_without_charset_is_read_as_utf8(rsps, client, content_type):
    add_token(rsps)
    body = json.dumps({"success": True, "data": load("vaults.json")["data"]}, ensure_ascii=False)
    rsps.add(
        responses.GET,
        VAULTS_URL,
        body=body.encode("utf-8"),
        content_type=content_type,
        auto_calculate_content_length=True,
    )
    rsps.add(
        responses.GET,
        f"{INVOICES_URL}/1854",
        status=422,
        body=json.dumps({"success": False, "message": "Kasa bulunamadı"}, ensure_ascii=False),
        content_type=content_type,
    )

    assert [v.name for v in client.list_vaults()] == ["Merkez Kasa", "Banka Hesabı"]
    with pytest.raises(RejectedError) as caught:
        client.get_invoice(1854)
    assert caught.value.message == "Kasa bulunamadı"


@pytest.mark.parametrize("status", [200, 400, 404, 500])
def test_empty_body_is_a_clear_error(rsps, client, status):
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, status=status, body="")

    with pytest.raises(KolayBiError) as caught:
        client.list_vaults()

    assert caught.value.status == status
    assert str(caught.value).strip()
    if status == 200:
        assert isinstance(caught.value, InvalidResponse)
        assert "empty" in str(caught.value)


def test_2xx_without_success_flag_on_a_read_is_accepted(rsps, client):
    # The documented list answer (§4.1) carries only `data`.
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, json={"data": load("vaults.json")["data"]})

    assert [v.id for v in client.list_vaults()] == [1, 2]


@pytest.mark.parametrize("body", [[1, 2], "text", {"success": True, "data": {"x": 1}}])
def test_2xx_with_a_wrong_shape_is_invalid_response(rsps, client, body):
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, json=body)

    with pytest.raises(InvalidResponse):
        client.list_vaults()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_is_not_followed(rsps, client, status):
    add_token(rsps)
    elsewhere = "https://login.example.com/kolaybi/v1/vaults"
    rsps.add(responses.GET, VAULTS_URL, status=status, headers={"Location": elsewhere})
    rsps.add(responses.GET, elsewhere, json=load("vaults.json"))

    with pytest.raises(KolayBiError) as caught:
        client.list_vaults()

    assert caught.value.status == status
    assert "redirect" in str(caught.value)
    assert [urlsplit(c.request.url).hostname for c in rsps.calls] == ["api.kolaybi.test"] * 2


# ---------------------------------------------------------------------------------------
# Retries of safe requests
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        aborted(),
        refused(),
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectTimeout("connect timed out"),
    ],
    ids=["aborted", "refused", "read-timeout", "connect-timeout"],
)
def test_get_is_retried_on_connection_errors(rsps, client, sleeps, failure):
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, body=failure)
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))

    assert [v.id for v in client.list_vaults()] == [1, 2]
    assert len(calls(rsps, VAULTS_URL)) == 2
    assert len(sleeps) == 1


def test_token_call_is_retried_on_connection_errors(rsps, client, sleeps):
    rsps.add(responses.POST, TOKEN_URL, body=aborted())
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))

    client.list_vaults()

    assert len(calls(rsps, TOKEN_URL)) == 2
    assert len(sleeps) == 1


def test_429_honours_retry_after_seconds(rsps, client, sleeps):
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, status=429, headers={"Retry-After": "7"})
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))

    client.list_vaults()

    assert sleeps == [7.0]
    assert len(calls(rsps, VAULTS_URL)) == 2


def test_429_honours_retry_after_http_date(rsps, client, sleeps):
    add_token(rsps)
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    header = email.utils.format_datetime(when, usegmt=True)
    rsps.add(responses.GET, VAULTS_URL, status=429, headers={"Retry-After": header})
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))

    client.list_vaults()

    assert len(sleeps) == 1
    assert 25.0 <= sleeps[0] <= 30.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3600", MAX_RETRY_AFTER),
        ("Wed, 21 Oct 2099 07:28:00 GMT", MAX_RETRY_AFTER),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("-5", 0.0),
    ],
)
def test_retry_after_is_capped_and_never_negative(rsps, client, sleeps, header, expected):
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, status=503, headers={"Retry-After": header})
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))

    client.list_vaults()

    assert sleeps == [expected]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_5xx_on_get_backs_off_exponentially_with_jitter_and_a_cap(
    rsps, make_client, sleeps, status
):
    client = make_client(max_retries=6, backoff=0.5, max_backoff=3.0)
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, status=status, json={"success": False, "message": "x"})

    with pytest.raises(ServerError) as caught:
        client.list_vaults()

    assert caught.value.status == status
    assert len(calls(rsps, VAULTS_URL)) == 7
    assert len(sleeps) == 6
    for attempt, delay in enumerate(sleeps):
        ceiling = min(3.0, 0.5 * 2**attempt)
        assert ceiling / 2 <= delay <= ceiling  # jitter within [cap/2, cap]
    assert max(sleeps) <= 3.0
    assert sleeps[0] <= sleeps[1] <= sleeps[2]  # grows while the ceiling doubles
    assert sleeps != [min(3.0, 0.5 * 2**a) for a in range(6)]  # jittered, not exact


@pytest.mark.parametrize(
    ("answer", "error", "status"),
    [
        ({"status": 503, "json": {"success": False, "message": "bakım"}}, ServerError, 503),
        ({"status": 429, "json": {"success": False, "message": "yavaş"}}, RateLimitedError, 429),
        ({"body": aborted()}, ConnectionFailed, None),
        ({"body": requests.exceptions.ReadTimeout("slow")}, ConnectionFailed, None),
    ],
    ids=["503", "429", "connection", "read-timeout"],
)
def test_get_gives_up_after_max_retries(rsps, make_client, sleeps, answer, error, status):
    client = make_client(max_retries=2)
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, **answer)

    with pytest.raises(error) as caught:
        client.list_vaults()

    assert caught.value.status == status
    assert len(calls(rsps, VAULTS_URL)) == 3
    assert len(sleeps) == 2


def test_rate_limited_error_carries_retry_after(rsps, make_client):
    client = make_client(max_retries=1)
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, status=429, headers={"Retry-After": "4"})

    with pytest.raises(RateLimitedError) as caught:
        client.list_vaults()

    assert caught.value.retry_after == 4.0


def test_500_on_get_is_not_retried(rsps, client, sleeps):
    add_token(rsps)
    rsps.add(responses.GET, VAULTS_URL, status=500, json={"success": False, "message": "boom"})

    with pytest.raises(ServerError) as caught:
        client.list_vaults()

    assert caught.value.status == 500
    assert caught.value.message == "boom"
    assert len(calls(rsps, VAULTS_URL)) == 1
    assert sleeps == []


# ---------------------------------------------------------------------------------------
# proceed is never repeated when it may have reached the server
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ({"body": requests.exceptions.ReadTimeout("read timed out")}, None),
        ({"body": aborted()}, None),
        ({"body": requests.exceptions.ConnectionError("Connection reset by peer")}, None),
        ({"body": requests.exceptions.ChunkedEncodingError("incomplete read")}, None),
        ({"status": 500, "json": {"success": False, "message": "Sunucu hatası"}}, 500),
        ({"status": 502, "body": "<html>Bad Gateway</html>"}, 502),
        ({"status": 503, "headers": {"Retry-After": "1"}}, 503),
        ({"status": 504, "body": ""}, 504),
        ({"status": 200, "body": "<html>OK</html>", "content_type": "text/html"}, 200),
        ({"status": 200, "body": ""}, 200),
        ({"status": 200, "json": {"data": load("proceed_success.json")["data"]}}, 200),
        ({"status": 200, "json": {"success": "true", "data": {}}}, 200),
        ({"status": 200, "json": {"success": True}}, 200),
        ({"status": 200, "json": {"success": True, "data": {"remaining_amount": "abc"}}}, 200),
        ({"status": 302, "headers": {"Location": f"{BASE}/login"}}, 302),
    ],
    ids=[
        "read-timeout",
        "connection-aborted",
        "connection-reset",
        "chunked-encoding",
        "500",
        "502",
        "503",
        "504",
        "2xx-html",
        "2xx-empty",
        "2xx-no-success-flag",
        "2xx-success-not-boolean",
        "2xx-no-data",
        "2xx-unparsable-result",
        "302",
    ],
)
def test_proceed_with_unknown_outcome_is_sent_exactly_once(rsps, client, sleeps, answer, status):
    add_token(rsps)
    rsps.add(responses.POST, PROCEED_URL, **answer)
    rsps.add(responses.POST, PROCEED_URL, json=load("proceed_success.json"))

    with pytest.raises(OutcomeUnknown) as caught:
        client.proceed(1854, 2, amount=Decimal("100.50"))

    assert caught.value.document_id == 1854
    assert caught.value.vault_id == 2
    assert caught.value.status == status
    assert len(calls(rsps, PROCEED_URL)) == 1
    assert sleeps == []


def test_proceed_429_waits_retry_after_and_sends_again(rsps, client, sleeps):
    add_token(rsps)
    rsps.add(
        responses.POST,
        PROCEED_URL,
        status=429,
        headers={"Retry-After": "3"},
        json={"success": False, "message": "Too Many Requests"},
    )
    rsps.add(responses.POST, PROCEED_URL, json=load("proceed_success.json"))

    result = client.proceed(1854, 2)

    assert result.transaction_status == "Tamamlandı"
    assert sleeps == [3.0]
    proceed_calls = calls(rsps, PROCEED_URL)
    assert len(proceed_calls) == 2
    assert [c.request.body for c in proceed_calls] == ["document_id=1854&vault_id=2"] * 2


@pytest.mark.parametrize(
    "failure",
    [refused(), requests.exceptions.ConnectTimeout("connect timed out")],
    ids=["refused", "connect-timeout"],
)
def test_proceed_refused_before_sending_may_be_retried(rsps, client, sleeps, failure):
    add_token(rsps)
    rsps.add(responses.POST, PROCEED_URL, body=failure)
    rsps.add(responses.POST, PROCEED_URL, json=load("proceed_success.json"))

    result = client.proceed(1854, 2)

    assert result.remaining_amount == Decimal("0.0")
    assert len(calls(rsps, PROCEED_URL)) == 2
    assert len(sleeps) == 1


def test_proceed_refused_every_time_is_connection_failed(rsps, make_client):
    client = make_client(max_retries=2)
    add_token(rsps)
    rsps.add(responses.POST, PROCEED_URL, body=refused())

    with pytest.raises(ConnectionFailed) as caught:
        client.proceed(1854, 2)

    assert not isinstance(caught.value, OutcomeUnknown)
    assert "refused" in str(caught.value)
    assert len(calls(rsps, PROCEED_URL)) == 3


def test_proceed_422_is_rejected_after_one_call(rsps, client, sleeps):
    add_token(rsps)
    rsps.add(
        responses.POST,
        PROCEED_URL,
        status=422,
        json={"success": False, "message": "Kalan tutardan fazla tahsilat yapılamaz"},
    )

    with pytest.raises(RejectedError) as caught:
        client.proceed(1854, 2, amount=Decimal("99999"))

    assert caught.value.status == 422
    assert caught.value.message == "Kalan tutardan fazla tahsilat yapılamaz"
    assert not isinstance(caught.value, OutcomeUnknown)
    assert len(calls(rsps, PROCEED_URL)) == 1
    assert sleeps == []


# ---------------------------------------------------------------------------------------
# Security
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://ofis-api.kolaybi.com/kolaybi/v1",
        "http://10.0.0.5:8000/kolaybi/v1",
        "http://localhost.evil.example.com/kolaybi/v1",
        "http://127.0.0.1.nip.io/kolaybi/v1",
        "HTTP://OFIS-API.KOLAYBI.COM/kolaybi/v1",
    ],
)
def test_plain_http_is_refused_for_non_loopback_hosts(url):
    with pytest.raises(ConfigurationError, match="https"):
        KolayBiClient(url, CHANNEL, API_KEY)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765/kolaybi/v1",
        "http://localhost:8765/kolaybi/v1",
        "http://[::1]:8765/kolaybi/v1",
        "http://LOCALHOST/kolaybi/v1/",
    ],
)
def test_plain_http_is_allowed_for_loopback(url):
    client = KolayBiClient(url, CHANNEL, API_KEY)
    assert client.base_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "https://user:s3cr3t-pass@ofis-api.kolaybi.com/kolaybi/v1",
        "https://user@ofis-api.kolaybi.com/kolaybi/v1",
        "http://user:s3cr3t-pass@127.0.0.1:8000/kolaybi/v1",
        "ftp://user:s3cr3t-pass@ofis-api.kolaybi.com/kolaybi/v1",
    ],
)
def test_urls_with_user_and_password_are_refused_without_echoing_them(url):
    with pytest.raises(ConfigurationError) as caught:
        KolayBiClient(url, CHANNEL, API_KEY)
    assert "s3cr3t-pass" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["", "ofis-api.kolaybi.com", "https://", "https://host:notaport/x", "https://[::1"]
)
def test_malformed_urls_are_configuration_errors(url):
    with pytest.raises(ConfigurationError):
        KolayBiClient(url, CHANNEL, API_KEY)


@pytest.mark.parametrize(
    ("channel", "api_key"), [("", API_KEY), ("  ", API_KEY), (CHANNEL, ""), ("a\r\nX: y", API_KEY)]
)
def test_empty_or_malformed_channel_and_key_are_configuration_errors(channel, api_key):
    with pytest.raises(ConfigurationError):
        KolayBiClient(BASE, channel, api_key)


def test_repr_never_shows_the_api_key_or_the_token(rsps, client):
    _full_flow(rsps, client)

    text = repr(client)
    assert API_KEY not in text
    assert TOKEN not in text
    assert BASE in text


def _assert_clean(text: str, secrets: tuple[str, ...] | None = None) -> None:
    for secret in secrets or (API_KEY, SECRET_TOKEN):
        assert secret not in text
        # not even a piece of it cut at an excerpt boundary
        assert secret[:8] not in text
        assert secret[-8:] not in text


SECRET_TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.SIGNATURE_0123456789"


def _echo_cases() -> list[tuple[str, dict[str, Any]]]:
    both = f"key={API_KEY} token={SECRET_TOKEN}"
    html = f"<html><title>Hata</title><body>{'x' * 120} {both} {'y' * 300}</body></html>"
    return [
        ("get", {"status": 400, "json": {"success": False, "message": both}}),
        ("get", {"status": 422, "json": {"message": "bad", "errors": {"api_key": [both]}}}),
        ("get", {"status": 404, "json": {"error": {"message": both}}}),
        ("get", {"status": 503, "json": {"success": False, "message": both}}),
        ("get", {"status": 500, "body": html, "content_type": "text/html"}),
        ("get", {"status": 200, "body": html, "content_type": "text/html"}),
        ("get", {"status": 302, "headers": {"Location": f"https://x.example/?t={SECRET_TOKEN}"}}),
        ("proceed", {"status": 500, "json": {"success": False, "message": both}}),
        ("proceed", {"status": 200, "body": html, "content_type": "text/html"}),
        ("proceed", {"status": 422, "json": {"success": False, "message": both}}),
        ("proceed", {"status": 200, "json": {"success": False, "message": both}}),
        (
            "proceed",
            {"status": 200, "json": {"success": True, "data": {"remaining_amount": both}}},
        ),
        ("token", {"status": 401, "json": {"success": False, "message": both}}),
        ("token", {"status": 200, "body": html, "content_type": "text/html"}),
    ]


@pytest.mark.parametrize(("operation", "answer"), _echo_cases())
def test_exception_texts_never_contain_the_key_or_the_token(rsps, make_client, operation, answer):
    client = make_client(max_retries=1)
    if operation == "token":
        rsps.add(responses.POST, TOKEN_URL, **answer)
    else:
        add_token(rsps, SECRET_TOKEN)
    url = PROCEED_URL if operation == "proceed" else VAULTS_URL
    rsps.add(responses.POST if operation == "proceed" else responses.GET, url, **answer)

    call = (lambda: client.proceed(1854, 2)) if operation == "proceed" else client.list_vaults
    with pytest.raises(KolayBiError) as caught:
        call()

    # Before a token was issued only the key is a secret the client can know about.
    secrets = (API_KEY,) if operation == "token" else (API_KEY, SECRET_TOKEN)
    _assert_clean(str(caught.value), secrets)
    _assert_clean(repr(caught.value), secrets)
    _assert_clean(caught.value.message, secrets)


@pytest.mark.parametrize("offset", range(140, 175))
def test_excerpts_never_cut_a_secret_in_half(rsps, client, offset):
    add_token(rsps, SECRET_TOKEN)
    body = "a" * offset + SECRET_TOKEN + " " + API_KEY + " " + "z" * 400
    rsps.add(responses.GET, VAULTS_URL, status=200, body=body, content_type="text/plain")

    with pytest.raises(InvalidResponse) as caught:
        client.list_vaults()

    _assert_clean(str(caught.value))


def test_log_records_never_contain_the_key_or_the_token(rsps, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(max_retries=2)
    both = f"{API_KEY} {SECRET_TOKEN}"
    rsps.add(responses.POST, TOKEN_URL, body=aborted())
    add_token(rsps, SECRET_TOKEN)
    add_token(rsps, SECRET_TOKEN + "-2")
    rsps.add(responses.GET, VAULTS_URL, status=503, json={"success": False, "message": both})
    rsps.add(responses.GET, VAULTS_URL, status=401, json={"success": False, "message": both})
    rsps.add(responses.GET, VAULTS_URL, json=load("vaults.json"))
    rsps.add(
        responses.GET,
        INVOICES_URL,
        json={"data": [inv(1)], "links": {"next": f"{INVOICES_URL}?page=2&t={SECRET_TOKEN}"}},
    )
    rsps.add(
        responses.POST, PROCEED_URL, status=429, headers={"Retry-After": "1"}, json={"m": both}
    )
    rsps.add(responses.POST, PROCEED_URL, status=500, json={"success": False, "message": both})

    client.list_vaults()
    client.list_invoices()
    with pytest.raises(OutcomeUnknown):
        client.proceed(1854, 2)
    rsps.add(responses.GET, f"{INVOICES_URL}/7", status=200, body=f"<p>{both}</p>")
    with pytest.raises(InvalidResponse):
        client.get_invoice(7)

    assert caplog.records  # the flow did log (retries, warnings, request lines)
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        for secret in (API_KEY, SECRET_TOKEN):
            assert secret not in text, record
    assert API_KEY not in caplog.text
    assert SECRET_TOKEN not in caplog.text


@responses.activate
def test_a_netrc_entry_never_replaces_the_bearer_token(tmp_path, monkeypatch):
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine api.example.com login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    base = "https://api.example.com/kolaybi/v1"
    responses.add(responses.POST, f"{base}/access_token", json={"success": True, "data": "tok-1"})
    responses.add(responses.GET, f"{base}/vaults", json={"success": True, "data": []})
    with KolayBiClient(base, "chan", "key-123") as client:
        client.list_vaults()
    token_call, vaults_call = responses.calls
    assert "Authorization" not in token_call.request.headers
    assert vaults_call.request.headers["Authorization"] == "Bearer tok-1"

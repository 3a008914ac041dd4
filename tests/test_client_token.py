"""The client's token (fetch, reuse, renewal, 401), its headers, and its timeouts.

Unit tests of the KolayBi HTTP client, without any network (split from ``test_client.py``).
Every HTTP answer is served by ``responses``; ``sleep=`` records the delays instead of
sleeping and ``clock=`` is a fake monotonic clock, so the tests are fast and deterministic.
The sample answers in ``tests/fixtures`` are copied verbatim from ``kolaybi-api.md``.
"""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
import responses
from client_support import (
    API_KEY,
    CHANNEL,
    INVOICES_URL,
    PROCEED_URL,
    TOKEN,
    TOKEN_URL,
    VAULTS_URL,
    add_token,
    calls,
    full_flow,
    load,
)

from kolaybi_xl.api import (
    AuthenticationError,
)
from kolaybi_xl.api.client import TOKEN_TTL

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


def test_channel_header_on_every_request(rsps, client):
    full_flow(rsps, client)

    assert len(rsps.calls) == 5
    assert all(c.request.headers.get("Channel") == CHANNEL for c in rsps.calls)


def test_bearer_token_on_every_non_token_request(rsps, client):
    full_flow(rsps, client)

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
    full_flow(rsps, client)

    for call in rsps.calls:
        timeout = call.request.req_kwargs["timeout"]
        assert isinstance(timeout, tuple)
        assert len(timeout) == 2
        expected = (4.0, 90.0) if call.request.url == PROCEED_URL else (3.0, 17.0)
        assert timeout == expected, call.request.url


def test_default_timeouts_are_bounded_and_proceed_waits_longer(rsps, client):
    full_flow(rsps, client)

    by_url = {c.request.url.split("?")[0]: c.request.req_kwargs["timeout"] for c in rsps.calls}
    connect, read = by_url[VAULTS_URL]
    assert 0 < connect <= 10
    assert 0 < read <= 60
    assert by_url[PROCEED_URL][1] >= read

"""Fast, helpful network failures (issue #10): a refused connection or an unknown host at the
start of a run fails at once with what to check; a 404 at the token call points at the
``/kolaybi/v1`` path; retries stay for what is transient (timeouts, 429, 502-504) and for any
failure once the server has answered."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from kolaybi_xl.api import ConfigurationError, ConnectionFailed, KolayBiClient
from kolaybi_xl.errors import ExitCode, explain

BASE = "https://api.kolaybi.test/kolaybi/v1"
TOKEN_URL = f"{BASE}/access_token"
VAULTS_URL = f"{BASE}/vaults"


def client(base: str = BASE, **options: Any) -> tuple[KolayBiClient, list[float]]:
    waits: list[float] = []
    return KolayBiClient(base, "kanal", "secret-key-123", sleep=waits.append, **options), waits


def refused() -> requests.exceptions.ConnectionError:
    reason = NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused"
    )
    return requests.exceptions.ConnectionError(MaxRetryError(None, TOKEN_URL, reason))


def unknown_host() -> requests.exceptions.ConnectionError:
    reason = NameResolutionError("api.kolaybi.test", None, socket.gaierror(-2, "not known"))
    return requests.exceptions.ConnectionError(MaxRetryError(None, TOKEN_URL, reason))


TOKEN_OK = {"success": True, "data": "tok-abc", "message": ""}
VAULTS_OK = {"success": True, "data": [{"id": 1, "name": "Kasa", "currency": "TRY"}]}


@pytest.mark.parametrize(
    ("failure", "cause", "hint"),
    [(refused, "refused", "check the URL"), (unknown_host, "dns", "spelling of the URL")],
)
@responses.activate
def test_first_connection_refused_or_unknown_host_fails_at_once(failure, cause, hint):
    responses.add(responses.POST, TOKEN_URL, body=failure())
    api, waits = client()
    with pytest.raises(ConnectionFailed) as caught:
        api.list_vaults()
    assert waits == []  # no backoff: a wrong URL does not get better by waiting
    assert len(responses.calls) == 1
    assert caught.value.cause == cause
    text = str(caught.value)
    assert text.startswith("KolayBi could not be reached at api.kolaybi.test: ")
    assert hint in text
    shown = explain(caught.value)
    assert shown.exit_code == ExitCode.API
    assert explain(caught.value, "tr").text.startswith("KolayBi'ye ulaşılamadı: internet ya da")


def test_a_closed_port_on_loopback_fails_in_well_under_a_second():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api, waits = client(f"http://127.0.0.1:{port}/kolaybi/v1")
    with pytest.raises(ConnectionFailed) as caught:
        api.list_vaults()
    assert waits == []
    assert caught.value.cause == "refused"


@responses.activate
def test_once_the_server_answered_a_refused_connection_is_retried():
    responses.add(responses.POST, TOKEN_URL, json=TOKEN_OK)
    responses.add(responses.GET, VAULTS_URL, json=VAULTS_OK)
    responses.add(responses.GET, VAULTS_URL, body=refused())
    responses.add(responses.GET, VAULTS_URL, json=VAULTS_OK)
    api, waits = client()
    assert len(api.list_vaults()) == 1
    assert len(api.list_vaults()) == 1  # a restart mid-run: waited, then it answered
    assert len(waits) == 1


@responses.activate
def test_timeouts_are_still_retried_at_the_start():
    responses.add(responses.POST, TOKEN_URL, body=requests.exceptions.ConnectTimeout("slow"))
    responses.add(responses.POST, TOKEN_URL, json=TOKEN_OK)
    responses.add(responses.GET, VAULTS_URL, json=VAULTS_OK)
    api, waits = client()
    assert len(api.list_vaults()) == 1
    assert len(waits) == 1


@pytest.mark.parametrize("status", [429, 502, 503, 504])
@responses.activate
def test_transient_statuses_are_still_retried(status):
    responses.add(responses.POST, TOKEN_URL, json=TOKEN_OK)
    responses.add(responses.GET, VAULTS_URL, status=status, json={"message": "busy"})
    responses.add(responses.GET, VAULTS_URL, json=VAULTS_OK)
    api, waits = client()
    assert len(api.list_vaults()) == 1
    assert len(waits) == 1


@responses.activate
def test_a_404_at_the_token_call_says_the_url_lacks_the_api_path():
    base = "https://api.kolaybi.test"
    responses.add(responses.POST, f"{base}/access_token", status=404, body="Not Found")
    api, waits = client(base)
    with pytest.raises(ConfigurationError) as caught:
        api.list_vaults()
    assert waits == []
    assert "/access_token answered 404" in str(caught.value)
    assert "probably lacks the /kolaybi/v1 path" in str(caught.value)
    shown = explain(caught.value)
    assert shown.exit_code == ExitCode.BAD_INPUT
    assert "/kolaybi/v1" in explain(caught.value, "tr").text


@responses.activate
def test_a_404_at_the_token_call_of_a_full_url_asks_to_check_it():
    responses.add(responses.POST, TOKEN_URL, status=404, body="Not Found")
    api, _ = client()
    with pytest.raises(ConfigurationError) as caught:
        api.list_vaults()
    assert "probably lacks" not in str(caught.value)
    assert "check the URL" in str(caught.value)
    assert "secret-key-123" not in str(caught.value)

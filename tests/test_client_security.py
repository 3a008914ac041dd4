"""Security: https only off loopback, no credentials in URLs, and the key and token never in texts,
logs or a ~/.netrc header.

Unit tests of the KolayBi HTTP client, without any network (split from ``test_client.py``).
Every HTTP answer is served by ``responses``; ``sleep=`` records the delays instead of
sleeping and ``clock=`` is a fake monotonic clock, so the tests are fast and deterministic.
The sample answers in ``tests/fixtures`` are copied verbatim from ``kolaybi-api.md``.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import responses
from client_support import (
    API_KEY,
    BASE,
    CHANNEL,
    INVOICES_URL,
    PROCEED_URL,
    TOKEN,
    TOKEN_URL,
    VAULTS_URL,
    aborted,
    add_token,
    full_flow,
    inv,
    load,
)

from kolaybi_xl.api import (
    ConfigurationError,
    InvalidResponse,
    KolayBiClient,
    KolayBiError,
    OutcomeUnknown,
)

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
    full_flow(rsps, client)

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

"""How error answers map to error classes: status codes, HTML and empty bodies, envelopes,
redirects.

Unit tests of the KolayBi HTTP client, without any network (split from ``test_client.py``).
Every HTTP answer is served by ``responses``; ``sleep=`` records the delays instead of
sleeping and ``clock=`` is a fake monotonic clock, so the tests are fast and deterministic.
The sample answers in ``tests/fixtures`` are copied verbatim from ``kolaybi-api.md``.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
import responses
from client_support import (
    INVOICES_URL,
    VAULTS_URL,
    add_token,
    calls,
    load,
)

from kolaybi_xl.api import (
    AuthenticationError,
    InvalidResponse,
    KolayBiError,
    NotFoundError,
    RejectedError,
    ServerError,
)

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

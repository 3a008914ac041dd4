"""The client's side of issue #11: what a proceed answer proves, vault transactions, malformed
list items, and redaction of the key in the forms a server may echo it in (``responses``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from kolaybi_xl.api import KolayBiClient, OutcomeUnknown, RejectedError

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://api.kolaybi.test/kolaybi/v1"
CHANNEL = "kanal-42"
API_KEY = "kb_live_Çok/Gizli Anahtar_0123456789"  # non-ASCII, a slash and a space
PROCEED_URL = f"{BASE}/invoices/proceed"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def rsps() -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, f"{BASE}/access_token", json={"success": True, "data": "tok"})
        yield mock


@pytest.fixture
def client() -> Any:
    made = KolayBiClient(BASE, CHANNEL, API_KEY, backoff=0.0, sleep=lambda _s: None)
    yield made
    made.close()


def test_a_2xx_success_false_to_a_proceed_is_unclear_not_a_refusal(rsps: Any, client: Any) -> None:
    rsps.add(responses.POST, PROCEED_URL, json=load("error.json"))
    with pytest.raises(OutcomeUnknown) as caught:
        client.proceed(1854, 2)
    assert caught.value.answered  # an answer: the request is over, a re-read tells the truth
    assert caught.value.status == 200
    assert "Hata!" in caught.value.message
    assert len([c for c in rsps.calls if c.request.url == PROCEED_URL]) == 1


def test_a_4xx_to_a_proceed_is_still_a_refusal(rsps: Any, client: Any) -> None:
    rsps.add(
        responses.POST, PROCEED_URL, status=422, json={"success": False, "message": "kalan yok"}
    )
    with pytest.raises(RejectedError):
        client.proceed(1854, 2)


@pytest.mark.parametrize(
    ("status", "answered"), [(500, True), (503, True), (502, False), (504, False)]
)
def test_which_5xx_answers_are_over(rsps: Any, client: Any, status: int, answered: bool) -> None:
    """A 500/503 comes from KolayBi itself; a 502/504 from a gateway that gave up waiting."""
    rsps.add(responses.POST, PROCEED_URL, status=status, json={"message": "x"})
    with pytest.raises(OutcomeUnknown) as caught:
        client.proceed(1854, 2)
    assert caught.value.answered is answered


def test_no_answer_is_not_answered(rsps: Any, client: Any) -> None:
    rsps.add(responses.POST, PROCEED_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(OutcomeUnknown) as caught:
        client.proceed(1854, 2)
    assert caught.value.answered is False
    assert caught.value.status is None


def test_vault_transactions_documented_shape(rsps: Any, client: Any) -> None:
    rsps.add(
        responses.GET,
        f"{BASE}/vaults/2/transactions",
        json={
            "success": True,
            "data": {
                "transactionables": [{"id": 135, "amount": 3400, "description": "Tahsilat"}],
                "calculations": [{"amount": 1000, "currency": "try"}],
            },
        },
    )
    [item] = client.vault_transactions(2)
    assert (item.id, str(item.amount), item.description) == (135, "3400", "Tahsilat")


def test_one_malformed_invoice_is_skipped_with_a_warning(rsps: Any, client: Any) -> None:
    good = load("invoices_list.json")["data"][0]
    bad = copy.deepcopy(good)
    bad["commercial_doc_id"] = 1855
    bad["payment_plan"]["total_remaining"] = "abc"
    rsps.add(responses.GET, f"{BASE}/invoices", json={"success": True, "data": [good, bad]})
    invoices = client.list_invoices("sale_invoice")
    assert [i.commercial_doc_id for i in invoices] == [1854]
    assert len(client.skipped) == 1
    assert "1855" in client.skipped[0]
    assert "total_remaining" in client.skipped[0]


@pytest.mark.parametrize(
    "echo",
    [
        API_KEY,
        json.dumps(API_KEY)[1:-1],  # \u00c7 (ensure_ascii)
        json.dumps(API_KEY)[1:-1].replace("\\u00c7", "\\u00C7"),  # upper-case hex
        json.dumps(API_KEY)[1:-1].replace("/", "\\/"),  # PHP's json_encode
        requests.utils.quote(API_KEY, safe=""),
        requests.utils.quote(API_KEY, safe="").lower(),
        requests.utils.quote(API_KEY, safe="").replace("%20", "+"),
    ],
)
def test_an_echoed_key_is_redacted_in_every_form(rsps: Any, client: Any, echo: str) -> None:
    body = '{"success": false, "message": "bad key: ' + echo.replace('"', "") + '"}'
    rsps.add(responses.GET, f"{BASE}/vaults", status=422, body=body)
    with pytest.raises(RejectedError) as caught:
        client.list_vaults()
    text = str(caught.value)
    assert "bad key" in text
    assert echo not in text
    assert "Gizli" not in text


def test_a_refusal_whose_message_holds_a_lone_surrogate_reads_whole(rsps: Any, client: Any) -> None:
    body = json.dumps({"success": False, "message": "kalan yok \udc00"})
    rsps.add(responses.POST, PROCEED_URL, status=422, body=body, content_type="application/json")
    with pytest.raises(RejectedError) as caught:
        client.proceed(1854, 2)
    caught.value.message.encode("utf-8")  # the journal and the workbook write it
    assert "\ufffd" in caught.value.message

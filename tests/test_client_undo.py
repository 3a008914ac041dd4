"""``undo_collection`` (DELETE /invoices/proceed/{id}): not repeatable, like proceed
(``responses``)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import responses

from kolaybi_xl.api import KolayBiClient, NotFoundError, OutcomeUnknown, RejectedError

BASE = "https://api.kolaybi.test/kolaybi/v1"
UNDO_URL = f"{BASE}/invoices/proceed/1854"


@pytest.fixture
def rsps() -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, f"{BASE}/access_token", json={"success": True, "data": "tok"})
        yield mock


@pytest.fixture
def client() -> Any:
    made = KolayBiClient(BASE, "kanal", "key-123", backoff=0.0, sleep=lambda _s: None)
    yield made
    made.close()


def _undo_calls(rsps: Any) -> int:
    return len([c for c in rsps.calls if c.request.method == "DELETE"])


def test_success_sends_one_delete_with_the_id_in_the_path(rsps: Any, client: Any) -> None:
    rsps.add(responses.DELETE, UNDO_URL, json={"success": True})
    assert client.undo_collection(1854) is None
    [call] = [c for c in rsps.calls if c.request.method == "DELETE"]
    assert call.request.url == UNDO_URL
    assert call.request.headers["Channel"] == "kanal"
    assert call.request.headers["Authorization"] == "Bearer tok"


@pytest.mark.parametrize(
    ("status", "error"), [(422, RejectedError), (404, NotFoundError), (400, RejectedError)]
)
def test_a_4xx_is_a_refusal(rsps: Any, client: Any, status: int, error: type) -> None:
    body = {"success": False, "message": "Faturaya ait silinecek tahsilat bulunamadı."}
    rsps.add(responses.DELETE, UNDO_URL, status=status, json=body)
    with pytest.raises(error) as caught:
        client.undo_collection(1854)
    assert not isinstance(caught.value, OutcomeUnknown)
    assert _undo_calls(rsps) == 1


@pytest.mark.parametrize(
    ("status", "answered"), [(500, True), (503, True), (502, False), (504, False)]
)
def test_a_5xx_is_unclear_and_never_sent_again(
    rsps: Any, client: Any, status: int, answered: bool
) -> None:
    rsps.add(responses.DELETE, UNDO_URL, status=status, json={"message": "x"})
    with pytest.raises(OutcomeUnknown) as caught:
        client.undo_collection(1854)
    assert caught.value.answered is answered
    assert caught.value.document_id == 1854
    assert _undo_calls(rsps) == 1


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectionError("Connection aborted: RemoteDisconnected"),
    ],
)
def test_no_answer_is_unclear_and_never_sent_again(rsps: Any, client: Any, failure: Any) -> None:
    # one answered call first, so a dropped connection is not "KolayBi is unreachable"
    rsps.add(responses.GET, f"{BASE}/vaults", json={"success": True, "data": []})
    client.list_vaults()
    rsps.add(responses.DELETE, UNDO_URL, body=failure)
    with pytest.raises(OutcomeUnknown) as caught:
        client.undo_collection(1854)
    assert caught.value.answered is False
    assert _undo_calls(rsps) == 1


@pytest.mark.parametrize(
    "body", [{"success": False, "message": "Hata!"}, {"data": None}, "<html>oops</html>"]
)
def test_an_unclear_2xx_is_unclear(rsps: Any, client: Any, body: Any) -> None:
    if isinstance(body, str):
        rsps.add(responses.DELETE, UNDO_URL, body=body, content_type="text/html")
    else:
        rsps.add(responses.DELETE, UNDO_URL, json=body)
    with pytest.raises(OutcomeUnknown) as caught:
        client.undo_collection(1854)
    assert caught.value.answered
    assert _undo_calls(rsps) == 1


def test_an_expired_token_is_renewed_and_sent_again(rsps: Any, client: Any) -> None:
    """A 401 proves nothing was applied: renew the token and send once more."""
    rsps.add(responses.DELETE, UNDO_URL, status=401, json={"message": "Unauthenticated."})
    rsps.add(responses.DELETE, UNDO_URL, json={"success": True})
    client.undo_collection(1854)
    assert _undo_calls(rsps) == 2

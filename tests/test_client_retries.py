"""Retries: safe requests back off and retry; ``proceed`` is never repeated when it may have
reached the server.

Unit tests of the KolayBi HTTP client, without any network (split from ``test_client.py``).
Every HTTP answer is served by ``responses``; ``sleep=`` records the delays instead of
sleeping and ``clock=`` is a fake monotonic clock, so the tests are fast and deterministic.
The sample answers in ``tests/fixtures`` are copied verbatim from ``kolaybi-api.md``.
"""

from __future__ import annotations

import email.utils
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests
import responses
from client_support import (
    BASE,
    PROCEED_URL,
    TOKEN_URL,
    VAULTS_URL,
    aborted,
    add_token,
    calls,
    load,
    refused,
)

from kolaybi_xl.api import (
    AuthenticationError,
    ConnectionFailed,
    OutcomeUnknown,
    RateLimitedError,
    RejectedError,
    ServerError,
)
from kolaybi_xl.api.answers import Failure, Step, final_error, next_step
from kolaybi_xl.api.client import MAX_RETRY_AFTER

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


# -- the one rule (``answers.next_step``) ----------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "repeatable", "attempt", "renewed", "step"),
    [
        (
            Failure(ServerError("x", status=503), unsure="u", transient=True),
            True,
            0,
            False,
            "RETRY",
        ),
        (
            Failure(ServerError("x", status=503), unsure="u", transient=True),
            False,
            0,
            False,
            "RAISE",
        ),
        (
            Failure(ServerError("x", status=503), unsure="u", transient=True),
            True,
            4,
            False,
            "RAISE",
        ),
        (Failure(RateLimitedError("x"), transient=True), False, 0, False, "RETRY"),
        (Failure(ConnectionFailed("x"), transient=True), False, 3, False, "RETRY"),
        (Failure(RejectedError("x", status=422)), True, 0, False, "RAISE"),
        (Failure(AuthenticationError("x", status=401), renewable=True), False, 0, False, "RENEW"),
        (Failure(AuthenticationError("x", status=401), renewable=True), False, 0, True, "RAISE"),
    ],
)
def test_one_rule_decides_whether_a_try_is_sent_again(failure, repeatable, attempt, renewed, step):
    decided = next_step(
        failure, repeatable=repeatable, attempt=attempt, max_retries=4, renewed=renewed
    )

    assert decided is Step[step]


def test_an_unrepeatable_request_that_may_have_been_applied_raises_outcome_unknown():
    failure = Failure(ServerError("boom", status=500), unsure="the server failed")

    error = final_error(failure, repeatable=False, form={"document_id": "7", "vault_id": "2"})

    assert isinstance(error, OutcomeUnknown)
    assert (error.status, error.document_id, error.vault_id) == (500, 7, 2)
    assert final_error(failure, repeatable=True, form=None) is failure.error

"""``get_invoice``, ``list_vaults`` and ``proceed`` against the documented sample answers.

Unit tests of the KolayBi HTTP client, without any network (split from ``test_client.py``).
Every HTTP answer is served by ``responses``; ``sleep=`` records the delays instead of
sleeping and ``clock=`` is a fake monotonic clock, so the tests are fast and deterministic.
The sample answers in ``tests/fixtures`` are copied verbatim from ``kolaybi-api.md``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
import responses
from client_support import (
    INVOICES_URL,
    PROCEED_URL,
    VAULTS_URL,
    add_token,
    calls,
    load,
    page_matcher,
    query,
)

from kolaybi_xl.api import (
    InvalidResponse,
)

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
        match=[page_matcher(currency="TRY", type="bank_account")],
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


def test_a_lone_surrogate_in_an_answer_becomes_a_replacement_character(rsps, client):
    """JSON may carry "\\ud800" alone: not a character any encoding can write (the console,
    the journal, a workbook's XML each failed on it), so it is read as U+FFFD; a pair
    escaped the same way stays the one character it is."""
    add_token(rsps)
    item = load("invoices_list.json")["data"][0]
    item["header"]["associate"]["full_name"] = "Kötü\ud800 Ad 😀"
    body = json.dumps({"success": True, "data": item})  # ASCII: "\\ud800", "\\ud83d\\ude00"
    assert "\\ud800" in body
    assert "\\ud83d\\ude00" in body
    rsps.add(responses.GET, f"{INVOICES_URL}/1854", body=body, content_type="application/json")

    invoice = client.get_invoice(1854)

    assert invoice.header.associate.full_name == "Kötü\ufffd Ad 😀"


@pytest.mark.parametrize(
    ("text", "lone"),
    [
        ("😀 and 𝄞", False),  # escaped pairs: whole characters
        ("ğüşiöç", False),
        ("\ud800", True),
        ("a\udc00b", True),
        ("\ud800\ud800", True),
        ("😀\udfff", True),
        ("\udc00😀", True),
        ("😀 \udbff", True),
        ("\ud83d\ud83d\ude00", True),  # a high half, then a whole pair
        ("😀😀", False),
    ],
)
def test_only_a_lone_surrogate_makes_the_answer_walked_again(text, lone):
    """The whole answer is walked (a copy of a 50,000-invoice list) only when it holds a lone
    half: a seeded list or a real one with one emoji in it read as it was parsed."""
    from kolaybi_xl.api.http import has_lone_surrogate

    raw = json.dumps({"data": [{"name": text}]}).encode()  # ASCII escapes, as PHP writes them
    assert has_lone_surrogate(raw) is lone
    upper = re.sub(rb"\\u([0-9a-f]{4})", lambda m: b"\\u" + m.group(1).upper(), raw)
    assert has_lone_surrogate(upper) is lone  # "\uD83D\uDE00" too

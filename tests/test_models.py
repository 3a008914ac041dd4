"""Tests of the pydantic models of KolayBi answers (``kolaybi_xl.api.models``).

The sample answers in ``tests/fixtures`` are copied verbatim from ``kolaybi-api.md``.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import responses
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from kolaybi_xl.api import (
    InvalidResponse,
    Invoice,
    InvoiceType,
    KolayBiClient,
    ProceedResult,
    Vault,
)
from kolaybi_xl.api.models import Money

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://api.kolaybi.test/kolaybi/v1"
MONEY: TypeAdapter[Decimal | None] = TypeAdapter(Money)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def sample_item() -> dict[str, Any]:
    item: dict[str, Any] = load("invoices_list.json")["data"][0]
    return item


def parse_json_item(text: str) -> Invoice:
    """Parse as the client does: JSON text -> Python objects (floats) -> model."""
    return Invoice.model_validate(json.loads(text))


# ---------------------------------------------------------------------------------------
# The documented samples
# ---------------------------------------------------------------------------------------


def test_documented_sample_invoice_parses():
    invoice = Invoice.model_validate(sample_item())

    assert invoice.commercial_doc_id == 1854
    assert invoice.currency == "TRY"  # "try" upper-cased
    assert invoice.tracking_currency == "TRY"
    assert invoice.header.serial_no == "KBI202400000234"
    assert invoice.header.issue_date == datetime(2024, 1, 15, 10, 30)
    assert invoice.header.due_date == datetime(2024, 2, 15)
    assert invoice.header.associate.full_name == "ACME LTD"
    assert invoice.header.associate.identity_no == "1234567890"
    assert isinstance(invoice.header.associate.identity_no, str)
    assert invoice.total.grand_total == Decimal("2327.6")
    assert invoice.total.total_vat == Decimal("211.6")
    assert invoice.total.subtotal == Decimal("2116")
    assert invoice.total.subtotal_discount_value == Decimal("0")
    assert invoice.payment_plan is not None
    assert invoice.payment_plan.total_remaining == Decimal("2327.6")
    assert invoice.payment_plan.total_paid == Decimal("0")
    assert invoice.payment_plan.actual_currency == "TRY"
    assert invoice.payment_plan.payment_status_value == "unpaid"
    assert invoice.remaining == Decimal("2327.6")
    assert invoice.type == "sale_invoice"
    assert invoice.commercial_doc_status is not None
    assert invoice.commercial_doc_status.value == "ready_to_send"
    assert invoice.cash_flow_direction == 1
    assert invoice.is_payable is True
    assert invoice.tags == []
    for amount in (invoice.total.grand_total, invoice.payment_plan.total_remaining):
        assert isinstance(amount, Decimal)


def test_documented_proceed_answer_parses():
    result = ProceedResult.model_validate(load("proceed_success.json")["data"])

    assert result.transaction_status == "Tamamlandı"
    assert result.remaining_amount == Decimal("0.0")
    assert isinstance(result.remaining_amount, Decimal)


def test_documented_vaults_parse_with_normalised_case():
    vaults = [Vault.model_validate(v) for v in load("vaults.json")["data"]]
    assert [(v.id, v.type, v.currency, v.balance) for v in vaults] == [
        (1, "safe_deposit", "TRY", Decimal("12500.0")),
        (2, "bank_account", "TRY", Decimal("98000.0")),
    ]
    mixed = Vault.model_validate({"id": 9, "type": "SAFE_DEPOSIT", "currency": "try"})
    assert (mixed.type, mixed.currency) == ("safe_deposit", "TRY")


def test_unknown_extra_fields_are_tolerated():
    item = sample_item()
    item["brand_new_field"] = {"nested": [1, 2, 3]}
    item["header"]["e_invoice_profile"] = "TICARIFATURA"
    item["total"]["withholding"] = 12.5
    item["payment_plan"]["installments"] = [{"amount": 100}]
    item["tags"] = [{"id": 5, "name": "VIP", "description": None, "color": "red"}]

    invoice = Invoice.model_validate(item)

    assert invoice.commercial_doc_id == 1854
    assert invoice.tags[0].name == "VIP"
    assert not hasattr(invoice, "brand_new_field")


def test_missing_optional_parts_become_none_or_empty():
    invoice = Invoice.model_validate({"commercial_doc_id": 7})

    assert invoice.payment_plan is None
    assert invoice.remaining is None
    assert invoice.header.due_date is None
    assert invoice.total.grand_total is None
    assert invoice.tags == []


def test_models_are_immutable():
    invoice = Invoice.model_validate(sample_item())
    with pytest.raises(ValidationError):
        invoice.commercial_doc_id = 1  # type: ignore[misc]


# ---------------------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2327.60", Decimal("2327.60")),
        (" 2327.6 ", Decimal("2327.6")),
        ("100", Decimal("100")),
        (2116, Decimal("2116")),
        (0, Decimal("0")),
        (-15, Decimal("-15")),
        (2327.6, Decimal("2327.6")),
        ("1e3", Decimal("1000")),
        (Decimal("12.34"), Decimal("12.34")),
    ],
)
def test_amounts_as_strings_ints_and_floats_parse_to_decimal(raw, expected):
    item = sample_item()
    item["total"]["grand_total"] = raw
    item["payment_plan"]["total_remaining"] = raw

    invoice = Invoice.model_validate(item)

    assert isinstance(invoice.total.grand_total, Decimal)
    assert invoice.total.grand_total == expected
    assert invoice.payment_plan is not None
    assert invoice.payment_plan.total_remaining == expected


@pytest.mark.parametrize(
    ("json_number", "expected"),
    [
        ("0.3", "0.3"),
        ("0.1", "0.1"),
        ("0.7", "0.7"),
        ("1.1", "1.1"),
        ("2327.6", "2327.6"),
        ("211.6", "211.6"),
        ("1234567.89", "1234567.89"),
        ("0.0", "0.0"),
    ],
)
def test_float_noise_never_appears(json_number, expected):
    # 0.1 + 0.2 != 0.3 in binary floats; the parser must keep what the server wrote.
    text = '{"commercial_doc_id": 1, "total": {"grand_total": ' + json_number + "}}"
    invoice = parse_json_item(text)

    assert invoice.total.grand_total == Decimal(expected)
    assert str(invoice.total.grand_total) == expected
    assert Decimal(float(json_number)) != Decimal(expected) or expected.endswith(".0")


@pytest.mark.parametrize("raw", ["abc", "1.234,56", True, [], {}, "NaN", "Infinity", float("inf")])
def test_non_amounts_are_refused(raw):
    with pytest.raises(ValidationError):
        MONEY.validate_python(raw)


@pytest.mark.parametrize("raw", [None, ""])
def test_absent_amounts_are_none(raw):
    assert MONEY.validate_python(raw) is None


finite_decimals = st.decimals(allow_nan=False, allow_infinity=False)


@given(finite_decimals)
def test_money_round_trips_any_finite_decimal_sent_as_json_float(value):
    number = float(value)
    assume(number not in (float("inf"), float("-inf")))  # too large for a JSON number
    parsed = MONEY.validate_python(json.loads(json.dumps(number)))
    assert parsed == Decimal(str(number))


@given(finite_decimals)
def test_money_round_trips_any_finite_decimal_sent_as_json_string(value):
    parsed = MONEY.validate_python(json.loads(json.dumps(str(value))))
    assert parsed == value
    assert parsed == Decimal(str(value))


# ---------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-02-15", datetime(2024, 2, 15)),
        ("2024-02-15 00:00:00", datetime(2024, 2, 15)),
        ("2024-01-15 10:30:00", datetime(2024, 1, 15, 10, 30)),
        ("2024-01-15T10:30:00", datetime(2024, 1, 15, 10, 30)),
        # Instants with an offset become naive Turkish local time (UTC+3), like the rest.
        ("2024-01-15T07:30:00Z", datetime(2024, 1, 15, 10, 30)),
        ("2024-01-15T07:30:00.000000Z", datetime(2024, 1, 15, 10, 30)),
        ("2024-01-15T10:30:00+03:00", datetime(2024, 1, 15, 10, 30)),
        ("15.02.2024", datetime(2024, 2, 15)),
    ],
)
def test_dates_parse_to_naive_datetimes(raw, expected):
    item = sample_item()
    item["header"]["due_date"] = raw

    due = Invoice.model_validate(item).header.due_date

    assert due == expected
    assert due is not None
    assert due.tzinfo is None  # Excel cannot store time zones; never mix naive and aware


@pytest.mark.parametrize("raw", [None, ""])
def test_null_due_date_is_none(raw):
    item = sample_item()
    item["header"]["due_date"] = raw

    assert Invoice.model_validate(item).header.due_date is None


def test_missing_due_date_is_none():
    item = sample_item()
    del item["header"]["due_date"]

    assert Invoice.model_validate(item).header.due_date is None


@pytest.mark.parametrize("raw", ["15/02/2024", "yesterday", "2024-13-45", 20240215])
def test_malformed_dates_are_refused(raw):
    item = sample_item()
    item["header"]["due_date"] = raw
    with pytest.raises(ValidationError):
        Invoice.model_validate(item)


# ---------------------------------------------------------------------------------------
# InvoiceType
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("member", list(InvoiceType))
def test_invoice_type_parses_its_value_and_turkish_label_in_any_case(member):
    label = member.label
    spellings = [
        member,
        member.value,
        member.value.upper(),
        label,
        label.upper().replace("i", "İ"),  # Turkish upper case: i -> İ
        label.lower().replace("İ", "i"),
        f"  {label}  ",
    ]
    for spelling in spellings:
        assert InvoiceType.parse(spelling) is member, spelling


@pytest.mark.parametrize(
    "spelling", ["SATIŞ FATURASI", "satış iade faturası", "ALIŞ İADE FATURASI"]
)
def test_invoice_type_parses_turkish_dotted_and_dotless_i(spelling):
    assert isinstance(InvoiceType.parse(spelling), InvoiceType)


def test_unknown_invoice_type_is_a_value_error():
    with pytest.raises(ValueError, match="unknown invoice type"):
        InvoiceType.parse("proforma")


# ---------------------------------------------------------------------------------------
# Malformed answers through the client: InvalidResponse naming the invoice and the field
# ---------------------------------------------------------------------------------------


@pytest.fixture
def served():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, f"{BASE}/access_token", json=load("access_token.json"))
        client = KolayBiClient(BASE, "kanal", "key-123456", sleep=lambda s: None)
        yield mock, client
        client.close()


def test_malformed_amount_skips_that_invoice_naming_invoice_and_field(served):
    # Issue #11: one malformed invoice is that invoice's warning, not the end of the list.
    mock, client = served
    body = load("invoices_list.json")
    good = copy.deepcopy(body["data"][0])
    good["commercial_doc_id"] = 1853
    body["data"][0]["total"]["grand_total"] = "abc"
    body["data"].insert(0, good)
    mock.add(responses.GET, f"{BASE}/invoices", json=body)

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [1853]
    [text] = client.skipped
    assert "1854" in text
    assert "total.grand_total" in text


def test_missing_commercial_doc_id_in_the_list_raises_invalid_response(served):
    mock, client = served
    body = load("invoices_list.json")
    del body["data"][0]["commercial_doc_id"]
    mock.add(responses.GET, f"{BASE}/invoices", json=body)

    with pytest.raises(InvalidResponse, match="commercial_doc_id"):
        client.list_invoices()


def test_missing_commercial_doc_id_in_the_detail_raises_invalid_response(served):
    mock, client = served
    item = sample_item()
    del item["commercial_doc_id"]
    mock.add(responses.GET, f"{BASE}/invoices/1854", json={"success": True, "data": item})

    with pytest.raises(InvalidResponse, match="commercial_doc_id"):
        client.get_invoice(1854)


def test_malformed_vault_raises_invalid_response_naming_vault_and_field(served):
    mock, client = served
    body = load("vaults.json")
    body["data"][1]["balance"] = "çok"
    mock.add(responses.GET, f"{BASE}/vaults", json=body)

    with pytest.raises(InvalidResponse) as caught:
        client.list_vaults()

    assert "vault 2" in str(caught.value)
    assert "balance" in str(caught.value)


def test_invoice_id_given_as_digit_string_is_accepted(served):
    mock, client = served
    body = load("invoices_list.json")
    body["data"][0]["commercial_doc_id"] = "1854"
    mock.add(responses.GET, f"{BASE}/invoices", json=body)

    (invoice,) = client.list_invoices()

    assert invoice.commercial_doc_id == 1854

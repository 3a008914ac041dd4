"""The KolayBi emulator, exercised over real HTTP on loopback with `requests`."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import requests

from kolaybi_xl.sandbox import (
    HOSTILE_TEXTS,
    SAMPLE_INVOICE,
    Books,
    Faults,
    Refusal,
    Sandbox,
)
from kolaybi_xl.sandbox.app import Request

INVOICE_TYPES = (
    "sale_invoice",
    "sale_return_invoice",
    "purchase_invoice",
    "purchase_return_invoice",
    "self_employment_receipt",
)
# The documented list item of kolaybi-api.md §4.1: every item must have exactly this shape.
DOCUMENTED_ITEM: dict[str, Any] = {
    "commercial_doc_id": 1854,
    "currency": "try",
    "tracking_currency": "try",
    "commercial_doc_type": {
        "group": "sale",
        "value": "sale_invoice",
        "key": "SALE_INVOICE",
        "description": "Satış Faturası",
    },
    "commercial_doc_status": {
        "group": "sale",
        "value": "ready_to_send",
        "key": "READY_TO_SEND",
        "description": "Gönderime Hazır",
    },
    "cash_flow_direction": 1,
    "transformation_status": None,
    "financial_action_type_id": 0,
    "e_document_status": "ready",
    "is_payable": True,
    "is_exchange_diff": False,
    "header": {
        "serial_no": "KBI202400000234",
        "issue_date": "2024-01-15 10:30:00",
        "issue_time": "10:30:00",
        "due_date": "2024-02-15 00:00:00",
        "description": "Test faturası",
        "associate": {"full_name": "ACME LTD", "identity_no": "1234567890"},
    },
    "total": {
        "total_vat": 211.6,
        "total_amount": 2327.6,
        "subtotal": 2116,
        "grand_total": 2327.6,
        "exchange_grand_total": 2327.6,
        "subtotal_discount_type": {"value": "numeric", "key": "NUMERIC", "description": "numeric"},
        "subtotal_discount_value": 0,
    },
    "payment_plan": {
        "actual_amount": 2327.6,
        "total_amount": 2327.6,
        "cash_flow_direction": 1,
        "total_paid": 0,
        "total_remaining": 2327.6,
        "tracking_currency": "try",
        "actual_currency": "try",
        "payment_status_value": "unpaid",
    },
    "projects": [],
    "tags": [],
}


class Api:
    """A tiny client for the tests: one session, one token, raw `requests` responses."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.session = requests.Session()
        self.token: str | None = None

    def new_token(self) -> str:
        response = self.session.post(
            f"{self.sb.url}/access_token",
            json={"api_key": self.sb.api_key},
            headers={"Channel": self.sb.channel},
            timeout=5,
        )
        assert response.status_code == 200, response.text
        self.token = response.json()["data"]
        return self.token

    def headers(self) -> dict[str, str]:
        return {
            "Channel": self.sb.channel,
            "Authorization": f"Bearer {self.token or self.new_token()}",
        }

    def get(self, path: str, timeout: float = 5, **params: Any) -> requests.Response:
        url = path if path.startswith("http") else self.sb.url + path
        return self.session.get(url, params=params, headers=self.headers(), timeout=timeout)

    def invoices(self, type: str = "sale_invoice") -> list[dict[str, Any]]:
        response = self.get("/invoices", type=type)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def proceed(self, timeout: float = 5, **form: Any) -> requests.Response:
        return self.session.post(
            f"{self.sb.url}/invoices/proceed", data=form, headers=self.headers(), timeout=timeout
        )

    def undo(self, document_id: int) -> requests.Response:
        return self.session.delete(
            f"{self.sb.url}/invoices/proceed/{document_id}", headers=self.headers(), timeout=5
        )

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(
            method, f"{self.sb.root_url}/_sandbox{path}", timeout=5, **kwargs
        )


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(invoices=60, seed=1) as sandbox:
        yield sandbox


@pytest.fixture
def api(sb: Sandbox) -> Iterator[Api]:
    client = Api(sb)
    yield client
    client.session.close()


@pytest.fixture
def scenario() -> Iterator[tuple[Sandbox, Api, dict[str, int]]]:
    """Exact books for the collection rules: named invoices and vaults."""
    books = Books()
    ids = {
        "try_vault": books.add_vault("Merkez Kasa", "safe_deposit", "TRY", Decimal("500.00")),
        "usd_vault": books.add_vault("Garanti BBVA USD", "bank_account", "USD"),
        "open": books.add_invoice(grand_total=Decimal("1000.00")),
        "partly": books.add_invoice(grand_total=Decimal("2327.60"), paid=Decimal("327.60")),
        "paid": books.add_invoice(grand_total=Decimal("50.00"), paid=Decimal("50.00")),
        "draft": books.add_invoice(grand_total=Decimal("10.00"), status="draft"),
        "cancelled": books.add_invoice(grand_total=Decimal("10.00"), status="cancelled"),
        "usd": books.add_invoice(grand_total=Decimal("99.99"), currency="USD"),
        "purchase": books.add_invoice(type="purchase_invoice", grand_total=Decimal("120.00")),
    }
    with Sandbox(books=books) as sandbox:
        client = Api(sandbox)
        yield sandbox, client, ids
        client.session.close()


def dec(value: float) -> Decimal:
    """How a careful client reads an API amount."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def same_shape(actual: Any, expected: Any, where: str = "item") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        assert set(actual) == set(expected), f"{where}: {set(actual) ^ set(expected)}"
        for key, value in expected.items():
            if value is not None and not (isinstance(value, list) and not value):
                same_shape(actual[key], value, f"{where}.{key}")


# ---- authentication ---------------------------------------------------------------------------


def test_token_flow_and_auth_failures(sb: Sandbox, api: Api) -> None:
    def token_call(channel: str | None = sb.channel, **body: Any) -> requests.Response:
        headers = {"Channel": channel} if channel is not None else {}
        return api.session.post(f"{sb.url}/access_token", headers=headers, timeout=5, **body)

    ok = token_call(json={"api_key": sb.api_key})
    assert ok.status_code == 200
    assert ok.json()["success"] is True
    assert isinstance(ok.json()["data"], str)
    form = token_call(data={"api_key": sb.api_key})  # form-encoded, as some clients send it
    assert form.status_code == 200
    assert form.json()["data"] != ok.json()["data"]

    wrong = token_call(json={"api_key": "nope"})
    assert wrong.status_code == 401
    assert wrong.json()["success"] is False
    assert token_call(json={}).status_code == 422
    no_channel = token_call(channel=None, json={"api_key": sb.api_key})
    assert no_channel.status_code == 400
    assert no_channel.json()["success"] is False
    assert token_call(channel="x", json={"api_key": sb.api_key}).status_code == 401

    def list_call(**headers: str) -> requests.Response:
        return api.session.get(f"{sb.url}/invoices", headers=headers, timeout=5)

    token = ok.json()["data"]
    assert list_call(Channel=sb.channel).json() == {
        "success": False,
        "message": "Unauthenticated.",
    }
    for header in (f"Bearer {token}x", f"Basic {token}", "Bearer "):
        assert list_call(Channel=sb.channel, Authorization=header).status_code == 401
    assert list_call(Authorization=f"Bearer {token}").status_code == 400  # Channel still needed
    assert list_call(Channel=sb.channel, Authorization=f"Bearer {token}").status_code == 200


def test_token_expires_after_its_lifetime() -> None:
    with Sandbox(invoices=10, token_lifetime=0.5) as sb:
        api = Api(sb)
        assert api.get("/vaults").status_code == 200
        time.sleep(0.6)
        expired = api.get("/vaults")
        assert expired.status_code == 401
        assert expired.json()["message"] == "Unauthenticated."
        api.new_token()
        assert api.get("/vaults").status_code == 200
        api.session.close()


def test_repr_hides_the_api_key() -> None:
    sandbox = Sandbox(invoices=0, api_key="very-secret-key")
    assert "very-secret-key" not in repr(sandbox)
    assert sandbox.api_key == "very-secret-key"
    with sandbox:
        assert "very-secret-key" not in repr(sandbox)


# ---- invoices -------------------------------------------------------------------------------


def test_every_item_has_the_documented_shape_and_parses_back_to_the_state(
    sb: Sandbox, api: Api
) -> None:
    for invoice_type in INVOICE_TYPES:
        for item in api.invoices(invoice_type):
            same_shape(item, DOCUMENTED_ITEM)
            record = sb.books.invoices[item["commercial_doc_id"]]
            assert item == sb.books.invoice_json(record.id)
            assert item["currency"] == record.currency.lower() == item["tracking_currency"]
            assert item["commercial_doc_type"]["value"] == invoice_type
            total, plan, header = item["total"], item["payment_plan"], item["header"]
            assert dec(total["grand_total"]) == record.grand_total
            assert dec(total["subtotal"]) + dec(total["total_vat"]) == record.grand_total
            assert dec(plan["total_paid"]) == record.paid
            assert dec(plan["total_remaining"]) == record.grand_total - record.paid
            assert plan["payment_status_value"] in ("unpaid", "partially_paid", "paid")
            assert isinstance(header["associate"]["identity_no"], str)
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", header["issue_date"])
            assert header["issue_date"].endswith(header["issue_time"])
            due = header["due_date"]
            assert due is None or re.fullmatch(r"\d{4}-\d\d-\d\d 00:00:00", due)
            for tag in item["tags"]:
                assert set(tag) == {"id", "name", "description"}


def test_documented_sample_invoice_is_served_exactly(api: Api) -> None:
    (item,) = [i for i in api.invoices() if i["commercial_doc_id"] == 1854]
    assert item == DOCUMENTED_ITEM


def test_type_filter_default_and_unknown_type(sb: Sandbox, api: Api) -> None:
    seen: set[int] = set()
    for invoice_type in INVOICE_TYPES:
        ids = {i["commercial_doc_id"] for i in api.invoices(invoice_type)}
        assert ids, invoice_type
        assert all(sb.books.invoices[i].type == invoice_type for i in ids)
        seen |= ids
    assert seen == set(sb.books.invoices)
    default = api.get("/invoices").json()["data"]
    assert default == api.invoices("sale_invoice")
    unknown = api.get("/invoices", type="proforma")
    assert unknown.status_code == 422
    assert unknown.json()["success"] is False


def test_paging_follows_links_next_and_reports_meta() -> None:
    with Sandbox(invoices=60, page_size=7) as sb:
        api = Api(sb)
        expected = [r.id for r in sb.books.invoice_records("sale_invoice")]
        first = api.get("/invoices", type="sale_invoice").json()
        assert set(first) == {"success", "data", "links", "meta"}
        meta = first["meta"]
        assert meta["total"] == len(expected)
        assert meta["per_page"] == 7
        assert meta["last_page"] == -(-len(expected) // 7)
        assert (meta["current_page"], meta["from"], meta["to"]) == (1, 1, 7)
        assert first["links"]["prev"] is None
        collected: list[int] = []
        page: dict[str, Any] | None = first
        while page is not None:
            collected += [i["commercial_doc_id"] for i in page["data"]]
            next_url = page["links"]["next"]
            assert next_url is None or "type=sale_invoice" in next_url
            page = api.get(next_url).json() if next_url else None
        assert collected == expected  # stable order, no gaps, no duplicates

        big = api.get("/invoices", type="purchase_invoice", per_page=1000).json()
        assert big["meta"]["last_page"] == 1
        assert big["links"]["next"] is None
        beyond = api.get("/invoices", page=99).json()
        assert beyond["data"] == []
        assert beyond["meta"]["from"] is None
        assert api.get("/invoices", page=0).status_code == 422
        assert api.get("/invoices", per_page="x").status_code == 422
        api.session.close()


def test_invoice_detail(sb: Sandbox, api: Api) -> None:
    item = api.invoices()[3]
    detail = api.get(f"/invoices/{item['commercial_doc_id']}")
    assert detail.status_code == 200
    assert detail.json() == {"success": True, "data": item}
    missing = api.get("/invoices/999999")
    assert missing.status_code == 404
    assert missing.json() == {"success": False, "message": "Fatura bulunamadı"}
    assert api.get("/invoices/abc").status_code == 404


def test_detail_without_payment_plan() -> None:
    with Sandbox(invoices=10, detail_has_payment_plan=False) as sb:
        api = Api(sb)
        data = api.get("/invoices/1854").json()["data"]
        assert "payment_plan" not in data
        assert data["header"]["serial_no"] == "KBI202400000234"
        assert "payment_plan" in api.invoices()[0]  # the list keeps it
        api.session.close()


# ---- vaults ---------------------------------------------------------------------------------


def test_vaults_list_filters_and_detail(sb: Sandbox, api: Api) -> None:
    vaults = api.get("/vaults").json()["data"]
    names = {v["name"] for v in vaults}
    assert {
        "Merkez Kasa",
        "Ziraat Bankası TL",
        "Garanti BBVA USD",
        "İş Bankası EUR",
        "Döviz Kasası USD",
    } <= names
    for vault in vaults:
        assert set(vault) == {"id", "name", "type", "currency", "balance"}
        assert vault == sb.books.vault_json(vault["id"])
        assert vault["currency"] == vault["currency"].upper()
    usd = api.get("/vaults", currency="usd").json()["data"]
    assert {v["name"] for v in usd} == {"Garanti BBVA USD", "Döviz Kasası USD"}
    safes = api.get("/vaults", type="SAFE_DEPOSIT").json()["data"]
    assert {v["type"] for v in safes} == {"safe_deposit"}
    both = api.get("/vaults", type="bank_account", currency="USD").json()["data"]
    assert [v["name"] for v in both] == ["Garanti BBVA USD"]
    assert api.get("/vaults", currency="GBP").json()["data"] == []

    assert api.get("/vaults/1").json()["data"] == vaults[0]
    missing = api.get("/vaults/99")
    assert (missing.status_code, missing.json()["message"]) == (404, "Kasa bulunamadı")


# ---- proceed, ledger, undo ------------------------------------------------------------------


def test_proceed_collects_the_whole_remaining_amount(scenario: Any) -> None:
    sb, api, ids = scenario
    response = api.proceed(document_id=ids["partly"], vault_id=ids["try_vault"])
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "data": {"transaction_status": "Tamamlandı", "remaining_amount": 0.0},
    }
    (item,) = [i for i in api.invoices() if i["commercial_doc_id"] == ids["partly"]]
    plan = item["payment_plan"]
    assert (plan["total_paid"], plan["total_remaining"]) == (2327.6, 0.0)
    assert plan["payment_status_value"] == "paid"
    assert item["is_payable"] is False
    assert sb.books.vaults[ids["try_vault"]].balance == Decimal("2500.00")
    (entry,) = sb.books.ledger
    assert (entry.document_id, entry.vault_id, entry.amount) == (ids["partly"], 1, Decimal(2000))
    transactions = api.get(f"/vaults/{ids['try_vault']}/transactions").json()["data"]
    assert transactions["transactionables"][0]["amount"] == 2000.0
    assert transactions["transactionables"][0]["document_id"] == ids["partly"]
    assert transactions["calculations"] == [{"amount": 2500.0, "currency": "try"}]


def test_proceed_partial_amounts(scenario: Any) -> None:
    sb, api, ids = scenario
    first = api.proceed(document_id=ids["open"], vault_id=ids["try_vault"], amount="100.50")
    assert first.json()["data"] == {"transaction_status": "Tamamlandı", "remaining_amount": 899.5}
    item = sb.books.invoice_json(ids["open"])
    assert item["payment_plan"]["payment_status_value"] == "partially_paid"
    second = api.session.post(
        f"{sb.url}/invoices/proceed",
        json={"document_id": ids["open"], "vault_id": ids["try_vault"], "amount": 899.5},
        headers=api.headers(),
    )
    assert second.json()["data"]["remaining_amount"] == 0.0
    assert [e.amount for e in sb.books.collections_of(ids["open"])] == [
        Decimal("100.50"),
        Decimal("899.50"),
    ]
    assert sb.books.vaults[ids["try_vault"]].balance == Decimal("1500.00")


def test_proceed_on_a_payable_document_pays_out_of_the_vault(scenario: Any) -> None:
    sb, api, ids = scenario
    assert api.proceed(document_id=ids["purchase"], vault_id=ids["try_vault"]).status_code == 200
    assert sb.books.vaults[ids["try_vault"]].balance == Decimal("380.00")
    (transaction,) = api.get("/vaults/1/transactions").json()["data"]["transactionables"]
    assert transaction["amount"] == -120.0


@pytest.mark.parametrize(
    ("invoice", "vault", "amount", "status", "message"),
    [
        ("paid", "try_vault", None, 422, "Faturanın kalan tutarı yok."),
        ("open", 99, None, 404, "Kasa bulunamadı"),
        (99999, "try_vault", None, 404, "Fatura bulunamadı"),
        ("usd", "try_vault", None, 422, "para birimi"),
        ("open", "usd_vault", None, 422, "para birimi"),
        ("open", "try_vault", "1000.01", 422, "aşamaz"),
        ("draft", "try_vault", None, 422, "Taslak"),
        ("cancelled", "try_vault", None, 422, "İptal"),
        ("open", "try_vault", "0", 422, "sıfırdan büyük"),
        ("open", "try_vault", "-5", 422, "sıfırdan büyük"),
        ("open", "try_vault", "1.005", 422, "2 ondalık"),
        ("open", "try_vault", "10,50", 422, "amount"),
        ("open", "try_vault", "NaN", 422, "amount"),
        ("", "try_vault", None, 422, "document_id"),
        ("open", "x", None, 422, "vault_id"),
        ("open", "1.0", None, 422, "vault_id"),
    ],
)
def test_proceed_refusals_change_nothing(
    scenario: Any, invoice: Any, vault: Any, amount: str | None, status: int, message: str
) -> None:
    sb, api, ids = scenario

    def state() -> tuple[list[dict[str, Any]], list[Any]]:
        return [sb.books.invoice_json(i) for i in sb.books.invoices], sb.books.vault_records()

    before = state()
    form = {"document_id": ids.get(invoice, invoice), "vault_id": ids.get(vault, vault)}
    if amount is not None:
        form["amount"] = amount
    response = api.proceed(**form)
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False
    assert message in body["message"]
    assert sb.books.ledger == []
    assert state() == before


def test_proceed_rejects_malformed_bodies(scenario: Any) -> None:
    sb, api, _ids = scenario
    missing = api.session.post(
        f"{sb.url}/invoices/proceed", data={"vault_id": 1}, headers=api.headers()
    )
    assert missing.status_code == 422
    assert "document_id" in missing.json()["message"]
    bad_json = api.session.post(
        f"{sb.url}/invoices/proceed",
        data=b"{not json",
        headers=api.headers() | {"Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["success"] is False
    other = api.session.post(
        f"{sb.url}/invoices/proceed",
        data=b"<x/>",
        headers=api.headers() | {"Content-Type": "text/xml"},
    )
    assert other.status_code == 415
    assert sb.books.ledger == []


def test_ledger_shows_a_double_collection(scenario: Any) -> None:
    sb, api, ids = scenario
    for _ in range(2):
        response = api.proceed(document_id=ids["partly"], vault_id=ids["try_vault"], amount="10")
        assert response.status_code == 200
    assert len(sb.books.collections_of(ids["partly"])) == 2
    assert sb.books.collected_documents() == {ids["partly"]: 2}
    assert [e.seq for e in sb.books.ledger] == [1, 2]


def test_undo_restores_invoice_and_vault(scenario: Any) -> None:
    sb, api, ids = scenario
    before_invoice = sb.books.invoice_json(ids["partly"])
    before_vault = sb.books.vaults[ids["try_vault"]]
    api.proceed(document_id=ids["partly"], vault_id=ids["try_vault"], amount="500")
    api.proceed(document_id=ids["partly"], vault_id=ids["try_vault"])
    assert sb.books.invoices[ids["partly"]].remaining == 0

    undone = api.undo(ids["partly"])
    assert (undone.status_code, undone.json()) == (200, {"success": True})
    assert sb.books.invoice_json(ids["partly"]) == before_invoice  # seeded payment kept
    assert sb.books.vaults[ids["try_vault"]] == before_vault
    assert [e.undone for e in sb.books.ledger] == [True, True]
    assert sb.books.collected_documents() == {}
    assert api.get("/vaults/1/transactions").json()["data"]["transactionables"] == []

    again = api.undo(ids["partly"])
    assert again.status_code == 422
    assert again.json()["success"] is False
    assert api.undo(99999).status_code == 404
    assert api.proceed(document_id=ids["partly"], vault_id=ids["try_vault"]).status_code == 200


def test_concurrent_collections_never_take_more_than_remains(scenario: Any) -> None:
    sb, api, ids = scenario
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def collect(amount: str | None) -> None:
        with requests.Session() as session:
            form = {"document_id": ids["open"], "vault_id": ids["try_vault"]}
            if amount:
                form["amount"] = amount
            headers = api.headers()
            barrier.wait()
            response = session.post(
                f"{sb.url}/invoices/proceed", data=form, headers=headers, timeout=10
            )
            statuses.append(response.status_code)

    def race(amount: str | None) -> None:
        statuses.clear()
        threads = [threading.Thread(target=collect, args=(amount,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    race("300")  # 1000 remaining: exactly three fit
    assert sorted(statuses) == [200] * 3 + [422] * 5
    assert sb.books.invoices[ids["open"]].remaining == Decimal("100.00")
    race(None)  # everything that remains: exactly one wins
    assert sorted(statuses) == [200] + [422] * 7
    entries = sb.books.collections_of(ids["open"])
    assert sum(e.amount for e in entries) == Decimal("1000.00")
    assert len(entries) == 4
    assert sb.books.vaults[ids["try_vault"]].balance == Decimal("1500.00")


# ---- faults ---------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after_and_applies_nothing(scenario: Any) -> None:
    sb, api, ids = scenario
    api.headers()  # the token call must not use up the fault
    sb.faults.inject("rate_limit", endpoint="proceed", retry_after=7)
    limited = api.proceed(document_id=ids["open"], vault_id=ids["try_vault"])
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json() == {"success": False, "message": "Too Many Attempts."}
    assert sb.books.ledger == []
    assert api.proceed(document_id=ids["open"], vault_id=ids["try_vault"]).status_code == 200


def test_error_before_applies_nothing_and_error_after_applies(scenario: Any) -> None:
    sb, api, ids = scenario
    sb.faults.inject("error_before")
    before = api.proceed(document_id=ids["open"], vault_id=ids["try_vault"], amount="1")
    assert before.status_code in (500, 503)
    assert before.json()["success"] is False
    assert sb.books.ledger == []
    sb.faults.inject("error_after")
    after = api.proceed(document_id=ids["open"], vault_id=ids["try_vault"], amount="1")
    assert after.status_code == 500
    assert after.json()["success"] is False
    assert len(sb.books.collections_of(ids["open"])) == 1


def test_drop_after_applies_then_closes_the_connection(scenario: Any) -> None:
    sb, api, ids = scenario
    sb.faults.inject("drop_after")
    with pytest.raises(requests.ConnectionError):
        api.proceed(document_id=ids["open"], vault_id=ids["try_vault"])
    assert sb.books.invoices[ids["open"]].remaining == 0
    again = api.proceed(document_id=ids["open"], vault_id=ids["try_vault"])  # the session recovers
    assert again.status_code == 422


def test_slow_after_applies_before_the_client_times_out(scenario: Any) -> None:
    sb, api, ids = scenario
    api.headers()
    sb.faults.slow_seconds = 2.0  # the handler thread sleeps; the test does not wait for it
    sb.faults.inject("slow_after")
    with pytest.raises(requests.ReadTimeout):
        api.proceed(document_id=ids["open"], vault_id=ids["try_vault"], timeout=0.25)
    assert len(sb.books.collections_of(ids["open"])) == 1


def test_expire_token_fault_invalidates_the_token(scenario: Any) -> None:
    sb, api, _ids = scenario
    old = api.new_token()
    sb.faults.inject("expire_token", endpoint="vaults")
    expired = api.get("/vaults")
    assert expired.status_code == 401
    assert expired.json()["message"] == "Unauthenticated."
    assert api.get("/vaults").status_code == 401  # the token stays dead
    assert api.new_token() != old
    assert api.get("/vaults").status_code == 200


def test_expire_all_tokens(sb: Sandbox, api: Api) -> None:
    assert api.get("/vaults").status_code == 200
    sb.faults.expire_all_tokens()
    assert api.get("/vaults").status_code == 401
    api.new_token()
    assert api.get("/vaults").status_code == 200


def test_bad_json_is_html_with_200_and_not_applied(scenario: Any) -> None:
    sb, api, ids = scenario
    api.headers()  # fetch the token first: "any" includes the token call
    sb.faults.inject("bad_json", 2, endpoint="any")
    listed = api.get("/invoices")
    assert listed.status_code == 200
    assert listed.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        listed.json()
    proceeded = api.proceed(document_id=ids["open"], vault_id=ids["try_vault"])
    assert proceeded.status_code == 200
    with pytest.raises(ValueError):
        proceeded.json()
    assert sb.books.ledger == []
    assert api.get("/invoices").json()["success"] is True


def test_faults_match_their_endpoint_and_count(sb: Sandbox, api: Api) -> None:
    api.headers()
    sb.faults.inject("error_before", 2, endpoint="vaults")
    assert api.get("/invoices").status_code == 200
    assert [api.get("/vaults").status_code for _ in range(3)] == [503, 503, 200]
    sb.faults.inject("rate_limit", endpoint="token")
    assert api.get("/vaults").status_code == 200
    with pytest.raises(AssertionError):
        api.new_token()
    assert sb.faults.injected == []
    assert [f.kind for f in sb.faults.fired] == ["error_before", "error_before", "rate_limit"]
    with pytest.raises(ValueError):
        sb.faults.inject("explode")
    with pytest.raises(ValueError):
        sb.faults.inject("rate_limit", endpoint="everywhere")
    with pytest.raises(ValueError):
        sb.faults.inject("rate_limit", probability=1.5)


def test_probability_faults_are_deterministic_with_a_seed(sb: Sandbox, api: Api) -> None:
    api.headers()

    def run() -> list[int]:
        sb.faults.clear()
        sb.faults.seed(42)
        sb.faults.inject("rate_limit", endpoint="vaults", probability=0.5)
        return [api.get("/vaults").status_code for _ in range(16)]

    first, second = run(), run()
    assert first == second
    assert set(first) == {200, 429}
    assert len(sb.faults.injected) == 1  # stays until cleared
    sb.faults.clear()
    assert api.get("/vaults").status_code == 200


def test_latency_is_added_to_api_requests() -> None:
    with Sandbox(invoices=0, latency=0.2) as sb:
        api = Api(sb)
        api.headers()
        started = time.monotonic()
        assert api.get("/vaults").status_code == 200
        assert time.monotonic() - started >= 0.2
        sb.faults.latency = 0
        api.control("GET", "/state")
        api.session.close()


# ---- control endpoints, robustness, life cycle ------------------------------------------------


def test_control_endpoints(sb: Sandbox, api: Api) -> None:
    open_id = next(i["commercial_doc_id"] for i in api.invoices() if i["is_payable"])
    currency = sb.books.invoices[open_id].currency
    vault_id = next(v.id for v in sb.books.vault_records() if v.currency == currency)
    api.proceed(document_id=open_id, vault_id=vault_id, amount="1.25")
    (entry,) = api.control("GET", "/ledger").json()
    assert entry["document_id"] == open_id
    assert entry["amount"] == "1.25"
    assert entry["undone"] is False
    assert entry["vault_id"] == vault_id

    state = api.control("GET", "/state").json()
    assert state["invoices"] == 60
    assert state["live_collections"] == 1
    assert sum(state["invoices_by_type"].values()) == 60

    added = api.control("POST", "/faults", json={"kind": "rate_limit", "endpoint": "vaults"})
    assert added.status_code == 200
    assert added.json()["pending"][0]["kind"] == "rate_limit"
    assert api.get("/vaults").status_code == 429
    api.control("POST", "/faults", json={"kind": "error_before", "count": 3, "endpoint": "any"})
    assert api.control("DELETE", "/faults").json() == {"success": True}
    assert sb.faults.injected == []
    assert api.get("/vaults").status_code == 200
    assert api.control("POST", "/faults", json={"kind": "nope"}).status_code == 422
    assert api.control("POST", "/faults", json={"count": 1}).status_code == 422
    assert api.control("GET", "/faults").json()["fired"] == [
        {"kind": "rate_limit", "endpoint": "vaults"}
    ]
    assert api.control("POST", "/tokens/expire").status_code == 200
    assert api.get("/vaults").status_code == 401


def test_unknown_paths_methods_and_malformed_requests_get_the_envelope(
    sb: Sandbox, api: Api, capfd: pytest.CaptureFixture[str]
) -> None:
    missing = api.get("/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["success"] is False
    wrong_method = api.session.put(f"{sb.url}/invoices", headers=api.headers())
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "GET"
    assert wrong_method.json()["success"] is False
    assert api.get("/invoices/").status_code == 200  # trailing slash tolerated

    with socket.create_connection(("127.0.0.1", sb.port), timeout=5) as raw:
        raw.sendall(b"NONSENSE\r\n\r\n")
        answer = b"".join(iter(lambda: raw.recv(65536), b"")).decode()  # until the server closes
    assert answer.startswith("HTTP/1.")
    assert '"success":false' in answer
    assert capfd.readouterr().err == ""  # quiet unless verbose


def test_verbose_logging_redacts_the_api_key(capfd: pytest.CaptureFixture[str]) -> None:
    with Sandbox(invoices=0, verbose=True) as sb:
        requests.post(
            f"{sb.url}/access_token?api_key={sb.api_key}",
            headers={"Channel": sb.channel},
            timeout=5,
        )
    err = capfd.readouterr().err
    assert "access_token" in err
    assert sb.api_key not in err


def test_stop_is_idempotent_and_a_restart_keeps_port_and_state() -> None:
    sandbox = Sandbox(invoices=10).start()
    url = sandbox.url
    api = Api(sandbox)
    api.proceed(document_id=1854, vault_id=1, amount="1")
    sandbox.stop()
    sandbox.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/vaults", timeout=2)
    with sandbox:
        assert sandbox.url == url
        assert api.get("/vaults").status_code == 200  # tokens survive a restart
        assert len(sandbox.books.ledger) == 1
    api.session.close()


@pytest.mark.parametrize("started", [False, True])
def test_serve_forever_blocks_until_stopped_from_another_thread(started: bool) -> None:
    sandbox = Sandbox(invoices=0, faults=Faults(latency=0.01))
    assert sandbox.url.startswith("http://127.0.0.1:")  # bound, port known before serving
    if started:
        sandbox.start()  # the command line's pattern: start, print the URL, then block
    serving = threading.Thread(target=sandbox.serve_forever)
    serving.start()
    state = requests.get(f"{sandbox.root_url}/_sandbox/state", timeout=5)
    assert state.json()["invoices"] == 0
    if not started:
        with pytest.raises(RuntimeError):
            sandbox.serve_forever()
    sandbox.stop()
    serving.join(timeout=5)
    assert not serving.is_alive()
    assert sandbox.running is False


# ---- seed data --------------------------------------------------------------------------------


def test_seed_is_deterministic() -> None:
    def snapshot(books: Books) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return (
            [books.invoice_json(r.id) for r in books.invoice_records()],
            [books.vault_json(v.id) for v in books.vault_records()],
        )

    assert snapshot(Books.seeded(200, seed=3)) == snapshot(Books.seeded(200, seed=3))
    assert snapshot(Books.seeded(200, seed=3)) != snapshot(Books.seeded(200, seed=4))


def test_seed_looks_like_a_turkish_company() -> None:
    books = Books.seeded(300, seed=1)
    records = books.invoice_records()
    assert len(records) == 300
    assert records[0].id == 1001
    assert books.invoices[1854] == SAMPLE_INVOICE
    types = [r.type for r in records]
    assert set(types) == set(INVOICE_TYPES)
    assert 0.45 < types.count("sale_invoice") / 300 < 0.75
    assert {r.currency for r in records} == {"TRY", "USD", "EUR"}
    assert {r.payment_status for r in records} == {"unpaid", "partially_paid", "paid"}
    statuses = {r.status for r in records}
    assert {"approved", "sent", "ready_to_send", "draft", "cancelled"} <= statuses
    assert any(r.tags for r in records)
    assert any(r.due_date is None for r in records)
    identity = [r.identity_no for r in records]
    assert any(len(i) == 10 and i.startswith("0") for i in identity)
    assert any(len(i) == 11 for i in identity)
    assert all(i.isdigit() and len(i) in (10, 11) for i in identity)
    assert any(ch in "".join(r.associate_name for r in records) for ch in "çğıİöşü")
    for r in records:
        assert r.subtotal + r.total_vat == r.grand_total
        assert r.grand_total == r.grand_total.quantize(Decimal("0.01"))
        assert Decimal(0) <= r.paid <= r.grand_total
        if r.status in ("draft", "cancelled"):
            assert r.paid == 0
        if r.due_date is not None and r.id != 1854:
            assert 0 <= (r.due_date - r.issue_date.date()).days <= 90
            assert date(2025, 4, 1) <= r.issue_date.date() <= date(2026, 11, 1)
    assert len({r.serial_no for r in records}) == 300


def test_hostile_text_is_always_present_and_served_verbatim() -> None:
    with Sandbox(invoices=20, seed=9) as sb:
        api = Api(sb)
        items = api.invoices()
        api.session.close()
    served = [
        (field, value)
        for item in items
        for field, value in (
            ("description", item["header"]["description"]),
            ("associate_name", item["header"]["associate"]["full_name"]),
        )
    ]
    for hostile in HOSTILE_TEXTS:
        assert hostile in served, hostile
    texts = [value for _, value in served]
    for needle in ("=", "+", "-", "@"):
        assert any(t.startswith(needle) for t in texts)
    for char in ("\x07", "\x1b", "\x00", "\n", "\t", "😀"):
        assert any(char in t for t in texts)
    assert any(len(t) >= 300 for t in texts)


def test_add_invoice_helpers() -> None:
    books = Books()
    doc = books.add_invoice(grand_total="118.00", vat_rate=18, tags=["Öncelikli"], paid="18")
    record = books.invoices[doc]
    assert (record.subtotal, record.total_vat) == (Decimal("100.00"), Decimal("18.00"))
    assert record.tags[0].name == "Öncelikli"
    assert record.payment_status == "partially_paid"
    with pytest.raises(ValueError):
        books.add_invoice(grand_total=10, paid=11)
    with pytest.raises(ValueError):
        books.add_invoice(type="proforma")
    with pytest.raises(Refusal) as refused:
        books.proceed(doc, vault_id=1)
    assert refused.value.status == 404


@pytest.mark.slow
def test_fifty_thousand_invoices_are_served_and_never_stale() -> None:
    # Speed is measured in bench/, never asserted here.
    books = Books.seeded(50_000, seed=1)
    sandbox = Sandbox(books=books)  # not started: time the request handling itself
    token = sandbox.tokens.issue()
    request = Request(
        "GET",
        "/kolaybi/v1/invoices",
        "type=sale_invoice",
        {"channel": sandbox.channel, "authorization": f"Bearer {token}"},
    )
    response = sandbox.app.handle(request)
    assert response.status == 200
    assert response.body.count(b'"commercial_doc_id"') > 25_000
    # a collection shows up in the next list: nothing served is stale
    books.add_vault("Kasa", currency="TRY", id=99)
    open_id = next(
        r.id for r in books.invoice_records("sale_invoice") if r.is_payable and r.currency == "TRY"
    )
    books.proceed(open_id, 99)
    again = sandbox.app.handle(request).body
    assert f'"commercial_doc_id":{open_id},'.encode() in again
    start = again.index(f'"commercial_doc_id":{open_id},'.encode())
    assert b'"payment_status_value":"paid"' in again[start : again.index(b'"tags"', start)]

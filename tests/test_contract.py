"""The client against the sandbox over real HTTP: the contract suite, every fault mode."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from test_collect_unit import FIRST, make_grid, outcome_of

from kolaybi_xl.api import (
    AuthenticationError,
    ConnectionFailed,
    InvalidResponse,
    InvoiceType,
    KolayBiClient,
    NotFoundError,
    OutcomeUnknown,
    RejectedError,
    ServerError,
)
from kolaybi_xl.jobs.collect import Waits, account_key, collect_marked
from kolaybi_xl.jobs.journal import Journal
from kolaybi_xl.sandbox import Sandbox


# KolayBi's invoice detail may lack the payment fields its list carries (issue 14): every
# contract test runs against both answers.
@pytest.fixture(params=[True, False], ids=["detail-with-payment", "detail-without-payment"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(invoices=60, seed=5, detail_has_payment_plan=request.param) as sb:
        yield sb


def make_client(sb: Sandbox, **kwargs) -> KolayBiClient:
    kwargs.setdefault("backoff", 0.01)
    return KolayBiClient(sb.url, sb.channel, sb.api_key, **kwargs)


def open_sale_invoice(sb: Sandbox, currency: str = "TRY") -> int:
    for record in sb.books.invoice_records("sale_invoice"):
        if (
            record.remaining > 0
            and record.currency.upper() == currency
            and record.status not in ("draft", "cancelled")
        ):
            return record.id
    raise AssertionError("seed has an open invoice")


def vault_for(sb: Sandbox, currency: str = "TRY") -> int:
    return next(v.id for v in sb.books.vault_records() if v.currency.upper() == currency)


def test_list_matches_the_books_for_every_type(sandbox):
    with make_client(sandbox) as client:
        for invoice_type in InvoiceType:
            invoices = client.list_invoices(invoice_type)
            expected = sandbox.books.invoice_records(invoice_type.value)
            assert {i.commercial_doc_id for i in invoices} == {r.id for r in expected}
            for invoice in invoices:
                record = sandbox.books.invoices[invoice.commercial_doc_id]
                assert invoice.total.grand_total == record.grand_total
                assert invoice.remaining == record.remaining
                assert invoice.currency == record.currency.upper()
                assert invoice.type == invoice_type.value


def test_documented_sample_invoice_is_served_and_parsed(sandbox):
    with make_client(sandbox) as client:
        invoice = client.get_invoice(1854)
    assert invoice.total.grand_total == Decimal("2327.6")
    assert invoice.header.due_date is not None
    assert invoice.header.due_date.date().isoformat() == "2024-02-15"
    assert invoice.header.associate.identity_no == "1234567890"


def test_paging_is_followed_and_complete():
    with Sandbox(invoices=120, seed=2, page_size=7) as sb, make_client(sb) as client:
        invoices = client.list_invoices(InvoiceType.SALE_INVOICE)
        expected = {r.id for r in sb.books.invoice_records("sale_invoice")}
    assert len(expected) > 7 * 3
    assert {i.commercial_doc_id for i in invoices} == expected


def test_vaults_and_filters(sandbox):
    with make_client(sandbox) as client:
        vaults = client.list_vaults()
        usd = client.list_vaults(currency="usd")
        banks = client.list_vaults(type="bank_account")
    assert {v.id for v in vaults} == set(sandbox.books.vaults)
    assert usd
    assert all(v.currency == "USD" for v in usd)
    assert banks
    assert all(v.type == "bank_account" for v in banks)


def test_proceed_collects_the_remaining_amount_once(sandbox):
    doc = open_sale_invoice(sandbox)
    with make_client(sandbox) as client:
        result = client.proceed(doc, vault_for(sandbox))
        assert result.transaction_status == "Tamamlandı"
        assert result.remaining_amount == 0
        with pytest.raises(RejectedError) as err:
            client.proceed(doc, vault_for(sandbox))
    assert err.value.status == 422
    assert sandbox.books.collected_documents()[doc] == 1


def test_proceed_refusals_are_errors_not_unknowns(sandbox):
    doc = open_sale_invoice(sandbox)
    with make_client(sandbox) as client:
        with pytest.raises(NotFoundError):
            client.proceed(doc, 99_999)
        with pytest.raises(RejectedError, match=r"[Pp]ara birimi|currency"):
            client.proceed(doc, vault_for(sandbox, "USD"))
        with pytest.raises(NotFoundError):
            client.get_invoice(99_999)
    assert sandbox.books.ledger == []


def test_wrong_key_and_wrong_channel_are_authentication_errors(sandbox):
    wrong_key = KolayBiClient(sandbox.url, sandbox.channel, "wrong-key")
    with wrong_key, pytest.raises(AuthenticationError):
        wrong_key.list_vaults()
    wrong_channel = KolayBiClient(sandbox.url, "other-channel", sandbox.api_key)
    with wrong_channel, pytest.raises(AuthenticationError):
        wrong_channel.list_vaults()


def test_expired_token_is_renewed_transparently():
    with Sandbox(invoices=20, seed=1, token_lifetime=0.3) as sb, make_client(sb) as client:
        client.list_vaults()
        time.sleep(0.4)
        assert client.list_vaults()
        sb.faults.expire_all_tokens()
        assert client.list_invoices()


# -- fault modes ------------------------------------------------------------------------------


def test_rate_limit_on_reads_and_proceed_waits_and_succeeds(sandbox):
    sandbox.faults.inject("rate_limit", 2, endpoint="invoices", retry_after=0)
    sandbox.faults.inject("rate_limit", 1, endpoint="proceed", retry_after=0)
    doc = open_sale_invoice(sandbox)
    with make_client(sandbox) as client:
        assert client.list_invoices()
        client.proceed(doc, vault_for(sandbox))
    assert sandbox.books.collected_documents()[doc] == 1


def test_error_before_is_retried_for_reads(sandbox):
    sandbox.faults.inject("error_before", 2, endpoint="vaults")
    with make_client(sandbox) as client:
        assert client.list_vaults()


def test_error_before_on_proceed_is_unknown_and_not_applied(sandbox):
    sandbox.faults.inject("error_before", 1)
    doc = open_sale_invoice(sandbox)
    with make_client(sandbox) as client, pytest.raises(OutcomeUnknown) as err:
        client.proceed(doc, vault_for(sandbox))
    assert err.value.document_id == doc
    assert sandbox.books.collected_documents()[doc] == 0


@pytest.mark.parametrize("kind", ["error_after", "drop_after", "bad_json"])
def test_proceed_faults_raise_outcome_unknown_and_are_never_resent(sandbox, kind):
    sandbox.faults.inject(kind, 1)
    doc = open_sale_invoice(sandbox)
    with make_client(sandbox) as client, pytest.raises(OutcomeUnknown):
        client.proceed(doc, vault_for(sandbox))
    applied = sandbox.books.collected_documents()[doc]
    assert applied == (0 if kind == "bad_json" else 1)
    assert len(sandbox.books.ledger) == applied


def test_slow_answer_after_applying_is_a_timeout_and_unknown(sandbox):
    sandbox.faults.slow_seconds = 1.0
    sandbox.faults.inject("slow_after", 1)
    doc = open_sale_invoice(sandbox)
    client = make_client(sandbox, timeout=(2.0, 0.3), proceed_timeout=(2.0, 0.3))
    with client, pytest.raises(OutcomeUnknown, match="read timeout"):
        client.proceed(doc, vault_for(sandbox))
    assert sandbox.books.collected_documents()[doc] == 1


def test_expire_token_fault_reauthenticates_and_proceeds_once(sandbox):
    sandbox.faults.inject("expire_token", 1)
    doc = open_sale_invoice(sandbox)
    with make_client(sandbox) as client:
        client.proceed(doc, vault_for(sandbox))
    assert sandbox.books.collected_documents()[doc] == 1


def test_bad_json_on_reads_is_invalid_response(sandbox):
    sandbox.faults.inject("bad_json", 1, endpoint="vaults")
    with make_client(sandbox) as client, pytest.raises(InvalidResponse):
        client.list_vaults()


def test_persistent_server_errors_give_up_with_server_error(sandbox):
    sandbox.faults.inject("error_before", 50, endpoint="invoices")
    with make_client(sandbox, max_retries=2) as client, pytest.raises(ServerError):
        client.list_invoices()


def test_unreachable_host_is_connection_failed():
    with Sandbox(invoices=1) as sb:
        url = sb.url
    client = KolayBiClient(url, "c", "k", max_retries=1, backoff=0.01)
    with client, pytest.raises(ConnectionFailed):
        client.list_vaults()


# -- reconciling an unclear proceed from what KolayBi certainly shows (issue 14) ----------------


@pytest.mark.parametrize("kind", ["error_after", "drop_after", "bad_json", "error_before"])
@pytest.mark.parametrize("part", [None, Decimal("1.00")], ids=["whole", "partial"])
def test_an_unclear_proceed_is_reconciled_whatever_the_detail_shows(
    sandbox: Sandbox, tmp_path: Path, kind: str, part: Decimal | None
) -> None:
    """The collect job over this client: an unclear answer is settled by re-reading the
    invoice (from its list when the detail lacks the payment fields), never sent twice."""
    doc = open_sale_invoice(sandbox)
    before = sandbox.books.invoices[doc].remaining
    vault = next(v for v in sandbox.books.vault_records() if v.id == vault_for(sandbox))
    row = {"id": doc, "mark": "x", "vault": vault.name}
    if part is not None:
        row["Tahsil Tutarı"] = float(part)
    grid = make_grid(sandbox.books, [row])
    sandbox.faults.inject(kind, 1)
    journal = Journal(tmp_path / "journal.jsonl")
    waits = Waits(reconcile_delay=0.0, resend_backoff=0.01, reread_backoff=0.0, horizon=0.0)
    with make_client(sandbox) as client:
        result = collect_marked(
            grid, client, journal, key=account_key(client), workbook="t.xlsx", waits=waits
        )
        assert journal.pending(account_key(client)) == []
    amount = part if part is not None else before
    assert [(e.document_id, e.amount) for e in sandbox.books.ledger] == [(doc, amount)]
    assert result.counts == {"done": 1}
    assert outcome_of(grid, FIRST).startswith("Tamamlandı")
    assert sandbox.books.invoices[doc].remaining == before - amount

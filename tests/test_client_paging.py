"""``list_invoices`` and paging: ``links.next``, ``meta``, ``pagination``, de-duplication, the page
cap, the next-link host check.

Unit tests of the KolayBi HTTP client, without any network (split from ``test_client.py``).
Every HTTP answer is served by ``responses``; ``sleep=`` records the delays instead of
sleeping and ``clock=`` is a fake monotonic clock, so the tests are fast and deterministic.
The sample answers in ``tests/fixtures`` are copied verbatim from ``kolaybi-api.md``.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from client_support import (
    BASE,
    INVOICES_URL,
    TOKEN,
    add_token,
    calls,
    inv,
    load,
    page_matcher,
    query,
)
from responses import matchers

from kolaybi_xl.api import (
    InvalidResponse,
    InvoiceType,
    Listing,
)

# ---------------------------------------------------------------------------------------
# list_invoices
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "sent"),
    [
        (None, "sale_invoice"),
        ("sale_invoice", "sale_invoice"),
        (InvoiceType.PURCHASE_INVOICE, "purchase_invoice"),
        ("SALE_RETURN_INVOICE", "sale_return_invoice"),
        ("Satış Faturası", "sale_invoice"),
        ("SATIŞ İADE FATURASI", "sale_return_invoice"),
        ("alış iade faturası", "purchase_return_invoice"),
        ("Serbest meslek makbuzu", "self_employment_receipt"),
    ],
)
def test_list_invoices_always_sends_type_explicitly(rsps, client, argument, sent):
    add_token(rsps)
    rsps.add(responses.GET, INVOICES_URL, json={"data": []})

    if argument is None:
        client.list_invoices()
    else:
        client.list_invoices(argument)

    (call,) = calls(rsps, INVOICES_URL)
    assert query(call) == {"type": sent}


@pytest.mark.parametrize("argument", ["sales", "fatura", "", "sale_invoices"])
def test_list_invoices_unknown_type_raises_value_error_without_a_request(rsps, client, argument):
    with pytest.raises(ValueError, match="unknown invoice type"):
        client.list_invoices(argument)
    assert len(rsps.calls) == 0


def test_plain_data_list_is_one_request(rsps, client):
    add_token(rsps)
    rsps.add(responses.GET, INVOICES_URL, json=load("invoices_list.json"))

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [1854]
    assert invoices[0].total.grand_total == Decimal("2327.6")
    assert len(calls(rsps, INVOICES_URL)) == 1


@pytest.mark.parametrize(
    "next_link",
    [
        f"{INVOICES_URL}?page=2",  # Laravel's default next link drops the other filters
        f"{INVOICES_URL}?type=sale_invoice&page=2",
        "/kolaybi/v1/invoices?page=2",  # relative to the host
        "http://api.kolaybi.test/kolaybi/v1/invoices?page=2",  # TLS-terminating proxy
    ],
)
def test_paging_follows_links_next_on_the_same_host(rsps, client, next_link):
    add_token(rsps)
    rsps.add(
        responses.GET,
        INVOICES_URL,
        match=[page_matcher(type="sale_invoice")],
        json={"data": [inv(1), inv(2)], "links": {"next": next_link}},
    )
    rsps.add(
        responses.GET,
        INVOICES_URL,
        match=[page_matcher(type="sale_invoice", page="2")],
        json={"data": [inv(3)], "links": {"next": None}},
    )

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [1, 2, 3]
    page_calls = calls(rsps, INVOICES_URL)
    assert len(page_calls) == 2
    # The second page went to the configured https base, filter kept, token with it.
    assert page_calls[1].request.url.startswith(BASE)
    assert query(page_calls[1]) == {"type": "sale_invoice", "page": "2"}
    assert page_calls[1].request.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "next_link",
    [
        "https://evil.example.com/kolaybi/v1/invoices?page=2",
        "https://api.kolaybi.test.evil.example.com/kolaybi/v1/invoices?page=2",
        "//evil.example.com/kolaybi/v1/invoices?page=2",
    ],
)
def test_links_next_to_another_host_is_refused_and_the_token_never_sent_there(
    rsps, client, next_link
):
    add_token(rsps)
    rsps.add(
        responses.GET,
        INVOICES_URL,
        json={"data": [inv(1)], "links": {"next": next_link}},
    )
    rsps.add(responses.GET, "https://evil.example.com/kolaybi/v1/invoices", json={"data": []})
    rsps.add(
        responses.GET,
        "https://api.kolaybi.test.evil.example.com/kolaybi/v1/invoices",
        json={"data": []},
    )

    with pytest.raises(InvalidResponse, match="another host"):
        client.list_invoices()

    hosts = {urlsplit(c.request.url).hostname for c in rsps.calls}
    assert hosts == {"api.kolaybi.test"}
    assert len(calls(rsps, INVOICES_URL)) == 1


def test_paging_via_meta_current_page_and_last_page(rsps, client):
    add_token(rsps)
    for page in (1, 2, 3):
        params = (
            {"type": "sale_invoice"} if page == 1 else {"type": "sale_invoice", "page": str(page)}
        )
        rsps.add(
            responses.GET,
            INVOICES_URL,
            match=[matchers.query_param_matcher(params)],
            json={
                "data": [inv(page * 10), inv(page * 10 + 1)],
                "meta": {"current_page": page, "last_page": 3, "total": 6},
            },
        )

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [10, 11, 20, 21, 30, 31]
    assert [query(c).get("page") for c in calls(rsps, INVOICES_URL)] == [None, "2", "3"]


def test_paging_via_the_older_pagination_object(rsps, client):
    add_token(rsps)
    pages = {1: [inv(1), inv(2)], 2: [inv(3), inv(4)], 3: [inv(5)]}
    for page, items in pages.items():
        params = (
            {"type": "sale_invoice"} if page == 1 else {"type": "sale_invoice", "page": str(page)}
        )
        rsps.add(
            responses.GET,
            INVOICES_URL,
            match=[matchers.query_param_matcher(params)],
            json={
                "success": True,
                "data": items,
                "pagination": {"current_page": page, "per_page": 2, "total": 5},
            },
        )

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [1, 2, 3, 4, 5]
    assert len(calls(rsps, INVOICES_URL)) == 3


def test_overlapping_pages_are_deduplicated_by_commercial_doc_id(rsps, client):
    add_token(rsps)
    # An invoice created while paging shifts page 2 by one: invoice 3 comes twice.
    rsps.add(
        responses.GET,
        INVOICES_URL,
        match=[page_matcher(type="sale_invoice")],
        json={"data": [inv(1), inv(2), inv(3)], "meta": {"current_page": 1, "last_page": 2}},
    )
    rsps.add(
        responses.GET,
        INVOICES_URL,
        match=[page_matcher(type="sale_invoice", page="2")],
        json={"data": [inv(3), inv(4)], "meta": {"current_page": 2, "last_page": 2}},
    )

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [1, 2, 3, 4]


def test_a_server_repeating_the_same_page_with_a_next_link_does_not_loop(rsps, client):
    add_token(rsps)
    # The server ignores `page` and always answers page 1 with a next link.
    rsps.add(
        responses.GET,
        INVOICES_URL,
        json={"data": [inv(1), inv(2)], "links": {"next": f"{INVOICES_URL}?page=2"}},
    )

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [1, 2]
    assert len(calls(rsps, INVOICES_URL)) == 2


def test_a_server_ignoring_page_with_old_pagination_total_does_not_loop(rsps, client):
    add_token(rsps)
    rsps.add(
        responses.GET,
        INVOICES_URL,
        json={"data": [inv(1)], "pagination": {"current_page": 1, "per_page": 1, "total": 9}},
    )

    invoices = client.list_invoices()

    assert [i.commercial_doc_id for i in invoices] == [1]
    assert len(calls(rsps, INVOICES_URL)) == 2


def test_paging_stops_at_max_pages(rsps, make_client, caplog):
    client = make_client(max_pages=5)
    add_token(rsps)

    def endless(request: Any) -> tuple[int, dict[str, str], str]:
        page = int(parse_qs(urlsplit(request.url).query).get("page", ["1"])[0])
        body = {"data": [inv(page)], "links": {"next": f"{INVOICES_URL}?page={page + 1}"}}
        return 200, {}, json.dumps(body)

    rsps.add_callback(responses.GET, INVOICES_URL, callback=endless)

    with caplog.at_level(logging.WARNING, logger="kolaybi_xl.api"):
        invoices = client.list_invoices()

    assert len(calls(rsps, INVOICES_URL)) == 5
    assert [i.commercial_doc_id for i in invoices] == [1, 2, 3, 4, 5]
    assert "5 pages" in caplog.text


# -- completeness is a value of the list (``Listing``), not state of the client ----------


def test_a_whole_list_says_it_is_complete(rsps, client):
    add_token(rsps)
    rsps.add(
        responses.GET,
        INVOICES_URL,
        json={"data": [inv(1), inv(2)], "meta": {"current_page": 1, "last_page": 1, "total": 2}},
    )

    invoices = client.list_invoices()

    assert isinstance(invoices, list)
    assert isinstance(invoices, Listing)
    assert invoices.complete
    assert invoices.note is None
    assert invoices.skipped == ()


def test_a_list_cut_at_max_pages_says_it_may_be_incomplete(rsps, make_client):
    client = make_client(max_pages=2)
    add_token(rsps)

    def endless(request: Any) -> tuple[int, dict[str, str], str]:
        page = int(parse_qs(urlsplit(request.url).query).get("page", ["1"])[0])
        body = {"data": [inv(page)], "links": {"next": f"{INVOICES_URL}?page={page + 1}"}}
        return 200, {}, json.dumps(body)

    rsps.add_callback(responses.GET, INVOICES_URL, callback=endless)

    first = client.list_invoices()
    second = client.list_invoices(InvoiceType.SALE_INVOICE)

    assert not first.complete
    assert first.notes == ("/invoices: stopped after 2 pages",)
    assert second.notes == first.notes  # each call its own notes, not a growing record


def test_a_total_the_items_do_not_reach_says_the_list_may_be_incomplete(rsps, client):
    add_token(rsps)
    rsps.add(
        responses.GET,
        INVOICES_URL,
        json={"data": [inv(1)], "meta": {"current_page": 1, "last_page": 1, "total": 3}},
    )

    invoices = client.list_invoices()

    assert not invoices.complete
    assert invoices.note == "/invoices?type=sale_invoice: KolayBi reported 3 items, 1 received"

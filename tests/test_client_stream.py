"""``iter_invoices``: the invoice list as a stream of ``ListedInvoice`` (``responses``): the same
paging, de-duplication and notes as ``list_invoices``, malformed invoices skipped with the same
message, and each page requested only when the invoices before it have been read."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from client_support import INVOICES_URL, add_token, calls, load, page_matcher

from kolaybi_xl.api import InvalidResponse
from kolaybi_xl.api.listed import ListedInvoice


def _item(doc_id: int) -> dict[str, Any]:
    item = copy.deepcopy(load("invoices_list.json")["data"][0])
    item["commercial_doc_id"] = doc_id
    return item


def _pages(rsps: Any, pages: list[list[dict[str, Any]]], total: int | None = None) -> None:
    last = len(pages)
    for number, items in enumerate(pages, start=1):
        meta: dict[str, Any] = {"current_page": number, "last_page": last}
        if total is not None:
            meta["total"] = total
        params = {"type": "sale_invoice"} | ({"page": str(number)} if number > 1 else {})
        rsps.add(
            responses.GET,
            INVOICES_URL,
            match=[page_matcher(**params)],
            json={"success": True, "data": items, "meta": meta},
        )


def test_the_stream_walks_every_page_and_drops_repeats(rsps, client):
    add_token(rsps)
    _pages(rsps, [[_item(1), _item(2), _item(3)], [_item(3), _item(4)]], total=4)

    stream = client.iter_invoices("sale_invoice")
    listed = list(stream)

    assert [i.id for i in listed] == [1, 2, 3, 4]
    assert all(isinstance(i, ListedInvoice) for i in listed)
    assert stream.notes == ()
    assert stream.skipped == []


def test_each_page_is_asked_for_when_the_invoices_before_it_are_read(rsps, client):
    add_token(rsps)
    _pages(rsps, [[_item(1), _item(2)], [_item(3)]])

    stream = iter(client.iter_invoices())
    assert calls(rsps, INVOICES_URL) == []  # nothing sent before the first invoice is wanted
    assert next(stream).id == 1
    assert next(stream).id == 2
    assert len(calls(rsps, INVOICES_URL)) == 1
    assert next(stream).id == 3
    assert len(calls(rsps, INVOICES_URL)) == 2


def test_the_stream_reads_what_list_invoices_reads(rsps, client):
    add_token(rsps)
    items = load("invoices_list.json")["data"]
    rsps.add(responses.GET, INVOICES_URL, json={"success": True, "data": items})
    rsps.add(responses.GET, INVOICES_URL, json={"success": True, "data": items})

    models = client.list_invoices()
    listed = list(client.iter_invoices())

    assert listed == [ListedInvoice.of(m) for m in models]


def test_a_malformed_invoice_is_skipped_with_the_message_list_invoices_gives(rsps, client):
    add_token(rsps)
    bad = _item(1855)
    bad["payment_plan"]["total_remaining"] = "abc"
    for _ in range(2):
        rsps.add(responses.GET, INVOICES_URL, json={"success": True, "data": [_item(1854), bad]})

    models = client.list_invoices()
    stream = client.iter_invoices()
    listed = list(stream)

    assert [i.id for i in listed] == [m.commercial_doc_id for m in models] == [1854]
    assert stream.skipped == list(models.skipped)
    assert "1855" in stream.skipped[0]
    assert "total_remaining" in stream.skipped[0]
    assert client.skipped == [*models.skipped, *stream.skipped]  # the running record


def test_an_unusual_but_valid_invoice_is_read_through_the_model(rsps, client):
    add_token(rsps)
    odd = _item(7)
    odd["commercial_doc_id"] = "7"  # digits as text
    odd["header"]["serial_no"] = 12345  # a number made text
    rsps.add(responses.GET, INVOICES_URL, json={"success": True, "data": [odd]})

    [listed] = list(client.iter_invoices())

    assert (listed.id, listed.serial_no) == (7, "12345")


def test_a_list_the_total_does_not_match_says_so_when_the_stream_ends(rsps, client):
    add_token(rsps)
    _pages(rsps, [[_item(1)]], total=3)

    stream = client.iter_invoices()
    assert [i.id for i in stream] == [1]

    note = "/invoices?type=sale_invoice: KolayBi reported 3 items, 1 received"
    assert stream.notes == (note,)
    assert client.warnings == [note]


def test_a_stream_cut_at_max_pages_says_it_may_be_incomplete(rsps, make_client):
    client = make_client(max_pages=2)
    add_token(rsps)

    def endless(request: Any) -> tuple[int, dict[str, str], str]:
        page = int(parse_qs(urlsplit(request.url).query).get("page", ["1"])[0])
        body = {"data": [_item(page)], "links": {"next": f"{INVOICES_URL}?page={page + 1}"}}
        return 200, {}, json.dumps(body)

    rsps.add_callback(responses.GET, INVOICES_URL, callback=endless)

    stream = client.iter_invoices()
    assert [i.id for i in stream] == [1, 2]
    assert stream.notes == ("/invoices: stopped after 2 pages",)


def test_a_page_that_is_not_a_list_fails_the_stream(rsps, client):
    add_token(rsps)
    rsps.add(responses.GET, INVOICES_URL, json={"success": True, "data": "nope"})

    with pytest.raises(InvalidResponse, match="expected a list"):
        list(client.iter_invoices())


def test_a_stream_is_read_once(rsps, client):
    add_token(rsps)
    rsps.add(responses.GET, INVOICES_URL, json={"success": True, "data": [_item(1)]})

    stream = client.iter_invoices()
    assert [i.id for i in stream] == [1]
    with pytest.raises(RuntimeError, match="read once"):
        iter(stream)
    assert len(calls(rsps, INVOICES_URL)) == 1

"""``read_listed``: a list item read without the ``Invoice`` model must give exactly what the
model gives (``ListedInvoice.of``), and must leave to the model every item the model refuses,
so a malformed invoice is still reported (skipped with the model's message) as before."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from client_support import load
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kolaybi_xl.api import Invoice
from kolaybi_xl.api.listed import ListedInvoice, read_listed
from kolaybi_xl.sandbox import Books
from kolaybi_xl.sandbox.render import invoice_item


def _exact(listed: ListedInvoice) -> tuple[Any, ...]:
    """The values with each amount's digits (``Decimal("1.0") == Decimal("1")``)."""
    return tuple(
        (type(v), str(v)) if isinstance(v, Decimal) else v
        for v in (getattr(listed, name) for name in ListedInvoice.__slots__)
    )


def _model(item: Any) -> Invoice | None:
    try:
        return Invoice.model_validate(item)
    except ValidationError:
        return None


def _check(item: dict[str, Any]) -> ListedInvoice | None:
    """``read_listed`` agrees with the model on ``item``; returns what it read."""
    model = _model(copy.deepcopy(item))
    listed = read_listed(item)
    if listed is not None:
        assert model is not None, f"read an item the model refuses: {item!r}"
        assert _exact(listed) == _exact(ListedInvoice.of(model))
    return listed


def _seeded_items(count: int = 400) -> list[dict[str, Any]]:
    books = Books.seeded(invoices=count, seed=11)  # hostile texts, currencies, statuses…
    records = [
        r for kind in ("sale_invoice", "purchase_invoice") for r in books.invoice_records(kind)
    ]
    # As they come over the wire: JSON text parsed back.
    return [json.loads(json.dumps(invoice_item(r))) for r in records]


def test_every_seeded_item_is_read_without_the_model_and_as_the_model_reads_it() -> None:
    items = _seeded_items()
    assert len(items) > 100
    for item in items:
        assert _check(item) is not None


def test_the_documented_sample_is_read_without_the_model() -> None:
    for item in load("invoices_list.json")["data"]:
        assert _check(item) is not None
    item = copy.deepcopy(load("invoices_list.json")["data"][0])
    item["total"]["grand_total"] = " 1.50 "  # an amount as text: the same converter
    listed = _check(item)
    assert listed is not None
    assert str(listed.grand_total) == "1.50"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("payment_plan", "total_remaining"), "abc"),  # the model refuses: skipped as before
        (("payment_plan", "total_remaining"), True),
        (("payment_plan", "total_remaining"), "NaN"),
        (("header", "issue_date"), "not a date"),
        (("header",), None),
        (("header", "associate"), None),
        (("tags",), None),
        (("tags",), [{"name": True}]),
        (("projects",), None),
        (("commercial_doc_id",), "12x"),
        (("cash_flow_direction",), "x"),
        (("is_payable",), "maybe"),
        (("commercial_doc_status",), "approved"),
        (("total", "subtotal_discount_type"), 5),
        (("header", "serial_no"), False),
    ],
)
def test_an_item_the_model_refuses_is_left_to_the_model(path: tuple[str, ...], value: Any) -> None:
    item = copy.deepcopy(load("invoices_list.json")["data"][0])
    _set(item, path, value)
    assert _model(item) is None
    assert read_listed(item) is None


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("commercial_doc_id",), "1854"),  # digits as text: the model reads them
        (("header", "serial_no"), 123),  # a number made text
        (("is_payable",), 1),
        (("currency",), 5),
    ],
)
def test_an_item_in_an_unusual_but_valid_shape_is_left_to_the_model(
    path: tuple[str, ...], value: Any
) -> None:
    item = copy.deepcopy(load("invoices_list.json")["data"][0])
    _set(item, path, value)
    assert _model(item) is not None
    assert read_listed(item) is None


def _set(item: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = item
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


# Values that JSON can carry, chosen around the converters' edges.
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "12",
            " 1.50 ",
            "1e3",
            "NaN",
            "inf",
            "abc",
            "try",
            " usd ",
            "2024-01-15 10:30:00",
            "2024-01-15",
            "2024-01-15T10:30:00Z",
            "2024-01-15T10:30:00+05:00",
            "15.01.2024",
            "2024-02-30 10:00:00",
            "=SUM(A1)",
            "İSTANBUL ŞİRKETİ",
        ]
    ),
    st.just([]),
    st.just({}),
    st.just({"value": "paid", "description": "Ödendi"}),
    st.just([{"id": 1, "name": "A"}, {"name": None}]),
)


def _paths(item: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    if isinstance(item, dict):
        for key, value in item.items():
            found.append((*prefix, key))
            found.extend(_paths(value, (*prefix, key)))
    return found


BASE_ITEMS = _seeded_items(60)[:20] + load("invoices_list.json")["data"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_changed_item_is_read_as_the_model_reads_it_or_left_to_it(data: Any) -> None:
    item = copy.deepcopy(data.draw(st.sampled_from(BASE_ITEMS)))
    paths = _paths(item)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        path = data.draw(st.sampled_from(paths))
        try:
            if data.draw(st.booleans()):
                _set(item, path, data.draw(ODD))
            else:  # a field left out
                target = item
                for key in path[:-1]:
                    target = target[key]
                del target[path[-1]]
        except (KeyError, TypeError):
            pass  # a parent changed by an earlier step
    _check(item)

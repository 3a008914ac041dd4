"""An invoice of a list answer as the plain values a table row needs (``ListedInvoice``), read
straight from the answer's dicts.

Validating 10,000 list items into ``Invoice`` models (nested pydantic models, a ``Decimal`` per
amount) was most of a fetch's time and memory, for some twenty values per invoice. So an item
in the everyday shape (plain JSON types where the model expects them) is checked and converted
here, field by field, with the models' own converters (``to_decimal``, ``to_datetime``…); every
field the model validates is checked, the ones no row shows included, so an item is accepted
here only when ``Invoice`` would accept it, and read to the same values. Anything else (a
number as text, a missing header object, a bad date…) is left to the model: ``read_listed``
returns None and the caller validates the item as ``Invoice`` — which either reads it (then
``ListedInvoice.of``) or reports it exactly as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from math import isfinite
from typing import Any

from .errors import InvalidResponse
from .models import Invoice, to_datetime, to_decimal
from .paging import PageWalk

log = logging.getLogger("kolaybi_xl.api")

_INT64 = 1 << 63


@dataclass(frozen=True, slots=True)
class ListedInvoice:
    """The values of one listed invoice a table row shows (dates as the API's local time)."""

    id: int
    serial_no: str | None
    issue_date: datetime | None
    due_date: datetime | None
    party: str | None
    tax_id: str | None
    currency: str | None
    subtotal: Decimal | None
    vat: Decimal | None
    grand_total: Decimal | None
    paid: Decimal | None
    remaining: Decimal | None
    payment_status: str | None  # ``payment_plan.payment_status_value``
    type: str | None  # ``commercial_doc_type.value``
    type_description: str | None
    doc_status: str | None  # ``commercial_doc_status.value``
    e_document_status: str | None
    description: str | None
    tags: tuple[str, ...]  # the tags' names, empty ones left out

    @classmethod
    def of(cls, invoice: Invoice) -> ListedInvoice:
        """The same values from a validated model (an item ``read_listed`` left to it)."""
        header, total, plan = invoice.header, invoice.total, invoice.payment_plan
        kind, status = invoice.commercial_doc_type, invoice.commercial_doc_status
        return cls(
            id=invoice.commercial_doc_id,
            serial_no=header.serial_no,
            issue_date=header.issue_date,
            due_date=header.due_date,
            party=header.associate.full_name,
            tax_id=header.associate.identity_no,
            currency=invoice.currency,
            subtotal=total.subtotal,
            vat=total.total_vat,
            grand_total=total.grand_total,
            paid=plan.total_paid if plan else None,
            remaining=plan.total_remaining if plan else None,
            payment_status=plan.payment_status_value if plan else None,
            type=kind.value if kind else None,
            type_description=kind.description if kind else None,
            doc_status=status.value if status else None,
            e_document_status=invoice.e_document_status,
            description=header.description,
            tags=tuple(t.name for t in invoice.tags if t.name),
        )


class _ForTheModel(Exception):
    """The item is not in the everyday shape: ``Invoice`` decides."""


def read_listed(item: dict[str, Any]) -> ListedInvoice | None:
    """The item's values when it is in the everyday shape; None: validate it as ``Invoice``."""
    try:
        return _read(item)
    except (_ForTheModel, ValueError):  # ValueError: a converter refused a value
        return None


def _read(item: dict[str, Any]) -> ListedInvoice:
    doc_id = item.get("commercial_doc_id")
    if type(doc_id) is not int or not -_INT64 <= doc_id < _INT64:
        raise _ForTheModel
    _int(item, "cash_flow_direction")
    _int(item, "financial_action_type_id")
    _flag(item, "is_payable")
    _flag(item, "is_exchange_diff")
    # ``tracking_currency`` and ``transformation_status``: any value is read (``to_currency``
    # makes text of anything), so nothing to check.
    kind = _labelled(item.get("commercial_doc_type"))
    status = _labelled(item.get("commercial_doc_status"))
    if "projects" in item and type(item["projects"]) is not list:
        raise _ForTheModel
    header = _object(item, "header")
    associate = _object(header, "associate")
    total = _object(item, "total")
    plan = item.get("payment_plan")
    if plan is not None:
        if type(plan) is not dict:
            raise _ForTheModel
        _check_money(plan, "actual_amount")
        _check_money(plan, "total_amount")
        _int(plan, "cash_flow_direction")
        paid, remaining = _money(plan, "total_paid"), _money(plan, "total_remaining")
        payment_status = _text(plan, "payment_status_value")
    else:
        paid = remaining = payment_status = None
    _text(header, "issue_time")
    for key in ("total_amount", "exchange_grand_total", "subtotal_discount_value"):
        _check_money(total, key)
    _labelled(total.get("subtotal_discount_type"))
    return ListedInvoice(
        id=doc_id,
        serial_no=_text(header, "serial_no"),
        issue_date=_date(header, "issue_date"),
        due_date=_date(header, "due_date"),
        party=_text(associate, "full_name"),
        tax_id=_text(associate, "identity_no"),
        currency=_currency(item.get("currency")),
        subtotal=_money(total, "subtotal"),
        vat=_money(total, "total_vat"),
        grand_total=_money(total, "grand_total"),
        paid=paid,
        remaining=remaining,
        payment_status=payment_status,
        type=kind[0] if kind else None,
        type_description=kind[1] if kind else None,
        doc_status=status[0] if status else None,
        e_document_status=_text(item, "e_document_status"),
        description=_text(header, "description"),
        tags=_tag_names(item.get("tags", [])),
    )


_EMPTY: dict[str, Any] = {}


def _object(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """A nested object; absent: the model's empty default (``null`` is the model's to refuse)."""
    if key not in parent:
        return _EMPTY
    value = parent[key]
    if type(value) is not dict:
        raise _ForTheModel
    return value


def _text(parent: dict[str, Any], key: str) -> str | None:
    value = parent.get(key)
    if value is None or type(value) is str:
        return value
    raise _ForTheModel  # a number made text, or a bool refused: the model's ``to_text``


def _int(parent: dict[str, Any], key: str) -> None:
    value = parent.get(key)
    if value is not None and (type(value) is not int or not -_INT64 <= value < _INT64):
        raise _ForTheModel


def _flag(parent: dict[str, Any], key: str) -> None:
    value = parent.get(key)
    if value is not None and type(value) is not bool:
        raise _ForTheModel


def _money(parent: dict[str, Any], key: str) -> Decimal | None:
    """An amount as ``to_decimal`` reads it (a float by its shortest text, so exactly what
    the server wrote); ValueError for what the model refuses too."""
    value: Any = parent.get(key)
    kind = type(value)
    if kind is float:
        if not isfinite(value):
            raise ValueError("not a finite amount")
        return Decimal(repr(value))
    if kind is int:
        return Decimal(value)
    if value is None:
        return None
    if kind is not str:
        raise _ForTheModel
    return to_decimal(value)


def _check_money(parent: dict[str, Any], key: str) -> None:
    """An amount no row shows: only whether the model would accept it."""
    value: Any = parent.get(key)
    kind = type(value)
    if kind is float:
        if not isfinite(value):
            raise ValueError("not a finite amount")
    elif kind is not int:
        _money(parent, key)


def _date(parent: dict[str, Any], key: str) -> datetime | None:
    value = parent.get(key)
    if value is None:
        return None
    if type(value) is not str:
        raise _ForTheModel
    return to_datetime(value)


def _currency(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise _ForTheModel
    return value.strip().upper()  # as ``to_currency``: blanks become ""


def _labelled(value: Any) -> tuple[str | None, str | None] | None:
    """``(value, description)`` of a ``Labelled`` object, or None for ``null``/absent."""
    if value is None:
        return None
    if type(value) is not dict:
        raise _ForTheModel
    _text(value, "key")
    _text(value, "group")
    return _text(value, "value"), _text(value, "description")


def _tag_names(tags: Any) -> tuple[str, ...]:
    if type(tags) is not list:
        raise _ForTheModel
    names = []
    for tag in tags:
        if type(tag) is not dict:
            raise _ForTheModel
        _int(tag, "id")
        _text(tag, "description")
        name = _text(tag, "name")
        if name:
            names.append(name)
    return tuple(names)


class InvoiceStream:
    """The invoices of one list call as ``ListedInvoice``, yielded while the pages arrive: no
    list of every invoice is ever held, each page's items go as they are read. Iterate once.

    As ``KolayBiClient.list_invoices``: a malformed item is logged, named in ``skipped`` and
    left out; ``notes`` (set when the walk ends) say why the list may be incomplete. Both are
    also added to the given running records (the client's ``skipped`` and ``warnings``).
    """

    def __init__(
        self,
        walk: PageWalk,
        parse: Callable[[dict[str, Any]], Invoice],
        skipped_into: list[str],
        notes_into: list[str],
    ) -> None:
        self._walk = walk
        self._parse = parse
        self._skipped_into = skipped_into
        self._notes_into = notes_into
        self.skipped: list[str] = []
        self.notes: tuple[str, ...] = ()
        self._started = False

    def __iter__(self) -> Iterator[ListedInvoice]:
        if self._started:
            raise RuntimeError("an invoice stream is read once; ask the client for another")
        self._started = True
        return self._invoices()

    def _invoices(self) -> Iterator[ListedInvoice]:
        for page in self._walk.pages():
            page.reverse()  # popped in order: each item dict goes once it is read
            while page:
                item = page.pop()
                listed = read_listed(item)
                if listed is None:
                    try:
                        listed = ListedInvoice.of(self._parse(item))
                    except InvalidResponse as exc:
                        log.warning("%s; skipped", exc.message)
                        self.skipped.append(exc.message)
                        self._skipped_into.append(exc.message)
                        continue
                yield listed
        self.notes = tuple(self._walk.notes)
        self._notes_into.extend(self.notes)


__all__ = ["InvoiceStream", "ListedInvoice", "read_listed"]

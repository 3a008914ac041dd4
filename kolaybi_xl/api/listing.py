"""A listing of invoices kept as the API's plain data: an item becomes an ``Invoice`` only when
asked for, so re-reading 200 invoices out of a list of 50,000 validates 200 (collect)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from .errors import InvalidResponse
from .models import Invoice

log = logging.getLogger("kolaybi_xl.api")


class InvoiceListing:
    """The invoices of one list call by ``commercial_doc_id``; ``parse`` validates one item.

    A malformed item is that invoice's problem, not the listing's: asked for, it is logged,
    added to ``skipped`` and treated as absent (as ``KolayBiClient.list_invoices`` leaves it
    out). ``notes`` say why the list may be incomplete (none: complete).
    """

    def __init__(
        self,
        items: Iterable[dict[str, Any]],
        parse: Callable[[dict[str, Any]], Invoice],
        skipped: list[str] | None = None,
        notes: Iterable[str] = (),
    ) -> None:
        self._items: dict[int, dict[str, Any]] = {}
        for item in items:
            key = _document_id(item.get("commercial_doc_id"))
            if key is not None:
                self._items.setdefault(key, item)
        self._parse = parse
        self._parsed: dict[int, Invoice | None] = {}
        self.skipped = skipped if skipped is not None else []
        self.notes = tuple(notes)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, document_id: object) -> bool:
        return self.get(document_id) is not None if isinstance(document_id, int) else False

    def get(self, document_id: int) -> Invoice | None:
        if document_id not in self._parsed:
            item = self._items.get(document_id)
            invoice: Invoice | None = None
            if item is not None:
                try:
                    invoice = self._parse(item)
                except InvalidResponse as exc:
                    log.warning("%s; skipped", exc.message)
                    self.skipped.append(exc.message)
            self._parsed[document_id] = invoice
        return self._parsed[document_id]


def _document_id(value: Any) -> int | None:
    """The id as the client's paging reads it (an int, or digits in a string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


__all__ = ["InvoiceListing"]

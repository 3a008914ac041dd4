"""Walking a paged list answer, and the list value that says whether it is complete.

KolayBi's list answers come in the shapes Laravel produces: a plain ``data`` list (one page),
``links.next``, ``meta.current_page``/``last_page`` (or the same inside ``data``), or an
older ``pagination`` object with a ``total``. Items are de-duplicated by an id field; the
walk stops when a page adds nothing new, when the pages run out, or at a page cap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar
from urllib.parse import SplitResult, parse_qs, urlencode, urlsplit

from .errors import InvalidResponse

log = logging.getLogger("kolaybi_xl.api")

T = TypeVar("T")

# Sends ``GET path?params`` and returns the whole answer body.
FetchPage = Callable[[str, dict[str, str]], dict[str, Any]]


class Listing(list[T]):
    """The items of a list call, with why it may be incomplete.

    A plain list for every caller that only wants the items; ``complete`` is False when the
    walk stopped at the page cap or the server's total disagrees with what arrived (``notes``
    say which); ``skipped`` names the items that could not be read and were left out.
    """

    def __init__(
        self, items: Iterable[T] = (), *, notes: Iterable[str] = (), skipped: Iterable[str] = ()
    ) -> None:
        super().__init__(items)
        self.notes: tuple[str, ...] = tuple(notes)
        self.skipped: tuple[str, ...] = tuple(skipped)

    @property
    def complete(self) -> bool:
        return not self.notes

    @property
    def note(self) -> str | None:
        """The notes as one line, or None for a complete list."""
        return "; ".join(self.notes) or None


class PageWalk:
    """A paged list walked page by page: ``pages()`` yields each page's new items as the page
    arrives, so a caller can turn them into what it keeps and let the answer go before the
    next page comes. ``notes`` (filled once the walk ends) say why the list may be incomplete.
    """

    def __init__(
        self,
        fetch: FetchPage,
        base_url: str,
        path: str,
        params: dict[str, str],
        id_field: str,
        *,
        max_pages: int,
    ) -> None:
        self._fetch = fetch
        self._base_url = base_url
        self._path = path
        self._params = params
        self._id_field = id_field
        self._max_pages = max_pages
        self.notes: list[str] = []
        self.received = 0

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        """Each page's items not seen on an earlier page, in the server's order."""
        path, params = self._path, self._params
        seen: set[int] = set()
        body = self._fetch(path, params)
        yield _new_items(body, seen, path, self._id_field)
        pages = 1
        page_no = 1
        while True:
            next_request = _next_page(body, self._base_url, path, params, page_no, len(seen))
            if next_request is None:
                break
            if pages >= self._max_pages:
                log.warning("%s: stopped after %s pages", path, self._max_pages)
                self.notes.append(f"{path}: stopped after {self._max_pages} pages")
                break
            next_path, next_params = next_request
            try:
                page_no = int(next_params.get("page", page_no + 1))
            except ValueError:
                page_no += 1
            body = self._fetch(next_path, next_params)
            pages += 1
            fresh = _new_items(body, seen, path, self._id_field)
            if not fresh:
                log.warning("%s: page %s added no new items; stopping", path, page_no)
                break
            yield fresh
        self.received = len(seen)
        total = _paging_total(body)
        if total is not None and total != len(seen):
            log.warning("%s: server reported %s items, received %s", path, total, len(seen))
            self.notes.append(
                f"{path}?{urlencode(params)}: KolayBi reported {total} items, {len(seen)} received"
            )


def _new_items(
    body: dict[str, Any], seen: set[int], path: str, id_field: str
) -> list[dict[str, Any]]:
    """A page's items whose id is not in ``seen`` (added to it); the page's own list is
    emptied, so the items live on only in what is returned."""
    data = body.get("data")
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]  # a paginator nested inside data
    if not isinstance(data, list):
        raise InvalidResponse(f"{path}: expected a list in 'data'")
    fresh: list[dict[str, Any]] = []
    for item in data:
        if not isinstance(item, dict):
            raise InvalidResponse(f"{path}: list item is not an object")
        key = _int_id(item.get(id_field))
        if key is None:
            raise InvalidResponse(
                f"{path}: list item {len(seen) + 1} without an integer {id_field!r}"
            )
        if key not in seen:
            seen.add(key)
            fresh.append(item)
    data.clear()
    return fresh


def _next_page(
    body: dict[str, Any],
    base_url: str,
    path: str,
    params: dict[str, str],
    page_no: int,
    received: int,
) -> tuple[str, dict[str, str]] | None:
    """The next request: ``links.next``, else ``meta`` (current/last page), else a
    ``pagination`` object's total; None on the last page."""
    links = body.get("links")
    if isinstance(links, dict) and links.get("next"):
        return same_api_url(base_url, str(links["next"]), path, params)
    pages = _meta_pages(body)
    if pages is not None:
        current, last = pages
        following = current + 1 if current < last else None
    else:
        following = _pagination_next(body, page_no, received)
    return None if following is None else (path, {**params, "page": str(following)})


def _meta_pages(body: dict[str, Any]) -> tuple[int, int] | None:
    """(current, last) page from ``meta`` (or a ``data`` object that carries them)."""
    meta = body.get("meta") or (body.get("data") if isinstance(body.get("data"), dict) else None)
    if not isinstance(meta, dict):
        return None
    current, last = meta.get("current_page"), meta.get("last_page")
    if isinstance(current, int) and isinstance(last, int):
        return current, last
    return None


def _pagination_next(body: dict[str, Any], page_no: int, received: int) -> int | None:
    """The page after this one while fewer than ``pagination.total`` items came."""
    pagination = body.get("pagination")
    if not isinstance(pagination, dict):
        return None
    total = pagination.get("total")
    current = pagination.get("current_page", page_no)
    if isinstance(total, int) and isinstance(current, int) and received < total:
        return current + 1
    return None


def same_api_url(
    base_url: str, url: str, path: str, params: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """Turn a ``links.next`` URL into a path under ``base_url``; refuse other hosts.

    The bearer token must never be sent to a host the user did not configure: only the
    link's path and query are used, always against ``base_url`` (so an ``http://`` link
    to our own host, as a TLS-terminating proxy produces, is still fetched over https).
    The first request's filters are kept: Laravel's next links drop them by default.
    """
    base = urlsplit(base_url)
    parts, host = _link_parts(url)
    if parts.netloc and (host or "") != (base.hostname or ""):
        raise InvalidResponse(f"the next page points to another host ({host or '?'})")
    link_params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    merged = {**params, **link_params}
    if not parts.path:  # "?page=2": the same path
        return path, merged
    return _path_under(base.path, parts.path), merged


def _link_parts(url: str) -> tuple[SplitResult, str | None]:
    try:
        parts = urlsplit(url.strip())
        return parts, parts.hostname
    except ValueError:
        raise InvalidResponse("the next page link cannot be read") from None


def _path_under(base_path: str, link_path: str) -> str:
    """The link's path relative to the API's base path; refused when outside it."""
    prefix = base_path.rstrip("/")
    if prefix and link_path != prefix and not link_path.startswith(prefix + "/"):
        raise InvalidResponse("the next page points outside the API")
    return link_path[len(prefix) :] or "/"


def _paging_total(body: dict[str, Any]) -> int | None:
    for key in ("meta", "pagination"):
        block = body.get(key)
        if isinstance(block, dict) and isinstance(block.get("total"), int):
            total: int = block["total"]
            return total
    return None


def _int_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None

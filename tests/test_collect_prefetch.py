"""On a big workbook file the sales list is read while the table is read (a listing kept as
plain data, validated only for the marked rows); never when an earlier attempt must be settled
first, and the outcome is the same either way."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_cli_collect import edit_rows, open_rows, vault_name

from kolaybi_xl.api import KolayBiClient
from kolaybi_xl.cli import main
from kolaybi_xl.jobs import collect
from kolaybi_xl.jobs.journal import Journal
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.xlsx_patch import PatchGrid

MARKED = 25  # more than collect.DETAIL_LIMIT: the plan reads the list, not each detail


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    with Sandbox(invoices=120, seed=5) as sb:
        monkeypatch.setenv("KOLAYBI_BASE_URL", sb.url)
        monkeypatch.setenv("KOLAYBI_CHANNEL", sb.channel)
        monkeypatch.setenv("KOLAYBI_API_KEY", sb.api_key)
        monkeypatch.setenv("KOLAYBI_XL_JOURNAL", str(tmp_path / "journal.jsonl"))
        yield sb


@pytest.fixture
def prefetches(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every early read taken by the plan: whether it brought the listing."""
    taken: list[bool] = []
    real = collect._Prefetch.take

    def take(self: collect._Prefetch) -> Any:
        listing = real(self)
        taken.append(listing is not None)
        return listing

    monkeypatch.setattr(collect.reading, "PREFETCH_BYTES", 0)  # every file counts as big
    monkeypatch.setattr(collect._Prefetch, "take", take)
    return taken


def _marked(tmp_path: Path, sb: Sandbox) -> tuple[Path, list[int]]:
    path = tmp_path / "book.xlsx"
    assert main(["fetch", str(path)]) == 0
    docs = open_rows(sb)[:MARKED]
    vault = vault_name(sb, "TRY")
    edit_rows(path, {d: {"Tahsil Et": "x", "Kasa/Banka": vault} for d in docs})
    return path, docs


def _outcomes(path: Path, docs: list[int]) -> list[str]:
    with PatchGrid.open(path, for_writing=False) as grid:
        block = grid.read(layout.INVOICES)
    header = [str(h) for h in block[layout.INVOICE_HEADER_ROW - 1]]
    ids, outcome = header.index(layout.ID_HEADER), header.index(layout.C_OUTCOME.header)
    by_id = {row[ids]: str(row[outcome] or "") for row in block[layout.INVOICE_HEADER_ROW :]}
    return [by_id[d] for d in docs]


def test_the_early_listing_is_used_and_collects_once(
    tmp_path: Path, sandbox: Sandbox, prefetches: list[bool]
) -> None:
    path, docs = _marked(tmp_path, sandbox)
    assert main(["collect", str(path), "--yes"]) == 0
    assert prefetches == [True]
    assert Counter(e.document_id for e in sandbox.books.ledger) == dict.fromkeys(docs, 1)
    assert all(text.startswith(layout.OUTCOME_DONE) for text in _outcomes(path, docs))


def test_no_early_listing_while_an_attempt_is_unsettled(
    tmp_path: Path, sandbox: Sandbox, prefetches: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, docs = _marked(tmp_path, sandbox)
    pending: list[object] = [object()]
    monkeypatch.setattr(Journal, "pending", lambda self, key: pending)
    journal = Journal(tmp_path / "journal.jsonl")
    waits = collect.DEFAULT_WAITS
    with (
        PatchGrid.open(path, for_writing=False) as grid,
        KolayBiClient(sandbox.url, sandbox.channel, sandbox.api_key) as client,
    ):
        assert collect._prefetch_sales(grid, client, journal, "K", str(path), waits) is None
        pending.clear()
        early = collect._prefetch_sales(grid, client, journal, "K", str(path), waits)
        assert early is not None
        listing = early.take()
    assert listing is not None
    assert all(listing.get(d) is not None for d in docs)


def test_the_outcome_is_the_same_when_settling_comes_first(
    tmp_path: Path, sandbox: Sandbox, prefetches: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that must settle an earlier attempt plans from a read made after settling."""
    monkeypatch.setenv(collect.ENV_HORIZON, "0")  # the earlier request is long over
    path, docs = _marked(tmp_path, sandbox)
    journal = Journal(tmp_path / "journal.jsonl")
    with KolayBiClient(sandbox.url, sandbox.channel, sandbox.api_key) as client:
        key = collect.account_key(client)
    journal.intent(
        key=key,
        document_id=docs[0],
        vault_id=1,
        amount=Decimal("1.00"),
        currency="TRY",
        remaining_before=Decimal("1.00"),
        workbook=str(path),
        row=None,
    )
    main(["collect", str(path), "--yes"])
    assert prefetches == []  # not started: the journal had an attempt to settle
    assert max(Counter(e.document_id for e in sandbox.books.ledger).values()) == 1

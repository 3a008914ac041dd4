"""Exactly once under races (issue #11): slow servers that apply after the client gave up, a
killed run's requests still in flight, other users, other workbooks, URL spellings.

KolayBi is the sandbox over real HTTP on loopback; the client's read timeout is short (0.3 s)
so that the ``apply_late`` / ``gateway_timeout`` faults land after it gave up. The horizon is
the default rule, 3 x that read timeout; the waits in between are real but sub-second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_collect_unit import (
    API_KEY,
    COL,
    FIRST,
    Recorder,
    add,
    make_books,
    make_grid,
    outcome_of,
)

from kolaybi_xl.api import KolayBiClient
from kolaybi_xl.jobs.account import account_key as key_of
from kolaybi_xl.jobs.account import normalise_url
from kolaybi_xl.jobs.collect import (
    CollectResult,
    Waits,
    account_key,
    collect_marked,
    proceed_horizon,
)
from kolaybi_xl.jobs.errors import JobError
from kolaybi_xl.jobs.identity import read_workbook_id
from kolaybi_xl.jobs.journal import Journal
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.grid import MemoryGrid

READ_TIMEOUT = 0.3
LATE = 0.7  # the server applies this long after the request arrived: after the timeout
HORIZON = 3 * READ_TIMEOUT  # what proceed_horizon() gives for this client
WAITS = Waits(
    reconcile_delay=0.0, resend_backoff=0.01, reread_backoff=0.0, poll=0.05, horizon=HORIZON
)


# Reconciliation must hold whether or not KolayBi's detail carries the payment fields (issue
# 14: without them the invoice is re-read from its list).
@pytest.fixture(params=[True, False], ids=["detail-with-payment", "detail-without-payment"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    books = make_books()
    with Sandbox(books=books, api_key=API_KEY, detail_has_payment_plan=request.param) as sb:
        sb.faults.slow_seconds = LATE
        yield sb


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


def client_for(sb: Sandbox, url: str | None = None) -> KolayBiClient:
    return KolayBiClient(
        url or sb.url,
        sb.channel,
        sb.api_key,
        timeout=(2.0, 5.0),
        proceed_timeout=(2.0, READ_TIMEOUT),
        backoff=0.0,
        max_retries=2,
        sleep=lambda _s: None,
    )


def run(grid: MemoryGrid, client: Any, journal: Journal, **kw: Any) -> CollectResult:
    kw.setdefault("key", account_key(client))
    kw.setdefault("workbook", "test.xlsx")
    kw.setdefault("waits", WAITS)
    return collect_marked(grid, client, journal, **kw)


def proceeds(client: Recorder) -> int:
    return client.count("proceed")


class KilledAfter(Recorder):
    """A run that dies (KeyboardInterrupt) right after its k-th proceed was applied."""

    def __init__(self, inner: Any, k: int) -> None:
        super().__init__(inner)
        self.k = k

    def proceed(self, document_id: int, vault_id: int, amount: Decimal | None = None) -> Any:
        answer = super().proceed(document_id, vault_id, amount)
        if self.count("proceed") == self.k:
            raise KeyboardInterrupt
        return answer


# -- finding 4: applied after the client's timeout, no kill -----------------------------------


@pytest.mark.parametrize("kind", ["apply_late", "gateway_timeout"])
def test_a_proceed_applied_after_the_timeout_is_never_sent_again(
    sandbox: Sandbox, journal: Journal, kind: str
) -> None:
    books = sandbox.books
    doc = add(books, "120.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": "Merkez Kasa"}])
    sandbox.faults.inject(kind)
    client = Recorder(client_for(sandbox))
    waited: list[tuple[int, float]] = []

    result = run(grid, client, journal, on_wait=lambda n, s: waited.append((n, s)))

    assert proceeds(client) == 1  # before: re-read at once, "not applied", sent again
    assert books.collected_documents() == {doc: 1}
    assert outcome_of(grid, FIRST) == (
        "Tamamlandı (yeniden okunarak doğrulandı): 120,00 TRY → Merkez Kasa"
    )
    assert result.exit_code == 0
    assert [a.result for a in journal.attempts(account_key(client))] == ["applied"]


def test_the_horizon_is_three_read_timeouts_and_configurable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = KolayBiClient("https://x.example/kolaybi/v1", "c", "k", proceed_timeout=(5, 60))
    assert proceed_horizon(client) == 180.0
    assert proceed_horizon(client, Waits(horizon=30)) == 30.0
    monkeypatch.setenv("KOLAYBI_XL_HORIZON", "240")
    assert proceed_horizon(client) == 240.0


def test_not_applied_is_concluded_only_after_the_horizon(
    sandbox: Sandbox, journal: Journal
) -> None:
    """A request lost without an answer and never applied: sent again only after the horizon."""
    books = sandbox.books
    doc = add(books, "50.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": "Merkez Kasa"}])
    inner = client_for(sandbox)
    times: list[float] = []

    class Lost(Recorder):
        def proceed(self, document_id: int, vault_id: int, amount: Decimal | None = None) -> Any:
            times.append(journal.clock())
            self._log("proceed", document_id)
            if len(times) == 1:
                from kolaybi_xl.api import OutcomeUnknown

                raise OutcomeUnknown("no answer in time (read timeout)")  # answered=False
            return self.inner.proceed(document_id, vault_id, amount)

    client = Lost(inner)
    run(grid, client, journal)

    assert proceeds(client) == 2
    assert times[1] - times[0] >= HORIZON - 0.05
    assert outcome_of(grid, FIRST) == "Tamamlandı: 50,00 TRY → Merkez Kasa"
    assert books.collected_documents() == {doc: 1}


# -- finding 3: a killed run's request still in flight ------------------------------------------


def in_flight(sandbox: Sandbox, journal: Journal, doc: int, amount: str) -> threading.Thread:
    """A run that recorded its intent and sent the proceed, then was killed: the request is
    still being processed by the (slow) server, nobody waits for its answer."""
    client = client_for(sandbox)
    seen = [t.id for t in client.vault_transactions(1) if abs(t.amount) == Decimal(amount)]
    journal.intent(
        key=account_key(client),
        document_id=doc,
        vault_id=1,
        amount=Decimal(amount),
        currency="TRY",
        remaining_before=Decimal(amount),
        workbook="test.xlsx",
        row=FIRST,
        vault_name="Merkez Kasa",
        seen=seen,
        seen_at=journal.clock(),
    )
    sandbox.faults.inject("apply_late")
    slow = KolayBiClient(sandbox.url, sandbox.channel, sandbox.api_key, timeout=(2.0, 5.0))
    thread = threading.Thread(target=slow.proceed, args=(doc, 1, Decimal(amount)), daemon=True)
    thread.start()
    while not sandbox.faults.fired:  # the request has reached the server
        threading.Event().wait(0.01)
    return thread


def test_a_killed_runs_request_in_flight_is_waited_for_not_sent_again(
    sandbox: Sandbox, journal: Journal
) -> None:
    books = sandbox.books
    doc = add(books, "75.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": "Merkez Kasa"}])
    thread = in_flight(sandbox, journal, doc, "75.00")
    client = Recorder(client_for(sandbox))
    waited: list[tuple[int, float]] = []

    result = run(grid, client, journal, on_wait=lambda n, s: waited.append((n, s)))
    thread.join(5)

    assert proceeds(client) == 0  # before: re-read at once, "not applied", sent again
    assert books.collected_documents() == {doc: 1}
    assert outcome_of(grid, FIRST) == (
        "Tamamlandı (yeniden okunarak doğrulandı): 75,00 TRY → Merkez Kasa"
    )
    assert result.recovered == 1
    assert waited
    assert waited[0][0] == 1
    assert 0 < waited[0][1] <= HORIZON


def test_no_wait_leaves_the_row_pending_and_a_later_run_settles_it(
    sandbox: Sandbox, journal: Journal
) -> None:
    books = sandbox.books
    doc = add(books, "80.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": "Merkez Kasa"}])
    thread = in_flight(sandbox, journal, doc, "80.00")
    client = Recorder(client_for(sandbox))

    result = run(grid, client, journal, no_wait=True)

    assert proceeds(client) == 0
    text = outcome_of(grid, FIRST)
    assert text.startswith("Hata: sonuç bekleniyor — KolayBi isteği hâlâ işliyor olabilir")
    assert "tekrar gönderilmedi" in text
    assert result.exit_code == 1
    assert len(journal.pending(account_key(client))) == 1

    thread.join(5)
    threading.Event().wait(HORIZON)  # the horizon passes (0.9 s)
    run(grid, client, journal, no_wait=True)
    assert proceeds(client) == 0
    assert outcome_of(grid, FIRST) == (
        "Tamamlandı (yeniden okunarak doğrulandı): 80,00 TRY → Merkez Kasa"
    )
    assert journal.pending(account_key(client)) == []
    assert books.collected_documents() == {doc: 1}


# -- finding 6: claim only what is ours -----------------------------------------------------


def test_an_invoice_closed_by_another_user_is_not_claimed(
    sandbox: Sandbox, journal: Journal, tmp_path: Path
) -> None:
    """User B's proceed gets a 503 (nothing applied) while user A has just collected the
    invoice into another vault: B's re-read sees it paid, but B's vault shows nothing new."""
    books = sandbox.books
    doc = add(books, "90.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": "Ziraat TL"}])
    other_user = client_for(sandbox)

    def collected_by_a(document_id: int) -> None:
        other_user.proceed(document_id, 1)  # A, into Merkez Kasa
        sandbox.faults.inject("error_before")  # B's own request: 503, nothing applied

    client = Recorder(client_for(sandbox), before_proceed=collected_by_a)
    result = run(grid, client, journal)

    assert outcome_of(grid, FIRST) == (
        "Atlandı: başka bir tahsilatla kapanmış — KolayBi'de kalan 0,00 TRY"
    )  # before: "Tamamlandı (yeniden okunarak doğrulandı): 90,00 TRY → Ziraat TL"
    assert result.counts["skipped"] == 1
    log_rows = grid.read(layout.COLLECTION_LOG)
    assert [r[8] for r in log_rows[1:]] == ["Atlandı"]
    assert [e.vault_id for e in books.ledger] == [1]


def test_our_own_collection_after_a_500_is_still_proven(sandbox: Sandbox, journal: Journal) -> None:
    """The other side of the rule: a 500 after applying; the vault shows a new transaction of
    this amount that no other collection of ours explains: Tamamlandı."""
    books = sandbox.books
    docs = [add(books, "33.00"), add(books, "33.00")]
    grid = make_grid(books, [{"id": d, "mark": "x", "vault": "Merkez Kasa"} for d in docs])
    sandbox.faults.inject("error_after", 1)
    client = Recorder(client_for(sandbox))
    run(grid, client, journal, concurrency=1)
    for i in range(2):
        assert outcome_of(grid, FIRST + i).startswith("Tamamlandı")
    assert books.collected_documents() == dict.fromkeys(docs, 1)


def test_a_2xx_success_false_is_reconciled_not_trusted(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    doc = add(books, "44.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": "Merkez Kasa"}])
    inner = client_for(sandbox)

    class SaysFalse(Recorder):
        def proceed(self, document_id: int, vault_id: int, amount: Decimal | None = None) -> Any:
            self._log("proceed", document_id)
            from kolaybi_xl.api import OutcomeUnknown

            self.inner.proceed(document_id, vault_id, amount)  # applied...
            # ...but answered 200 {"success": false}: what the client now raises for it
            raise OutcomeUnknown("the collection was answered 'success: false'", status=200)

    run(grid, SaysFalse(inner), journal)
    assert outcome_of(grid, FIRST) == (
        "Tamamlandı (yeniden okunarak doğrulandı): 44,00 TRY → Merkez Kasa"
    )


# -- finding 2: outcomes belong to their workbook -------------------------------------------


def test_a_killed_runs_outcomes_are_written_only_into_its_own_workbook(
    sandbox: Sandbox, journal: Journal, tmp_path: Path
) -> None:
    books = sandbox.books
    docs = [add(books, f"{10 + i}.00") for i in range(4)]
    rows = [{"id": d, "mark": "x", "vault": "Merkez Kasa"} for d in docs]
    book_a, book_b = make_grid(books, rows), make_grid(books, rows)
    path_a, path_b = str(tmp_path / "A.xlsx"), str(tmp_path / "B.xlsx")

    dying = KilledAfter(client_for(sandbox), 2)
    with pytest.raises(KeyboardInterrupt):
        run(book_a, dying, journal, workbook=path_a, concurrency=1)
    collected = set(books.collected_documents())
    assert len(collected) == 2

    client = client_for(sandbox)
    result_b = run(book_b, client, journal, workbook=path_b)
    log_b = book_b.read(layout.COLLECTION_LOG)
    assert {r[1] for r in log_b[1:] if r[8] == "Tamamlandı"} == set(docs) - collected
    for i, doc in enumerate(docs):
        if doc in collected:  # B never made these: not Tamamlandı in B
            assert outcome_of(book_b, FIRST + i) == "Atlandı: kalan tutar yok"
    assert result_b.waiting_elsewhere == {path_a: 2}
    assert "A.xlsx" in result_b.summary("en")
    assert "run collect on that workbook" in result_b.summary("en")

    result_a = run(book_a, client, journal, workbook=path_a)
    assert result_a.recovered == 2
    log_a = book_a.read(layout.COLLECTION_LOG)
    assert {r[1] for r in log_a[1:] if r[8] == "Tamamlandı"} == collected
    assert journal.unwritten(account_key(client)) == []
    assert read_workbook_id(book_a) != read_workbook_id(book_b)


def test_a_copy_of_a_workbook_does_not_take_the_originals_outcomes(
    sandbox: Sandbox, journal: Journal, tmp_path: Path
) -> None:
    books = sandbox.books
    docs = [add(books, "21.00"), add(books, "22.00")]
    rows = [{"id": d, "mark": "x", "vault": "Merkez Kasa"} for d in docs]
    original = make_grid(books, rows)
    path_a, path_copy = tmp_path / "A.xlsx", tmp_path / "A - Kopya.xlsx"
    path_a.write_bytes(b"")  # the original file is there
    run(original, client_for(sandbox), journal, workbook=str(path_a))  # gets its id
    copy = make_grid(books, rows)
    copy.ensure_sheet(layout.SETTINGS)
    copy.write(layout.SETTINGS, 1, 1, original.read(layout.SETTINGS))  # the same id

    dying = KilledAfter(client_for(sandbox), 1)
    third = add(books, "23.00")
    for grid in (original, copy):
        grid.write(layout.INVOICES, FIRST + 2, COL["Belge ID"], [[third]])
        grid.write(layout.INVOICES, FIRST + 2, COL["Tahsil Et"], [["x", "Merkez Kasa"]])
    with pytest.raises(KeyboardInterrupt):
        run(original, dying, journal, workbook=str(path_a))  # killed: outcome unwritten
    result = run(copy, client_for(sandbox), journal, workbook=str(path_copy))
    assert result.waiting_elsewhere == {str(path_a): 1}
    # moved or renamed (the recorded file is gone): that workbook is the one
    path_a.unlink()
    moved = run(copy, client_for(sandbox), journal, workbook=str(path_copy))
    assert moved.recovered == 1
    assert moved.waiting_elsewhere == {}


# -- finding 5: one account, one name -------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "http://localhost:{port}/kolaybi/v1",
        "http://LOCALHOST:{port}/kolaybi/v1/",
        "HTTP://127.0.0.1:{port}//kolaybi/v1//",
        "http://[::1]:{port}/kolaybi/v1",
        "http://localhost.:{port}/kolaybi/v1",
    ],
)
def test_url_spellings_are_one_account(spelling: str) -> None:
    reference = key_of("http://127.0.0.1:8765/kolaybi/v1", "chan")
    assert key_of(spelling.format(port=8765), "chan") == reference
    assert key_of(spelling.format(port=8765), "chan ") == reference
    assert key_of(spelling.format(port=8765), "other") != reference


def test_default_ports_and_host_case() -> None:
    assert normalise_url("https://Ofis-API.KolayBi.com.:443/kolaybi/v1/") == (
        "https://ofis-api.kolaybi.com/kolaybi/v1"
    )
    assert normalise_url("http://example.com:80/x") == "http://example.com/x"
    assert normalise_url("https://example.com:8443/x") == "https://example.com:8443/x"


def test_two_spellings_share_the_lock_and_the_recovery(sandbox: Sandbox, journal: Journal) -> None:
    books = sandbox.books
    doc = add(books, "60.00")
    grid = make_grid(books, [{"id": doc, "mark": "x", "vault": "Merkez Kasa"}])
    as_ip = client_for(sandbox)
    as_name = client_for(sandbox, sandbox.url.replace("127.0.0.1", "localhost"))
    with journal.lock(account_key(as_ip)), pytest.raises(JobError) as caught:
        run(grid, as_name, journal)
    assert "another collection is running" in caught.value.message

    dying = KilledAfter(as_ip, 1)
    with pytest.raises(KeyboardInterrupt):
        run(grid, dying, journal)
    result = run(grid, Recorder(as_name), journal)
    assert result.recovered == 1
    assert outcome_of(grid, FIRST).startswith("Tamamlandı")
    assert books.collected_documents() == {doc: 1}


def test_the_account_key_is_built_in_one_place() -> None:
    """cli, excel and demo all call ``collect.account_key`` (-> ``account.account_key``)."""
    root = Path(__file__).parent.parent / "kolaybi_xl"
    for name in ("cli/marked_rows.py", "excel.py", "demo.py"):
        text = (root / name).read_text(encoding="utf-8")
        assert "key=account_key(client)" in text, name
        assert "base_url}|" not in text, name

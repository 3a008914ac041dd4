"""Reliability soak: randomized collect runs against the sandbox, with faults, kills and races.

Every run gets a fresh sandbox (30-120 invoices, 20-60 ms latency) in this process and one or
two workbooks fetched from it with random marks, among them invalid marks, wrong or unknown
vaults, duplicate rows, drafts, paid invoices, partial amounts in ``Tahsil Tutarı`` (as numbers
and as Turkish or plain text) and wrong ones. Then the real command line, ``kolaybi-xl
collect BOOK --yes`` in subprocesses, is run while the sandbox injects random faults (seeded)
on the collections and on reads — among them a server that applies a collection only after
the client gave up waiting (``apply_late``, ``gateway_timeout``; the subprocess's read timeout
is 0.3 s, so its horizon is 0.9 s) — and is killed (SIGKILL) at random moments: after the
ledger grew by k entries, or after a random delay. It is run again until a run completes; then
faults go off and it is run until a run completes once more. Each run spells the API URL one
of several ways (``127.0.0.1``/``localhost``, case, a trailing slash): one account. The seed
picks a scenario:

- ``faults``: one workbook, as above;
- ``concurrent``: ``fetch`` and/or ``report`` on the same workbook start while collect runs
  (in the rounds with faults and kills);
- ``two_books``: two workbooks of one account and one journal, runs alternating between them
  (a killed run's outcomes must go back to its own workbook only);
- ``two_users``: two workbooks with their own journals (two people), the same invoices marked
  with different vaults, collect running on both at once.

At the end:

- no invoice is in the sandbox ledger more than once, and only valid marked rows' invoices are;
- each collection is exactly the marked amount: the row's part, or all that remained;
- a row saying ``Tamamlandı`` shows in ``Kalan`` what KolayBi shows, and its log row the part;
- every collected invoice has exactly one row saying ``Tamamlandı`` (across workbooks), and it
  names the vault KolayBi shows (or the row says the outcome is unclear and it was collected
  not more than once); every other valid marked row does not say ``Tamamlandı``;
- every marked row of each saved workbook (read with openpyxl) has an outcome starting with
  Tamamlandı / Hata / Atlandı; unmarked rows have none;
- ``Tahsilat Günlüğü`` has a ``Tamamlandı`` row for every collection in the ledger, in exactly
  one workbook, and none for an invoice that was not collected;
- the journals have nothing pending and nothing unwritten.

CI runs one seed per scenario (the whole file stays under a minute on 2 cores). More:
``KOLAYBI_SOAK=long`` (200 runs) or ``KOLAYBI_SOAK_RUNS=N``; ``KOLAYBI_SOAK_SEED=S`` sets the
first seed (long mode otherwise picks one at random). A failure names its seed; rerun one with
``KOLAYBI_SOAK_RUNS=1 KOLAYBI_SOAK_SEED=<seed> pytest tests/test_soak.py``.

The subprocess runs ``kolaybi_xl.cli.main`` (exactly what ``python -m kolaybi_xl`` runs) with
the collect job's settle and resend waits shortened from seconds to 50 ms and a 0.3 s read
timeout for collections, so that many runs fit in the time; injected 429/503 faults carry
``Retry-After: 0`` for the same reason.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from kolaybi_xl.api import InvoiceType, KolayBiClient
from kolaybi_xl.jobs.collect import account_key
from kolaybi_xl.jobs.fetch import refresh_invoices
from kolaybi_xl.jobs.journal import Journal
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.cells import CellError, parse_mark
from kolaybi_xl.workbook.xlsx_file import FileGrid

CI_RUNS = 4  # one seed per scenario
LONG_RUNS = 200
FAULTY_ATTEMPTS = 4  # runs with faults and kills before the faults go off
CLEAN_ATTEMPTS = 3
RUN_TIMEOUT = 120.0
SCENARIOS = ("faults", "concurrent", "two_books", "two_users")

OUTCOME_WORDS = (layout.OUTCOME_DONE, layout.OUTCOME_ERROR, layout.OUTCOME_SKIPPED)
VAULTS = {  # the sandbox seed's vaults: id, name, currency
    1: ("Merkez Kasa", "TRY"),
    2: ("Ziraat Bankası TL", "TRY"),
    3: ("Garanti BBVA USD", "USD"),
    4: ("İş Bankası EUR", "EUR"),
    5: ("Döviz Kasası USD", "USD"),
}
YES = ["x", "X", " x ", "✓", "evet", "E", "yes", "y", "1", 1, True, "TRUE", "Doğru"]
NO = ["hayır", "h", "no", "0", 0, False, "  "]
INVALID = ["belki", "2", "xx", 2.5, "x x", "-"]
PROCEED_FAULTS = (
    "error_after",
    "drop_after",
    "slow_after",
    "apply_late",
    "gateway_timeout",
    "error_before",
    "rate_limit",
    "expire_token",
    "bad_json",
)
READ_FAULTS = ("error_before", "rate_limit", "bad_json", "drop_after", "expire_token")
READ_ENDPOINTS = ("invoices", "vaults", "token")
READ_TIMEOUT = 0.3  # the subprocess's proceed read timeout: its horizon is 3 x this
PARTIAL = 0.4  # the share of valid rows that collect a part (Tahsil Tutarı, issue 14)
WRONG_AMOUNTS = [0, "-5", "abc", "#DIV/0!", 1.005, "1,234"]  # each a row error, never sent


def part_cell(part: Decimal, rng: random.Random) -> Any:
    """A partial amount as people type it: a number, Turkish text or plain text."""
    turkish = f"{part:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return rng.choice([float(part), turkish, f"{part:.2f}"])


# ``python -m kolaybi_xl`` with the collect job's waits and read timeout shortened (see the
# module docstring).
CLI = (
    "import sys\n"
    "from kolaybi_xl import cli\n"
    "from kolaybi_xl.cli import common\n"
    "from kolaybi_xl.api import KolayBiClient\n"
    "import kolaybi_xl.jobs.collect as c\n"
    "c.DEFAULT_WAITS = c.Waits(reconcile_delay=0.05, resend_backoff=0.05, reread_backoff=0.05,"
    " poll=0.05)\n"
    "common.client_for = lambda s: KolayBiClient(s.base_url, s.channel, s.api_key,"
    f" proceed_timeout=(5.0, {READ_TIMEOUT}))\n"
    "raise SystemExit(cli.main(sys.argv[1:]))\n"
)


def _runs() -> list[int]:
    mode = os.environ.get("KOLAYBI_SOAK", "").strip().lower()
    count = os.environ.get("KOLAYBI_SOAK_RUNS", "").strip()
    runs = int(count) if count else LONG_RUNS if mode == "long" else CI_RUNS
    first = os.environ.get("KOLAYBI_SOAK_SEED", "").strip()
    if first:
        start = int(first)
    elif mode == "long" or count:
        # xdist's workers must collect the same seeds: they share the run's id.
        run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
        start = int(run_id, 16) % 10**6 + 1 if run_id else random.SystemRandom().randrange(10**6)
    else:
        start = 1
    return list(range(start, start + runs))


@dataclass
class Book:
    path: Path
    journal: Path
    marked: dict[int, int | None] = field(default_factory=dict)  # sheet row -> Belge ID
    valid: dict[int, int] = field(default_factory=dict)  # sheet row -> Belge ID
    vault_of: dict[int, int] = field(default_factory=dict)  # sheet row -> chosen vault id
    # sheet row -> the part typed into Tahsil Tutarı (valid rows only; others: the whole)
    part_of: dict[int, Decimal] = field(default_factory=dict)
    done: bool = False  # a run completed since the faults went off


def make_book(
    sb: Sandbox,
    path: Path,
    journal: Path,
    rng: random.Random,
    *,
    duplicates: bool = True,
    avoid: Book | None = None,
    shared: Book | None = None,
) -> Book:
    """Fetch the sandbox's sales invoices into a new workbook and mark rows at random.

    ``avoid``: another person's workbook: mark what it marked too, with another vault of the
    currency where there is one (EUR has one vault: those rows are left to the other).
    ``shared``: another workbook of the same account: an invoice it collects a part of is not
    marked here, and one it marks gets no part here (two workbooks' parts would both go).
    """
    with KolayBiClient(sb.url, sb.channel, sb.api_key) as client:
        grid = FileGrid.open(path, create=True)
        refresh_invoices(grid, client, [InvoiceType.SALE_INVOICE])
    block = grid.read(layout.INVOICES)
    top = layout.INVOICE_HEADER_ROW
    header = [str(h) if h is not None else "" for h in block[top - 1]]
    col = {h: header.index(h) + 1 for h in header if h}
    book = Book(path, journal)
    candidates: list[tuple[int, int]] = []  # (sheet row, id) of rows with an accepted mark
    rows = block[top:]
    theirs = set(shared.valid.values()) if shared else set()
    their_parts = {shared.valid[r] for r in shared.part_of} if shared else set()
    for offset, row in enumerate(rows):
        sheet_row = top + 1 + offset
        doc_id = int(row[col["Belge ID"] - 1])
        record = sb.books.invoices[doc_id]
        right = [i for i, (_, cur) in VAULTS.items() if cur == record.currency]
        wrong = [i for i, (_, cur) in VAULTS.items() if cur != record.currency]
        if avoid is not None:
            if sheet_row not in avoid.valid or sheet_row in avoid.part_of:
                continue  # a part stays one person's (two people's parts could both go)
            others = [v for v in right if v != avoid.vault_of[sheet_row]]
            if not others:
                continue
            chosen = rng.choice(others)
            grid.write(layout.INVOICES, sheet_row, col["Tahsil Et"], [["x", VAULTS[chosen][0]]])
            book.marked[sheet_row] = doc_id
            book.valid[sheet_row] = doc_id
            book.vault_of[sheet_row] = chosen
            continue
        roll = rng.random()
        if roll < 0.45 or doc_id in their_parts:
            continue  # untouched
        if roll < 0.55:
            grid.write(layout.INVOICES, sheet_row, col["Tahsil Et"], [[rng.choice(NO)]])
            continue
        if roll < 0.62:
            mark = rng.choice(INVALID)
            accepted = False
        else:
            mark = rng.choice(YES)
            accepted = True
        pick = rng.random()
        vault_ok = True
        chosen = 0
        if pick < 0.72:
            chosen = rng.choice(right)
            vault: Any = rng.choice([VAULTS[chosen][0], chosen, str(chosen)])
        elif pick < 0.82:
            vault, vault_ok = VAULTS[rng.choice(wrong)][0], False
        elif pick < 0.92:
            vault, vault_ok = "Olmayan Kasa", False
        else:
            vault, vault_ok = None, False
        grid.write(layout.INVOICES, sheet_row, col["Tahsil Et"], [[mark, vault]])
        book.marked[sheet_row] = doc_id
        collectable = record.status not in ("draft", "cancelled", "rejected")
        amount_ok, part = True, None
        share = rng.random()
        if share < 0.03:
            amount_ok = False
            wrong = rng.choice([*WRONG_AMOUNTS, record.remaining + Decimal("0.01")])
            grid.write(layout.INVOICES, sheet_row, col["Tahsil Tutarı"], [[wrong]])
        elif (
            share < 0.03 + PARTIAL and record.remaining >= Decimal("0.02") and doc_id not in theirs
        ):
            cents = int(record.remaining * 100)
            part = Decimal(rng.randint(1, cents - 1)) / 100
            grid.write(layout.INVOICES, sheet_row, col["Tahsil Tutarı"], [[part_cell(part, rng)]])
        if accepted and vault_ok and collectable and amount_ok and record.remaining > 0:
            book.valid[sheet_row] = doc_id
            book.vault_of[sheet_row] = chosen
            if part is not None:
                book.part_of[sheet_row] = part
        if accepted:
            candidates.append((sheet_row, doc_id))
    # Now and then an invoice marked on two rows: neither is sent.
    if duplicates and candidates and rng.random() < 0.4:
        source_row, doc_id = rng.choice(candidates)
        extra = top + 1 + len(rows)
        grid.write(layout.INVOICES, extra, col["Belge ID"], [[doc_id]])
        grid.write(layout.INVOICES, extra, col["Tahsil Et"], [["x", VAULTS[1][0]]])
        book.marked[extra] = doc_id
        book.valid.pop(source_row, None)
        book.part_of.pop(source_row, None)
    grid.save()
    grid.close()
    return book


def inject_faults(sb: Sandbox, rng: random.Random, seed: int) -> list[str]:
    sb.faults.seed(seed)
    # Longer than the read timeout, shorter than the horizon (3 x it) minus the latency: a
    # server applying after the horizon is outside what the product can promise.
    sb.faults.slow_seconds = rng.uniform(0.35, 0.7)
    described = []
    for kind in rng.sample(PROCEED_FAULTS, k=rng.randint(1, 4)):
        probability = rng.uniform(0.02, 0.15)
        sb.faults.inject(kind, endpoint="proceed", probability=probability, retry_after=0)
        described.append(f"{kind}@proceed p={probability:.2f}")
    for kind in rng.sample(READ_FAULTS, k=rng.randint(0, 2)):
        endpoint = rng.choice(READ_ENDPOINTS)
        probability = rng.uniform(0.01, 0.08)
        sb.faults.inject(kind, endpoint=endpoint, probability=probability, retry_after=0)
        described.append(f"{kind}@{endpoint} p={probability:.2f}")
    return described


def spelling(sb: Sandbox, rng: random.Random) -> str:
    """One of the ways a person may write the sandbox's URL: one account."""
    port = sb.url.split(":")[2].split("/")[0]
    return rng.choice(
        [
            sb.url,
            f"http://localhost:{port}/kolaybi/v1",
            f"http://LOCALHOST:{port}/kolaybi/v1/",
            f"HTTP://127.0.0.1:{port}/kolaybi/v1",
        ]
    )


def start(sb: Sandbox, book: Book, env: dict[str, str], rng: random.Random) -> Any:
    concurrency = rng.randint(1, 8)
    args = [sys.executable, "-c", CLI, "collect", str(book.path), "--yes"]
    args += ["--concurrency", str(concurrency)]
    run_env = {
        **env,
        "KOLAYBI_XL_JOURNAL": str(book.journal),
        "KOLAYBI_BASE_URL": spelling(sb, rng),
    }
    proc = subprocess.Popen(
        args, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    proc.concurrency = concurrency  # type: ignore[attr-defined]
    return proc


def run_round(
    sb: Sandbox,
    books: list[Book],
    env: dict[str, str],
    rng: random.Random,
    log: list[str],
    *,
    kill: bool,
    side_commands: bool,
) -> dict[int, int | None]:
    """Collect runs on ``books`` at once (each with a random kill plan when ``kill``), and,
    with ``side_commands``, fetch and report on the first book meanwhile. Returns the exit
    code per book (None: killed)."""
    plan = rng.choice(["ledger", "ledger", "delay", "none"]) if kill else "none"
    before = len(sb.books.ledger)
    grow = rng.randint(1, max(1, sum(len(b.valid) for b in books) // 2))
    delay = rng.uniform(0.2, 2.5)
    procs = [start(sb, book, env, rng) for book in books]
    side: list[Any] = []
    if side_commands:
        side_env = {**env, "KOLAYBI_XL_JOURNAL": str(books[0].journal)}
        side_env["KOLAYBI_XL_LOCK_WAIT"] = str(RUN_TIMEOUT)
        for command in rng.sample(["fetch", "report"], k=rng.randint(1, 2)):
            time.sleep(rng.uniform(0.0, 0.4))
            side.append(
                subprocess.Popen(
                    [sys.executable, "-c", CLI, command, str(books[0].path)],
                    env=side_env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
    began = time.monotonic()
    killed = False
    while any(p.poll() is None for p in procs):
        elapsed = time.monotonic() - began
        if elapsed > RUN_TIMEOUT:
            for p in [*procs, *side]:
                p.kill()
                p.wait()
            pytest.fail(f"collect did not finish in {RUN_TIMEOUT:.0f} s\n" + "\n".join(log))
        if (plan == "ledger" and len(sb.books.ledger) >= before + grow) or (
            plan == "delay" and elapsed >= delay
        ):
            for p in procs:
                p.kill()  # SIGKILL: no cleanup of any kind
            killed = True
            break
        time.sleep(0.005)
    codes: dict[int, int | None] = {}
    for index, proc in enumerate(procs):
        out, err = proc.communicate()
        code = proc.returncode
        if killed and code == -9:
            codes[index] = None
            continue
        if code not in (0, 1, 3):
            pytest.fail(f"collect exited {code}\n{out}\n{err[-3000:]}\n" + "\n".join(log))
        codes[index] = code
    for proc in side:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
        if proc.returncode not in (0, 3):  # 3: a read fault; never a lost save or a traceback
            pytest.fail(f"side command exited {proc.returncode}\n{out}\n{err[-3000:]}\n")
    log.append(
        f"  round: {len(books)} book(s), concurrency "
        f"{[p.concurrency for p in procs]}, kill plan {plan}"  # type: ignore[attr-defined]
        f"{f' (+{grow} collections)' if plan == 'ledger' else ''}"
        f"{f' ({delay:.2f} s)' if plan == 'delay' else ''}"
        f"{f', {len(side)} side command(s)' if side else ''} -> "
        + ", ".join("killed" if c is None else f"exit {c}" for c in codes.values())
        + f", ledger {before} -> {len(sb.books.ledger)}"
    )
    return codes


def read_back(
    path: Path,
) -> tuple[dict[int, tuple[Any, str, Any]], list[tuple[Any, str, Any]]]:
    """(sheet row -> (mark, outcome, Kalan)) of Faturalar and (Belge ID, result, Tutar) of the
    log, via openpyxl: an independent reader."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook[layout.INVOICES]
    top = layout.INVOICE_HEADER_ROW
    header = [c.value for c in sheet[top]]
    mark, outcome = header.index("Tahsil Et"), header.index("Tahsilat Durumu")
    left = header.index("Kalan")
    rows: dict[int, tuple[Any, str, Any]] = {}
    for index, row in enumerate(sheet.iter_rows(min_row=top + 1, values_only=True)):
        rows[top + 1 + index] = (row[mark], str(row[outcome] or ""), row[left])
    entries: list[tuple[Any, str, Any]] = []
    if layout.COLLECTION_LOG in workbook.sheetnames:
        log = workbook[layout.COLLECTION_LOG]
        log_header = [c.value for c in log[layout.LOG_HEADER_ROW]]
    if layout.COLLECTION_LOG in workbook.sheetnames and "Belge ID" in log_header:
        doc, result = log_header.index("Belge ID"), log_header.index("Sonuç")
        amount = log_header.index("Tutar")
        for row in log.iter_rows(min_row=layout.LOG_HEADER_ROW + 1, values_only=True):
            if row[doc] is not None:
                entries.append((row[doc], str(row[result] or ""), row[amount]))
    workbook.close()
    return rows, entries


def is_marked(value: Any) -> bool:
    try:
        return parse_mark(value)
    except CellError:
        return True  # an unreadable mark is a marked row that gets "Hata"


def check(
    sb: Sandbox,
    books: list[Book],
    key: str,
    log: list[str],
    before: dict[int, Decimal] | None = None,
) -> None:
    """``before``: each invoice's remaining amount before the first run (the whole amount a
    row without Tahsil Tutarı collects)."""
    where = "\n".join(log)
    counts = sb.books.collected_documents()
    assert all(n == 1 for n in counts.values()), f"collected twice: {counts}\n{where}"
    valid_docs = {d for b in books for d in b.valid.values()}
    assert set(counts) <= valid_docs, f"collected unexpectedly: {set(counts) - valid_docs}"
    # Each invoice collected exactly the marked amount: its part, or all that remained.
    parts = {b.valid[row]: part for b in books for row, part in b.part_of.items()}
    for entry in sb.books.ledger:
        if entry.undone:
            continue
        if entry.document_id in parts:
            want = parts[entry.document_id]
        elif before is not None:
            want = before[entry.document_id]
        else:
            continue
        assert entry.amount == want, (entry.document_id, entry.amount, want, where)
    ledger_vault = {e.document_id: e.vault_id for e in sb.books.ledger if not e.undone}
    claims: Counter[int] = Counter()  # Tamamlandı rows per invoice, over all workbooks
    logged: Counter[int] = Counter()
    unclear: set[int] = set()
    for book in books:
        rows, entries = read_back(book.path)
        for sheet_row, (mark, outcome, _) in rows.items():
            if sheet_row in book.marked:
                assert is_marked(mark), (sheet_row, mark, where)
                assert outcome.startswith(OUTCOME_WORDS), (sheet_row, mark, outcome, where)
            else:
                assert not is_marked(mark), (sheet_row, mark, where)
                assert outcome == "", (sheet_row, mark, outcome, where)
        for sheet_row, doc_id in book.valid.items():
            outcome = rows[sheet_row][1]
            if "belirsiz" in outcome:
                unclear.add(doc_id)
            elif outcome.startswith(layout.OUTCOME_DONE):
                claims[doc_id] += 1
                # Kalan says what KolayBi says (a part leaves the rest open)
                left = rows[sheet_row][2]
                server = sb.books.invoices[doc_id].remaining
                assert Decimal(str(left)) == server, (sheet_row, doc_id, left, server, where)
                assert doc_id in counts, (sheet_row, doc_id, outcome, where)
                name = VAULTS[ledger_vault[doc_id]][0]
                assert f"→ {name}" in outcome, (sheet_row, doc_id, outcome, name, where)
            elif len(books) == 1:
                pytest.fail(f"row {sheet_row} ({doc_id}) not collected: {outcome}\n{where}")
        for sheet_row in book.marked.keys() - book.valid.keys():
            outcome = rows[sheet_row][1]
            assert not outcome.startswith(layout.OUTCOME_DONE), (sheet_row, outcome, where)
        logged.update(doc for doc, result, _ in entries if result == layout.OUTCOME_DONE)
        for doc, result, amount in entries:
            if result == layout.OUTCOME_DONE and doc in parts:
                assert Decimal(str(amount)) == parts[doc], (doc, amount, parts[doc], where)
        journal = Journal(book.journal)
        assert journal.pending(key) == [], where
        assert journal.unwritten(key) == [], where
    for doc_id in counts:
        if doc_id not in unclear:
            assert claims[doc_id] == 1, (doc_id, claims[doc_id], where)
    assert all(n == 1 for n in claims.values()), (claims, where)
    assert set(logged) == set(counts), (f"log {dict(logged)} vs ledger {dict(counts)}", where)
    assert all(n == 1 for n in logged.values()), (f"logged in two books: {logged}", where)


@pytest.mark.slow
@pytest.mark.parametrize("seed", _runs())
def test_soak(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    scenario = SCENARIOS[seed % len(SCENARIOS)]
    log = [f"soak seed {seed}, {scenario} (replay: KOLAYBI_SOAK_RUNS=1 KOLAYBI_SOAK_SEED={seed})"]
    invoices = rng.randint(40, 120) if scenario == "faults" else rng.randint(30, 70)
    latency = rng.uniform(0.02, 0.06)
    journal = tmp_path / "journal" / "journal.jsonl"
    with Sandbox(invoices=invoices, seed=seed) as sb:
        first = make_book(
            sb, tmp_path / "soak.xlsx", journal, rng, duplicates=scenario != "concurrent"
        )
        books = [first]
        if scenario == "two_books":
            books.append(make_book(sb, tmp_path / "ikinci.xlsx", journal, rng, shared=first))
        elif scenario == "two_users":
            other = tmp_path / "user2" / "journal.jsonl"
            books.append(make_book(sb, tmp_path / "user2.xlsx", other, rng, avoid=first))
        sb.faults.latency = latency
        before = {i: r.remaining for i, r in sb.books.invoices.items()}
        log.append(
            f"  {invoices} invoices, latency {latency * 1000:.0f} ms, "
            + "; ".join(
                f"{b.path.name}: {len(b.marked)} marked, {len(b.valid)} valid "
                f"({len(b.part_of)} partial)"
                for b in books
            )
        )
        log.append("  faults: " + ", ".join(inject_faults(sb, rng, seed)))
        env = {
            **os.environ,
            "KOLAYBI_BASE_URL": sb.url,
            "KOLAYBI_CHANNEL": sb.channel,
            "KOLAYBI_API_KEY": sb.api_key,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        }

        def now_running() -> list[Book]:
            if scenario == "two_books":  # one account, one journal: one at a time
                return [rng.choice(books)]
            return books  # two users collect at once

        for _ in range(FAULTY_ATTEMPTS):
            codes = run_round(
                sb, now_running(), env, rng, log, kill=True, side_commands=scenario == "concurrent"
            )
            if all(c is not None for c in codes.values()):
                break
        sb.faults.clear()
        log.append("  faults off")
        for _ in range(CLEAN_ATTEMPTS + len(books)):
            waiting = [b for b in books if not b.done]
            if not waiting:
                break
            chosen = [waiting[0]] if scenario == "two_books" else waiting
            codes = run_round(sb, chosen, env, rng, log, kill=False, side_commands=False)
            for index, code in codes.items():
                if code in (0, 1):
                    chosen[index].done = True
        if not all(b.done for b in books):
            pytest.fail("no clean run completed\n" + "\n".join(log))
        client = KolayBiClient(sb.url, sb.channel, sb.api_key)
        check(sb, books, account_key(client), log, before)
    print("\n".join(log))  # shown with -s or -rA

"""Reliability soak: randomized collect runs against the sandbox, with faults and kills.

Every run gets a fresh sandbox (40-120 invoices, 20-60 ms latency) in this process and a
workbook fetched from it with random marks, among them invalid marks, wrong or unknown vaults,
duplicate rows, drafts, paid invoices. Then the real command line, ``kolaybi-xl collect BOOK
--yes`` in a subprocess, is run while the sandbox injects random faults (seeded) on the
collections and on reads, and is killed (SIGKILL) at random moments: after the ledger grew
by k entries, or after a random delay. It is run again until a run completes; then faults go
off and it is run until a run completes once more. At the end:

- no invoice is in the sandbox ledger more than once, and only valid marked rows' invoices are;
- every valid marked row was collected exactly once and says so (``Tamamlandı``), or, if it
  ended "sonuç belirsiz", not more than once;
- every marked row of the saved workbook (read with openpyxl) has an outcome starting with
  Tamamlandı / Hata / Atlandı; unmarked rows have none;
- ``Tahsilat Günlüğü`` has a ``Tamamlandı`` row for every collection in the ledger, and none for
  an invoice that was not collected;
- the journal has nothing pending and nothing unwritten.

CI runs a few of these (the whole file stays well under a minute on 2 cores). More:
``KOLAYBI_SOAK=long`` (200 runs) or ``KOLAYBI_SOAK_RUNS=N``; ``KOLAYBI_SOAK_SEED=S`` sets the
first seed (long mode otherwise picks one at random). A failure names its seed; rerun one with
``KOLAYBI_SOAK_RUNS=1 KOLAYBI_SOAK_SEED=<seed> pytest tests/test_soak.py``.

The subprocess runs ``kolaybi_xl.cli.main`` (exactly what ``python -m kolaybi_xl`` runs) with
the collect job's settle and resend waits shortened from seconds to 50 ms, so that many runs
fit in the time; injected 429/503 faults carry ``Retry-After: 0`` for the same reason.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
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

CI_RUNS = 8
LONG_RUNS = 200
FAULTY_ATTEMPTS = 4  # runs with faults and kills before the faults go off
CLEAN_ATTEMPTS = 3
RUN_TIMEOUT = 120.0

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
    "error_before",
    "rate_limit",
    "expire_token",
    "bad_json",
)
READ_FAULTS = ("error_before", "rate_limit", "bad_json", "drop_after", "expire_token")
READ_ENDPOINTS = ("invoices", "vaults", "token")

# ``python -m kolaybi_xl`` with the collect job's waits shortened (see the module docstring).
CLI = (
    "import sys\n"
    "import kolaybi_xl.jobs.collect as c\n"
    "c.RECONCILE_DELAY = c.RESEND_BACKOFF = c.REREAD_BACKOFF = 0.05\n"
    "from kolaybi_xl.cli import main\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
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
    marked: dict[int, int | None] = field(default_factory=dict)  # sheet row -> Belge ID
    valid: dict[int, int] = field(default_factory=dict)  # sheet row -> Belge ID


def make_book(sb: Sandbox, path: Path, rng: random.Random) -> Book:
    """Fetch the sandbox's sales invoices into a new workbook and mark rows at random."""
    with KolayBiClient(sb.url, sb.channel, sb.api_key) as client:
        grid = FileGrid.open(path, create=True)
        refresh_invoices(grid, client, [InvoiceType.SALE_INVOICE])
    block = grid.read(layout.INVOICES)
    top = layout.INVOICE_HEADER_ROW
    header = [str(h) if h is not None else "" for h in block[top - 1]]
    col = {h: header.index(h) + 1 for h in header if h}
    book = Book(path)
    candidates: list[tuple[int, int]] = []  # (sheet row, id) of rows with an accepted mark
    rows = block[top:]
    for offset, row in enumerate(rows):
        sheet_row = top + 1 + offset
        doc_id = int(row[col["Belge ID"] - 1])
        roll = rng.random()
        if roll < 0.45:
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
        record = sb.books.invoices[doc_id]
        right = [i for i, (_, cur) in VAULTS.items() if cur == record.currency]
        wrong = [i for i, (_, cur) in VAULTS.items() if cur != record.currency]
        pick = rng.random()
        vault_ok = True
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
        if accepted and vault_ok and collectable and record.remaining > 0:
            book.valid[sheet_row] = doc_id
        if accepted:
            candidates.append((sheet_row, doc_id))
    # Now and then an invoice marked on two rows: neither is sent.
    if candidates and rng.random() < 0.4:
        source_row, doc_id = rng.choice(candidates)
        extra = top + 1 + len(rows)
        grid.write(layout.INVOICES, extra, col["Belge ID"], [[doc_id]])
        grid.write(layout.INVOICES, extra, col["Tahsil Et"], [["x", VAULTS[1][0]]])
        book.marked[extra] = doc_id
        book.valid.pop(source_row, None)
    grid.save()
    grid.close()
    return book


def inject_faults(sb: Sandbox, rng: random.Random, seed: int) -> list[str]:
    sb.faults.seed(seed)
    sb.faults.slow_seconds = rng.uniform(0.1, 0.4)
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


def run_cli(
    sb: Sandbox,
    book: Book,
    env: dict[str, str],
    rng: random.Random,
    log: list[str],
    *,
    kill: bool,
) -> int | None:
    """One ``collect`` run; with ``kill``, killed at a random moment. None when killed."""
    concurrency = rng.randint(1, 8)
    args = [sys.executable, "-c", CLI, "collect", str(book.path), "--yes"]
    args += ["--concurrency", str(concurrency)]
    plan = rng.choice(["ledger", "ledger", "delay", "none"]) if kill else "none"
    start = len(sb.books.ledger)
    grow = rng.randint(1, max(1, len(book.valid) // 2))
    delay = rng.uniform(0.2, 2.5)
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    began = time.monotonic()
    killed = False
    while proc.poll() is None:
        elapsed = time.monotonic() - began
        if elapsed > RUN_TIMEOUT:
            proc.kill()
            proc.wait()
            pytest.fail(f"collect did not finish in {RUN_TIMEOUT:.0f} s\n" + "\n".join(log))
        if (plan == "ledger" and len(sb.books.ledger) >= start + grow) or (
            plan == "delay" and elapsed >= delay
        ):
            proc.kill()  # SIGKILL: no cleanup of any kind
            killed = True
            break
        time.sleep(0.005)
    out, err = proc.communicate()
    code = proc.returncode
    log.append(
        f"  run: concurrency {concurrency}, kill plan {plan}"
        f"{f' (+{grow} collections)' if plan == 'ledger' else ''}"
        f"{f' ({delay:.2f} s)' if plan == 'delay' else ''} -> "
        + ("killed" if killed else f"exit {code}")
        + (f", ledger {start} -> {len(sb.books.ledger)}")
    )
    if killed:
        return None
    if code not in (0, 1, 3):
        pytest.fail(f"collect exited {code}\n{out}\n{err[-3000:]}\n" + "\n".join(log))
    return code


def read_back(path: Path) -> tuple[dict[int, tuple[Any, str]], list[tuple[Any, str]]]:
    """(sheet row -> (mark, outcome)) of Faturalar and (Belge ID, result) of the log, via
    openpyxl: an independent reader."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook[layout.INVOICES]
    top = layout.INVOICE_HEADER_ROW
    header = [c.value for c in sheet[top]]
    mark, outcome = header.index("Tahsil Et"), header.index("Tahsilat Durumu")
    rows: dict[int, tuple[Any, str]] = {}
    for index, row in enumerate(sheet.iter_rows(min_row=top + 1, values_only=True)):
        rows[top + 1 + index] = (row[mark], str(row[outcome] or ""))
    entries: list[tuple[Any, str]] = []
    if layout.COLLECTION_LOG in workbook.sheetnames:
        log = workbook[layout.COLLECTION_LOG]
        log_header = [c.value for c in log[layout.LOG_HEADER_ROW]]
        doc, result = log_header.index("Belge ID"), log_header.index("Sonuç")
        for row in log.iter_rows(min_row=layout.LOG_HEADER_ROW + 1, values_only=True):
            if row[doc] is not None:
                entries.append((row[doc], str(row[result] or "")))
    workbook.close()
    return rows, entries


def is_marked(value: Any) -> bool:
    try:
        return parse_mark(value)
    except CellError:
        return True  # an unreadable mark is a marked row that gets "Hata"


def check(sb: Sandbox, book: Book, journal: Journal, key: str, log: list[str]) -> None:
    where = "\n".join(log)
    counts = sb.books.collected_documents()
    assert all(n == 1 for n in counts.values()), f"collected twice: {counts}\n{where}"
    valid_docs = set(book.valid.values())
    assert set(counts) <= valid_docs, f"collected unexpectedly: {set(counts) - valid_docs}"
    rows, entries = read_back(book.path)
    for sheet_row, (mark, outcome) in rows.items():
        if sheet_row in book.marked:
            assert is_marked(mark), (sheet_row, mark, where)
            assert outcome.startswith(OUTCOME_WORDS), (sheet_row, mark, outcome, where)
        else:
            assert not is_marked(mark), (sheet_row, mark, where)
            assert outcome == "", (sheet_row, mark, outcome, where)
    for sheet_row, doc_id in book.valid.items():
        outcome = rows[sheet_row][1]
        if "belirsiz" in outcome:
            assert counts[doc_id] <= 1, (sheet_row, doc_id, outcome, where)
        else:
            assert counts[doc_id] == 1, (sheet_row, doc_id, outcome, where)
            assert outcome.startswith(layout.OUTCOME_DONE), (sheet_row, outcome, where)
    for sheet_row in book.marked.keys() - book.valid.keys():
        outcome = rows[sheet_row][1]
        assert not outcome.startswith(layout.OUTCOME_DONE), (sheet_row, outcome, where)
    logged = Counter(doc for doc, result in entries if result == layout.OUTCOME_DONE)
    assert set(logged) == set(counts), (f"log {dict(logged)} vs ledger {dict(counts)}", where)
    assert journal.pending(key) == [], where
    assert journal.unwritten(key) == [], where


@pytest.mark.slow
@pytest.mark.parametrize("seed", _runs())
def test_soak(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    log = [f"soak seed {seed} (replay: KOLAYBI_SOAK_RUNS=1 KOLAYBI_SOAK_SEED={seed})"]
    invoices = rng.randint(40, 120)
    latency = rng.uniform(0.02, 0.06)
    journal_path = tmp_path / "journal" / "journal.jsonl"
    with Sandbox(invoices=invoices, seed=seed) as sb:
        book = make_book(sb, tmp_path / "soak.xlsx", rng)
        sb.faults.latency = latency
        log.append(
            f"  {invoices} invoices, latency {latency * 1000:.0f} ms, "
            f"{len(book.marked)} marked rows, {len(book.valid)} valid"
        )
        log.append("  faults: " + ", ".join(inject_faults(sb, rng, seed)))
        env = {
            **os.environ,
            "KOLAYBI_BASE_URL": sb.url,
            "KOLAYBI_CHANNEL": sb.channel,
            "KOLAYBI_API_KEY": sb.api_key,
            "KOLAYBI_XL_JOURNAL": str(journal_path),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        }
        for _ in range(FAULTY_ATTEMPTS):
            if run_cli(sb, book, env, rng, log, kill=True) is not None:
                break
        sb.faults.clear()
        log.append("  faults off")
        for _ in range(CLEAN_ATTEMPTS):
            if run_cli(sb, book, env, rng, log, kill=False) in (0, 1):
                break
        else:
            pytest.fail("no clean run completed\n" + "\n".join(log))
        client = KolayBiClient(sb.url, sb.channel, sb.api_key)
        check(sb, book, Journal(journal_path), account_key(client), log)
    print("\n".join(log))  # shown with -s or -rA

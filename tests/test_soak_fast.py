"""The reliability soak (``test_soak``) on the fast path: the same randomized runs with faults
and kills, on a workbook whose log sheet already has its table format, so that every
``kolaybi-xl collect`` subprocess patches the file instead of rewriting it through openpyxl."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from test_soak import CLEAN_ATTEMPTS, FAULTY_ATTEMPTS, check, inject_faults, make_book, run_round
from xlsx_writers import log_prepared, raw_members

from kolaybi_xl.api import KolayBiClient
from kolaybi_xl.jobs.collect import account_key
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook.xlsx_patch import FAST_ENV, PatchGrid, open_for_collect

SEEDS = (101, 102)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_soak_on_the_fast_path(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    log = [f"fast-path soak seed {seed}"]
    journal_path = tmp_path / "journal" / "journal.jsonl"
    with Sandbox(invoices=rng.randint(40, 120), seed=seed) as sb:
        book = make_book(sb, tmp_path / "soak.xlsx", journal_path, rng)
        log_prepared(book.path, rows=0)  # the log's header and format, no rows
        grid = open_for_collect(book.path)
        grid.close()
        assert isinstance(grid, PatchGrid)  # qualifies: every run below takes the fast path
        untouched = raw_members(book.path)["xl/worksheets/sheet2.xml"]  # Kasalar
        before = {i: r.remaining for i, r in sb.books.invoices.items()}
        log.append(f"  {len(book.valid)} valid rows, {len(book.part_of)} partial")
        sb.faults.latency = rng.uniform(0.02, 0.06)
        log.append("  faults: " + ", ".join(inject_faults(sb, rng, seed)))
        env = {
            **os.environ,
            "KOLAYBI_BASE_URL": sb.url,
            "KOLAYBI_CHANNEL": sb.channel,
            "KOLAYBI_API_KEY": sb.api_key,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            FAST_ENV: "1",
        }
        for _ in range(FAULTY_ATTEMPTS):
            codes = run_round(sb, [book], env, rng, log, kill=True, side_commands=False)
            if all(c is not None for c in codes.values()):
                break
        sb.faults.clear()
        for _ in range(CLEAN_ATTEMPTS):
            codes = run_round(sb, [book], env, rng, log, kill=False, side_commands=False)
            if codes[0] in (0, 1):
                break
        else:
            pytest.fail("no clean run completed\n" + "\n".join(log))
        client = KolayBiClient(sb.url, sb.channel, sb.api_key)
        check(sb, [book], account_key(client), log, before)
        # openpyxl would have rewritten every member: the fast path copied this one.
        assert raw_members(book.path)["xl/worksheets/sheet2.xml"] == untouched

"""Collect 500 marked rows of a 20,000-row workbook over a 50 ms API: kolaybi-xl (its fast
path and its openpyxl path) against the docs' sample loop and the pure API time.

    python bench/bench_collect.py                      # 20,000 rows, 500 marked, 50 ms, 3 runs
    python bench/bench_collect.py --rows 5000 --marked 100 --runs 1
    python bench/bench_collect.py --table --runs 1     # the issue's table: 200/10k, 200/50k,
                                                       # 2,000/10k, both paths vs pure API

- **baseline**: the documentation's sample code — get a token, then one plain
  ``requests.post(f"{url}/invoices/proceed", data={"document_id": ..., "vault_id": ...},
  headers=...)`` after the other for the same 500 invoices. No workbook, no journal, no checks.
- **pure API**: a token call plus the same proceed calls on 4 threads (one session each): what
  no workbook, no journal and no checks would cost at this latency.
- **kolaybi-xl collect BOOK.xlsx --yes --concurrency N** (N = 4, the default, and 8), run
  through ``cli.main`` in the measuring interpreter: open the 20,000-row workbook, recover from
  the journal, plan (marks, ids, vaults, currencies, every invoice's remaining amount re-read
  from the API), a journal intent fsync'd before every send, the sends, outcomes and the
  collection log written back, atomic save, journal marked written. Twice: the fast path
  (``PatchGrid``: calamine reads, only the changed rows rewritten) and the openpyxl path
  (``KOLAYBI_XL_FAST=0``).

Every run gets a fresh sandbox process with identical books and 50 ms of latency on every API
request, and is checked afterwards: the sandbox ledger holds each of the 500 invoices exactly
once and nothing else; for the product, every marked row of the saved workbook starts with
"Tamamlandı". Times are medians over the runs; prints a table, asserts nothing else.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Clock,
    SandboxProcess,
    median,
    peak_mb,
    run_measurement,
    run_python,
    time_phases,
)

VAULT_BY_CURRENCY = {"TRY": "Merkez Kasa", "USD": "Garanti BBVA USD", "EUR": "İş Bankası EUR"}
COLLECTABLE = ("Onaylandı", "GİB'e Gönderildi", "Gönderime Hazır")


# -- preparing the workbook (once) ----------------------------------------------------------------


def prepare(folder: Path, rows: int, marked: int) -> tuple[Path, list[tuple[int, int]]]:
    """A fetched workbook of ``rows`` sale invoices with ``marked`` open rows marked; the
    (document id, vault id) pairs the baseline sends."""
    from kolaybi_xl.workbook import layout
    from kolaybi_xl.workbook.xlsx_patch import PatchGrid

    book = folder / "marked.xlsx"
    with SandboxProcess(sales=rows) as sb:
        run_python(["-m", "kolaybi_xl", "fetch", str(book), "--type", "sale_invoice"], sb.env())
    with PatchGrid.open(book) as grid:
        block = grid.read(layout.INVOICES)
        header_index = layout.INVOICE_HEADER_ROW - 1
        header = [str(h) for h in block[header_index]]
        col = {h: header.index(h) for h in header if h}
        vault_ids = {row[1]: int(row[0]) for row in grid.read(layout.VAULTS)[1:] if row and row[0]}
        pairs: list[tuple[int, int]] = []
        for offset, row in enumerate(block[header_index + 1 :]):
            if len(pairs) >= marked:
                break
            currency = row[col["Para Birimi"]]
            remaining = row[col["Kalan"]] or 0
            if remaining <= 0 or row[col["Belge Durumu"]] not in COLLECTABLE:
                continue
            vault = VAULT_BY_CURRENCY[currency]
            sheet_row = layout.INVOICE_HEADER_ROW + 1 + offset
            grid.write(layout.INVOICES, sheet_row, col["Tahsil Et"] + 1, [["x", vault]])
            pairs.append((int(row[col["Belge ID"]]), vault_ids[vault]))
        grid.save()
    if len(pairs) < marked:
        raise SystemExit(f"only {len(pairs)} open rows to mark")
    return book, pairs


# -- the cases (each in a fresh interpreter) ------------------------------------------------------


def case_loop(url: str, channel: str, key: str, pairs_file: Path) -> dict[str, Any]:
    import requests

    pairs = json.loads(pairs_file.read_text())
    clock = Clock()
    headers = {"Channel": channel}
    token = requests.post(
        f"{url}/access_token", json={"api_key": key}, headers=headers, timeout=60
    ).json()["data"]
    headers["Authorization"] = f"Bearer {token}"
    failed = 0
    for document_id, vault_id in pairs:
        answer = requests.post(
            f"{url}/invoices/proceed",
            data={"document_id": document_id, "vault_id": vault_id},
            headers=headers,
            timeout=60,
        )
        failed += not answer.json().get("success")
    wall, cpu = clock.read()
    return {"wall": wall, "cpu": cpu, "failed": failed, "peak_mb": peak_mb()}


def case_api(url: str, channel: str, key: str, pairs_file: Path) -> dict[str, Any]:
    """The pure API time: a token, then the proceeds on 4 threads."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    pairs = json.loads(pairs_file.read_text())
    clock = Clock()
    headers = {"Channel": channel}
    token = requests.post(
        f"{url}/access_token", json={"api_key": key}, headers=headers, timeout=60
    ).json()["data"]
    headers["Authorization"] = f"Bearer {token}"
    local = threading.local()

    def send(pair: tuple[int, int]) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        answer = local.session.post(
            f"{url}/invoices/proceed",
            data={"document_id": pair[0], "vault_id": pair[1]},
            headers=headers,
            timeout=60,
        )
        return int(not answer.json().get("success"))

    with ThreadPoolExecutor(4) as pool:
        failed = sum(pool.map(send, pairs))
    wall, cpu = clock.read()
    return {"wall": wall, "cpu": cpu, "failed": failed, "peak_mb": peak_mb()}


def case_collect(book: Path, concurrency: int) -> dict[str, Any]:
    import dataclasses

    from kolaybi_xl import cli
    from kolaybi_xl.jobs.collect import job, run
    from kolaybi_xl.workbook import layout
    from kolaybi_xl.workbook.xlsx_file import FileGrid
    from kolaybi_xl.workbook.xlsx_patch import PatchGrid

    phases: dict[str, float] = {}

    def timed(owner: Any, name: str, label: str) -> None:
        time_phases(phases, owner, name, label)

    # run.py imports its steps by name: they are timed where run_marked looks them up.
    timed(FileGrid, "open", "open")
    timed(PatchGrid, "open", "open")
    timed(run, "_read_table", "read")  # the whole invoice table (calamine or openpyxl)
    timed(run, "_recover", "recover")
    timed(run, "_send_all", "send")
    timed(run, "_write_rows", "write")
    timed(run, "_append_log", "write")
    timed(PatchGrid, "_patched", "save")  # the fast path's new bytes; FileGrid.save writes them
    timed(FileGrid, "save", "save")
    # The plan step is a field of the frozen COLLECT_STEPS that job.py imported.
    holder = type("Plan", (), {"plan": staticmethod(job.COLLECT_STEPS.plan)})
    timed(holder, "plan", "plan")
    job.COLLECT_STEPS = dataclasses.replace(job.COLLECT_STEPS, plan=holder.plan)

    clock = Clock()
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        code = cli.main(["collect", str(book), "--yes", "--concurrency", str(concurrency)])
    wall, cpu = clock.read()
    measured = dict(phases)
    measured["other"] = wall - sum(measured.values())
    if code != 0:
        raise SystemExit(f"kolaybi-xl collect exited {code}: {printed.getvalue()[-2000:]}")
    with PatchGrid.open(book, for_writing=False) as grid:
        block = grid.read(layout.INVOICES)
    header = [str(h) for h in block[layout.INVOICE_HEADER_ROW - 1]]
    mark, outcome = header.index("Tahsil Et"), header.index("Tahsilat Durumu")
    outcomes = [
        str(row[outcome] or "")
        for row in block[layout.INVOICE_HEADER_ROW :]
        if len(row) > mark and row[mark] == "x"
    ]
    return {
        "wall": wall,
        "cpu": cpu,
        "marked": len(outcomes),
        "done": sum(1 for text in outcomes if text.startswith("Tamamlandı")),
        "peak_mb": peak_mb(),
        "phases": measured,
    }


# -- the driver -----------------------------------------------------------------------------------


def check_ledger(sb: SandboxProcess, pairs: list[tuple[int, int]]) -> str:
    """'ok' when every planned invoice is in the ledger exactly once and nothing else is."""
    counts = Counter(entry["document_id"] for entry in sb.ledger() if not entry.get("undone"))
    wanted = {document_id for document_id, _ in pairs}
    twice = sorted(d for d, n in counts.items() if n > 1)
    missing = sorted(wanted - set(counts))
    extra = sorted(set(counts) - wanted)
    if twice or missing or extra:
        return f"FAILED: twice {twice[:5]}, missing {missing[:5]}, unexpected {extra[:5]}"
    return "ok"


PATHS = {"fast": "1", "openpyxl": "0"}


def measure(
    rows: int,
    marked: int,
    latency: float,
    runs: int,
    concurrencies: list[int],
    paths: tuple[str, ...] = ("fast", "openpyxl"),
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "rows": rows,
        "marked": marked,
        "latency": latency,
        "runs": runs,
        "cases": {},
    }
    with tempfile.TemporaryDirectory(prefix="kolaybi-bench-collect-") as name:
        folder = Path(name)
        book, pairs = prepare(folder, rows, marked)
        pairs_file = folder / "pairs.json"
        pairs_file.write_text(json.dumps(pairs))
        cases = ["loop", "api"] + [f"{p}-{n}" for n in concurrencies for p in paths]
        for run in range(runs):
            for case in cases if run % 2 == 0 else reversed(cases):
                with SandboxProcess(sales=rows, latency=latency) as sb:
                    if case in ("loop", "api"):
                        args = [__file__, "--case", case, "--pairs", str(pairs_file)]
                        args += ["--url", sb.url, "--channel", sb.channel, "--key", sb.api_key]
                        env = sb.env()
                    else:
                        path, n = case.split("-")
                        copy = folder / f"run-{run}-{case}.xlsx"
                        shutil.copyfile(book, copy)
                        args = [__file__, "--case", "collect", "--book", str(copy)]
                        args += ["--concurrency", n]
                        env = {
                            **sb.env(),
                            "KOLAYBI_XL_JOURNAL": str(folder / f"{run}-{case}.jsonl"),
                            "KOLAYBI_XL_FAST": PATHS[path],
                        }
                    result = run_measurement(args, env)
                    result["ledger"] = check_ledger(sb, pairs)
                results["cases"].setdefault(case, []).append(result)
    return results


def _wall(runs: list[dict[str, Any]]) -> float:
    return median([r["wall"] for r in runs])


def summarise(results: dict[str, Any]) -> list[tuple[str, str]]:
    cases = results["cases"]
    loop = _wall(cases["loop"])
    api = _wall(cases["api"])
    rows: list[tuple[str, str]] = [
        ("baseline: sequential requests.post loop, s", f"{loop:.2f}"),
        ("  exactly once in the ledger", _verdicts(cases["loop"])),
        ("pure API: token + the proceeds on 4 threads, s", f"{api:.2f}"),
        ("  exactly once in the ledger", _verdicts(cases["api"])),
    ]
    for case, runs in cases.items():
        if case in ("loop", "api"):
            continue
        path, n = case.split("-")
        wall = _wall(runs)
        done = min(r["done"] for r in runs)
        api_part = median(
            [sum(r["phases"].get(p, 0.0) for p in ("recover", "plan", "send")) for r in runs]
        )
        files = median(
            [sum(r["phases"].get(p, 0.0) for p in ("open", "read", "save")) for r in runs]
        )
        rows += [
            (f"kolaybi-xl collect, {path} path, concurrency {n}, s", f"{wall:.2f}"),
            ("  x the pure API time", f"{wall / api:.2f}x"),
            ("  speed-up over the loop", f"{loop / wall:.2f}x"),
            ("  peak memory, MB", f"{median([r['peak_mb'] for r in runs]):.0f}"),
            ("  of which workbook open + read + save, s", f"{files:.2f}"),
            ("  API part (recover + plan + send), s", f"{api_part:.2f}"),
            ("  exactly once in the ledger", _verdicts(runs)),
            ("  rows saying Tamamlandı", f"{done}/{runs[0]['marked']}"),
        ]
        phases = runs[0]["phases"].keys()
        parts = ", ".join(
            f"{p} {median([r['phases'][p] for r in runs]):.2f}" for p in phases if p != "other"
        )
        rows.append(("  phases, s", parts))
    return rows


def _verdicts(runs: list[dict[str, Any]]) -> str:
    bad = [r["ledger"] for r in runs if r["ledger"] != "ok"]
    return "yes, every run" if not bad else bad[0]


def print_table(results: dict[str, Any], file: Any = sys.stdout) -> None:
    print(
        f"collect {results['marked']} marked rows of a {results['rows']:,}-row workbook, "
        f"{results['latency'] * 1000:.0f} ms API latency (median of {results['runs']} runs)",
        file=file,
    )
    for label, value in summarise(results):
        print(f"  {label:48} {value}", file=file)


# The issue's table: (rows, marked) at one latency, concurrency 4.
TABLE_CASES = ((10_000, 200), (50_000, 200), (10_000, 2_000))


def print_issue_table(all_results: list[dict[str, Any]], file: Any = sys.stdout) -> None:
    print(
        "| collect, rows / marked / latency | fast path | openpyxl path | docs' loop | pure API "
        "| fast / API | openpyxl / API |",
        file=file,
    )
    print("|---|---|---|---|---|---|---|", file=file)
    for results in all_results:
        cases = results["cases"]
        api = _wall(cases["api"])
        fast, slow = cases.get("fast-4"), cases.get("openpyxl-4")

        def cell(runs: list[dict[str, Any]] | None) -> str:
            if not runs:
                return "-"
            return f"{_wall(runs):.1f} s ({median([r['peak_mb'] for r in runs]):.0f} MB)"

        def ratio(runs: list[dict[str, Any]] | None, api: float = api) -> str:
            return f"{_wall(runs) / api:.2f}x" if runs else "-"

        label = (
            f"{results['rows'] // 1000}k / {results['marked']:,} / "
            f"{results['latency'] * 1000:.0f} ms"
        )
        print(
            f"| {label} | {cell(fast)} | {cell(slow)} | {_wall(cases['loop']):.1f} s "
            f"| {api:.1f} s | {ratio(fast)} | {ratio(slow)} |",
            file=file,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--marked", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--paths", nargs="+", default=["fast", "openpyxl"], choices=list(PATHS))
    parser.add_argument(
        "--table", action="store_true", help="the issue's table: 200/10k, 200/50k, 2,000/10k"
    )
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--case", choices=["loop", "api", "collect"], help=argparse.SUPPRESS)
    parser.add_argument("--pairs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--book", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--channel", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.case in ("loop", "api"):
        case = case_loop if args.case == "loop" else case_api
        print(json.dumps(case(args.url, args.channel, args.key, args.pairs)))
        return
    if args.case == "collect":
        print(json.dumps(case_collect(args.book, args.concurrency[0])))
        return
    paths = tuple(args.paths)
    if args.table:
        every = []
        for rows, marked in TABLE_CASES:
            every.append(measure(rows, marked, args.latency, args.runs, [4], paths))
            print_table(every[-1])
        print_issue_table(every)
        if args.json:
            args.json.write_text(json.dumps(every, indent=1))
        return
    results = measure(args.rows, args.marked, args.latency, args.runs, args.concurrency, paths)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

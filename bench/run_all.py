"""Every benchmark in one run, one combined report (the numbers of the README's Performance).

    python bench/run_all.py            # full sizes: ~10 minutes on 2 cores
    python bench/run_all.py --quick    # small sizes, one run each: ~1 minute

Sections: fetch against a plain requests + openpyxl script (1k / 10k / 50k invoices: time,
peak memory, phases, a cProfile of the 10k case), collect against the docs' sequential loop
(500 of 20,000 rows at 50 ms latency), the xlwings backend's Excel calls (10 / 1k / 50k
rows), the list answer's decoding (10k / 50k invoices) and the openpyxl backend's own phases
(20,000 rows). Each measurement runs in a fresh interpreter; the sandbox runs in a process of
its own. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_collect  # noqa: E402
import bench_fetch  # noqa: E402


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 76 - len(title)), flush=True)


def run_script(name: str, *args: str) -> None:
    out = subprocess.run(
        [sys.executable, str(HERE / name), *args],
        check=True,
        capture_output=True,
        text=True,
    )
    print(out.stdout.rstrip(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    args = parser.parse_args()
    quick = args.quick
    started = time.perf_counter()
    import openpyxl
    import requests

    print(
        f"kolaybi-xl benchmarks{' (quick)' if quick else ''}: Python {platform.python_version()}, "
        f"openpyxl {openpyxl.__version__}, requests {requests.__version__}, "
        f"{platform.machine()}, {_cores()} cores"
    )

    section("fetch: kolaybi-xl fetch vs requests + json + openpyxl")
    sizes = [1_000, 5_000] if quick else [1_000, 10_000, 50_000]
    profile = None if quick else 10_000
    fetch = bench_fetch.measure(sizes, 1 if quick else 3, profile)
    bench_fetch.print_table(fetch)
    if profile is not None:
        path = fetch["by_size"][profile]["profile"]
        print(
            f"\n  where the product spends its time at {profile:,} invoices "
            "(cProfile, top 15 by cumulative time):"
        )
        bench_fetch.print_profile_head(path)

    section("collect: kolaybi-xl collect vs the docs' sequential requests.post loop")
    if quick:
        collect = bench_collect.measure(2_000, 100, 0.05, 1, [4, 8])
    else:
        collect = bench_collect.measure(20_000, 500, 0.05, 3, [4, 8])
    bench_collect.print_table(collect)

    section("xlwings backend: Excel calls per refresh")
    run_script("bench_excel_calls.py", *(["10", "1000"] if quick else ["10", "1000", "50000"]))

    section("the invoice list answer's decoding: json alone vs json_or_none (orjson)")
    run_script("bench_json.py", "--sizes", *(["2000"] if quick else ["10000", "50000"]))

    section("openpyxl backend (FileGrid) phases")
    run_script("bench_filegrid.py", "--rows", "2000" if quick else "20000")

    print(f"\n(all benchmarks: {time.perf_counter() - started:.0f} s)")


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    main()

"""The speed issue's tables in one run: collect (200 of 10k, 200 of 50k, 2,000 of 10k rows at
50 ms) and fetch (a new 10k workbook, a refresh of a 50k one), each through the fast path and
the openpyxl path (``KOLAYBI_XL_FAST=0``), beside the pure API time and the plain baseline.

    python bench/bench_issue.py             # one run per case: ~10 minutes on 2 cores
    python bench/bench_issue.py --runs 3    # medians of 3
    python bench/bench_issue.py --only fetch

Every measurement runs in a fresh interpreter (see ``bench_collect`` and ``bench_fetch``).
Prints the two tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_collect
import bench_fetch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--only", choices=["collect", "fetch"])
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    raw: dict[str, object] = {}
    if args.only != "fetch":
        every = []
        for rows, marked in bench_collect.TABLE_CASES:
            every.append(bench_collect.measure(rows, marked, args.latency, args.runs, [4]))
        raw["collect"] = every
    if args.only != "collect":
        raw["fetch"] = fetch = bench_fetch.measure_issue_table(args.runs)
    if "collect" in raw:
        print("collect, default concurrency (4):")
        bench_collect.print_issue_table(every)
        print()
    if "fetch" in raw:
        print("fetch:")
        bench_fetch.print_issue_table(fetch)
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1, default=str))


if __name__ == "__main__":
    main()

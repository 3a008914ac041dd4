"""Decoding the sale invoice list answer: ``json`` alone (before) against ``json_or_none`` now
(orjson where it reads exactly the same), and the cost of the guard in front of orjson.

    python bench/bench_json.py [--sizes 10000 50000] [--runs 5]

The body is the sandbox's own list answer for a seeded book of N sale invoices. Both paths run
in this one process, alternately, with the cyclic collector paused as the client pauses it
around a listing; the best and the median of the runs are printed. Peak memory: each path once
more in a fresh interpreter (its peak and what stays, over the memory before decoding).
Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from _common import peak_mb, rss_mb, run_measurement, sale_books

from kolaybi_xl.api import fast_json
from kolaybi_xl.api.http import has_lone_surrogate, json_or_none
from kolaybi_xl.sandbox.render import invoice_item
from kolaybi_xl.sandbox.wire import dumps


def list_answer(sales: int) -> bytes:
    """What ``GET /invoices?type=sale_invoice`` answers for ``sales`` invoices (no paging)."""
    records = sale_books(sales).invoice_records("sale_invoice")
    return b'{"success":true,"data":[' + b",".join(dumps(invoice_item(r)) for r in records) + b"]}"


def response(raw: bytes) -> requests.Response:
    answer = requests.Response()
    answer.status_code = 200
    answer._content = raw
    answer.headers["Content-Type"] = "application/json"
    return answer


def before(answer: requests.Response) -> Any:
    """``json_or_none`` before orjson, for a body without a charset."""
    body = json.loads(answer.content)
    return body, has_lone_surrogate(answer.content)


_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_REGEX = re.compile(rb"[0-9]{19}")


def guards(raw: bytes) -> dict[str, Callable[[], Any]]:
    """The ways to find a run of 19 digits that were weighed (the first is the one used)."""
    return {
        "translate in 32 KB pieces + find (used)": lambda: fast_json.has_long_digit_run(raw),
        "translate the whole body + find": lambda: b"0" * 19 in raw.translate(_DIGITS),
        "regex [0-9]{19}": lambda: _REGEX.search(raw) is not None,
    }


def timed(work: Callable[[], Any]) -> float:
    gc.disable()  # as the client's ``paused_gc`` around a listing
    try:
        started = time.perf_counter()
        value = work()
        seconds = time.perf_counter() - started
    finally:
        gc.enable()
    del value  # freeing the answer's objects is not decoding
    return seconds


def measure(sales: int, runs: int) -> None:
    raw = list_answer(sales)
    answer = response(raw)
    assert fast_json.loads(raw) is not fast_json.MISS  # the fast path, not its fallback
    assert json_or_none(answer) == json.loads(raw)
    print(f"\n{sales:,} sale invoices: a {len(raw) / 1e6:.1f} MB answer")
    paths = {
        "before: json.loads + lone-surrogate scan": lambda: before(answer),
        "now: json_or_none (guard + orjson)": lambda: json_or_none(answer),
        "  of which the guard": lambda: fast_json.has_long_digit_run(raw),
        "  of which orjson, a piece at a time": lambda: fast_json._decode(raw),
        "(orjson.loads of the whole body at once)": lambda: fast_json.orjson.loads(raw),
    }
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(runs):
        for name, work in paths.items():
            times[name].append(timed(work))
    for name, seconds in times.items():
        print(
            f"  {name:44s} best {min(seconds):6.3f} s   median {statistics.median(seconds):6.3f} s"
        )
    old, new = (min(times[name]) for name in list(paths)[:2])
    print(f"  now / before (best of {runs}): {new / old:.2f}")
    print("  guards weighed (best of 3):")
    for name, work in guards(raw).items():
        print(f"    {name:42s} {min(timed(work) for _ in range(3)) * 1000:7.1f} ms")
    with tempfile.TemporaryDirectory() as folder:
        body = Path(folder) / "answer.json"
        body.write_bytes(raw)
        print("  memory over the body alone, MB (fresh interpreter each):")
        for case in ("before", "now"):
            got = run_measurement([__file__, "--case", case, "--body", str(body)])
            print(f"    {case:7s} peak {got['peak']:6.0f}   kept {got['kept']:6.0f}")


def case_memory(case: str, body: Path) -> None:
    """One decoding in this fresh interpreter: its peak and kept memory over the start."""
    answer = response(body.read_bytes())
    start = rss_mb()
    gc.disable()
    value = before(answer) if case == "before" else json_or_none(answer)
    print(json.dumps({"peak": peak_mb() - start, "kept": rss_mb() - start, "ok": bool(value)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--case", choices=["before", "now"], help=argparse.SUPPRESS)
    parser.add_argument("--body", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        case_memory(args.case, args.body)
        return
    for sales in args.sizes:
        measure(sales, args.runs)


if __name__ == "__main__":
    main()

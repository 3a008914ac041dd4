"""Fetch N sales invoices into a new workbook: kolaybi-xl against what a user would write by hand.

    python bench/bench_fetch.py                    # 1,000 / 10,000 / 50,000 invoices, 3 runs each
    python bench/bench_fetch.py --sizes 1000 5000 --runs 1
    python bench/bench_fetch.py --profile 10000    # also cProfile the product at that size

Both sides talk to the same sandbox (its own process, every invoice pre-rendered, no latency):

- **baseline**: plain ``requests`` — ``POST /access_token``, ``GET /invoices?type=sale_invoice``,
  ``json.loads`` — then openpyxl writes the same 22 columns with the same value types (dates as
  dates, amounts as numbers, text as text, the same Turkish labels) row by row with
  ``ws.append`` and saves. It strips the control characters openpyxl refuses (the sandbox seeds
  some on purpose; without that the plain script crashes) and does nothing else: no formats, no
  formula-safety, no merge with what is already in the workbook.
- **product**: ``kolaybi-xl fetch BOOK.xlsx --type sale_invoice``, run through ``cli.main`` in
  the measuring interpreter (a new workbook from the template, invoices and vaults, formats,
  dropdowns, atomic save).

Every run is its own fresh interpreter, so "peak" is that run's max RSS (``ru_maxrss``); "start"
is the RSS after imports, before any work. Times are medians over the runs, baseline and product
alternating. The product's phases come from timers around the grid and client calls.
Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import pstats
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ROOT,
    Clock,
    SandboxProcess,
    median,
    peak_mb,
    rss_mb,
    run_measurement,
    time_phases,
)

RESULTS = ROOT / "bench" / "results"
DEFAULT_SIZES = (1_000, 10_000, 50_000)


# -- the two cases (each runs in a fresh interpreter) ---------------------------------------------


def case_baseline(url: str, channel: str, key: str, out: Path) -> dict[str, Any]:
    import datetime as dt

    import openpyxl
    import requests
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from kolaybi_xl.workbook import layout

    start_mb = rss_mb()
    clock = Clock()
    headers = {"Channel": channel}
    answer = requests.post(
        f"{url}/access_token", json={"api_key": key}, headers=headers, timeout=60
    )
    headers["Authorization"] = "Bearer " + answer.json()["data"]
    answer = requests.get(
        f"{url}/invoices", params={"type": "sale_invoice"}, headers=headers, timeout=600
    )
    items = json.loads(answer.content)["data"]
    download = clock.read()[0]

    def day(text: str | None) -> dt.date | None:
        return dt.datetime.fromisoformat(text).date() if text else None

    def clean(value: Any) -> Any:
        return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value

    payment_labels = layout.PAYMENT_STATUS_LABELS
    doc_labels = layout.DOC_STATUS_LABELS
    edoc_labels = layout.E_DOCUMENT_STATUS_LABELS
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = layout.INVOICES
    sheet.append([c.header for c in layout.INVOICE_COLUMNS])
    for item in items:
        head, total = item["header"], item["total"]
        plan = item.get("payment_plan") or {}
        status = (item.get("commercial_doc_status") or {}).get("value")
        payment = plan.get("payment_status_value")
        edoc = item.get("e_document_status")
        row = [
            item["commercial_doc_id"],
            head.get("serial_no"),
            day(head.get("issue_date")),
            day(head.get("due_date")),
            head["associate"].get("full_name"),
            head["associate"].get("identity_no"),
            (item.get("currency") or "").upper(),
            total.get("subtotal"),
            total.get("total_vat"),
            total.get("grand_total"),
            plan.get("total_paid"),
            plan.get("total_remaining"),
            payment_labels.get(payment, payment),
            None,  # Tahsil Et
            None,  # Kasa/Banka
            None,  # Tahsilat Durumu
            None,  # Tahsilat Zamanı
            (item.get("commercial_doc_type") or {}).get("description"),
            doc_labels.get(status, status),
            edoc_labels.get(edoc, edoc),
            head.get("description"),
            ", ".join(tag["name"] for tag in item.get("tags") or []),
        ]
        sheet.append([clean(value) for value in row])
    write = clock.read()[0] - download
    workbook.save(out)
    wall, cpu = clock.read()
    return {
        "wall": wall,
        "cpu": cpu,
        "download": download,
        "write": write,
        "save": wall - download - write,
        "rows": len(items),
        "start_mb": start_mb,
        "peak_mb": peak_mb(),
        "bytes": out.stat().st_size,
    }


def case_product(out: Path, profile: Path | None = None) -> dict[str, Any]:
    from kolaybi_xl import cli, template  # noqa: F401 - imported before the clock, as openpyxl
    from kolaybi_xl.api.client import KolayBiClient  # and requests are for the baseline
    from kolaybi_xl.jobs import fetch  # noqa: F401
    from kolaybi_xl.workbook.xlsx_file import FileGrid
    from kolaybi_xl.workbook.xlsx_patch.grid import PatchGrid
    from kolaybi_xl.workbook.xlsx_stream import StreamGrid

    phases: dict[str, float] = {}

    def timed(owner: Any, name: str, label: str) -> None:
        time_phases(phases, owner, name, label)

    if profile is None:  # timers would show up in the profile; the profile has its own
        timed(KolayBiClient, "_exchange", "download")  # every request: HTTP + JSON
        timed(KolayBiClient, "_parse", "parse")  # the models (vaults; odd invoices)
        timed(FileGrid, "open", "open")
        timed(FileGrid, "write", "write")
        timed(FileGrid, "format_table", "format")
        timed(FileGrid, "save", "save")
        timed(StreamGrid, "write", "write")  # the streaming path's own (nested time: the header)
        timed(StreamGrid, "format_table", "format")
        timed(PatchGrid, "open", "open")  # a refresh's fast path
        timed(PatchGrid, "write", "write")
        timed(PatchGrid, "format_table", "format")
        timed(PatchGrid, "save", "save")

    start_mb = rss_mb()
    profiler = cProfile.Profile() if profile is not None else None
    clock = Clock()
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        if profiler is not None:
            profiler.enable()
        code = cli.main(["fetch", str(out), "--type", "sale_invoice"])
        if profiler is not None:
            profiler.disable()
    wall, cpu = clock.read()
    measured = dict(phases)  # before the check below opens the workbook again
    if code != 0:
        raise SystemExit(f"kolaybi-xl fetch exited {code}: {printed.getvalue()}")
    if profiler is not None and profile is not None:
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("cumulative").print_stats(15)
        stats.sort_stats("tottime").print_stats(15)
        profile.write_text(text.getvalue())
    from kolaybi_xl.workbook.xlsx_patch import PatchGrid

    with PatchGrid.open(out, for_writing=False) as grid:  # calamine: quick for 50k rows
        rows = len(grid.read("Faturalar")) - 6
    measured["other"] = wall - sum(measured.values())
    return {
        "wall": wall,
        "cpu": cpu,
        "rows": rows,
        "start_mb": start_mb,
        "peak_mb": peak_mb(),
        "bytes": out.stat().st_size,
        "phases": measured,
    }


# -- the driver -----------------------------------------------------------------------------------


def measure(sizes: list[int], runs: int, profile_size: int | None) -> dict[str, Any]:
    """Every size, ``runs`` times each side in fresh interpreters; medians and raw runs."""
    results: dict[str, Any] = {"sizes": sizes, "runs": runs, "by_size": {}}
    with tempfile.TemporaryDirectory(prefix="kolaybi-bench-fetch-") as folder:
        for size in sizes:
            raw: dict[str, list[dict[str, Any]]] = {"baseline": [], "product": []}
            with SandboxProcess(sales=size) as sb:
                for run in range(runs):
                    order = ("baseline", "product") if run % 2 == 0 else ("product", "baseline")
                    for case in order:
                        out = Path(folder) / f"{case}-{size}-{run}.xlsx"
                        args = [__file__, "--case", case, "--out", str(out)]
                        if case == "baseline":
                            args += ["--url", sb.url, "--channel", sb.channel, "--key", sb.api_key]
                        raw[case].append(run_measurement(args, env=sb.env()))
                        out.unlink(missing_ok=True)
                profile_file = None
                if profile_size == size:
                    RESULTS.mkdir(parents=True, exist_ok=True)
                    profile_file = RESULTS / f"fetch_profile_{size}.txt"
                    out = Path(folder) / "profiled.xlsx"
                    run_measurement(
                        [
                            __file__,
                            "--case",
                            "product",
                            "--out",
                            str(out),
                            "--profile-to",
                            str(profile_file),
                        ],
                        env=sb.env(),
                    )
            results["by_size"][size] = {
                "raw": raw,
                "profile": str(profile_file) if profile_file else None,
            }
    return results


def summarise(results: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Table rows: (label, one cell per size)."""
    sizes = results["sizes"]
    by_size = results["by_size"]

    def med(size: int, case: str, key: str, sub: str | None = None) -> float:
        runs = by_size[size]["raw"][case]
        return median([(r[key][sub] if sub else r[key]) for r in runs])

    def growth(size: int, case: str) -> float:
        return med(size, case, "peak_mb") - med(size, case, "start_mb")

    def row(label: str, fn: Any, fmt: str) -> tuple[str, list[str]]:
        return label, [format(fn(size), fmt) for size in sizes]

    rows = [
        row("rows written (product)", lambda s: med(s, "product", "rows"), ",.0f"),
        row("baseline: requests + openpyxl, s", lambda s: med(s, "baseline", "wall"), ".2f"),
        row("kolaybi-xl fetch, s", lambda s: med(s, "product", "wall"), ".2f"),
        row(
            "ratio product/baseline (wall)",
            lambda s: med(s, "product", "wall") / med(s, "baseline", "wall"),
            ".2f",
        ),
        row(
            "ratio product/baseline (CPU)",
            lambda s: med(s, "product", "cpu") / med(s, "baseline", "cpu"),
            ".2f",
        ),
        row("peak memory baseline, MB", lambda s: med(s, "baseline", "peak_mb"), ".0f"),
        row("peak memory product, MB", lambda s: med(s, "product", "peak_mb"), ".0f"),
        row("  baseline: peak over start, MB", lambda s: growth(s, "baseline"), ".0f"),
        row("  product: peak over start, MB", lambda s: growth(s, "product"), ".0f"),
        row(
            "  product: MB per 1k rows over start", lambda s: growth(s, "product") / s * 1000, ".1f"
        ),
        row("baseline: download+json, s", lambda s: med(s, "baseline", "download"), ".2f"),
        row("baseline: append rows, s", lambda s: med(s, "baseline", "write"), ".2f"),
        row("baseline: save, s", lambda s: med(s, "baseline", "save"), ".2f"),
    ]
    for label, key in (
        ("download (HTTP + json), + vaults", "download"),
        ("parse (pydantic models, not the stream)", "parse"),
        ("open (new from template)", "open"),
        ("write cells", "write"),
        ("format table", "format"),
        ("save (openpyxl + atomic)", "save"),
        ("everything else", "other"),
    ):
        rows.append(
            row(
                f"product: {label}, s",
                lambda s, key=key: med(s, "product", "phases", key),
                ".2f",
            )
        )
    return rows


# -- the issue's table: a new 10k workbook and a 50k refresh, both paths ------------------------

PATHS = {"fast": "1", "openpyxl": "0"}


def measure_issue_table(
    runs: int, new_size: int = 10_000, refresh_size: int = 50_000
) -> dict[str, Any]:
    """A new workbook of ``new_size`` invoices (the plain baseline beside it) and a refresh of a
    ``refresh_size``-invoice workbook, each through both paths, ``runs`` times each."""
    found: dict[str, Any] = {"runs": runs, "new": new_size, "refresh": refresh_size, "raw": {}}
    raw = found["raw"]
    with tempfile.TemporaryDirectory(prefix="kolaybi-bench-fetch-table-") as folder:
        with SandboxProcess(sales=new_size) as sb:
            for run in range(runs):
                for case in ("baseline", "fast", "openpyxl"):
                    out = Path(folder) / f"new-{case}-{run}.xlsx"
                    args = [__file__, "--case", "baseline" if case == "baseline" else "product"]
                    args += ["--out", str(out)]
                    env = sb.env()
                    if case == "baseline":
                        args += ["--url", sb.url, "--channel", sb.channel, "--key", sb.api_key]
                    else:
                        env = {**env, "KOLAYBI_XL_FAST": PATHS[case]}
                    raw.setdefault(f"new-{case}", []).append(run_measurement(args, env=env))
                    out.unlink(missing_ok=True)
        with SandboxProcess(sales=refresh_size) as sb:
            book = Path(folder) / "fetched.xlsx"
            run_measurement([__file__, "--case", "product", "--out", str(book)], env=sb.env())
            for run in range(runs):
                for case in ("fast", "openpyxl"):
                    out = Path(folder) / f"refresh-{case}-{run}.xlsx"
                    shutil.copyfile(book, out)
                    env = {**sb.env(), "KOLAYBI_XL_FAST": PATHS[case]}
                    args = [__file__, "--case", "product", "--out", str(out)]
                    raw.setdefault(f"refresh-{case}", []).append(run_measurement(args, env=env))
                    out.unlink(missing_ok=True)
    return found


def measure_refresh(runs: int, size: int) -> dict[str, list[dict[str, Any]]]:
    """Only the refresh of a ``size``-invoice workbook, both paths, ``runs`` times each."""
    raw: dict[str, list[dict[str, Any]]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="kolaybi-bench-refresh-") as folder,
        SandboxProcess(sales=size) as sb,
    ):
        book = Path(folder) / "fetched.xlsx"
        run_measurement([__file__, "--case", "product", "--out", str(book)], env=sb.env())
        for _run in range(runs):
            for case in ("fast", "openpyxl"):
                out = Path(folder) / f"refresh-{case}.xlsx"
                shutil.copyfile(book, out)
                env = {**sb.env(), "KOLAYBI_XL_FAST": PATHS[case]}
                args = [__file__, "--case", "product", "--out", str(out)]
                raw.setdefault(case, []).append(run_measurement(args, env=env))
                out.unlink()
    return raw


def print_refresh(raw: dict[str, list[dict[str, Any]]], size: int, file: Any = sys.stdout) -> None:
    print(
        f"refresh of a {size:,}-invoice workbook (median wall, phases of the last run)", file=file
    )
    for case, runs in raw.items():
        phases = ", ".join(f"{k} {v:.1f}" for k, v in runs[-1].get("phases", {}).items())
        wall = median([r["wall"] for r in runs])
        print(f"  {case:9} {wall:6.1f} s  ({phases})", file=file)
    fast, slow = (median([r["wall"] for r in raw[c]]) for c in ("fast", "openpyxl"))
    print(f"  openpyxl / fast: {slow / fast:.2f}x", file=file)


def print_issue_table(found: dict[str, Any], file: Any = sys.stdout) -> None:
    raw = found["raw"]

    def wall(case: str) -> float:
        return median([r["wall"] for r in raw[case]])

    def per_k(case: str, rows: int) -> float:
        return median([r["peak_mb"] - r["start_mb"] for r in raw[case]]) / rows * 1000

    def cell(case: str, rows: int) -> str:
        peak = median([r["peak_mb"] for r in raw[case]])
        return f"{wall(case):.1f} s ({peak:.0f} MB, {per_k(case, rows):.1f} MB/1k rows)"

    new, refresh = found["new"], found["refresh"]
    print(f"(median of {found['runs']} runs)", file=file)
    print(
        "| fetch | fast path | openpyxl path | plain baseline | fast / baseline "
        "| openpyxl / baseline | openpyxl / fast |",
        file=file,
    )
    print("|---|---|---|---|---|---|---|", file=file)
    base = wall("new-baseline")
    print(
        f"| new workbook, {new // 1000}k invoices | {cell('new-fast', new)} "
        f"| {cell('new-openpyxl', new)} | {cell('new-baseline', new)} "
        f"| {wall('new-fast') / base:.2f}x | {wall('new-openpyxl') / base:.2f}x "
        f"| {wall('new-openpyxl') / wall('new-fast'):.2f}x |",
        file=file,
    )
    print(
        f"| refresh, {refresh // 1000}k invoices | {cell('refresh-fast', refresh)} "
        f"| {cell('refresh-openpyxl', refresh)} | - | - | - "
        f"| {wall('refresh-openpyxl') / wall('refresh-fast'):.2f}x |",
        file=file,
    )


def print_table(results: dict[str, Any], file: Any = sys.stdout) -> None:
    sizes = results["sizes"]
    title = f"fetch N sale invoices into a new workbook (median of {results['runs']} runs)"
    print(title, file=file)
    print(f"  {'':38}" + "".join(f"{s:>10,}" for s in sizes), file=file)
    for label, cells in summarise(results):
        print(f"  {label:38}" + "".join(f"{c:>10}" for c in cells), file=file)
    for size in sizes:
        profile = results["by_size"][size]["profile"]
        if profile:
            print(f"  cProfile of the product at {size:,} invoices: {profile}", file=file)


def print_profile_head(path: str, lines: int = 26) -> None:
    """The top of the cumulative listing (15 entries) of a profile file."""
    text = Path(path).read_text().splitlines()
    start = next((i for i, line in enumerate(text) if "ncalls" in line), 0)
    print("\n".join(text[start : start + 16]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=int, metavar="SIZE", help="cProfile the product")
    parser.add_argument(
        "--table", action="store_true", help="the issue's table: new 10k, refresh 50k, both paths"
    )
    parser.add_argument(
        "--refresh", type=int, metavar="SIZE", help="only a refresh of SIZE invoices, both paths"
    )
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--case", choices=["baseline", "product"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--channel", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.case == "baseline":
        print(json.dumps(case_baseline(args.url, args.channel, args.key, args.out)))
        return
    if args.case == "product":
        print(json.dumps(case_product(args.out, args.profile_to)))
        return

    if args.refresh:
        print_refresh(measure_refresh(args.runs, args.refresh), args.refresh)
        return
    if args.table:
        found = measure_issue_table(args.runs)
        print_issue_table(found)
        if args.json:
            args.json.write_text(json.dumps(found, indent=1, default=str))
        return
    if args.profile is not None and args.profile not in args.sizes:
        args.sizes.append(args.profile)
    results = measure(args.sizes, args.runs, args.profile)
    print_table(results)
    if args.profile is not None:
        profile = results["by_size"][args.profile]["profile"]
        print(f"\ncProfile, product at {args.profile:,} invoices (top 15 by cumulative time):")
        print_profile_head(profile)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()

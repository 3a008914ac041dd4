"""Timing of the openpyxl file backend on a big invoice sheet (prints a table, asserts nothing).

    python bench/bench_filegrid.py [--rows 20000] [--keep DIR]

Each phase runs in a fresh interpreter so its peak memory (max RSS) is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.grid import ColumnFormat, TableFormat, Validation
from kolaybi_xl.workbook.xlsx_file import FileGrid


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _rows(count: int) -> list[list[object]]:
    start = date(2024, 1, 1)
    rows: list[list[object]] = [[c.header for c in layout.INVOICE_COLUMNS]]
    for i in range(count):
        total = Decimal(1000 + i % 9000) + Decimal(i % 100) / 100
        rows.append(
            [
                10_000 + i,
                f"SF{2024}{i:08d}",
                start + timedelta(days=i % 365),
                start + timedelta(days=i % 365 + 30),
                f"Müşteri {i % 700} Ticaret A.Ş." if i % 50 else '=HYPERLINK("http://x","y")',
                f"{i % 10_000_000_000:010d}",
                "TRY" if i % 7 else "USD",
                (total / Decimal("1.2")).quantize(Decimal("0.01")),
                (total - total / Decimal("1.2")).quantize(Decimal("0.01")),
                total,
                Decimal(0),
                total,
                "Ödenmedi",
                "x" if i % 13 == 0 else None,
                "Ana Kasa" if i % 13 == 0 else None,
                None,
                datetime(2024, 6, 1, 12, 30) if i % 29 == 0 else None,
                "Satış Faturası",
                "Onaylandı",
                "GİB'e Gönderildi",
                f"Açıklama {i}",
                "etiket" if i % 3 else None,
            ]
        )
    return rows


def _table(data_rows: int) -> TableFormat:
    columns = [
        ColumnFormat(
            number_format=layout.NUMBER_FORMATS[c.kind],
            width=c.width,
            input=c.role is layout.Role.INPUT,
            output=c.role is layout.Role.OUTCOME,
        )
        for c in layout.INVOICE_COLUMNS
    ]
    mark = layout.INVOICE_COLUMNS.index(layout.C_MARK) + 1
    vault = layout.INVOICE_COLUMNS.index(layout.C_VAULT) + 1
    return TableFormat(
        header_row=layout.INVOICE_HEADER_ROW,
        columns=columns,
        data_rows=data_rows,
        validations=[
            Validation(mark, layout.MARK_CHOICES),
            Validation(vault, layout.VAULT_NAMES_RANGE),
        ],
        title_cells=[layout.TITLE_CELL],
    )


def phase_write(path: Path, count: int) -> dict[str, float]:
    timings: dict[str, float] = {}
    rows = _rows(count)
    started = time.perf_counter()
    grid = FileGrid.open(path, create=True)
    grid.write(layout.INVOICES, 1, 1, [[layout.TITLE]])
    grid.write(layout.INVOICES, layout.INVOICE_HEADER_ROW, 1, rows)
    timings["write"] = time.perf_counter() - started
    started = time.perf_counter()
    grid.format_table(layout.INVOICES, _table(count))
    timings["format_table"] = time.perf_counter() - started
    started = time.perf_counter()
    grid.define_name(layout.VAULT_NAMES_RANGE, layout.VAULT_NAMES_FORMULA)
    grid.save()
    timings["save"] = time.perf_counter() - started
    timings["peak_mb"] = _peak_mb()
    return timings


def phase_read(path: Path) -> dict[str, float]:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    grid = FileGrid.open(path)
    timings["open"] = time.perf_counter() - started
    started = time.perf_counter()
    rows = grid.read(layout.INVOICES)
    timings["read"] = time.perf_counter() - started
    timings["rows"] = len(rows)
    started = time.perf_counter()
    grid.write(layout.INVOICES, 7, 16, [["Tamamlandı"]] * 200)
    grid.save()
    timings["edit 200 + save"] = time.perf_counter() - started
    timings["peak_mb"] = _peak_mb()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--keep", type=Path, help="folder to keep the workbook in")
    parser.add_argument("--phase", choices=["write", "read"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase == "write":
        print(json.dumps(phase_write(args.path, args.rows)))
        return
    if args.phase == "read":
        print(json.dumps(phase_read(args.path)))
        return

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-filegrid-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench.xlsx"
    path.unlink(missing_ok=True)
    results = {}
    for phase in ("write", "read"):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--phase",
                phase,
                "--path",
                str(path),
                "--rows",
                str(args.rows),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        results[phase] = json.loads(out.stdout)

    size_mb = path.stat().st_size / (1024 * 1024)
    print(
        f"FileGrid, {args.rows:,} rows x {len(layout.INVOICE_COLUMNS)} columns, "
        f"file {size_mb:.1f} MB"
    )
    print(f"{'phase':<32} {'seconds':>8}")
    write, read = results["write"], results["read"]
    for label, key, source in (
        ("write (new workbook)", "write", write),
        ("format_table (+200 spare rows)", "format_table", write),
        ("save (atomic)", "save", write),
        ("open", "open", read),
        ("read", "read", read),
        ("write 200 outcomes + save", "edit 200 + save", read),
    ):
        print(f"{label:<32} {source[key]:>8.2f}")
    print(f"{'peak memory, write phase (MB)':<32} {write['peak_mb']:>8.0f}")
    print(f"{'peak memory, read phase (MB)':<32} {read['peak_mb']:>8.0f}")
    if not args.keep:
        path.unlink(missing_ok=True)
        folder.rmdir()


if __name__ == "__main__":
    main()

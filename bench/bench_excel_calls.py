"""How many calls into Excel the xlwings backend makes for a refresh, by number of rows.

There is no Excel here: the refresh runs through ``kolaybi_xl.excel.refresh_invoices`` on an
``ExcelGrid`` over the counting xlwings stand-in of ``tests/fakes/xlwings_fake.py`` (every
method and property of it is checked against xlwings' real signatures), with the sandbox serving
the invoices over HTTP. The type cell is set to ``Tümü`` so every seeded invoice becomes a row.

    python bench/bench_excel_calls.py            # 10, 1,000 and 50,000 rows
    python bench/bench_excel_calls.py 10 200     # other sizes

Each line is one grid operation; the count is the number of stand-in calls (COM calls on
Windows) it made. A count that does not change with the rows is what the backend promises.
Note: xlwings itself splits a write of more than 100,000 cells into chunks (one COM call per
chunk) below the one ``Range.value`` call counted here.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kolaybi_xl import excel  # noqa: E402
from kolaybi_xl.sandbox import Sandbox  # noqa: E402
from kolaybi_xl.workbook import layout  # noqa: E402


def load_stand_in() -> Any:
    spec = importlib.util.spec_from_file_location(
        "excel_stand_in", ROOT / "tests" / "fakes" / "xlwings_fake.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run(stand_in: Any, invoices: int) -> tuple[int, list[tuple[str, str, int]], float, int]:
    counting = stand_in.CountingGrid
    counting.log = []
    with Sandbox(invoices=invoices, seed=1) as sb:
        os.environ.update(
            KOLAYBI_BASE_URL=sb.url, KOLAYBI_CHANNEL=sb.channel, KOLAYBI_API_KEY=sb.api_key
        )
        book = stand_in.new_book(stand_in.Excel())
        book.put(layout.INVOICES, *layout.TYPE_CELL, layout.ALL_TYPES_LABEL)
        book.xl.calls.clear()
        started = time.perf_counter()
        excel.refresh_invoices(book)
        seconds = time.perf_counter() - started
    alert = book.app.alerts[-1]
    if alert["mode"] != "info":
        raise SystemExit(f"refresh failed: {alert['prompt']}")
    rows = len(stand_in.table_rows(book))
    return rows, list(counting.log), seconds, len(book.xl.calls)


def main(sizes: list[int]) -> None:
    stand_in = load_stand_in()
    temp = tempfile.mkdtemp(prefix="kolaybi-bench-")
    os.environ["XDG_STATE_HOME"] = temp  # the log file
    os.environ["KOLAYBI_XL_JOURNAL"] = str(Path(temp) / "journal.jsonl")
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    excel.ExcelGrid = stand_in.CountingGrid  # type: ignore[misc]

    results = [run(stand_in, n) for n in sizes]
    print(f"{'':38}" + "".join(f"{r[0]:>12,}" for r in results) + "   rows")
    ops = [(op, sheet) for op, sheet, _ in results[0][1]]
    seen: Counter[tuple[str, str]] = Counter()
    for index, (op, sheet) in enumerate(ops):
        seen[op, sheet] += 1
        label = f"{op}({sheet})" if sheet else op
        if seen[op, sheet] > 1:
            label += f" #{seen[op, sheet]}"
        counts = [r[1][index][2] if index < len(r[1]) else None for r in results]
        print(f"  {label:36}" + "".join(f"{c:>12}" for c in counts))
    print(f"  {'all Excel calls':36}" + "".join(f"{r[3]:>12,}" for r in results))
    print(f"  {'seconds (HTTP + stand-in)':36}" + "".join(f"{r[2]:>12.2f}" for r in results))
    same = all([(o, s, c) for o, s, c in r[1]] == results[0][1] for r in results)
    print("calls per operation identical for every size:", "yes" if same else "NO")


if __name__ == "__main__":
    main([int(a.replace(",", "").replace("_", "")) for a in sys.argv[1:]] or [10, 1_000, 50_000])

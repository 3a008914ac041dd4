"""The report's collections per vault and day leave out what an undo took back (read_log)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from kolaybi_xl.jobs.report.log import read_log
from kolaybi_xl.workbook import layout

HEADER = [c.header for c in layout.LOG_COLUMNS]
DAY1, DAY2 = datetime(2026, 11, 1, 10, 0), datetime(2026, 11, 2, 9, 0)


def row(at: Any, doc: Any, vault: Any, amount: Any, result: str) -> list[Any]:
    name = {1: "Merkez Kasa", 2: "Ziraat Bankası TL"}.get(vault)
    return [at, doc, "KBI", "Cari", vault, name, amount, "TRY", result, "", None]


def totals(block: list[list[Any]]) -> tuple[list[tuple[Any, ...]], int]:
    summary = read_log([HEADER, *block])
    got = [(c.day, c.vault_id, c.count, c.amount) for c in summary.collections]
    return got, summary.undone


def test_an_undo_removes_every_earlier_collection_of_its_invoice_from_its_own_day() -> None:
    got, undone = totals(
        [
            row(DAY1, 7, 1, 100, "Tamamlandı"),
            row(DAY1, 7, 2, 50, "Tamamlandı"),  # a second, partial collection of invoice 7
            row(DAY1, 8, 1, 30, "Tamamlandı"),
            row(DAY2, 7, None, -150, "Geri alındı: 150,00 TRY tahsilat geri alındı"),
            row(DAY2, 9, 1, 20, "Tamamlandı"),
        ]
    )
    assert got == [
        (DAY1.date(), 1, 1, Decimal("30.00")),
        (DAY2.date(), 1, 1, Decimal("20.00")),
    ]
    assert undone == 2


def test_an_undo_of_only_the_last_collection_leaves_the_earlier_one() -> None:
    got, undone = totals(
        [
            row(DAY1, 7, 1, 100, "Tamamlandı"),
            row(DAY1, 7, 2, 50, "Tamamlandı"),
            row(DAY2, 7, None, -50, "Geri alındı"),  # KolayBi took back only the last
        ]
    )
    assert got == [(DAY1.date(), 1, 1, Decimal("100.00"))]
    assert undone == 1


def test_collections_after_an_undo_and_failed_undos_count() -> None:
    got, undone = totals(
        [
            row(DAY1, 7, 1, 100, "Tamamlandı"),
            row(DAY1, 7, None, -100, "Hata: KolayBi reddetti"),  # not undone
            row(DAY1, 7, None, None, "Geri alındı"),  # amount unreadable: everything before
            row(DAY2, 7, 2, 100, "Tamamlandı"),  # collected again afterwards
        ]
    )
    assert got == [(DAY2.date(), 2, 1, Decimal("100.00"))]
    assert undone == 1

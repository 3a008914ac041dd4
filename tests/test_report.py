"""Özet: the report's figures, computed here independently from the sandbox's books (its
records, not the report module), compared with the cells the report wrote."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from kolaybi_xl.api import InvoiceType, KolayBiClient
from kolaybi_xl.api.models import INVOICE_TYPE_LABELS
from kolaybi_xl.jobs import report as rep
from kolaybi_xl.jobs.errors import JobError
from kolaybi_xl.jobs.fetch import NOT_LISTED, refresh_invoices
from kolaybi_xl.jobs.report import build_report, compute_report
from kolaybi_xl.jobs.table import InvoiceTable
from kolaybi_xl.sandbox import Books, InvoiceRecord, Sandbox
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.grid import BarChart, CellValue, Formula, MemoryGrid, TableFormat
from kolaybi_xl.workbook.xlsx_charts import add_bar_chart, chart_title

FETCHED_AT = datetime(2026, 11, 1, 18, 45)
NOW = datetime(2026, 11, 2, 9, 30, 15)
AS_OF_DATES = (date(2024, 1, 1), date(2025, 6, 30), date(2026, 11, 1), date(2199, 12, 31))
HOSTILE_NAME = '=HYPERLINK("http://evil.example","tıkla")'
BUCKET_NAMES = ("not due", "1-30", "31-60", "61-90", "90+", "no due date")


# -- the grid the report is written to, recording what it was handed ----------------------------


@dataclass
class RecordingGrid(MemoryGrid):
    raw: dict[tuple[str, int, int], CellValue] = field(default_factory=dict)
    tables: list[tuple[str, TableFormat]] = field(default_factory=list)

    def write(self, sheet: str, top: int, left: int, rows: Sequence[Sequence[CellValue]]) -> None:
        super().write(sheet, top, left, rows)
        for r, row in enumerate(rows, start=top):
            for c, value in enumerate(row, start=left):
                self.raw[(sheet, r, c)] = value

    def format_table(self, sheet: str, table: TableFormat) -> None:
        super().format_table(sheet, table)
        self.tables.append((sheet, table))


def copy_grid(grid: MemoryGrid, *, without: tuple[str, ...] = ()) -> RecordingGrid:
    return RecordingGrid(
        sheets={k: dict(v) for k, v in grid.sheets.items() if k not in without},
        order=[n for n in grid.order if n not in without],
    )


# -- the books: the seeded 300 invoices, plus a few chosen ones ---------------------------------


@dataclass
class World:
    sandbox: Sandbox
    grid: MemoryGrid  # Faturalar fetched (sale invoices), 2 rows "Listede yok"
    listed: list[InvoiceRecord]  # what the API lists now and the report counts, in table order
    unlisted: list[int]
    hostile_id: int
    paid_no_due_id: int


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    books = Books.seeded(invoices=300, seed=1)
    hostile = books.add_invoice(
        currency="EUR",
        grand_total="98765.43",
        associate_name=HOSTILE_NAME,
        identity_no="",
        due_date=None,
    )
    books.add_invoice(  # the same account (no VKN: the name is the key), partly paid
        currency="EUR",
        grand_total="1000.10",
        paid="400.05",
        associate_name=HOSTILE_NAME,
        identity_no="",
        due_date=date(2026, 9, 1),
    )
    paid_no_due = books.add_invoice(
        currency="USD", grand_total="321.09", paid="321.09", due_date=None
    )
    with Sandbox(books=books) as sb, KolayBiClient(sb.url, sb.channel, sb.api_key) as client:
        grid = MemoryGrid()
        refresh_invoices(grid, client, [InvoiceType.SALE_INVOICE], now=lambda: FETCHED_AT)
        # Two invoices a user typed in, then no longer listed by the API.
        header_row = next(
            i for i, row in enumerate(grid.read(layout.INVOICES), 1) if "Belge ID" in row
        )
        header = grid.read(layout.INVOICES)[header_row - 1]
        mark = header.index("Tahsil Et") + 1
        sales = books.invoice_records("sale_invoice")
        gone = [
            next(r.id for r in sales if r.remaining > 0 and r.currency == "TRY"),
            next(r.id for r in sales if r.remaining > 0 and r.currency == "USD"),
        ]
        for offset, row in enumerate(grid.read(layout.INVOICES)[header_row:]):
            if row[0] in gone:
                grid.write(layout.INVOICES, header_row + 1 + offset, mark, [["x"]])
        for doc_id in gone:
            books.update_invoice(doc_id, type="purchase_invoice")
        refresh_invoices(grid, client, [InvoiceType.SALE_INVOICE], now=lambda: FETCHED_AT)
        listed = books.invoice_records("sale_invoice")
        # The table lists them in the API's order (by id), the unlisted ones last.
        ids = [r[0] for r in grid.read(layout.INVOICES)[header_row:]]
        assert ids == [r.id for r in listed] + gone
        yield World(sb, grid, receivables(listed), gone, hostile, paid_no_due)


# -- the expected figures, from the records -----------------------------------------------------

VOID = ("cancelled", "rejected", "draft")


def receivables(records: list[InvoiceRecord]) -> list[InvoiceRecord]:
    """What the report counts: not cancelled, rejected or draft documents."""
    return [r for r in records if r.status not in VOID]


def bucket_of(record: InvoiceRecord, as_of: date) -> str:
    if record.due_date is None:
        return "no due date"
    late = as_of.toordinal() - record.due_date.toordinal()
    if late < 1:
        return "not due"
    if late < 31:
        return "1-30"
    if late < 61:
        return "31-60"
    if late < 91:
        return "61-90"
    return "90+"


def expected_totals(records: list[InvoiceRecord]) -> dict[str, tuple[Any, ...]]:
    out: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0), Decimal(0), 0])
    for r in records:
        row = out[r.currency]
        row[0] += 1
        row[1] += r.grand_total
        row[2] += r.paid
        row[3] += r.grand_total - r.paid
        row[4] += r.grand_total - r.paid > 0
    return {k: tuple(v) for k, v in out.items()}


def expected_aging(records: list[InvoiceRecord], as_of: date) -> dict[str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: dict.fromkeys(BUCKET_NAMES, Decimal(0))
    )
    for r in records:
        out[r.currency]  # every currency has a column, also with nothing outstanding
        if r.grand_total - r.paid > 0:
            out[r.currency][bucket_of(r, as_of)] += r.grand_total - r.paid
    return dict(out)


def expected_top(records: list[InvoiceRecord]) -> dict[str, list[tuple[Any, ...]]]:
    accounts: dict[tuple[str, str], dict[str, Any]] = {}
    for position, r in enumerate(records):
        left = r.grand_total - r.paid
        if left <= 0:
            continue
        key = (r.currency, r.identity_no or "name:" + r.associate_name.strip().lower())
        a = accounts.setdefault(
            key,
            {"left": Decimal(0), "n": 0, "first": position, "names": {}, "tax": r.identity_no},
        )
        a["left"] += left
        a["n"] += 1
        name = r.associate_name.strip()
        a["names"][name] = (a["names"].get(name, (0, 0))[0] + 1, position)
    out: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for (currency, _), a in sorted(
        accounts.items(), key=lambda kv: (-kv[1]["left"], kv[1]["first"])
    ):
        if len(out[currency]) < 10:
            name = max(a["names"], key=lambda n: a["names"][n])
            out[currency].append((name, a["tax"], a["left"], a["n"]))
    return dict(out)


# -- reading the sheet back ---------------------------------------------------------------------


def dec(value: Any) -> Decimal:
    assert isinstance(value, (int, float)), value
    assert not isinstance(value, bool), value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def sheet(grid: MemoryGrid) -> list[list[Any]]:
    return grid.read(layout.SUMMARY)


def find_row(grid: MemoryGrid, prefix: str, after: int = 0) -> int:
    """1-based row (below row ``after``) whose column A starts with ``prefix``."""
    for number, row in enumerate(sheet(grid), 1):
        if number > after and isinstance(row[0], str) and row[0].startswith(prefix):
            return number
    raise AssertionError(f"no row starting with {prefix!r}")


def section(grid: MemoryGrid, title: str, after: int = 0) -> list[dict[str, Any]]:
    rows = sheet(grid)
    start = find_row(grid, title, after)
    header = [h for h in rows[start] if h is not None]
    out = []
    for row in rows[start + 1 :]:
        if all(v is None for v in row):
            break
        out.append(dict(zip(header, row, strict=False)))
    return out


def notes(grid: MemoryGrid) -> list[str]:
    rows = sheet(grid)
    return [row[0] for row in rows[find_row(grid, "Notlar") :] if row[0] is not None]


def run(world: World, as_of: date, grid: RecordingGrid | None = None) -> tuple[RecordingGrid, Any]:
    grid = grid or copy_grid(world.grid)
    return grid, build_report(grid, as_of=as_of, now=lambda: NOW)


# -- the figures --------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", AS_OF_DATES)
def test_totals_per_currency_match_the_books(world: World, as_of: date) -> None:
    grid, result = run(world, as_of)
    expected = expected_totals(world.listed)
    assert set(expected) == {"TRY", "USD", "EUR"}
    rows = section(grid, "Tür ve Para Birimine Göre Toplamlar")
    got = {
        r["Para Birimi"]: (
            r["Fatura Adedi"],
            dec(r["Genel Toplam"]),
            dec(r["Ödenen"]),
            dec(r["Kalan"]),
            r["Açık Fatura Adedi"],
        )
        for r in rows
    }
    assert got == expected
    assert [r["Para Birimi"] for r in rows] == ["TRY", "EUR", "USD"]
    assert {r["Tür"] for r in rows} == {"Satış Faturası"}
    for g in result.groups:  # the figures on the result are the same, as Decimals
        assert (g.invoices, g.grand_total, g.paid, g.remaining, g.open_invoices) == expected[
            g.currency
        ]


@pytest.mark.parametrize("as_of", AS_OF_DATES)
def test_aging_matches_the_books(world: World, as_of: date) -> None:
    grid, result = run(world, as_of)
    expected = expected_aging(world.listed, as_of)
    rows = section(grid, "Vade Analizi")
    assert [r["Vade Dilimi"] for r in rows] == [*rep.BUCKETS, "Toplam"]
    for currency, buckets in expected.items():
        got = [dec(r[currency]) for r in rows]
        want = [buckets[b] for b in BUCKET_NAMES]
        assert got == [*want, sum(want)], currency
        total = sum(want)
        # a share is a fraction in the cell, shown as %74,3 (#13): compared in percent
        shares = [dec(r[f"{currency} %"]) * 100 for r in rows[:-1]]
        assert shares == [(w * 100 / total).quantize(Decimal("0.01")) for w in want]
        assert result.report.group(currency).outstanding == total
        assert (
            dict(zip(BUCKET_NAMES, result.report.group(currency).aging.values(), strict=True))
            == buckets
        )
    if as_of == AS_OF_DATES[-1]:  # far future: everything dated is over 90 days late
        assert all(dec(rows[i][c]) == 0 for i in range(4) for c in expected)
    if as_of == AS_OF_DATES[0]:  # before the books begin: nothing is late yet
        assert all(dec(rows[i][c]) == 0 for i in range(1, 5) for c in expected)


def test_top_ten_per_currency_match_the_books(world: World) -> None:
    grid, result = run(world, date(2026, 11, 1))
    expected = expected_top(world.listed)
    rows = section(grid, "En Çok Bakiyesi Olan 10 Cari")
    for currency, accounts in expected.items():
        got = [
            (r["Cari"], r["VKN/TCKN"] or "", dec(r["Kalan"]), r["Açık Fatura Adedi"])
            for r in rows
            if r["Para Birimi"] == currency
        ]
        assert got == accounts, currency
        ranks = [r["Sıra"] for r in rows if r["Para Birimi"] == currency]
        assert ranks == list(range(1, len(accounts) + 1))
    assert [r["Para Birimi"] for r in rows] == sorted(
        (r["Para Birimi"] for r in rows), key=["TRY", "EUR", "USD"].index
    )
    # the VKN/TCKN stays text with its leading zeros
    assert any(isinstance(r["VKN/TCKN"], str) and r["VKN/TCKN"].startswith("0") for r in rows)
    assert [(d.name, d.tax_id, d.remaining, d.invoices) for d in result.report.top("EUR")] == (
        expected["EUR"]
    )


def test_hostile_names_stay_text_and_nothing_is_a_formula(world: World) -> None:
    grid, _ = run(world, date(2026, 11, 1))
    eur = [r for r in section(grid, "En Çok Bakiyesi Olan 10 Cari") if r["Para Birimi"] == "EUR"]
    # the two invoices of the hostile account (keyed by name: no VKN) come first in EUR
    assert eur[0]["Cari"] == HOSTILE_NAME
    assert eur[0]["VKN/TCKN"] is None  # an empty cell (MemoryGrid reads like a file)
    assert dec(eur[0]["Kalan"]) == Decimal("98765.43") + Decimal("600.05")
    assert eur[0]["Açık Fatura Adedi"] == 2
    for (name, *_), value in grid.raw.items():
        if name == layout.SUMMARY:
            assert not isinstance(value, Formula)
    names = [v for (s, _, c), v in grid.raw.items() if s == layout.SUMMARY and c == 4]
    assert HOSTILE_NAME in names
    assert type(names[names.index(HOSTILE_NAME)]) is str
    seeded_hostile = {"=1+1", "+90 555 123 45 67", "@SUM(A1)"}
    shown = {r["Cari"] for r in section(grid, "En Çok Bakiyesi Olan 10 Cari")}
    for text in shown & seeded_hostile:
        assert text in names


def test_no_due_date_and_paid_invoices(world: World) -> None:
    _, result = run(world, date(2026, 11, 1))
    eur = result.report.group("EUR")
    usd = result.report.group("USD")
    # the hostile invoice has no due date: its whole amount is in Vadesiz
    assert eur.aging[rep.NO_DUE_DATE] >= Decimal("98765.43")
    no_due_eur = sum(
        (r.grand_total - r.paid for r in world.listed if r.currency == "EUR" and not r.due_date),
        Decimal(0),
    )
    assert eur.aging[rep.NO_DUE_DATE] == no_due_eur
    # a paid invoice without a due date: counted in the totals, never in the aging
    paid = next(r for r in world.listed if r.id == world.paid_no_due_id)
    assert paid.grand_total - paid.paid == 0
    with_paid = expected_aging(world.listed, date(2026, 11, 1))["USD"]
    without = expected_aging(
        [r for r in world.listed if r.id != world.paid_no_due_id], date(2026, 11, 1)
    )["USD"]
    assert with_paid == without
    assert usd.invoices == sum(1 for r in world.listed if r.currency == "USD")
    paid_count = sum(1 for r in world.listed if r.grand_total == r.paid)
    assert paid_count > 20
    assert sum(g.invoices - g.open_invoices for g in result.groups) == paid_count


def test_unlisted_rows_are_left_out_and_noted(world: World) -> None:
    grid, result = run(world, date(2026, 11, 1))
    statuses = [
        row for row in grid.read(layout.INVOICES) if NOT_LISTED in row and row[0] in world.unlisted
    ]
    assert len(statuses) == 2
    assert result.unlisted == 2
    assert result.report.invoices == len(world.listed)
    assert any(NOT_LISTED in n and " 2 satır" in n for n in notes(grid))
    assert "2 rows no longer listed" in result.summary("en")


def test_collections_per_vault_and_day_count_only_applied_results(world: World) -> None:
    grid = copy_grid(world.grid)
    grid.ensure_sheet(layout.COLLECTION_LOG)
    header = [c.header for c in layout.LOG_COLUMNS]

    def entry(at: Any, vault_id: Any, vault: str, amount: Any, currency: str, result: str):
        return [at, 1001, "KBI1", "Cari", vault_id, vault, amount, currency, result, "", 0.0]

    day1, day2 = datetime(2026, 11, 1, 9, 15), datetime(2026, 11, 2, 0, 10)
    rows = [
        header,
        entry(day1, 1, "Merkez Kasa", 100.1, "TRY", "Tamamlandı"),
        entry(day1.replace(hour=14), 1, "Merkez Kasa", 200.2, "TRY", "Tamamlandı (doğrulandı)"),
        entry(day1, 2, "Ziraat Bankası TL", 50, "TRY", "Tamamlandı"),
        entry(day1, 3, "Garanti BBVA USD", 10.5, "USD", "Tamamlandı"),
        entry(day1, 1, "Merkez Kasa", 999.0, "TRY", "Hata: Kasa bulunamadı"),
        entry(day1, 1, "Merkez Kasa", 999.0, "TRY", "Atlandı: kalan yok"),
        entry(day1, 1, "Merkez Kasa", 999.0, "TRY", "Belirsiz: zaman aşımı"),
        entry(day1, 1, "Merkez Kasa", 999.0, "TRY", ""),
        entry(day2, 1, "Merkez Kasa", 0.1, "TRY", "Tamamlandı"),
        entry(day2.replace(hour=23, minute=59), 1, "Merkez Kasa", 0.2, "TRY", "Tamamlandı"),
        entry("02.11.2026 10:00", 2, "Ziraat Bankası TL", "1.234,56", "TRY", "Tamamlandı"),
        entry(day2, 2, "Ziraat Bankası TL", "abc", "TRY", "Tamamlandı"),  # unreadable
        [None] * len(header),
        entry(day2, None, "=Elden", 7, "TRY", "Tamamlandı"),  # a vault known by name only
    ]
    grid.write(layout.COLLECTION_LOG, 1, 1, rows)
    _, result = run(world, date(2026, 11, 1), grid)
    got = [
        (
            r["Tarih"],
            r["Kasa ID"],
            r["Kasa/Banka"],
            r["Para Birimi"],
            r["Tahsilat Adedi"],
            dec(r["Tutar"]),
        )
        for r in section(grid, "Bu Çalışma Kitabından Yapılan Tahsilatlar")
    ]
    d1, d2 = day1.date(), day2.date()
    assert got == [
        (d1, 1, "Merkez Kasa", "TRY", 2, Decimal("300.30")),
        (d1, 2, "Ziraat Bankası TL", "TRY", 1, Decimal("50.00")),
        (d1, 3, "Garanti BBVA USD", "USD", 1, Decimal("10.50")),
        (d2, 1, "Merkez Kasa", "TRY", 2, Decimal("0.30")),
        (d2, 2, "Ziraat Bankası TL", "TRY", 1, Decimal("1234.56")),
        (d2, None, "=Elden", "TRY", 1, Decimal("7.00")),
    ]
    assert result.report.log_applied == 8
    assert result.report.log_not_applied == 4
    assert [(s.sheet, s.row) for s in result.skipped] == [(layout.COLLECTION_LOG, 13)]
    text = " ".join(notes(grid))
    assert "Tahsilat Günlüğü satır 13" in text
    assert "diğer 4 satır" in text
    assert all(isinstance(c.amount, Decimal) for c in result.collections)


# -- computing from a hand-made table -----------------------------------------------------------


def hand_table(rows: list[dict[str, Any]], *, paid_column: bool = True) -> InvoiceTable:
    headers = ["Kalan", "Cari", "Açıklama", "Vade Tarihi", "Para Birimi", "Belge ID"]
    headers += ["Genel Toplam", "VKN/TCKN", "Ödeme Durumu"] + (["Ödenen"] if paid_column else [])
    return InvoiceTable(
        header_row=3,
        header=headers,
        rows=[[r.get(h) for h in headers] for r in rows],
    )


def test_buckets_at_their_edges_and_paid_derived_when_absent() -> None:
    as_of = date(2026, 3, 31)
    late = {-5: "a", 0: "b", 1: "c", 30: "d", 31: "e", 60: "f", 61: "g", 90: "h", 91: "i"}
    rows = [
        {
            "Belge ID": 10 + i,
            "Para Birimi": "try",
            "Genel Toplam": 100.0 + i,
            "Kalan": 10.01 * (i + 1),
            "Vade Tarihi": as_of - timedelta(days=days),
            "Cari": name,
            "VKN/TCKN": None,
        }
        for i, (days, name) in enumerate(late.items())
    ]
    rows.append({"Belge ID": 99, "Para Birimi": "TRY", "Genel Toplam": 5, "Kalan": 5, "Cari": "z"})
    report = compute_report(hand_table(rows, paid_column=False), as_of=as_of)
    aging = report.group("TRY").aging
    amount = [Decimal("10.01") * (i + 1) for i in range(9)]
    assert aging == {
        rep.NOT_DUE: amount[0] + amount[1],
        rep.DAYS_1_30: amount[2] + amount[3],
        rep.DAYS_31_60: amount[4] + amount[5],
        rep.DAYS_61_90: amount[6] + amount[7],
        rep.DAYS_OVER_90: amount[8],
        rep.NO_DUE_DATE: Decimal("5.00"),
    }
    g = report.group("TRY")
    assert g.grand_total == sum(Decimal(100 + i) for i in range(9)) + 5
    assert g.paid == g.grand_total - g.remaining  # no Ödenen column: total - remaining
    assert g.remaining == sum(amount) + 5


def test_unreadable_duplicate_and_negative_rows() -> None:
    rows = [
        {"Belge ID": 1, "Para Birimi": "TRY", "Genel Toplam": 10, "Kalan": 10, "Ödenen": 0},
        {"Belge ID": 1, "Para Birimi": "TRY", "Genel Toplam": 10, "Kalan": 10, "Ödenen": 0},
        {"Belge ID": 2, "Para Birimi": "TRY", "Genel Toplam": 10, "Kalan": "abc"},
        {"Belge ID": 3, "Para Birimi": "", "Genel Toplam": 10, "Kalan": 1},
        {"Belge ID": 4, "Para Birimi": "TRY", "Genel Toplam": 10, "Kalan": 1, "Vade Tarihi": "?"},
        {"Belge ID": 5, "Para Birimi": "TRY", "Genel Toplam": 10, "Kalan": -2.5, "Ödenen": 12.5},
        {"Belge ID": 6, "Para Birimi": "TRY", "Genel Toplam": 10, "Ödenen": 4},  # Kalan from paid
        {
            "Belge ID": 7,
            "Para Birimi": "TRY",
            "Genel Toplam": 8,
            "Kalan": 8,
            "Ödeme Durumu": "Listede yok",
        },
        {},  # blank rows are not invoices
    ]
    report = compute_report(hand_table(rows), as_of=date(2026, 1, 1))
    g = report.group("TRY")
    assert (g.invoices, g.grand_total, g.paid, g.remaining) == (
        3,
        Decimal(30),
        Decimal("16.5"),
        Decimal("13.5"),
    )
    assert g.outstanding == Decimal(16)  # the overpaid invoice is not in the aging
    assert report.negative_remaining == 1
    assert report.unlisted == 1
    assert [s.row for s in report.skipped] == [5, 6, 7, 8]
    assert "satır 4" in report.skipped[0].reason
    notes = " ".join(rep.report_notes(report))
    assert "Okunamayan 4 satır" in notes
    assert "sıfırın altında" in notes


def test_every_type_is_kept_apart(world: World) -> None:
    with KolayBiClient(world.sandbox.url, world.sandbox.channel, world.sandbox.api_key) as c:
        grid = RecordingGrid()
        refresh_invoices(grid, c, list(InvoiceType), now=lambda: FETCHED_AT)
    result = build_report(grid, as_of=date(2026, 11, 1), now=lambda: NOW)
    records = receivables(world.sandbox.books.invoice_records())
    expected: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for r in records:
        key = (INVOICE_TYPE_LABELS[InvoiceType(r.type)], r.currency)
        expected[key][0] += 1
        expected[key][1] += r.grand_total - r.paid
    got = {(g.type, g.currency): [g.invoices, g.remaining] for g in result.groups}
    assert got == dict(expected)
    # Receivables and payables are blocks of their own (#13), each with its totals, its aging
    # per currency and its top ten; the chart of each side has one series per currency.
    receivable, payable = find_row(grid, "Alacaklar"), find_row(grid, "Borçlar")
    assert receivable < payable
    assert "Satış Faturası" in sheet(grid)[receivable - 1][0]
    assert "Alış Faturası" in sheet(grid)[payable - 1][0]
    rows = section(grid, "Tür ve Para Birimine Göre Toplamlar")
    rows += section(grid, "Tür ve Para Birimine Göre Toplamlar", after=payable)
    assert {(r["Tür"], r["Para Birimi"]): [r["Fatura Adedi"], dec(r["Kalan"])] for r in rows} == got
    for side, start in ((rep.RECEIVABLES, receivable), (rep.PAYABLES, payable)):
        aging_header = sheet(grid)[find_row(grid, "Vade Analizi", after=start)]
        currencies = sorted({g.currency for g in result.groups if g.side == side})
        assert sorted(h for h in aging_header if h and not h.endswith("%"))[:-1] == currencies
        for currency in currencies:
            outstanding = sum(
                (g.outstanding for g in result.groups if (g.side, g.currency) == (side, currency)),
                Decimal(0),
            )
            row = section(grid, "Vade Analizi", after=start)[-1]
            assert dec(row[currency]) == outstanding
    assert {d.side for d in result.debtors} == {rep.RECEIVABLES, rep.PAYABLES}
    charts = grid.charts[layout.SUMMARY]
    assert [c.title for c in charts] == ["Vade Analizi – Alacaklar", "Vade Analizi – Borçlar"]
    assert all(c.values[3] - c.values[1] + 1 <= 3 for c in charts)  # at most 6 series in all
    width = max(len(r) for r in sheet(grid))
    assert width <= 7  # no block wider than A:G, whatever the number of types
    # on paper, each side starts a page, printed at one size that fits each on one page
    formats = [t for s, t in grid.tables if s == layout.SUMMARY]
    assert {tuple(t.page_breaks) for t in formats} == {(payable,)}
    (scale,) = {t.print_scale for t in formats}
    assert scale is not None
    assert 30 <= scale <= 100


# -- the sheet: source, types, errors, re-runs, the chart ---------------------------------------


def test_sheet_states_as_of_source_and_times_with_typed_values(world: World) -> None:
    grid, result = run(world, date(2025, 6, 30))
    assert sheet(grid)[0][0] == "KolayBi Özet Raporu"
    info = dict(zip(sheet(grid)[2], sheet(grid)[3], strict=True))
    assert info["Rapor Tarihi"] == date(2025, 6, 30)
    assert info["Faturalar Güncellendi"] == FETCHED_AT
    assert info["Rapor Oluşturuldu"] == NOW.replace(microsecond=0)
    assert info["Kaynak"] == "Faturalar sayfası – Satış Faturası"
    assert "30.06.2025" in sheet(grid)[find_row(grid, "Vade Analizi") - 1][0]
    values = [v for (s, _, _), v in grid.raw.items() if s == layout.SUMMARY]
    assert any(isinstance(v, Decimal) for v in values)
    assert not any(isinstance(v, float) for v in values)  # amounts go out as Decimal
    counts = [r["Fatura Adedi"] for r in section(grid, "Tür ve Para Birimine Göre Toplamlar")]
    assert all(type(c) is int for c in counts)
    # every block is formatted: amounts '#,##0.00', dates as dates, names as text
    formats = [t for s, t in grid.tables if s == layout.SUMMARY]
    assert formats[0].columns[0].number_format == "dd.mm.yyyy"
    assert formats[1].columns[3].number_format == "#,##0.00"
    assert all(not t.freeze and not t.autofilter for t in formats)
    assert (1, 1) in formats[0].title_cells
    titles = {cell for t in formats for cell in t.title_cells}
    assert (find_row(grid, "Notlar"), 1) in titles
    assert result.generated_at == NOW.replace(microsecond=0)


def test_as_of_defaults_to_today(world: World) -> None:
    grid = copy_grid(world.grid)
    result = build_report(grid, now=lambda: datetime(2027, 2, 3, 4, 5, 6))
    assert result.as_of == date(2027, 2, 3)
    assert sheet(grid)[3][0] == date(2027, 2, 3)


def test_summary_lines(world: World) -> None:
    _, result = run(world, date(2026, 11, 1))
    en, tr = result.summary("en"), result.summary("tr")
    assert "\n" not in en
    assert "\n" not in tr
    assert f"as of 2026-11-01: {len(world.listed)} invoices" in en
    assert f"01.11.2026 itibarıyla): {len(world.listed)} fatura" in tr
    try_left = sum(
        (r.grand_total - r.paid for r in world.listed if r.currency == "TRY"), Decimal(0)
    )
    assert f"TRY {try_left:,.2f}" in en
    assert str(result) == en  # the run's language: English unless the command line chose


def test_missing_or_empty_invoice_table_is_a_job_error() -> None:
    grid = MemoryGrid()
    with pytest.raises(JobError) as missing:
        build_report(grid)
    assert "Faturalar" in missing.value.message
    assert "Faturalar" in missing.value.message_tr
    assert missing.value.message != missing.value.message_tr

    grid.ensure_sheet(layout.INVOICES)
    grid.write(layout.INVOICES, 6, 1, [[c.header for c in layout.INVOICE_COLUMNS]])
    with pytest.raises(JobError) as empty:
        build_report(grid)
    assert "no invoices" in empty.value.message
    assert "fatura yok" in empty.value.message_tr
    assert layout.SUMMARY not in grid.sheet_names()  # nothing was written

    grid.write(layout.INVOICES, 7, 1, [[5, "S", None, None, "C", "1", "TRY"]])
    grid.write(layout.INVOICES, 7, 13, [[NOT_LISTED]])
    with pytest.raises(JobError) as unlisted:
        build_report(grid)
    assert "no invoice to report" in unlisted.value.message
    assert NOT_LISTED in unlisted.value.message_tr


def test_missing_required_column_is_a_job_error() -> None:
    grid = MemoryGrid()
    grid.ensure_sheet(layout.INVOICES)
    grid.write(layout.INVOICES, 1, 1, [["Belge ID", "Para Birimi", "Genel Toplam"], [1, "TRY", 5]])
    with pytest.raises(JobError) as error:
        build_report(grid)
    assert "Kalan" in error.value.message
    assert "Kalan" in error.value.message_tr


def test_rerun_replaces_the_sheet_and_the_chart(world: World) -> None:
    grid = copy_grid(world.grid)
    grid.ensure_sheet(layout.SUMMARY)
    grid.write(layout.SUMMARY, 1, 1, [["Özet"], [None], ["Faturaları getirdikten sonra…"]])
    grid.write(layout.SUMMARY, 400, 30, [["eski"]])
    grid.ensure_sheet(layout.COLLECTION_LOG)
    grid.write(
        layout.COLLECTION_LOG,
        1,
        1,
        [[c.header for c in layout.LOG_COLUMNS]]
        + [
            [datetime(2026, 10, d, 12), 1001, "", "", 1, "Merkez Kasa", 1, "TRY", "Tamamlandı"]
            for d in range(1, 20)
        ],
    )
    first = build_report(grid, as_of=date(2026, 11, 1), now=lambda: NOW)
    long_rows = len(sheet(grid))
    assert long_rows == first.rows > 60

    # Fewer invoices (TRY only, a handful), no collections: a shorter, narrower report.
    table = grid.read(layout.INVOICES)
    header_row = next(i for i, r in enumerate(table, 1) if "Belge ID" in r)
    keep = [r for r in table[header_row:] if r[6] == "TRY"][:3]
    grid.clear(layout.INVOICES, header_row + 1, 1, len(table), len(table[0]))
    grid.write(layout.INVOICES, header_row + 1, 1, keep)
    grid.clear(layout.COLLECTION_LOG, 2, 1, 100, 20)
    second = build_report(grid, as_of=date(2026, 11, 1), now=lambda: NOW)

    fresh = copy_grid(grid, without=(layout.SUMMARY,))
    build_report(fresh, as_of=date(2026, 11, 1), now=lambda: NOW)
    assert sheet(grid) == sheet(fresh)  # nothing left over from the longer report
    assert len(sheet(grid)) == second.rows < long_rows
    assert grid.charts[layout.SUMMARY] == [second.chart]
    assert grid.charts[layout.SUMMARY] == fresh.charts[layout.SUMMARY]


def test_chart_points_at_the_aging_cells(world: World) -> None:
    grid, result = run(world, date(2026, 11, 1))
    (chart,) = grid.charts[layout.SUMMARY]
    assert chart == result.chart
    assert chart.title == "Vade Analizi – Alacaklar"  # one chart per side (#13)
    assert chart.y_max == 1.0  # shares: the axis ends at 100%
    top, left, bottom, right = chart.categories
    assert left == right == 1
    labels = [grid.value(layout.SUMMARY, r, 1) for r in range(top, bottom + 1)]
    assert labels == list(rep.BUCKETS)
    v_top, v_left, v_bottom, v_right = chart.values
    assert (v_top, v_bottom) == (top - 1, bottom)
    titles = [grid.value(layout.SUMMARY, v_top, c) for c in range(v_left, v_right + 1)]
    assert titles == ["TRY %", "EUR %", "USD %"]
    for column, currency in zip(range(v_left, v_right + 1), ("TRY", "EUR", "USD"), strict=True):
        shares = [dec(grid.value(layout.SUMMARY, r, column)) * 100 for r in range(top, bottom + 1)]
        assert shares == [result.report.group(currency).share(b) for b in rep.BUCKETS]
        assert abs(sum(shares) - 100) < Decimal("0.05")
    # anchored right of every block, level with the aging title
    width = max(len(r) for r in sheet(grid))
    assert chart.anchor == f"{rep.column_letter(width + 1)}{top - 2}"


def test_chart_in_an_xlsx_file_round_trip(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = layout.SUMMARY
    ws.append(["Vade Dilimi", "TRY", "USD", "TRY %", "USD %"])
    for i, bucket in enumerate(rep.BUCKETS):
        ws.append([bucket, 100 * i, 10 * i, 5 * i, 6 * i])
    chart = BarChart(
        "Vade Analizi", (2, 1, 7, 1), (1, 4, 7, 5), "H3", "Pay (%)", "Vade dilimi", 17, 8
    )
    add_bar_chart(ws, chart)
    add_bar_chart(ws, chart)  # the same title: replaced, not added
    add_bar_chart(ws, BarChart("Başka", (2, 1, 7, 1), (1, 2, 7, 2), "H20"))
    assert len(ws._charts) == 2
    path = tmp_path / "chart.xlsx"
    wb.save(path)

    loaded = openpyxl.load_workbook(path)
    charts = loaded[layout.SUMMARY]._charts
    assert sorted(chart_title(c) or "" for c in charts) == ["Başka", "Vade Analizi"]
    (aging,) = [c for c in charts if chart_title(c) == "Vade Analizi"]
    refs = [(s.tx.strRef.f, s.val.numRef.f, (s.cat.numRef or s.cat.strRef).f) for s in aging.series]
    assert refs == [
        ("'Özet'!D1", "'Özet'!$D$2:$D$7", "'Özet'!$A$2:$A$7"),
        ("'Özet'!E1", "'Özet'!$E$2:$E$7", "'Özet'!$A$2:$A$7"),
    ]
    assert (aging.anchor._from.col, aging.anchor._from.row) == (7, 2)  # H3, 0-based
    assert aging.x_axis.delete is False
    assert aging.y_axis.delete is False
    # Re-running on the re-opened file replaces the chart read back from it.
    add_bar_chart(loaded[layout.SUMMARY], chart)
    assert sorted(chart_title(c) or "" for c in loaded[layout.SUMMARY]._charts) == [
        "Başka",
        "Vade Analizi",
    ]
    loaded.save(path)
    assert len(openpyxl.load_workbook(path)[layout.SUMMARY]._charts) == 2


def test_cancelled_rejected_and_draft_documents_are_not_receivables(world: World) -> None:
    result = build_report(world.grid, as_of=date(2026, 11, 1), now=lambda: NOW)
    void = [r for r in world.sandbox.books.invoice_records("sale_invoice") if r.status in VOID]
    assert void, "the seed has cancelled/draft documents"
    assert result.report.void == len(void)
    assert any("taslak" in note for note in result.notes)

"""The Excel side (``ExcelGrid`` and the button entry points) without Excel.

There is no Excel on this machine: the tests run against the xlwings stand-in of
``tests/fakes/xlwings_fake.py``, which enforces xlwings' real signatures (checked class by class
below) and enters values the way Excel does. The entry points run end to end against the real
sandbox over HTTP.
"""

from __future__ import annotations

import pytest

pytest.importorskip("xlwings", reason="the Excel side needs xlwings (Python 3.11+)")

import functools
import inspect
import threading
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlwings
from fakes.xlwings_fake import (
    FAKES,
    CountingGrid,
    Excel,
    ExcelErrorValue,
    FakeBook,
    LiveFormula,
    column_of,
    new_book,
    static_member,
    table_rows,
    xlmethod,
    xlproperty,
)

from kolaybi_xl import excel
from kolaybi_xl.api import KolayBiClient
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.excel_grid import ExcelGrid, excel_would_change, has_path
from kolaybi_xl.workbook.grid import (
    POSITIVE_DECIMAL,
    BarChart,
    ColumnFormat,
    Formula,
    TableFormat,
    Validation,
)

# =============================================================================================
# Fixtures and helpers
# =============================================================================================


@pytest.fixture
def xl() -> Excel:
    return Excel()


@pytest.fixture
def log_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The log file in this test's folder (journal and keyring: see conftest)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # platformdirs on Linux
    return tmp_path


@pytest.fixture
def sandbox(start_sandbox: Callable[..., Sandbox], log_dir: Path) -> Sandbox:
    return start_sandbox(invoices=60, seed=1)


def no_traceback(text: str) -> None:
    for sign in ("Traceback", 'File "', "Error:", "Exception"):
        assert sign not in text, text


# =============================================================================================
# The stand-in itself follows xlwings
# =============================================================================================


@pytest.mark.parametrize("fake", FAKES, ids=lambda f: f.__name__)
def test_stand_in_matches_xlwings_signatures(fake: type) -> None:
    real = fake.REAL
    for name, member in vars(fake).items():
        if isinstance(member, xlmethod):
            real_member = getattr(real, name, None)
            assert callable(real_member), f"xlwings.{real.__name__} has no method {name}"
            fake_params = list(inspect.signature(member.func).parameters.values())
            real_params = list(inspect.signature(real_member).parameters.values())
            assert [(p.name, p.kind, p.default) for p in fake_params] == [
                (p.name, p.kind, p.default) for p in real_params
            ], f"{real.__name__}.{name}"
        elif isinstance(member, xlproperty):
            real_member = static_member(real, name)
            assert isinstance(real_member, property), f"xlwings.{real.__name__}.{name}"
            if member.fset is not None:
                assert real_member.fset is not None, f"xlwings.{real.__name__}.{name} read-only"


def test_stand_in_refuses_wrong_calls(xl: Excel) -> None:
    book = new_book(xl)
    with pytest.raises(TypeError):
        book.sheets.add("X", "Faturalar", None, "extra")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        book.app.alert("x", titel="y")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="Decimal"):
        book.sheets["Özet"].range((1, 1)).value = [[Decimal("1.10")]]


def test_caller_signature_is_a_no_argument_classmethod() -> None:
    assert list(inspect.signature(xlwings.Book.caller).parameters) == []


# =============================================================================================
# ExcelGrid
# =============================================================================================


def test_read_pads_a_used_range_that_does_not_start_at_a1(xl: Excel) -> None:
    book = new_book(xl, sheets=("Özet",))
    book.put("Özet", 5, 3, "C5")
    book.put("Özet", 7, 4, 12)
    book.sheet("Özet").formats.append((20, 1, 40, 9, "0.00"))  # formatted, empty: trimmed
    grid = ExcelGrid(book)
    assert grid.read("Özet") == [
        [None, None, None, None],
        [None, None, None, None],
        [None, None, None, None],
        [None, None, None, None],
        [None, None, "C5", None],
        [None, None, None, None],
        [None, None, None, 12.0],
    ]
    assert xl.calls == [
        "Book.sheets",
        "Sheets.__getitem__()",
        "Sheet.used_range",
        "Range.row",
        "Range.column",
        "Range.options()",
        "Range.value",
    ]


def test_read_of_an_empty_sheet_is_empty(xl: Excel) -> None:
    book = new_book(xl, sheets=("Özet",))
    assert ExcelGrid(book).read("Özet") == []


def test_write_converts_values_and_keeps_text_as_text(xl: Excel) -> None:
    book = new_book(xl, sheets=("Özet",))
    grid = ExcelGrid(book)
    grid.write(
        "Özet",
        2,
        2,
        [
            ["VKN", "Açıklama", "Tutar", "Tarih", "Karışık"],
            ["0012345678", '=HYPERLINK("http://evil.example","tıkla")', Decimal("2327.60"),
             date(2026, 11, 22), 5],
            ["1234567890", "-5% iskonto", Decimal("0.07"), datetime(2026, 1, 2, 3, 4), "=1+1"],
            ["00123", "Zil\x07 sesi", None, None, "0042"],
            [None, "@SUM(A1)", 1, True, Formula("SUM(D3:D4)")],
        ],
    )  # fmt: skip
    back = grid.read("Özet")
    assert back[2][1:] == [
        "0012345678",
        '=HYPERLINK("http://evil.example","tıkla")',
        2327.6,
        datetime(2026, 11, 22),
        5.0,
    ]
    assert back[3][1:] == ["1234567890", "-5% iskonto", 0.07, datetime(2026, 1, 2, 3, 4), "=1+1"]
    assert back[4][1:4] == ["00123", "Zil sesi", None]
    assert back[4][5] == "0042"  # the quote prefix kept the zeros in a mixed column
    assert back[5][2] == "@SUM(A1)"
    assert back[5][5] == "=SUM(D3:D4)"
    assert isinstance(back[5][5], LiveFormula)  # only the tool's own Formula is a formula
    live = [v for row in back for v in row if isinstance(v, (LiveFormula, ExcelErrorValue))]
    assert live == ["=SUM(D3:D4)"]
    data = book.sheet("Özet")
    # all-text columns got the text format on the written block; the mixed one the apostrophe
    assert (2, 2, 6, 2, "@") in data.formats
    assert (2, 3, 6, 3, "@") in data.formats
    assert not any(f[1] == 6 for f in data.formats)
    assert data.prefixed == {(4, 6), (5, 6)}
    # one "@" per such column, one block write
    assert xl.calls.count("Range.value=") == 1
    assert xl.calls.count("Range.number_format=") == 2


def test_write_into_text_formatted_cells_adds_no_apostrophe(xl: Excel) -> None:
    """Cells already formatted as text (template, earlier format_table): the value is kept
    as given, so an apostrophe would become part of it. None is written there."""
    book = new_book(xl, sheets=("Özet",))
    book.sheet("Özet").formats.append((1, 1, 100, 2, "@"))
    grid = ExcelGrid(book)
    grid.write("Özet", 1, 1, [["=1+1", "0012"], ["'quoted", "+90 555"]])
    assert grid.read("Özet") == [["=1+1", "0012"], ["'quoted", "+90 555"]]


def test_ragged_write_is_padded_and_none_and_empty_clear(xl: Excel) -> None:
    book = new_book(xl, sheets=("Özet",))
    grid = ExcelGrid(book)
    grid.write("Özet", 1, 1, [["a", "b", "c"], ["d"]])
    grid.write("Özet", 1, 1, [[None, ""]])
    assert grid.read("Özet") == [[None, None, "c"], ["d", None, None]]
    grid.clear("Özet", 1, 1, 5, 5)
    assert grid.read("Özet") == []
    grid.write("Özet", 1, 1, [])
    grid.clear("Özet", 3, 1, 2, 1)  # an empty block: nothing, no call


def test_ensure_sheet_places_it_in_the_layout_order_and_keeps_the_view(xl: Excel) -> None:
    book = new_book(xl, sheets=(layout.INVOICES, layout.SETTINGS, layout.XLWINGS_CONF))
    book.active_sheet = layout.SETTINGS
    grid = ExcelGrid(book)
    assert grid.ensure_sheet(layout.VAULTS) is True
    assert grid.ensure_sheet(layout.COLLECTION_LOG) is True
    assert grid.ensure_sheet("Benim Sayfam") is True
    assert grid.ensure_sheet(layout.VAULTS) is False
    assert grid.ensure_sheet("faturalar") is False  # Excel's names ignore case
    assert book.order == [
        layout.INVOICES,
        layout.VAULTS,
        layout.COLLECTION_LOG,
        layout.SETTINGS,
        layout.XLWINGS_CONF,
        "Benim Sayfam",
    ]
    assert book.active_sheet == layout.SETTINGS
    only = new_book(Excel(), sheets=(layout.SETTINGS,))
    ExcelGrid(only).ensure_sheet(layout.INVOICES)
    assert only.order == [layout.INVOICES, layout.SETTINGS]


def test_define_name_adds_then_repoints(xl: Excel) -> None:
    book = new_book(xl, sheets=(layout.VAULTS,))
    grid = ExcelGrid(book)
    grid.define_name("KasaAdlari", "Kasalar!$B$2:$B$5")
    grid.define_name("KasaAdlari", "=" + layout.VAULT_NAMES_FORMULA)
    assert book.defined == {"KasaAdlari": "=" + layout.VAULT_NAMES_FORMULA}
    assert "Names.add()" in xl.calls
    assert "Name.refers_to=" in xl.calls


def test_save_only_a_book_that_has_a_path(xl: Excel) -> None:
    saved = new_book(xl)
    ExcelGrid(saved).save()
    assert saved.saves == 1
    fresh = new_book(Excel(), fullname="Kitap1")
    ExcelGrid(fresh).save()
    assert fresh.saves == 0
    assert has_path("/Users/ayse/KolayBi.xlsm")
    assert has_path("https://d.docs.live.net/abc/KolayBi.xlsm")
    assert not has_path("Book1")
    assert not has_path("")


def test_progress_uses_the_status_bar_only_on_its_own_thread(xl: Excel) -> None:
    book = new_book(xl)
    seen: list[str] = []
    grid = ExcelGrid(book, on_progress=seen.append)
    grid.progress("Kasalar getiriliyor…")
    worker = threading.Thread(target=grid.progress, args=("Tahsilat: 3/10",))
    worker.start()
    worker.join()
    assert seen == ["Kasalar getiriliyor…", "Tahsilat: 3/10"]
    assert book.app.status_history == ["Kasalar getiriliyor…"]
    errors: list[BaseException] = []

    def misuse() -> None:
        try:
            grid.read(layout.INVOICES)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=misuse)
    worker.start()
    worker.join()
    assert len(errors) == 1
    assert isinstance(errors[0], RuntimeError)


def test_batch_turns_the_screen_off_and_restores_it(xl: Excel) -> None:
    book = new_book(xl)
    grid = ExcelGrid(book)

    def job() -> None:
        with grid.batch():
            with grid.batch():  # nested: only the outer one switches
                assert book.app._screen_updating is False
            assert book.app._screen_updating is False
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        job()
    assert book.app.screen_history == [False, True]
    assert book.app.status_history[-1] is False  # the status bar is Excel's again


def invoice_format(rows: int) -> TableFormat:
    from kolaybi_xl.jobs.fetch import invoice_table_format

    header = [c.header for c in layout.INVOICE_COLUMNS]
    return invoice_table_format(header, layout.INVOICE_HEADER_ROW, rows)


def test_format_table_sets_column_blocks_not_cells(xl: Excel) -> None:
    book = new_book(xl)
    book.defined["KasaAdlari"] = "=Kasalar!$B$2:$B$6"
    h = layout.INVOICE_HEADER_ROW
    mark = layout.INVOICE_COLUMNS.index(layout.C_MARK) + 1
    vault = layout.INVOICE_COLUMNS.index(layout.C_VAULT) + 1
    rules = book.validations
    rules[(layout.INVOICES, h + 1, mark, h + 20_000, mark)] = "the template's"
    grid = ExcelGrid(book, windows=False)
    grid.format_table(layout.INVOICES, invoice_format(50))  # replaces the template's rule
    xl.calls.clear()
    grid.format_table(layout.INVOICES, invoice_format(60))
    small = len(xl.calls)
    xl.calls.clear()
    grid.format_table(layout.INVOICES, invoice_format(50_000))
    assert len(xl.calls) == small
    data = book.sheet(layout.INVOICES)
    tax = layout.INVOICE_COLUMNS.index(layout.C_TAX_ID) + 1
    assert (h + 1, tax, h + 50_000 + 200, tax, "@") in data.formats
    assert (h + 1, mark, h + 50_000, mark, (0xFF, 0xF2, 0xCC)) in data.fills
    assert data.widths[tax] == layout.C_TAX_ID.width
    assert (h, 1, h, len(layout.INVOICE_COLUMNS), "bold", True) in data.fonts
    assert [k for k in rules if k[2] == mark] == [(layout.INVOICES, h + 1, mark, h + 50_200, mark)]
    expected = ["x", "evet", "hayır", "geri al"]
    assert rules[(layout.INVOICES, h + 1, mark, h + 50_200, mark)] == expected
    assert rules[(layout.INVOICES, h + 1, vault, h + 50_200, vault)].box == (2, 2, 6, 2)
    assert not book.api_mock.mock_calls  # nothing through .api off Windows


def test_amount_check_replaces_the_templates_in_constant_calls(xl: Excel) -> None:
    """Tahsil Tutarı gets a decimal > 0 rule over data + spare rows, whatever the rows."""
    book = new_book(xl)
    book.defined["KasaAdlari"] = "=Kasalar!$B$2:$B$6"
    h = layout.INVOICE_HEADER_ROW
    amount = layout.INVOICE_COLUMNS.index(layout.C_AMOUNT) + 1
    rules = book.validations
    rules[(layout.INVOICES, h + 1, amount, h + 20_000, amount)] = ("decimal", "greater_than", "0")
    grid = ExcelGrid(book, windows=False)
    grid.format_table(layout.INVOICES, invoice_format(50))
    assert [k for k in rules if k[2] == amount] == [
        (layout.INVOICES, h + 1, amount, h + 250, amount)
    ]
    xl.calls.clear()
    grid.format_table(layout.INVOICES, invoice_format(60))
    small = xl.calls.count("DataValidation.set_decimal()")
    xl.calls.clear()
    grid.format_table(layout.INVOICES, invoice_format(50_000))
    # the rule of the earlier refresh covers other rows: one refused set, then delete + set
    assert xl.calls.count("DataValidation.set_decimal()") == small == 2
    key = (layout.INVOICES, h + 1, amount, h + 50_200, amount)
    assert [k for k in rules if k[2] == amount] == [key]
    assert rules[key] == ("decimal", "greater_than", "0")


def test_amount_check_prompt_and_hint_only_on_windows(xl: Excel) -> None:
    book = new_book(xl)
    grid = ExcelGrid(book, windows=True)
    grid.write(layout.INVOICES, 1, 1, [[layout.C_AMOUNT.header]])
    table = TableFormat(
        header_row=1,
        columns=[ColumnFormat("#,##0.00", input=True)],
        data_rows=3,
        validations=[Validation(1, kind=POSITIVE_DECIMAL, prompt=layout.AMOUNT_PROMPT)],
    )
    grid.format_table(layout.INVOICES, table)
    api = book.api_mock.Worksheets.return_value.Range.return_value.Validation
    assert api.ShowError is False  # a hint: Turkish text like "1.234,50" stays typeable
    assert api.ShowInput is True
    assert api.InputTitle == layout.C_AMOUNT.header
    assert api.InputMessage == layout.AMOUNT_PROMPT
    assert book.validations[(layout.INVOICES, 2, 1, 204, 1)] == ("decimal", "greater_than", "0")


def test_a_dropdown_xlwings_cannot_set_keeps_the_templates(xl: Excel) -> None:
    """Off Windows, a name xlwings cannot resolve (OFFSET) leaves the template's rule alone."""
    book = new_book(xl)
    book.defined["KasaAdlari"] = "=" + layout.VAULT_NAMES_FORMULA
    h = layout.INVOICE_HEADER_ROW
    vault = layout.INVOICE_COLUMNS.index(layout.C_VAULT) + 1
    rules = book.validations
    rules[(layout.INVOICES, h + 1, vault, h + 20_000, vault)] = "the template's"
    ExcelGrid(book, windows=False).format_table(layout.INVOICES, invoice_format(30_000))
    assert rules[(layout.INVOICES, h + 1, vault, h + 20_000, vault)] == "the template's"
    assert [k for k in rules if k[2] == vault] == [
        (layout.INVOICES, h + 1, vault, h + 20_000, vault)
    ]


def test_format_table_windows_extras_go_through_api_and_never_raise(xl: Excel) -> None:
    book = new_book(xl)
    book.defined["KasaAdlari"] = "=" + layout.VAULT_NAMES_FORMULA  # xlwings cannot resolve it
    h = layout.INVOICE_HEADER_ROW
    vault = layout.INVOICE_COLUMNS.index(layout.C_VAULT) + 1
    rules = book.validations
    rules[(layout.INVOICES, h + 1, vault, h + 20_000, vault)] = "the template's"
    grid = ExcelGrid(book, windows=True)
    book.active_sheet = layout.SETTINGS
    grid.format_table(layout.INVOICES, invoice_format(10))
    calls = [str(c) for c in book.api_mock.mock_calls]
    assert any("FreezePanes" in c or "Windows(1)" in c for c in calls)
    assert any(".AutoFilter()" in c for c in calls)
    assert any("Validation.Add(" in c and "=KasaAdlari" in c for c in calls)
    assert book.active_sheet == layout.SETTINGS
    # .api failing (e.g. a protected sheet) is logged, never raised
    book.api_mock.Windows.side_effect = RuntimeError("COM error")
    book.api_mock.Worksheets.side_effect = RuntimeError("COM error")
    grid.format_table(layout.INVOICES, invoice_format(10))


def test_bar_chart_replaces_one_of_the_same_title(xl: Excel) -> None:
    book = new_book(xl, sheets=(layout.SUMMARY,))
    grid = ExcelGrid(book)
    chart = BarChart("Yaşlandırma", categories=(4, 1, 9, 1), values=(3, 2, 9, 3), anchor="H3")
    grid.add_bar_chart(layout.SUMMARY, chart)
    grid.add_bar_chart(layout.SUMMARY, chart)
    charts = book.charts[layout.SUMMARY]
    assert len(charts) == 1
    assert charts[0].title == "Yaşlandırma"
    assert charts[0].source.box == (3, 2, 9, 3)
    assert charts[0].categories.box == (4, 1, 9, 1)
    assert charts[0].anchor.box == (3, 8, 3, 8)


def test_what_excel_would_change() -> None:
    for text in ("=1+1", "+90 555", "-5%", "@x", "'a", "#N/A", "0012", "1.234,56", "01.02.2026",
                 "TRUE", "doğru", "12:30", "1/2"):  # fmt: skip
        assert excel_would_change(text), text
    for text in ("", "FTR2026000001", "Ödenmedi", "ACME LTD", "Satır 1\nSatır 2", "12 fatura"):
        assert not excel_would_change(text), text


# =============================================================================================
# The entry points, end to end against the sandbox
# =============================================================================================


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int]]:
    CountingGrid.log = []
    monkeypatch.setattr(excel, "ExcelGrid", CountingGrid)
    return CountingGrid.log


def last_alert(book: FakeBook) -> dict[str, Any]:
    assert book.app.alerts, "no message box was shown"
    alert = book.app.alerts[-1]
    no_traceback(alert["prompt"])
    return alert


def test_refresh_invoices_fills_the_sheet(sandbox: Sandbox, xl: Excel) -> None:
    book = new_book(xl)
    excel.refresh_invoices(book)

    alert = last_alert(book)
    assert alert["mode"] == "info"
    assert alert["prompt"].startswith("Faturalar güncellendi")
    expected = {r.id: r for r in sandbox.books.invoice_records("sale_invoice")}
    rows = table_rows(book)
    assert set(rows) == set(expected)
    for doc_id, record in expected.items():
        row = rows[doc_id]
        assert row["Seri No"] == record.serial_no
        assert row["Düzenleme Tarihi"] == datetime.combine(
            record.issue_date.date(), datetime.min.time()
        )
        assert row["VKN/TCKN"] == record.identity_no  # text: leading zeros kept
        assert row["Genel Toplam"] == float(record.grand_total)
        assert row["Kalan"] == float(record.remaining)
        assert row["Cari"] == record.associate_name.strip() or row["Cari"] == record.associate_name
    zeros = [r for r in expected.values() if r.identity_no.startswith("0")]
    assert zeros, "the sandbox seeds a tax number with a leading zero"
    hostile = next(r for r in expected.values() if r.description.startswith("=HYPERLINK"))
    assert rows[hostile.id]["Açıklama"] == hostile.description
    formula_name = next(r for r in expected.values() if r.associate_name == "=1+1")
    assert rows[formula_name.id]["Cari"] == "=1+1"
    data = book.sheet(layout.INVOICES)
    assert not [v for v in data.cells.values() if isinstance(v, (LiveFormula, ExcelErrorValue))]
    assert not [v for v in data.cells.values() if isinstance(v, str) and v.startswith("'")]
    # Kasalar, the dropdown's name, the control strip
    vault_names = [book.value(layout.VAULTS, r, 2) for r in range(2, 7)]
    assert vault_names == [
        v.name for v in sorted(sandbox.books.vault_records(), key=lambda v: v.id)
    ]
    assert book.defined["KasaAdlari"] == "=" + layout.VAULT_NAMES_FORMULA
    assert isinstance(book.value(layout.INVOICES, *layout.REFRESHED_CELL), datetime)
    # the screen was frozen for the job and given back; progress went to the status bar
    assert book.app.screen_history == [False, True]
    assert "Faturalar yazılıyor…" in book.app.status_history
    assert book.app.status_history[-1] is False
    assert book.saves == 0  # a refresh leaves saving to the user


def test_refresh_keeps_marks_and_writes_to_book_caller(
    sandbox: Sandbox, xl: Excel, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = new_book(xl)
    monkeypatch.setattr(xlwings.Book, "caller", classmethod(lambda cls: book))
    excel.refresh_invoices()
    rows = table_rows(book)
    first = min(rows)
    book.put(layout.INVOICES, rows[first]["_row"], column_of(book, "Tahsil Et"), "x")
    book.put(layout.INVOICES, rows[first]["_row"], column_of(book, "Kasa/Banka"), "Merkez Kasa")
    excel.refresh_invoices()
    again = table_rows(book)
    assert again[first]["Tahsil Et"] == "x"
    assert again[first]["Kasa/Banka"] == "Merkez Kasa"
    assert len(book.app.alerts) == 2


def test_refresh_vaults(sandbox: Sandbox, xl: Excel) -> None:
    book = new_book(xl, sheets=(layout.INVOICES, layout.SETTINGS, layout.XLWINGS_CONF))
    excel.refresh_vaults(book)
    assert book.order[:2] == [layout.INVOICES, layout.VAULTS]
    assert book.active_sheet == layout.INVOICES
    balances = [book.value(layout.VAULTS, r, 5) for r in range(2, 7)]
    vaults = sorted(sandbox.books.vault_records(), key=lambda v: v.id)
    assert balances == [float(v.balance) for v in vaults]
    assert last_alert(book)["prompt"] == "Kasalar güncellendi: 5 kasa/banka hesabı."


def mark(book: FakeBook, doc_ids: list[int], vault: str) -> None:
    rows = table_rows(book)
    for doc_id in doc_ids:
        book.put(layout.INVOICES, rows[doc_id]["_row"], column_of(book, "Tahsil Et"), "x")
        book.put(layout.INVOICES, rows[doc_id]["_row"], column_of(book, "Kasa/Banka"), vault)


def collectable(sb: Sandbox, n: int) -> list[int]:
    return [
        r.id
        for r in sb.books.invoice_records("sale_invoice")
        if r.currency == "TRY" and r.is_payable and not r.description.startswith("=")
    ][:n]


def test_collect_marked_collects_exactly_the_marked_rows(sandbox: Sandbox, xl: Excel) -> None:
    book = new_book(xl)
    excel.refresh_invoices(book)
    chosen = collectable(sandbox, 3)
    amounts = {i: sandbox.books.invoices[i].remaining for i in chosen}
    mark(book, chosen, "Merkez Kasa")
    book.app.answers = ["yes"]
    before = list(book.app.alerts)

    excel.collect_marked(book)

    shown = book.app.alerts[len(before) :]
    assert [a["buttons"] for a in shown] == ["yes_no", "ok"]
    question = shown[0]["prompt"]
    no_traceback(question)
    assert "Tahsilat planı: 3 fatura" in question
    assert "Merkez Kasa" in question
    assert question.rstrip().endswith("Bu 3 fatura tahsil edilsin mi?")
    ledger = sandbox.books.ledger
    assert sorted(e.document_id for e in ledger) == sorted(chosen)
    assert {e.document_id: e.amount for e in ledger} == amounts
    assert shown[1]["prompt"].startswith("Tahsilat: 3 tamamlandı")
    rows = table_rows(book)
    for doc_id, row in rows.items():
        outcome = row["Tahsilat Durumu"]
        if doc_id in chosen:
            assert str(outcome).startswith(layout.OUTCOME_DONE)
            assert row["Kalan"] == 0.0
        else:
            assert outcome is None  # unmarked rows are never touched
    assert book.saves == 1  # the job saves its outcomes
    assert book.app.screen_history[-1] is True
    assert len(book.app.status_history) < 40  # progress in steps, not one call per row


def test_collect_no_sends_nothing(sandbox: Sandbox, xl: Excel) -> None:
    book = new_book(xl)
    excel.refresh_invoices(book)
    mark(book, collectable(sandbox, 2), "Ziraat Bankası TL")
    book.app.answers = ["no"]
    excel.collect_marked(book)
    assert sandbox.books.ledger == []
    assert book.app.alerts[-2]["buttons"] == "yes_no"
    assert "Toplam" in book.app.alerts[-2]["prompt"] or "toplam" in book.app.alerts[-2]["prompt"]
    assert last_alert(book)["prompt"] == "Tahsilat iptal edildi; hiçbir şey gönderilmedi."
    assert all(r["Tahsilat Durumu"] is None for r in table_rows(book).values())
    assert book.saves == 0


def test_collect_with_nothing_marked_says_so_and_asks_nothing(sandbox: Sandbox, xl: Excel) -> None:
    book = new_book(xl)
    excel.refresh_invoices(book)
    excel.collect_marked(book)
    assert [a["buttons"] for a in book.app.alerts] == ["ok", "ok"]
    assert last_alert(book)["prompt"].startswith("İşaretli satır yok")
    assert sandbox.books.ledger == []


def test_collect_with_only_bad_rows_sends_nothing_and_says_why(sandbox: Sandbox, xl: Excel) -> None:
    book = new_book(xl)
    excel.refresh_invoices(book)
    chosen = collectable(sandbox, 1)
    mark(book, chosen, "Böyle Bir Kasa Yok")
    excel.collect_marked(book)
    assert [a["buttons"] for a in book.app.alerts] == ["ok", "ok"]  # nothing to confirm
    prompt = last_alert(book)["prompt"]
    assert prompt.startswith("Gönderilecek satır yok; hiçbir şey gönderilmedi.")
    assert "1 hata" in prompt
    assert "'Tahsilat Durumu'" in prompt
    assert sandbox.books.ledger == []
    assert str(table_rows(book)[chosen[0]]["Tahsilat Durumu"]).startswith(layout.OUTCOME_ERROR)


def test_build_report(sandbox: Sandbox, xl: Excel) -> None:
    book = new_book(xl)
    excel.refresh_invoices(book)
    excel.build_report(book)
    alert = last_alert(book)
    assert alert["mode"] == "info"
    assert alert["prompt"].startswith("Özet hazır")
    assert ExcelGrid(book).read(layout.SUMMARY)
    assert book.app.screen_history == [False, True, False, True]


def read_log() -> str:
    path = excel.log_file()
    return path.read_text(encoding="utf-8") if path.exists() else ""


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("key", "kimlik bilgilerini kabul etmedi"),
        ("unreachable", "KolayBi'ye ulaşılamadı: internet ya da VPN"),
        ("server", "KolayBi sunucusu hata verdi"),
        ("channel", "Channel tanımlı değil"),
        ("unexpected", "Beklenmeyen bir hata oluştu; ayrıntılar: "),
    ],
)
def test_errors_become_a_short_turkish_message_and_a_log(
    breakage: str,
    expected: str,
    xl: Excel,
    log_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    use_sandbox: Callable[..., Sandbox],
) -> None:
    book = new_book(xl)
    # the client's retries without their waits
    monkeypatch.setattr(
        excel, "KolayBiClient", functools.partial(KolayBiClient, sleep=lambda s: None)
    )
    with Sandbox(invoices=20, seed=1) as sb:
        use_sandbox(sb, api_key="yanlis-anahtar-1234" if breakage == "key" else None)
        if breakage == "unreachable":
            monkeypatch.setenv("KOLAYBI_BASE_URL", "http://127.0.0.1:9/kolaybi/v1")
        elif breakage == "server":
            sb.faults.inject("bad_json", endpoint="invoices", probability=1.0)
        elif breakage == "channel":
            monkeypatch.delenv("KOLAYBI_CHANNEL")
        elif breakage == "unexpected":
            import kolaybi_xl.jobs.fetch as fetch

            def boom(*args: Any, **kwargs: Any) -> Any:
                raise RuntimeError(f"boom with the key {sb.api_key} in it")

            monkeypatch.setattr(fetch, "refresh_invoices", boom)
        excel.refresh_invoices(book)

    alert = last_alert(book)
    assert alert["mode"] == "critical"
    assert expected in alert["prompt"]
    assert len(alert["prompt"]) < 400
    if breakage == "unexpected":
        assert str(excel.log_file()) in alert["prompt"]
    assert book.app.screen_history == [False, True]  # restored after the exception
    assert book.app.status_history[-1] is False
    log = read_log()
    assert "Traceback" in log
    assert "Faturaları Getir: failed" in log
    assert "yanlis-anahtar-1234" not in log
    assert "sandbox-demo-key" not in log
    assert not table_rows(book)  # nothing half-written


def test_collect_error_after_confirmation_is_a_message_too(
    sandbox: Sandbox, xl: Excel, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = new_book(xl)
    excel.refresh_invoices(book)
    mark(book, collectable(sandbox, 1), "Merkez Kasa")
    book.app.answers = ["yes"]

    def save(self: FakeBook, path: Any = None, password: str | None = None) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(FakeBook, "save", xlmethod(save))
    excel.collect_marked(book)
    alert = last_alert(book)
    assert alert["mode"] == "critical"
    assert "kaydedilemedi" in alert["prompt"]
    assert "günlüğünde saklı" in alert["prompt"]
    assert len(sandbox.books.ledger) == 1  # the money moved; the journal has the outcome


def test_no_calling_workbook_is_a_short_exit_not_a_traceback(
    log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_excel(cls: type) -> Any:
        raise RuntimeError("Could not activate App! Excel not found")

    monkeypatch.setattr(xlwings.Book, "caller", classmethod(no_excel))
    with pytest.raises(SystemExit) as exit_info:
        excel.build_report()
    message = str(exit_info.value.code)
    assert message.startswith("KolayBi: Excel çalışma kitabına bağlanılamadı")
    no_traceback(message)
    assert "Excel not found" in read_log()


def test_excel_calls_do_not_grow_with_the_rows(
    counting: list[tuple[str, str, int]],
    log_dir: Path,
    use_sandbox: Callable[..., Sandbox],
) -> None:
    runs: dict[int, list[tuple[str, str, int]]] = {}
    written: dict[int, int] = {}
    for invoices in (10, 200, 1000):
        counting.clear()
        with Sandbox(invoices=invoices, seed=1) as sb:
            use_sandbox(sb)
            book = new_book(Excel())
            excel.refresh_invoices(book)
        assert book.app.alerts[-1]["mode"] == "info", book.app.alerts[-1]
        runs[invoices] = list(counting)
        written[invoices] = len(table_rows(book))
    assert written[10] < written[200] < written[1000]
    assert runs[10] == runs[200] == runs[1000]
    table_write = [n for op, sheet, n in runs[1000] if op == "write" and sheet == layout.INVOICES]
    assert max(table_write) <= 3 + 2 * len(layout.INVOICE_COLUMNS)

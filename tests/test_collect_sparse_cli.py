"""`collect` and `undo` on a workbook file read ``Faturalar`` in part (only the rows whose
``Tahsil Et`` holds something); the openpyxl path (``KOLAYBI_XL_FAST=0``) reads it whole. On
copies of one workbook marked every way a person marks, against two sandboxes of the same
seed, both give the same plan, the same outcomes, the same ledger and the same saved values."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import kolaybi_xl.jobs.collect.reading as reading
from kolaybi_xl.cli import main
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout

SEED = 31


def _columns(sheet: Any) -> dict[str, int]:
    return {c.value: c.column for c in sheet[layout.INVOICE_HEADER_ROW] if c.value}


def _mark_every_way(path: Path, sb: Sandbox) -> None:
    """Marks of every kind in the first 20 rows, far down, on the table's last row and below
    it (no Belge ID); one invoice on two marked rows; `Tahsil Et` moved to column B."""
    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    columns = _columns(sheet)
    mark, moved = columns["Tahsil Et"], 2
    for r in range(layout.INVOICE_HEADER_ROW, sheet.max_row + 1):  # a person moved the column
        a, b = sheet.cell(r, mark), sheet.cell(r, moved)
        a.value, b.value = b.value, a.value
    columns = _columns(sheet)
    vaults = {v.currency.upper(): v.name for v in sb.books.vault_records()}
    rows = [r for r in range(7, sheet.max_row + 1) if sheet.cell(r, 1).value is not None]
    kinds: list[Any] = ["x", "X", True, 1, "geri al", '=IF(1,"x","")', " ", 0, "#N/A", "evet"]
    marks = {7 + i: kind for i, kind in enumerate(kinds)}
    marks.update({r: "x" for r in rows[40::23]})
    marks.update({rows[-1]: "x", rows[-1] + 40: "x"})
    for r, value in marks.items():
        cell = sheet.cell(r, columns["Tahsil Et"], value)
        if value == "#N/A":
            cell.data_type = "e"
        currency = str(sheet.cell(r, columns["Para Birimi"]).value or "TRY").upper()
        sheet.cell(r, columns["Kasa/Banka"], vaults.get(currency))
    twin = rows[-1] + 1  # the invoice of rows[45] once more, both marked
    sheet.cell(twin, columns["Belge ID"], sheet.cell(rows[45], columns["Belge ID"]).value)
    for r in (twin, rows[45]):
        sheet.cell(r, columns["Tahsil Et"], "x")
        sheet.cell(r, columns["Kasa/Banka"], sheet.cell(rows[45], columns["Kasa/Banka"]).value)
    book.save(path)


def _undo_half(path: Path) -> None:
    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    columns = _columns(sheet)
    done = [
        r
        for r in range(7, sheet.max_row + 1)
        if str(sheet.cell(r, columns["Tahsilat Durumu"]).value or "").startswith("Tamamlandı")
    ]
    assert len(done) >= 4
    for r in done[::2]:
        sheet.cell(r, columns["Tahsil Et"], "GERİ AL")
    book.save(path)


def _values(path: Path) -> dict[str, list[list[Any]]]:
    """Every sheet's values, the run's clock and the workbook's own id left out."""

    def plain(v: Any) -> Any:
        if isinstance(v, dt.datetime) and (v.hour or v.minute or v.second):
            return "<time>"
        if isinstance(v, str):
            return "<id>" if v.startswith("kb-") else re.sub(r"\d\d:\d\d(:\d\d)?", "<hm>", v)
        return v

    book = openpyxl.load_workbook(path)
    found = {}
    for sheet in book.worksheets:
        rows = [[plain(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        while rows and all(v is None for v in rows[-1]):
            rows.pop()
        found[sheet.title] = rows
    return found


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each collect/undo read its table in part."""
    partial: list[bool] = []
    real = reading.read_marked_table

    def read(grid: Any) -> Any:
        table = real(grid)
        partial.append(table is not None)
        return table

    monkeypatch.setattr(reading, "read_marked_table", read)
    return partial


def test_partial_and_whole_reads_collect_and_undo_alike(
    start_sandbox: Callable[..., Sandbox],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    spy: list[bool],
) -> None:
    start_sandbox(invoices=160, seed=SEED)
    made = tmp_path / "made.xlsx"
    assert main(["fetch", str(made)]) == 0
    seen = {}
    for fast in ("1", "0"):
        monkeypatch.setenv("KOLAYBI_XL_FAST", fast)
        sb = start_sandbox(invoices=160, seed=SEED)  # its own ledger, its own account
        path = tmp_path / fast / "book.xlsx"
        path.parent.mkdir()
        shutil.copy(made, path)
        _mark_every_way(path, sb)
        capsys.readouterr()
        codes = [main(["collect", str(path), "--dry-run"]), main(["collect", str(path), "--yes"])]
        _undo_half(path)
        codes += [main(["undo", str(path), "--dry-run"]), main(["undo", str(path), "--yes"])]
        codes.append(main(["collect", str(path), "--yes"]))
        out = capsys.readouterr()
        seen[fast] = (
            codes,
            (out.out + out.err).replace(str(path), "BOOK"),
            sorted((e.document_id, e.vault_id, e.amount) for e in sb.books.ledger),
            _values(path),
        )
    assert spy == [True] * 5 + [False] * 5  # the fast path read in part, openpyxl whole
    fast_run, whole_run = seen["1"], seen["0"]
    assert fast_run[0] == whole_run[0] == [1, 1, 0, 0, 1]  # some marks are errors
    assert fast_run[1] == whole_run[1]  # plans and summaries, word for word
    assert fast_run[2] == whole_run[2]
    assert len({doc for doc, _, _ in fast_run[2]}) >= 4  # money moved, and came back once
    assert fast_run[3] == whole_run[3]


@pytest.mark.parametrize("fast", ["1", "0"])
def test_a_table_moved_up_into_the_strip_keeps_its_header_and_rows(
    start_sandbox: Callable[..., Sandbox],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fast: str,
) -> None:
    """A person deleted the rows above the table (header on row 2): the status line that
    collect writes above the table has no room and is left out, as fetch does; it used to
    be written over the header and the first rows (the next command found no table)."""
    monkeypatch.setenv("KOLAYBI_XL_FAST", fast)
    sb = start_sandbox(invoices=60, seed=SEED)
    path = tmp_path / "book.xlsx"
    assert main(["fetch", str(path)]) == 0
    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    sheet.delete_rows(1, 4)
    assert sheet.cell(2, 1).value == layout.ID_HEADER  # the header is in the strip's rows now
    columns = {c.value: c.column for c in sheet[2] if c.value}
    vaults = {v.currency.upper(): v.name for v in sb.books.vault_records()}
    sheet.cell(5, columns["Tahsil Et"], "x")
    sheet.cell(5, columns["Kasa/Banka"], vaults[str(sheet.cell(5, columns["Para Birimi"]).value)])
    book.save(path)
    before = _values(path)[layout.INVOICES][:4]

    assert main(["collect", str(path), "--yes"]) in (0, 1)

    after = _values(path)[layout.INVOICES]
    assert after[:4] == before  # title, header and the first rows as they were
    assert str(after[4][columns["Tahsilat Durumu"] - 1]).startswith(("Tamamlandı", "Atlandı"))
    assert main(["collect", str(path), "--dry-run"]) == 0  # the table is still found

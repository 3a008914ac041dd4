"""`kolaybi-xl collect` through the patching backend against the openpyxl one, on the same
workbook and the same sandbox books: the saved files must agree cell for cell (values, types,
number formats, quote prefixes) as openpyxl, python-calamine and LibreOffice read them, and every
zip member the command did not need to change must stay byte-identical."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from test_cli_collect import edit_rows, open_rows, vault_name
from xlsx_writers import (
    SOFFICE,
    libreoffice_values,
    log_prepared,
    no_openpyxl_fallback,
    raw_members,
    resave_with_libreoffice,
    rewrite_with_xlsxwriter,
    with_x_prefix,
)

from kolaybi_xl.cli import main
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.xlsx_file import FileGrid
from kolaybi_xl.workbook.xlsx_patch import FAST_ENV, PatchGrid, early_deflate, open_for_collect
from kolaybi_xl.workbook.xlsx_patch import grid as patch_grid

SEED, INVOICES = 21, 120
LO_PROFILE = "/tmp/lo_speed"
RECENT = timedelta(days=1)


def _use(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, journal: Path) -> None:
    monkeypatch.setenv("KOLAYBI_BASE_URL", sb.url)
    monkeypatch.setenv("KOLAYBI_CHANNEL", sb.channel)
    monkeypatch.setenv("KOLAYBI_API_KEY", sb.api_key)
    monkeypatch.setenv("KOLAYBI_XL_JOURNAL", str(journal))


def _prepared(
    tmp_path: Path, sb: Sandbox, suffix: str, earlier_log: bool = True, partial: bool = True
) -> Path:
    """A fetched workbook (from the template) with rows marked: some to collect (with
    ``partial`` two of them a part, from Tahsil Tutarı), one with a vault that does not exist,
    one of another currency's vault; with ``earlier_log`` its log holds rows of an earlier run,
    else only the template's header."""
    path = tmp_path / f"fetched{suffix}"
    assert main(["fetch", str(path)]) == 0
    if earlier_log:
        log_prepared(path)
    docs = open_rows(sb)
    try_vault, usd_vault = vault_name(sb, "TRY"), vault_name(sb, "USD")
    edits: dict[int, dict[str, Any]] = {
        d: {"Tahsil Et": "x", "Kasa/Banka": try_vault} for d in docs[:7]
    }
    edits[docs[7]] = {"Tahsil Et": "x", "Kasa/Banka": "yok böyle kasa"}
    edits[docs[8]] = {"Tahsil Et": "evet", "Kasa/Banka": usd_vault}
    if partial:  # issue 14: a number and Turkish text in Tahsil Tutarı
        edits[docs[1]]["Tahsil Tutarı"] = 1
        edits[docs[2]]["Tahsil Tutarı"] = "2,50"
    edit_rows(path, edits)
    return path


WRITERS: dict[str, Callable[[Path, Path], None]] = {
    "openpyxl": lambda source, target: shutil.copyfile(source, target),
    "xlsxwriter": rewrite_with_xlsxwriter,
    "x-prefix": with_x_prefix,
    "libreoffice": lambda source, target: resave_with_libreoffice(source, target, LO_PROFILE),
}


def _collect_both(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    writer: str,
    suffix: str,
    earlier_log: bool = True,
) -> tuple[Path, Path, Path]:
    """(the workbook before, after the openpyxl path, after the fast path): the same file
    collected against two sandboxes with the same books."""
    before = tmp_path / f"before{suffix}"
    results = {}
    for fast in ("0", "1"):
        with Sandbox(invoices=INVOICES, seed=SEED) as sb:
            _use(sb, monkeypatch, tmp_path / f"journal-{fast}.jsonl")
            if fast == "0":
                WRITERS[writer](_prepared(tmp_path, sb, suffix, earlier_log), before)
            path = tmp_path / f"collected-{fast}{suffix}"
            shutil.copyfile(before, path)
            monkeypatch.setenv(FAST_ENV, fast)
            with _no_fallback() if fast == "1" else contextlib.nullcontext():
                assert main(["collect", str(path), "--yes"]) == 1  # the row with a bad vault
            results[fast] = path
    return before, results["0"], results["1"]


def _no_fallback() -> contextlib.AbstractContextManager[None]:
    """Fail if the fast path gave the file or its save to openpyxl."""
    return no_openpyxl_fallback("kolaybi_xl.workbook.xlsx_patch")


def _plain(value: Any) -> Any:
    """A value with this run's clock taken out (collection times, the status line's time)."""
    if isinstance(value, datetime) and abs(value - datetime.now()) < RECENT:
        return "<now>"
    if isinstance(value, str):
        return re.sub(r"\(\d\d\.\d\d\.\d{4} \d\d:\d\d\)", "(<now>)", value)
    return value


def openpyxl_cells(path: Path) -> dict[tuple[str, int, int], tuple[Any, ...]]:
    book = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
    cells = {}
    for ws in book.worksheets:
        for (r, c), cell in ws._cells.items():
            if cell.value is None and not cell.has_style:
                continue
            key = (ws.title, r, c)
            # LibreOffice writes dd\.mm\.yyyy for dd.mm.yyyy: the same format.
            number_format = cell.number_format.replace("\\", "")
            cells[key] = (_plain(cell.value), cell.data_type, number_format, cell.quotePrefix)
    return cells


def calamine_values(path: Path) -> dict[str, list[list[Any]]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
    return {
        name: [[_no_id(_plain(v)) for v in row] for row in book.get_sheet_by_name(name).to_python()]
        for name in book.sheet_names
    }


def _no_id(value: Any) -> Any:
    """Each collect gives its workbook an id of its own (Kitap Kimliği): compared by shape."""
    return "kb-…" if isinstance(value, str) and value.startswith("kb-") else value


def _value_cells(cells: dict[tuple[str, int, int], tuple[Any, ...]]) -> dict[Any, Any]:
    # Each collect gives its workbook an id of its own (Kitap Kimliği): compared by its shape.
    return {
        k: (("kb-…", *v[1:]) if str(v[0]).startswith("kb-") else v)
        for k, v in cells.items()
        if v[0] is not None
    }


def _assert_same_cells(slow: Path, fast: Path) -> None:
    a, b = openpyxl_cells(slow), openpyxl_cells(fast)
    # Every cell with a value agrees in value, type, number format and quote prefix.
    assert _value_cells(a) == _value_cells(b)
    # Formatted empty cells (spare rows) agree in number format.
    formats = {k: v[2] for k, v in a.items() if v[0] is None}
    assert {k: b[k][2] for k in formats if k in b} == {k: formats[k] for k in formats if k in b}
    assert calamine_values(slow) == calamine_values(fast)


def _changed_members(before: Path, after: Path) -> set[str]:
    old, new = raw_members(before), raw_members(after)
    assert set(old) == set(new)
    return {name for name in old if old[name] != new[name]}


# Outcomes, the log, its _FilterDatabase name, a style only if no identical one exists, and the
# workbook's id on Ayarlar (written by its first collect).
EXPECTED_CHANGES = {
    "xl/worksheets/sheet1.xml",
    "xl/worksheets/sheet4.xml",
    "xl/worksheets/sheet5.xml",
    "xl/workbook.xml",
    "xl/styles.xml",
}


@pytest.mark.parametrize("writer", ["openpyxl", "xlsxwriter", "x-prefix"])
def test_fast_collect_matches_openpyxl(tmp_path, monkeypatch, writer):
    before, slow, fast = _collect_both(tmp_path, monkeypatch, writer, ".xlsx")
    fast_grid = PatchGrid.open(before, formatted=(layout.COLLECTION_LOG,))
    with fast_grid, FileGrid.open(before, for_writing=False) as slow_grid:
        # The file qualifies, and reads exactly as through openpyxl (types included).
        assert fast_grid.sheet_names() == slow_grid.sheet_names()
        for name in slow_grid.sheet_names():
            expected, got = slow_grid.read(name), fast_grid.read(name)
            assert got == expected, name
            assert [list(map(type, r)) for r in got] == [list(map(type, r)) for r in expected]
    _assert_same_cells(slow, fast)
    changed = _changed_members(before, fast)
    assert changed <= EXPECTED_CHANGES
    assert "xl/worksheets/sheet1.xml" in changed  # outcomes
    assert "xl/worksheets/sheet4.xml" in changed  # the log


def test_fast_collect_with_sheets_deflated_ahead_matches_openpyxl(tmp_path, monkeypatch):
    """Every sheet deflated ahead in small pieces while the sends run (as a 50,000-row one
    is): the same workbook, and the same members changed."""
    monkeypatch.setattr(patch_grid, "BIG", 1)
    monkeypatch.setattr(early_deflate, "PIECE", 700)
    made: list[int] = []
    real = early_deflate.EarlyDeflate.edited

    def edited(self: Any, edits: Any) -> Any:
        made.append(len(self.original))
        return real(self, edits)

    monkeypatch.setattr(early_deflate.EarlyDeflate, "edited", edited)
    before, slow, fast = _collect_both(tmp_path, monkeypatch, "openpyxl", ".xlsx")
    assert made  # the invoice sheet's new bytes came from the pieces
    _assert_same_cells(slow, fast)
    changed = _changed_members(before, fast)
    assert changed <= EXPECTED_CHANGES
    assert "xl/worksheets/sheet1.xml" in changed


def test_first_fast_collect_on_a_fetched_xlsm_keeps_vba_byte_identical(tmp_path, monkeypatch):
    # The log holds only the template's header: this collect extends the template's format.
    before, slow, fast = _collect_both(tmp_path, monkeypatch, "openpyxl", ".xlsm", False)
    _assert_same_cells(slow, fast)
    old, new = raw_members(before), raw_members(fast)
    assert old["xl/vbaProject.bin"] == new["xl/vbaProject.bin"]
    unchanged = {n for n in old if old[n] == new[n]}
    assert len(unchanged) >= len(old) - len(EXPECTED_CHANGES)


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_fast_collect_on_a_libreoffice_file_reads_the_same_in_libreoffice(tmp_path, monkeypatch):
    before, slow, fast = _collect_both(tmp_path, monkeypatch, "libreoffice", ".xlsx")
    _assert_same_cells(slow, fast)
    assert _changed_members(before, fast) <= EXPECTED_CHANGES
    seen_slow = {k: _no_id(_plain(v)) for k, v in libreoffice_values(slow, LO_PROFILE).items()}
    seen_fast = {k: _no_id(_plain(v)) for k, v in libreoffice_values(fast, LO_PROFILE).items()}
    assert seen_slow == seen_fast


def test_repeated_fast_collect_does_not_grow_styles(tmp_path, monkeypatch):
    with Sandbox(invoices=INVOICES, seed=SEED) as sb:
        _use(sb, monkeypatch, tmp_path / "journal.jsonl")
        # (no partial rows: they stay open, and the next marks go to the next open rows)
        path = _prepared(tmp_path, sb, ".xlsx", partial=False)
        assert main(["collect", str(path), "--yes"]) == 1
        docs = open_rows(sb)
        edit_rows(
            path, {d: {"Tahsil Et": "x", "Kasa/Banka": vault_name(sb, "TRY")} for d in docs[:3]}
        )
        first = raw_members(path)  # the edit resaved it through openpyxl: styles as it left them
        assert main(["collect", str(path), "--yes"]) == 0
        second = raw_members(path)
        assert second["xl/styles.xml"] == first["xl/styles.xml"]
        assert main(["collect", str(path), "--yes"]) == 0  # nothing marked is left open
        assert raw_members(path)["xl/styles.xml"] == first["xl/styles.xml"]


def test_a_log_never_formatted_goes_through_openpyxl(tmp_path, monkeypatch):
    with Sandbox(invoices=30, seed=SEED) as sb:
        _use(sb, monkeypatch, tmp_path / "journal.jsonl")
        path = tmp_path / "new.xlsx"
        assert main(["fetch", str(path)]) == 0
        assert isinstance(_opened(path), PatchGrid)  # the template's log has its format
        book = openpyxl.load_workbook(path)
        book[layout.COLLECTION_LOG].auto_filter.ref = None
        book.save(path)
        assert isinstance(_opened(path), FileGrid)  # decided at open, before any API call
        log_prepared(path)
        assert isinstance(_opened(path), PatchGrid)
        monkeypatch.setenv(FAST_ENV, "0")
        assert isinstance(_opened(path), FileGrid)


def _opened(path: Path) -> object:
    grid = open_for_collect(path)
    grid.close()
    return grid

"""Deflating a big sheet ahead of the save: the pieces its edits do not touch are reused, and
the joined stream is exactly the edited part (CRC and size included)."""

from __future__ import annotations

import random
import shutil
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
from xlsx_writers import raw_members

from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.xlsx_patch import PatchGrid
from kolaybi_xl.workbook.xlsx_patch import grid as patch_grid
from kolaybi_xl.workbook.xlsx_patch.early_deflate import EarlyDeflate
from kolaybi_xl.workbook.xlsx_patch.sheet import Sheet

PIECE = 1000


def _original() -> bytes:
    rng = random.Random(5)
    words = [b"<row>", b"<c r='A1'>", b"Tamam", b"</c>", b"12.5", b"</row>", b"x" * 7]
    return b"".join(rng.choice(words) for _ in range(3000))


def _check(early: EarlyDeflate, original: bytes, edits: list[tuple[int, int, bytes]]) -> None:
    expected = Sheet.apply(_Holder(original), edits)  # type: ignore[arg-type]
    got = early.edited(edits)
    assert got is not None
    assert zlib.decompress(got.data, -15) == expected
    assert got.crc == zlib.crc32(expected)
    assert got.size == len(expected)


class _Holder:
    def __init__(self, xml: bytes) -> None:
        self.xml = xml


@pytest.mark.parametrize(
    "edits",
    [
        [],
        [(0, 0, b"<start/>")],
        [(5, 9, b"")],
        [(PIECE - 2, PIECE + 3, b"across a piece boundary")],
        [(PIECE, PIECE, b"at a boundary"), (PIECE, PIECE + 10, b"then replaced")],
        [(2 * PIECE - 1, 2 * PIECE, b"last byte of a piece")],
        [(10, 20, b"a"), (1500, 1600, b"b" * 5000), (3 * PIECE + 7, 5 * PIECE + 1, b"c")],
        [(-1, -1, b"at the very end")],
        [(-5, -1, b"the last piece")],
    ],
)
def test_edited_is_the_edited_part(edits):
    original = _original()
    n = len(original)
    edits = [(s % (n + 1) if s < 0 else s, e % (n + 1) if e < 0 else e, b) for s, e, b in edits]
    early = EarlyDeflate(original, piece=PIECE)
    _check(early, original, edits)


def test_many_scattered_edits():
    original = _original()
    rng = random.Random(11)
    starts = sorted(rng.sample(range(len(original)), 60))
    edits, pos = [], 0
    for start in starts:
        if start < pos:
            continue
        end = min(len(original), start + rng.randrange(0, 40))
        edits.append((start, end, bytes(rng.randrange(256) for _ in range(rng.randrange(30)))))
        pos = end
    _check(EarlyDeflate(original, piece=PIECE), original, edits)


def _book(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = layout.INVOICES
    book.create_sheet("Ayarlar")["A1"] = "dokunulmaz"
    for row in range(1, 400):
        sheet.append([row, f"satır {row}", row * 1.5, "=A1*2" if row == 3 else None])
    book.save(path)
    return path


def test_a_save_with_the_sheet_deflated_ahead(tmp_path, monkeypatch):
    """The saved workbook is the one a save without deflating ahead makes: the same sheet
    XML, every other member byte-identical, a valid zip."""
    monkeypatch.setattr(patch_grid, "BIG", 1)  # any sheet read is big here
    source = _book(tmp_path / "source.xlsx")
    plain, early = tmp_path / "plain.xlsx", tmp_path / "early.xlsx"
    shutil.copyfile(source, plain)
    shutil.copyfile(source, early)

    def change(path: Path, ahead: bool) -> None:
        with PatchGrid.open(path) as grid:
            grid.read(layout.INVOICES)
            if ahead:
                grid.prepare_save()
                assert grid._early
            for row in (1, 200, 399, 400):
                grid.write(layout.INVOICES, row, 2, [["yazıldı"]])
            grid.save()

    change(plain, False)
    change(early, True)
    assert zipfile.ZipFile(early).testzip() is None
    before, after = raw_members(plain), raw_members(early)
    sheet = "xl/worksheets/sheet1.xml"
    assert {n for n in before if before[n] != after[n]} == {sheet}
    assert zipfile.ZipFile(early).read(sheet) == zipfile.ZipFile(plain).read(sheet)
    with PatchGrid.open(early, for_writing=False) as grid:
        assert grid.read(layout.INVOICES)[399][1] == "yazıldı"

"""The workbook writer lock, the "unchanged" check right before the replace, bounded loads."""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path

import openpyxl
import pytest

from kolaybi_xl.workbook import xlsx_file
from kolaybi_xl.workbook.xlsx_file import FileGrid, WorkbookError, find_lock, lock_file


def new_book(tmp_path: Path, name: str = "book.xlsx") -> Path:
    path = tmp_path / name
    workbook = openpyxl.Workbook()
    workbook.active.title = "S"
    workbook.save(path)
    return path


def test_a_second_writer_waits_then_is_told_busy(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    first = FileGrid.open(path)
    try:
        with pytest.raises(WorkbookError) as caught:
            FileGrid.open(path, lock_wait=0.0)
        assert caught.value.reason == "busy"
        assert "busy" in caught.value.message
        assert "\n" not in caught.value.message
        assert "meşgul" in caught.value.message_tr
        # Readers (a dry run) are not writers: they never wait.
        FileGrid.open(path, for_writing=False).close()
    finally:
        first.close()
    FileGrid.open(path, lock_wait=0.0).close()  # released on close


def test_the_lock_file_is_ignored_by_lock_detection_and_removed(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    with FileGrid.open(path):
        assert lock_file(path).exists()
        assert find_lock(path) is None
    assert not lock_file(path).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx"]


def test_a_waiting_writer_gets_the_workbook_once_the_first_closes(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    first = FileGrid.open(path)
    first.write("S", 1, 1, [["first"]])
    got: list[FileGrid] = []

    def second() -> None:
        got.append(FileGrid.open(path, lock_wait=30.0))

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.3)
    assert thread.is_alive()  # waiting for the lock
    first.save()
    first.close()
    thread.join(30)
    grid = got[0]
    try:
        assert grid.read("S")[0][0] == "first"  # loaded after the first one's save
        grid.write("S", 1, 2, [["second"]])
        grid.save()
    finally:
        grid.close()
    with FileGrid.open(path, for_writing=False) as check:
        assert check.read("S")[0][:2] == ["first", "second"]  # nothing lost


def test_two_writers_in_threads_never_lose_a_save(tmp_path: Path) -> None:
    """Each writer loads, adds its cell, saves; with one writer at a time all cells survive
    (before the lock, both passed the 'unchanged' check and the last replace won)."""
    path = new_book(tmp_path)
    errors: list[BaseException] = []

    def writer(column: int) -> None:
        try:
            with FileGrid.open(path, lock_wait=60.0) as grid:
                grid.write("S", 1, column, [[f"w{column}"]])
                grid.save()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(c,)) for c in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    with FileGrid.open(path, for_writing=False) as check:
        assert check.read("S")[0] == [f"w{c}" for c in range(1, 7)]


def test_the_unchanged_check_runs_right_before_the_replace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program saving while we serialise: nothing of ours replaces its file."""
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    grid.write("S", 1, 1, [["ours"]])
    serialise = FileGrid._serialise

    def slow_serialise(self: FileGrid) -> bytes:
        data = serialise(self)
        other = openpyxl.Workbook()
        other.active.title = "S"
        other.active["A1"] = "theirs"
        other.save(path)  # e.g. Excel saving meanwhile
        return data

    monkeypatch.setattr(FileGrid, "_serialise", slow_serialise)
    with pytest.raises(WorkbookError) as caught:
        grid.save()
    grid.close()
    assert caught.value.reason == "changed"
    assert openpyxl.load_workbook(path)["S"]["A1"].value == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["book.xlsx"]


def zip_bomb(path: Path, megabytes: int) -> None:
    """A valid-looking workbook whose one sheet expands to ``megabytes`` MB of zeros."""
    source = io.BytesIO()
    openpyxl.Workbook().save(source)
    with (
        zipfile.ZipFile(io.BytesIO(source.getvalue())) as original,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb,
    ):
        for item in original.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with bomb.open(item.filename, "w", force_zip64=True) as member:
                    chunk = b" " * (1024 * 1024)
                    for _ in range(megabytes):
                        member.write(chunk)
            else:
                bomb.writestr(item, original.read(item.filename))


def test_a_zip_bomb_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bomb.xlsx"
    zip_bomb(path, 260)
    assert path.stat().st_size < 2 * 1024 * 1024

    def never(*args: object, **kwargs: object) -> None:  # pragma: no cover - must not run
        raise AssertionError("parsed a zip bomb")

    monkeypatch.setattr(xlsx_file.openpyxl, "load_workbook", never)
    with pytest.raises(WorkbookError) as caught:
        FileGrid.open(path)
    assert caught.value.reason == "unsafe"
    assert "\n" not in caught.value.message
    assert "MB" in caught.value.message
    assert not lock_file(path).exists()


def test_a_big_but_plausible_expansion_still_opens(tmp_path: Path) -> None:
    # 50x under 200 MB is fine: real workbooks compress 10-20x.
    path = tmp_path / "fine.xlsx"
    zip_bomb(path, 3)
    with pytest.raises(WorkbookError) as caught:  # spaces are not a sheet: damaged, not unsafe
        FileGrid.open(path)
    assert caught.value.reason == "damaged"

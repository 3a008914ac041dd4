"""The command line under races (issue #11): a second writer is told "busy"; fetch and report
running while collect runs never wipe its outcomes; journal problems and a closed pipe end in
one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_cli_collect import edit_rows, fetched, log_rows, open_rows, outcomes, run, vault_name

from kolaybi_xl.jobs.journal import Journal
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook.xlsx_file import FileGrid, lock_file


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(invoices=60, seed=5) as sb:
        monkeypatch.setenv("KOLAYBI_BASE_URL", sb.url)
        monkeypatch.setenv("KOLAYBI_CHANNEL", sb.channel)
        monkeypatch.setenv("KOLAYBI_API_KEY", sb.api_key)
        monkeypatch.setenv("KOLAYBI_XL_JOURNAL", str(tmp_path / "journal" / "journal.jsonl"))
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
        monkeypatch.setenv("KOLAYBI_XL_LOCK_WAIT", "0.2")
        yield sb


def test_a_second_writer_is_told_busy_in_one_line(sandbox: Sandbox, tmp_path: Path, capsys):
    path = fetched(tmp_path)
    capsys.readouterr()
    holder = FileGrid.open(path)
    try:
        assert run("report", path) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0
        assert "busy" in err
    finally:
        holder.close()
    assert run("report", path) == 0
    assert not lock_file(path).exists()


def test_fetch_and_report_during_collect_never_wipe_its_outcomes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The finding: collect and fetch/report on one workbook at once lost every outcome."""
    path = fetched(tmp_path)
    docs = open_rows(sandbox)[:12]
    edit_rows(path, {d: {"Tahsil Et": "x", "Kasa/Banka": vault_name(sandbox, "TRY")} for d in docs})
    sandbox.faults.latency = 0.03  # a collection run of a good fraction of a second
    env = {**os.environ, "KOLAYBI_XL_LOCK_WAIT": "60"}
    cli = [sys.executable, "-m", "kolaybi_xl"]
    collect = subprocess.Popen(
        [*cli, "collect", str(path), "--yes"], env=env, stderr=subprocess.PIPE, text=True
    )
    others = []
    deadline = time.monotonic() + 30
    while not sandbox.books.ledger and time.monotonic() < deadline:
        time.sleep(0.01)
    for command in ("fetch", "report", "fetch"):
        others.append(
            subprocess.Popen([*cli, command, str(path)], env=env, stderr=subprocess.PIPE, text=True)
        )
    assert collect.wait(120) == 0, collect.stderr.read() if collect.stderr else ""
    for proc in others:
        assert proc.wait(120) == 0, proc.stderr.read() if proc.stderr else ""
    assert set(sandbox.books.collected_documents()) == set(docs)
    rows = outcomes(path)
    for doc in docs:
        assert str(rows[doc]).startswith("Tamamlandı"), (doc, rows[doc])
    assert {r[1] for r in log_rows(path) if r[8] == "Tamamlandı"} == set(docs)
    journal = Journal(Path(os.environ["KOLAYBI_XL_JOURNAL"]))
    assert journal.unwritten(f"{sandbox.url}|{sandbox.channel}") == []


def test_an_unusable_journal_path_is_one_line(
    sandbox: Sandbox, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fetched(tmp_path)
    edit_rows(path, {open_rows(sandbox)[0]: {"Tahsil Et": "x", "Kasa/Banka": "Merkez Kasa"}})
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("KOLAYBI_XL_JOURNAL", str(blocker / "journal.jsonl"))
    capsys.readouterr()
    for args in (("journal",), ("journal", "--all"), ("collect", path, "--yes")):
        assert run(*args) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("kolaybi-xl: error: the collection journal"), err
        assert "\n" not in err
    assert sandbox.books.ledger == []


def test_journal_into_a_closed_pipe_is_quiet(sandbox: Sandbox, tmp_path: Path) -> None:
    """``kolaybi-xl journal --all | head -1``: more output than a pipe holds, reader gone."""
    path = Path(os.environ["KOLAYBI_XL_JOURNAL"])
    path.parent.mkdir(parents=True)
    lines = []
    for doc in range(3000):
        common = {"attempt": f"a{doc:08d}", "key": "k|c", "document_id": doc}
        lines.append(
            json.dumps(
                {
                    **common,
                    "event": "intent",
                    "vault_id": 1,
                    "amount": "1",
                    "remaining_before": "1",
                    "workbook": "x.xlsx",
                    "at": "2026-11-30T10:00:00",
                }
            )
        )
        lines.append(json.dumps({**common, "event": "outcome", "result": "applied"}))
    path.write_text("\n".join(lines) + "\n")
    reader = subprocess.Popen(
        [sys.executable, "-m", "kolaybi_xl", "journal", "--all"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ,
    )
    assert reader.stdout is not None
    assert reader.stdout.readline()
    reader.stdout.close()  # what `head -1` does
    _, err = reader.communicate(timeout=60)
    assert reader.returncode == 0
    assert b"Traceback" not in err
    assert b"BrokenPipe" not in err


def test_no_wait_is_a_collect_option(sandbox: Sandbox, tmp_path: Path) -> None:
    path = fetched(tmp_path)
    doc = open_rows(sandbox)[0]
    edit_rows(path, {doc: {"Tahsil Et": "x", "Kasa/Banka": "Merkez Kasa"}})
    assert run("collect", path, "--yes", "--no-wait") == 0
    assert str(outcomes(path)[doc]).startswith("Tamamlandı")
    book: Any = openpyxl.load_workbook(path)
    labels = [row[0] for row in book["Ayarlar"].iter_rows(values_only=True)]
    assert "Kitap Kimliği" in labels

"""`kolaybi-xl collect` on real files against the sandbox: exactly once, every outcome kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from kolaybi_xl.cli import main
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout

OUTCOME_STARTS = ("Tamamlandı", "Hata", "Atlandı")


@pytest.fixture
def sandbox(start_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return start_sandbox(invoices=120, seed=21)


def run(*args: Any) -> int:
    return main([str(a) for a in args])


def open_rows(sb: Sandbox, currency: str = "TRY") -> list[int]:
    return [
        r.id
        for r in sb.books.invoice_records("sale_invoice")
        if r.remaining > 0
        and r.currency.upper() == currency
        and r.status not in ("draft", "cancelled", "rejected")
    ]


def vault_name(sb: Sandbox, currency: str) -> str:
    return next(v.name for v in sb.books.vault_records() if v.currency.upper() == currency)


def edit_rows(path: Path, edits: dict[int, dict[str, Any]]) -> None:
    """What a person does in Excel: type into the cells of the rows of some invoices."""
    book = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
    sheet = book[layout.INVOICES]
    header_row = layout.INVOICE_HEADER_ROW
    columns = {c.value: c.column for c in sheet[header_row] if c.value}
    for row in sheet.iter_rows(min_row=header_row + 1):
        doc = row[columns[layout.ID_HEADER] - 1].value
        for header, value in edits.get(doc, {}).items():
            sheet.cell(row[0].row, columns[header]).value = value
    book.save(path)


def outcomes(path: Path) -> dict[int, str | None]:
    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    columns = {c.value: c.column for c in sheet[layout.INVOICE_HEADER_ROW] if c.value}
    result = {}
    for row in sheet.iter_rows(min_row=layout.INVOICE_HEADER_ROW + 1, values_only=True):
        if isinstance(row[columns[layout.ID_HEADER] - 1], int):
            result[row[columns[layout.ID_HEADER] - 1]] = row[columns["Tahsilat Durumu"] - 1]
    return result


def log_rows(path: Path) -> list[tuple]:
    book = openpyxl.load_workbook(path)
    return [r for r in book[layout.COLLECTION_LOG].iter_rows(min_row=2, values_only=True) if r[0]]


def fetched(tmp_path: Path, name: str = "book.xlsx") -> Path:
    path = tmp_path / name
    assert run("fetch", path) == 0
    return path


def test_dry_run_then_no_terminal_then_yes(sandbox, tmp_path, capsys, monkeypatch):
    path = fetched(tmp_path)
    docs = open_rows(sandbox)[:4]
    usd = open_rows(sandbox, "USD")[:1]
    edits = {d: {"Tahsil Et": "x", "Kasa/Banka": vault_name(sandbox, "TRY")} for d in docs}
    edits.update({d: {"Tahsil Et": "evet", "Kasa/Banka": vault_name(sandbox, "USD")} for d in usd})
    edit_rows(path, edits)
    capsys.readouterr()

    before = path.read_bytes()
    assert run("collect", path, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "5" in out
    assert "TRY" in out
    assert "USD" in out
    assert path.read_bytes() == before
    assert sandbox.books.ledger == []

    monkeypatch.setattr("sys.stdin", open(os.devnull))  # noqa: SIM115 - closed with the test
    assert run("collect", path) == 2
    assert "--yes" in capsys.readouterr().err
    assert path.read_bytes() == before
    assert sandbox.books.ledger == []

    assert run("collect", path, "--yes") == 0
    got = outcomes(path)
    for doc in docs + usd:
        assert got[doc].startswith("Tamamlandı"), got[doc]
    assert sandbox.books.collected_documents() == dict.fromkeys(docs + usd, 1)
    assert len(log_rows(path)) == 5

    # a second run collects nothing again and keeps the outcomes
    assert run("collect", path, "--yes") == 0
    assert sandbox.books.collected_documents() == dict.fromkeys(docs + usd, 1)
    assert all(outcomes(path)[d].startswith("Tamamlandı") for d in docs + usd)


def test_bad_rows_get_their_own_errors_and_lose_nothing(sandbox, tmp_path):
    path = fetched(tmp_path)
    sandbox.books.add_vault("Ortak Kasa", currency="TRY")
    sandbox.books.add_vault("Ortak Kasa", currency="TRY")
    assert run("vaults", path) == 0
    good, bad_mark, unknown, ambiguous, dup, usd_doc, untouched = open_rows(sandbox)[:7]
    edits = {
        good: {"Tahsil Et": "x", "Kasa/Banka": vault_name(sandbox, "TRY")},
        bad_mark: {"Tahsil Et": "belki", "Kasa/Banka": vault_name(sandbox, "TRY")},
        unknown: {"Tahsil Et": "x", "Kasa/Banka": "Yok Böyle Kasa"},
        ambiguous: {"Tahsil Et": "x", "Kasa/Banka": "Ortak Kasa"},
        usd_doc: {"Tahsil Et": "x", "Kasa/Banka": vault_name(sandbox, "USD")},
        untouched: {"Kasa/Banka": "not marked, my note"},
    }
    edit_rows(path, edits)
    # two rows of one invoice, and text in the id column of another row
    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    columns = {c.value: c.column for c in sheet[layout.INVOICE_HEADER_ROW] if c.value}
    last = sheet.max_row
    sheet.cell(last + 1, columns["Belge ID"]).value = dup
    sheet.cell(last + 1, columns["Tahsil Et"]).value = "x"
    sheet.cell(last + 1, columns["Kasa/Banka"]).value = vault_name(sandbox, "TRY")
    sheet.cell(last + 2, columns["Belge ID"]).value = dup
    sheet.cell(last + 2, columns["Tahsil Et"]).value = "x"
    sheet.cell(last + 2, columns["Kasa/Banka"]).value = vault_name(sandbox, "TRY")
    sheet.cell(last + 3, columns["Belge ID"]).value = "ABC-12"
    sheet.cell(last + 3, columns["Tahsil Et"]).value = "x"
    sheet.cell(last + 3, columns["Kasa/Banka"]).value = vault_name(sandbox, "TRY")
    book.save(path)

    assert run("collect", path, "--yes") == 1
    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    text = {}
    for row in sheet.iter_rows(min_row=layout.INVOICE_HEADER_ROW + 1, values_only=True):
        key = row[columns["Belge ID"] - 1]
        text.setdefault(key, []).append(row[columns["Tahsilat Durumu"] - 1])
    assert text[good][0].startswith("Tamamlandı")
    assert "Tahsil Et" in text[bad_mark][0]
    assert "bulunamadı" in text[unknown][0]
    assert "belirsiz" in text[ambiguous][0]
    assert text[usd_doc][0].startswith("Hata: para birimi")
    assert len(text[dup]) == 3  # the original row and the two typed ones
    assert all(t is None or t.startswith("Hata") for t in text[dup])
    assert text["ABC-12"][0].startswith("Hata: Belge ID")
    assert text[untouched] == [None]
    assert sandbox.books.collected_documents() == {good: 1}
    # what the user typed is still there
    assert sheet.cell(last + 3, columns["Belge ID"]).value == "ABC-12"
    row_of_untouched = next(
        r for r in sheet.iter_rows(min_row=7) if r[columns["Belge ID"] - 1].value == untouched
    )
    assert row_of_untouched[columns["Kasa/Banka"] - 1].value == "not marked, my note"


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        ("empty", "Faturalar"),
        ("missing_columns", "Tahsil Et"),
        ("locked", "Excel"),
        ("wrong_type", "xls"),
    ],
)
def test_file_level_errors_are_exit_2_and_change_nothing(sandbox, tmp_path, capsys, setup, needle):
    path = tmp_path / "book.xlsx"
    if setup == "empty":
        book = openpyxl.Workbook()
        book.active.title = layout.INVOICES
        book.save(path)
    elif setup == "missing_columns":
        book = openpyxl.Workbook()
        book.active.title = layout.INVOICES
        book.active.append(["Belge ID", "Kasa/Banka"])
        book.active.append([1001, "Merkez Kasa"])
        book.save(path)
    elif setup == "locked":
        path = fetched(tmp_path)
        (tmp_path / "~$book.xlsx").write_bytes(b"\x04Ayse" + b" " * 60)
    else:
        path = tmp_path / "book.xls"
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500)
    before = path.read_bytes()
    capsys.readouterr()
    assert run("collect", path, "--yes") == 2
    err = capsys.readouterr().err.strip()
    assert needle in err
    assert "\n" not in err
    assert path.read_bytes() == before
    assert sandbox.books.ledger == []


def test_every_fault_mode_still_collects_exactly_once(sandbox, tmp_path):
    path = fetched(tmp_path)
    docs = open_rows(sandbox)[:24]
    edit_rows(path, {d: {"Tahsil Et": "x", "Kasa/Banka": vault_name(sandbox, "TRY")} for d in docs})
    sandbox.faults.seed(5)
    sandbox.faults.slow_seconds = 0.2
    for kind in (
        "rate_limit",
        "error_before",
        "error_after",
        "drop_after",
        "bad_json",
        "expire_token",
    ):
        sandbox.faults.inject(kind, endpoint="proceed", probability=0.12, retry_after=0)
    sandbox.faults.inject("error_before", endpoint="invoices", probability=0.2)
    code = run("collect", path, "--yes")
    assert code in (0, 1)
    counts = sandbox.books.collected_documents()
    assert max(counts.values(), default=0) <= 1
    got = outcomes(path)
    assert all(got[d] and got[d].startswith(OUTCOME_STARTS) for d in docs)
    for doc in docs:
        if got[doc].startswith("Tamamlandı"):
            assert counts[doc] == 1

    sandbox.faults.clear()
    assert run("collect", path, "--yes") == 0
    counts = sandbox.books.collected_documents()
    assert counts == dict.fromkeys(docs, 1)
    assert all(outcomes(path)[d].startswith("Tamamlandı") for d in docs)
    applied_log = [r for r in log_rows(path) if str(r[8]).startswith("Tamamlandı")]
    assert sorted(r[1] for r in applied_log) == sorted(docs)


def test_a_killed_collect_is_finished_by_the_next_run(tmp_path):
    with Sandbox(invoices=120, seed=22, latency=0.05) as sb:
        env = {
            **os.environ,
            "KOLAYBI_BASE_URL": sb.url,
            "KOLAYBI_CHANNEL": sb.channel,
            "KOLAYBI_API_KEY": sb.api_key,
        }
        path = tmp_path / "book.xlsx"
        cmd = [sys.executable, "-m", "kolaybi_xl"]
        subprocess.run([*cmd, "fetch", str(path)], env=env, check=True, capture_output=True)
        docs = open_rows(sb)[:30]
        edit_rows(path, {d: {"Tahsil Et": "x", "Kasa/Banka": vault_name(sb, "TRY")} for d in docs})
        before = path.read_bytes()
        proc = subprocess.Popen(
            [*cmd, "collect", str(path), "--yes", "--concurrency", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while len(sb.books.ledger) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        applied = len(sb.books.ledger)
        assert 6 <= applied < len(docs), "killed half way"
        assert path.read_bytes() == before  # nothing half-written

        done = subprocess.run(
            [*cmd, "collect", str(path), "--yes"], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert sb.books.collected_documents() == dict.fromkeys(docs, 1)
        got = outcomes(path)
        assert all(got[d].startswith("Tamamlandı") for d in docs)
        logged = [r[1] for r in log_rows(path) if str(r[8]).startswith("Tamamlandı")]
        assert sorted(logged) == sorted(docs)
        key = sb.api_key
    # the key is nowhere: workbook, journal, output
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            assert key.encode() not in archive.read(name)
    journal = Path(env["KOLAYBI_XL_JOURNAL"])
    assert journal.exists()
    assert key not in journal.read_text()
    assert key not in done.stdout + done.stderr


def test_dry_run_exits_1_when_a_marked_row_has_an_error(sandbox, tmp_path, capsys):
    path = fetched(tmp_path)
    good, bad = open_rows(sandbox)[:2]
    edit_rows(
        path,
        {
            good: {"Tahsil Et": "x", "Kasa/Banka": vault_name(sandbox, "TRY")},
            bad: {"Tahsil Et": "x", "Kasa/Banka": "Böyle Bir Kasa Yok"},
        },
    )
    capsys.readouterr()
    before = path.read_bytes()
    assert run("collect", path, "--dry-run") == 1
    assert "would not be collected" in capsys.readouterr().err
    assert path.read_bytes() == before
    assert sandbox.books.ledger == []
    edit_rows(path, {bad: {"Tahsil Et": ""}})
    assert run("collect", path, "--dry-run") == 0  # every marked row would go


def test_amounts_in_the_plan_are_exact(sandbox, tmp_path, capsys):
    path = fetched(tmp_path)
    docs = open_rows(sandbox)[:3]
    edit_rows(path, {d: {"Tahsil Et": "x", "Kasa/Banka": vault_name(sandbox, "TRY")} for d in docs})
    capsys.readouterr()
    assert run("collect", path, "--dry-run") == 0
    out = capsys.readouterr().out
    total = sum((sandbox.books.invoices[d].remaining for d in docs), Decimal(0))
    assert f"{total:,.2f}" in out or f"{total:.2f}" in out


def test_an_unsettled_attempt_is_listed_blocks_sending_and_can_be_resolved(
    sandbox, tmp_path, capsys
):
    from kolaybi_xl.jobs.journal import UNKNOWN, Journal

    path = fetched(tmp_path)
    doc = open_rows(sandbox)[0]
    vault = next(v for v in sandbox.books.vault_records() if v.currency.upper() == "TRY")
    edit_rows(path, {doc: {"Tahsil Et": "x", "Kasa/Banka": vault.name}})
    # someone collected part of it meanwhile, so a re-read cannot tell what our attempt did
    record = sandbox.books.invoices[doc]
    journal = Journal.default()
    attempt = journal.intent(
        key=f"{sandbox.url}|{sandbox.channel}",
        document_id=doc,
        vault_id=vault.id,
        amount=record.remaining,
        currency="TRY",
        remaining_before=record.remaining,
        workbook=str(path.resolve()),
        row=7,
    )
    journal.outcome(attempt, UNKNOWN, "bağlantı koptu")
    sandbox.books.proceed(doc, vault.id, amount=Decimal("0.01"))
    capsys.readouterr()

    assert run("journal") == 0
    listing = capsys.readouterr().out
    assert attempt.attempt[:12] in listing
    assert str(doc) in listing

    assert run("collect", path, "--yes") == 1
    assert "belirsiz" in outcomes(path)[doc]
    assert sandbox.books.collected_documents()[doc] == 1  # only the 0.01 from elsewhere

    # the accountant checks KolayBi: only the 0.01 from elsewhere is there
    assert run("journal", "--resolve", attempt.attempt[:8], "--as", "not-applied") == 0
    assert run("journal", "--resolve", attempt.attempt[:8], "--as", "applied") == 2
    assert run("collect", path, "--yes") == 0
    assert outcomes(path)[doc].startswith("Tamamlandı")
    assert sandbox.books.collected_documents()[doc] == 2  # the 0.01 and now ours, once
    assert sandbox.books.invoices[doc].remaining == 0
    capsys.readouterr()
    assert run("journal") == 0
    assert "no unsettled" in capsys.readouterr().out


def test_an_invoice_whose_text_holds_a_lone_surrogate_is_collected_once(sandbox, tmp_path):
    """A party name or serial with "\\ud800" alone in the JSON: fetch writes a workbook that
    opens, and collect prints its plan, journals and collects as for any row (it stopped with
    an "unexpected error" before any send, every time)."""
    path = fetched(tmp_path)
    docs = open_rows(sandbox)[:2]
    sandbox.books.update_invoice(docs[0], associate_name="Kötü\ud800 Ad", serial_no="S\udfff1")
    assert run("fetch", path) == 0
    edit_rows(path, {d: {"Tahsil Et": "x", "Kasa/Banka": vault_name(sandbox, "TRY")} for d in docs})
    assert run("collect", path, "--yes") == 0
    assert run("collect", path, "--yes") == 0
    assert all(sandbox.books.collected_documents()[d] == 1 for d in docs)
    assert all(outcomes(path)[d] for d in docs)


@pytest.mark.parametrize("fast", ["1", "0"])
def test_merged_outcome_cells_are_refused_before_any_money_moves(
    sandbox, tmp_path, capsys, monkeypatch, fast
):
    """Two marked rows whose ``Tahsilat Durumu`` cells a person merged could not take their
    outcomes: said before anything is sent (the save after the sends used to refuse it), the
    file unchanged; unmerged, the same run collects them."""
    monkeypatch.setenv("KOLAYBI_XL_FAST", fast)
    path = fetched(tmp_path)
    first, second = open_rows(sandbox)[:2]
    vault = vault_name(sandbox, "TRY")
    edit_rows(path, {doc: {"Tahsil Et": "x", "Kasa/Banka": vault} for doc in (first, second)})
    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    columns = {c.value: c.column for c in sheet[layout.INVOICE_HEADER_ROW] if c.value}
    row = next(r[0].row for r in sheet.iter_rows(min_row=7) if r[0].value == first)
    assert sheet.cell(row + 1, columns["Belge ID"]).value == second  # the next row
    letter = openpyxl.utils.get_column_letter(columns["Tahsilat Durumu"])
    sheet.merge_cells(f"{letter}{row}:{letter}{row + 1}")
    book.save(path)
    before = path.read_bytes()
    capsys.readouterr()

    assert run("collect", path, "--dry-run") == 2  # what the run would do
    assert "merged" in capsys.readouterr().err
    assert run("collect", path, "--yes") == 2

    err = capsys.readouterr().err.strip()
    assert "merged" in err
    assert f"{letter}{row + 1}" in err
    assert sandbox.books.ledger == []
    assert path.read_bytes() == before

    book = openpyxl.load_workbook(path)
    book[layout.INVOICES].unmerge_cells(f"{letter}{row}:{letter}{row + 1}")
    book.save(path)
    assert run("collect", path, "--yes") == 0
    assert sandbox.books.collected_documents() == {first: 1, second: 1}


@pytest.mark.parametrize("fast", ["1", "0"])
def test_a_run_killed_after_saving_is_not_logged_twice(sandbox, tmp_path, monkeypatch, fast):
    """A run killed after its save, before the journal noted the outcomes saved: the next run
    writes them again (the journal cannot know the file holds them) — the same cells, and no
    second log row for one attempt (the log is one row per attempt; Özet sums it)."""
    monkeypatch.setenv("KOLAYBI_XL_FAST", fast)
    path = fetched(tmp_path)
    docs = open_rows(sandbox)[:3]
    vault = vault_name(sandbox, "TRY")
    edit_rows(path, {doc: {"Tahsil Et": "x", "Kasa/Banka": vault} for doc in docs})
    assert run("collect", path, "--yes") == 0
    first = log_rows(path)
    assert sorted(r[1] for r in first) == sorted(docs)
    journal = tmp_path / "journal" / "journal.jsonl"
    lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    journal.write_text(
        "".join(line for line in lines if '"written"' not in line), encoding="utf-8"
    )  # as if killed between the save and the journal's note

    assert run("collect", path, "--yes") == 0

    assert log_rows(path) == first
    assert sandbox.books.collected_documents() == dict.fromkeys(docs, 1)
    assert all(outcomes(path)[doc].startswith("Tamamlandı") for doc in docs)
    from kolaybi_xl.jobs.journal import Journal

    assert all(a.written for a in Journal(journal).attempts())

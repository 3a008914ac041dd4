"""`collect --dry-run` speaks one language: Turkish amounts and no English with ``--lang tr``,
English amounts and no Turkish sentences with ``--lang en``; the locale picks the same."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from babel.messages.pofile import read_po

import kolaybi_xl
from kolaybi_xl.cli import main
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.workbook import layout

PO = Path(kolaybi_xl.__file__).parent / "locale" / "tr" / "LC_MESSAGES" / "kolaybi_xl.po"
TR_AMOUNT = re.compile(r"\b\d{1,3}(?:\.\d{3})+,\d{2}\b")  # 1.234,56
EN_AMOUNT = re.compile(r"\b\d{1,3}(?:,\d{3})+\.\d{2}\b")  # 1,234.56


def _fragments(text: str) -> list[str]:
    """The literal runs of a message between its placeholders, long enough to be words."""
    runs = [lit for lit, *_ in string.Formatter().parse(text)]
    return [r.strip(" ;:,.()-—'") for r in runs if len(r.strip(" ;:,.()-—'")) >= 8 and " " in r]


def _catalogue_pairs() -> list[tuple[str, str]]:
    with PO.open("rb") as file:
        po = read_po(file, locale="tr")
    pairs = []
    for m in po:
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        texts = [m.string] if isinstance(m.string, str) else list(m.string)
        pairs += [(i, t) for i in ids for t in texts if i != t]
    return pairs


ENGLISH_FRAGMENTS = sorted({f for i, _ in _catalogue_pairs() for f in _fragments(i)})
TURKISH_FRAGMENTS = sorted({f for _, t in _catalogue_pairs() for f in _fragments(t)})
ENGLISH_WORDS = re.compile(
    r"\b(invoices?|rows?|will|would|collected|collection|nothing|sent|dry|run|unchanged|"
    r"errors?|skipped|already|done|totals?|the|and|see|above|marked|workbook)\b",
    re.IGNORECASE,
)


@pytest.fixture
def marked_book(start_sandbox: Callable[..., Sandbox], tmp_path: Path) -> Path:
    """A fetched workbook with three TRY rows of 1.000 or more marked, and one row marked
    with a vault that does not exist (a row error, quoted from the workbook)."""
    sandbox = start_sandbox(invoices=80, seed=5)
    path = tmp_path / "kitap.xlsx"
    assert main(["fetch", str(path)]) == 0
    big = [
        r.id
        for r in sandbox.books.invoice_records("sale_invoice")
        if r.currency.upper() == "TRY"
        and r.remaining >= Decimal(1000)
        and r.status not in ("draft", "cancelled", "rejected")
    ]
    assert len(big) >= 4
    vault = next(v.name for v in sandbox.books.vault_records() if v.currency.upper() == "TRY")
    edits: dict[int, dict[str, Any]] = {d: {"Tahsil Et": "x", "Kasa/Banka": vault} for d in big[:3]}
    edits[big[3]] = {"Tahsil Et": "x", "Kasa/Banka": "Olmayan Kasa"}
    book = openpyxl.load_workbook(path)
    sheet = book[layout.INVOICES]
    columns = {c.value: c.column for c in sheet[layout.INVOICE_HEADER_ROW] if c.value}
    for row in sheet.iter_rows(min_row=layout.INVOICE_HEADER_ROW + 1):
        for header, value in edits.get(row[columns[layout.ID_HEADER] - 1].value, {}).items():
            sheet.cell(row[0].row, columns[header]).value = value
    book.save(path)
    return path


def dry_run(capsys: pytest.CaptureFixture[str], path: Path, *lang: str) -> str:
    capsys.readouterr()
    code = main([*lang, "collect", "--dry-run", str(path)])
    captured = capsys.readouterr()
    assert code == 1  # the row with the unknown vault would not go
    text = captured.out + captured.err
    return text.replace(str(path), "PATH").replace(path.name, "PATH")


def _quoted_from_the_workbook(text: str) -> str:
    """The output without what the workbook and the API said: row errors and vault names."""
    kept = []
    for line in text.splitlines():
        if re.match(r"\s+(row|satır) \d+: ", line):
            continue  # a row's error, as written into 'Tahsilat Durumu' (Turkish)
        kept.append(re.sub(r"→ [^()]*\(", "→ (", line))  # the vault's name (the user's)
    return "\n".join(kept)


def test_dry_run_in_turkish_has_turkish_amounts_and_no_english(capsys, marked_book):
    text = dry_run(capsys, marked_book, "--lang", "tr")
    assert TR_AMOUNT.search(text), text
    assert not EN_AMOUNT.search(text), text
    found = [f for f in ENGLISH_FRAGMENTS if f in text]
    assert not found, (found, text)
    assert not ENGLISH_WORDS.search(text), (ENGLISH_WORDS.search(text), text)


def test_dry_run_in_english_has_english_amounts_and_no_turkish_sentences(capsys, marked_book):
    text = dry_run(capsys, marked_book, "--lang", "en")
    assert EN_AMOUNT.search(text), text
    assert not TR_AMOUNT.search(text), text
    ours = _quoted_from_the_workbook(text)
    found = [f for f in TURKISH_FRAGMENTS if f in ours]
    assert not found, (found, text)
    assert "Olmayan Kasa" in text  # the row error is shown, quoted from the workbook


def test_the_option_goes_after_the_command_too(capsys, marked_book):
    assert dry_run(capsys, marked_book, "--lang", "tr") == _after(capsys, marked_book)


def _after(capsys: pytest.CaptureFixture[str], path: Path) -> str:
    capsys.readouterr()
    assert main(["collect", "--lang", "tr", "--dry-run", str(path)]) == 1
    captured = capsys.readouterr()
    return (captured.out + captured.err).replace(str(path), "PATH").replace(path.name, "PATH")


@pytest.mark.parametrize(
    ("environ", "lang"),
    [
        ({"LANG": "tr_TR.UTF-8"}, "tr"),
        ({"LC_ALL": "tr_TR.UTF-8", "LANG": "en_US.UTF-8"}, "tr"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_MESSAGES": "en_GB.UTF-8", "LANG": "tr_TR.UTF-8"}, "en"),
        ({"KOLAYBI_LANG": "tr", "LANG": "en_US.UTF-8"}, "tr"),
    ],
)
def test_the_locale_picks_the_same_without_the_flag(
    capsys, marked_book, monkeypatch, environ, lang
):
    flagged = dry_run(capsys, marked_book, "--lang", lang)
    for name in ("KOLAYBI_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert dry_run(capsys, marked_book) == flagged

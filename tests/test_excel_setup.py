"""The Kurulum Kontrolü button (``kolaybi_xl.excel.check_setup``) on the xlwings stand-in of
``test_excel.py``, against the sandbox over HTTP."""

from __future__ import annotations

import pytest

pytest.importorskip("xlwings", reason="the Excel side needs xlwings (Python 3.11+)")

import sys
from dataclasses import replace
from pathlib import Path

from fakes.xlwings_fake import Excel, SheetData, new_book
from test_excel import (  # the stand-in's fixtures, shared rather than copied
    last_alert,
    log_dir,
    sandbox,
    xl,
)

from kolaybi_xl import excel
from kolaybi_xl.jobs import doctor
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.template import init_workbook
from kolaybi_xl.workbook import layout

__all__ = ["log_dir", "sandbox", "xl"]  # fixtures used by name below


def book_on_disk(xl: Excel, tmp_path: Path, interpreter: str) -> object:
    """A stand-in book whose file on disk was made by init-workbook, with its xlwings.conf
    as Excel holds it (Interpreter_Win pointing at ``interpreter``)."""
    path = tmp_path / "Faturalar.xlsm"
    init_workbook(path)
    book = new_book(xl, fullname=str(path))
    book.order.append(layout.XLWINGS_CONF)
    book.data[layout.XLWINGS_CONF] = SheetData(layout.XLWINGS_CONF)
    book.put(layout.XLWINGS_CONF, 1, 1, "Interpreter_Win")
    book.put(layout.XLWINGS_CONF, 1, 2, interpreter)
    book.put(layout.XLWINGS_CONF, 2, 1, "Interpreter_Mac")
    book.put(layout.XLWINGS_CONF, 2, 2, interpreter)
    return book


def on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check as it runs inside Excel on Windows (reads Interpreter_Win)."""
    real = doctor.this_machine
    monkeypatch.setattr(doctor, "this_machine", lambda: replace(real(), platform="win32"))


def test_check_setup_says_in_turkish_that_all_is_well(
    sandbox: Sandbox, xl: Excel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_windows(monkeypatch)
    book = book_on_disk(xl, tmp_path, sys.executable)
    excel.check_setup(book)
    alert = last_alert(book)
    assert alert["mode"] == "info", alert["prompt"]
    text = alert["prompt"]
    assert "Kurulum tamam" in text
    assert "✗" not in text
    assert "6 düğme, her biri var olan bir makroya bağlı" in text
    assert "kimlik bilgileri kabul edildi" in text
    assert "API anahtarı: KOLAYBI_API_KEY (gösterilmez)" in text
    assert sandbox.api_key not in text
    assert book.app.screen_history[-1] is True  # the screen is back


def test_check_setup_names_each_problem_and_its_fix(
    xl: Excel, log_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_windows(monkeypatch)
    missing = r"C:\Python39\python.exe"
    book = book_on_disk(xl, tmp_path, missing)
    excel.check_setup(book)  # no Channel, no key, no keyring, Python not where conf says
    alert = last_alert(book)
    assert alert["mode"] == "critical"
    text = alert["prompt"]
    assert "Kurulumda" in text
    assert f"✗ xlwings.conf: Interpreter_Win = {missing}: böyle bir dosya yok" in text
    assert "✗ Channel tanımlı değil" in text
    assert "✗ API anahtarı bulunamadı" in text
    assert "→ KOLAYBI_API_KEY ortam değişkenini ayarlayın" in text
    assert text.count("✗") >= 4
    assert excel.log_file().exists()


def test_check_setup_on_a_never_saved_book(
    sandbox: Sandbox, xl: Excel, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = new_book(xl, fullname="Kitap1")  # no file: the workbook checks are left out
    excel.check_setup(book)
    alert = last_alert(book)
    assert alert["mode"] == "info", alert["prompt"]
    assert "xlwings.conf" not in alert["prompt"]
    assert "düğme" not in alert["prompt"]

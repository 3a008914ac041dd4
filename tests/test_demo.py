"""The offline demo shows the whole flow: a partial collection, a row error, an undo, the report."""

from __future__ import annotations

import io

import openpyxl

from kolaybi_xl.demo import run_demo
from kolaybi_xl.workbook import layout


def test_the_demo_collects_a_part_and_takes_one_collection_back(tmp_path):
    out = tmp_path / "demo.xlsx"
    stream = io.StringIO()

    assert run_demo(out, invoices=30, stream=stream) == 0

    text = stream.getvalue()
    assert "partial (of" in text
    assert "taken back: Undo: 1 taken back, 0 failed, 0 skipped" in text
    assert "invoices collected twice: 0" in text
    sheet = openpyxl.load_workbook(out)[layout.INVOICES]
    rows = list(sheet.iter_rows(values_only=True))
    header_index = next(i for i, row in enumerate(rows) if layout.ID_HEADER in row)
    header = rows[header_index]
    outcome = header.index(layout.C_OUTCOME.header)
    amount = header.index(layout.C_AMOUNT.header)
    mark = header.index(layout.C_MARK.header)
    body = rows[header_index + 1 :]
    undone = [r for r in body if str(r[outcome] or "").startswith(layout.OUTCOME_UNDONE)]
    partial = [r for r in body if r[amount] is not None]
    assert len(undone) == 1
    assert undone[0][mark] == layout.MARK_UNDO
    assert len(partial) == 1
    assert str(partial[0][outcome]).startswith(layout.OUTCOME_DONE)
    assert "kalan" in str(partial[0][outcome])

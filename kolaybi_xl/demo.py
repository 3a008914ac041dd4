"""``kolaybi-xl demo``: the whole flow offline, against an in-process sandbox.

Creates a workbook, fetches invoices and vaults, marks a few rows as an accountant would
(one for part of its amount, one deliberately wrong, to show a row error), collects them,
takes one collection back (undo), builds the summary and prints where everything is.
Nothing leaves this machine.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from .api import InvoiceType, KolayBiClient
from .errors import UserError
from .i18n import _
from .jobs.collect import CollectResult, account_key, collect_marked
from .jobs.fetch import refresh_invoices
from .jobs.journal import Journal
from .jobs.report import build_report
from .jobs.table import InvoiceTable, read_invoice_table
from .jobs.undo import undo_marked
from .sandbox import Sandbox
from .template import template_for
from .workbook import layout
from .workbook.cells import parse_decimal
from .workbook.xlsx_file import FileGrid


def _mark_rows(grid: FileGrid, vault_names: dict[str, str]) -> list[int]:
    """Mark open invoices like a person would: 'x' and a vault of the invoice's currency."""
    table = read_invoice_table(grid)
    assert table is not None
    chosen = _open_invoices(table, vault_names)

    def mark(index: int, vault: str) -> None:
        _write(grid, table, index, layout.C_MARK.header, "x")
        _write(grid, table, index, layout.C_VAULT.header, vault)

    for index in chosen:
        mark(index, vault_names[str(table.get(index, layout.C_CURRENCY.header))])
    if len(chosen) > 1:  # one instalment: half of what is left, in Tahsil Tutarı
        _write(grid, table, chosen[1], layout.C_AMOUNT.header, _half_left(table, chosen[1]))
    # One deliberate mistake, so the demo shows what a row error looks like.
    wrong = next((i for i in range(len(table.rows)) if i not in chosen), None)
    if wrong is not None:
        mark(wrong, "Olmayan Kasa")
        chosen.append(wrong)
    return chosen


def _write(grid: FileGrid, table: InvoiceTable, index: int, header: str, value: Any) -> None:
    column = table.col(header)
    assert column is not None
    grid.write(layout.INVOICES, table.sheet_row(index), column, [[value]])


def _half_left(table: InvoiceTable, index: int) -> Decimal:
    remaining = parse_decimal(table.get(index, layout.C_REMAINING.header)) or Decimal(0)
    return (remaining / 2).quantize(Decimal("0.01"))


def _undo_one(grid: FileGrid, collected: CollectResult) -> int | None:
    """Mark the first wholly collected row ``geri al`` (as an accountant taking back a mistake)."""
    table = read_invoice_table(grid)
    assert table is not None
    for outcome in collected.outcomes:
        text = str(outcome.outcome or "")
        if text.startswith(layout.OUTCOME_DONE):
            index = outcome.sheet_row - table.sheet_row(0)
            if table.get(index, layout.C_AMOUNT.header) in (None, ""):
                _write(grid, table, index, layout.C_MARK.header, layout.MARK_UNDO)
                return outcome.sheet_row
    return None


def _open_invoices(table: InvoiceTable, vault_names: dict[str, str]) -> list[int]:
    """Up to 7 rows left to collect, at most 3 per currency, in currencies with a vault."""
    chosen: list[int] = []
    per_currency: dict[str, int] = {}
    for index in range(len(table.rows)):
        currency = str(table.get(index, layout.C_CURRENCY.header) or "")
        if currency not in vault_names or per_currency.get(currency, 0) >= 3:
            continue
        if _collectable(table, index):
            per_currency[currency] = per_currency.get(currency, 0) + 1
            chosen.append(index)
            if len(chosen) >= 7:
                break
    return chosen


def _collectable(table: InvoiceTable, index: int) -> bool:
    remaining = parse_decimal(table.get(index, layout.C_REMAINING.header)) or Decimal(0)
    status = str(table.get(index, layout.C_DOC_STATUS.header) or "")
    return remaining > 0 and status not in ("Taslak", "İptal Edildi", "Reddedildi")


def run_demo(out: Path, *, invoices: int = 120, stream: TextIO, force: bool = False) -> int:
    """Run the demo into ``out``. An existing ``out`` is refused unless ``force``; it is
    replaced only when the demo succeeded (the work happens in a temporary file beside it),
    so a failed run leaves it byte for byte as it was."""
    out = out.expanduser()
    if out.suffix.lower() not in (".xlsx", ".xlsm"):
        raise UserError(
            "{name}: the demo writes a workbook; use a name ending in .xlsx or .xlsm",
            name=out.name,
        )
    if out.is_dir():
        raise UserError("{path} is a folder", path=out)
    if out.exists() and not force:
        raise UserError("{path} already exists (use --force to replace it)", path=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.with_name(f".~kolaybi-demo-{secrets.token_hex(4)}{out.suffix}")
    try:
        code = _run(out, work, invoices, stream)
        mode = stat.S_IMODE(out.stat().st_mode) if out.exists() else None
        if mode is not None:
            os.chmod(work, mode)
        os.replace(work, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            work.unlink()
    return code


def _run(out: Path, work: Path, invoices: int, stream: TextIO) -> int:
    def say(text: str = "") -> None:
        print(text, file=stream, flush=True)

    journal_dir = tempfile.mkdtemp(prefix="kolaybi-demo-")
    journal = Journal(
        Path(os.environ.get("KOLAYBI_XL_JOURNAL") or Path(journal_dir) / "journal.jsonl")
    )

    with Sandbox(invoices=invoices, seed=7) as sandbox:
        say(_("1. The local KolayBi emulator is running: {url}").format(url=sandbox.url))
        client = KolayBiClient(sandbox.url, sandbox.channel, sandbox.api_key)
        grid = FileGrid.open(work, create=True, template=template_for(out))
        result = refresh_invoices(grid, client, [InvoiceType.SALE_INVOICE])
        grid.save()
        say(
            _("2. Invoices fetched: {summary}; {vaults} vaults").format(
                summary=result.summary(), vaults=result.vaults
            )
        )

        vaults = client.list_vaults()
        by_currency: dict[str, str] = {}
        for vault in sorted(vaults, key=lambda v: v.id):
            if vault.currency and vault.name:
                by_currency.setdefault(vault.currency, vault.name)
        marked = _mark_rows(grid, by_currency)
        grid.save()
        say(
            _(
                "3. {n} rows marked (Tahsil Et = x, a Kasa/Banka chosen; one of them for half "
                "its remaining amount in Tahsil Tutarı, one wrong on purpose)"
            ).format(n=len(marked))
        )

        def confirm(plan: Any) -> bool:
            say(_("4. The plan shown for confirmation:"))
            for line in plan.describe().splitlines():
                say(f"     {line}")
            return True

        collected = collect_marked(
            grid,
            client,
            journal,
            key=account_key(client),
            workbook=str(out.resolve()),
            confirm=confirm,
        )
        say(f"5. {collected.summary()}")  # the summary names the step itself
        for outcome in collected.outcomes:
            row = _("row {row}").format(row=outcome.sheet_row)
            say(f"     {row}: {outcome.outcome}")

        grid.save()
        undo_row = _undo_one(grid, collected)
        if undo_row is not None:
            grid.save()
            undone = undo_marked(
                grid,
                client,
                journal,
                key=account_key(client),
                workbook=str(out.resolve()),
                confirm=lambda plan: True,
            )
            say(
                _("6. Row {row} marked 'geri al' and taken back: {summary}").format(
                    row=undo_row, summary=undone.summary()
                )
            )
            for outcome in undone.outcomes:
                say(f"     {_('row {row}').format(row=outcome.sheet_row)}: {outcome.outcome}")

        report = build_report(grid)
        grid.save()
        say(f"7. {report.summary()}")
        ledger = sandbox.books.collected_documents()
        twice = [doc for doc, count in ledger.items() if count > 1]
        say(
            _(
                "   The emulator's ledger: {collections} collections, invoices collected twice: "
                "{twice}"
            ).format(collections=sum(ledger.values()), twice=len(twice))
        )
        client.close()
        grid.close()
    say()
    say(_("Workbook: {path}").format(path=out.resolve()))
    say(_("Open it in Excel, or run: kolaybi-xl sandbox  (keeps the emulator running)"))
    return 0 if not twice else 1

"""Fill or refresh ``Faturalar`` with the invoices of the chosen type(s).

A refresh merges by ``Belge ID``: the tool's columns are rewritten from the API; what the
user typed (``Tahsil Et``, ``Kasa/Banka``, any column of their own) and the outcomes stay
with their invoice. A row whose invoice is no longer listed keeps everything (its
``Ödeme Durumu`` too) and moves to the end of the table, when it holds anything a person
typed or the tool recorded; its ``Belge Durumu`` then says "Listede yok" and the row is
shown grey. Only rows of the fetched types can be "not listed": a row of another type
(``Tür``) was not asked for, so it is kept as it was (when it holds user data) and never
labelled. Rows that hold nothing but API data are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..api.client import KolayBiClient
from ..api.models import INVOICE_TYPE_LABELS, InvoiceType
from ..gcpause import paused_gc
from ..i18n import Lang, _, ngettext, number
from ..workbook import layout
from ..workbook.cells import (
    CellError,
    cell_text,
    column_letter,
    is_blank,
    parse_document_id,
)
from ..workbook.grid import (
    POSITIVE_DECIMAL,
    ColumnFormat,
    Grid,
    MutedRows,
    TableFormat,
    Validation,
)
from .errors import JobError
from .table import (
    DATA_COLUMNS,
    NOT_LISTED,
    TOOL_HEADERS,
    InvoiceTable,
    chosen_types,
    invoice_values,
    read_invoice_table,
    write_control_strip,
    write_status,
)
from .vaults import refresh_vaults


@dataclass
class FetchResult:
    types: list[InvoiceType]
    invoices: int = 0
    added: int = 0
    updated: int = 0
    kept_unlisted: int = 0
    kept_other_types: int = 0  # rows of types not fetched this time, kept for their user data
    dropped: int = 0
    vaults: int = 0
    added_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. a list that may be incomplete
    skipped: list[str] = field(default_factory=list)  # unreadable invoices (one line each)
    refreshed_at: datetime | None = None

    def summary(self, lang: Lang | None = None) -> str:
        """One line: the command line's language, or Turkish for the workbook."""
        n = self.invoices
        parts = [
            ngettext(
                "{n} invoice ({added} new, {updated} updated)",
                "{n} invoices ({added} new, {updated} updated)",
                n,
                lang,
            ).format(n=number(n, lang), added=self.added, updated=self.updated)
        ]
        if self.kept_unlisted:
            parts.append(
                ngettext(
                    "{n} row no longer listed was kept at the end",
                    "{n} rows no longer listed were kept at the end",
                    self.kept_unlisted,
                    lang,
                ).format(n=self.kept_unlisted)
            )
        if self.kept_other_types:
            parts.append(
                ngettext(
                    "{n} row of another type was kept at the end",
                    "{n} rows of other types were kept at the end",
                    self.kept_other_types,
                    lang,
                ).format(n=self.kept_other_types)
            )
        if self.added_columns:
            names = ", ".join(self.added_columns)
            parts.append(_("added columns: {names}", lang).format(names=names))
        if self.warnings:
            said = "; ".join(self.warnings)
            parts.append(_("WARNING, the list may be incomplete: {said}", lang).format(said=said))
        if self.skipped:
            n = len(self.skipped)
            first = "; ".join(self.skipped[:3]) + ("; …" if n > 3 else "")
            parts.append(
                ngettext(
                    "WARNING, {n} unreadable invoice skipped ({detail})",
                    "WARNING, {n} unreadable invoices skipped ({detail})",
                    n,
                    lang,
                ).format(n=n, detail=first)
            )
        return "; ".join(parts)

    def __str__(self) -> str:
        return self.summary()


def refresh_invoices(
    grid: Grid,
    client: KolayBiClient,
    types: Sequence[InvoiceType],
    *,
    with_vaults: bool = True,
    now: Callable[[], datetime] = datetime.now,
) -> FetchResult:
    result = FetchResult(types=list(types))
    existing = read_invoice_table(grid)  # validate before any API call or write
    # Each invoice becomes its cell values while its page is at hand: neither the answer's
    # dicts nor any model outlive it (the sheet's cells are built after this).
    values: list[dict[str, Any]] = []
    with paused_gc():  # bulk allocations only (see ``gcpause``)
        for invoice_type in types:
            grid.progress(f"{invoice_type.label} getiriliyor…")
            listing = client.iter_invoices(invoice_type)
            values.extend(invoice_values(inv) for inv in listing)
            result.warnings.extend(listing.notes)  # the list may be incomplete: say why
            result.skipped.extend(listing.skipped)
    if with_vaults:
        result.vaults = len(refresh_vaults(grid, client))
    grid.progress("Faturalar yazılıyor…")
    grid.ensure_sheet(layout.INVOICES)
    result.invoices = len(values)
    result.refreshed_at = now().replace(microsecond=0)
    label = (
        layout.ALL_TYPES_LABEL
        if len(types) == len(InvoiceType)
        else ", ".join(INVOICE_TYPE_LABELS[t] for t in types)
    )
    fetched_labels = {INVOICE_TYPE_LABELS[t] for t in types}
    with paused_gc(len(values)):  # a row list per invoice, all kept: nothing to collect
        header_row = write_invoice_table(grid, existing, values, result, fetched_labels)
    write_control_strip(
        grid, label, result.refreshed_at, result.summary("tr"), header_row=header_row
    )
    return result


def _has_user_content(row: Sequence[Any], table: InvoiceTable) -> bool:
    """Anything in a column that is not the tool's own API data (input, outcome, user's)."""
    data_headers = {c.header for c in DATA_COLUMNS}
    for text, column in table.columns.items():
        if text not in data_headers and not is_blank(row[column - 1]):
            return True
    # Cells under no header at all are the user's too.
    named = set(table.columns.values())
    return any(not is_blank(v) for i, v in enumerate(row, start=1) if i not in named)


def merged_header(existing: InvoiceTable | None) -> tuple[list[Any], list[str]]:
    """The header to write: the user's order and extra columns kept, missing ones appended."""
    if existing is None:
        return [c.header for c in layout.INVOICE_COLUMNS], []
    header = list(existing.header)
    added = [c.header for c in layout.INVOICE_COLUMNS if c.header not in existing.columns]
    # Fill a blank header cell at the end before growing the table to the right.
    return header + added, added


def write_invoice_table(
    grid: Grid,
    existing: InvoiceTable | None,
    invoices: Sequence[dict[str, Any]],
    result: FetchResult,
    fetched_labels: set[str] | None = None,
) -> int:
    """Write the merged table; return its header row. ``invoices`` are ``invoice_values``.

    ``fetched_labels`` are the ``Tür`` texts of the types just fetched (None: every row is
    of a fetched type): a missing invoice of another type is not "not listed".
    """
    header, added = merged_header(existing)
    result.added_columns = added
    header_row = existing.header_row if existing else layout.INVOICE_HEADER_ROW
    merge = _Merge.start(header, invoices, result, fetched_labels)
    if existing is not None:
        for old in existing.rows:
            merge.take_old(old, existing)
    for values in invoices:
        merge.add_new(values)
    rows = merge.rows + merge.unlisted
    old_count = len(existing.rows) if existing else 0
    _write_rows(grid, header, header_row, rows, old_count)
    return header_row


@dataclass
class _Merge:
    """The table's rows as they are built: listed invoices first, then the kept rows."""

    width: int
    positions: dict[str, int]  # header text -> 0-based index in a row
    data_positions: list[tuple[int, str]]  # (index, invoice_values key) of the API columns
    fresh: dict[int, dict[str, Any]]  # the fetched invoices by id
    result: FetchResult
    fetched_labels: set[str] | None
    rows: list[list[Any]] = field(default_factory=list)
    placed: set[int] = field(default_factory=set)
    unlisted: list[list[Any]] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        header: Sequence[Any],
        invoices: Sequence[dict[str, Any]],
        result: FetchResult,
        fetched_labels: set[str] | None,
    ) -> _Merge:
        positions = {cell_text(h): i for i, h in enumerate(header) if cell_text(h)}
        return cls(
            width=len(header),
            positions=positions,
            data_positions=[
                (positions[c.header], c.key) for c in DATA_COLUMNS if c.header in positions
            ],
            fresh={values["id"]: values for values in invoices},
            result=result,
            fetched_labels=fetched_labels,
        )

    def take_old(self, old: Sequence[Any], existing: InvoiceTable) -> None:
        """An existing row: refreshed, kept at the end, or dropped (nothing of a person's)."""
        row = list(old) + [None] * (self.width - len(old))
        doc_id = self._doc_id(row)
        if doc_id is not None and doc_id in self.fresh and doc_id not in self.placed:
            _fill(row, self.fresh[doc_id], self.data_positions)
            self.rows.append(row)
            self.placed.add(doc_id)
            self.result.updated += 1
        elif any(not is_blank(v) for v in row) and _has_user_content(row, existing):
            self._keep(row, doc_id)
        elif any(not is_blank(v) for v in row):
            self.result.dropped += 1

    def add_new(self, values: dict[str, Any]) -> None:
        """A fetched invoice no existing row holds."""
        doc_id = values["id"]
        if doc_id in self.placed:
            return
        row: list[Any] = [None] * self.width
        _fill(row, values, self.data_positions)
        self.rows.append(row)
        self.placed.add(doc_id)
        self.result.added += 1

    def _doc_id(self, row: Sequence[Any]) -> int | None:
        try:
            return parse_document_id(row[self.positions[layout.ID_HEADER]])
        except CellError:
            return None

    def _keep(self, row: list[Any], doc_id: int | None) -> None:
        """A row with user data whose invoice is not (or no longer) placed: kept at the end."""
        if doc_id is None or doc_id in self.fresh:
            pass  # a repeated or unreadable id: kept as typed, not labelled
        elif _of_fetched_type(row, self.positions, self.fetched_labels):
            row[self.positions[layout.C_DOC_STATUS.header]] = NOT_LISTED
            self.result.kept_unlisted += 1
        else:
            self.result.kept_other_types += 1
        self.unlisted.append(row)


def _write_rows(
    grid: Grid, header: list[Any], header_row: int, rows: list[list[Any]], old_count: int
) -> None:
    """The header and rows, the old table's leftover rows cleared, its format and name."""
    if len(rows) > layout.MAX_DATA_ROWS:
        raise JobError("{rows} rows do not fit on one Excel sheet", rows=len(rows))
    width = len(header)
    grid.write(layout.INVOICES, header_row, 1, [header, *rows])
    if old_count > len(rows):
        last = header_row + old_count
        grid.clear(layout.INVOICES, header_row + len(rows) + 1, 1, last, width)
    grid.format_table(layout.INVOICES, invoice_table_format(header, header_row, len(rows)))
    # A name over exactly the table, for PivotTables and Power Query.
    last_row = header_row + max(len(rows), 1)
    grid.define_name(
        layout.INVOICE_TABLE_NAME,
        f"{layout.INVOICES}!$A${header_row}:${column_letter(width)}${last_row}",
    )


def _of_fetched_type(
    row: Sequence[Any], positions: dict[str, int], fetched_labels: set[str] | None
) -> bool:
    """Whether the row's ``Tür`` is one of the types just fetched (no Tür: assume so)."""
    if fetched_labels is None or layout.C_TYPE.header not in positions:
        return True
    kind = cell_text(row[positions[layout.C_TYPE.header]])
    return not kind or kind in fetched_labels


def _fill(row: list[Any], values: dict[str, Any], data_positions: list[tuple[int, str]]) -> None:
    for index, key in data_positions:
        row[index] = values.get(key)


def invoice_table_format(header: Sequence[Any], header_row: int, data_rows: int) -> TableFormat:
    columns: list[ColumnFormat] = []
    validations: list[Validation] = []
    for index, text in enumerate(header, start=1):
        spec = layout.INVOICE_COLUMNS_BY_HEADER.get(cell_text(text))
        if spec is None:
            columns.append(ColumnFormat())
            continue
        columns.append(
            ColumnFormat(
                number_format=layout.NUMBER_FORMATS[spec.kind],
                width=spec.width,
                input=spec.role is layout.Role.INPUT,
                output=spec.role is layout.Role.OUTCOME,
                wrap=spec.wrap,
            )
        )
        if spec is layout.C_MARK:
            validations.append(Validation(index, layout.MARK_CHOICES, prompt=layout.MARK_PROMPT))
        elif spec is layout.C_VAULT:
            validations.append(
                Validation(index, layout.VAULT_NAMES_RANGE, prompt=layout.VAULT_PROMPT)
            )
        elif spec is layout.C_AMOUNT:
            validations.append(
                Validation(index, kind=POSITIVE_DECIMAL, prompt=layout.AMOUNT_PROMPT)
            )
    strip = header_row > layout.STATUS_CELL[0]  # no strip above a table that starts higher
    positions = {cell_text(text): index for index, text in enumerate(header, start=1)}
    status_column = positions.get(layout.C_DOC_STATUS.header)
    return TableFormat(
        muted=MutedRows(status_column, NOT_LISTED) if status_column else None,
        header_row=header_row,
        columns=columns,
        data_rows=data_rows,
        validations=validations,
        title_cells=[layout.TITLE_CELL] if strip else [],
        label_cells=(
            [layout.TYPE_LABEL_CELL, layout.REFRESHED_LABEL_CELL, layout.STATUS_LABEL_CELL]
            if strip
            else []
        ),
        cell_formats=(
            [(layout.REFRESHED_CELL, layout.NUMBER_FORMATS[layout.Kind.DATETIME])] if strip else []
        ),
    )


__all__ = [
    "NOT_LISTED",
    "TOOL_HEADERS",
    "FetchResult",
    "chosen_types",
    "invoice_table_format",
    "refresh_invoices",
    "write_control_strip",
    "write_status",
]

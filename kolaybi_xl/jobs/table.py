"""The invoice table on ``Faturalar``: finding it, reading it, mapping API invoices to rows,
and the conventions around it (the control strip's type and status, ``NOT_LISTED``).

``parse_invoice_table`` and ``parse_chosen_types`` are pure: they take the sheet's rows, so a
job that already holds them needs no grid. Jobs import these from here, never from each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..api.listed import ListedInvoice
from ..api.models import INVOICE_TYPE_LABELS, Invoice, InvoiceType
from ..workbook import layout
from ..workbook.cells import cell_text, duplicate_headers, find_header_row, header_positions
from ..workbook.grid import Grid
from .errors import JobError


@dataclass
class InvoiceTable:
    """The table as found on the sheet. Columns are 1-based sheet columns."""

    header_row: int
    header: list[Any]
    rows: list[list[Any]]  # data rows, each padded to len(header)

    def __post_init__(self) -> None:
        self.columns = {text: index + 1 for text, index in header_positions(self.header).items()}

    @property
    def width(self) -> int:
        return len(self.header)

    def col(self, header: str) -> int | None:
        return self.columns.get(header)

    def get(self, index: int, header: str) -> Any:
        column = self.columns.get(header)
        return None if column is None else self.rows[index][column - 1]

    def indexes(self) -> Sequence[int]:
        """The indexes of the rows that may be marked: all of them, or — a table read in part
        (``marked_table``) — those read whole (every other row's mark is empty)."""
        return getattr(self.rows, "read_indexes", None) or range(len(self.rows))

    def sheet_row(self, index: int) -> int:
        return self.header_row + 1 + index

    def missing(self, columns: Iterable[layout.Column]) -> list[str]:
        return [c.header for c in columns if c.header not in self.columns]


def read_invoice_table(grid: Grid, *, shared: bool = False) -> InvoiceTable | None:
    """The invoice table, or None when ``Faturalar`` has none yet (missing or empty sheet).

    ``shared``: the caller never changes the table's rows, so a grid that can (``read_shared``:
    a workbook file's) may hand them out without copying them.

    Raises ``JobError`` when the sheet holds something that is not our table, so a refresh
    never writes over what a user put there.
    """
    if layout.INVOICES not in grid.sheet_names():
        return None
    lend = getattr(grid, "read_shared", None) if shared else None
    block = lend(layout.INVOICES) if lend is not None else grid.read(layout.INVOICES)
    # The block is ours alone (``read`` returns new lists; shared ones are never changed):
    # its rows become the table's rows as they are, not copied once more (50,000 rows:
    # about a second).
    return parse_invoice_table(block, owned=True)


def parse_invoice_table(
    block: Sequence[Sequence[Any]], *, owned: bool = False
) -> InvoiceTable | None:
    """The invoice table in the rows of ``Faturalar`` (as ``Grid.read`` returns them), or None
    when they hold none; ``JobError`` when they hold something that is not our table.

    ``owned``: the block's row lists may be kept (no caller uses them afterwards)."""
    found = find_header_row(block, layout.ID_HEADER, layout.HEADER_SEARCH_ROWS)
    if found is None:
        _refuse_data_without_header(block)
        return None
    header = _header_cells(block[found])
    width = max(len(header), max((len(r) for r in block[found + 1 :]), default=0))
    header += [None] * (width - len(header))
    rows = [padded(r, width, owned=owned) for r in block[found + 1 :]]
    return InvoiceTable(header_row=found + 1, header=header, rows=rows)


def _refuse_data_without_header(block: Sequence[Sequence[Any]]) -> None:
    """A sheet with data below the control strip but no ``Belge ID`` header is not ours:
    ``JobError`` rather than overwrite it."""
    below_strip = block[layout.INVOICE_HEADER_ROW - 1 :]
    if any(any(cell not in (None, "") for cell in row) for row in below_strip):
        raise JobError(
            "sheet '{sheet}' has data but no '{header}' header in its first {rows} rows; "
            "refusing to overwrite it",
            sheet=layout.INVOICES,
            header=layout.ID_HEADER,
            rows=layout.HEADER_SEARCH_ROWS,
        )


def _header_cells(row: Sequence[Any]) -> list[Any]:
    """The header row without its empty tail; ``JobError`` for a header given twice."""
    header = list(row)
    while header and cell_text(header[-1]) == "":
        header.pop()
    dupes = [d for d in duplicate_headers(header) if d]
    if dupes:
        names = ", ".join(f"'{d}'" for d in dupes)
        raise JobError(
            "sheet '{sheet}' has duplicate column headers: {names}",
            sheet=layout.INVOICES,
            names=names,
        )
    return header


def padded(row: Sequence[Any], width: int, *, owned: bool) -> list[Any]:
    """The row as a list of ``width`` cells; an owned list of that width is kept as it is."""
    if owned and type(row) is list and len(row) == width:
        return row
    return list(row) + [None] * (width - len(row))


def require_columns(table: InvoiceTable, columns: Sequence[layout.Column]) -> None:
    missing = table.missing(columns)
    if missing:
        names = ", ".join(f"'{m}'" for m in missing)
        raise JobError(
            "sheet '{sheet}' is missing column(s) {names} in its header row (row {row})",
            sheet=layout.INVOICES,
            names=names,
            row=table.header_row,
        )


def type_label(invoice: Invoice) -> str:
    kind = invoice.commercial_doc_type
    return _type_label(invoice.type, kind.description if kind else None)


def _type_label(value: str | None, description: str | None) -> str:
    """The Turkish name of a known type; else the API's description, else its value."""
    try:
        return INVOICE_TYPE_LABELS[InvoiceType(value)] if value else ""
    except ValueError:
        return description or value or ""


def invoice_values(invoice: ListedInvoice | Invoice) -> dict[str, Any]:
    """Column key -> cell value for the tool-owned (DATA) columns of one invoice."""
    if isinstance(invoice, Invoice):
        invoice = ListedInvoice.of(invoice)
    issued, due = invoice.issue_date, invoice.due_date
    return {
        "id": invoice.id,
        "serial_no": invoice.serial_no,
        "issue_date": issued.date() if issued else None,
        "due_date": due.date() if due else None,
        "party": invoice.party,
        "tax_id": invoice.tax_id,
        "currency": invoice.currency,
        "subtotal": invoice.subtotal,
        "vat": invoice.vat,
        "grand_total": invoice.grand_total,
        "paid": invoice.paid,
        "remaining": invoice.remaining,
        "payment_status": _label(layout.PAYMENT_STATUS_LABELS, invoice.payment_status),
        "type": _type_label(invoice.type, invoice.type_description),
        "doc_status": _label(layout.DOC_STATUS_LABELS, invoice.doc_status),
        "edoc_status": _label(layout.E_DOCUMENT_STATUS_LABELS, invoice.e_document_status),
        "description": invoice.description,
        "tags": ", ".join(invoice.tags),
    }


def _label(labels: Mapping[str, str], value: str | None) -> str | None:
    """The Turkish label of an API status value; an unknown value as it is."""
    return labels.get(value or "", value)


DATA_COLUMNS = tuple(c for c in layout.INVOICE_COLUMNS if c.role is layout.Role.DATA)
TOOL_HEADERS = frozenset(c.header for c in layout.INVOICE_COLUMNS)


# -- the sheet's conventions around the table (control strip, status) -------------------------

NOT_LISTED = layout.NOT_LISTED  # the document status of a kept row the API no longer lists


def chosen_types(grid: Grid, default: InvoiceType) -> list[InvoiceType]:
    """The type picked in the control strip's dropdown (``Tümü`` = every type)."""
    if layout.INVOICES not in grid.sheet_names():
        return [default]
    return parse_chosen_types(grid.read(layout.INVOICES), default)


def parse_chosen_types(block: Sequence[Sequence[Any]], default: InvoiceType) -> list[InvoiceType]:
    """The type in the control strip of these ``Faturalar`` rows; ``default`` when none."""
    row, col = layout.TYPE_CELL
    header = find_header_row(block, layout.ID_HEADER, layout.HEADER_SEARCH_ROWS)
    strip_exists = header is None or header + 1 > layout.STATUS_CELL[0]
    text = ""
    if strip_exists and len(block) >= row and len(block[row - 1]) >= col:
        text = cell_text(block[row - 1][col - 1])
    if not text:
        return [default]
    if text.casefold() in (layout.ALL_TYPES_LABEL.casefold(), "all"):
        return list(InvoiceType)
    try:
        return [InvoiceType.parse(text)]
    except ValueError:
        raise JobError(
            "unknown invoice type '{text}' in {sheet}!B{row}",
            text=text,
            sheet=layout.INVOICES,
            row=row,
        ) from None


def write_control_strip(
    grid: Grid,
    type_label: str | None,
    refreshed: datetime | None,
    status: str,
    *,
    header_row: int = layout.INVOICE_HEADER_ROW,
) -> None:
    """Title, type, refresh time and status above the table, if the table leaves room."""
    if header_row <= layout.STATUS_CELL[0]:
        return  # the user's table starts inside the strip: never write over it
    cells: list[tuple[tuple[int, int], Any]] = [
        (layout.TITLE_CELL, layout.TITLE),
        (layout.TYPE_LABEL_CELL, "Fatura Türü"),
        (layout.REFRESHED_LABEL_CELL, "Son Güncelleme"),
        (layout.STATUS_LABEL_CELL, "Durum"),
        (layout.STATUS_CELL, status),
    ]
    if type_label is not None:
        cells.append((layout.TYPE_CELL, type_label))
    if refreshed is not None:
        cells.append((layout.REFRESHED_CELL, refreshed))
    for (row, col), value in cells:
        grid.write(layout.INVOICES, row, col, [[value]])


def write_status(grid: Grid, status: str, *, header_row: int = layout.INVOICE_HEADER_ROW) -> None:
    write_control_strip(grid, None, None, status, header_row=header_row)

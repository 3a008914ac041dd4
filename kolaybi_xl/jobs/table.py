"""The invoice table on ``Faturalar``: finding it, reading it, mapping API invoices to rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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

    def sheet_row(self, index: int) -> int:
        return self.header_row + 1 + index

    def missing(self, columns: Iterable[layout.Column]) -> list[str]:
        return [c.header for c in columns if c.header not in self.columns]


def read_invoice_table(grid: Grid) -> InvoiceTable | None:
    """The invoice table, or None when ``Faturalar`` has none yet (missing or empty sheet).

    Raises ``JobError`` when the sheet holds something that is not our table, so a refresh
    never writes over what a user put there.
    """
    if layout.INVOICES not in grid.sheet_names():
        return None
    return parse_invoice_table(grid.read(layout.INVOICES))


def parse_invoice_table(block: Sequence[Sequence[Any]]) -> InvoiceTable | None:
    """The invoice table in the rows of ``Faturalar`` as read (see ``read_invoice_table``)."""
    found = find_header_row(block, layout.ID_HEADER, layout.HEADER_SEARCH_ROWS)
    if found is None:
        below_strip = block[layout.INVOICE_HEADER_ROW - 1 :]
        if any(any(cell not in (None, "") for cell in row) for row in below_strip):
            raise JobError(
                f"sheet '{layout.INVOICES}' has data but no '{layout.ID_HEADER}' header in its "
                f"first {layout.HEADER_SEARCH_ROWS} rows; refusing to overwrite it",
                f"'{layout.INVOICES}' sayfasında veri var ama ilk {layout.HEADER_SEARCH_ROWS} "
                f"satırda '{layout.ID_HEADER}' başlığı yok; üzerine yazılmadı",
            )
        return None
    header = list(block[found])
    while header and cell_text(header[-1]) == "":
        header.pop()
    dupes = [d for d in duplicate_headers(header) if d]
    if dupes:
        names = ", ".join(f"'{d}'" for d in dupes)
        raise JobError(
            f"sheet '{layout.INVOICES}' has duplicate column headers: {names}",
            f"'{layout.INVOICES}' sayfasında aynı başlık birden çok kez var: {names}",
        )
    width = max(len(header), max((len(r) for r in block[found + 1 :]), default=0))
    header += [None] * (width - len(header))
    rows = [list(r) + [None] * (width - len(r)) for r in block[found + 1 :]]
    return InvoiceTable(header_row=found + 1, header=header, rows=rows)


def require_columns(table: InvoiceTable, columns: Sequence[layout.Column]) -> None:
    missing = table.missing(columns)
    if missing:
        names = ", ".join(f"'{m}'" for m in missing)
        raise JobError(
            f"sheet '{layout.INVOICES}' is missing column(s) {names} in its header row "
            f"(row {table.header_row})",
            f"'{layout.INVOICES}' sayfasında şu sütun(lar) eksik: {names} "
            f"(başlık satırı {table.header_row})",
        )


def type_label(invoice: Invoice) -> str:
    value = invoice.type
    try:
        return INVOICE_TYPE_LABELS[InvoiceType(value)] if value else ""
    except ValueError:
        described = invoice.commercial_doc_type.description if invoice.commercial_doc_type else None
        return described or value or ""


def invoice_values(invoice: Invoice) -> dict[str, Any]:
    """Column key -> cell value for the tool-owned (DATA) columns of one invoice."""
    header = invoice.header
    plan = invoice.payment_plan
    status = invoice.commercial_doc_status.value if invoice.commercial_doc_status else None
    payment = plan.payment_status_value if plan else None
    return {
        "id": invoice.commercial_doc_id,
        "serial_no": header.serial_no,
        "issue_date": header.issue_date.date() if header.issue_date else None,
        "due_date": header.due_date.date() if header.due_date else None,
        "party": header.associate.full_name,
        "tax_id": header.associate.identity_no,
        "currency": invoice.currency,
        "subtotal": invoice.total.subtotal,
        "vat": invoice.total.total_vat,
        "grand_total": invoice.total.grand_total,
        "paid": plan.total_paid if plan else None,
        "remaining": plan.total_remaining if plan else None,
        "payment_status": layout.PAYMENT_STATUS_LABELS.get(payment or "", payment),
        "type": type_label(invoice),
        "doc_status": layout.DOC_STATUS_LABELS.get(status or "", status),
        "edoc_status": layout.E_DOCUMENT_STATUS_LABELS.get(
            invoice.e_document_status or "", invoice.e_document_status
        ),
        "description": header.description,
        "tags": ", ".join(t.name for t in invoice.tags if t.name),
    }


DATA_COLUMNS = tuple(c for c in layout.INVOICE_COLUMNS if c.role is layout.Role.DATA)
TOOL_HEADERS = frozenset(c.header for c in layout.INVOICE_COLUMNS)

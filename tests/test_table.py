"""The invoice table's pure parsers: the same answers from rows as from a grid."""

from __future__ import annotations

import pytest

from kolaybi_xl.api.models import InvoiceType
from kolaybi_xl.jobs.errors import JobError
from kolaybi_xl.jobs.table import (
    chosen_types,
    parse_chosen_types,
    parse_invoice_table,
    read_invoice_table,
    write_control_strip,
)
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.grid import MemoryGrid

HEADER = [c.header for c in layout.INVOICE_COLUMNS]


def sheet(type_label: str | None, *rows: list[object]) -> MemoryGrid:
    grid = MemoryGrid()
    grid.ensure_sheet(layout.INVOICES)
    write_control_strip(grid, type_label, None, "hazır")
    grid.write(layout.INVOICES, layout.INVOICE_HEADER_ROW, 1, [HEADER, *rows])
    return grid


def test_parse_invoice_table_reads_rows_as_the_grid_version_does() -> None:
    grid = sheet("Satış Faturası", [1854, "SF1"], [1855])
    rows = grid.read(layout.INVOICES)
    table = parse_invoice_table(rows)
    from_grid = read_invoice_table(grid)
    assert table is not None
    assert from_grid is not None
    assert (table.header_row, table.header, table.rows) == (
        from_grid.header_row,
        from_grid.header,
        from_grid.rows,
    )
    assert table.header_row == layout.INVOICE_HEADER_ROW
    assert [table.get(i, layout.ID_HEADER) for i in range(2)] == [1854, 1855]
    assert parse_invoice_table([]) is None


def test_parse_invoice_table_refuses_a_sheet_that_is_not_ours() -> None:
    rows = [[None]] * (layout.INVOICE_HEADER_ROW - 1) + [["Benim tablom", 1]]
    with pytest.raises(JobError):
        parse_invoice_table(rows)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Satış İade Faturası", [InvoiceType.SALE_RETURN_INVOICE]),
        (layout.ALL_TYPES_LABEL, list(InvoiceType)),
        (None, [InvoiceType.SALE_INVOICE]),
    ],
)
def test_parse_chosen_types_reads_the_strip(label: str | None, expected: list[InvoiceType]) -> None:
    grid = sheet(label, [1854])
    rows = grid.read(layout.INVOICES)
    assert parse_chosen_types(rows, InvoiceType.SALE_INVOICE) == expected
    assert chosen_types(grid, InvoiceType.SALE_INVOICE) == expected

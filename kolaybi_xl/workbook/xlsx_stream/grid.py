"""``StreamGrid``: ``FileGrid`` for a new workbook whose invoice table is written as a stream.

openpyxl is slow at one thing a fetch does: holding and writing a few hundred thousand cells.
So the invoice table's data rows never become openpyxl cells: ``write`` keeps them as values,
``format_table`` formats everything but them (column widths, header, fills of the spare rows,
dropdowns, conditional formats, freeze panes, print settings: openpyxl's own code, unchanged),
and ``save`` has openpyxl write the workbook without them, then puts their XML into the sheet
(``rows``: the cells openpyxl would have written, style for style) and copies every other part
of openpyxl's package unchanged.

Anything else done to those rows (a read, another write over them, a clear, a save before the
table was formatted) first turns them into ordinary openpyxl cells (``_materialise``): the
result is then exactly ``FileGrid``'s, only not faster. So is a save that meets anything the
splice does not expect.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ...gcpause import paused_gc
from .. import layout
from ..grid import CellValue, TableFormat
from ..xlsx_file import FileGrid
from ..xlsx_format import format_sheet_table
from ..xlsx_patch.errors import NotPatchable
from ..xlsx_save import serialise
from ..xlsx_store import MAX_ROW
from .rows import Block, render_block
from .splice import dimension_ref, splice_rows

log = logging.getLogger(__name__)

STREAMED_SHEET = layout.INVOICES
MIN_STREAMED_ROWS = 2  # below this the stream gains nothing


class StreamGrid(FileGrid):
    _block: Block | None = None

    def _overlaps(self, sheet: str, top: int, bottom: int) -> bool:
        block = self._block
        if block is None or sheet != STREAMED_SHEET:
            return False
        return top <= block.bottom and bottom >= block.top

    def _materialise(self) -> None:
        """The streamed rows as openpyxl cells (and their format), as ``FileGrid`` has them."""
        block, self._block = self._block, None
        if block is None:
            return
        super().write(STREAMED_SHEET, block.top, 1, block.rows)
        if block.table is not None:
            super().format_table(STREAMED_SHEET, block.table)

    def _empty_below(self, sheet: str, row: int) -> bool:
        ws = self._sheet(sheet)
        return not any(r > row for r, _ in ws._cells) and not any(
            r > row for r in ws.row_dimensions
        )

    # -- the Grid protocol --------------------------------------------------------------------

    def read(self, sheet: str) -> list[list[Any]]:
        if sheet == STREAMED_SHEET:
            self._materialise()
        return super().read(sheet)

    def write(self, sheet: str, top: int, left: int, rows: Sequence[Sequence[CellValue]]) -> None:
        if self._overlaps(sheet, top, top + len(rows) - 1):
            self._materialise()
        if self._streams(sheet, top, left, rows):
            # The first row (the header) as cells; the rest streamed at save.
            super().write(sheet, top, left, rows[:1])
            self._block = Block(top + 1, [list(row) for row in rows[1:]])
            return
        super().write(sheet, top, left, rows)

    def _streams(
        self, sheet: str, top: int, left: int, rows: Sequence[Sequence[CellValue]]
    ) -> bool:
        """Whether this write is the invoice table's first, into nothing below its header."""
        return (
            sheet == STREAMED_SHEET
            and self._block is None
            and left == 1
            and len(rows) > MIN_STREAMED_ROWS
            and top >= 1
            and top + len(rows) - 1 <= MAX_ROW
            and sheet in self.sheet_names()
            and self._empty_below(sheet, top)
        )

    def clear(self, sheet: str, top: int, left: int, bottom: int, right: int) -> None:
        if self._overlaps(sheet, top, bottom):
            self._materialise()
        super().clear(sheet, top, left, bottom, right)

    def format_table(self, sheet: str, table: TableFormat) -> None:
        block = self._block
        if block is not None and sheet == STREAMED_SHEET:
            if block.table is None and block.covered_by(table):
                block.table = table
                format_sheet_table(
                    self._sheet(sheet), table, streamed=range(block.top, block.bottom + 1)
                )
                return
            self._materialise()
        super().format_table(sheet, table)

    # -- saving -------------------------------------------------------------------------------

    def _serialise(self) -> bytes:
        block = self._block
        if block is None or block.table is None:
            self._materialise()
            return super()._serialise()
        try:
            with paused_gc(len(block.rows)):
                return self._streamed(block)
        except NotPatchable as exc:
            reason = str(exc)
        except Exception as exc:  # a case this code did not foresee: openpyxl writes it all
            log.warning("streaming %s failed, saving through openpyxl", self.path.name)
            reason = f"{type(exc).__name__}: {exc}"
        log.info("saving %s through openpyxl: %s", self.path.name, reason)
        self._materialise()
        return super()._serialise()

    def _streamed(self, block: Block) -> bytes:
        ws = self._sheet(STREAMED_SHEET)
        rows = render_block(ws, block)  # registers the rows' styles before openpyxl writes
        cells = ws._cells
        min_row = min([r for r, _ in cells] + [block.top])
        min_col = min([c for _, c in cells] + [1])
        max_row = max([r for r, _ in cells] + [block.bottom])
        max_col = max([c for _, c in cells] + [block.width])
        data = serialise(self.workbook, self._xlsm)
        ref = dimension_ref(min_row, min_col, max_row, max_col)
        return splice_rows(data, STREAMED_SHEET, rows, block.top, block.bottom, ref)

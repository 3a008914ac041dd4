"""The workbook's own id, so that collection outcomes go back to the workbook they came from.

It is kept as one label/value row on ``Ayarlar`` (``Kitap Kimliği``): a plain cell survives
saves by Excel, openpyxl and LibreOffice alike and needs nothing beyond the grid protocol. A
copy of the file shares it; collect tells a copy from the original by the path the journal
recorded (see ``collect.recover._belongs``).
"""

from __future__ import annotations

import uuid

from ..workbook import layout
from ..workbook.cells import cell_text
from ..workbook.grid import Grid

WORKBOOK_ID_LABEL = "Kitap Kimliği"
WORKBOOK_ID_HELP = (
    "kolaybi-xl bu çalışma kitabını bununla tanır (tahsilat sonuçları buraya yazılır); "
    "değiştirmeyin."
)


def new_workbook_id() -> str:
    return "kb-" + uuid.uuid4().hex[:16]  # never all digits: stays text wherever edited


def read_workbook_id(grid: Grid) -> str:
    """The id on ``Ayarlar``, or '' when there is none."""
    if layout.SETTINGS not in grid.sheet_names():
        return ""
    for row in grid.read(layout.SETTINGS):
        if len(row) >= 2 and cell_text(row[0]) == WORKBOOK_ID_LABEL:
            return cell_text(row[1])
    return ""


def write_workbook_id(grid: Grid, workbook_id: str) -> None:
    """Put the id on ``Ayarlar`` (its own row, or the first row after the used ones)."""
    grid.ensure_sheet(layout.SETTINGS)
    rows = grid.read(layout.SETTINGS)
    target = len(rows) + 1
    for number, row in enumerate(rows, start=1):
        if row and cell_text(row[0]) == WORKBOOK_ID_LABEL:
            target = number
            break
    grid.write(layout.SETTINGS, target, 1, [[WORKBOOK_ID_LABEL, workbook_id, WORKBOOK_ID_HELP]])


__all__ = ["WORKBOOK_ID_LABEL", "new_workbook_id", "read_workbook_id", "write_workbook_id"]

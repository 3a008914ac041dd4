"""Which file backend ``fetch`` gets: ``StreamGrid`` for a workbook it creates, ``PatchGrid``
for a refresh of one whose ``Faturalar`` already carries its table format (only the rows that
change are rewritten), ``FileGrid`` (openpyxl) otherwise. ``KOLAYBI_XL_FAST=0`` forces
openpyxl, e.g. to compare."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .. import layout
from ..xlsx_file import FileGrid
from ..xlsx_patch.choose import fast_path_enabled
from ..xlsx_patch.errors import NotPatchable
from ..xlsx_patch.grid import PatchGrid
from .grid import StreamGrid

log = logging.getLogger(__name__)


def open_for_fetch(
    path: Path, template: str | os.PathLike[str] | None, *, for_writing: bool = True
) -> FileGrid | PatchGrid:
    """The grid ``fetch`` fills (``open(..., create=True)``, see ``FileGrid.open``)."""
    if not fast_path_enabled():
        return FileGrid.open(path, create=True, template=template, for_writing=for_writing)
    if not path.exists():
        return StreamGrid.open(path, create=True, template=template, for_writing=for_writing)
    try:
        # A refresh: the table format is made again by patching when the sheet has it already
        # (anything the patch cannot make is replayed through openpyxl at save).
        return PatchGrid.open(path, for_writing=for_writing, formatted=(layout.INVOICES,))
    except NotPatchable as exc:
        log.info("%s: openpyxl path (%s)", path.name, exc)
    return FileGrid.open(path, create=True, template=template, for_writing=for_writing)

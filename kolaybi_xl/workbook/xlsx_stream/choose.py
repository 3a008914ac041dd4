"""Which file backend ``fetch`` gets: ``StreamGrid`` for a workbook it creates, ``FileGrid``
(openpyxl) for an existing one. ``KOLAYBI_XL_FAST=0`` forces openpyxl, e.g. to compare."""

from __future__ import annotations

import os
from pathlib import Path

from ..xlsx_file import FileGrid
from ..xlsx_patch.choose import fast_path_enabled
from .grid import StreamGrid


def open_for_fetch(
    path: Path, template: str | os.PathLike[str] | None, *, for_writing: bool = True
) -> FileGrid:
    """The grid ``fetch`` fills (``open(..., create=True)``, see ``FileGrid.open``)."""
    kind = StreamGrid if fast_path_enabled() and not path.exists() else FileGrid
    return kind.open(path, create=True, template=template, for_writing=for_writing)

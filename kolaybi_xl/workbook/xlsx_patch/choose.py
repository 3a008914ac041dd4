"""Which file backend a command gets: ``PatchGrid`` when the workbook qualifies, else
``FileGrid`` (openpyxl). ``KOLAYBI_XL_FAST=0`` forces openpyxl, e.g. to compare the two."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .. import layout
from ..xlsx_file import FileGrid
from .errors import NotPatchable
from .grid import PatchGrid

log = logging.getLogger(__name__)

FAST_ENV = "KOLAYBI_XL_FAST"


def fast_path_enabled() -> bool:
    return os.environ.get(FAST_ENV, "1").strip().lower() not in ("0", "no", "false", "off")


def open_for_collect(path: Path, *, for_writing: bool = True) -> PatchGrid | FileGrid:
    """The grid ``collect`` works on, decided before any API call."""
    if fast_path_enabled():
        try:
            # Collect appends to the log: only extending its table format is done by patching.
            return PatchGrid.open(path, for_writing=for_writing, formatted=(layout.COLLECTION_LOG,))
        except NotPatchable as exc:
            log.info("%s: openpyxl path (%s)", path.name, exc)
    return FileGrid.open(path, for_writing=for_writing)

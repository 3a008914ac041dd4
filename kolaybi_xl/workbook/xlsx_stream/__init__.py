"""The streaming file backend: fetch writes a new workbook's invoice table as XML (see
``grid``); ``open_for_fetch`` chooses it, or ``FileGrid``."""

from .choose import open_for_fetch
from .grid import StreamGrid

__all__ = ["StreamGrid", "open_for_fetch"]

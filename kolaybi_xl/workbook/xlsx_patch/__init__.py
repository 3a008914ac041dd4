"""The patching file backend: collect rewrites only the rows it changes (see ``grid``)."""

from .choose import FAST_ENV, open_for_collect
from .errors import NotPatchable
from .grid import PatchGrid

__all__ = ["FAST_ENV", "NotPatchable", "PatchGrid", "open_for_collect"]

"""Why a workbook is not one the patching backend handles (the caller then uses openpyxl)."""

from __future__ import annotations


class NotPatchable(Exception):
    """The file, or an operation on it, needs the openpyxl path; ``str()`` says why (English,
    for the log: the user sees nothing, the command just takes the slower path)."""

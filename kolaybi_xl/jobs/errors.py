"""Errors a job reports about a whole workbook or its settings (not about one row)."""

from __future__ import annotations

from ..errors import ExitCode, UserError

__all__ = ["ExitCode", "JobError"]


class JobError(UserError):
    """The job cannot run on this workbook/settings; nothing was changed.

    The message is an English msgid and its fields (``text(lang)``: the catalogue's Turkish for
    Excel's dialogs, the run's language on the command line).
    ``exit_code`` follows the command line contract: ``ExitCode.BAD_INPUT`` for bad settings or
    input files, ``ExitCode.API`` when the API could not be reached or refused the credentials.
    """

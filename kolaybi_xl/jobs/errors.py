"""Errors a job reports about a whole workbook or its settings (not about one row)."""

from __future__ import annotations


class JobError(Exception):
    """The job cannot run on this workbook/settings; nothing was changed.

    ``message`` is English (command line, logs), ``message_tr`` Turkish (Excel dialogs).
    ``exit_code`` follows the command line contract: 2 for bad settings or input files,
    3 when the API could not be reached or refused the credentials.
    """

    def __init__(self, message: str, message_tr: str | None = None, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.message_tr = message_tr or message
        self.exit_code = exit_code

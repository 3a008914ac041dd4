"""The rotating log file both front doors write (the Excel buttons and the command line).

``platformdirs.user_log_path("kolaybi-xl") / "kolaybi-xl.log"``: what went wrong in detail,
tracebacks included, so the user only ever sees one line. It never holds the API key: the
client redacts already, and every record passes a filter that masks the secrets it was told.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

import platformdirs

from .api.http import Redactor

APP_NAME = "kolaybi-xl"
LOG_NAME = "kolaybi-xl.log"
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3


def log_file() -> Path:
    return platformdirs.user_log_path(APP_NAME, appauthor=False) / LOG_NAME


class SecretFilter(logging.Filter):
    """Defence in depth: masks the secrets it was told in any record (message and traceback),
    in every form the client's ``Redactor`` knows (also JSON-escaped and URL-encoded)."""

    def __init__(self) -> None:
        super().__init__()
        self._redact = Redactor()

    def add(self, secret: str | None) -> None:
        self._redact.add(secret)

    def mask(self, text: str) -> str:
        return self._redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        masked = self.mask(text)
        if masked != text:
            record.msg, record.args = masked, None
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        return True


class _QuietRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A log that cannot be written (disk full, rotation blocked) is skipped, never a
    "--- Logging error ---" traceback on the user's terminal."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass


SECRETS = SecretFilter()
_handler: logging.Handler | None = None


def start_logging() -> Path | None:
    """Log the package's records (INFO and up) to the rotating file; the file's path, or None
    when it cannot be written (no log is better than no job). Re-pointed if the location
    changed (tests move it)."""
    global _handler
    path = log_file()
    if isinstance(_handler, logging.FileHandler) and Path(_handler.baseFilename) == path:
        return path
    package = logging.getLogger("kolaybi_xl")
    if _handler is not None:
        package.removeHandler(_handler)
        _handler.close()
        _handler = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = _QuietRotatingFileHandler(
            path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError:
        return None
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s")
    )
    handler.addFilter(SECRETS)
    handler.setLevel(logging.INFO)
    package.addHandler(handler)
    if package.level == logging.NOTSET or package.level > logging.INFO:
        package.setLevel(logging.INFO)
    _handler = handler
    return path

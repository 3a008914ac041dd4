"""One run of the command: its language, logging, the command, and the one error mapping."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from .. import __version__, i18n, logfile
from ..errors import explain
from ..jobs.settings import ENV_KEY
from .console import PipeGuard, fail
from .parser import build_parser

log = logging.getLogger("kolaybi_xl")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "resolve", None) and not args.resolve_as:
        parser.error("--resolve needs --as applied or --as not-applied")
    with i18n.use_language(i18n.language_from(os.environ, args.lang)):  # one language per run
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    log_path = _setup_logging(args.verbose)
    logfile.SECRETS.add(os.environ.get(ENV_KEY))
    func: Callable[[argparse.Namespace], int] = args.func
    stdout = sys.stdout
    sys.stdout = PipeGuard(stdout)
    try:
        log.info("kolaybi-xl %s: %s (%s)", __version__, args.command, i18n.current())
        with warnings.catch_warnings():  # restored afterwards (tests run commands in-process)
            warnings.showwarning = _warning_to_log_file
            return int(func(args))
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        return _failed(args, exc, log_path)
    finally:
        sys.stdout = stdout


def _warning_to_log_file(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """A library's Python warning (openpyxl's "Print area cannot be set…" on a LibreOffice
    file) is for the log file, not the person at the terminal."""
    log.info(
        "%s: %s (%s:%s)", category.__name__, message, filename, lineno,
        extra={"log_file_only": True},
    )  # fmt: skip


def _failed(args: argparse.Namespace, exc: BaseException, log_path: Path | None) -> int:
    """Log what went wrong (a bug with its traceback, in the log file only); show one line."""
    shown = explain(exc, log_file=log_path)
    if shown.unexpected:
        log.error(
            "%s failed unexpectedly", args.command, exc_info=exc, extra={"log_file_only": True}
        )
    else:
        log.info("%s failed: %s", args.command, shown.text, exc_info=args.verbose > 1)
    if args.verbose and shown.unexpected:
        detail = logfile.SECRETS.mask(f"{type(exc).__name__}: {exc}")
        print(f"kolaybi-xl: {detail}", file=sys.stderr)
    return fail(shown.text, shown.exit_code)


class _Console(logging.StreamHandler):
    """Log records on whatever ``sys.stderr`` is at the time (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "log_file_only", False):
            return
        if record.exc_info or record.exc_text:  # tracebacks go to the log file only
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        self.stream = sys.stderr
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        pass  # a closed stderr is no reason for a traceback


def _setup_logging(verbosity: int) -> Path | None:
    """Warnings (-v: info, -vv: debug) on stderr; the details always in the log file."""
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    package = logging.getLogger("kolaybi_xl")
    console = next((h for h in package.handlers if isinstance(h, _Console)), None)
    if console is None:
        console = _Console()
        console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        console.addFilter(logfile.SECRETS)
        package.addHandler(console)
    console.setLevel(level)
    path = logfile.start_logging()
    package.setLevel(min(level, logging.INFO))
    return path

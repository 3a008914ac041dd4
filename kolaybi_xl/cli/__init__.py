"""The ``kolaybi-xl`` command: every command is a thin call into the jobs, on workbook files.

Exit status (``errors.ExitCode``): 0 all requested work succeeded; 1 some rows failed; 2 bad
usage, settings or input file; 3 the API could not be reached or refused the credentials. Every
non-zero exit prints one clear line saying why (``errors.explain``), never a traceback: an
unexpected error names the log file that holds the details.

Where things are: ``main`` (this run: language, logging, the one error mapping), ``parser``
(every subcommand and its options), ``common`` (opening a workbook, settings, the client),
``console`` (progress, confirmation, waiting notes), and one module per group of commands:
``workbook_commands`` (fetch, vaults, report, init-workbook), ``collect_command``,
``journal_command``, ``setup_commands`` (doctor, set-key), ``sandbox_commands`` (sandbox, demo).
A new command is a subparser in ``parser`` and a short handler in one of those modules.
"""

from __future__ import annotations

from .common import CommandError, client_for, open_workbook, parse_types, settings_for
from .console import Progress, confirm_on_terminal, rate
from .main import main
from .parser import build_parser

__all__ = [
    "CommandError",
    "Progress",
    "build_parser",
    "client_for",
    "confirm_on_terminal",
    "main",
    "open_workbook",
    "parse_types",
    "rate",
    "settings_for",
]

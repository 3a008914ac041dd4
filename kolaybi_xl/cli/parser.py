"""The command line: every subcommand, its options, and the handler it runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Protocol

from .. import __version__, i18n
from . import (
    collect_command,
    journal_command,
    sandbox_commands,
    setup_commands,
    undo_command,
    workbook_commands,
)

LANG_CHOICES = i18n.LANGUAGES
LANG_HELP = (
    "the language of the messages: tr or en (default: KOLAYBI_LANG, else the locale: "
    "LC_ALL, LC_MESSAGES, LANG starting with tr means Turkish)"
)


class _Command(Protocol):
    """Adds a subcommand that also takes the connection options."""

    def __call__(self, name: str, help: str) -> argparse.ArgumentParser: ...


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kolaybi-xl",
        description="KolayBi invoices and collections on Excel workbooks, headless.",
        epilog="Settings: KOLAYBI_BASE_URL, KOLAYBI_CHANNEL, KOLAYBI_API_KEY (or the keyring) "
        "win over the workbook's 'Ayarlar' sheet.",
    )
    parser.add_argument("--version", action="version", version=f"kolaybi-xl {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: HTTP)")
    parser.add_argument("--base-url", help="API URL including /kolaybi/v1 (or Sandbox/Canlı)")
    parser.add_argument("--channel", help="the KolayBi Channel")
    parser.add_argument("--lang", choices=LANG_CHOICES, help=LANG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    connection = _connection_options()

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[connection])

    # In this order in --help.
    _workbook_commands(command)
    _tool_commands(command)
    _collection_commands(command)
    _setup_commands(command)
    return parser


def _connection_options() -> argparse.ArgumentParser:
    """The same options after the command too (`kolaybi-xl set-key --channel C`); SUPPRESS
    keeps an absent one from overriding a value given before the command."""
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--base-url", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    connection.add_argument("--channel", default=argparse.SUPPRESS, help="the KolayBi Channel")
    connection.add_argument(
        "--lang", choices=LANG_CHOICES, default=argparse.SUPPRESS, help=LANG_HELP
    )
    return connection


def _workbooks(p: argparse.ArgumentParser) -> None:
    p.add_argument("workbooks", nargs="+", type=Path, metavar="WORKBOOK")


def _workbook_commands(command: _Command) -> None:
    p = command("fetch", help="fill/refresh Faturalar (and Kasalar)")
    _workbooks(p)
    p.add_argument(
        "--type",
        action="append",
        metavar="TYPE",
        help="sale_invoice (default), sale_return_invoice, purchase_invoice, "
        "purchase_return_invoice, self_employment_receipt or all; repeatable",
    )
    p.add_argument("--no-vaults", action="store_true", help="do not refresh Kasalar")
    p.set_defaults(func=workbook_commands.cmd_fetch)

    p = command("vaults", help="refresh Kasalar")
    _workbooks(p)
    p.set_defaults(func=workbook_commands.cmd_vaults)

    p = command("collect", help="collect the marked rows (Tahsil Et) and write outcomes")
    _marked_rows_options(p, "collections")
    p.set_defaults(func=collect_command.cmd_collect)

    p = command("undo", help="take back the collections of the rows marked 'geri al'")
    _marked_rows_options(p, "requests")
    p.set_defaults(func=undo_command.cmd_undo)

    p = command("report", help="build the Özet sheet")
    _workbooks(p)
    p.add_argument("--as-of", metavar="DATE", help="aging date (YYYY-MM-DD; default today)")
    p.set_defaults(func=workbook_commands.cmd_report)

    p = command("init-workbook", help="a new workbook from the template")
    p.add_argument("path", type=Path, metavar="PATH")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(func=workbook_commands.cmd_init_workbook)


def _marked_rows_options(p: argparse.ArgumentParser, sent: str) -> None:
    """What ``collect`` and ``undo`` take: workbooks, the plan only, no question, how many at
    once, and not waiting for ``sent`` requests that got no answer."""
    _workbooks(p)
    p.add_argument("--dry-run", action="store_true", help="show the plan, send nothing")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--concurrency", type=int, choices=range(1, 9), metavar="N", help="1-8")
    p.add_argument(
        "--no-wait",
        action="store_true",
        help=f"do not wait for {sent} that got no answer (their rows say pending)",
    )


def _tool_commands(command: _Command) -> None:
    p = command("sandbox", help="serve the local KolayBi emulator until stopped")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--api-key", dest="api_key", default=None)
    p.add_argument("--invoices", type=int, default=300, help="how many invoices to seed")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=sandbox_commands.cmd_sandbox)

    p = command("demo", help="the whole flow offline, against an in-process sandbox")
    p.add_argument("--out", type=Path, default=Path("kolaybi-demo.xlsx"), metavar="PATH")
    p.add_argument("--invoices", type=int, default=120)
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=sandbox_commands.cmd_demo)


def _collection_commands(command: _Command) -> None:
    """The commands about collection attempts (the journal) after they were sent."""
    p = command("journal", help="collection attempts whose outcome is not settled")
    p.add_argument("--all", action="store_true", help="list every attempt")
    p.add_argument("--resolve", metavar="ATTEMPT", help="settle one attempt (id or its start)")
    p.add_argument(
        "--as",
        dest="resolve_as",
        choices=("applied", "not-applied"),
        help="with --resolve: what KolayBi shows for that invoice",
    )
    p.set_defaults(func=journal_command.cmd_journal)


def _setup_commands(command: _Command) -> None:
    p = command("doctor", help="check the setup: Python, xlwings, workbook, settings, API")
    p.add_argument("workbook", nargs="?", type=Path, metavar="WORKBOOK")
    p.set_defaults(func=setup_commands.cmd_doctor)

    p = command("set-key", help="store the API key in the operating system's keyring")
    p.set_defaults(func=setup_commands.cmd_set_key)

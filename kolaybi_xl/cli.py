"""The ``kolaybi-xl`` command: every command is a thin call into the jobs, on workbook files.

Exit status: 0 all requested work succeeded; 1 some rows failed; 2 bad usage, settings or
input file; 3 the API could not be reached or refused the credentials. Every non-zero exit
prints one clear line saying why.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .api import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    InvoiceType,
    KolayBiClient,
    KolayBiError,
)
from .jobs.errors import JobError
from .jobs.settings import Settings, load_settings
from .workbook.xlsx_file import FileGrid, WorkbookError

log = logging.getLogger("kolaybi_xl")

EXIT_OK, EXIT_ROWS_FAILED, EXIT_BAD_INPUT, EXIT_API = 0, 1, 2, 3


class CommandError(Exception):
    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def api_exit_code(exc: KolayBiError) -> int:
    if isinstance(exc, ConfigurationError):
        return EXIT_BAD_INPUT
    return EXIT_API


# -- helpers shared by the commands -----------------------------------------------------------


@contextmanager
def open_workbook(
    path: Path, *, create: bool = False, for_writing: bool = True
) -> Iterator[FileGrid]:
    from .template import template_for

    template = template_for(path) if create and not path.exists() else None
    grid = FileGrid.open(path, create=create, template=template, for_writing=for_writing)
    try:
        yield grid
    finally:
        grid.close()


def settings_for(grid: FileGrid | None, args: argparse.Namespace) -> Settings:
    return load_settings(grid, base_url=args.base_url, channel=args.channel)


def client_for(settings: Settings) -> KolayBiClient:
    return KolayBiClient(settings.base_url, settings.channel, settings.api_key)


def parse_types(values: Sequence[str] | None) -> list[InvoiceType] | None:
    if not values:
        return None
    types: list[InvoiceType] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if part.lower() in ("all", "tümü", "tumu"):
                return list(InvoiceType)
            try:
                invoice_type = InvoiceType.parse(part)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            if invoice_type not in types:
                types.append(invoice_type)
    return types or None


class Progress:
    """A progress bar (tqdm) on a terminal; silent when stderr is not one."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                desc=self.label,
                unit="fatura",
                file=self.stream,
                disable=not self.stream.isatty(),
                leave=True,
            )
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def confirm_on_terminal(question: str) -> bool:
    if not sys.stdin.isatty():
        raise CommandError(
            "collect needs confirmation but there is no terminal; rerun with --yes "
            "(after checking the plan with --dry-run)"
        )
    answer = input(f"{question} [e/H] ").strip().casefold()
    return answer in ("e", "evet", "y", "yes")


# -- commands ---------------------------------------------------------------------------------


def cmd_fetch(args: argparse.Namespace) -> int:
    from .jobs.fetch import chosen_types, refresh_invoices

    for path in args.workbooks:
        with open_workbook(path, create=True) as grid:
            settings = settings_for(grid, args)
            types = parse_types(args.type) or chosen_types(grid, settings.default_type)
            with client_for(settings) as client:
                result = refresh_invoices(grid, client, types, with_vaults=not args.no_vaults)
            grid.save()
        print(f"{path}: {result.summary_en()}")
    return EXIT_OK


def cmd_vaults(args: argparse.Namespace) -> int:
    from .jobs.vaults import refresh_vaults

    for path in args.workbooks:
        with open_workbook(path, create=True) as grid:
            settings = settings_for(grid, args)
            with client_for(settings) as client:
                vaults = refresh_vaults(grid, client)
            grid.save()
        print(f"{path}: {len(vaults)} vaults")
    return EXIT_OK


def cmd_collect(args: argparse.Namespace) -> int:
    from .jobs.collect import Plan, account_key, collect_marked
    from .jobs.journal import Journal

    worst = EXIT_OK
    journal = Journal.default()
    for path in args.workbooks:
        with open_workbook(path, for_writing=not args.dry_run) as grid:
            settings = settings_for(grid, args)
            concurrency = args.concurrency or settings.concurrency

            def confirm(plan: Plan, path: Path = path) -> bool:
                print(plan.describe_en())
                if args.yes:
                    return True
                return confirm_on_terminal(f"Collect these {len(plan.rows)} rows in {path.name}?")

            with client_for(settings) as client:
                result = collect_marked(
                    grid,
                    client,
                    journal,
                    key=account_key(client),
                    workbook=str(path.resolve()),
                    confirm=confirm,
                    dry_run=args.dry_run,
                    concurrency=concurrency,
                    on_progress=Progress(sys.stderr, "Tahsilat"),
                    no_wait=args.no_wait,
                    on_wait=_say_waiting,
                )
        if args.dry_run:
            print(result.plan.describe_en())
            print(f"{path}: dry run, nothing was sent and the workbook is unchanged")
            continue
        if result.cancelled:
            raise CommandError("collection cancelled; nothing was sent")
        print(f"{path}: {result.summary_en()}")
        worst = max(worst, result.exit_code)
    if worst == EXIT_ROWS_FAILED:
        print(
            "some rows were not collected: see 'Tahsilat Durumu' in the workbook", file=sys.stderr
        )
    elif worst == EXIT_API:
        print("KolayBi could not be reached or refused the credentials mid-run", file=sys.stderr)
    return worst


def _say_waiting(count: int, seconds: float) -> None:
    print(
        f"waiting up to {seconds:.0f} s for KolayBi: {count} collection request(s) got no "
        "answer and may still be processed; none is sent again before then (--no-wait: "
        "leave them pending)",
        file=sys.stderr,
        flush=True,
    )


def cmd_journal(args: argparse.Namespace) -> int:
    """List collection attempts whose outcome is not settled; record a user's verdict."""
    from .jobs.journal import APPLIED, NOT_APPLIED, Journal

    journal = Journal.default()
    attempts = journal.attempts()
    if args.resolve:
        matches = [a for a in attempts if a.attempt.startswith(args.resolve)]
        if len(matches) != 1:
            raise CommandError(
                f"--resolve {args.resolve}: {len(matches)} attempts match; give more of the id"
            )
        attempt = matches[0]
        if attempt.final:
            raise CommandError(
                f"attempt {attempt.attempt[:12]} is already settled ({attempt.result})"
            )
        result = APPLIED if args.resolve_as == "applied" else NOT_APPLIED
        with journal.lock(attempt.key):
            journal.outcome(
                attempt,
                result,
                "elle çözüldü: KolayBi'de kontrol edildi"
                + (" (tahsil edilmiş)" if result == APPLIED else " (tahsil edilmemiş)"),
            )
        print(
            f"recorded: invoice {attempt.document_id} {result}; the next collect on its "
            "workbook writes the outcome into the row"
        )
        return EXIT_OK
    shown = attempts if args.all else [a for a in attempts if not a.final]
    if not shown:
        print(f"no unsettled collection attempts in {journal.path}")
        return EXIT_OK
    print(
        f"{'attempt':<12} {'time':<19} {'invoice':>8} {'vault':>6} {'amount':>14}  state / workbook"
    )
    for a in sorted(shown, key=lambda a: a.at):
        state = a.result or "no outcome"
        print(
            f"{a.attempt[:12]:<12} {a.at[:19]:<19} {a.document_id:>8} {a.vault_id:>6} "
            f"{a.amount:>10} {a.currency:<3}  {state} / {Path(a.workbook).name}"
        )
    if not args.all:
        print(
            "check these invoices in KolayBi, then: kolaybi-xl journal --resolve ATTEMPT "
            "--as applied|not-applied (a collect run also settles them when KolayBi shows it)"
        )
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from .jobs.report import build_report

    as_of = _parse_as_of(args.as_of)
    for path in args.workbooks:
        with open_workbook(path) as grid:
            result = build_report(grid, as_of=as_of)
            grid.save()
        print(f"{path}: {result.summary_en()}")
    return EXIT_OK


def _parse_as_of(text: str | None) -> date:
    if not text:
        return date.today()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            from datetime import datetime

            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CommandError(f"--as-of: not a date: {text!r} (use YYYY-MM-DD)")


def cmd_init_workbook(args: argparse.Namespace) -> int:
    from .template import init_workbook

    path: Path = args.path
    if path.exists() and not args.force:
        raise CommandError(f"{path} already exists (use --force to replace it)")
    try:
        init_workbook(path, interpreter=sys.executable)
    except (RuntimeError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    print(f"created {path}")
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import Sandbox

    kwargs: dict[str, Any] = {"host": args.host, "port": args.port, "invoices": args.invoices}
    if args.channel:
        kwargs["channel"] = args.channel
    if args.api_key:
        kwargs["api_key"] = args.api_key
    sandbox = Sandbox(seed=args.seed, verbose=args.verbose > 0, **kwargs)
    sandbox.start()
    print(f"KolayBi sandbox running at {sandbox.url}")
    print(f"  export KOLAYBI_BASE_URL={sandbox.url}")
    print(f"  export KOLAYBI_CHANNEL={sandbox.channel}")
    print(f"  export KOLAYBI_API_KEY={sandbox.api_key}")
    print("Press Ctrl+C to stop.", flush=True)
    try:
        sandbox.serve_forever()
    finally:
        sandbox.stop()
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.out, invoices=args.invoices, stream=sys.stdout)


def cmd_set_key(args: argparse.Namespace) -> int:
    import keyring

    from .jobs.settings import KEYRING_SERVICE, keyring_user, resolve_url

    base_url = resolve_url(args.base_url or os.environ.get("KOLAYBI_BASE_URL") or "Sandbox")
    channel = args.channel or os.environ.get("KOLAYBI_CHANNEL")
    if not channel:
        raise CommandError("set-key needs --channel (or KOLAYBI_CHANNEL)")
    key = getpass.getpass("KolayBi API key (not shown): ").strip()
    if not key:
        raise CommandError("no key entered")
    keyring.set_password(KEYRING_SERVICE, keyring_user(base_url, channel), key)
    print(f"stored the API key for {base_url} / {channel} in the system keyring")
    return EXIT_OK


# -- parser -----------------------------------------------------------------------------------


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
    # The same two options after the command too (`kolaybi-xl set-key --channel C`); SUPPRESS
    # keeps an absent one from overriding a value given before the command.
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--base-url", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    connection.add_argument("--channel", default=argparse.SUPPRESS, help="the KolayBi Channel")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_parser = sub.add_parser

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return add_parser(name, help=help, parents=[connection])

    def workbooks(p: argparse.ArgumentParser) -> None:
        p.add_argument("workbooks", nargs="+", type=Path, metavar="WORKBOOK")

    p = command("fetch", help="fill/refresh Faturalar (and Kasalar)")
    workbooks(p)
    p.add_argument(
        "--type",
        action="append",
        metavar="TYPE",
        help="sale_invoice (default), sale_return_invoice, purchase_invoice, "
        "purchase_return_invoice, self_employment_receipt or all; repeatable",
    )
    p.add_argument("--no-vaults", action="store_true", help="do not refresh Kasalar")
    p.set_defaults(func=cmd_fetch)

    p = command("vaults", help="refresh Kasalar")
    workbooks(p)
    p.set_defaults(func=cmd_vaults)

    p = command("collect", help="collect the marked rows (Tahsil Et) and write outcomes")
    workbooks(p)
    p.add_argument("--dry-run", action="store_true", help="show the plan, send nothing")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--concurrency", type=int, choices=range(1, 9), metavar="N", help="1-8")
    p.add_argument(
        "--no-wait",
        action="store_true",
        help="do not wait for collections that got no answer (their rows say pending)",
    )
    p.set_defaults(func=cmd_collect)

    p = command("report", help="build the Özet sheet")
    workbooks(p)
    p.add_argument("--as-of", metavar="DATE", help="aging date (YYYY-MM-DD; default today)")
    p.set_defaults(func=cmd_report)

    p = command("init-workbook", help="a new workbook from the template")
    p.add_argument("path", type=Path, metavar="PATH")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(func=cmd_init_workbook)

    p = command("sandbox", help="serve the local KolayBi emulator until stopped")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--api-key", dest="api_key", default=None)
    p.add_argument("--invoices", type=int, default=300, help="how many invoices to seed")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_sandbox)

    p = command("demo", help="the whole flow offline, against an in-process sandbox")
    p.add_argument("--out", type=Path, default=Path("kolaybi-demo.xlsx"), metavar="PATH")
    p.add_argument("--invoices", type=int, default=120)
    p.set_defaults(func=cmd_demo)

    p = command("journal", help="collection attempts whose outcome is not settled")
    p.add_argument("--all", action="store_true", help="list every attempt")
    p.add_argument("--resolve", metavar="ATTEMPT", help="settle one attempt (id or its start)")
    p.add_argument(
        "--as",
        dest="resolve_as",
        choices=("applied", "not-applied"),
        help="with --resolve: what KolayBi shows for that invoice",
    )
    p.set_defaults(func=cmd_journal)

    p = command("set-key", help="store the API key in the operating system's keyring")
    p.set_defaults(func=cmd_set_key)
    return parser


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "resolve", None) and not args.resolve_as:
        parser.error("--resolve needs --as applied or --as not-applied")
    _setup_logging(args.verbose)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CommandError as exc:
        return _fail(str(exc), exc.exit_code)
    except JobError as exc:
        return _fail(exc.message, exc.exit_code)
    except WorkbookError as exc:
        return _fail(exc.message, EXIT_BAD_INPUT)
    except AuthenticationError as exc:
        return _fail(f"KolayBi refused the credentials: {exc}", EXIT_API)
    except ConnectionFailed as exc:
        return _fail(str(exc), EXIT_API)
    except KolayBiError as exc:
        return _fail(f"KolayBi API error: {exc}", api_exit_code(exc))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader went away (``kolaybi-xl journal --all | head -1``): not an error of ours.
        # Point stdout at nothing so the interpreter's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def _fail(message: str, code: int) -> int:
    print(f"kolaybi-xl: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

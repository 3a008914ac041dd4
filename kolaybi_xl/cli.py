"""The ``kolaybi-xl`` command: every command is a thin call into the jobs, on workbook files.

Exit status (``errors.ExitCode``): 0 all requested work succeeded; 1 some rows failed; 2 bad
usage, settings or input file; 3 the API could not be reached or refused the credentials. Every
non-zero exit prints one clear line saying why (``errors.explain``), never a traceback: an
unexpected error names the log file that holds the details.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import getpass
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from . import __version__, i18n, logfile
from .api import InvoiceType, KolayBiClient
from .errors import ExitCode, UserError, explain
from .i18n import N_, Message, _, ngettext
from .jobs.settings import ENV_KEY, Settings, load_settings
from .workbook.grid import Grid
from .workbook.xlsx_file import FileGrid

log = logging.getLogger("kolaybi_xl")

EXIT_OK, EXIT_ROWS_FAILED, EXIT_BAD_INPUT, EXIT_API = (
    ExitCode.OK,
    ExitCode.ROWS_FAILED,
    ExitCode.BAD_INPUT,
    ExitCode.API,
)


class CommandError(UserError):
    """Bad usage of a command (exit 2 unless told otherwise)."""


# -- helpers shared by the commands -----------------------------------------------------------


@contextmanager
def open_workbook(
    path: Path, *, create: bool = False, for_writing: bool = True, streamed: bool = False
) -> Iterator[FileGrid]:
    """``streamed``: a new workbook's invoice table is written as a stream (fetch)."""
    from .template import template_for
    from .workbook.xlsx_stream import open_for_fetch

    template = template_for(path) if create and not path.exists() else None
    if streamed and create:
        grid = open_for_fetch(path, template, for_writing=for_writing)
    else:
        grid = FileGrid.open(path, create=create, template=template, for_writing=for_writing)
    try:
        yield grid
    finally:
        grid.close()


def settings_for(grid: Grid | None, args: argparse.Namespace) -> Settings:
    settings = load_settings(grid, base_url=args.base_url, channel=args.channel)
    logfile.SECRETS.add(settings.api_key)
    return settings


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
            except ValueError:
                raise CommandError(
                    "--type: unknown invoice type '{text}' (sale_invoice, sale_return_invoice, "
                    "purchase_invoice, purchase_return_invoice, self_employment_receipt or all)",
                    text=part,
                ) from None
            if invoice_type not in types:
                types.append(invoice_type)
    return types or None


class Progress:
    """A progress bar (tqdm) on a terminal; silent when stderr is not one.

    ``12/40 [00:03<00:07, 4 fatura/sn]``: whole invoices per second in the run's language,
    not tqdm's ``47233.15fatura/s``."""

    BAR = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"

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
                file=self.stream,
                disable=not self.stream.isatty(),
                leave=True,
                bar_format=self.BAR,
            )
        if not self.bar.disable:
            elapsed = self.bar.format_dict.get("elapsed") or 0.0
            self.bar.set_postfix_str(rate(done, elapsed), refresh=False)
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def rate(done: int, seconds: float) -> str:
    """``4 invoices/s`` / ``4 fatura/sn``; ``…`` before there is anything to measure."""
    if done <= 0 or seconds <= 0:
        return "…"
    per_second = done / seconds
    shown = i18n.number(per_second, places=0 if per_second >= 10 else 1)
    return ngettext("{n} invoice/s", "{n} invoices/s", round(per_second)).format(n=shown)


# The answer a user types: the run's language's letters; the other language's are taken too.
YES_ANSWERS = frozenset({"e", "evet", "y", "yes"})


def confirm_on_terminal(question: str) -> bool:
    if not sys.stdin.isatty():
        raise CommandError(
            "collect needs confirmation but there is no terminal; rerun with --yes "
            "(after checking the plan with --dry-run)"
        )
    answer = input(f"{question} {_('[y/N]')} ").strip().casefold()
    return answer in YES_ANSWERS


# -- commands ---------------------------------------------------------------------------------


def cmd_fetch(args: argparse.Namespace) -> int:
    from .jobs.fetch import chosen_types, refresh_invoices

    for path in args.workbooks:
        with open_workbook(path, create=True, streamed=True) as grid:
            settings = settings_for(grid, args)
            types = parse_types(args.type) or chosen_types(grid, settings.default_type)
            with client_for(settings) as client:
                result = refresh_invoices(grid, client, types, with_vaults=not args.no_vaults)
            grid.save()
        vaults = ngettext("{n} vault", "{n} vaults", result.vaults).format(n=result.vaults)
        print(f"{path}: {result.summary()}; {vaults}")
    return EXIT_OK


def cmd_vaults(args: argparse.Namespace) -> int:
    from .jobs.vaults import refresh_vaults

    for path in args.workbooks:
        with open_workbook(path, create=True) as grid:
            settings = settings_for(grid, args)
            with client_for(settings) as client:
                vaults = refresh_vaults(grid, client)
            grid.save()
        print(f"{path}: " + ngettext("{n} vault", "{n} vaults", len(vaults)).format(n=len(vaults)))
    return EXIT_OK


def cmd_collect(args: argparse.Namespace) -> int:
    from .jobs.collect import Plan, account_key, collect_marked
    from .jobs.journal import Journal
    from .workbook.xlsx_patch import open_for_collect

    worst: int = EXIT_OK
    journal = Journal.default()
    for path in args.workbooks:
        # Only the rows that change are rewritten when the file allows (KOLAYBI_XL_FAST=0: not).
        with open_for_collect(path, for_writing=not args.dry_run) as grid:
            settings = settings_for(grid, args)
            concurrency = args.concurrency or settings.concurrency

            def confirm(plan: Plan, path: Path = path) -> bool:
                print(plan.describe())
                if args.yes:
                    return True
                n = len(plan.rows)
                question = ngettext(
                    "Collect this {n} row in {name}?", "Collect these {n} rows in {name}?", n
                )
                return confirm_on_terminal(question.format(n=n, name=path.name))

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
                    on_progress=Progress(sys.stderr, _("Collecting")),
                    no_wait=args.no_wait,
                    on_wait=_say_waiting,
                )
        if args.dry_run:
            print(result.plan.describe())
            print(
                _("{path}: dry run, nothing was sent and the workbook is unchanged").format(
                    path=path
                )
            )
            worst = max(worst, result.exit_code)  # 1 when a marked row would not go
            continue
        if result.cancelled:
            raise CommandError("collection cancelled; nothing was sent")
        print(f"{path}: {result.summary()}")
        worst = max(worst, result.exit_code)
    if worst == EXIT_ROWS_FAILED and args.dry_run:
        print(_("some marked rows would not be collected: see the plan above"), file=sys.stderr)
    elif worst == EXIT_ROWS_FAILED:
        print(
            _("some rows were not collected: see 'Tahsilat Durumu' in the workbook"),
            file=sys.stderr,
        )
    elif worst == EXIT_API:
        print(_("KolayBi could not be reached or refused the credentials mid-run"), file=sys.stderr)
    return worst


def _say_waiting(count: int, seconds: float) -> None:
    text = ngettext(
        "waiting up to {seconds} s for KolayBi: {n} collection request got no answer and may "
        "still be processed; it is not sent again before then (--no-wait: leave it pending)",
        "waiting up to {seconds} s for KolayBi: {n} collection requests got no answer and may "
        "still be processed; none is sent again before then (--no-wait: leave them pending)",
        count,
    )
    print(text.format(seconds=i18n.number(seconds), n=count), file=sys.stderr, flush=True)


def cmd_journal(args: argparse.Namespace) -> int:
    """List collection attempts whose outcome is not settled; record a user's verdict."""
    from .jobs.journal import APPLIED, NOT_APPLIED, Journal

    journal = Journal.default()
    attempts = journal.attempts()
    if args.resolve:
        matches = [a for a in attempts if a.attempt.startswith(args.resolve)]
        if len(matches) != 1:
            raise CommandError(
                "--resolve {id}: {n} attempts match; give more of the id",
                id=args.resolve,
                n=len(matches),
            )
        attempt = matches[0]
        if attempt.final:
            raise CommandError(
                "attempt {id} is already settled ({result})",
                id=attempt.attempt[:12],
                result=attempt.result,
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
            _(
                "recorded: invoice {invoice} {result}; the next collect on its workbook writes "
                "the outcome into the row"
            ).format(invoice=attempt.document_id, result=result)
        )
        return EXIT_OK
    shown = attempts if args.all else [a for a in attempts if not a.final]
    if not shown:
        print(_("no unsettled collection attempts in {path}").format(path=journal.path))
        return EXIT_OK
    heads = [_("attempt"), _("time"), _("invoice"), _("vault"), _("amount")]
    print(
        f"{heads[0]:<12} {heads[1]:<19} {heads[2]:>8} {heads[3]:>6} {heads[4]:>14}  "
        + _("state / workbook")
    )
    for a in sorted(shown, key=lambda a: a.at):
        state = a.result or _("no outcome")
        print(
            f"{a.attempt[:12]:<12} {a.at[:19]:<19} {a.document_id:>8} {a.vault_id:>6} "
            f"{i18n.amount(a.amount):>10} {a.currency:<3}  {state} / {Path(a.workbook).name}"
        )
    if not args.all:
        print(
            _(
                "check these invoices in KolayBi, then: kolaybi-xl journal --resolve ATTEMPT "
                "--as applied|not-applied (a collect run also settles them when KolayBi shows it)"
            )
        )
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from .jobs.report import build_report

    as_of = _parse_as_of(args.as_of)
    for path in args.workbooks:
        with open_workbook(path) as grid:
            result = build_report(grid, as_of=as_of)
            grid.save()
        print(f"{path}: {result.summary()}")
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
    raise CommandError("--as-of: not a date: '{text}' (use YYYY-MM-DD)", text=text)


def cmd_init_workbook(args: argparse.Namespace) -> int:
    from .template import init_workbook

    path: Path = args.path
    if path.exists() and not args.force:
        raise CommandError("{path} already exists (use --force to replace it)", path=path)
    if path.is_dir():
        raise CommandError(
            "{path} is a folder; give a file name ending in .xlsm or .xlsx", path=path
        )
    try:
        init_workbook(path, interpreter=sys.executable)
    except (RuntimeError, ValueError) as exc:
        raise CommandError("cannot create {path}: {detail}", path=path, detail=exc) from None
    print(_("created {path}").format(path=path))
    if path.suffix.lower() == ".xlsm":
        print(_("check the setup with: kolaybi-xl doctor {path}").format(path=path))
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import Sandbox

    kwargs: dict[str, Any] = {"host": args.host, "port": args.port, "invoices": args.invoices}
    if args.channel:
        kwargs["channel"] = args.channel
    if args.api_key:
        kwargs["api_key"] = args.api_key
    sandbox = Sandbox(seed=args.seed, verbose=args.verbose > 0, **kwargs)
    try:
        sandbox.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(
                "port {port} on {host} is already in use (another sandbox?); stop that one or "
                "choose another port with --port",
                port=args.port,
                host=args.host,
            ) from None
        raise CommandError(
            "cannot serve on {host}:{port}: {why}", host=args.host, port=args.port, why=exc.strerror
        ) from None
    # `kill` (SIGTERM) stops it as cleanly as Ctrl+C does.
    previous: Any = None
    with contextlib.suppress(ValueError):  # not the main thread (tests): no handler needed
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:  # from here on a signal at any moment stops it cleanly
        print(_("KolayBi sandbox running at {url}").format(url=sandbox.url))
        print(f"  export KOLAYBI_BASE_URL={sandbox.url}")
        print(f"  export KOLAYBI_CHANNEL={sandbox.channel}")
        print(f"  export KOLAYBI_API_KEY={sandbox.api_key}")
        print(_("Press Ctrl+C to stop."), flush=True)
        sandbox.serve_forever()
    except KeyboardInterrupt:
        print(_("stopped"))
    finally:
        sandbox.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return EXIT_OK


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.out, invoices=args.invoices, stream=sys.stdout, force=args.force)


def cmd_doctor(args: argparse.Namespace) -> int:
    """The setup check: one line per check, the fix under every ✗; 0 only when all holds."""
    from .jobs.doctor import run_checks, this_machine
    from .jobs.journal import Journal
    from .workbook.setup_facts import read_setup_facts

    facts = grid = None
    with contextlib.ExitStack() as stack:
        if args.workbook is not None:
            facts = read_setup_facts(args.workbook)
            if facts.problem is None:
                with contextlib.suppress(UserError):
                    grid = stack.enter_context(open_workbook(args.workbook, for_writing=False))
        report = run_checks(
            machine=this_machine(),
            facts=facts,
            grid=grid,
            environ=os.environ,
            make_client=_doctor_client,
            journal=Journal.default(),
            base_url=args.base_url,
            channel=args.channel,
        )
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # a cp1252 console and ✓/✗: replaced, not a crash
        with contextlib.suppress(ValueError, OSError):
            reconfigure(errors="replace")
    print(report.text())
    return EXIT_OK if report.ok else EXIT_BAD_INPUT


def _doctor_client(settings: Settings) -> KolayBiClient:
    logfile.SECRETS.add(settings.api_key)
    # One quick try: the check reports a slow or failing API rather than waiting it out.
    return KolayBiClient(
        settings.base_url, settings.channel, settings.api_key, max_retries=1, timeout=(5.0, 20.0)
    )


def cmd_set_key(args: argparse.Namespace) -> int:
    import keyring
    import keyring.errors

    from .jobs.settings import KEYRING_SERVICE, keyring_backend, keyring_user, resolve_url

    base_url = resolve_url(args.base_url or os.environ.get("KOLAYBI_BASE_URL") or "Sandbox")
    channel = args.channel or os.environ.get("KOLAYBI_CHANNEL")
    if not channel:
        raise CommandError("set-key needs --channel (or KOLAYBI_CHANNEL)")
    if keyring_backend() is None:
        raise CommandError(NO_KEYRING)
    if sys.stdin.isatty():
        key = getpass.getpass(_("KolayBi API key (not shown): ")).strip()
    else:  # piped (echo $KEY | kolaybi-xl set-key ...): read it, no "may be echoed" warning
        key = sys.stdin.readline().strip()
    if not key:
        raise CommandError("no key entered")
    logfile.SECRETS.add(key)
    try:
        keyring.set_password(KEYRING_SERVICE, keyring_user(base_url, channel), key)
    except keyring.errors.KeyringError as exc:
        log.info("keyring refused the key: %s", type(exc).__name__)
        raise CommandError(
            "{reason} ({kind})", reason=Message(NO_KEYRING), kind=type(exc).__name__
        ) from None
    print(
        _("stored the API key for {url} / {channel} in the system keyring").format(
            url=base_url, channel=channel
        )
    )
    return EXIT_OK


NO_KEYRING = N_(
    "this system has no usable keyring to store the key in; set the KOLAYBI_API_KEY "
    "environment variable instead"
)


# -- parser -----------------------------------------------------------------------------------

LANG_CHOICES = i18n.LANGUAGES
LANG_HELP = (
    "the language of the messages: tr or en (default: KOLAYBI_LANG, else the locale: "
    "LC_ALL, LC_MESSAGES, LANG starting with tr means Turkish)"
)


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
    # The same options after the command too (`kolaybi-xl set-key --channel C`); SUPPRESS
    # keeps an absent one from overriding a value given before the command.
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--base-url", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    connection.add_argument("--channel", default=argparse.SUPPRESS, help="the KolayBi Channel")
    connection.add_argument(
        "--lang", choices=LANG_CHOICES, default=argparse.SUPPRESS, help=LANG_HELP
    )
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
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
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

    p = command("doctor", help="check the setup: Python, xlwings, workbook, settings, API")
    p.add_argument("workbook", nargs="?", type=Path, metavar="WORKBOOK")
    p.set_defaults(func=cmd_doctor)

    p = command("set-key", help="store the API key in the operating system's keyring")
    p.set_defaults(func=cmd_set_key)
    return parser


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
    sys.stdout = _PipeGuard(stdout)
    try:
        log.info("kolaybi-xl %s: %s (%s)", __version__, args.command, i18n.current())
        return int(func(args))
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
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
        return _fail(shown.text, shown.exit_code)
    finally:
        sys.stdout = stdout


def _fail(message: str, code: int) -> int:
    with contextlib.suppress(OSError):
        print(_("kolaybi-xl: error: {message}").format(message=message), file=sys.stderr)
    return code


class _PipeGuard:
    """stdout that survives its reader going away (``kolaybi-xl journal --all | head -1``):
    the rest of the output is dropped, the work and its exit code are not."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._closed = False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop()

    def _drop(self) -> None:
        self._closed = True
        # Python flushes stdout again at exit: point it at nothing so that is quiet too.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

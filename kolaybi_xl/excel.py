"""Entry points for the workbook's buttons: VBA calls them through xlwings' ``RunPython``.

    RunPython "import kolaybi_xl.excel as k; k.refresh_invoices()"

``refresh_invoices``, ``refresh_vaults``, ``collect_marked``, ``undo_marked`` (Tahsilatı Geri
Al), ``build_report`` and
``check_setup`` (Kurulum Kontrolü: the ``kolaybi-xl doctor`` checks, in Turkish) each take an
optional ``xlwings.Book`` (default: ``xlwings.Book.caller()``, the workbook whose button was
pressed) and run the same job as the command line, on an ``ExcelGrid`` over that book. Settings
come from the environment and the workbook's ``Ayarlar`` sheet; the API key only from the
environment (``KOLAYBI_API_KEY``) or the operating system's keyring, never from the workbook.

What the user sees: progress in the status bar, the screen frozen while the job writes
(restored in ``finally``), for ``collect_marked`` a Yes/No dialog with the plan's totals, and at
the end one short Turkish message box. An error is never a traceback: every exception becomes
a short Turkish message box, and the details go to a rotating log file
(``platformdirs.user_log_path("kolaybi-xl") / "kolaybi-xl.log"``), which never holds the API key.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

# xlwings 0.37.8 (the version the template's VBA module is for) needs Python 3.11+; on 3.10
# kolaybi-xl installs without it and runs headless only.
try:
    import xlwings
except ImportError as exc:  # pragma: no cover - only on installs without xlwings
    raise ImportError(
        "kolaybi-xl's Excel side needs xlwings 0.37.8 (Python 3.11 or newer); "
        "the command line works without it"
    ) from exc

from . import logfile
from .api import KolayBiClient
from .errors import UserError, explain
from .jobs.settings import ENV_KEY, Settings, load_settings
from .workbook import layout
from .workbook.excel_grid import ExcelGrid

log = logging.getLogger("kolaybi_xl.excel")

TITLE = "KolayBi"
# A message box taller than the screen hides its buttons: long plans are cut.
ALERT_MAX_LINES = 40
ALERT_MAX_CHARS = 3000

__all__ = [
    "build_report",
    "check_setup",
    "collect_marked",
    "log_file",
    "refresh_invoices",
    "refresh_vaults",
    "undo_marked",
]


# -- the buttons ---------------------------------------------------------------------------------


def refresh_invoices(book: xlwings.Book | None = None) -> None:
    """Faturaları Getir: fill/refresh ``Faturalar`` with the type chosen in its dropdown."""
    _run(book, "Faturaları Getir", _refresh_invoices)


def refresh_vaults(book: xlwings.Book | None = None) -> None:
    """Kasaları Getir: rewrite ``Kasalar`` (and the vault dropdown's list)."""
    _run(book, "Kasaları Getir", _refresh_vaults)


def collect_marked(book: xlwings.Book | None = None) -> None:
    """Tahsil Et: plan the marked rows, ask, collect, write each row's outcome."""
    _run(book, "Tahsilat", _collect_marked)


def undo_marked(book: xlwings.Book | None = None) -> None:
    """Tahsilatı Geri Al: plan the rows marked ``geri al``, ask, take their collections back."""
    _run(book, "Tahsilatı Geri Al", _undo_marked)


def build_report(book: xlwings.Book | None = None) -> None:
    """Özet Oluştur: build the summary sheet from the workbook (no API call)."""
    _run(book, "Özet", _build_report)


def check_setup(book: xlwings.Book | None = None) -> None:
    """Kurulum Kontrolü: the setup check (``kolaybi-xl doctor``), in Turkish."""
    _run(book, "Kurulum Kontrolü", _check_setup)


# -- the jobs, on a prepared context --------------------------------------------------------------


class Job:
    """What a button's job gets: the book, its grid, and (on first use) settings and client."""

    def __init__(self, book: xlwings.Book, grid: ExcelGrid, stack: ExitStack) -> None:
        self.book = book
        self.grid = grid
        self._stack = stack
        self._settings: Settings | None = None
        self._client: KolayBiClient | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.grid)
            logfile.SECRETS.add(self._settings.api_key)
            log.info("settings: %r", self._settings)  # the repr leaves the key out
        return self._settings

    @property
    def client(self) -> KolayBiClient:
        if self._client is None:
            s = self.settings
            self._client = self._stack.enter_context(
                KolayBiClient(s.base_url, s.channel, s.api_key)
            )
        return self._client

    def ask(self, question: str, title: str) -> bool:
        """A Yes/No message box; True for Yes."""
        answer = self.book.app.alert(
            fit_alert(question), title=f"{TITLE}: {title}", buttons="yes_no"
        )
        return answer == "yes"


def _refresh_invoices(job: Job) -> str:
    from .jobs.fetch import chosen_types
    from .jobs.fetch import refresh_invoices as refresh

    types = chosen_types(job.grid, job.settings.default_type)
    result = refresh(job.grid, job.client, types)
    return f"Faturalar güncellendi: {result.summary('tr')}; {result.vaults} kasa."


def _refresh_vaults(job: Job) -> str:
    from .jobs.vaults import refresh_vaults as refresh

    vaults = refresh(job.grid, job.client)
    return f"Kasalar güncellendi: {len(vaults)} kasa/banka hesabı."


@dataclasses.dataclass(frozen=True)
class _MarkedRows:
    """What differs between collecting and taking back marked rows, in the Excel dialogs."""

    title: str
    question: str  # {n}: how many invoices
    cancelled: str
    nothing_marked: str
    see_rows: str


_COLLECT = _MarkedRows(
    title="Tahsilat",
    question="Bu {n} fatura tahsil edilsin mi?",
    cancelled="Tahsilat iptal edildi; hiçbir şey gönderilmedi.",
    nothing_marked=(
        "İşaretli satır yok; hiçbir şey gönderilmedi. Tahsil etmek istediğiniz "
        "satırların 'Tahsil Et' sütununa x yazın ve 'Kasa/Banka' seçin."
    ),
    see_rows="Tahsil edilemeyen satırlar için 'Tahsilat Durumu' sütununa bakın.",
)
_UNDO = _MarkedRows(
    title="Tahsilatı Geri Al",
    question="Bu {n} faturanın tahsilatı geri alınsın mı?",
    cancelled="Geri alma iptal edildi; hiçbir şey gönderilmedi.",
    nothing_marked=(
        "Geri alınacak satır yok; hiçbir şey gönderilmedi. Tahsilatını geri almak "
        "istediğiniz satırların 'Tahsil Et' sütununa geri al yazın."
    ),
    see_rows="Geri alınamayan satırlar için 'Tahsilat Durumu' sütununa bakın.",
)


def _collect_marked(job: Job) -> str:
    from .jobs.collect import collect_marked

    return _run_marked(job, collect_marked, _COLLECT)


def _undo_marked(job: Job) -> str:
    from .jobs.undo import undo_marked

    return _run_marked(job, undo_marked, _UNDO)


def _run_marked(job: Job, run: Callable[..., Any], texts: _MarkedRows) -> str:
    """Collect or take back the marked rows: the plan in a Yes/No box, then the summary."""
    from .jobs.collect import account_key
    from .jobs.journal import Journal

    def confirm(plan: Any) -> bool:
        question = f"{plan.describe('tr')}\n\n{texts.question.format(n=len(plan.rows))}"
        return job.ask(question, texts.title)

    client = job.client
    result = run(
        job.grid,
        client,
        Journal.default(),
        key=account_key(client),
        workbook=job.book.fullname,
        confirm=confirm,
        concurrency=job.settings.concurrency,
        # No per-row callback: the job reports every 5% through grid.progress (the status
        # bar), from this thread; the HTTP worker threads never see the grid.
    )
    if result.cancelled:
        return texts.cancelled
    if not result.plan.rows and not result.plan.marked and not result.outcomes:
        return texts.nothing_marked
    text = result.summary("tr")
    if not result.plan.rows:
        text = f"Gönderilecek satır yok; hiçbir şey gönderilmedi.\n{text}"
    if result.exit_code:
        text += "\n" + texts.see_rows
    return text


def _check_setup(job: Job) -> str:
    from .jobs.doctor import run_checks, this_machine
    from .jobs.journal import Journal
    from .workbook.setup_facts import conf_from_rows, read_setup_facts

    path = Path(str(job.book.fullname))
    facts = read_setup_facts(path) if path.is_file() else None  # a never-saved book: no file
    if facts is not None and layout.XLWINGS_CONF in job.grid.sheet_names():
        # xlwings.conf as Excel holds it now, unsaved edits included
        conf = conf_from_rows(job.grid.read(layout.XLWINGS_CONF))
        facts = dataclasses.replace(facts, conf=conf)

    def make_client(settings: Settings) -> KolayBiClient:
        logfile.SECRETS.add(settings.api_key)
        return KolayBiClient(settings.base_url, settings.channel, settings.api_key, max_retries=1)

    report = run_checks(
        machine=this_machine(),
        facts=facts,
        grid=job.grid,
        environ=os.environ,
        make_client=make_client,
        journal=Journal.default(),
        for_excel=True,
    )
    log.info("setup check:\n%s", report.text("en"))
    if not report.ok:
        raise UserError(report.text)
    return report.text("tr")


def _build_report(job: Job) -> str:
    from .jobs.report import build_report as build

    return build(job.grid).summary("tr")


# -- the shared plumbing: one place for errors, logging, the screen ----------------------------


def _run(book: xlwings.Book | None, title: str, work: Callable[[Job], str]) -> None:
    """Run one button's job; whatever happens, the user gets one short Turkish message."""
    _start_logging()
    logfile.SECRETS.add(os.environ.get(ENV_KEY))
    if book is None:
        try:
            book = xlwings.Book.caller()
        except Exception:
            log.exception("%s: no calling workbook", title)
            # Printed by RunPython instead of a traceback.
            raise SystemExit(
                f"KolayBi: Excel çalışma kitabına bağlanılamadı; ayrıntılar: {log_file()}"
            ) from None
    log.info("%s: started", title)
    grid = ExcelGrid(book)
    mode = "info"
    try:
        with ExitStack() as stack, grid.batch():
            message = work(Job(book, grid, stack))
        log.info("%s: done: %s", title, message)
    except Exception as exc:
        log.exception("%s: failed", title)
        message, mode = message_tr(exc), "critical"
    try:
        book.app.alert(fit_alert(message), title=f"{TITLE}: {title}", buttons="ok", mode=mode)
    except Exception:
        log.exception("%s: could not show the message box", title)


def message_tr(exc: BaseException) -> str:
    """A short Turkish message for the user (never a traceback, never a secret)."""
    return explain(exc, "tr", log_file=log_file()).text


def fit_alert(text: str) -> str:
    """A message box text that fits on a screen."""
    lines = text.splitlines()
    if len(lines) > ALERT_MAX_LINES:
        keep = ALERT_MAX_LINES - 3
        lines = [*lines[:keep], "…", f"(+{len(lines) - keep} satır daha)", *lines[-1:]]
    text = "\n".join(lines)
    return text if len(text) <= ALERT_MAX_CHARS else text[: ALERT_MAX_CHARS - 1] + "…"


# -- logging: the shared rotating log file ------------------------------------------------------


def log_file() -> Path:
    return logfile.log_file()


def _start_logging() -> None:
    logfile.start_logging()

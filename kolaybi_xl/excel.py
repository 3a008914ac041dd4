"""Entry points for the workbook's buttons: VBA calls them through xlwings' ``RunPython``.

    RunPython "import kolaybi_xl.excel as k; k.refresh_invoices()"

``refresh_invoices``, ``refresh_vaults``, ``collect_marked`` and ``build_report`` each take an
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

import logging
import logging.handlers
import os
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import platformdirs

# xlwings 0.37.8 (the version the template's VBA module is for) needs Python 3.11+; on 3.10
# kolaybi-xl installs without it and runs headless only.
try:
    import xlwings
except ImportError as exc:  # pragma: no cover - only on installs without xlwings
    raise ImportError(
        "kolaybi-xl's Excel side needs xlwings 0.37.8 (Python 3.11 or newer); "
        "the command line works without it"
    ) from exc

from .api import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    InvalidResponse,
    KolayBiClient,
    KolayBiError,
    NotFoundError,
    OutcomeUnknown,
    RateLimitedError,
    RejectedError,
    ServerError,
)
from .jobs.errors import JobError
from .jobs.settings import ENV_KEY, Settings, load_settings
from .workbook.excel_grid import ExcelGrid

log = logging.getLogger("kolaybi_xl.excel")

APP_NAME = "kolaybi-xl"
LOG_NAME = "kolaybi-xl.log"
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3
TITLE = "KolayBi"
# A message box taller than the screen hides its buttons: long plans are cut.
ALERT_MAX_LINES = 40
ALERT_MAX_CHARS = 3000

__all__ = ["build_report", "collect_marked", "log_file", "refresh_invoices", "refresh_vaults"]


# -- the four buttons ---------------------------------------------------------------------------


def refresh_invoices(book: xlwings.Book | None = None) -> None:
    """Faturaları Getir: fill/refresh ``Faturalar`` with the type chosen in its dropdown."""
    _run(book, "Faturaları Getir", _refresh_invoices)


def refresh_vaults(book: xlwings.Book | None = None) -> None:
    """Kasaları Getir: rewrite ``Kasalar`` (and the vault dropdown's list)."""
    _run(book, "Kasaları Getir", _refresh_vaults)


def collect_marked(book: xlwings.Book | None = None) -> None:
    """Tahsil Et: plan the marked rows, ask, collect, write each row's outcome."""
    _run(book, "Tahsilat", _collect_marked)


def build_report(book: xlwings.Book | None = None) -> None:
    """Özet Oluştur: build the summary sheet from the workbook (no API call)."""
    _run(book, "Özet", _build_report)


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
            _SECRETS.add(self._settings.api_key)
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
    return f"Faturalar güncellendi: {result.summary_tr()}; {result.vaults} kasa."


def _refresh_vaults(job: Job) -> str:
    from .jobs.vaults import refresh_vaults as refresh

    vaults = refresh(job.grid, job.client)
    return f"Kasalar güncellendi: {len(vaults)} kasa/banka hesabı."


def _collect_marked(job: Job) -> str:
    from .jobs.collect import account_key
    from .jobs.collect import collect_marked as collect
    from .jobs.journal import Journal

    client = job.client
    result = collect(
        job.grid,
        client,
        Journal.default(),
        key=account_key(client),
        workbook=job.book.fullname,
        confirm=partial(_confirm, job),
        concurrency=job.settings.concurrency,
        # No per-row callback: the job reports every 5% through grid.progress (the status
        # bar), from this thread; the HTTP worker threads never see the grid.
    )
    if result.cancelled:
        return "Tahsilat iptal edildi; hiçbir şey gönderilmedi."
    if not result.plan.rows and not result.plan.marked and not result.outcomes:
        return (
            "İşaretli satır yok; hiçbir şey gönderilmedi. Tahsil etmek istediğiniz "
            "satırların 'Tahsil Et' sütununa x yazın ve 'Kasa/Banka' seçin."
        )
    text = result.summary_tr()
    if not result.plan.rows:
        text = f"Gönderilecek satır yok; hiçbir şey gönderilmedi.\n{text}"
    if result.exit_code:
        text += "\nTahsil edilemeyen satırlar için 'Tahsilat Durumu' sütununa bakın."
    return text


def _confirm(job: Job, plan: Any) -> bool:
    """The collect job's confirmation: a Yes/No box with the plan and its totals."""
    question = f"{plan.describe_tr()}\n\nBu {len(plan.rows)} fatura tahsil edilsin mi?"
    return job.ask(question, "Tahsilat")


def _build_report(job: Job) -> str:
    from .jobs.report import build_report as build

    return build(job.grid).summary_tr()


# -- the shared plumbing: one place for errors, logging, the screen ----------------------------


def _run(book: xlwings.Book | None, title: str, work: Callable[[Job], str]) -> None:
    """Run one button's job; whatever happens, the user gets one short Turkish message."""
    _start_logging()
    _SECRETS.add(os.environ.get(ENV_KEY))
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
    if isinstance(exc, JobError):
        return exc.message_tr
    workbook_error = getattr(exc, "message_tr", None)
    if isinstance(workbook_error, str) and workbook_error:
        return workbook_error
    if isinstance(exc, KolayBiError):
        return _api_message_tr(exc)
    return f"Beklenmeyen bir hata oluştu; ayrıntılar: {log_file()}"


def _api_message_tr(exc: KolayBiError) -> str:
    said = _short(exc.message)
    if isinstance(exc, AuthenticationError):
        return (
            "KolayBi kimlik bilgilerini kabul etmedi: API anahtarını (KOLAYBI_API_KEY ya da "
            "anahtar deposu) ve Ayarlar sayfasındaki Channel değerini kontrol edin."
        )
    if isinstance(exc, ConnectionFailed):
        return (
            "KolayBi'ye ulaşılamadı: internet ya da VPN bağlantınızı kontrol edip yeniden deneyin."
        )
    if isinstance(exc, ConfigurationError):
        return f"KolayBi bağlantı ayarları geçersiz (Ayarlar sayfası): {said}"
    if isinstance(exc, OutcomeUnknown):
        return (
            "Bir tahsilatın sonucu belirsiz kaldı (bağlantı koptu ya da sunucu hata verdi). "
            "Tahsil Et'e yeniden basın: önce KolayBi'deki durum kontrol edilir, hiçbir şey iki "
            "kez gönderilmez."
        )
    if isinstance(exc, RateLimitedError):
        return "KolayBi çok fazla istek aldığını bildirdi; birkaç dakika sonra yeniden deneyin."
    if isinstance(exc, (ServerError, InvalidResponse)):
        return "KolayBi sunucusu hata verdi; biraz sonra yeniden deneyin."
    if isinstance(exc, NotFoundError):
        return f"KolayBi kaydı bulamadı: {said}"
    if isinstance(exc, RejectedError):
        return f"KolayBi isteği reddetti: {said}"
    return f"KolayBi hatası: {said}"


def _short(text: str, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def fit_alert(text: str) -> str:
    """A message box text that fits on a screen."""
    lines = text.splitlines()
    if len(lines) > ALERT_MAX_LINES:
        keep = ALERT_MAX_LINES - 3
        lines = [*lines[:keep], "…", f"(+{len(lines) - keep} satır daha)", *lines[-1:]]
    text = "\n".join(lines)
    return text if len(text) <= ALERT_MAX_CHARS else text[: ALERT_MAX_CHARS - 1] + "…"


# -- logging ------------------------------------------------------------------------------------


def log_file() -> Path:
    return platformdirs.user_log_path(APP_NAME, appauthor=False) / LOG_NAME


class _SecretFilter(logging.Filter):
    """Defence in depth: the client redacts already; this masks the key in any record."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4:
            self.secrets.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        text = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        masked, masked_exc = text, record.exc_text
        for secret in self.secrets:
            masked = masked.replace(secret, "***")
            if masked_exc:
                masked_exc = masked_exc.replace(secret, "***")
        if masked != text:
            record.msg, record.args = masked, None
        record.exc_text = masked_exc
        return True


_SECRETS = _SecretFilter()
_handler: logging.Handler | None = None


def _start_logging() -> None:
    """A rotating log file for the package's loggers (re-pointed if the location changed)."""
    global _handler
    path = log_file()
    if isinstance(_handler, logging.FileHandler) and Path(_handler.baseFilename) == path:
        return
    package = logging.getLogger("kolaybi_xl")
    if _handler is not None:
        package.removeHandler(_handler)
        _handler.close()
        _handler = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8", delay=True
        )
    except OSError:
        return  # no log is better than no job
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s")
    )
    handler.addFilter(_SECRETS)
    handler.setLevel(logging.INFO)
    package.addHandler(handler)
    if package.level == logging.NOTSET or package.level > logging.INFO:
        package.setLevel(logging.INFO)
    _handler = handler

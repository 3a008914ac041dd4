"""What a user sees when something fails: one base for our own errors, one mapping for all.

``UserError`` carries one English line (command line, logs), the same in Turkish (Excel dialogs)
and the command line's exit code; ``JobError``, ``WorkbookError`` and ``CommandError`` only
classify. ``explain`` turns *any* exception -- ours, the API client's ``KolayBiError`` (which
stays the api package's own base), an ``OSError`` naming a file, or a bug -- into the one line a
front door shows and its exit code. Both front doors (``cli.main``, ``excel``) use it; adding an
error means adding a class, never touching the front doors.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal, TypeVar

from .api.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    InvalidResponse,
    KolayBiError,
    NotFoundError,
    OutcomeUnknown,
    RateLimitedError,
    RejectedError,
    ServerError,
)

Lang = Literal["en", "tr"]
_E = TypeVar("_E", bound="UserError")


class ExitCode(enum.IntEnum):
    """The command line's exit status (README: "Exit status")."""

    OK = 0
    ROWS_FAILED = 1  # some rows failed; the workbook holds every row's outcome
    BAD_INPUT = 2  # bad usage, settings or input file (also: an unexpected error, logged)
    API = 3  # KolayBi could not be reached or refused the credentials


INTERRUPTED = 130  # Ctrl+C, as shells report SIGINT


class UserError(Exception):
    """A failure the user can act on: what went wrong and what to do, nothing changed."""

    default_exit_code: ClassVar[ExitCode] = ExitCode.BAD_INPUT

    def __init__(
        self, message: str, message_tr: str | None = None, *, exit_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.message_tr = message_tr or message
        self.exit_code = ExitCode(exit_code) if exit_code is not None else self.default_exit_code

    def text(self, lang: Lang) -> str:
        return self.message_tr if lang == "tr" else self.message

    @classmethod
    def from_api(cls: type[_E], exc: KolayBiError) -> _E:
        """This error for an API failure that stops a whole job (as ``explain`` words it)."""
        en, tr = explain(exc, "en"), explain(exc, "tr")
        return cls(en.text, tr.text, exit_code=en.exit_code)


@dataclass(frozen=True)
class Shown:
    """What a front door shows for a failure: one line, and the exit code."""

    text: str
    exit_code: int
    unexpected: bool = False  # a bug: the details (traceback) belong in the log file


def explain(exc: BaseException, lang: Lang = "en", *, log_file: Path | str | None = None) -> Shown:
    """The one line (in ``lang``) and the exit code for any exception. Never a traceback."""
    if isinstance(exc, UserError):
        return Shown(exc.text(lang), exc.exit_code)
    if isinstance(exc, KolayBiError):
        en, tr = _api_texts(exc)
        code = ExitCode.BAD_INPUT if isinstance(exc, ConfigurationError) else ExitCode.API
        return Shown(tr if lang == "tr" else en, code)
    if isinstance(exc, KeyboardInterrupt):
        return Shown("kesildi" if lang == "tr" else "interrupted", INTERRUPTED)
    if isinstance(exc, OSError) and exc.filename and not isinstance(exc, BrokenPipeError):
        # A file or folder we were told to use (a journal path, an output folder).
        where, why = exc.filename, exc.strerror or type(exc).__name__
        if lang == "tr":
            return Shown(f"{where} kullanılamıyor: {why}", ExitCode.BAD_INPUT)
        return Shown(f"cannot use {where}: {why}", ExitCode.BAD_INPUT)
    where = f"{log_file}" if log_file else "the log file"
    if lang == "tr":
        text = f"Beklenmeyen bir hata oluştu; ayrıntılar: {log_file or 'günlük dosyası'}"
    else:
        text = f"unexpected error ({type(exc).__name__}); the details are in {where}"
    return Shown(text, ExitCode.BAD_INPUT, unexpected=True)


def _short(text: str, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# What to check, by how a connection failed (``ConnectionFailed.cause``).
_CONNECTION_HINT_TR = {
    "refused": " (bağlantı reddedildi: Ayarlar sayfasındaki Ortam adresini kontrol edin)",
    "dns": " (sunucu adı bulunamadı: Ortam adresinin yazımını kontrol edin)",
}


def _api_texts(exc: KolayBiError) -> tuple[str, str]:
    """English and Turkish lines for a failed KolayBi call (free of secrets: the client
    redacts its messages)."""
    said = _short(exc.message)
    if isinstance(exc, AuthenticationError):
        return (
            f"KolayBi refused the credentials: {exc}; check the API key (KOLAYBI_API_KEY or "
            "the keyring: kolaybi-xl set-key) and the Channel",
            "KolayBi kimlik bilgilerini kabul etmedi: API anahtarını (KOLAYBI_API_KEY ya da "
            "anahtar deposu) ve Ayarlar sayfasındaki Channel değerini kontrol edin.",
        )
    if isinstance(exc, ConnectionFailed):
        hint = _CONNECTION_HINT_TR.get(getattr(exc, "cause", None) or "", "")
        return (
            str(exc),
            "KolayBi'ye ulaşılamadı: internet ya da VPN bağlantınızı kontrol edip yeniden "
            f"deneyin.{hint}",
        )
    if isinstance(exc, ConfigurationError):
        return (
            f"KolayBi connection settings are not valid: {said}",
            f"KolayBi bağlantı ayarları geçersiz (Ayarlar sayfası): {said}",
        )
    if isinstance(exc, OutcomeUnknown):
        return (
            f"the outcome of a collection is unknown ({said}); run collect again: it checks "
            "KolayBi first and never sends anything twice",
            "Bir tahsilatın sonucu belirsiz kaldı (bağlantı koptu ya da sunucu hata verdi). "
            "Tahsil Et'e yeniden basın: önce KolayBi'deki durum kontrol edilir, hiçbir şey iki "
            "kez gönderilmez.",
        )
    if isinstance(exc, RateLimitedError):
        return (
            f"KolayBi API error: {exc}; try again in a few minutes",
            "KolayBi çok fazla istek aldığını bildirdi; birkaç dakika sonra yeniden deneyin.",
        )
    if isinstance(exc, (ServerError, InvalidResponse)):
        return (
            f"KolayBi API error: {exc}; try again later",
            "KolayBi sunucusu hata verdi; biraz sonra yeniden deneyin.",
        )
    if isinstance(exc, NotFoundError):
        return f"KolayBi API error: {exc}", f"KolayBi kaydı bulamadı: {said}"
    if isinstance(exc, RejectedError):
        return f"KolayBi API error: {exc}", f"KolayBi isteği reddetti: {said}"
    return f"KolayBi API error: {exc}", f"KolayBi hatası: {said}"

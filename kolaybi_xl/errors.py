"""What a user sees when something fails: one base for our own errors, one mapping for all.

``UserError`` carries one message -- an English msgid and its fields, rendered from the gettext
catalogue (``i18n``) in the command line's language, or in Turkish for Excel's dialogs -- and the
command line's exit code; ``JobError``, ``WorkbookError`` and ``CommandError`` only
classify. ``explain`` turns *any* exception -- ours, the API client's ``KolayBiError`` (which
stays the api package's own base), an ``OSError`` naming a file, or a bug -- into the one line a
front door shows and its exit code. Both front doors (``cli.main``, ``excel``) use it; adding an
error means adding a class, never touching the front doors.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

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
from .i18n import N_, Lang, Message, Rendered, _

__all__ = ["INTERRUPTED", "ExitCode", "Lang", "Shown", "UserError", "explain"]

_E = TypeVar("_E", bound="UserError")


class ExitCode(enum.IntEnum):
    """The command line's exit status (README: "Exit status")."""

    OK = 0
    ROWS_FAILED = 1  # some rows failed; the workbook holds every row's outcome
    BAD_INPUT = 2  # bad usage, settings or input file (also: an unexpected error, logged)
    API = 3  # KolayBi could not be reached or refused the credentials


INTERRUPTED = 130  # Ctrl+C, as shells report SIGINT


class UserError(Exception):
    """A failure the user can act on: what went wrong and what to do, nothing changed.

    ``message`` is the English msgid (``{field}`` placeholders filled from ``fields``) or a
    ``Message``; ``text(lang)`` renders it from the catalogue. ``str(exc)`` is English (logs).
    """

    default_exit_code: ClassVar[ExitCode] = ExitCode.BAD_INPUT

    def __init__(
        self,
        message: str | Message | Rendered,
        legacy_tr: str | None = None,
        /,
        *,
        exit_code: int | None = None,
        **fields: Any,
    ) -> None:
        if isinstance(message, str) and legacy_tr is not None:
            # An (English, Turkish) pair from code not yet converted: still shown right, and
            # tests/test_i18n.py fails on it (its msgid is not in the catalogue).
            pair = {"en": message, "tr": legacy_tr}
            message = lambda lang: pair.get(lang, pair["en"])  # noqa: E731
        elif isinstance(message, str):
            message = Message(message, **fields)
        self.what: Message | Rendered = message
        super().__init__(self.text("en"))
        self.exit_code = ExitCode(exit_code) if exit_code is not None else self.default_exit_code

    def text(self, lang: Lang | None = None) -> str:
        if isinstance(self.what, Message):
            return self.what.text(lang)
        from .i18n import current

        return self.what(lang or current())

    @property
    def message(self) -> str:
        """English (logs, the command line in English)."""
        return self.text("en")

    @property
    def message_tr(self) -> str:
        """Turkish (the workbook and Excel's dialogs)."""
        return self.text("tr")

    @classmethod
    def from_api(cls: type[_E], exc: KolayBiError) -> _E:
        """This error for an API failure that stops a whole job (as ``explain`` words it)."""
        return cls(lambda lang: explain(exc, lang).text, exit_code=explain(exc).exit_code)


@dataclass(frozen=True)
class Shown:
    """What a front door shows for a failure: one line, and the exit code."""

    text: str
    exit_code: int
    unexpected: bool = False  # a bug: the details (traceback) belong in the log file


def explain(
    exc: BaseException, lang: Lang | None = None, *, log_file: Path | str | None = None
) -> Shown:
    """The one line (in ``lang``, default: the run's) and the exit code for any exception.
    Never a traceback."""
    if isinstance(exc, UserError):
        return Shown(exc.text(lang), exc.exit_code)
    if isinstance(exc, KolayBiError):
        code = ExitCode.BAD_INPUT if isinstance(exc, ConfigurationError) else ExitCode.API
        return Shown(_api_text(exc, lang), code)
    if isinstance(exc, KeyboardInterrupt):
        return Shown(_("interrupted", lang), INTERRUPTED)
    if isinstance(exc, OSError) and exc.filename and not isinstance(exc, BrokenPipeError):
        # A file or folder we were told to use (a journal path, an output folder).
        where, why = exc.filename, exc.strerror or type(exc).__name__
        text = _("cannot use {where}: {why}", lang).format(where=where, why=why)
        return Shown(text, ExitCode.BAD_INPUT)
    text = _("unexpected error ({kind}); the details are in {where}", lang).format(
        kind=type(exc).__name__, where=log_file or _("the log file", lang)
    )
    return Shown(text, ExitCode.BAD_INPUT, unexpected=True)


def _short(text: str, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# What to check, by how a connection failed (``ConnectionFailed.cause``).
_CONNECTION_HINTS = {
    "refused": N_("(connection refused: check the Ortam address on the Ayarlar sheet)"),
    "dns": N_("(server name not found: check the spelling of the Ortam address)"),
}


# The line for a failed KolayBi call, by the error's class: the first that matches.
# ``{detail}`` is the client's English text, ``{said}`` the server's message.
_API_TEMPLATES: tuple[tuple[type[KolayBiError] | tuple[type[KolayBiError], ...], str], ...] = (
    (
        AuthenticationError,
        N_(
            "KolayBi refused the credentials: {detail}; check the API key (KOLAYBI_API_KEY or "
            "the keyring: kolaybi-xl set-key) and the Channel"
        ),
    ),
    (ConnectionFailed, N_("{detail}; check the internet or VPN connection and try again")),
    (ConfigurationError, N_("KolayBi connection settings are not valid: {said}")),
    (
        OutcomeUnknown,
        N_(
            "the outcome of a collection is unknown ({said}); run collect again: it checks "
            "KolayBi first and never sends anything twice"
        ),
    ),
    (RateLimitedError, N_("KolayBi API error: {detail}; try again in a few minutes")),
    ((ServerError, InvalidResponse), N_("KolayBi API error: {detail}; try again later")),
    (NotFoundError, N_("KolayBi did not find the record: {said}")),
    (RejectedError, N_("KolayBi rejected the request: {said}")),
)
_API_OTHER = N_("KolayBi API error: {detail}")


def _api_text(exc: KolayBiError, lang: Lang | None) -> str:
    """The line for a failed KolayBi call (free of secrets: the client redacts its messages).
    ``detail`` is the client's English text; a translation may leave it out."""
    said, detail = _short(exc.message), str(exc)
    msgid = next((t for kind, t in _API_TEMPLATES if isinstance(exc, kind)), _API_OTHER)
    template = _(msgid, lang)
    if isinstance(exc, ConnectionFailed):
        hint = _CONNECTION_HINTS.get(getattr(exc, "cause", None) or "")
        if hint:
            template += " " + _(hint, lang)
    return template.format(detail=detail, said=said)

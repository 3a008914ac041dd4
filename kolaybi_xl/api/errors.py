"""One error hierarchy for every failure of a KolayBi call.

Callers branch on the class (what happened), show ``message`` (what the server or the
client said, already free of secrets) and may look at ``status`` (the HTTP status, or
None when no answer arrived).
"""

from __future__ import annotations


class KolayBiError(Exception):
    """Any failure of a KolayBi API call."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        if self.status is None:
            return self.message
        return f"{self.message} (HTTP {self.status})"


class ConfigurationError(KolayBiError):
    """The client was set up wrongly (bad URL, plain http to a remote host, empty channel)."""


class AuthenticationError(KolayBiError):
    """The API key, the Channel or the token was refused (HTTP 401/403)."""


class NotFoundError(KolayBiError):
    """The invoice, vault or path does not exist (HTTP 404)."""


class RejectedError(KolayBiError):
    """The server understood the request and refused it (4xx, or ``"success": false``).

    Nothing was applied.
    """


class RateLimitedError(KolayBiError):
    """Too many requests (HTTP 429) even after waiting as told. Nothing was applied."""

    def __init__(
        self, message: str, *, status: int | None = 429, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ServerError(KolayBiError):
    """The server failed (5xx) on a request that is safe to repeat, after the retries."""


class ConnectionFailed(KolayBiError):
    """No answer: the host could not be reached or did not answer in time.

    ``cause`` says how, for a hint on what to check: ``"refused"`` (nothing listens there),
    ``"dns"`` (the host name is unknown), ``"timeout"``, ``"tls"``, ``"closed"`` or None.
    """

    def __init__(
        self, message: str, *, status: int | None = None, cause: str | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.cause = cause


class InvalidResponse(KolayBiError):
    """The answer was not the JSON the API documents (an HTML page, a wrong shape, ...)."""


class OutcomeUnknown(KolayBiError):
    """A collection (proceed) may or may not have been applied.

    Raised when the request may have reached the server but no trustworthy answer came
    back: a read timeout, a connection dropped after sending, a 5xx, an unreadable 2xx, a
    2xx saying ``"success": false``. The caller must re-read the invoice before deciding
    anything; never resend blindly.

    ``answered`` tells the two kinds apart. True: the server answered (a 500, a 503, an
    unreadable 2xx): the request is over, so a re-read from now on tells the truth. False: no
    answer (read timeout, dropped connection, a gateway's 502/504 after its own timeout): the
    server may still be working on it, and a re-read can only prove "applied", never "not
    applied", until enough time has passed.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        document_id: int | None = None,
        vault_id: int | None = None,
        answered: bool | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.document_id = document_id
        self.vault_id = vault_id
        if answered is None:
            answered = status is not None and status not in GATEWAY_STATUSES
        self.answered = answered


# A gateway's own answer: the application behind it may still process the request.
GATEWAY_STATUSES = frozenset({502, 504})

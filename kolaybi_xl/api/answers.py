"""What one try of a request came to, and the one rule that decides whether to try again.

A failed try becomes a ``Failure``: the classified error a read raises, and for a collection
(which must never be applied twice) why its outcome is unknown when the server may have
acted on it. ``next_step`` is the only place that decides between renewing the token, trying
again after a wait, and giving up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import ValidationError

from .errors import (
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
from .http import (
    HINTS,
    Redactor,
    describe_network_error,
    excerpt,
    json_or_none,
    may_have_been_sent,
    network_cause,
    retry_after_seconds,
    server_message,
)

# A gateway or an overloaded server: the same request may well succeed a moment later.
TRANSIENT_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Failure:
    """One failed try of a request.

    ``error`` is what a repeatable request raises; ``unsure`` says why an unrepeatable one
    may have been applied (None: it certainly was not); ``transient``: worth another try
    after a wait; ``renewable``: a 401 to a request that carried a token; ``why``: a few
    words for the log line of a retry.
    """

    error: KolayBiError
    unsure: str | None = None
    transient: bool = False
    retry_after: float | None = None
    renewable: bool = False
    why: str = ""


class Step(enum.Enum):
    RENEW = "renew the token and send again"
    RETRY = "wait, then send again"
    RAISE = "give up"


def next_step(
    failure: Failure, *, repeatable: bool, attempt: int, max_retries: int, renewed: bool
) -> Step:
    """Whether a failed try is sent again: the client's one retry rule."""
    if failure.renewable and not renewed:
        return Step.RENEW  # an expired or revoked token: nothing was applied
    if not repeatable and failure.unsure is not None:
        return Step.RAISE  # it may have been applied: never send it again
    if failure.transient and attempt < max_retries:
        return Step.RETRY
    return Step.RAISE


def final_error(failure: Failure, *, repeatable: bool, form: dict[str, str] | None) -> KolayBiError:
    """What to raise once ``next_step`` gave up."""
    if not repeatable and failure.unsure is not None:
        return outcome_unknown(failure.unsure, failure.error.status, form)
    return failure.error


def read_answer(
    response: requests.Response,
    path: str,
    redact: Redactor,
    *,
    whole_body: bool,
    strict: bool,
    had_token: bool,
) -> Any:
    """``data`` (or the whole body) of a successful answer, else a ``Failure``.

    ``strict``: only an explicit ``"success": true`` counts (a collection); otherwise an
    answer with ``data`` and no flag is accepted, as the documented list answer has none
    (docs/architecture.md §4; its shape is checked by the caller).
    """
    body = json_or_none(response)  # parsed once: list answers can be large
    if not 200 <= response.status_code < 300:
        return _status_failure(response, path, redact, body, had_token)
    failure = _envelope_failure(response, path, redact, body, strict)
    if failure is not None:
        return failure
    return body if whole_body else body.get("data")


def _status_failure(
    response: requests.Response, path: str, redact: Redactor, body: Any, had_token: bool
) -> Failure:
    status = response.status_code
    message = server_message(response, redact, body)
    # Honoured on any answer worth another try (429 and 502/503/504).
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if status >= 500:
        return Failure(
            ServerError(message, status=status),
            unsure=f"the server failed while collecting: {message}",
            transient=status in TRANSIENT_STATUSES,
            retry_after=retry_after,
            why=f"HTTP {status}",
        )
    if status == 429:
        return Failure(
            RateLimitedError(message, retry_after=retry_after),
            transient=True,
            retry_after=retry_after,
            why=f"HTTP {status}",
        )
    if status in (401, 403):
        return Failure(
            AuthenticationError(message, status=status), renewable=status == 401 and had_token
        )
    if status == 404:
        return Failure(NotFoundError(message, status=status))
    if 300 <= status < 400:
        # Redirects are not followed: a POST must not silently turn into a GET elsewhere,
        # and the token must not follow the redirect to another host. A collection did reach
        # a server; whether it acted on it is unknown.
        where = redact(response.headers.get("Location", "?"))[:200]
        return Failure(
            ConfigurationError(f"{path}: the server redirects to {where}", status=status),
            unsure=f"the collection was answered with a redirect to {where}",
        )
    return Failure(RejectedError(message, status=status))


def _envelope_failure(
    response: requests.Response, path: str, redact: Redactor, body: Any, strict: bool
) -> Failure | None:
    status = response.status_code
    if not isinstance(body, dict):
        text = excerpt(response, redact) or "empty answer"
        return Failure(
            InvalidResponse(f"{path}: not a JSON object: {text}", status=status),
            unsure=f"unreadable answer to the collection: {text}",
        )
    success = body.get("success")
    if success is True or (not strict and success is None and "data" in body):
        return None
    if success is False:
        # After a collection, a 2xx that says "not successful": the server may have applied
        # it anyway; only a re-read can tell.
        message = server_message(response, redact, body)
        return Failure(
            RejectedError(message, status=status),
            unsure=f"the collection was answered 'success: false' ({message})",
        )
    return Failure(
        InvalidResponse(f"{path}: the answer has no success flag", status=status),
        unsure="the collection answer has no success flag",
    )


def network_failure(
    exc: requests.exceptions.RequestException, redact: Redactor, base_url: str, *, answered: bool
) -> Failure:
    """A try that got no answer. Until the server has ``answered`` once, a refused connection
    or an unknown host is a wrong URL or a missing network: no use trying again."""
    reason = redact(describe_network_error(exc))
    cause = network_cause(exc)
    hint = HINTS.get(cause or "", "check your internet or VPN connection")
    return Failure(
        ConnectionFailed(
            f"KolayBi could not be reached at {urlsplit(base_url).netloc}: {reason}; {hint}",
            cause=cause,
        ),
        unsure=f"no answer after sending the collection: {reason}"
        if may_have_been_sent(exc)
        else None,
        transient=answered or cause not in HINTS,
        why=reason,
    )


def parse_model(model: Any, data: Any, what: str, redact: Redactor) -> Any:
    """``model`` from an answer's ``data``, or ``InvalidResponse`` naming the item and field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        ident = data.get("commercial_doc_id", data.get("id")) if isinstance(data, dict) else None
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        label = f"{what} {ident}" if ident is not None else what
        raise InvalidResponse(
            redact(f"unexpected {label}: field '{where}': {first.get('msg')}")
        ) from None


def outcome_unknown(text: str, status: int | None, form: dict[str, str] | None) -> OutcomeUnknown:
    return OutcomeUnknown(
        text,
        status=status,
        document_id=_int_or_none(form, "document_id"),
        vault_id=_int_or_none(form, "vault_id"),
    )


def _int_or_none(form: dict[str, str] | None, key: str) -> int | None:
    if not form or key not in form:
        return None
    try:
        return int(form[key])
    except ValueError:
        return None

"""Small HTTP helpers of the client: redaction, readable excerpts of unexpected bodies, the
server's error message, ``Retry-After``, backoff, and what a failed connection means.

Nothing here sends a request; ``answers`` and ``client`` use these pieces.
"""

from __future__ import annotations

import codecs
import email.utils
import json as json_module
import random
import re
import time
from typing import Any
from urllib.parse import quote, quote_plus

import requests
import requests.auth
import requests.compat

from . import fast_json

MAX_RETRY_AFTER = 60.0
USER_AGENT = "kolaybi-xl/0.1 (+python-requests)"
UNPARSED: Any = object()
_UNICODE_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{4}")
_LOOKS_LIKE_HTML = re.compile(r"<(!doctype|html|head|body|title|p|div|h[1-6])\b", re.I)
_HIDDEN_HTML = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_HTML_TAG = re.compile(r"<[^>]*>")


class Redactor:
    """Removes the API key and tokens from any text that may reach a user or a log."""

    def __init__(self) -> None:
        # An immutable tuple, replaced whole: threads may redact while a token is added.
        # Longest first, so a secret that contains another one is removed whole.
        self._secrets: tuple[str, ...] = ()

    def add(self, secret: str | None) -> None:
        if not secret or len(secret) < 4 or secret in self._secrets:
            return
        # Also the forms a server may echo it in: JSON-escaped (``\u00e7``, either case,
        # ``\/`` as PHP writes it) and URL-encoded (``%C3%A7``, ``+`` for a space).
        escaped = json_module.dumps(secret)[1:-1]
        forms = {
            secret,
            escaped,
            escaped.replace("/", "\\/"),
            _UNICODE_ESCAPE.sub(lambda m: m.group(0).upper().replace("\\U", "\\u"), escaped),
            json_module.dumps(secret, ensure_ascii=False)[1:-1],
            quote(secret, safe=""),
            quote(secret, safe="").lower(),
            quote_plus(secret, safe=""),
        }
        self._secrets = tuple(
            sorted({*self._secrets, *(f for f in forms if len(f) >= 4)}, key=len, reverse=True)
        )

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>`` (or no Authorization at all for the token call).

    An explicit auth object: without one, requests lets a ~/.netrc entry for the host
    replace the Authorization header.
    """

    def __init__(self, token: str | None) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        if self._token is not None:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


# -- bodies ------------------------------------------------------------------------------


def _declares_charset(response: requests.Response) -> bool:
    return "charset" in response.headers.get("Content-Type", "").lower()


def body_text(response: requests.Response) -> str:
    """The body as text. Without a declared charset requests falls back to ISO-8859-1 for
    ``text/*``, which turns Turkish UTF-8 text ("Bakım") into mojibake ("BakÄ±m")."""
    if _declares_charset(response):
        return response.text or ""
    return (response.content or b"").decode("utf-8", errors="replace")


def json_or_none(response: requests.Response) -> Any:
    """The body's JSON value (lone surrogates made U+FFFD), None when it is not JSON."""
    if response.content and _read_as_utf8(response):
        body = fast_json.loads(response.content)
        if body is not fast_json.MISS:
            return body  # orjson refuses a lone surrogate escape: nothing to make whole
    try:
        if _declares_charset(response):
            body = response.json()
        else:
            # JSON is UTF-8 (or UTF-16/32, which json.loads detects from the bytes), even when
            # a server labels it text/html without a charset.
            body = json_module.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        return None
    if has_lone_surrogate(response.content or b""):
        body = _whole_characters(body)
    return body


def _read_as_utf8(response: requests.Response) -> bool:
    """Whether ``json_or_none``'s standard path reads the body as its UTF-8 bytes, so that
    ``fast_json`` (which reads only valid UTF-8) gives the same value: ``json.loads`` of the
    bytes (UTF-8 unless a BOM or NUL bytes say UTF-16/32; orjson refuses both), or a declared
    UTF-8 charset, for which requests decodes with ``errors="replace"`` (nothing to replace in
    valid UTF-8) and reads the text with ``json`` (not simplejson, when that is installed)."""
    if not _declares_charset(response):
        return True
    try:
        utf8 = codecs.lookup(response.encoding or "").name == "utf-8"
    except LookupError:
        return False
    # Not in the type stubs: the json module requests reads with.
    return utf8 and getattr(requests.compat, "json", None) is json_module


# "\ud800" alone in a JSON string is a lone surrogate: no text encoding can write it (the
# console, the journal, a workbook's XML would all fail on it). Only an escape makes one, and
# a body without a lone one is left as parsed: an escaped pair (an emoji, as PHP's json_encode
# writes every character beyond U+FFFF) is a whole character and must not cost a walk of a
# 50,000-invoice answer.
# One scan with a literal start ("\\u"), a pair taken as one match: a lookbehind alternative
# made the scan of a 10,000-invoice answer (12 MB) take 0.3 s instead of 7 ms.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD](?:[89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F]|[89a-fA-F])")
_PAIR_MATCH = len(b"\\ud83d\\ude")  # a whole pair's match; a lone half's is shorter


def has_lone_surrogate(raw: bytes) -> bool:
    """Whether the JSON text ``raw`` escapes a surrogate half without its other half."""
    return any(len(m.group()) != _PAIR_MATCH for m in _SURROGATE_ESCAPE.finditer(raw))


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _whole_characters(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) made U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_whole_characters(v) for v in value]
    if isinstance(value, dict):
        return {_whole_characters(k): _whole_characters(v) for k, v in value.items()}
    return value


def excerpt(response: requests.Response, redact: Redactor) -> str:
    """A short, readable, secret-free piece of a body that is not the expected JSON."""
    # Redact the whole text before cutting anything, so no piece of a secret survives.
    text = redact(body_text(response))[:20_000]
    if _LOOKS_LIKE_HTML.search(text[:2_000]):
        text = _HTML_TAG.sub(" ", _HIDDEN_HTML.sub(" ", text))
    text = redact(" ".join(text.split()))
    return text[:160] + ("…" if len(text) > 160 else "")


def server_message(response: requests.Response, redact: Redactor, body: Any = UNPARSED) -> str:
    """What the server said went wrong (``message``, ``error``, ``errors``), secret-free."""
    if body is UNPARSED:
        body = json_or_none(response)
    message = _body_message(body) if isinstance(body, dict) else None
    if not message:
        message = excerpt(response, redact) or f"HTTP {response.status_code}"
    return redact(str(message).strip())[:500]


def _body_message(body: dict[str, Any]) -> Any:
    """``message`` (else ``error``'s), with Laravel's validation ``errors`` after it."""
    message = body.get("message") or _error_message(body.get("error"))
    details = _validation_details(body.get("errors"))
    if not details:
        return message
    return f"{message} ({details})" if message else details


def _error_message(error: Any) -> Any:
    """``error`` as an object with a ``message``, or as the text itself."""
    if isinstance(error, dict):
        return error.get("message")
    return error if isinstance(error, str) else None


def _validation_details(errors: Any) -> str | None:
    """``{"field": ["what is wrong", ...]}`` as ``field: what is wrong, ...; ...``."""
    if not isinstance(errors, dict) or not errors:
        return None
    return "; ".join(
        f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in errors.items()
    )


# -- waiting -----------------------------------------------------------------------------


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), never negative; None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_delay(
    attempt: int,
    retry_after: float | None,
    *,
    backoff: float,
    max_backoff: float,
    rng: random.Random,
) -> float:
    """The server's ``Retry-After`` (capped), else capped exponential backoff with jitter so
    parallel workers do not stampede."""
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER)
    ceiling = min(max_backoff, backoff * (2.0 ** min(attempt, 60)))
    return ceiling * rng.uniform(0.5, 1.0)


# -- failed connections ------------------------------------------------------------------

# What to check when the first connection of a run fails this way (no retry for these).
HINTS = {
    "refused": "nothing answers at that address: check the URL (KOLAYBI_BASE_URL or the "
    "workbook's Ortam setting) and that the server is running",
    "dns": "check the spelling of the URL and your internet or VPN connection",
}


def may_have_been_sent(exc: requests.exceptions.RequestException) -> bool:
    """False only when the request certainly never reached the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = repr(exc)
        refused = ("NewConnectionError", "NameResolutionError", "ConnectionRefusedError")
        return not any(marker in text for marker in refused)
    return not isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema))


def network_cause(exc: requests.exceptions.RequestException) -> str | None:
    """How a request failed without an answer, in one word (``ConnectionFailed.cause``)."""
    if isinstance(exc, requests.exceptions.Timeout):
        return "timeout"
    text = repr(exc)
    if "NameResolutionError" in text or "getaddrinfo" in text or "Name or service" in text:
        return "dns"
    if "ConnectionRefusedError" in text or "Connection refused" in text:
        return "refused"
    if isinstance(exc, requests.exceptions.SSLError):
        return "tls"
    if "RemoteDisconnected" in text or "ConnectionResetError" in text:
        return "closed"
    return None


# What repr() of a failed request holds -> how the failure is described (first match wins).
_NETWORK_FAILURES = (
    (("ConnectionRefusedError", "NewConnectionError"), "connection refused"),
    (("NameResolutionError", "getaddrinfo"), "host name could not be resolved"),
    (
        ("RemoteDisconnected", "ConnectionResetError", "ProtocolError"),
        "connection closed by the server",
    ),
)


def describe_network_error(exc: requests.exceptions.RequestException) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer in time (read timeout)"
    text = repr(exc)
    for markers, description in _NETWORK_FAILURES:
        if any(marker in text for marker in markers):
            return description
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS/SSL error"
    return exc.__class__.__name__

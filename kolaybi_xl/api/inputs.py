"""What the user gives the client, checked before any request: the base URL (https for any
host but loopback), the Channel and API key as header values, and an amount of money."""

from __future__ import annotations

import ipaddress
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigurationError


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str) -> str:
    """Return the normalised base URL, or raise ``ConfigurationError``.

    ``https`` is required for any host but loopback, so a token never crosses a network
    in clear text.
    """
    text = (base_url or "").strip()
    expected = "the API URL must look like https://host/kolaybi/v1"
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        # The text may carry a password: never echo it.
        raise ConfigurationError(f"{expected}; this one cannot be read") from None
    # Checked first so that no later message can echo a password.
    if "@" in parts.netloc:
        raise ConfigurationError("the API URL must not carry a user name or password")
    if parts.scheme not in ("http", "https") or not hostname:
        raise ConfigurationError(f"{expected}, got {text!r}")
    if parts.scheme == "http" and not is_loopback(hostname):
        raise ConfigurationError(
            f"refusing plain http:// for {hostname}: use https:// (http is only for loopback)"
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def checked_credentials(channel: str, api_key: str) -> tuple[str, str]:
    """The Channel and API key as sent in headers, or ``ConfigurationError``."""
    channel = str(channel).strip() if channel else ""
    api_key = str(api_key).strip() if api_key else ""
    if not channel:
        raise ConfigurationError("the Channel is empty (ask KolayBi support for it)")
    if not api_key:
        raise ConfigurationError("the API key is empty")
    # A line break would end the header (requests refuses it only at send time).
    if not channel.isprintable():
        raise ConfigurationError("the Channel contains control characters")
    if not api_key.isprintable():
        raise ConfigurationError("the API key contains control characters")
    return channel, api_key


def format_amount(amount: Decimal | float | int | str) -> str:
    """``Decimal("100.5")`` -> ``"100.50"``; refuse what cannot be sent exactly.

    Silently rounding an amount of money (``100.505``) would collect something else than
    asked. A float is read through its shortest text (``0.1`` -> ``"0.10"``), as amounts in
    answers are.
    """
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, float, int, str)):
        raise ValueError(f"not an amount: {amount!r}")
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"amount must be a positive number: {amount!r}")
    try:
        cents = value.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValueError(f"amount is too large: {amount!r}") from None
    if cents != value:
        raise ValueError(f"amount has more than 2 decimals: {amount!r}")
    return f"{cents:f}"

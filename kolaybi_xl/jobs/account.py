"""One KolayBi account, one name: the key the journal and its locks use.

The key is the normalised API URL plus the Channel (never the API key). Spellings of one URL
give one key: scheme and host case, a trailing dot on the host, the default port, trailing
slashes and doubled slashes in the path, and the loopback names (``localhost``, ``127.0.0.1``,
``::1``) — otherwise two spellings would mean two sets of locks and recovery for one account.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK = "localhost"
_SLASHES = re.compile(r"/{2,}")


def _host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return LOOPBACK
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.is_loopback:
        return LOOPBACK
    return address.compressed if address.version == 4 else f"[{address.compressed}]"


@lru_cache(maxsize=64)
def normalise_url(url: str) -> str:
    """The canonical spelling of an API base URL (query and fragment dropped)."""
    text = url.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    host = _host(parts.hostname or "")
    netloc = host if port is None or DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = _SLASHES.sub("/", parts.path).rstrip("/")
    return f"{scheme}://{netloc}{path}"


def account_key(base_url: str, channel: str) -> str:
    """The journal's account key: normalised API URL + ``|`` + Channel."""
    return f"{normalise_url(base_url)}|{str(channel).strip()}"


def client_account_key(client: Any) -> str:
    """The account key of a client (anything with ``base_url`` and ``channel``)."""
    return account_key(client.base_url, client.channel)


def normalise_key(key: str) -> str:
    """An account key as stored by any version (older ones kept the URL as typed)."""
    url, sep, channel = key.rpartition("|")
    if not sep:
        return key
    return account_key(url, channel)


__all__ = ["account_key", "client_account_key", "normalise_key", "normalise_url"]

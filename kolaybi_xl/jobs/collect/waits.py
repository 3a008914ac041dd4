"""Every wait of a collect run in one value, and the proceed horizon."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ...api.models import InvoiceType

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
ZERO = Decimal(0)
TOLERANCE = Decimal("0.005")
SALE = InvoiceType.SALE_INVOICE

DETAIL_LIMIT = 20  # up to this many rows: one detail call each; more: one list call per type
MAX_SENDS = 3  # the first send plus at most two resends after a proven "not applied"
MIN_CONCURRENCY, MAX_CONCURRENCY = 1, 8

# The horizon: how long after it was sent a proceed that got no answer may still be applied
# by KolayBi. Until then only "applied" can be proven, "not applied" cannot, and nothing is
# sent again for that invoice. Three times the client's read timeout: the server worked on
# the request for at least one timeout without answering; a request still running after two
# more is past any gateway or PHP execution limit we know of (nginx 60 s, php-fpm 30-120 s).
HORIZON_FACTOR = 3
DEFAULT_PROCEED_READ_TIMEOUT = 60.0
ENV_HORIZON = "KOLAYBI_XL_HORIZON"


@dataclass(frozen=True)
class Waits:
    """Every wait of a collection run, as one value (tests pass a fake ``sleep``)."""

    reconcile_delay: float = 1.0  # after an unclear *answer*, before re-reading
    resend_backoff: float = 1.0  # before resend n (times n)
    reread_tries: int = 3  # re-reads of one invoice when reading fails, before "unknown"
    reread_backoff: float = 0.5
    horizon: float | None = None  # None: $KOLAYBI_XL_HORIZON or HORIZON_FACTOR x read timeout
    poll: float = 5.0  # re-read interval while waiting for the horizon
    sleep: Callable[[float], None] = time.sleep


DEFAULT_WAITS = Waits()


def proceed_horizon(client: Any, waits: Waits = DEFAULT_WAITS) -> float:
    """The horizon in seconds (see ``HORIZON_FACTOR``)."""
    if waits.horizon is not None:
        return max(0.0, waits.horizon)
    text = os.environ.get(ENV_HORIZON, "").strip()
    if text:
        try:
            return max(0.0, float(text))
        except ValueError:
            log.warning("%s=%r is not a number of seconds; ignored", ENV_HORIZON, text)
    timeout = getattr(client, "proceed_timeout", None)
    read = DEFAULT_PROCEED_READ_TIMEOUT
    if isinstance(timeout, tuple) and len(timeout) == 2:
        read = float(timeout[1])
    elif isinstance(timeout, (int, float)):
        read = float(timeout)
    return HORIZON_FACTOR * read


def _clamp(concurrency: int) -> int:
    return max(MIN_CONCURRENCY, min(MAX_CONCURRENCY, int(concurrency)))

"""Fault injection: make the sandbox fail the way a real API and network do, on demand.

A fault is drawn by a request that passed the Channel and token checks (so faults are not used
up by requests that would fail anyway). Kinds:

- ``rate_limit``   429 with ``Retry-After``; nothing applied.
- ``error_before`` 503 with ``Retry-After``; nothing applied.
- ``error_after``  the request is applied (a proceed collects), then 500.
- ``drop_after``   the request is applied, then the connection is closed with no response.
- ``slow_after``   the request is applied, then the answer waits ``slow_seconds``.
- ``apply_late``   the server works ``slow_seconds`` first, then applies and answers: a client
                   with a shorter read timeout has given up by then (a proceed applied after
                   the client's timeout).
- ``gateway_timeout`` 504 at once (a gateway gave up), and the request is applied
                   ``slow_seconds`` later behind it.
- ``expire_token`` 401 "Unauthenticated." and the request's token is invalidated.
- ``bad_json``     200 with an HTML body; nothing applied.

Endpoints: ``proceed`` (POST /invoices/proceed), ``undo`` (DELETE /invoices/proceed/{id}),
``invoices`` (list and detail), ``vaults`` (list, detail, transactions), ``token``
(POST /access_token) and ``any`` (every API request; never the /_sandbox control endpoints).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

FAULT_KINDS = (
    "rate_limit",
    "error_before",
    "error_after",
    "drop_after",
    "slow_after",
    "apply_late",
    "gateway_timeout",
    "expire_token",
    "bad_json",
)
ENDPOINTS = ("proceed", "undo", "invoices", "vaults", "token", "any")


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault drawn for one request."""

    kind: str
    endpoint: str
    retry_after: int = 1


@dataclass(slots=True)
class _Rule:
    kind: str
    endpoint: str
    remaining: int | None  # None: a probability rule, active until cleared
    probability: float | None
    retry_after: int

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "endpoint": self.endpoint,
            "remaining": self.remaining,
            "probability": self.probability,
            "retry_after": self.retry_after,
        }


class Faults:
    """Thread-safe, changeable while the sandbox runs. ``latency`` (seconds) is added to every
    API request; ``slow_seconds`` is how long ``slow_after``, ``apply_late`` and
    ``gateway_timeout`` wait."""

    def __init__(self, *, latency: float = 0.0, slow_seconds: float = 3.0, seed: int = 0) -> None:
        self.latency = latency
        self.slow_seconds = slow_seconds
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._rng = random.Random(seed)
        self._fired: list[Fault] = []
        self._token_generation = 0

    def inject(
        self,
        kind: str,
        count: int = 1,
        *,
        endpoint: str = "proceed",
        probability: float | None = None,
        retry_after: int = 1,
    ) -> None:
        """The next ``count`` matching requests get ``kind``; with ``probability`` each matching
        request gets it with that probability (``count`` is then ignored) until ``clear()``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {ENDPOINTS}")
        if probability is None and (isinstance(count, bool) or count < 1):
            raise ValueError("count must be >= 1")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        rule = _Rule(
            kind,
            endpoint,
            None if probability is not None else count,
            probability,
            retry_after,
        )
        with self._lock:
            self._rules.append(rule)

    def seed(self, n: int) -> None:
        """Restart the random stream that probability faults draw from."""
        with self._lock:
            self._rng.seed(n)

    def clear(self) -> None:
        """Remove every pending fault (latency and slow_seconds are kept)."""
        with self._lock:
            self._rules.clear()

    def expire_all_tokens(self) -> None:
        """Invalidate every access token issued so far; new ones work."""
        with self._lock:
            self._token_generation += 1

    @property
    def token_generation(self) -> int:
        return self._token_generation

    @property
    def injected(self) -> list[dict[str, Any]]:
        """Pending faults, in the order they are tried."""
        with self._lock:
            return [rule.describe() for rule in self._rules]

    @property
    def fired(self) -> list[Fault]:
        """Every fault handed to a request so far, oldest first."""
        with self._lock:
            return list(self._fired)

    def draw(self, endpoint: str) -> Fault | None:
        """The fault for one request to ``endpoint``, if any (used by the server)."""
        with self._lock:
            for rule in self._rules:
                if rule.endpoint not in ("any", endpoint):
                    continue
                if rule.probability is not None:
                    if self._rng.random() >= rule.probability:
                        continue
                else:
                    assert rule.remaining is not None
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                fault = Fault(rule.kind, rule.endpoint, rule.retry_after)
                self._fired.append(fault)
                return fault
            return None

    def __repr__(self) -> str:
        return f"Faults(latency={self.latency}, pending={self.injected})"

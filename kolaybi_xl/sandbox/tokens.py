"""Access tokens: random strings that expire ``lifetime`` seconds after issue."""

from __future__ import annotations

import secrets
import threading
import time

from .faults import Faults


class TokenStore:
    def __init__(self, lifetime: float, faults: Faults) -> None:
        self.lifetime = lifetime
        self._faults = faults  # expire_all_tokens() bumps its generation
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[float, int]] = {}  # token -> (expires at, generation)

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            # forget expired tokens so a long-running sandbox does not grow without bound
            self._tokens = {t: v for t, v in self._tokens.items() if v[0] > now}
            self._tokens[token] = (now + self.lifetime, self._faults.token_generation)
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            entry = self._tokens.get(token)
        return (
            entry is not None
            and entry[0] > time.monotonic()
            and entry[1] == self._faults.token_generation
        )

    def revoke(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    def __len__(self) -> int:
        now = time.monotonic()
        generation = self._faults.token_generation
        with self._lock:
            return sum(1 for exp, gen in self._tokens.values() if exp > now and gen == generation)

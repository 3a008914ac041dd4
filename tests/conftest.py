"""Shared test setup: every test runs isolated from the user's settings, journal and keyring;
tests that need the API start a sandbox through ``start_sandbox``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from client_support import API_KEY, BASE, CHANNEL, FakeClock

from kolaybi_xl.api import KolayBiClient
from kolaybi_xl.sandbox import Sandbox


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("KOLAYBI_BASE_URL", "KOLAYBI_CHANNEL", "KOLAYBI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KOLAYBI_XL_JOURNAL", str(tmp_path / "journal" / "journal.jsonl"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the log file (platformdirs)
    # The command line speaks the locale's language: tests read English unless they choose.
    monkeypatch.setenv("KOLAYBI_LANG", "en")


@pytest.fixture
def use_sandbox(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Sandbox]:
    """Point the environment (KOLAYBI_BASE_URL, KOLAYBI_CHANNEL, KOLAYBI_API_KEY) at a running
    sandbox, as a user's settings would; ``api_key`` overrides the sandbox's key."""

    def point(sb: Sandbox, *, api_key: str | None = None) -> Sandbox:
        monkeypatch.setenv("KOLAYBI_BASE_URL", sb.url)
        monkeypatch.setenv("KOLAYBI_CHANNEL", sb.channel)
        monkeypatch.setenv("KOLAYBI_API_KEY", api_key or sb.api_key)
        return sb

    return point


@pytest.fixture
def start_sandbox(use_sandbox: Callable[..., Sandbox]) -> Iterator[Callable[..., Sandbox]]:
    """Start ``Sandbox(**options)`` for this test, the environment pointed at it; it stops when
    the test ends."""
    with contextlib.ExitStack() as running:
        yield lambda **options: use_sandbox(running.enter_context(Sandbox(**options)))


# -- the HTTP client's unit tests (test_client_*.py; their helpers are in client_support) ----


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def make_client(sleeps: list[float], clock: FakeClock) -> Iterator[Callable[..., KolayBiClient]]:
    made: list[KolayBiClient] = []

    def make(**options: Any) -> KolayBiClient:
        options.setdefault("sleep", sleeps.append)
        options.setdefault("clock", clock)
        client = KolayBiClient(BASE, CHANNEL, API_KEY, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., KolayBiClient]) -> KolayBiClient:
    return make_client()

"""Shared test setup: every test runs isolated from the user's settings, journal and keyring."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("KOLAYBI_BASE_URL", "KOLAYBI_CHANNEL", "KOLAYBI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KOLAYBI_XL_JOURNAL", str(tmp_path / "journal" / "journal.jsonl"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the log file (platformdirs)

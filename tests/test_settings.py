"""Where the URL, Channel and key come from, and what is refused."""

from __future__ import annotations

from unittest import mock

import pytest

from kolaybi_xl.api.models import InvoiceType
from kolaybi_xl.jobs.errors import JobError
from kolaybi_xl.jobs.settings import load_settings
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.grid import MemoryGrid


def settings_grid(**values: str) -> MemoryGrid:
    grid = MemoryGrid()
    grid.ensure_sheet(layout.SETTINGS)
    rows = [list(layout.SETTINGS_HEADER)] + [[label, value] for label, value in values.items()]
    grid.write(layout.SETTINGS, 1, 1, rows)
    return grid


def test_environment_wins_over_the_workbook():
    grid = settings_grid(**{"Ortam": "Canlı", "Channel": "from-sheet"})
    env = {
        "KOLAYBI_BASE_URL": "http://127.0.0.1:9/kolaybi/v1",
        "KOLAYBI_CHANNEL": "from-env",
        "KOLAYBI_API_KEY": "k-123456",
    }
    settings = load_settings(grid, env=env)
    assert settings.base_url == "http://127.0.0.1:9/kolaybi/v1"
    assert settings.channel == "from-env"
    assert settings.api_key == "k-123456"


def test_workbook_environment_names_and_defaults():
    grid = settings_grid(
        **{"Ortam": "Canlı", "Channel": "c1", "Varsayılan Fatura Türü": "Alış Faturası"}
    )
    settings = load_settings(grid, env={"KOLAYBI_API_KEY": "key-1"})
    assert settings.base_url == "https://ofis-api.kolaybi.com/kolaybi/v1"
    assert settings.default_type is InvoiceType.PURCHASE_INVOICE
    assert settings.concurrency == 4
    sandbox = load_settings(
        settings_grid(Ortam="Sandbox", Channel="c"), env={"KOLAYBI_API_KEY": "k1"}
    )
    assert sandbox.base_url == "https://ofis-sandbox-api.kolaybi.com/kolaybi/v1"


def test_the_key_never_shows_in_repr():
    settings = load_settings(None, env={"KOLAYBI_CHANNEL": "c", "KOLAYBI_API_KEY": "very-secret"})
    assert "very-secret" not in repr(settings)


@pytest.mark.parametrize("label", ["API Anahtarı", "API Key", "api_key"])
def test_an_api_key_in_the_workbook_is_refused(label):
    grid = settings_grid(**{"Channel": "c", label: "leaked-key"})
    with pytest.raises(JobError) as err:
        load_settings(grid, env={"KOLAYBI_API_KEY": "k"})
    assert "leaked-key" not in err.value.message + err.value.message_tr
    assert "sil" in err.value.message_tr


def test_plain_http_to_a_remote_host_is_refused():
    with pytest.raises(JobError) as err:
        load_settings(
            None,
            env={"KOLAYBI_BASE_URL": "http://api.example.com/kolaybi/v1", "KOLAYBI_CHANNEL": "c"},
        )
    assert "https" in err.value.message


@pytest.mark.parametrize(
    ("env", "needle"),
    [({"KOLAYBI_API_KEY": "k"}, "Channel"), ({"KOLAYBI_CHANNEL": "c"}, "API")],
)
def test_missing_channel_or_key_is_a_clear_error(env, needle):
    with pytest.raises(JobError) as err:
        load_settings(None, env=env)
    assert needle in err.value.message
    assert err.value.exit_code == 2


def test_set_key_stores_in_the_keyring_and_settings_read_it(monkeypatch, capsys):
    import keyring
    from keyring.backend import KeyringBackend

    from kolaybi_xl.cli import main

    store: dict[tuple[str, str], str] = {}

    class Backend(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service, username):
            return store.get((service, username))

        def set_password(self, service, username, password):
            store[(service, username)] = password

        def delete_password(self, service, username):
            store.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(Backend())
    try:
        monkeypatch.setattr("getpass.getpass", lambda prompt="": "  secret-from-prompt  ")
        # on a terminal it prompts (piped input is read from stdin: tests/test_cli_failures.py)
        monkeypatch.setattr("sys.stdin", mock.Mock(isatty=lambda: True))
        assert main(["--channel", "c9", "set-key"]) == 0
        out = capsys.readouterr().out
        assert "secret-from-prompt" not in out
        settings = load_settings(None, env={"KOLAYBI_CHANNEL": "c9"})
        assert settings.api_key == "secret-from-prompt"
        assert settings.base_url == "https://ofis-sandbox-api.kolaybi.com/kolaybi/v1"
        # the environment still wins over the keyring
        assert (
            load_settings(None, env={"KOLAYBI_CHANNEL": "c9", "KOLAYBI_API_KEY": "env"}).api_key
            == "env"
        )
    finally:
        keyring.set_keyring(previous)

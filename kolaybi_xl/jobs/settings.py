"""Where the API URL, Channel and key come from.

Order: explicit values (the demo, tests) > environment (``KOLAYBI_BASE_URL``,
``KOLAYBI_CHANNEL``, ``KOLAYBI_API_KEY``) > the workbook's ``Ayarlar`` sheet. The API key is
never read from a workbook: the environment or the operating system's keyring hold it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..api.client import check_base_url
from ..api.errors import ConfigurationError
from ..api.models import InvoiceType
from ..workbook import layout
from ..workbook.cells import cell_text
from ..workbook.grid import Grid
from .errors import JobError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "kolaybi-xl"
ENV_URL, ENV_CHANNEL, ENV_KEY = "KOLAYBI_BASE_URL", "KOLAYBI_CHANNEL", "KOLAYBI_API_KEY"
SECRET_LABELS = ("api key", "api anahtarı", "api anahtari", "api_key", "apikey", "anahtar")


@dataclass(frozen=True)
class Settings:
    base_url: str
    channel: str
    api_key: str = field(repr=False)
    concurrency: int = 4
    default_type: InvoiceType = InvoiceType.SALE_INVOICE

    def __repr__(self) -> str:
        return f"Settings(base_url={self.base_url!r}, channel={self.channel!r})"


def read_settings_sheet(grid: Grid) -> dict[str, Any]:
    """Label -> value from ``Ayarlar`` (column A labels, column B values)."""
    if layout.SETTINGS not in grid.sheet_names():
        return {}
    values: dict[str, Any] = {}
    for row in grid.read(layout.SETTINGS):
        if len(row) >= 2 and cell_text(row[0]):
            values.setdefault(cell_text(row[0]), row[1])
    return values


def resolve_url(environment: str) -> str:
    text = environment.strip()
    return layout.ENVIRONMENT_ALIASES.get(text.casefold(), text)


def keyring_user(base_url: str, channel: str) -> str:
    return f"{base_url}|{channel}"


def keyring_backend() -> str | None:
    """The name of the keyring backend that can store a key, or None when there is none
    (a headless Linux box; keyring's ``fail``/``null`` backends)."""
    try:
        import keyring
        from keyring.backends import fail, null

        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring configuration is "no keyring"
        log.debug("keyring unavailable: %s", type(exc).__name__)
        return None
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return None
    # A chainer with nothing usable behind it is no keyring either.
    inner = getattr(backend, "backends", None)
    if inner is not None and not any(
        not isinstance(b, (fail.Keyring, null.Keyring)) for b in inner
    ):
        return None
    return type(backend).__module__.rsplit(".", 1)[-1] + "." + type(backend).__name__


def key_from_keyring(base_url: str, channel: str) -> str | None:
    try:
        import keyring  # optional at run time: a headless box may have no backend
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, keyring_user(base_url, channel))
    except (KeyringError, RuntimeError, OSError) as exc:
        log.debug("keyring unavailable: %s", type(exc).__name__)
        return None


def load_settings(
    grid: Grid | None = None,
    *,
    env: Mapping[str, str] | None = None,
    base_url: str | None = None,
    channel: str | None = None,
    api_key: str | None = None,
) -> Settings:
    env = os.environ if env is None else env
    sheet = read_settings_sheet(grid) if grid is not None else {}
    _refuse_a_key_on_the_sheet(sheet)
    url = _api_url(_first(base_url, env.get(ENV_URL), sheet, layout.SETTING_ENVIRONMENT))
    chan = _channel(_first(channel, env.get(ENV_CHANNEL), sheet, layout.SETTING_CHANNEL))
    key = api_key or env.get(ENV_KEY) or key_from_keyring(url, chan)
    if not key:
        raise JobError("no API key: set KOLAYBI_API_KEY or store it with 'kolaybi-xl set-key'")
    concurrency = _int_setting(sheet.get(layout.SETTING_CONCURRENCY), default=4, low=1, high=8)
    return Settings(url, chan, key, concurrency, _default_type(sheet))


def _first(given: str | None, from_env: str | None, sheet: Mapping[str, Any], label: str) -> str:
    """The explicit value, else the environment's, else the sheet's ('' when none)."""
    return given or from_env or cell_text(sheet.get(label))


def _refuse_a_key_on_the_sheet(sheet: Mapping[str, Any]) -> None:
    for label, value in sheet.items():
        if label.casefold() in SECRET_LABELS and cell_text(value):
            raise JobError(
                "the workbook's '{sheet}' sheet holds an API key ('{label}'): delete it there; "
                "use KOLAYBI_API_KEY or the keyring instead",
                sheet=layout.SETTINGS,
                label=label,
            )


def _api_url(text: str) -> str:
    try:
        return check_base_url(resolve_url(text or "Sandbox"))
    except ConfigurationError as exc:
        raise JobError(
            "API URL ({setting}): {detail}", setting=layout.SETTING_ENVIRONMENT, detail=exc.message
        ) from None


def _channel(text: str) -> str:
    if not text:
        raise JobError(
            "no Channel: set {variable} or fill '{setting}' on '{sheet}'",
            variable=ENV_CHANNEL,
            setting=layout.SETTING_CHANNEL,
            sheet=layout.SETTINGS,
        )
    return text


def _default_type(sheet: Mapping[str, Any]) -> InvoiceType:
    type_text = cell_text(sheet.get(layout.SETTING_TYPE))
    if type_text:
        try:
            return InvoiceType.parse(type_text)
        except ValueError:
            log.warning("ignoring unknown default invoice type %r", type_text)
    return InvoiceType.SALE_INVOICE


def _int_setting(value: Any, *, default: int, low: int, high: int) -> int:
    text = cell_text(value)
    if not text:
        return default
    try:
        number = int(float(text))
    except ValueError:
        return default
    return max(low, min(high, number))

"""The setup check of the settings (URL, Channel, the key's source, the keyring), of the API
(reachable, credentials accepted, how long) and of the journal (writable, unsettled attempts)."""

from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from ...api.client import check_base_url
from ...api.errors import AuthenticationError, ConfigurationError, KolayBiError
from ...errors import explain
from ...i18n import Lang, Message, numeral
from ...workbook import layout
from ...workbook.cells import cell_text
from ...workbook.grid import Grid
from ..errors import JobError
from ..journal import Journal
from ..settings import (
    ENV_CHANNEL,
    ENV_KEY,
    ENV_URL,
    Settings,
    key_from_keyring,
    keyring_backend,
    load_settings,
    read_settings_sheet,
    resolve_url,
)
from .checks import API_PATH, Check


def settings_checks(
    grid: Grid | None,
    environ: Mapping[str, str],
    *,
    base_url: str | None = None,
    channel: str | None = None,
) -> tuple[list[Check], Settings | None]:
    """The URL, the Channel, the key's source and the keyring; the settings when usable."""
    sheet = read_settings_sheet(grid) if grid is not None else {}
    url_check, url = _url_check(
        *_first(
            (base_url, "--base-url"),
            (environ.get(ENV_URL), ENV_URL),
            (cell_text(sheet.get(layout.SETTING_ENVIRONMENT)), f"{layout.SETTINGS}!Ortam"),
            ("Sandbox", Message("the default")),
        )
    )
    chan, chan_from = _first(
        (channel, "--channel"),
        (environ.get(ENV_CHANNEL), ENV_CHANNEL),
        (cell_text(sheet.get(layout.SETTING_CHANNEL)), f"{layout.SETTINGS}!Channel"),
    )
    key_checks, has_key = _key_checks(environ, url, chan)
    checks = [url_check, _channel_check(chan, chan_from), *key_checks]
    settings: Settings | None = None
    if url is not None and chan and has_key:
        try:
            settings = load_settings(grid, env=environ, base_url=url, channel=chan)
        except JobError as exc:  # e.g. an API key typed into the workbook
            checks.append(Check(False, exc.text))
    return checks, settings


def _url_check(text: str | None, where: str | Message) -> tuple[Check, str | None]:
    """The URL's shape (https but for loopback, ending in /kolaybi/v1); the URL when usable."""
    try:
        url = check_base_url(resolve_url(text or ""))
    except ConfigurationError as exc:
        return Check(
            False,
            Message("API URL ({where}): {message}", where=where, message=exc.message),
            Message(
                "set {variable} or Ortam on {sheet} to Sandbox, Canlı or https://host{api_path}",
                variable=ENV_URL,
                sheet=layout.SETTINGS,
                api_path=API_PATH,
            ),
        ), None
    shaped = url.endswith(API_PATH)
    return Check(
        shaped,
        Message("API URL {url} (from {where})", url=url, where=where),
        Message("the URL must end in {api_path}: https://host{api_path}", api_path=API_PATH),
    ), (url if shaped else None)


def _channel_check(chan: str | None, where: str | Message) -> Check:
    return Check(
        bool(chan),
        Message("Channel {channel} (from {where})", channel=chan, where=where)
        if chan
        else Message("no Channel"),
        Message(
            "set {variable} or fill Channel on {sheet} (KolayBi support gives it)",
            variable=ENV_CHANNEL,
            sheet=layout.SETTINGS,
        ),
    )


def _key_checks(
    environ: Mapping[str, str], url: str | None, chan: str | None
) -> tuple[list[Check], bool]:
    """Where the key comes from (never the key) and whether a keyring exists; key found?"""
    backend = keyring_backend()
    from_env = bool((environ.get(ENV_KEY) or "").strip())
    from_keyring = not from_env and _in_keyring(url, chan)
    if from_env or from_keyring:
        source = ENV_KEY if from_env else Message("the keyring")
        key = Check(True, Message("API key: from {source} (not shown)", source=source))
    else:
        key = _no_key_check(backend, chan)
    return [key, _keyring_check(backend, from_env)], from_env or from_keyring


def _in_keyring(url: str | None, chan: str | None) -> bool:
    if url is None or not chan:
        return False
    return bool(key_from_keyring(url, chan))


def _no_key_check(backend: str | None, chan: str | None) -> Check:
    set_key = (
        Message(" or run kolaybi-xl set-key --channel {channel}", channel=chan or "CHANNEL")
        if backend
        else ""
    )
    return Check(
        False,
        Message("API key: none found"),
        Message("set {variable}{set_key}", variable=ENV_KEY, set_key=set_key),
    )


def _keyring_check(backend: str | None, from_env: bool) -> Check:
    if backend:
        return Check(True, Message("keyring: {backend}", backend=backend))
    return Check(
        from_env,
        Message(
            "no keyring backend on this system (not needed: the key comes from the environment)"
        )
        if from_env
        else Message("no keyring backend on this system"),
        Message("set {variable} in the environment instead", variable=ENV_KEY),
    )


def _first(*candidates: tuple[str | None, str | Message]) -> tuple[str | None, str | Message]:
    for value, where in candidates:
        if value and value.strip():
            return value.strip(), where
    return None, ""


# -- the API -----------------------------------------------------------------------------------


class VaultLister(Protocol):
    def list_vaults(self) -> Sequence[object]: ...

    def close(self) -> None: ...


def api_checks(
    settings: Settings,
    make_client: Callable[[Settings], VaultLister],
    clock: Callable[[], float] = time.monotonic,
) -> list[Check]:
    """Reachable, credentials accepted (the token call and one small read), how long."""
    started = clock()
    try:
        client = make_client(settings)
        try:
            vaults = client.list_vaults()
        finally:
            client.close()
    except KolayBiError as exc:
        took = clock() - started
        said = functools.partial(_explained, exc)
        if isinstance(exc, AuthenticationError):
            return [
                Check(
                    True,
                    Message(
                        "KolayBi reachable at {base_url} ({took} s)",
                        base_url=settings.base_url,
                        took=numeral(took, 1),
                    ),
                ),
                Check(False, Message("KolayBi refused the credentials"), said),
            ]
        return [
            Check(
                False,
                Message(
                    "KolayBi not usable at {base_url} ({took} s)",
                    base_url=settings.base_url,
                    took=numeral(took, 1),
                ),
                said,
            )
        ]
    took = clock() - started
    return [
        Check(
            True,
            Message(
                "KolayBi reachable at {base_url}, credentials accepted, {n_vaults} vaults "
                "({took} s)",
                base_url=settings.base_url,
                n_vaults=len(vaults),
                took=numeral(took, 1),
            ),
        )
    ]


def _explained(exc: KolayBiError, lang: Lang) -> str:
    return explain(exc, lang).text


# -- the journal -------------------------------------------------------------------------------


def journal_checks(journal: Journal) -> list[Check]:
    folder = journal.path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        return [
            Check(
                False,
                Message("journal folder {folder} is not writable ({why})", folder=folder, why=why),
                Message("set KOLAYBI_XL_JOURNAL to a file path in a folder you can write to"),
            )
        ]
    checks = [
        Check(
            True,
            Message("journal {path} (folder writable)", path=journal.path),
        )
    ]
    try:
        open_ones = [a for a in journal.attempts() if not a.final]
    except OSError as exc:
        open_ones = []
        checks.append(
            Check(
                False,
                Message("journal cannot be read ({strerror})", strerror=exc.strerror),
            )
        )
    checks.append(
        Check(
            not open_ones,
            Message(
                "{n} collection attempt not settled",
                plural=("{n} collection attempts not settled", len(open_ones)),
            )
            if open_ones
            else Message("no unsettled collection attempts"),
            Message("run kolaybi-xl journal to see them; a collect run settles what KolayBi shows"),
        )
    )
    return checks

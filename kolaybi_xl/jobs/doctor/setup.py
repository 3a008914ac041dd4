"""The setup check of the settings (URL, Channel, the key's source, the keyring), of the API
(reachable, credentials accepted, how long) and of the journal (writable, unsettled attempts)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from ...api.client import check_base_url
from ...api.errors import AuthenticationError, ConfigurationError, KolayBiError
from ...errors import explain
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
            ("Sandbox", "the default"),
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
            checks.append(Check(False, exc.message, exc.message_tr))
    return checks, settings


def _url_check(text: str | None, where: str) -> tuple[Check, str | None]:
    """The URL's shape (https but for loopback, ending in /kolaybi/v1); the URL when usable."""
    try:
        url = check_base_url(resolve_url(text or ""))
    except ConfigurationError as exc:
        return Check(
            False,
            f"API URL ({where}): {exc.message}",
            f"API adresi ({where}): {exc.message}",
            f"set {ENV_URL} or Ortam on {layout.SETTINGS} to Sandbox, Canlı or "
            f"https://host{API_PATH}",
            f"{layout.SETTINGS} sayfasında Ortam'ı Sandbox, Canlı ya da "
            f"https://sunucu{API_PATH} yapın",
        ), None
    shaped = url.endswith(API_PATH)
    return Check(
        shaped,
        f"API URL {url} (from {where})",
        f"API adresi {url} ({where})",
        f"the URL must end in {API_PATH}: https://host{API_PATH}",
        f"adres {API_PATH} ile bitmeli: https://sunucu{API_PATH}",
    ), (url if shaped else None)


def _channel_check(chan: str | None, where: str) -> Check:
    return Check(
        bool(chan),
        f"Channel {chan} (from {where})" if chan else "no Channel",
        f"Channel {chan} ({where})" if chan else "Channel tanımlı değil",
        f"set {ENV_CHANNEL} or fill Channel on {layout.SETTINGS} (KolayBi support gives it)",
        f"{layout.SETTINGS} sayfasında Channel değerini doldurun (KolayBi destek verir)",
    )


def _key_checks(
    environ: Mapping[str, str], url: str | None, chan: str | None
) -> tuple[list[Check], bool]:
    """Where the key comes from (never the key) and whether a keyring exists; key found?"""
    backend = keyring_backend()
    from_env = bool((environ.get(ENV_KEY) or "").strip())
    from_keyring = False
    if not from_env and url is not None and chan:
        from_keyring = bool(key_from_keyring(url, chan))
    if from_env or from_keyring:
        source = ENV_KEY if from_env else "the keyring"
        source_tr = ENV_KEY if from_env else "anahtar deposu"
        key = Check(True, f"API key: from {source} (not shown)", f"API anahtarı: {source_tr} "
                    "(gösterilmez)")  # fmt: skip
    else:
        set_key = f" or run kolaybi-xl set-key --channel {chan or 'CHANNEL'}" if backend else ""
        set_key_tr = f" ya da kolaybi-xl set-key --channel {chan or 'CHANNEL'}" if backend else ""
        key = Check(
            False,
            "API key: none found",
            "API anahtarı bulunamadı",
            f"set {ENV_KEY}{set_key}",
            f"{ENV_KEY} ortam değişkenini ayarlayın{set_key_tr}",
        )
    return [key, _keyring_check(backend, from_env)], from_env or from_keyring


def _keyring_check(backend: str | None, from_env: bool) -> Check:
    if backend:
        return Check(True, f"keyring: {backend}", f"anahtar deposu: {backend}")
    return Check(
        from_env,
        "no keyring backend on this system"
        + (" (not needed: the key comes from the environment)" if from_env else ""),
        "bu sistemde anahtar deposu yok"
        + (" (gerekmiyor: anahtar ortam değişkeninden)" if from_env else ""),
        f"set {ENV_KEY} in the environment instead",
        f"bunun yerine {ENV_KEY} ortam değişkenini ayarlayın",
    )


def _first(*candidates: tuple[str | None, str]) -> tuple[str | None, str]:
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
        en, tr = explain(exc, "en").text, explain(exc, "tr").text
        if isinstance(exc, AuthenticationError):
            return [
                Check(
                    True,
                    f"KolayBi reachable at {settings.base_url} ({took:.1f} s)",
                    f"KolayBi'ye ulaşıldı: {settings.base_url} ({took:.1f} sn)",
                ),
                Check(False, "KolayBi refused the credentials", "KolayBi kimlik bilgilerini "
                      "kabul etmedi", en, tr),
            ]  # fmt: skip
        return [
            Check(
                False,
                f"KolayBi not usable at {settings.base_url} ({took:.1f} s)",
                f"KolayBi kullanılamıyor: {settings.base_url} ({took:.1f} sn)",
                en,
                tr,
            )
        ]
    took = clock() - started
    return [
        Check(
            True,
            f"KolayBi reachable at {settings.base_url}, credentials accepted, "
            f"{len(vaults)} vaults ({took:.1f} s)",
            f"KolayBi'ye ulaşıldı: {settings.base_url}, kimlik bilgileri kabul edildi, "
            f"{len(vaults)} kasa ({took:.1f} sn)",
        )
    ]


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
                f"journal folder {folder} is not writable ({why})",
                f"tahsilat günlüğü klasörü {folder} yazılamıyor ({why})",
                "set KOLAYBI_XL_JOURNAL to a file path in a folder you can write to",
                "KOLAYBI_XL_JOURNAL ortam değişkenini yazılabilir bir klasördeki bir dosyaya "
                "ayarlayın",
            )
        ]
    checks = [
        Check(
            True,
            f"journal {journal.path} (folder writable)",
            f"tahsilat günlüğü {journal.path} (klasör yazılabilir)",
        )
    ]
    try:
        open_ones = [a for a in journal.attempts() if not a.final]
    except OSError as exc:
        open_ones = []
        checks.append(
            Check(
                False,
                f"journal cannot be read ({exc.strerror})",
                f"tahsilat günlüğü okunamıyor ({exc.strerror})",
            )
        )
    checks.append(
        Check(
            not open_ones,
            f"{len(open_ones)} collection attempt(s) not settled"
            if open_ones
            else "no unsettled collection attempts",
            f"{len(open_ones)} tahsilat denemesinin sonucu belli değil"
            if open_ones
            else "sonucu belirsiz tahsilat denemesi yok",
            "run kolaybi-xl journal to see them; a collect run settles what KolayBi shows",
            "görmek için kolaybi-xl journal çalıştırın; Tahsil Et KolayBi'de görüneni kapatır",
        )
    )
    return checks

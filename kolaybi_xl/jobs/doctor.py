"""The setup check (``kolaybi-xl doctor``, the *Kurulum Kontrolü* button): one line per check,
✓ or ✗, and for every ✗ what to do. It never shows the API key.

Small inputs, no openpyxl or xlwings: the machine (``Machine``), the workbook as the workbook
side read it (``SetupFacts``), the settings sheet through a ``Grid``, the environment, a client
factory and the journal. ``Report.ok`` is true exactly when everything the next fetch/collect
needs holds; checks marked ``needed=False`` only inform.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..api.client import check_base_url
from ..api.errors import AuthenticationError, ConfigurationError, KolayBiError
from ..errors import Lang, explain
from ..workbook import layout
from ..workbook.cells import cell_text
from ..workbook.grid import Grid
from ..workbook.setup_facts import SetupFacts
from .errors import JobError
from .journal import Journal
from .settings import (
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

# The VBA module inside workbook_template.xlsm is for exactly this xlwings (pyproject pins it).
PINNED_XLWINGS = "0.37.8"
API_PATH = "/kolaybi/v1"
# What the buttons may call (kolaybi_xl.excel's entry points).
ENTRY_POINTS = frozenset(
    {"refresh_invoices", "refresh_vaults", "collect_marked", "build_report", "check_setup"}
)


@dataclass(frozen=True)
class Check:
    ok: bool
    text: str
    text_tr: str
    fix: str = ""
    fix_tr: str = ""
    needed: bool = True  # False: informs only, never fails the check

    def line(self, lang: Lang = "en") -> str:
        text, fix = (self.text_tr, self.fix_tr) if lang == "tr" else (self.text, self.fix)
        mark = "✓" if self.ok else "✗"
        return f"{mark} {text}" + (f"\n    → {fix}" if fix and not self.ok else "")


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks if c.needed)

    def text(self, lang: Lang = "en") -> str:
        failed = sum(1 for c in self.checks if c.needed and not c.ok)
        if lang == "tr":
            head = (
                "Kurulum tamam: bir sonraki getirme/tahsilat için her şey hazır."
                if not failed
                else f"Kurulumda {failed} sorun var; her ✗ satırının altında ne yapılacağı yazıyor."
            )
        else:
            head = (
                "Setup OK: everything the next fetch/collect needs is in place."
                if not failed
                else f"{failed} setup problem(s); under each ✗ is what to do."
            )
        return "\n".join([*(c.line(lang) for c in self.checks), "", head])


# -- the machine -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    python: tuple[int, int, int]
    executable: str
    platform: str  # sys.platform
    xlwings: str | None  # installed version, None when not installed
    kolaybi_xl: str | None


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def this_machine() -> Machine:
    v = sys.version_info
    return Machine(
        (v.major, v.minor, v.micro),
        sys.executable,
        sys.platform,
        _version("xlwings"),
        _version("kolaybi-xl"),
    )


def python_checks(machine: Machine, *, for_excel: bool) -> list[Check]:
    version = ".".join(map(str, machine.python))
    new_enough = machine.python >= (3, 11, 0)
    checks = [
        Check(
            new_enough or not for_excel,
            f"Python {version} ({machine.executable})",
            f"Python {version} ({machine.executable})",
            "the Excel side needs Python 3.11 or newer: install it from python.org, then "
            "pip install kolaybi-xl in it",
            "Excel tarafı Python 3.11 ya da daha yenisini ister: python.org'dan kurun, sonra "
            "içine pip install kolaybi-xl",
            needed=for_excel,
        )
    ]
    installed = machine.xlwings
    if installed == PINNED_XLWINGS:
        text = f"xlwings {installed} (the version the workbook's VBA is for)"
        text_tr = f"xlwings {installed} (çalışma kitabının VBA modülünün sürümü)"
    else:
        text = f"xlwings {installed or 'not installed'}; kolaybi-xl needs {PINNED_XLWINGS}"
        text_tr = f"xlwings {installed or 'kurulu değil'}; kolaybi-xl {PINNED_XLWINGS} ister"
    checks.append(
        Check(
            installed == PINNED_XLWINGS,
            text + ("" if for_excel else " (only for Excel)"),
            text_tr + ("" if for_excel else " (yalnızca Excel için)"),
            f'"{machine.executable}" -m pip install xlwings=={PINNED_XLWINGS}',
            f'"{machine.executable}" -m pip install xlwings=={PINNED_XLWINGS}',
            needed=for_excel,
        )
    )
    return checks


# -- the workbook ------------------------------------------------------------------------------


class Probe(Protocol):
    def __call__(self, interpreter: str) -> tuple[str | None, str | None] | str: ...


def probe_interpreter(interpreter: str) -> tuple[str | None, str | None] | str:
    """(kolaybi-xl version, xlwings version) installed in ``interpreter``, or why not known."""
    code = (
        "import importlib.metadata as m\n"
        "def v(n):\n"
        "    try: return m.version(n)\n"
        "    except m.PackageNotFoundError: return None\n"
        "print(repr((v('kolaybi-xl'), v('xlwings'))))"
    )
    try:
        done = subprocess.run(
            [interpreter, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot run it ({type(exc).__name__})"
    if done.returncode != 0:
        return f"it exited with {done.returncode}"
    try:
        kolaybi, xlwings = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    except (ValueError, SyntaxError, IndexError):
        return "it printed something unexpected"
    return kolaybi, xlwings


def _conf_key(platform: str) -> str | None:
    if platform.startswith("win"):
        return "Interpreter_Win"
    if platform == "darwin":
        return "Interpreter_Mac"
    return None


def workbook_checks(
    facts: SetupFacts, machine: Machine, probe: Probe = probe_interpreter
) -> list[Check]:
    name = facts.name
    if facts.problem:
        en, tr = facts.problem
        return [
            Check(
                False,
                en,
                tr,
                "give a workbook made by kolaybi-xl init-workbook",
                "kolaybi-xl init-workbook ile yapılmış bir çalışma kitabı verin",
            )
        ]
    if not facts.macros:
        return [
            Check(
                True,
                f"{name} has no macros: fine for the command line; for the buttons make a "
                ".xlsm with kolaybi-xl init-workbook",
                f"{name} makro içermiyor: komut satırı için yeterli; düğmeler için "
                "kolaybi-xl init-workbook ile bir .xlsm oluşturun",
                needed=False,
            )
        ]
    checks = [_vba_version_check(facts, machine), *_interpreter_checks(facts, machine, probe)]
    checks.append(_buttons_check(facts))
    return checks


def _vba_version_check(facts: SetupFacts, machine: Machine) -> Check:
    baked, installed = facts.vba_xlwings, machine.xlwings
    same = baked is not None and baked == installed
    return Check(
        same,
        f"{facts.name}: VBA module for xlwings {baked or '?'}, installed xlwings "
        f"{installed or 'none'}",
        f"{facts.name}: VBA modülü xlwings {baked or '?'} için, kurulu xlwings "
        f"{installed or 'yok'}",
        f'install the same version: "{machine.executable}" -m pip install xlwings=={baked}; '
        "or make a new workbook with kolaybi-xl init-workbook",
        f'aynı sürümü kurun: "{machine.executable}" -m pip install xlwings=={baked}; ya da '
        "kolaybi-xl init-workbook ile yeni bir çalışma kitabı oluşturun",
    )


def _interpreter_checks(facts: SetupFacts, machine: Machine, probe: Probe) -> list[Check]:
    key = _conf_key(machine.platform)
    if key is None:
        return [
            Check(
                True,
                "xlwings.conf interpreter: not checked here (Excel runs on Windows or macOS)",
                "xlwings.conf yorumlayıcısı: burada denetlenmez (Excel Windows ya da macOS'ta "
                "çalışır)",
                needed=False,
            )
        ]
    remake_en = (
        f'run "{machine.executable}" -m kolaybi_xl init-workbook NEW.xlsm, or write the full '
        f"path of the python that has kolaybi-xl next to {key} on the xlwings.conf sheet"
    )
    remake_tr = (
        f'"{machine.executable}" -m kolaybi_xl init-workbook YENI.xlsm çalıştırın ya da '
        f"xlwings.conf sayfasında {key} yanına kolaybi-xl kurulu python'un tam yolunu yazın"
    )
    if facts.conf is None:
        return [
            Check(
                False,
                f"{facts.name} has no xlwings.conf sheet",
                f"{facts.name} içinde xlwings.conf sayfası yok",
                remake_en,
                remake_tr,
            )
        ]
    configured = os.path.expandvars(facts.conf.get(key, "")).strip()
    if configured:
        interpreter: str | None = configured
        where = f"{key} = {configured}"
    else:
        default = "pythonw" if machine.platform.startswith("win") else "python"
        interpreter = shutil.which(default)
        where = f"{key} is empty: xlwings runs {default} from PATH ({interpreter or 'not found'})"
    if not interpreter or not Path(interpreter).is_file():
        return [
            Check(
                False,
                f"xlwings.conf: {where}: no such file",
                f"xlwings.conf: {where}: böyle bir dosya yok",
                remake_en,
                remake_tr,
            )
        ]
    if Path(interpreter).resolve() == Path(machine.executable).resolve():
        found: tuple[str | None, str | None] | str = (machine.kolaybi_xl, machine.xlwings)
    else:
        found = probe(interpreter)
    if isinstance(found, str):
        return [
            Check(
                False,
                f"xlwings.conf: {where}: {found}",
                f"xlwings.conf: {where}: çalıştırılamadı ({found})",
                remake_en,
                remake_tr,
            )
        ]
    kolaybi, xlwings = found
    good = kolaybi is not None and xlwings == facts.vba_xlwings
    return [
        Check(
            good,
            f"xlwings.conf: {where} (kolaybi-xl {kolaybi or 'missing'}, xlwings "
            f"{xlwings or 'missing'})",
            f"xlwings.conf: {where} (kolaybi-xl {kolaybi or 'yok'}, xlwings {xlwings or 'yok'})",
            f'"{interpreter}" -m pip install kolaybi-xl xlwings=={facts.vba_xlwings}',
            f'"{interpreter}" -m pip install kolaybi-xl xlwings=={facts.vba_xlwings}',
        )
    ]


def _buttons_check(facts: SetupFacts) -> Check:
    broken: list[str] = []
    for macro in facts.buttons:
        if macro not in facts.defined_macros:
            broken.append(macro)
            continue
        for command in facts.calls.get(macro, ()):
            if _called_function(command) not in ENTRY_POINTS:
                broken.append(macro)
    if not facts.buttons:
        text, text_tr = f"{facts.name} has no buttons", f"{facts.name} içinde düğme yok"
    elif broken:
        names = ", ".join(sorted(set(broken)))
        text = f"buttons run macros that are missing or call nothing known: {names}"
        text_tr = f"düğmelerin makroları eksik ya da bilinmeyen bir şey çağırıyor: {names}"
    else:
        text = f"{len(facts.buttons)} buttons, each bound to a macro that exists"
        text_tr = f"{len(facts.buttons)} düğme, her biri var olan bir makroya bağlı"
    return Check(
        bool(facts.buttons) and not broken,
        text,
        text_tr,
        "make a new workbook with kolaybi-xl init-workbook and copy your data into it",
        "kolaybi-xl init-workbook ile yeni bir çalışma kitabı oluşturup verilerinizi taşıyın",
    )


def _called_function(command: str) -> str | None:
    """``import kolaybi_xl.excel as k; k.check_setup()`` -> ``check_setup``."""
    try:
        tree = ast.parse(command)
    except SyntaxError:
        return None
    imported = {
        (alias.asname or alias.name): alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and imported.get(node.func.value.id) == "kolaybi_xl.excel"
        ):
            return node.func.attr
    return None


# -- settings ----------------------------------------------------------------------------------


def settings_checks(
    grid: Grid | None,
    environ: Mapping[str, str],
    *,
    base_url: str | None = None,
    channel: str | None = None,
) -> tuple[list[Check], Settings | None]:
    """The URL, the Channel, the key's source and the keyring; the settings when usable."""
    sheet = read_settings_sheet(grid) if grid is not None else {}
    checks: list[Check] = []
    url_text, url_from = _first(
        (base_url, "--base-url"),
        (environ.get(ENV_URL), ENV_URL),
        (cell_text(sheet.get(layout.SETTING_ENVIRONMENT)), f"{layout.SETTINGS}!Ortam"),
        ("Sandbox", "the default"),
    )
    url: str | None = None
    try:
        url = check_base_url(resolve_url(url_text or ""))
    except ConfigurationError as exc:
        checks.append(
            Check(
                False,
                f"API URL ({url_from}): {exc.message}",
                f"API adresi ({url_from}): {exc.message}",
                f"set {ENV_URL} or Ortam on {layout.SETTINGS} to Sandbox, Canlı or "
                f"https://host{API_PATH}",
                f"{layout.SETTINGS} sayfasında Ortam'ı Sandbox, Canlı ya da "
                f"https://sunucu{API_PATH} yapın",
            )
        )
    if url is not None:
        shaped = url.endswith(API_PATH)
        checks.append(
            Check(
                shaped,
                f"API URL {url} (from {url_from})",
                f"API adresi {url} ({url_from})",
                f"the URL must end in {API_PATH}: https://host{API_PATH}",
                f"adres {API_PATH} ile bitmeli: https://sunucu{API_PATH}",
            )
        )
        if not shaped:
            url = None
    chan, chan_from = _first(
        (channel, "--channel"),
        (environ.get(ENV_CHANNEL), ENV_CHANNEL),
        (cell_text(sheet.get(layout.SETTING_CHANNEL)), f"{layout.SETTINGS}!Channel"),
    )
    checks.append(
        Check(
            bool(chan),
            f"Channel {chan} (from {chan_from})" if chan else "no Channel",
            f"Channel {chan} ({chan_from})" if chan else "Channel tanımlı değil",
            f"set {ENV_CHANNEL} or fill Channel on {layout.SETTINGS} (KolayBi support gives it)",
            f"{layout.SETTINGS} sayfasında Channel değerini doldurun (KolayBi destek verir)",
        )
    )
    backend = keyring_backend()
    from_env = bool((environ.get(ENV_KEY) or "").strip())
    from_keyring = False
    if not from_env and url is not None and chan:
        from_keyring = bool(key_from_keyring(url, chan))
    source = ENV_KEY if from_env else "the keyring" if from_keyring else None
    source_tr = ENV_KEY if from_env else "anahtar deposu" if from_keyring else None
    set_key = f"kolaybi-xl set-key --channel {chan or 'CHANNEL'}"
    checks.append(
        Check(
            source is not None,
            f"API key: from {source} (not shown)" if source else "API key: none found",
            f"API anahtarı: {source_tr} (gösterilmez)" if source else "API anahtarı bulunamadı",
            f"set {ENV_KEY}" + (f" or run {set_key}" if backend else ""),
            f"{ENV_KEY} ortam değişkenini ayarlayın" + (f" ya da {set_key}" if backend else ""),
        )
    )
    checks.append(
        Check(
            backend is not None or from_env,
            f"keyring: {backend}"
            if backend
            else "no keyring backend on this system"
            + (" (not needed: the key comes from the environment)" if from_env else ""),
            f"anahtar deposu: {backend}"
            if backend
            else "bu sistemde anahtar deposu yok"
            + (" (gerekmiyor: anahtar ortam değişkeninden)" if from_env else ""),
            f"set {ENV_KEY} in the environment instead",
            f"bunun yerine {ENV_KEY} ortam değişkenini ayarlayın",
        )
    )
    settings: Settings | None = None
    if url is not None and chan and source is not None:
        try:
            settings = load_settings(grid, env=environ, base_url=url, channel=chan)
        except JobError as exc:  # e.g. an API key typed into the workbook
            checks.append(Check(False, exc.message, exc.message_tr))
    return checks, settings


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


# -- all of it ---------------------------------------------------------------------------------


def run_checks(
    *,
    machine: Machine,
    facts: SetupFacts | None,
    grid: Grid | None,
    environ: Mapping[str, str],
    make_client: Callable[[Settings], VaultLister],
    journal: Journal,
    base_url: str | None = None,
    channel: str | None = None,
    for_excel: bool = False,
    probe: Probe = probe_interpreter,
) -> Report:
    checks = python_checks(machine, for_excel=for_excel or bool(facts and facts.macros))
    if facts is not None:
        checks += workbook_checks(facts, machine, probe)
    found, settings = settings_checks(grid, environ, base_url=base_url, channel=channel)
    checks += found
    if settings is not None:
        checks += api_checks(settings, make_client)
    else:
        checks.append(
            Check(
                False,
                "KolayBi not tried: the settings above are incomplete",
                "KolayBi denenmedi: yukarıdaki ayarlar eksik",
            )
        )
    checks += journal_checks(journal)
    return Report(tuple(checks))

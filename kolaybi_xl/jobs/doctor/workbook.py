"""The setup check of a workbook (as ``workbook.setup_facts`` read it): its VBA module's xlwings
version, the interpreter on its ``xlwings.conf``, its buttons."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from pathlib import Path
from typing import Protocol

from ...workbook.setup_facts import SetupFacts
from .checks import ENTRY_POINTS, Check, Machine


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
            if called_function(command) not in ENTRY_POINTS:
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


def called_function(command: str) -> str | None:
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

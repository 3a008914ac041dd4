"""The setup check of a workbook (as ``workbook.setup_facts`` read it): its VBA module's xlwings
version, the interpreter on its ``xlwings.conf``, its buttons."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from ...i18n import Message
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
        return [
            Check(
                False,
                facts.problem,
                Message("give a workbook made by kolaybi-xl init-workbook"),
            )
        ]
    if not facts.macros:
        return [
            Check(
                True,
                Message(
                    "{name} has no macros: fine for the command line; for the buttons make "
                    "a .xlsm with kolaybi-xl init-workbook",
                    name=name,
                ),
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
        Message(
            "{name}: VBA module for xlwings {baked}, installed xlwings {installed}",
            name=facts.name,
            baked=baked or "?",
            installed=installed or Message("none"),
        ),
        Message(
            'install the same version: "{executable}" -m pip install xlwings=={baked}; or '
            "make a new workbook with kolaybi-xl init-workbook",
            executable=machine.executable,
            baked=baked,
        ),
    )


def _interpreter_checks(facts: SetupFacts, machine: Machine, probe: Probe) -> list[Check]:
    key = _conf_key(machine.platform)
    if key is None:
        return [
            Check(
                True,
                Message(
                    "xlwings.conf interpreter: not checked here (Excel runs on Windows or macOS)"
                ),
                needed=False,
            )
        ]
    remake = Message(
        'run "{executable}" -m kolaybi_xl init-workbook NEW.xlsm, or write the full path of '
        "the python that has kolaybi-xl next to {key} on the xlwings.conf sheet",
        executable=machine.executable,
        key=key,
    )
    if facts.conf is None:
        return [
            Check(
                False,
                Message("{name} has no xlwings.conf sheet", name=facts.name),
                remake,
            )
        ]
    interpreter, where = _conf_interpreter(facts.conf, key, machine.platform)
    if not interpreter or not Path(interpreter).is_file():
        return [
            Check(
                False,
                Message("xlwings.conf: {where}: no such file", where=where),
                remake,
            )
        ]
    found = _versions_in(interpreter, machine, probe)
    if isinstance(found, str):
        return [
            Check(
                False,
                Message("xlwings.conf: {where}: {found}", where=where, found=found),
                remake,
            )
        ]
    return [_versions_check(interpreter, where, found, facts.vba_xlwings)]


def _conf_interpreter(
    conf: Mapping[str, str], key: str, platform: str
) -> tuple[str | None, str | Message]:
    """The python xlwings will run (the sheet's path, else PATH's) and how that was found."""
    configured = os.path.expandvars(conf.get(key, "")).strip()
    if configured:
        return configured, f"{key} = {configured}"
    default = "pythonw" if platform.startswith("win") else "python"
    interpreter = shutil.which(default)
    return interpreter, Message(
        "{key} is empty: xlwings runs {default} from PATH ({interpreter})",
        key=key,
        default=default,
        interpreter=interpreter or Message("not found"),
    )


def _versions_in(
    interpreter: str, machine: Machine, probe: Probe
) -> tuple[str | None, str | None] | str:
    """(kolaybi-xl, xlwings) versions in ``interpreter``, or why they could not be read."""
    if Path(interpreter).resolve() == Path(machine.executable).resolve():
        return machine.kolaybi_xl, machine.xlwings
    return probe(interpreter)


def _versions_check(
    interpreter: str,
    where: str | Message,
    found: tuple[str | None, str | None],
    vba_xlwings: str | None,
) -> Check:
    kolaybi, xlwings = found
    return Check(
        kolaybi is not None and xlwings == vba_xlwings,
        Message(
            "xlwings.conf: {where} (kolaybi-xl {kolaybi}, xlwings {xlwings})",
            where=where,
            kolaybi=kolaybi or Message("missing"),
            xlwings=xlwings or Message("missing"),
        ),
        f'"{interpreter}" -m pip install kolaybi-xl xlwings=={vba_xlwings}',
    )


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
        text = Message("{name} has no buttons", name=facts.name)
    elif broken:
        text = Message(
            "buttons run macros that are missing or call nothing known: {names}",
            names=", ".join(sorted(set(broken))),
        )
    else:
        text = Message("{n} buttons, each bound to a macro that exists", n=len(facts.buttons))
    return Check(
        bool(facts.buttons) and not broken,
        text,
        Message("make a new workbook with kolaybi-xl init-workbook and copy your data into it"),
    )


def called_function(command: str) -> str | None:
    """``import kolaybi_xl.excel as k; k.check_setup()`` -> ``check_setup``."""
    try:
        tree = ast.parse(command)
    except SyntaxError:
        return None
    imported = _imported_modules(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and imported.get(node.func.value.id) == "kolaybi_xl.excel"
        ):
            return node.func.attr
    return None


def _imported_modules(tree: ast.AST) -> dict[str, str]:
    """The name each ``import`` binds -> the module it is."""
    return {
        (alias.asname or alias.name): alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }

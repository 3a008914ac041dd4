"""What the setup check needs to know about a workbook file: its VBA, its buttons, its
``xlwings.conf`` sheet. Read from the file as saved (``SetupFacts``, a small record), so the
check itself (``jobs/doctor``) never touches openpyxl or xlwings.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..i18n import Message
from . import layout

_BUTTON_MACRO = re.compile(r"<x:FmlaMacro>(?:\[0\]!)?([^<]*)</x:FmlaMacro>")


@dataclass(frozen=True)
class SetupFacts:
    """A workbook's setup, as the setup check reads it. ``problem`` is set (a ``Message``)
    when the file could not be read; ``macros`` is False for a workbook without a VBA
    project (``.xlsx``)."""

    name: str
    macros: bool = False
    vba_xlwings: str | None = None  # XLWINGS_VERSION baked into its xlwings module
    conf: Mapping[str, str] | None = None  # xlwings.conf key -> value; None: no such sheet
    buttons: tuple[str, ...] = ()  # the macro each button runs
    defined_macros: frozenset[str] = frozenset()  # Sub names in the VBA modules
    calls: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # macro -> RunPython
    problem: Message | None = None


def read_setup_facts(path: Path) -> SetupFacts:
    """Read ``path``'s VBA project, buttons and ``xlwings.conf``; never raises."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            vba = archive.read("xl/vbaProject.bin") if "xl/vbaProject.bin" in members else None
            vml = "".join(
                archive.read(name).decode("utf-8", "replace")
                for name in sorted(members)
                if name.startswith("xl/drawings/vmlDrawing")
            )
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        reason = getattr(exc, "strerror", None) or Message("not an Excel workbook (.xlsx/.xlsm)")
        return SetupFacts(
            path.name,
            problem=Message("{name}: {reason}", name=path.name, reason=reason),
        )
    facts = SetupFacts(path.name, conf=_read_conf(path))
    if vba is None:
        return facts
    from ..vba import macro_names, project_modules, runpython_commands, xlwings_version

    try:
        modules = project_modules(vba)
        version: str | None = xlwings_version(modules)
    except Exception:  # a damaged or foreign VBA project: say so, do not crash the check
        return SetupFacts(
            path.name,
            macros=True,
            conf=facts.conf,
            buttons=tuple(_BUTTON_MACRO.findall(vml)),
            problem=Message("{name}: its VBA project cannot be read", name=path.name),
        )
    defined: set[str] = set()
    calls: dict[str, tuple[str, ...]] = {}
    for source in modules.values():
        for block in re.split(r"(?im)^\s*End\s+Sub\b", source):
            names = macro_names(block)
            if names:
                defined.add(names[-1])
                calls[names[-1]] = tuple(runpython_commands(block))
    return SetupFacts(
        path.name,
        macros=True,
        vba_xlwings=version,
        conf=facts.conf,
        buttons=tuple(_BUTTON_MACRO.findall(vml)),
        defined_macros=frozenset(defined),
        calls=calls,
    )


def _read_conf(path: Path) -> dict[str, str] | None:
    """``xlwings.conf`` as xlwings reads it: keys in column A from A1 down to the first blank."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, keep_vba=False, data_only=True)
    except Exception:
        return None
    try:
        if layout.XLWINGS_CONF not in book.sheetnames:
            return None
        return conf_from_rows(book[layout.XLWINGS_CONF].iter_rows(max_col=2, values_only=True))
    finally:
        book.close()


def conf_from_rows(rows: Iterable[Sequence[Any]]) -> dict[str, str]:
    """The ``xlwings.conf`` sheet's rows -> key/value, down to the first blank key."""
    conf: dict[str, str] = {}
    for row in rows:
        key = row[0] if row else None
        if key is None or str(key).strip() == "":
            break
        value = row[1] if len(row) > 1 else None
        conf[str(key).strip()] = "" if value is None else str(value).strip()
    return conf

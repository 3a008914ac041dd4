"""The setup check's records: one ``Check`` per line, the ``Report``, the ``Machine`` it runs
on, and the checks of Python and xlwings."""

from __future__ import annotations

import importlib.metadata
import sys
from dataclasses import dataclass

from ...i18n import Lang, Message, Rendered, _, ngettext, render

# The VBA module inside workbook_template.xlsm is for exactly this xlwings (pyproject pins it).
PINNED_XLWINGS = "0.37.8"
API_PATH = "/kolaybi/v1"
# What the buttons may call (kolaybi_xl.excel's entry points).
ENTRY_POINTS = frozenset(
    {
        "refresh_invoices",
        "refresh_vaults",
        "collect_marked",
        "undo_marked",
        "build_report",
        "check_setup",
    }
)


@dataclass(frozen=True)
class Check:
    """One line of the check: ``what`` was found, ``to_fix`` it when it is not ok. Each is a
    ``Message`` (rendered in the reader's language) or a text the same in every language."""

    ok: bool
    what: Message | str | Rendered
    to_fix: Message | str | Rendered = ""
    needed: bool = True  # False: informs only, never fails the check

    @property
    def text(self) -> str:
        return render(self.what, "en")

    @property
    def fix(self) -> str:
        return render(self.to_fix, "en")

    def line(self, lang: Lang | None = None) -> str:
        text, fix = render(self.what, lang), render(self.to_fix, lang)
        mark = "✓" if self.ok else "✗"
        return f"{mark} {text}" + (f"\n    → {fix}" if fix and not self.ok else "")


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks if c.needed)

    def text(self, lang: Lang | None = None) -> str:
        failed = sum(1 for c in self.checks if c.needed and not c.ok)
        if failed:
            head = ngettext(
                "{n} setup problem; under the ✗ is what to do.",
                "{n} setup problems; under each ✗ is what to do.",
                failed,
                lang,
            ).format(n=failed)
        else:
            head = _("Setup OK: everything the next fetch/collect needs is in place.", lang)
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
            Message(
                "the Excel side needs Python 3.11 or newer: install it from python.org, "
                "then pip install kolaybi-xl in it"
            ),
            needed=for_excel,
        )
    ]
    installed = machine.xlwings
    if installed == PINNED_XLWINGS:
        text = Message(
            "xlwings {installed} (the version the workbook's VBA is for)", installed=installed
        )
    else:
        text = Message(
            "xlwings {installed}; kolaybi-xl needs {pinned}",
            installed=installed or Message("not installed"),
            pinned=PINNED_XLWINGS,
        )
    if not for_excel:
        text = Message("{text} (only for Excel)", text=text)
    checks.append(
        Check(
            installed == PINNED_XLWINGS,
            text,
            f'"{machine.executable}" -m pip install xlwings=={PINNED_XLWINGS}',
            needed=for_excel,
        )
    )
    return checks

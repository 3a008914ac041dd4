"""The setup check's records: one ``Check`` per line, the ``Report``, the ``Machine`` it runs
on, and the checks of Python and xlwings."""

from __future__ import annotations

import importlib.metadata
import sys
from dataclasses import dataclass

from ...errors import Lang

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

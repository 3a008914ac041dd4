"""The setup check (``kolaybi-xl doctor``, the *Kurulum Kontrolü* button): one line per check,
✓ or ✗, and for every ✗ what to do. It never shows the API key.

Small inputs, no openpyxl or xlwings: the machine (``Machine``), the workbook as the workbook
side read it (``SetupFacts``), the settings sheet through a ``Grid``, the environment, a client
factory and the journal. ``Report.ok`` is true exactly when everything the next fetch/collect
needs holds; checks marked ``needed=False`` only inform.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ...i18n import Message
from ...workbook.grid import Grid
from ...workbook.setup_facts import SetupFacts
from ..journal import Journal
from ..settings import Settings
from .checks import (
    API_PATH,
    ENTRY_POINTS,
    PINNED_XLWINGS,
    Check,
    Machine,
    Report,
    python_checks,
    this_machine,
)
from .setup import VaultLister, api_checks, journal_checks, settings_checks
from .workbook import Probe, called_function, probe_interpreter, workbook_checks

__all__ = [
    "API_PATH",
    "ENTRY_POINTS",
    "PINNED_XLWINGS",
    "Check",
    "Machine",
    "Report",
    "api_checks",
    "called_function",
    "journal_checks",
    "probe_interpreter",
    "python_checks",
    "run_checks",
    "settings_checks",
    "this_machine",
    "workbook_checks",
]


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
                Message("KolayBi not tried: the settings above are incomplete"),
            )
        )
    checks += journal_checks(journal)
    return Report(tuple(checks))

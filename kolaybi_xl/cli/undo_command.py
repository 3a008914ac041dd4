"""``kolaybi-xl undo``: take back the collections of the rows marked ``geri al``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ExitCode
from ..i18n import _, ngettext
from .common import CommandError
from .console import confirm_on_terminal, say_waiting_undo
from .marked_rows import run_on_file, run_workbooks

if TYPE_CHECKING:  # the jobs are imported when the command runs, not on every start
    from ..jobs.collect import CollectResult, Plan
    from ..jobs.journal import Journal


def cmd_undo(args: argparse.Namespace) -> int:
    worst = run_workbooks(
        args, _undo_workbook(args), cancelled=CommandError("undo cancelled; nothing was sent")
    )
    if worst == ExitCode.ROWS_FAILED:
        print(
            _("some rows were not taken back: see 'Tahsilat Durumu' in the workbook"),
            file=sys.stderr,
        )
    elif worst == ExitCode.API:
        print(_("KolayBi could not be reached or refused the credentials mid-run"), file=sys.stderr)
    return worst


def _undo_workbook(args: argparse.Namespace) -> Callable[[Path, Journal], CollectResult]:
    from ..jobs.undo import undo_marked

    def run_one(path: Path, journal: Journal) -> CollectResult:
        return run_on_file(
            path, args, journal, undo_marked, _confirmation(path, yes=args.yes),
            on_wait=say_waiting_undo,
        )  # fmt: skip

    return run_one


def _confirmation(path: Path, *, yes: bool) -> Callable[[Plan], bool]:
    """Show the plan (with its warning), then ask on the terminal (``--yes``: do not ask)."""

    def confirm(plan: Plan) -> bool:
        print(plan.describe())
        if yes:
            return True
        n = len(plan.rows)
        question = ngettext(
            "Take back the collections of this {n} row in {name}?",
            "Take back the collections of these {n} rows in {name}?",
            n,
        )
        return confirm_on_terminal(
            question.format(n=n, name=path.name),
            no_terminal=CommandError(
                "undo needs confirmation but there is no terminal; rerun with --yes "
                "(after checking the plan with --dry-run)"
            ),
        )

    return confirm

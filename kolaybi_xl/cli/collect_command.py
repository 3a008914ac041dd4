"""``kolaybi-xl collect``: the plan, the user's yes, the collection, one line per workbook."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ExitCode
from ..i18n import _, ngettext
from .common import CommandError
from .console import Progress, confirm_on_terminal, say_waiting
from .marked_rows import run_on_file, run_workbooks

if TYPE_CHECKING:  # the jobs are imported when the command runs, not on every start
    from ..jobs.collect import CollectResult, Plan
    from ..jobs.journal import Journal


def cmd_collect(args: argparse.Namespace) -> int:
    worst = run_workbooks(
        args,
        _collect_workbook(args),
        cancelled=CommandError("collection cancelled; nothing was sent"),
    )
    _show_what_failed(worst, dry_run=args.dry_run)
    return worst


def _collect_workbook(args: argparse.Namespace) -> Callable[[Path, Journal], CollectResult]:
    from ..jobs.collect import collect_marked

    def run_one(path: Path, journal: Journal) -> CollectResult:
        return run_on_file(
            path,
            args,
            journal,
            collect_marked,
            _confirmation(path, yes=args.yes),
            on_progress=Progress(sys.stderr, _("Collecting")),
            on_wait=say_waiting,
        )

    return run_one


def _confirmation(path: Path, *, yes: bool) -> Callable[[Plan], bool]:
    """Show the plan, then ask on the terminal (``--yes``: do not ask)."""

    def confirm(plan: Plan) -> bool:
        print(plan.describe())
        if yes:
            return True
        n = len(plan.rows)
        question = ngettext(
            "Collect this {n} row in {name}?", "Collect these {n} rows in {name}?", n
        )
        return confirm_on_terminal(question.format(n=n, name=path.name))

    return confirm


def _show_what_failed(worst: int, *, dry_run: bool) -> None:
    if worst == ExitCode.ROWS_FAILED and dry_run:
        print(_("some marked rows would not be collected: see the plan above"), file=sys.stderr)
    elif worst == ExitCode.ROWS_FAILED:
        print(
            _("some rows were not collected: see 'Tahsilat Durumu' in the workbook"),
            file=sys.stderr,
        )
    elif worst == ExitCode.API:
        print(_("KolayBi could not be reached or refused the credentials mid-run"), file=sys.stderr)

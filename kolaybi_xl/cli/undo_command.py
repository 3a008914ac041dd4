"""``kolaybi-xl undo``: take back the collections of the rows marked ``geri al``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ExitCode
from ..i18n import _, ngettext
from . import common
from .common import CommandError
from .console import confirm_on_terminal, say_waiting_undo

if TYPE_CHECKING:  # the jobs are imported when the command runs, not on every start
    from ..jobs.collect import CollectResult, Plan
    from ..jobs.journal import Journal


def cmd_undo(args: argparse.Namespace) -> int:
    from ..jobs.journal import Journal

    journal = Journal.default()
    worst: int = ExitCode.OK
    for path in args.workbooks:
        result = _undo_workbook(path, args, journal)
        _show_result(path, result, dry_run=args.dry_run)
        worst = max(worst, result.exit_code)
    if worst == ExitCode.ROWS_FAILED:
        print(
            _("some rows were not taken back: see 'Tahsilat Durumu' in the workbook"),
            file=sys.stderr,
        )
    elif worst == ExitCode.API:
        print(_("KolayBi could not be reached or refused the credentials mid-run"), file=sys.stderr)
    return worst


def _undo_workbook(path: Path, args: argparse.Namespace, journal: Journal) -> CollectResult:
    from ..jobs.collect import account_key
    from ..jobs.undo import undo_marked
    from ..workbook.xlsx_patch import open_for_collect

    # Only the rows that change are rewritten when the file allows (KOLAYBI_XL_FAST=0: not).
    with open_for_collect(path, for_writing=not args.dry_run) as grid:
        settings = common.settings_for(grid, args)
        with common.client_for(settings) as client:
            return undo_marked(
                grid,
                client,
                journal,
                key=account_key(client),
                workbook=str(path.resolve()),
                confirm=_confirmation(path, yes=args.yes),
                dry_run=args.dry_run,
                concurrency=settings.concurrency,
                no_wait=args.no_wait,
                on_wait=say_waiting_undo,
            )


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


def _show_result(path: Path, result: CollectResult, *, dry_run: bool) -> None:
    if dry_run:
        print(result.plan.describe())
        print(
            _("{path}: dry run, nothing was sent and the workbook is unchanged").format(path=path)
        )
    elif result.cancelled:
        raise CommandError("undo cancelled; nothing was sent")
    else:
        print(f"{path}: {result.summary()}")

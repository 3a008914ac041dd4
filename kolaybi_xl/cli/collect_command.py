"""``kolaybi-xl collect``: the plan, the user's yes, the collection, one line per workbook."""

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
from .console import Progress, confirm_on_terminal, say_waiting

if TYPE_CHECKING:  # the jobs are imported when the command runs, not on every start
    from ..jobs.collect import CollectResult, Plan
    from ..jobs.journal import Journal


def cmd_collect(args: argparse.Namespace) -> int:
    from ..jobs.journal import Journal

    journal = Journal.default()
    worst: int = ExitCode.OK
    for path in args.workbooks:
        result = _collect_workbook(path, args, journal)
        _show_result(path, result, dry_run=args.dry_run)
        worst = max(worst, result.exit_code)
    _show_what_failed(worst, dry_run=args.dry_run)
    return worst


def _collect_workbook(path: Path, args: argparse.Namespace, journal: Journal) -> CollectResult:
    from ..jobs.collect import account_key, collect_marked
    from ..workbook.xlsx_patch import open_for_collect

    # Only the rows that change are rewritten when the file allows (KOLAYBI_XL_FAST=0: not).
    with open_for_collect(path, for_writing=not args.dry_run) as grid:
        settings = common.settings_for(grid, args)
        with common.client_for(settings) as client:
            return collect_marked(
                grid,
                client,
                journal,
                key=account_key(client),
                workbook=str(path.resolve()),
                confirm=_confirmation(path, yes=args.yes),
                dry_run=args.dry_run,
                concurrency=args.concurrency or settings.concurrency,
                on_progress=Progress(sys.stderr, _("Collecting")),
                no_wait=args.no_wait,
                on_wait=say_waiting,
            )


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


def _show_result(path: Path, result: CollectResult, *, dry_run: bool) -> None:
    if dry_run:
        print(result.plan.describe())
        print(
            _("{path}: dry run, nothing was sent and the workbook is unchanged").format(path=path)
        )
        return  # exit 1 when a marked row would not go
    if result.cancelled:
        raise CommandError("collection cancelled; nothing was sent")
    print(f"{path}: {result.summary()}")


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

"""What ``collect`` and ``undo`` share: each workbook opened for the job (the fast path when
the file allows), the job run with its settings and client, one line per workbook."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ExitCode
from . import common
from .common import CommandError

if TYPE_CHECKING:  # the jobs are imported when the command runs, not on every start
    from ..jobs.collect import CollectResult, Plan
    from ..jobs.journal import Journal

Job = Callable[..., "CollectResult"]


def run_workbooks(
    args: argparse.Namespace,
    run_one: Callable[[Path, Journal], CollectResult],
    *,
    cancelled: CommandError,
) -> int:
    """``run_one`` on every workbook of the command line; the worst exit code."""
    from ..jobs.journal import Journal

    journal = Journal.default()
    worst: int = ExitCode.OK
    for path in args.workbooks:
        result = run_one(path, journal)
        show_result(path, result, dry_run=args.dry_run, cancelled=cancelled)
        worst = max(worst, result.exit_code)
    return worst


def run_on_file(
    path: Path,
    args: argparse.Namespace,
    journal: Journal,
    job: Job,
    confirm: Callable[[Plan], bool],
    **options: Any,
) -> CollectResult:
    """``job`` (collect or undo) on one file, with its settings and a client."""
    from ..jobs.collect import account_key
    from ..workbook.xlsx_patch import open_for_collect

    # Only the rows that change are rewritten when the file allows (KOLAYBI_XL_FAST=0: not).
    with open_for_collect(path, for_writing=not args.dry_run) as grid:
        settings = common.settings_for(grid, args)
        with common.client_for(settings) as client:
            return job(
                grid,
                client,
                journal,
                key=account_key(client),
                workbook=str(path.resolve()),
                confirm=confirm,
                dry_run=args.dry_run,
                concurrency=args.concurrency or settings.concurrency,
                no_wait=args.no_wait,
                **options,
            )


def show_result(
    path: Path, result: CollectResult, *, dry_run: bool, cancelled: CommandError
) -> None:
    from ..i18n import _

    if dry_run:
        print(result.plan.describe())
        print(
            _("{path}: dry run, nothing was sent and the workbook is unchanged").format(path=path)
        )
        return  # exit 1 when a marked row would not go
    if result.cancelled:
        raise cancelled
    print(f"{path}: {result.summary()}")

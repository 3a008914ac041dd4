"""``collect_marked``: the steps in order (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ...workbook.grid import Grid
from ..journal import Journal
from .records import CollectClient, CollectResult, Plan
from .run import COLLECT_STEPS, run_marked
from .waits import Waits


def collect_marked(
    grid: Grid,
    client: CollectClient,
    journal: Journal,
    *,
    key: str,
    workbook: str,
    confirm: Callable[[Plan], bool] | None = None,
    dry_run: bool = False,
    concurrency: int = 4,
    on_progress: Callable[[int, int], None] | None = None,
    now: Callable[[], datetime] = datetime.now,
    waits: Waits | None = None,
    no_wait: bool = False,
    on_wait: Callable[[int, float], None] | None = None,
) -> CollectResult:
    """Collect the marked rows of ``Faturalar`` (see the module docstring for the steps).

    ``workbook`` is the workbook's path (outcomes are written only into the workbook they
    belong to); ``waits`` every wait of the run; ``no_wait``: do not wait for requests that
    got no answer (their rows say the outcome is pending); ``on_wait(count, seconds)`` is told
    while the run waits for such requests.

    Raises ``JobError`` for a workbook or settings problem (nothing sent), with exit code 3
    when KolayBi cannot be reached while planning; ``OutcomesNotSaved`` when money moved but
    the workbook could not be written or saved (the next run writes the outcomes).
    """
    return run_marked(
        grid,
        client,
        journal,
        COLLECT_STEPS,
        key=key,
        workbook=workbook,
        confirm=confirm,
        dry_run=dry_run,
        concurrency=concurrency,
        on_progress=on_progress,
        now=now,
        waits=waits,
        no_wait=no_wait,
        on_wait=on_wait,
    )

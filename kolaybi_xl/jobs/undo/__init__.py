"""Undo (Tahsilatı Geri Al): take back the collections of the rows marked ``geri al``.

``DELETE /invoices/proceed/{id}`` undoes an invoice's collection(s) — KolayBi does not say
whether all of them or only the last: the confirmation warns that it may be all. It runs on
collect's skeleton (``collect.run.run_marked``) and so has the same guarantees:

0. **Recover** every earlier unsettled attempt of the account (collections and undos alike).
1. **Plan**: rows marked ``geri al`` (nothing else), ids and duplicates checked, a row with an
   unsettled attempt blocked; each invoice read afresh. Nothing collected (Ödenen 0) ->
   ``Atlandı: geri alınacak tahsilat yok``, nothing sent; a row that already says
   ``Geri alındı`` while KolayBi's remaining amount is still the one written then is left as
   it is (undoing twice sends nothing the second time).
2. **Confirm**: each invoice with what it has collected; ``dry_run`` stops here.
3. **Send**: a journal intent (kind ``undo``) on disk before each DELETE, its outcome after.
   An unclear answer is settled by re-reading: the remaining amount went back up -> undone;
   unchanged -> not applied (for a request without an answer only after the horizon, as for
   collect); anything else -> unknown (``kolaybi-xl journal --resolve``).
4. **Write back**: ``Geri alındı`` / ``Hata`` / ``Atlandı`` texts, Kalan, Ödenen and Ödeme
   Durumu from the re-read, one row per attempt on ``Tahsilat Günlüğü`` (a negative amount,
   ``Sonuç`` ``Geri alındı``), saved; then the journal marks them written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ...workbook.grid import Grid
from ..collect.records import CollectResult, Plan
from ..collect.run import Steps, run_marked
from ..collect.waits import Waits
from ..journal import Journal
from .plan import UndoPlan, build_undo_plan, collected
from .send import UndoClient, UndoSender

UNDO_STEPS = Steps(plan=build_undo_plan, sender=UndoSender, prefetch=False, undo=True)


def undo_marked(
    grid: Grid,
    client: UndoClient,
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
    """Take back the collections of the rows marked ``geri al`` (see the module docstring).

    ``client``: a ``KolayBiClient`` (or a stand-in with collect's reads and
    ``undo_collection``). The arguments, results and errors are ``collect_marked``'s.
    """
    return run_marked(
        grid,
        client,
        journal,
        UNDO_STEPS,
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


__all__ = ["UNDO_STEPS", "UndoClient", "UndoPlan", "UndoSender", "collected", "undo_marked"]

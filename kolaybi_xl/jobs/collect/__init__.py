"""Collect (tahsilat) the marked rows of ``Faturalar`` — exactly once, never losing an outcome.

The API has no idempotency key, so exactly-once is this module's job (docs/architecture.md §3).
The run holds the account's journal lock throughout; the caller holds the workbook's writer lock
(the file backend takes it on open) from load to replace.

0. **Recover.** Every earlier attempt without a final outcome (a crash, a kill, an unclear
   answer) is settled by the rule of step 3; this run waits for those that may still be in
   progress at KolayBi (or, with ``no_wait``, leaves their rows pending). Final outcomes that
   never reached their workbook are written now — only into the workbook they belong to
   (path and the id kept on ``Ayarlar``); other workbooks' are announced, not written.
1. **Plan.** Marked rows are validated (mark, Belge ID, vault, duplicates, currency, invoice
   type, an earlier attempt still open), each invoice's *current* remaining amount is read
   from KolayBi, rows with nothing left are skipped. Totals per vault and currency.
2. **Confirm.** ``dry_run`` stops with the plan (nothing written anywhere); ``confirm(plan)``
   may refuse (nothing sent, nothing written).
3. **Send.** Bounded concurrency, one document never in flight twice; each proceed is preceded
   by a journal intent on disk (with the vault's transactions of that amount seen before) and
   followed by its outcome. Settling an unclear answer:

   - a request that got an answer (a 500, a 503, an unreadable 2xx, ``success: false``) is
     over: the re-read tells the truth at once;
   - one without an answer (timeout, dropped connection, a gateway's 502/504, a killed run)
     may still be applied until the *horizon* (``HORIZON_FACTOR`` x the read timeout) after it
     was sent: "applied" can be proven at once, "not applied" only after the horizon; until
     then nothing is sent again for that invoice, in this run or another;
   - "applied" (``Tamamlandı``) is claimed only with evidence tied to this request: its own
     answer, or a new transaction of its amount in its vault that none of our other
     collections explains. An invoice that changed without that was collected by someone
     else, and its row says so (``Atlandı: başka bir tahsilatla kapanmış``).

   Provably not applied -> sent again (at most twice more, each with its own intent).
4. **Write back** outcome texts and refreshed amounts in a few block writes, one log row per
   attempt on ``Tahsilat Günlüğü``, the control strip; save; then mark the journal written.

Unmarked rows are never touched. Jobs never import openpyxl or xlwings. Every wait is in one
``Waits`` value passed in (tests pass short ones and a fake ``sleep``).
"""

from __future__ import annotations

from ...workbook.cells import tr_amount
from .job import collect_marked
from .plan import plan_collection
from .reading import _Prefetch as _Prefetch
from .reading import _prefetch_sales as _prefetch_sales
from .records import (
    CollectClient,
    CollectResult,
    OutcomesNotSaved,
    Plan,
    PlannedRow,
    RowOutcome,
    account_key,
    done_text,
)
from .waits import DEFAULT_WAITS, Waits, proceed_horizon
from .waits import ENV_HORIZON as ENV_HORIZON  # internals the tests reach as collect.X

__all__ = [
    "DEFAULT_WAITS",
    "CollectClient",
    "CollectResult",
    "OutcomesNotSaved",
    "Plan",
    "PlannedRow",
    "RowOutcome",
    "Waits",
    "account_key",
    "collect_marked",
    "done_text",
    "plan_collection",
    "proceed_horizon",
    "tr_amount",
]

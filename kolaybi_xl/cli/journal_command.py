"""``kolaybi-xl journal``: collection attempts whose outcome is open, and a user's verdict."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .. import i18n
from ..errors import ExitCode
from ..i18n import _

if TYPE_CHECKING:
    from ..jobs.journal import Attempt


def cmd_journal(args: argparse.Namespace) -> int:
    if args.resolve:
        return _resolve(args.resolve, applied=args.resolve_as == "applied")
    return _list(everything=args.all)


def _resolve(prefix: str, *, applied: bool) -> int:
    from ..jobs.journal import Journal
    from ..jobs.verdict import record_verdict

    attempt = record_verdict(Journal.default(), prefix, applied=applied)
    print(
        _(
            "recorded: invoice {invoice} {result}; the next collect on its workbook writes "
            "the outcome into the row"
        ).format(invoice=attempt.document_id, result=attempt.result)
    )
    return ExitCode.OK


def _list(*, everything: bool) -> int:
    from ..jobs.journal import Journal
    from ..jobs.verdict import attempts_to_show

    journal = Journal.default()
    shown = attempts_to_show(journal, everything=everything)
    if not shown:
        print(_("no unsettled collection attempts in {path}").format(path=journal.path))
        return ExitCode.OK
    _print_table(shown)
    if not everything:
        print(
            _(
                "check these invoices in KolayBi, then: kolaybi-xl journal --resolve ATTEMPT "
                "--as applied|not-applied (a collect run also settles them when KolayBi shows it)"
            )
        )
    return ExitCode.OK


def _print_table(attempts: Sequence[Attempt]) -> None:
    heads = [_("attempt"), _("time"), _("invoice"), _("vault"), _("amount")]
    print(
        f"{heads[0]:<12} {heads[1]:<19} {heads[2]:>8} {heads[3]:>6} {heads[4]:>14}  "
        + _("state / workbook")
    )
    for a in attempts:
        state = a.result or _("no outcome")
        if a.is_undo:
            state = _("undo: {state}").format(state=state)
        print(
            f"{a.attempt[:12]:<12} {a.at[:19]:<19} {a.document_id:>8} {a.vault_id:>6} "
            f"{i18n.amount(a.amount):>10} {a.currency:<3}  {state} / {Path(a.workbook).name}"
        )

"""The setup commands: ``doctor`` (is everything in place?) and ``set-key`` (the keyring)."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .. import logfile
from ..api import KolayBiClient
from ..errors import ExitCode, UserError
from ..i18n import N_, Message, _
from ..jobs.settings import Settings
from .common import CommandError, open_workbook

if TYPE_CHECKING:
    from ..workbook.grid import Grid
    from ..workbook.setup_facts import SetupFacts

log = logging.getLogger("kolaybi_xl")

NO_KEYRING = N_(
    "this system has no usable keyring to store the key in; set the KOLAYBI_API_KEY "
    "environment variable instead"
)


def cmd_doctor(args: argparse.Namespace) -> int:
    """The setup check: one line per check, the fix under every ✗; 0 only when all holds."""
    from ..jobs.doctor import run_checks, this_machine
    from ..jobs.journal import Journal

    with contextlib.ExitStack() as stack:
        facts, grid = _workbook_to_check(args.workbook, stack)
        report = run_checks(
            machine=this_machine(),
            facts=facts,
            grid=grid,
            environ=os.environ,
            make_client=_doctor_client,
            journal=Journal.default(),
            base_url=args.base_url,
            channel=args.channel,
        )
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # a cp1252 console and ✓/✗: replaced, not a crash
        with contextlib.suppress(ValueError, OSError):
            reconfigure(errors="replace")
    print(report.text())
    return ExitCode.OK if report.ok else ExitCode.BAD_INPUT


def _workbook_to_check(
    path: Path | None, stack: contextlib.ExitStack
) -> tuple[SetupFacts | None, Grid | None]:
    """What doctor reads in the file, and the workbook itself (read-only) when it opens."""
    from ..workbook.setup_facts import read_setup_facts

    if path is None:
        return None, None
    facts = read_setup_facts(path)
    if facts.problem is not None:
        return facts, None
    with contextlib.suppress(UserError):
        return facts, stack.enter_context(open_workbook(path, for_writing=False))
    return facts, None


def _doctor_client(settings: Settings) -> KolayBiClient:
    logfile.SECRETS.add(settings.api_key)
    # One quick try: the check reports a slow or failing API rather than waiting it out.
    return KolayBiClient(
        settings.base_url, settings.channel, settings.api_key, max_retries=1, timeout=(5.0, 20.0)
    )


def cmd_set_key(args: argparse.Namespace) -> int:
    from ..jobs.settings import resolve_url

    base_url = resolve_url(args.base_url or os.environ.get("KOLAYBI_BASE_URL") or "Sandbox")
    channel = args.channel or os.environ.get("KOLAYBI_CHANNEL")
    if not channel:
        raise CommandError("set-key needs --channel (or KOLAYBI_CHANNEL)")
    _store_key(base_url, channel, _read_key())
    print(
        _("stored the API key for {url} / {channel} in the system keyring").format(
            url=base_url, channel=channel
        )
    )
    return ExitCode.OK


def _read_key() -> str:
    from ..jobs.settings import keyring_backend

    if keyring_backend() is None:
        raise CommandError(NO_KEYRING)
    if sys.stdin.isatty():
        key = getpass.getpass(_("KolayBi API key (not shown): ")).strip()
    else:  # piped (echo $KEY | kolaybi-xl set-key ...): read it, no "may be echoed" warning
        key = sys.stdin.readline().strip()
    if not key:
        raise CommandError("no key entered")
    logfile.SECRETS.add(key)
    return key


def _store_key(base_url: str, channel: str, key: str) -> None:
    import keyring
    import keyring.errors

    from ..jobs.settings import KEYRING_SERVICE, keyring_user

    try:
        keyring.set_password(KEYRING_SERVICE, keyring_user(base_url, channel), key)
    except keyring.errors.KeyringError as exc:
        log.info("keyring refused the key: %s", type(exc).__name__)
        raise CommandError(
            "{reason} ({kind})", reason=Message(NO_KEYRING), kind=type(exc).__name__
        ) from None

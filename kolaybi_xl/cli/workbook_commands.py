"""The commands that fill a workbook: fetch, vaults, report, init-workbook."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path

from ..errors import ExitCode
from ..i18n import _, ngettext
from .common import CommandError, open_workbook, parse_types, workbook_with_client


def cmd_fetch(args: argparse.Namespace) -> int:
    from ..jobs.fetch import chosen_types, refresh_invoices

    for path in args.workbooks:
        with workbook_with_client(path, args, create=True, streamed=True) as (
            grid,
            settings,
            client,
        ):
            types = parse_types(args.type) or chosen_types(grid, settings.default_type)
            result = refresh_invoices(grid, client, types, with_vaults=not args.no_vaults)
        vaults = ngettext("{n} vault", "{n} vaults", result.vaults).format(n=result.vaults)
        print(f"{path}: {result.summary()}; {vaults}")
    return ExitCode.OK


def cmd_vaults(args: argparse.Namespace) -> int:
    from ..jobs.vaults import refresh_vaults

    for path in args.workbooks:
        with workbook_with_client(path, args, create=True) as (grid, _settings, client):
            vaults = refresh_vaults(grid, client)
        print(f"{path}: " + ngettext("{n} vault", "{n} vaults", len(vaults)).format(n=len(vaults)))
    return ExitCode.OK


def cmd_report(args: argparse.Namespace) -> int:
    from ..jobs.report import build_report

    as_of = _parse_as_of(args.as_of)
    for path in args.workbooks:
        with open_workbook(path) as grid:
            result = build_report(grid, as_of=as_of)
            grid.save()
        print(f"{path}: {result.summary()}")
    return ExitCode.OK


def _parse_as_of(text: str | None) -> date:
    if not text:
        return date.today()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CommandError("--as-of: not a date: '{text}' (use YYYY-MM-DD)", text=text)


def cmd_init_workbook(args: argparse.Namespace) -> int:
    from ..template import init_workbook

    path: Path = args.path
    _check_new_workbook(path, force=args.force)
    try:
        init_workbook(path, interpreter=sys.executable)
    except (RuntimeError, ValueError) as exc:
        raise CommandError("cannot create {path}: {detail}", path=path, detail=exc) from None
    print(_("created {path}").format(path=path))
    if path.suffix.lower() == ".xlsm":
        print(_("check the setup with: kolaybi-xl doctor {path}").format(path=path))
    return ExitCode.OK


def _check_new_workbook(path: Path, *, force: bool) -> None:
    if path.exists() and not force:
        raise CommandError("{path} already exists (use --force to replace it)", path=path)
    if path.is_dir():
        raise CommandError(
            "{path} is a folder; give a file name ending in .xlsm or .xlsx", path=path
        )

"""What the commands share: the usage error, opening a workbook, its settings and the client."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .. import logfile
from ..api import InvoiceType, KolayBiClient
from ..errors import UserError
from ..jobs.settings import Settings, load_settings
from ..workbook.grid import Grid
from ..workbook.xlsx_file import FileGrid
from ..workbook.xlsx_patch.grid import PatchGrid


class CommandError(UserError):
    """Bad usage of a command (exit 2 unless told otherwise)."""


@contextmanager
def open_workbook(
    path: Path, *, create: bool = False, for_writing: bool = True, streamed: bool = False
) -> Iterator[FileGrid | PatchGrid]:
    """``streamed``: fetch's backends (a new workbook's invoice table written as a stream, a
    refresh patched)."""
    from ..template import template_for
    from ..workbook.xlsx_stream import open_for_fetch

    template = template_for(path) if create and not path.exists() else None
    if streamed and create:
        grid = open_for_fetch(path, template, for_writing=for_writing)
    else:
        grid = FileGrid.open(path, create=create, template=template, for_writing=for_writing)
    try:
        yield grid
    finally:
        grid.close()


def settings_for(grid: Grid | None, args: argparse.Namespace) -> Settings:
    settings = load_settings(grid, base_url=args.base_url, channel=args.channel)
    logfile.SECRETS.add(settings.api_key)
    return settings


def client_for(settings: Settings) -> KolayBiClient:
    return KolayBiClient(settings.base_url, settings.channel, settings.api_key)


def parse_types(values: Sequence[str] | None) -> list[InvoiceType] | None:
    """``--type`` (repeatable, comma-separated, ``all``) as invoice types; None when not given."""
    if not values:
        return None
    parts = [part.strip() for value in values for part in value.split(",")]
    types: list[InvoiceType] = []
    for part in filter(None, parts):
        if part.lower() in ("all", "tümü", "tumu"):
            return list(InvoiceType)
        invoice_type = _invoice_type(part)
        if invoice_type not in types:
            types.append(invoice_type)
    return types or None


def _invoice_type(text: str) -> InvoiceType:
    try:
        return InvoiceType.parse(text)
    except ValueError:
        raise CommandError(
            "--type: unknown invoice type '{text}' (sale_invoice, sale_return_invoice, "
            "purchase_invoice, purchase_return_invoice, self_employment_receipt or all)",
            text=text,
        ) from None


@contextmanager
def workbook_with_client(
    path: Path, args: argparse.Namespace, *, create: bool = False, streamed: bool = False
) -> Iterator[tuple[FileGrid | PatchGrid, Settings, KolayBiClient]]:
    """The workbook, its settings and a client; the workbook is saved when the block succeeds."""
    with open_workbook(path, create=create, streamed=streamed) as grid:
        settings = settings_for(grid, args)
        with client_for(settings) as client:
            yield grid, settings, client
        grid.save()

"""``Kasalar``: the vaults (cash boxes and bank accounts) money can be collected into."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..api.client import KolayBiClient
from ..api.models import Vault
from ..workbook import layout
from ..workbook.cells import CellError, cell_text, find_header_row, header_positions, parse_int
from ..workbook.cells import VaultRef as VaultRef
from ..workbook.grid import Grid, layout_table
from .errors import JobError


def vault_ref(vault: Vault) -> VaultRef:
    return VaultRef(vault.id, vault.name or "", vault.type or "", vault.currency or "")


def write_vaults(grid: Grid, vaults: Sequence[Vault]) -> None:
    """Rewrite ``Kasalar`` (the whole sheet is the tool's) and the dropdown's name."""
    grid.ensure_sheet(layout.VAULTS)
    old = grid.read(layout.VAULTS)
    header = [c.header for c in layout.VAULT_COLUMNS]
    rows: list[list[Any]] = [header]
    for v in sorted(vaults, key=lambda v: v.id):
        type_label = layout.VAULT_TYPE_LABELS.get(v.type or "", v.type or "")
        rows.append([v.id, v.name or "", type_label, v.currency or "", v.balance])
    grid.write(layout.VAULTS, layout.VAULT_HEADER_ROW, 1, rows)
    if len(old) > len(rows):
        grid.clear(layout.VAULTS, len(rows) + 1, 1, len(old), len(header))
    grid.format_table(
        layout.VAULTS,
        layout_table(layout.VAULT_COLUMNS, layout.VAULT_HEADER_ROW, len(vaults), spare_rows=0),
    )
    grid.define_name(layout.VAULT_NAMES_RANGE, layout.VAULT_NAMES_FORMULA)


def refresh_vaults(grid: Grid, client: KolayBiClient) -> list[Vault]:
    grid.progress("Kasalar getiriliyor…")
    vaults = client.list_vaults()
    write_vaults(grid, vaults)
    return vaults


def read_vaults(grid: Grid) -> list[VaultRef]:
    """The vaults as listed on ``Kasalar`` (what the user picked names from)."""
    if layout.VAULTS not in grid.sheet_names():
        return []
    block = grid.read(layout.VAULTS)
    found = find_header_row(block, layout.VAULT_COLUMNS[0].header, 5)
    if found is None:
        return []
    positions = _vault_positions(block[found])
    columns = tuple(positions[c.header] for c in layout.VAULT_COLUMNS[:4])
    width = max(positions.values()) + 1
    refs = (
        _vault_ref(list(row) + [None] * (width - len(row)), columns) for row in block[found + 1 :]
    )
    return [ref for ref in refs if ref is not None]


def _vault_positions(header: Sequence[Any]) -> dict[str, int]:
    """Header text -> 0-based column; every vault column must be there."""
    positions = header_positions(header)
    missing = [c.header for c in layout.VAULT_COLUMNS if c.header not in positions]
    if missing:
        raise JobError(
            "sheet '{sheet}' is missing column(s): {names}",
            sheet=layout.VAULTS,
            names=", ".join(missing),
        )
    return positions


def _vault_ref(cells: list[Any], columns: tuple[int, ...]) -> VaultRef | None:
    """One row as a vault; None for a row without a readable id."""
    id_col, name_col, type_col, cur_col = columns
    try:
        vault_id = parse_int(cells[id_col], "Kasa ID")
    except CellError:
        return None
    if vault_id is None:
        return None
    type_text = cell_text(cells[type_col])
    api_type = next((k for k, v in layout.VAULT_TYPE_LABELS.items() if v == type_text), type_text)
    return VaultRef(
        vault_id, cell_text(cells[name_col]), api_type, cell_text(cells[cur_col]).upper()
    )

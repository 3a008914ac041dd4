"""``workbook_template.xlsm``: built from code (never hand-edited) with XlsxWriter.

The sheets come from the same layout module the batch mode uses; the VBA project is
xlwings' own source-only project with our ``KolayBi`` module (see ``kolaybi_xl.vba``); the
buttons are legacy (VML) form buttons, which survive later openpyxl saves with keep_vba.

``python -m kolaybi_xl.template`` rebuilds the committed file; ``init-workbook`` builds a
copy with the current Python interpreter written into ``xlwings.conf``.
"""

from __future__ import annotations

import atexit
import io
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from .api.models import INVOICE_TYPE_LABELS, InvoiceType
from .workbook import layout

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "workbook_template.xlsm"
FIXED_TIME = datetime(2026, 1, 1)  # document properties: fixed, so rebuilds are identical
VALIDATION_ROWS = 20_000  # dropdowns pre-set on this many data rows
SETTINGS_HELP_WIDTH = 90


BUTTONS: tuple[tuple[str, str], ...] = (
    ("Faturaları Getir", "KolayBi_FaturalariGetir"),
    ("Kasaları Getir", "KolayBi_KasalariGetir"),
    ("Tahsil Et", "KolayBi_TahsilEt"),
    ("Tahsilatı Geri Al", "KolayBi_TahsilatiGeriAl"),
    ("Özet Oluştur", "KolayBi_OzetOlustur"),
    ("Kurulum Kontrolü", "KolayBi_KurulumKontrolu"),
)

BUTTON_WIDTH = 128  # pixels; the six buttons side by side in the strip

XLWINGS_CONF_KEYS = (
    "Interpreter_Win",
    "Interpreter_Mac",
    "PYTHONPATH",
    "Conda Path",
    "Conda Env",
    "UDF Modules",
    "Debug UDFs",
    "Use UDF Server",
    "Show Console",
)


def xlwings_conf_rows(interpreter: str | None, platform: str) -> list[tuple[str, str]]:
    """Key/value rows of the ``xlwings.conf`` sheet (keys from A1 down to the first blank).

    The interpreter goes to the key of the platform it runs on; made on another system
    (Linux) both stay empty and xlwings falls back to ``python`` on the PATH.
    """
    windows = interpreter if interpreter and platform.startswith("win") else ""
    mac = interpreter if interpreter and platform == "darwin" else ""
    values = {
        "Interpreter_Win": windows,
        "Interpreter_Mac": mac,
        "Debug UDFs": "False",
        "Use UDF Server": "False",
        "Show Console": "False",
    }
    return [(key, values.get(key, "")) for key in XLWINGS_CONF_KEYS]


def build_template(
    target: Path | io.BytesIO,
    *,
    macros: bool = True,
    interpreter: str | None = None,
    platform: str = sys.platform,
) -> None:
    """Write the template workbook (``.xlsm`` with macros and buttons, or plain ``.xlsx``)."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(target, {"strings_to_formulas": False, "strings_to_urls": False})
    workbook.set_properties(
        {"title": "KolayBi Faturalar", "author": "kolaybi-xl", "created": FIXED_TIME}
    )
    styles = _Styles(workbook)
    sheets = {name: workbook.add_worksheet(name) for name in layout.SHEET_ORDER}
    if macros:
        from .vba.project import build_kolaybi_project

        workbook.add_vba_project(io.BytesIO(build_kolaybi_project()), is_stream=True)
        workbook.set_vba_name("ThisWorkbook")
        sheets[layout.INVOICES].set_vba_name("Sheet1")
        sheets[layout.XLWINGS_CONF].set_vba_name("Sheet2")

    _invoices_sheet(sheets[layout.INVOICES], styles, buttons=macros)
    _table_sheet(sheets[layout.VAULTS], styles, layout.VAULT_COLUMNS, layout.VAULT_HEADER_ROW)
    _table_sheet(sheets[layout.COLLECTION_LOG], styles, layout.LOG_COLUMNS, layout.LOG_HEADER_ROW)
    _summary_sheet(sheets[layout.SUMMARY], styles)
    _settings_sheet(sheets[layout.SETTINGS], styles)
    _conf_sheet(sheets[layout.XLWINGS_CONF], styles, xlwings_conf_rows(interpreter, platform))
    workbook.define_name(layout.VAULT_NAMES_RANGE, "=" + layout.VAULT_NAMES_FORMULA)
    sheets[layout.INVOICES].activate()
    workbook.close()


class _Styles:
    def __init__(self, workbook: Any) -> None:
        base = {"font_name": layout.FONT_NAME, "font_size": layout.FONT_SIZE, "valign": "vcenter"}
        header = {**base, "bold": True, "border": 1, "text_wrap": True, "align": "center"}
        self.title = workbook.add_format(
            {**base, "bold": True, "font_size": 16, "font_color": _hex(layout.TITLE_FONT)}
        )
        self.label = workbook.add_format({**base, "bold": True})
        self.note = workbook.add_format(
            {**base, "italic": True, "font_color": _hex(layout.NOTE_FONT)}
        )
        self.input_cell = workbook.add_format(
            {**base, "bg_color": _hex(layout.INPUT_FILL), "border": 1}
        )
        self.datetime = workbook.add_format(
            {**base, "num_format": layout.NUMBER_FORMATS[layout.Kind.DATETIME]}
        )
        self.header = {
            layout.Role.DATA: workbook.add_format(
                {
                    **header,
                    "bg_color": _hex(layout.HEADER_FILL),
                    "font_color": _hex(layout.HEADER_FONT),
                }
            ),
            layout.Role.INPUT: workbook.add_format(
                {
                    **header,
                    "bg_color": _hex(layout.INPUT_HEADER_FILL),
                    "font_color": _hex(layout.DARK_FONT),
                }
            ),
            layout.Role.OUTCOME: workbook.add_format(
                {
                    **header,
                    "bg_color": _hex(layout.OUTPUT_HEADER_FILL),
                    "font_color": _hex(layout.DARK_FONT),
                }
            ),
        }
        # Column formats carry the number format only: the input/output highlight is put on
        # the data rows by the backends, so it never spills over the control strip or prints.
        self.column: dict[tuple[layout.Kind, bool], Any] = {}
        for kind in layout.Kind:
            number = {**base, "num_format": layout.NUMBER_FORMATS[kind]}
            self.column[(kind, False)] = workbook.add_format(number)
            self.column[(kind, True)] = workbook.add_format(
                {**number, "text_wrap": True, "valign": "top"}
            )
        self.wrapped_note = workbook.add_format(
            {**base, "italic": True, "font_color": _hex(layout.NOTE_FONT), "text_wrap": True}
        )
        # Rows no longer listed: grey italic text (the same rule the file backend writes).
        self.muted = workbook.add_format({"font_color": _hex(layout.MUTED_FONT), "italic": True})


def _hex(color: str) -> str:
    return f"#{color}"


def _columns(
    sheet: Any, styles: _Styles, columns: Sequence[layout.Column], header_row: int
) -> None:
    for index, column in enumerate(columns):
        sheet.set_column(index, index, column.width, styles.column[(column.kind, column.wrap)])
        sheet.write_string(header_row - 1, index, column.header, styles.header[column.role])
    sheet.set_row(header_row - 1, 32)
    _paper(sheet, header_row)
    sheet.freeze_panes(header_row, 1)
    sheet.autofilter(header_row - 1, 0, header_row - 1, len(columns) - 1)


def _paper(sheet: Any, header_row: int | None = None) -> None:
    """How the sheet prints, as ``layout.PAPER`` says (the file backend writes the same)."""
    paper = layout.PAPER.get(sheet.name, layout.PAPER_DEFAULT)
    sheet.set_landscape()
    sheet.set_paper(layout.A4)
    sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    sheet.fit_to_pages(paper.pages_wide, paper.pages_tall)
    if header_row is not None:
        sheet.repeat_rows(header_row - 1)
    if paper.repeat_columns:
        sheet.repeat_columns(0, paper.repeat_columns - 1)
    if paper.print_columns:
        # Not the whole columns ($A:$U): openpyxl cannot read that back and warns on load.
        sheet.print_area(0, 0, 1_048_574, paper.print_columns - 1)
    sheet.set_header(
        layout.header_footer_code(layout.page_header(), bold_centre=True), {"margin": 0.25}
    )
    sheet.set_footer(layout.header_footer_code(layout.PAGE_FOOTER), {"margin": 0.25})


def _invoices_sheet(sheet: Any, styles: _Styles, *, buttons: bool) -> None:
    header_row = layout.INVOICE_HEADER_ROW
    _columns(sheet, styles, layout.INVOICE_COLUMNS, header_row)
    sheet.write_string(*_rc(layout.TITLE_CELL), layout.TITLE, styles.title)
    sheet.write_string(*_rc(layout.TYPE_LABEL_CELL), "Fatura Türü", styles.label)
    sheet.write_string(
        *_rc(layout.TYPE_CELL), INVOICE_TYPE_LABELS[InvoiceType.SALE_INVOICE], styles.input_cell
    )
    sheet.write_string(*_rc(layout.REFRESHED_LABEL_CELL), "Son Güncelleme", styles.label)
    sheet.write_blank(*_rc(layout.REFRESHED_CELL), None, styles.datetime)
    sheet.write_string(*_rc(layout.STATUS_LABEL_CELL), "Durum", styles.label)
    sheet.write_string(
        *_rc(layout.STATUS_CELL),
        "Hazır: Ayarlar sayfasını doldurun, sonra Faturaları Getir'e basın.",
        styles.note,
    )
    type_choices = [*INVOICE_TYPE_LABELS.values(), layout.ALL_TYPES_LABEL]
    sheet.data_validation(
        *_rc(layout.TYPE_CELL),
        *_rc(layout.TYPE_CELL),
        {
            "validate": "list",
            "source": type_choices,
            "input_title": "Fatura türü",
            "input_message": "Getirilecek faturaların türü",
        },
    )
    first, last = header_row, header_row + VALIDATION_ROWS - 1  # 0-based data rows
    status = layout.INVOICE_COLUMNS.index(layout.C_DOC_STATUS)
    status_letter = chr(ord("A") + status)
    sheet.conditional_format(
        first, 0, last, len(layout.INVOICE_COLUMNS) - 1,
        {
            "type": "formula",
            "criteria": f'=${status_letter}{first + 1}="{layout.NOT_LISTED}"',
            "format": styles.muted,
        },
    )  # fmt: skip
    mark = layout.INVOICE_COLUMNS.index(layout.C_MARK)
    vault = layout.INVOICE_COLUMNS.index(layout.C_VAULT)
    sheet.data_validation(
        first, mark, last, mark,
        {
            "validate": "list",
            "source": layout.MARK_CHOICES.split(","),
            "show_error": False,
            "input_title": "Tahsil Et",
            "input_message": layout.MARK_PROMPT,
        },
    )  # fmt: skip
    sheet.data_validation(
        first, vault, last, vault,
        {
            "validate": "list",
            "source": "=" + layout.VAULT_NAMES_RANGE,
            "show_error": False,
            "input_title": "Kasa/Banka",
            "input_message": layout.VAULT_PROMPT,
        },
    )  # fmt: skip
    amount = layout.INVOICE_COLUMNS.index(layout.C_AMOUNT)
    sheet.data_validation(
        first, amount, last, amount,
        {
            "validate": "decimal",
            "criteria": ">",
            "value": 0,
            "show_error": False,  # a hint: the product checks amounts and reports the row
            "input_title": layout.C_AMOUNT.header,
            "input_message": layout.AMOUNT_PROMPT,
        },
    )  # fmt: skip
    if buttons:
        for index, (caption, macro) in enumerate(BUTTONS):
            sheet.insert_button(
                1,
                3,
                {
                    "macro": macro,
                    "caption": caption,
                    "width": BUTTON_WIDTH,
                    "height": 34,
                    "x_offset": 4 + index * (BUTTON_WIDTH + 8),
                    "y_offset": 2,
                },
            )


def _table_sheet(
    sheet: Any, styles: _Styles, columns: Sequence[layout.Column], header_row: int
) -> None:
    _columns(sheet, styles, columns, header_row)


def _summary_sheet(sheet: Any, styles: _Styles) -> None:
    _paper(sheet)
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 8, 16)
    sheet.write_string(0, 0, "Özet", styles.title)
    sheet.write_string(2, 0, "Faturaları getirdikten sonra Özet Oluştur'a basın.", styles.note)


def _settings_sheet(sheet: Any, styles: _Styles) -> None:
    _paper(sheet, 1)
    sheet.set_column(0, 0, 26)
    sheet.set_column(1, 1, 44)
    sheet.set_column(2, 2, SETTINGS_HELP_WIDTH)
    for col, text in enumerate(layout.SETTINGS_HEADER):
        sheet.write_string(0, col, text, styles.header[layout.Role.DATA])
    for row, (label, value, help_text) in enumerate(layout.SETTINGS_ROWS, start=1):
        sheet.write_string(row, 0, label, styles.label)
        sheet.write_string(row, 1, value, styles.input_cell)
        sheet.write_string(row, 2, help_text, styles.wrapped_note)
        lines = -(-len(help_text) // int(SETTINGS_HELP_WIDTH * 1.1 - 1))
        sheet.set_row(row, 15 * lines if lines > 1 else None)
    sheet.write_string(len(layout.SETTINGS_ROWS) + 2, 0, layout.SETTINGS_NOTE, styles.note)
    sheet.data_validation(
        1, 1, 1, 1,
        {"validate": "list", "source": ["Sandbox", "Canlı"], "show_error": False},
    )  # fmt: skip


def _conf_sheet(sheet: Any, styles: _Styles, rows: Sequence[tuple[str, str]]) -> None:
    _paper(sheet)
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 60)
    for row, (key, value) in enumerate(rows):
        sheet.write_string(row, 0, key)
        if value:
            sheet.write_string(row, 1, value)
    sheet.write_string(
        len(XLWINGS_CONF_KEYS) + 1,
        0,
        "xlwings ayarları: Interpreter_Win / Interpreter_Mac, kolaybi-xl kurulu Python'u "
        "göstermeli ('kolaybi-xl init-workbook' bunu doldurur).",
        styles.note,
    )


def _rc(cell: tuple[int, int]) -> tuple[int, int]:
    """layout's 1-based (row, column) -> XlsxWriter's 0-based."""
    return cell[0] - 1, cell[1] - 1


_built: dict[str, Path] = {}


def template_for(path: Path) -> Path:
    """The template a new workbook named ``path`` starts from: the committed ``.xlsm`` for
    macro workbooks (or a fresh build where it is not installed), the same sheets without
    macros for ``.xlsx``. Builds are made once per process in a private temporary folder."""
    macros = path.suffix.lower() == ".xlsm"
    if macros and TEMPLATE_PATH.exists():
        return TEMPLATE_PATH
    suffix = ".xlsm" if macros else ".xlsx"
    if suffix not in _built:
        folder = Path(tempfile.mkdtemp(prefix="kolaybi-xl-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        target = folder / f"template{suffix}"
        build_template(target, macros=macros)
        _built[suffix] = target
    return _built[suffix]


def init_workbook(
    path: Path, *, interpreter: str | None = None, platform: str = sys.platform
) -> None:
    """A new workbook: ``.xlsm`` with macros and buttons, ``.xlsx`` the same sheets without.

    Written to a temporary file beside the target and moved into place, so a failure never
    leaves half a workbook.
    """
    suffix = path.suffix.lower()
    if suffix not in (".xlsm", ".xlsx"):
        raise ValueError(f"{path.name}: use a .xlsm (with buttons) or .xlsx name")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode: int | None = stat.S_IMODE(path.stat().st_mode)  # a replaced file keeps its mode
    except FileNotFoundError:
        mode = None
    tmp = path.with_name(f".~kolaybi-{secrets.token_hex(4)}{suffix}")
    # Created like any program creates a file (0o666 less the umask), not mkstemp's 0600:
    # colleagues on a shared folder must be able to open it.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        build_template(tmp, macros=suffix == ".xlsm", interpreter=interpreter, platform=platform)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


if __name__ == "__main__":  # pragma: no cover - the build entry point
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE_PATH
    build_template(out)
    print(f"wrote {out}")

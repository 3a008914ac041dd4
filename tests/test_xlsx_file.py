"""The openpyxl file backend: values, text safety, formats, macros, errors, atomic saves."""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import shutil
import stat
import subprocess
import zipfile
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from kolaybi_xl import atomic
from kolaybi_xl.template import TEMPLATE_PATH
from kolaybi_xl.workbook import layout, xlsx_file, xlsx_format, xlsx_save
from kolaybi_xl.workbook.grid import (
    POSITIVE_DECIMAL,
    ColumnFormat,
    Formula,
    Grid,
    MemoryGrid,
    TableFormat,
    Validation,
)
from kolaybi_xl.workbook.xlsx_file import FileGrid, WorkbookError

# A real VBA project to carry through: the committed template's (built from xlwings' own).
VBA_WORKBOOK = TEMPLATE_PATH
HOSTILE = ['=HYPERLINK("http://x","y")', "=1+1", "+90 555", "-5%", "@SUM(A1)", "#N/A"]
S = layout.INVOICES


# -- helpers ----------------------------------------------------------------------------------


def new_book(tmp_path: Path, name: str = "book.xlsx") -> Path:
    """A saved workbook with the layout's sheets."""
    path = tmp_path / name
    grid = FileGrid.open(path, create=True)
    grid.save()
    return path


def sheet_xml(path: Path, sheet: str = S) -> str:
    """The raw XML of a worksheet, found through the workbook's relationships."""
    with zipfile.ZipFile(path) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
        rels = archive.read("xl/_rels/workbook.xml.rels").decode()
        rid = re.search(rf'<sheet name="{re.escape(sheet)}"[^>]*r:id="(rId\d+)"', workbook)
        assert rid is not None
        target = re.search(rf'Target="([^"]+)" Id="{rid.group(1)}"', rels)
        assert target is not None
        return archive.read(target.group(1).lstrip("/")).decode()


def excel_lock_file(owner: str) -> bytes:
    """An Excel owner file (``~$name``) as Excel writes it: 165 bytes, the name twice."""
    data = bytes([len(owner)]) + owner.encode("cp1254")
    data = data.ljust(55, b" ")
    data += len(owner).to_bytes(2, "little") + owner.encode("utf-16-le")
    return data.ljust(165, b" ")


def assert_clean_message(error: WorkbookError, name: str) -> None:
    for text in (error.message, error.message_tr):
        assert text
        assert name in text
        assert "\n" not in text
        assert "Traceback" not in text
        assert not re.search(r"\b\w+(Error|Exception)\b", text)
    assert str(error) == error.message


@pytest.fixture(scope="module")
def vba_project() -> bytes:
    with zipfile.ZipFile(VBA_WORKBOOK) as archive:
        return archive.read("xl/vbaProject.bin")


@pytest.fixture
def xlsm(tmp_path: Path, vba_project: bytes) -> Path:
    """A macro workbook as the template builder makes it: XlsxWriter, VBA project, a button."""
    xlsxwriter = pytest.importorskip("xlsxwriter")
    project = tmp_path / "vbaProject.bin"
    project.write_bytes(vba_project)
    path = tmp_path / "book.xlsm"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet(S)
    workbook.set_vba_name("ThisWorkbook")
    sheet.set_vba_name("Sheet1")
    workbook.add_vba_project(str(project))
    sheet.insert_button("D2", {"macro": "SampleCall", "caption": "Yenile"})
    sheet.write("A1", "KolayBi")
    workbook.add_worksheet(layout.VAULTS)
    workbook.close()
    return path


def no_temp_files(folder: Path) -> bool:
    return not any(p.name.startswith(xlsx_file.TEMP_PREFIX) for p in folder.iterdir())


# -- basics -----------------------------------------------------------------------------------


def test_defusedxml_is_active() -> None:
    assert openpyxl.DEFUSEDXML is True


def test_create_gives_every_layout_sheet_and_writes_nothing_before_save(tmp_path: Path) -> None:
    path = tmp_path / "new.xlsx"
    grid = FileGrid.open(path, create=True)
    assert isinstance(grid, Grid)
    assert grid.sheet_names() == list(layout.SHEET_ORDER)
    assert grid.path == path
    assert not path.exists()
    grid.save()
    assert openpyxl.load_workbook(path).sheetnames == list(layout.SHEET_ORDER)
    for sheet in layout.SHEET_ORDER:
        assert grid.read(sheet) == []


def test_missing_file_without_create(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError) as caught:
        FileGrid.open(tmp_path / "yok.xlsx")
    assert caught.value.reason == "not_found"
    assert_clean_message(caught.value, "yok.xlsx")


def test_round_trip_of_every_value_type(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    row = [
        "Müşteri A.Ş.",
        1854,
        2.5,
        Decimal("2327.60"),
        Decimal("0.07"),
        Decimal("9.995"),
        date(2024, 1, 31),
        datetime(2024, 2, 1, 13, 45, 10),
        True,
        False,
        None,
        "son",
    ]
    grid.write(S, 2, 1, [row])
    expected = [[None] * 12, [*row[:3], 2327.6, 0.07, 9.995, *row[6:]]]
    assert grid.read(S) == expected
    grid.save()

    back = FileGrid.open(path).read(S)
    assert back[1][:6] == ["Müşteri A.Ş.", 1854, 2.5, 2327.6, 0.07, 9.995]
    assert back[1][6] == datetime(2024, 1, 31)  # openpyxl gives dates back as datetimes
    assert back[1][7] == datetime(2024, 2, 1, 13, 45, 10)
    assert back[1][8:] == [True, False, None, "son"]

    xml = sheet_xml(path)
    assert '<c r="D2" t="n"><v>2327.6</v></c>' in xml
    assert "<v>0.07</v>" in xml
    assert "<v>9.995</v>" in xml
    assert not re.search(r"<v>-?\d+\.\d*(0000|9999)\d*</v>", xml), "binary noise in a number"


def test_decimals_are_written_exactly(tmp_path: Path) -> None:
    amounts = [Decimal(cents).scaleb(-2) for cents in range(1, 100_000, 997)]
    amounts += [Decimal("123456789012.34"), Decimal("-0.56"), Decimal("1854"), Decimal("1E+3")]
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    grid.write(S, 1, 1, [[a] for a in amounts])
    grid.save()
    written = re.findall(r"<v>([^<]*)</v>", sheet_xml(path))
    assert [Decimal(text) for text in written] == amounts
    assert all(len(text) <= 16 for text in written)
    back = FileGrid.open(path).read(S)
    assert [Decimal(repr(r[0])) for r in back] == amounts


def test_non_finite_and_aware_values(tmp_path: Path) -> None:
    grid = FileGrid.open(new_book(tmp_path))
    aware = datetime(2024, 5, 1, 9, 0, tzinfo=timezone(timedelta(hours=3)))
    grid.write(S, 1, 1, [[float("nan"), Decimal("NaN"), aware, "x"]])
    values = grid.read(S)[0]
    assert values[:2] == [None, None]
    assert values[2] == aware.astimezone().replace(tzinfo=None)
    grid.save()


def test_hostile_strings_stay_text(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    grid.write(S, 1, 1, [HOSTILE])
    assert grid.read(S) == [HOSTILE]
    grid.save()

    sheet = openpyxl.load_workbook(path)[S]
    for column, text in enumerate(HOSTILE, start=1):
        cell = sheet.cell(1, column)
        assert cell.data_type == "s", text
        assert cell.value == text
        assert cell.quotePrefix is (text[0] in "=+-@"), text
    xml = sheet_xml(path)
    assert "<f>" not in xml
    assert "<f " not in xml
    with zipfile.ZipFile(path) as archive:
        assert 'quotePrefix="1"' in archive.read("xl/styles.xml").decode()
    assert FileGrid.open(path).read(S) == [HOSTILE]


def test_quote_prefix_goes_when_the_cell_gets_plain_text(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    grid.write(S, 1, 1, [["=1+1", "=2+2"]])
    grid.write(S, 1, 1, [["düz metin", 5]])
    grid.save()
    sheet = openpyxl.load_workbook(path)[S]
    assert sheet["A1"].quotePrefix is False
    assert sheet["B1"].quotePrefix is False
    assert sheet["B1"].value == 5


def test_control_characters_are_stripped(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    grid.write(S, 1, 1, [["a\x00b\x07c\x1fd\x7f", "satır\nsatır\tsekme"]])
    grid.save()
    assert FileGrid.open(path).read(S) == [["abcd", "satır\nsatır\tsekme"]]


def test_identity_numbers_keep_leading_zeros(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    grid.write(S, 1, 1, [["0012345678"], ["01234567890"]])
    grid.save()
    sheet = openpyxl.load_workbook(path)[S]
    assert sheet["A1"].value == "0012345678"
    assert sheet["A1"].data_type == "s"
    assert FileGrid.open(path).read(S) == [["0012345678"], ["01234567890"]]


def test_formula_values_are_formulas(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    grid.write(S, 1, 1, [[1, 2, Formula("=SUM(A1:B1)"), Formula("A1*2")]])
    grid.save()
    xml = sheet_xml(path)
    assert "<f>SUM(A1:B1)</f>" in xml
    assert "<f>A1*2</f>" in xml
    row = FileGrid.open(path).read(S)[0]
    assert row[2:] == ["=SUM(A1:B1)", "=A1*2"]
    assert all(isinstance(value, Formula) for value in row[2:])
    assert openpyxl.load_workbook(path)[S]["C1"].data_type == "f"


def test_read_pads_and_trims(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    assert grid.read(S) == []
    grid.write(S, 2, 2, [["b2", None, "d2"], ["b3"]])
    grid.write(S, 9, 9, [[None, ""]])  # blank cells do not extend the block
    grid.format_table(S, TableFormat(header_row=2, columns=[ColumnFormat("@")] * 5, data_rows=1))
    expected = [[None, None, None, None], [None, "b2", None, "d2"], [None, "b3", None, None]]
    assert grid.read(S) == expected
    grid.save()
    assert FileGrid.open(path).read(S) == expected
    with pytest.raises(KeyError):
        grid.read("Yok")


def test_same_reads_as_the_memory_grid(tmp_path: Path) -> None:
    rows = [
        ["Belge ID", "Tutar", "Tarih", "Not"],
        [1, Decimal("10.10"), date(2024, 3, 1), "=x"],
        [2, None, None, "metin\x01"],
    ]
    memory = MemoryGrid()
    memory.ensure_sheet(S)
    grid = FileGrid.open(tmp_path / "m.xlsx", create=True)
    for target in (memory, grid):
        target.write(S, 3, 2, rows)
        target.clear(S, 4, 3, 4, 3)
    assert grid.read(S) == memory.read(S)


def test_clear_keeps_formats(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    grid.write(S, 1, 1, [["h1", "h2", "h3"], [1, Decimal("2.5"), "=x"], [4, 5, 6]])
    grid.format_table(
        S, TableFormat(header_row=1, columns=[ColumnFormat("#,##0.00")] * 3, data_rows=2)
    )
    grid.clear(S, 2, 1, 3, 2)
    assert grid.read(S) == [["h1", "h2", "h3"], [None, None, "=x"], [None, None, 6]]
    grid.clear(S, 1, 1, 1_048_576, 16_384)  # a huge block is cheap: only existing cells
    assert grid.read(S) == []
    grid.save()
    sheet = openpyxl.load_workbook(path)[S]
    assert sheet["A2"].value is None
    assert sheet["A2"].number_format == "#,##0.00"


def test_merged_cells_are_refused_clearly(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    grid.workbook[S].merge_cells("A1:B1")
    grid.write(S, 1, 1, [["ok", None]])
    with pytest.raises(WorkbookError) as caught:
        grid.write(S, 1, 1, [["ok", "not ok"]])
    assert caught.value.reason == "merged"
    assert "B1" in caught.value.message


# -- formatting -------------------------------------------------------------------------------

TABLE = TableFormat(
    header_row=6,
    columns=[
        ColumnFormat("0", width=10),
        ColumnFormat("dd.mm.yyyy", width=12),
        ColumnFormat("#,##0.00", width=14),
        ColumnFormat("@", width=9, input=True),
        ColumnFormat("@", width=22, input=True),
        ColumnFormat("@", width=40, output=True),
    ],
    data_rows=3,
    spare_rows=5,
    validations=[
        Validation(4, layout.MARK_CHOICES, prompt="x yazın ya da listeden seçin"),
        Validation(5, layout.VAULT_NAMES_RANGE),
        Validation(6, "Kasalar!$B$2:$B$50", strict=True),
    ],
    title_cells=[(1, 1)],
    label_cells=[(2, 1)],
)
HEADERS = ["Belge ID", "Vade Tarihi", "Kalan", "Tahsil Et", "Kasa/Banka", "Tahsilat Durumu"]


def formatted_book(tmp_path: Path) -> Path:
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    grid.write(S, 1, 1, [[layout.TITLE], ["Tür", "Tümü"]])
    grid.write(S, 6, 1, [HEADERS])
    grid.write(
        S, 7, 1, [[i, date(2024, 1, i), Decimal("1.5") * i, None, None, None] for i in (1, 2, 3)]
    )
    grid.format_table(S, TABLE)
    grid.format_table(S, TABLE)  # twice: nothing piles up
    grid.save()
    return path


def test_format_table(tmp_path: Path) -> None:
    path = formatted_book(tmp_path)
    sheet = openpyxl.load_workbook(path)[S]
    for row in (7, 9, 14):  # data rows and spare rows
        assert [sheet.cell(row, c).number_format for c in range(1, 7)] == [
            "0",
            "dd.mm.yyyy",
            "#,##0.00",
            "@",
            "@",
            "@",
        ]
    assert sheet.cell(15, 1).number_format == "General"  # below the spare rows
    assert [sheet.column_dimensions[c].width for c in "ABCDEF"] == [10, 12, 14, 9, 22, 40]
    assert sheet.freeze_panes == "B7"
    assert sheet.auto_filter.ref == "A6:F9"
    assert not sheet.tables

    header = [sheet.cell(6, c) for c in range(1, 7)]
    assert all(cell.font.b for cell in header)
    assert all(cell.alignment.wrap_text for cell in header)
    assert all(cell.border.bottom.style == "thin" for cell in header)
    assert sheet.row_dimensions[6].height == xlsx_format.HEADER_ROW_HEIGHT
    plain, mark, outcome = header[0].fill.fgColor.rgb, header[3].fill.fgColor.rgb, header[5].fill
    assert len({plain, mark, outcome.fgColor.rgb}) == 3

    input_fill = xlsx_format.INPUT_FILL.fgColor.rgb
    output_fill = xlsx_format.OUTPUT_FILL.fgColor.rgb
    assert sheet["D7"].fill.fgColor.rgb == input_fill
    assert sheet["E9"].fill.fgColor.rgb == input_fill
    assert sheet["F8"].fill.fgColor.rgb == output_fill
    assert sheet["A7"].fill.fill_type is None
    assert sheet["D10"].fill.fill_type is None  # spare rows are not highlighted

    assert sheet["A1"].font.b
    assert sheet["A1"].font.sz > 11
    assert sheet["A2"].font.b

    validations = {str(dv.sqref): dv for dv in sheet.data_validations.dataValidation}
    assert set(validations) == {"D7:D14", "E7:E14", "F7:F14"}
    assert validations["D7:D14"].formula1 == '"x,evet,hayır,geri al"'
    assert validations["D7:D14"].type == "list"
    assert validations["D7:D14"].showErrorMessage is False
    assert validations["D7:D14"].showInputMessage is True
    assert validations["D7:D14"].prompt == "x yazın ya da listeden seçin"
    assert validations["D7:D14"].promptTitle == "Tahsil Et"
    assert validations["E7:E14"].formula1 == "KasaAdlari"
    assert validations["F7:F14"].formula1 == "Kasalar!$B$2:$B$50"
    assert validations["F7:F14"].showErrorMessage is True
    xml = sheet_xml(path)
    assert xml.count("<dataValidation ") == 3
    assert "<formula1>KasaAdlari</formula1>" in xml


def test_format_table_keeps_user_validations_and_fills(tmp_path: Path) -> None:
    from openpyxl.styles import PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    path = formatted_book(tmp_path)
    grid = FileGrid.open(path)
    sheet = grid.workbook[S]
    users = DataValidation(type="whole", operator="between", formula1="1", formula2="9")
    users.add("H2:H5")
    sheet.add_data_validation(users)
    sheet["D8"].fill = PatternFill(fill_type="solid", start_color="FF0000", end_color="FF0000")
    shrunk = dataclasses.replace(TABLE, data_rows=1)
    grid.format_table(S, shrunk)
    grid.save()

    sheet = openpyxl.load_workbook(path)[S]
    refs = sorted(str(dv.sqref) for dv in sheet.data_validations.dataValidation)
    assert refs == ["D7:D12", "E7:E12", "F7:F12", "H2:H5"]
    assert sheet["D8"].fill.fgColor.rgb == "00FF0000"  # the user's colour stays
    assert sheet["E8"].fill.fill_type is None  # our highlight left with the data
    assert sheet["E7"].fill.fgColor.rgb == xlsx_format.INPUT_FILL.fgColor.rgb
    assert sheet.auto_filter.ref == "A6:F7"


def test_amount_check_is_a_decimal_hint_replaced_not_piled(tmp_path: Path) -> None:
    """Tahsil Tutarı: decimal > 0, not strict, with the prompt; re-formatting replaces it (and
    the template's own check on that column) instead of adding copies."""
    from openpyxl.worksheet.datavalidation import DataValidation

    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    grid.write(S, 6, 1, [["Belge ID", "Tahsil Et", layout.C_AMOUNT.header]])
    sheet = grid.workbook[S]
    templates = DataValidation(type="decimal", operator="greaterThan", formula1="0")
    templates.add("C7:C20006")
    sheet.add_data_validation(templates)
    table = TableFormat(
        header_row=6,
        columns=[ColumnFormat(), ColumnFormat(), ColumnFormat("#,##0.00", input=True)],
        data_rows=2,
        spare_rows=3,
        validations=[
            Validation(2, layout.MARK_CHOICES),
            Validation(3, kind=POSITIVE_DECIMAL, prompt=layout.AMOUNT_PROMPT),
        ],
    )
    grid.format_table(S, table)
    grid.format_table(S, dataclasses.replace(table, data_rows=4))
    grid.save()

    sheet = openpyxl.load_workbook(path)[S]
    checks = {str(dv.sqref): dv for dv in sheet.data_validations.dataValidation}
    assert set(checks) == {"B7:B13", "C7:C13"}
    amount = checks["C7:C13"]
    assert (amount.type, amount.operator, amount.formula1) == ("decimal", "greaterThan", "0")
    assert amount.showErrorMessage is False  # "1.234,50" stays typeable; the product checks it
    assert amount.showInputMessage is True
    assert (amount.promptTitle, amount.prompt) == (layout.C_AMOUNT.header, layout.AMOUNT_PROMPT)
    assert len(layout.AMOUNT_PROMPT) <= 255
    assert checks["B7:B13"].type == "list"
    assert sheet_xml(path).count("<dataValidation ") == 2


def test_inline_list_too_long_is_refused(tmp_path: Path) -> None:
    grid = FileGrid.open(new_book(tmp_path))
    too_long = ",".join(f"seçenek{i}" for i in range(40))
    table = TableFormat(
        header_row=1, columns=[ColumnFormat()], data_rows=1, validations=[Validation(1, too_long)]
    )
    with pytest.raises(ValueError, match="255"):
        grid.format_table(S, table)


def test_define_name_replaces(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    grid.define_name(layout.VAULT_NAMES_RANGE, "Kasalar!$B$2:$B$3")
    grid.define_name(layout.VAULT_NAMES_RANGE, layout.VAULT_NAMES_FORMULA)
    grid.define_name("Başka", "=Ayarlar!$B$2")
    grid.save()
    names = openpyxl.load_workbook(path).defined_names
    assert names[layout.VAULT_NAMES_RANGE].attr_text == layout.VAULT_NAMES_FORMULA
    assert names["Başka"].attr_text == "Ayarlar!$B$2"
    with zipfile.ZipFile(path) as archive:
        assert archive.read("xl/workbook.xml").decode().count('name="KasaAdlari"') == 1


def test_ensure_sheet_follows_the_layout_order(tmp_path: Path) -> None:
    path = tmp_path / "order.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "Benim"
    workbook.create_sheet(layout.INVOICES)
    workbook.create_sheet(layout.SETTINGS)
    workbook.save(path)

    grid = FileGrid.open(path)
    assert grid.ensure_sheet(layout.SUMMARY) is True
    assert grid.sheet_names() == ["Benim", S, layout.SUMMARY, layout.SETTINGS]
    assert grid.ensure_sheet(layout.VAULTS) is True
    assert grid.ensure_sheet(layout.XLWINGS_CONF) is True
    assert grid.ensure_sheet("Notlar") is True
    assert grid.ensure_sheet(layout.VAULTS) is False
    assert grid.sheet_names() == [
        "Benim",
        S,
        layout.VAULTS,
        layout.SUMMARY,
        layout.SETTINGS,
        layout.XLWINGS_CONF,
        "Notlar",
    ]
    grid.save()
    assert openpyxl.load_workbook(path).sheetnames == grid.sheet_names()


def test_progress_goes_to_the_callback(tmp_path: Path) -> None:
    seen: list[str] = []
    FileGrid.open(tmp_path / "a.xlsx", create=True, on_progress=seen.append).progress("Yükleniyor")
    FileGrid.open(tmp_path / "b.xlsx", create=True).progress("sessiz")
    assert seen == ["Yükleniyor"]


# -- macros -----------------------------------------------------------------------------------


def test_xlsm_keeps_vba_project_and_buttons(xlsm: Path, vba_project: bytes) -> None:
    grid = FileGrid.open(xlsm)
    grid.write(S, 5, 1, [["=1+1", Decimal("1.10")]])
    grid.format_table(S, TableFormat(header_row=5, columns=[ColumnFormat("@")] * 2, data_rows=1))
    grid.save()
    with zipfile.ZipFile(xlsm) as archive:
        names = archive.namelist()
        assert archive.read("xl/vbaProject.bin") == vba_project
        vml = [n for n in names if re.fullmatch(r"xl/drawings/vmlDrawing\d+\.vml", n)]
        assert vml
        assert "SampleCall" in archive.read(vml[0]).decode("utf-8", "replace")
        content_types = archive.read("[Content_Types].xml").decode()
        assert "macroEnabled" in content_types
    xml = sheet_xml(xlsm)
    assert "<legacyDrawing" in xml
    rels = [n for n in names if n.startswith("xl/worksheets/_rels/")]
    with zipfile.ZipFile(xlsm) as archive:
        assert any("vmlDrawing" in archive.read(n).decode() for n in rels)
    # and again: a second round keeps it all
    FileGrid.open(xlsm).save()
    with zipfile.ZipFile(xlsm) as archive:
        assert archive.read("xl/vbaProject.bin") == vba_project


def test_create_from_a_template(tmp_path: Path, xlsm: Path, vba_project: bytes) -> None:
    macro_copy = tmp_path / "kopya.xlsm"
    grid = FileGrid.open(macro_copy, create=True, template=xlsm)
    assert grid.sheet_names() == [S, layout.VAULTS]
    assert grid.read(S) == [["KolayBi"]]
    grid.save()
    with zipfile.ZipFile(macro_copy) as archive:
        assert archive.read("xl/vbaProject.bin") == vba_project

    plain_copy = tmp_path / "kopya.xlsx"
    FileGrid.open(plain_copy, create=True, template=xlsm).save()
    with zipfile.ZipFile(plain_copy) as archive:
        assert "xl/vbaProject.bin" not in archive.namelist()
        assert "macroEnabled" not in archive.read("[Content_Types].xml").decode()
    assert FileGrid.open(plain_copy).read(S) == [["KolayBi"]]

    with pytest.raises(WorkbookError) as caught:
        FileGrid.open(tmp_path / "x.xlsm", create=True, template=tmp_path / "yok.xlsm")
    assert caught.value.reason == "not_found"


@pytest.mark.parametrize("template", [False, True])
def test_a_macro_free_xlsm_has_no_dangling_vba_link(tmp_path: Path, template: bool) -> None:
    source = new_book(tmp_path, "şablon.xlsx") if template else None
    path = tmp_path / "boş.xlsm"
    FileGrid.open(path, create=True, template=source).save()
    FileGrid.open(path).save()
    with zipfile.ZipFile(path) as archive:
        assert "macroEnabled" in archive.read("[Content_Types].xml").decode()
        assert "vbaProject" not in archive.read("xl/_rels/workbook.xml.rels").decode()
        assert "xl/vbaProject.bin" not in archive.namelist()
    assert FileGrid.open(path).sheet_names()[0] == S


# -- saving -----------------------------------------------------------------------------------


def test_save_twice_and_keep_permissions(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    path.chmod(0o640)
    grid = FileGrid.open(path)
    grid.write(S, 1, 1, [["bir"]])
    grid.save()
    grid.write(S, 2, 1, [["iki"]])
    grid.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert FileGrid.open(path).read(S) == [["bir"], ["iki"]]
    assert no_temp_files(tmp_path)


def test_crash_while_serialising_leaves_the_file(tmp_path: Path, monkeypatch) -> None:
    path = new_book(tmp_path)
    before = path.read_bytes()
    grid = FileGrid.open(path)
    grid.write(S, 1, 1, [["yeni"]])

    def broken_save(self, filename):
        filename.write(b"PK\x03\x04 half a workbook")
        raise RuntimeError("disk went away")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken_save)
    with pytest.raises(WorkbookError) as caught:
        grid.save()
    assert caught.value.reason == "save_failed"
    assert_clean_message(caught.value, path.name)
    assert path.read_bytes() == before
    assert no_temp_files(tmp_path)


def test_crash_while_writing_the_temp_file_leaves_the_file(tmp_path: Path, monkeypatch) -> None:
    path = new_book(tmp_path)
    before = path.read_bytes()
    grid = FileGrid.open(path)
    grid.write(S, 1, 1, [["yeni"]])
    seen: list[str] = []

    def broken_fsync(fd: int) -> None:
        seen.extend(p.name for p in tmp_path.iterdir() if p.name.startswith(".~kolaybi-"))
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(xlsx_file.os, "fsync", broken_fsync)
    with pytest.raises(WorkbookError) as caught:
        grid.save()
    assert seen
    assert seen[0].endswith(".xlsx")
    assert "Input/output error" in caught.value.message
    assert path.read_bytes() == before
    assert no_temp_files(tmp_path)


def test_replace_refused_means_locked(tmp_path: Path, monkeypatch) -> None:
    path = new_book(tmp_path)
    before = path.read_bytes()
    grid = FileGrid.open(path)
    grid.write(S, 1, 1, [["yeni"]])

    def refuse(src, dst):
        raise PermissionError(13, "The process cannot access the file")

    monkeypatch.setattr(xlsx_file.os, "replace", refuse)
    monkeypatch.setattr(atomic, "REPLACE_RETRY_SECONDS", 0)
    with pytest.raises(WorkbookError) as caught:
        grid.save()
    assert caught.value.reason == "locked"
    assert "locked" in caught.value.message
    assert "Excel" in caught.value.message
    assert_clean_message(caught.value, path.name)
    assert path.read_bytes() == before
    assert no_temp_files(tmp_path)
    monkeypatch.undo()
    grid.save()  # once Excel lets go, the same grid saves
    assert FileGrid.open(path).read(S) == [["yeni"]]


def test_read_only_folder(tmp_path: Path, monkeypatch) -> None:
    path = new_book(tmp_path)
    grid = FileGrid.open(path)

    def refuse(*args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(xlsx_save, "write_new_synced", refuse)
    with pytest.raises(WorkbookError) as caught:
        grid.save()
    assert caught.value.reason == "read_only"
    assert "read-only" in caught.value.message


def test_read_only_file(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    path.chmod(0o444)
    try:
        with pytest.raises(WorkbookError) as caught:
            grid.save()
        assert caught.value.reason == "read_only"
        assert_clean_message(caught.value, path.name)
        with pytest.raises(WorkbookError):
            FileGrid.open(path)
        assert FileGrid.open(path, for_writing=False).read(S) == []
    finally:
        path.chmod(0o644)


def test_file_changed_by_someone_else_is_not_overwritten(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    grid.write(S, 1, 1, [["bizim"]])
    os.utime(path, ns=(1, 1))  # touched, same content: fine
    grid.save()

    other = openpyxl.load_workbook(path)
    other[S]["A2"] = "kullanıcının"
    other.save(path)
    grid.write(S, 1, 1, [["yine bizim"]])
    with pytest.raises(WorkbookError) as caught:
        grid.save()
    assert caught.value.reason == "changed"
    assert FileGrid.open(path).read(S) == [["bizim"], ["kullanıcının"]]


# -- locks and wrong files --------------------------------------------------------------------


def test_excel_lock_file(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    lock = tmp_path / "~$book.xlsx"
    lock.write_bytes(excel_lock_file("Ayşe Yılmaz"))
    with pytest.raises(WorkbookError) as caught:
        FileGrid.open(path)
    error = caught.value
    assert error.reason == "locked"
    assert "open in Excel (by Ayşe Yılmaz)" in error.message
    assert "Ayşe Yılmaz" in error.message_tr
    assert_clean_message(error, "book.xlsx")
    lock.write_bytes(b"")  # unreadable owner: still refused
    with pytest.raises(WorkbookError, match="open in Excel; close it"):
        FileGrid.open(path)


def test_lock_appearing_after_open_stops_the_save(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    before = path.read_bytes()
    grid = FileGrid.open(path)
    grid.write(S, 1, 1, [["yeni"]])
    (tmp_path / ".~lock.book.xlsx#").write_text("Mehmet Kaya,host,mehmet,01.01.2025 10:00,file;")
    with pytest.raises(WorkbookError, match=r"open in LibreOffice \(by Mehmet Kaya\)") as caught:
        grid.save()
    assert caught.value.reason == "locked"
    assert path.read_bytes() == before


def test_unreadable_file_is_locked(tmp_path: Path, monkeypatch) -> None:
    path = new_book(tmp_path)
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(WorkbookError) as caught:
        FileGrid.open(path)
    assert caught.value.reason == "locked"
    assert_clean_message(caught.value, path.name)


def _ole_bytes() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("eski.xls", _ole_bytes(), "old Excel 97-2003 format"),
        ("ikili.xlsb", b"PK\x03\x04", ".xlsb"),
        ("liste.csv", b"a,b\n1,2\n", "CSV"),
        ("tablo.ods", b"PK\x03\x04", ".ods"),
        ("notlar.txt", b"merhaba", "unsupported file type .txt"),
        ("uzantisiz", b"merhaba", "unsupported file type (none)"),
        ("metin.xlsx", b"just some text, renamed", "not an Excel workbook"),
        ("sifreli.xlsx", _ole_bytes(), "password protected or in an old format"),
        ("bos.xlsx", b"", "empty"),
        ("yarim.xlsx", b"PK\x03\x04\x14\x00\x00\x00 truncated", "damaged"),
    ],
)
def test_wrong_files_are_refused_clearly(
    tmp_path: Path, name: str, content: bytes, words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(WorkbookError) as caught:
        FileGrid.open(path)
    assert words in caught.value.message
    assert_clean_message(caught.value, name)
    assert path.read_bytes() == content


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "arsiv.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    with pytest.raises(WorkbookError) as caught:
        FileGrid.open(path)
    assert caught.value.reason == "damaged"
    assert_clean_message(caught.value, path.name)


def test_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "klasor.xlsx"
    folder.mkdir()
    with pytest.raises(WorkbookError, match="is a folder"):
        FileGrid.open(folder)


def test_xml_entity_tricks_are_refused(tmp_path: Path) -> None:
    path = new_book(tmp_path)
    bomb = tmp_path / "bomba.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(bomb, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = (
                    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>' + data.split(b"?>", 1)[-1]
                )
            target.writestr(item, data)
    with pytest.raises(WorkbookError) as caught:
        FileGrid.open(bomb)
    assert caught.value.reason == "unsafe"
    assert_clean_message(caught.value, bomb.name)


# -- an independent reader --------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_reads_what_we_write(tmp_path: Path) -> None:
    path = tmp_path / "lo.xlsx"
    grid = FileGrid.open(path, create=True)
    grid.write(S, 1, 1, [["=1+1", Formula("=1+1"), "0012345678", Decimal("2327.60"), "@SUM(A1)"]])
    grid.format_table(S, TableFormat(header_row=1, columns=[ColumnFormat()] * 5, data_rows=0))
    grid.save()
    out = tmp_path / "out"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
            "--headless",
            "--convert-to",
            "csv",
            "--outdir",
            str(out),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with (out / "lo.csv").open(newline="", encoding="utf-8") as handle:
        first = next(csv.reader(handle))
    assert first == ["=1+1", "2", "0012345678", "2327.6", "@SUM(A1)"]


def test_bar_chart_is_added_once(tmp_path: Path) -> None:
    from kolaybi_xl.workbook.grid import BarChart

    path = new_book(tmp_path)
    grid = FileGrid.open(path)
    grid.write(layout.SUMMARY, 1, 1, [["Vade", "TRY"], ["0-30", 10], ["31-60", 5]])
    chart = BarChart("Yaşlandırma", categories=(2, 1, 3, 1), values=(1, 2, 3, 2), anchor="D2")
    grid.add_bar_chart(layout.SUMMARY, chart)
    grid.save()
    grid = FileGrid.open(path)
    grid.add_bar_chart(layout.SUMMARY, chart)
    grid.save()
    with zipfile.ZipFile(path) as archive:
        assert len([n for n in archive.namelist() if n.startswith("xl/charts/chart")]) == 1


def test_save_through_a_symbolic_link_replaces_the_real_file(tmp_path: Path) -> None:
    real_folder = tmp_path / "gerçek"
    real_folder.mkdir()
    real = new_book(real_folder)
    link = tmp_path / "kısayol.xlsx"
    link.symlink_to(real)
    grid = FileGrid.open(link)
    grid.write(S, 1, 1, [["bağlantıdan"]])
    grid.save()
    assert link.is_symlink()
    assert FileGrid.open(real).read(S) == [["bağlantıdan"]]
    assert no_temp_files(tmp_path)
    assert no_temp_files(real_folder)


def test_two_tables_on_one_sheet_keep_their_dropdowns(tmp_path: Path) -> None:
    grid = FileGrid.open(new_book(tmp_path))
    left = TableFormat(
        header_row=1,
        columns=[ColumnFormat()] * 2,
        data_rows=2,
        spare_rows=0,
        validations=[Validation(2, "a,b")],
    )
    right = TableFormat(
        header_row=1,
        columns=[ColumnFormat()] * 2,
        data_rows=2,
        spare_rows=0,
        first_column=5,
        validations=[Validation(6, "c,d")],
    )
    for table in (left, right, left, right):
        grid.format_table(S, table)
    refs = sorted(str(dv.sqref) for dv in grid.workbook[S].data_validations.dataValidation)
    assert refs == ["B2:B3", "F2:F3"]


def test_widths_split_grouped_columns(tmp_path: Path) -> None:
    """XlsxWriter and Excel write equal columns as one ``<col min max>``: no overlaps after."""
    xlsxwriter = pytest.importorskip("xlsxwriter")
    path = tmp_path / "gruplu.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet(S)
    bold = workbook.add_format({"bold": True})
    sheet.set_column("B:E", 12, bold)
    sheet.write("A1", "x")
    workbook.close()

    original = openpyxl.load_workbook(path)[S].column_dimensions["B"]
    grid = FileGrid.open(path)
    grid.format_table(
        S, TableFormat(header_row=1, columns=[ColumnFormat(width=30)], data_rows=0, first_column=3)
    )
    grid.save()
    cols = re.findall(r'<col [^>]*min="(\d+)" max="(\d+)"', sheet_xml(path))
    spans = sorted((int(a), int(b)) for a, b in cols)
    assert spans == [(2, 2), (3, 3), (4, 5)]
    sheet = openpyxl.load_workbook(path)[S]
    assert sheet.column_dimensions["C"].width == 30
    for letter in "BD":
        assert sheet.column_dimensions[letter].width == original.width
        assert sheet.column_dimensions[letter].style_id == original.style_id


def test_new_file_gets_the_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        FileGrid.open(tmp_path / "yeni.xlsx", create=True).save()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "yeni.xlsx").stat().st_mode) == 0o640

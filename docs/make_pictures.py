"""Render the README's pictures of the real workbook (``docs/*.png``).

Builds the template, runs the offline demo (fetch, collect, report) and an all-types report
against the local emulator, has LibreOffice print each workbook to PDF, and crops the pages
that matter into small PNGs. Needs ``soffice`` (LibreOffice) and poppler's ``pdftoppm`` and
``pdftotext`` on the PATH, and Calibri or its metric twin Carlito (Debian:
``fonts-crosextra-carlito``), else LibreOffice lays the sheets out with wider letters::

    python docs/make_pictures.py            # writes docs/*.png
    python docs/make_pictures.py --keep DIR # also keeps the workbooks and PDFs in DIR
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kolaybi_xl.api import InvoiceType, KolayBiClient
from kolaybi_xl.demo import run_demo
from kolaybi_xl.jobs.fetch import refresh_invoices
from kolaybi_xl.jobs.report import build_report
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.template import build_template, template_for
from kolaybi_xl.workbook import layout
from kolaybi_xl.workbook.xlsx_file import FileGrid

DOCS = Path(__file__).resolve().parent
DPI = 70
PAGE_WIDTH = round(11.69 * DPI)  # A4 landscape
PAGE_HEIGHT = round(8.27 * DPI)


@dataclass(frozen=True)
class Picture:
    name: str  # the PNG in docs/
    workbook: str  # which rendered workbook
    sheet: str  # the sheet whose page it shows
    page: int = 1  # the sheet's n-th page (of those showing ``showing``)
    height: float = 1.0  # the part of the page kept, from the top
    showing: str = ""  # only pages whose text holds this (e.g. a column's header)


PICTURES = (
    Picture("sablon-faturalar.png", "template", layout.INVOICES, height=0.36),
    Picture("faturalar.png", "demo", layout.INVOICES, height=0.62),
    Picture("faturalar-sag.png", "demo", layout.INVOICES, height=0.62, showing="Tahsilat Durumu"),
    Picture("kasalar.png", "demo", layout.VAULTS, height=0.32),
    Picture("ozet.png", "demo", layout.SUMMARY),
    Picture("ozet-borclar.png", "all", layout.SUMMARY, page=2),
    Picture("tahsilat-gunlugu.png", "demo", layout.COLLECTION_LOG, height=0.3),
    Picture("ayarlar.png", "demo", layout.SETTINGS, height=0.3),
)


def make_workbooks(folder: Path) -> dict[str, Path]:
    """The template, the demo's workbook and a report over every invoice type."""
    template = folder / "KolayBi-Sablon.xlsm"
    buffer = io.BytesIO()
    build_template(buffer)
    template.write_bytes(buffer.getvalue())

    demo = folder / "KolayBi-Demo.xlsx"
    run_demo(demo, stream=io.StringIO())

    every_type = folder / "KolayBi-Tum-Turler.xlsx"
    with Sandbox(invoices=120, seed=7) as sandbox:
        client = KolayBiClient(sandbox.url, sandbox.channel, sandbox.api_key)
        grid = FileGrid.open(every_type, create=True, template=template_for(every_type))
        grid.write(layout.SETTINGS, 3, 2, [[sandbox.channel]])  # shown in the page header
        refresh_invoices(grid, client, list(InvoiceType))
        build_report(grid)
        grid.save()
        grid.close()
        client.close()
    return {"template": template, "demo": demo, "all": every_type}


def to_pdf(workbook: Path, folder: Path) -> Path:
    profile = Path(tempfile.mkdtemp(prefix="lo-pictures-"))
    try:
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(folder),
                str(workbook),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return folder / (workbook.stem + ".pdf")


def page_texts(pdf: Path) -> list[str]:
    """The text of each page of ``pdf``."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return text.split("\f")


def sheet_pages(texts: list[str], sheet: str, showing: str) -> list[int]:
    """The pages of ``sheet`` (its name is centred in the page header) that show ``showing``."""
    pages = []
    for number, page in enumerate(texts, start=1):
        head = " ".join(page.strip().splitlines()[:3])
        if f" {sheet} " in f" {head} " and showing in page:
            pages.append(number)
    return pages


def render(pdf: Path, page: int, height: float, target: Path) -> None:
    stem = target.with_suffix("")
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(DPI),
            "-png",
            "-singlefile",
            "-f",
            str(page),
            "-l",
            str(page),
            "-x",
            "0",
            "-y",
            "0",
            "-W",
            str(PAGE_WIDTH),
            "-H",
            str(round(PAGE_HEIGHT * height)),
            str(pdf),
            str(stem),
        ],
        check=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep the workbooks and PDFs in this folder")
    args = parser.parse_args(argv)
    for tool in ("soffice", "pdftoppm", "pdftotext"):
        if shutil.which(tool) is None:
            print(f"{tool} is needed (LibreOffice, poppler-utils)", file=sys.stderr)
            return 2
    folder = args.keep or Path(tempfile.mkdtemp(prefix="kolaybi-pictures-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        workbooks = make_workbooks(folder)
        pdfs = {key: to_pdf(path, folder) for key, path in workbooks.items()}
        texts = {key: page_texts(pdf) for key, pdf in pdfs.items()}
        for picture in PICTURES:
            numbers = sheet_pages(texts[picture.workbook], picture.sheet, picture.showing)
            if len(numbers) < picture.page:
                print(f"{picture.name}: no page {picture.page} of {picture.sheet}", file=sys.stderr)
                return 1
            target = DOCS / picture.name
            render(pdfs[picture.workbook], numbers[picture.page - 1], picture.height, target)
            print(f"{target.relative_to(DOCS.parent)}: {target.stat().st_size // 1024} KB")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

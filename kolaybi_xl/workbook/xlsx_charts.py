"""Charts in workbook files (openpyxl): the file side of ``Grid.add_bar_chart``.

``FileGrid.add_bar_chart`` calls ``add_bar_chart(workbook[sheet], chart)``. A chart with the
same title on that sheet is replaced, so re-running the report does not pile charts up (that
includes a chart openpyxl read back from the file when it was opened).
"""

from __future__ import annotations

from typing import Any

from openpyxl.chart import BarChart as _OpenpyxlBarChart
from openpyxl.chart import Reference
from openpyxl.chart.data_source import NumFmt
from openpyxl.chart.text import RichText
from openpyxl.drawing.text import CharacterProperties, Font, Paragraph, ParagraphProperties
from openpyxl.worksheet.worksheet import Worksheet

from . import layout
from .grid import BarChart


def chart_title(chart: Any) -> str | None:
    """The plain text of an openpyxl chart's title (as built here or as read from a file)."""
    title = getattr(chart, "title", None)
    if title is None:
        return None
    if isinstance(title, str):
        return title
    rich = getattr(getattr(title, "tx", None), "rich", None)
    if rich is None:
        return None
    parts: list[str] = []
    for paragraph in rich.p or ():
        for run in paragraph.r or ():
            parts.append(run.t or "")
    return "".join(parts)


def _reference(ws: Worksheet, block: tuple[int, int, int, int]) -> Reference:
    min_row, min_col, max_row, max_col = block
    return Reference(ws, min_col=min_col, min_row=min_row, max_col=max_col, max_row=max_row)


def _text(size: int, *, bold: bool = False) -> RichText:
    """Chart text in the workbook's font (a chart names no face otherwise)."""
    properties = CharacterProperties(latin=Font(typeface=layout.FONT_NAME), sz=size * 100, b=bold)
    return RichText(
        p=[Paragraph(pPr=ParagraphProperties(defRPr=properties), endParaRPr=properties)]
    )


def _name_fonts(bar: Any) -> None:
    bar.x_axis.txPr = _text(9)
    bar.y_axis.txPr = _text(9)
    bar.legend.txPr = _text(9)


def add_bar_chart(ws: Worksheet, chart: BarChart) -> None:
    """Add a clustered column chart to ``ws``, replacing one of the same title."""
    charts: list[Any] = ws._charts  # openpyxl has no public way to remove a chart
    charts[:] = [c for c in charts if not chart.takes_place_of(chart_title(c))]

    bar = _OpenpyxlBarChart()
    bar.type = "col"
    bar.grouping = "clustered"
    bar.title = chart.title
    bar.style = 10
    bar.y_axis.title = chart.y_title
    bar.x_axis.title = chart.x_title
    # openpyxl 3.1 marks axes as deleted unless told otherwise: Excel then draws none.
    bar.x_axis.delete = False
    bar.y_axis.delete = False
    bar.legend.position = "b"
    if chart.y_max is not None:
        bar.y_axis.scaling.min = 0
        bar.y_axis.scaling.max = chart.y_max
    if chart.y_number_format:
        bar.y_axis.numFmt = NumFmt(formatCode=chart.y_number_format, sourceLinked=False)
    _name_fonts(bar)
    bar.add_data(_reference(ws, chart.values), titles_from_data=True)
    bar.set_categories(_reference(ws, chart.categories))
    bar.width = chart.width_cm
    bar.height = chart.height_cm
    ws.add_chart(bar, chart.anchor)


__all__ = ["add_bar_chart", "chart_title"]

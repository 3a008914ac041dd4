"""The parts of styles.xml a table format is made of: fills, fonts, alignments, and cell
styles (xfs) derived from another with a different fill or alignment (found or added once)."""

from __future__ import annotations

import re
from typing import Any

from .styles import Styles
from .xmlbits import attrs

TRUE = {"1": "1", "true": "1", "0": "0", "false": "0"}  # the spellings of an XML boolean


def norm_flags(a: dict[str, str]) -> dict[str, str]:
    """Attributes with their booleans spelt one way and the false ones left out."""
    return {k: TRUE.get(v, v) for k, v in a.items() if TRUE.get(v, v) != "0"}


class StyleParts:
    """The fills and fonts of styles.xml, and xfs changed in their fill or alignment."""

    def __init__(self, styles: Styles) -> None:
        self.styles = styles
        xml, p = styles.xml, styles.p
        self.fills = children(xml, p, b"fills", b"fill")
        self.fonts = children(xml, p, b"fonts", b"font")
        self._memo: dict[tuple[Any, ...], int] = {}

    def fill_id(self, style: int) -> int:
        return int(self.styles._xf(style)[0].get("fillId", "0") or 0)

    def solid_fill(self, color: str, *, ours: bool) -> int | None:
        """The index of the solid fill of ``color``: as openpyxl writes ``PatternFill`` (ours)
        or any solid fill of that foreground colour."""
        for index, fill in enumerate(self.fills):
            if not re.search(rb'patternType="solid"', fill):
                continue
            fg = re.search(rb'<(?:\w+:)?fgColor\b[^>]*?rgb="([0-9A-Fa-f]{8})"', fill)
            if fg is None:
                continue
            if ours:
                want = b'rgb="00' + color.upper().encode() + b'"'
                bg = re.search(rb"<(?:\w+:)?bgColor\b[^>]*/?>", fill)
                if fg.group(1).upper() == b"00" + color.upper().encode() and bg and want in bg[0]:
                    return index
            elif fg.group(1).upper().endswith(color.upper().encode()):
                return index
        return None

    def font(self, style: int) -> bytes:
        index = int(self.styles._xf(style)[0].get("fontId", "0") or 0)
        return self.fonts[index] if 0 <= index < len(self.fonts) else b""

    def alignment(self, style: int) -> dict[str, str]:
        found = re.search(rb"<(?:\w+:)?alignment\b([^>]*?)/?>", self.styles._xf(style)[1])
        return norm_flags(attrs(found.group(1))) if found else {}

    def with_fill(self, style: int, fill: int) -> int:
        if self.fill_id(style) == fill:
            return style
        key = ("fill", style, fill)
        if key not in self._memo:
            attributes, children = self.styles._xf(style)
            changed = {**attributes, "fillId": str(fill)}
            changed["applyFill"] = "1" if fill else "0"
            self._memo[key] = self.styles._find_or_add(changed, children)
        return self._memo[key]

    def with_alignment(self, style: int, alignment: dict[str, str]) -> int:
        if self.alignment(style) == alignment:
            return style
        key = ("align", style, tuple(alignment.items()))
        if key not in self._memo:
            attributes, children = self.styles._xf(style)
            p = self.styles.p
            element = b"<" + p + b"alignment" + b"".join(
                b' %s="%s"' % (k.encode(), v.encode()) for k, v in alignment.items()
            ) + b"/>"  # fmt: skip
            rest = re.sub(rb"<(?:\w+:)?alignment\b[^>]*?(?:/>|>.*?</(?:\w+:)?alignment>)", b"",
                          children, flags=re.S)  # fmt: skip
            changed = {**attributes, "applyAlignment": "1"}
            self._memo[key] = self.styles._find_or_add(changed, element + rest)
        return self._memo[key]


def children(xml: bytes, p: bytes, section: bytes, item: bytes) -> list[bytes]:
    """The ``item`` elements of styles.xml's ``section`` (e.g. every ``fill`` of ``fills``)."""
    found = re.search(rb"<" + p + section + rb"\b[^>]*?>(.*?)</" + p + section + rb">", xml, re.S)
    if found is None:
        return []
    element = rb"<" + p + item + rb"\b[^>]*?(?:/>|>.*?</" + p + item + rb">)"
    return [m.group(0) for m in re.finditer(element, found.group(1), re.S)]


__all__ = ["TRUE", "StyleParts", "children", "norm_flags"]

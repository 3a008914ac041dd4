"""``xl/styles.xml``: what a cell's style says (number format, quote prefix), and the style
a changed cell needs, reusing an identical existing ``xf`` before adding one (so the part does
not grow run after run) and keeping ``cellXfs``' ``count`` right."""

from __future__ import annotations

import re

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

from .errors import NotPatchable
from .xmlbits import attrs, main_prefix, render_attrs, text_escape


class Styles:
    def __init__(self, xml: bytes) -> None:
        self.xml = xml
        self.p = p = main_prefix(xml, b"styleSheet")
        section = re.search(rb"<" + p + rb"cellXfs\b[^>]*?(/?)>", xml)
        if section is None or section.group(1):
            raise NotPatchable("styles.xml without cellXfs")
        end = xml.find(b"</" + p + b"cellXfs>", section.end())
        if end < 0:
            raise NotPatchable("styles.xml: unclosed cellXfs")
        self._xfs_span = (section.start(), end)
        self._wraps: dict[int, bool] = {}
        body = xml[section.end() : end]
        element = re.compile(rb"<" + p + rb"xf\b([^>]*?)(?:/>|>(.*?)</" + p + rb"xf>)", re.S)
        # Each xf as (attributes, children bytes); a canonical key finds identical ones.
        self.xfs: list[tuple[dict[str, str], bytes]] = [
            (attrs(m.group(1)), (m.group(2) or b"").strip()) for m in element.finditer(body)
        ]
        self._added: list[tuple[dict[str, str], bytes]] = []
        self._index = {self._key(a, c): i for i, (a, c) in reversed(list(enumerate(self.xfs)))}
        self.formats: dict[int, str] = dict(BUILTIN_FORMATS)
        self._new_formats: dict[int, str] = {}
        self._format_count = 0
        for m in re.finditer(rb"<" + p + rb"numFmt\b([^>]*?)/?>", xml):
            self._format_count += 1
            a = attrs(m.group(1))
            if "numFmtId" in a and "formatCode" in a:
                self.formats[int(a["numFmtId"])] = a["formatCode"]

    @staticmethod
    def _key(attributes: dict[str, str], children: bytes) -> tuple[object, ...]:
        # quotePrefix="0" and an absent one mean the same.
        items = {k: v for k, v in attributes.items() if not (k == "quotePrefix" and v in "0")}
        if items.get("quotePrefix") == "true":
            items["quotePrefix"] = "1"
        return (tuple(sorted(items.items())), re.sub(rb">\s+<", b"><", children))

    @property
    def changed(self) -> bool:
        return bool(self._added or self._new_formats)

    def _xf(self, index: int) -> tuple[dict[str, str], bytes]:
        every = self.xfs + self._added
        return every[index] if 0 <= index < len(every) else every[0]

    def number_format(self, index: int) -> str:
        return self.formats.get(int(self._xf(index)[0].get("numFmtId", "0")), "General")

    def is_date(self, index: int) -> bool:
        return is_date_format(self.number_format(index))

    def wraps(self, index: int) -> bool:
        """Whether the style wraps its text (``<alignment wrapText="1">``)."""
        # Asked for every written text (2,000 outcomes, their log rows): an xf never changes.
        found = self._wraps.get(index)
        if found is None:
            found = self._wraps[index] = self._wraps_now(index)
        return found

    def _wraps_now(self, index: int) -> bool:
        children = self._xf(index)[1]
        found = re.search(rb"<(?:\w+:)?alignment\b([^>]*?)/?>", children)
        return found is not None and attrs(found.group(1)).get("wrapText") in ("1", "true")

    def quoted(self, index: int) -> bool:
        return self._xf(index)[0].get("quotePrefix", "0") in ("1", "true")

    def with_quote(self, index: int, quoted: bool) -> int:
        if self.quoted(index) == quoted:
            return index
        attributes, children = self._xf(index)
        changed = dict(attributes)
        if quoted:
            changed["quotePrefix"] = "1"
        else:
            changed.pop("quotePrefix", None)
        return self._find_or_add(changed, children)

    def with_format(self, index: int, code: str) -> int:
        if self.number_format(index) == code:
            return index
        attributes, children = self._xf(index)
        changed = dict(attributes)
        changed["numFmtId"] = str(self._format_id(code))
        changed["applyNumberFormat"] = "1"
        return self._find_or_add(changed, children)

    def _format_id(self, code: str) -> int:
        for number, existing in self.formats.items():
            if existing == code:
                return number
        number = max([163, *(n for n in self.formats if n >= 164)]) + 1
        self.formats[number] = self._new_formats[number] = code
        return number

    def _find_or_add(self, attributes: dict[str, str], children: bytes) -> int:
        key = self._key(attributes, children)
        if key not in self._index:
            self._added.append((attributes, children))
            self._index[key] = len(self.xfs) + len(self._added) - 1
        return self._index[key]

    def render(self) -> bytes:
        """styles.xml with the added formats and xfs (the original bytes if none)."""
        if not self.changed:
            return self.xml
        xml, p = self.xml, self.p
        start, end = self._xfs_span
        added = b"".join(
            b"<" + p + b"xf" + render_attrs(a) + (b">" + c + b"</" + p + b"xf>" if c else b"/>")
            for a, c in self._added
        )
        head = xml[start:end]
        opening_end = head.index(b">") + 1
        count = b'count="%d"' % (len(self.xfs) + len(self._added))
        opening = re.sub(rb'\bcount="\d+"', count, head[:opening_end])
        xml = xml[:start] + opening + head[opening_end:] + added + xml[end:]
        if self._new_formats:
            xml = self._add_formats(xml)
        return xml

    def _add_formats(self, xml: bytes) -> bytes:
        p = self.p
        entries = b"".join(
            b"<" + p + b'numFmt numFmtId="%d" formatCode="' % n
            + text_escape(code).replace(b'"', b"&quot;") + b'"/>'
            for n, code in self._new_formats.items()
        )  # fmt: skip
        section = re.search(rb"<" + p + rb"numFmts\b[^>]*?(/?)>", xml)
        if section is None:
            root = re.search(rb"<" + p + rb"styleSheet\b[^>]*>", xml)
            assert root is not None
            count = len(self._new_formats)
            block = b"<" + p + b'numFmts count="%d">' % count + entries + b"</" + p + b"numFmts>"
            return xml[: root.end()] + block + xml[root.end() :]
        total = self._format_count + len(self._new_formats)
        opening = re.sub(rb'\bcount="\d+"', b'count="%d"' % total, section.group(0))
        if section.group(1):  # <numFmts/>
            opening = opening[:-2] + b">"
            return (
                xml[: section.start()] + opening + entries + b"</" + p + b"numFmts>"
                + xml[section.end() :]
            )  # fmt: skip
        close = xml.index(b"</" + p + b"numFmts>", section.end())
        return xml[: section.start()] + opening + xml[section.end() : close] + entries + xml[close:]

"""Small helpers for scanning OOXML parts as bytes: namespace prefixes vary by writer
(``<c>`` from openpyxl and XlsxWriter, ``<x:c>`` from some .NET writers), attribute order too."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from .errors import NotPatchable

MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ATTRIBUTE = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def main_prefix(xml: bytes, root: bytes) -> bytes:
    """The prefix (``b""`` or ``b"x:"``) the part uses for SpreadsheetML's main namespace."""
    found = re.search(rb"<(?:([\w.-]+):)?" + root + rb"\b([^>]*)>", xml)
    if found is None:
        raise NotPatchable(f"no <{root.decode()}> root element")
    prefix = found.group(1)
    declared = b"xmlns:" + prefix if prefix else b"xmlns"
    attributes = attrs(found.group(2))
    if attributes.get(declared.decode()) != MAIN_NS.decode():
        raise NotPatchable("not the transitional SpreadsheetML namespace (strict OOXML?)")
    return prefix + b":" if prefix else b""


def attrs(text: bytes) -> dict[str, str]:
    """The attributes of a start tag's inside, unescaped, in order."""
    return {
        m.group(1).decode(): unescape(m.group(2) if m.group(2) is not None else m.group(3))
        for m in _ATTRIBUTE.finditer(text)
    }


def render_attrs(attributes: dict[str, str]) -> bytes:
    return b"".join(
        b" " + k.encode() + b'="' + escape(v, {'"': "&quot;"}).encode("utf-8") + b'"'
        for k, v in attributes.items()
    )


_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def unescape(raw: bytes) -> str:
    text = raw.decode("utf-8")
    if "&" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("#x"):
            return chr(int(code[2:], 16))
        if code.startswith("#"):
            return chr(int(code[1:]))
        return _NAMED[code]

    return _ENTITY.sub(one, text)


def text_escape(text: str) -> bytes:
    return escape(text).encode("utf-8")

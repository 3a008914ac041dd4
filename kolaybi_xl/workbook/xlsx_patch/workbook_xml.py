"""``xl/workbook.xml`` and its relationships: which part holds which sheet, the date system,
and the sheet-local ``_xlnm._FilterDatabase`` name an autofilter goes with."""

from __future__ import annotations

import posixpath
import re
from datetime import datetime

from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

from .container import Package
from .errors import NotPatchable
from .xmlbits import attrs, main_prefix, text_escape, unescape

WORKBOOK = "xl/workbook.xml"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


class WorkbookXml:
    def __init__(self, package: Package) -> None:
        part = self._main_part(package)
        self.part = part
        self.xml = xml = package.read(part)
        self.p = p = main_prefix(xml, b"workbook")
        rels = self._relationships(package, part)
        self.sheets: list[tuple[str, str | None]] = []  # (name, part) in tab order
        for m in re.finditer(rb"<" + p + rb"sheet\b([^>]*?)/?>", xml):
            a = attrs(m.group(1))
            rid = next((v for k, v in a.items() if k.endswith(":id")), None)
            self.sheets.append((a.get("name", ""), rels.get(rid or "")))
        props = re.search(rb"<" + p + rb"workbookPr\b([^>]*?)/?>", xml)
        date1904 = props is not None and attrs(props.group(1)).get("date1904") in ("1", "true")
        self.epoch: datetime = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
        self.changed = False

    @staticmethod
    def _main_part(package: Package) -> str:
        root_rels = package.read("_rels/.rels")
        for m in re.finditer(rb"<(?:\w+:)?Relationship\b([^>]*?)/?>", root_rels):
            a = attrs(m.group(1))
            if a.get("Type", "").endswith("/officeDocument"):
                return a.get("Target", WORKBOOK).lstrip("/")
        raise NotPatchable("no workbook part")

    @staticmethod
    def _relationships(package: Package, part: str) -> dict[str, str]:
        folder, name = posixpath.split(part)
        rels_xml = package.read(posixpath.join(folder, "_rels", name + ".rels"))
        found: dict[str, str] = {}
        for m in re.finditer(rb"<(?:\w+:)?Relationship\b([^>]*?)/?>", rels_xml):
            a = attrs(m.group(1))
            if a.get("TargetMode") == "External" or "Id" not in a:
                continue
            target = a.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            found[a["Id"]] = posixpath.normpath(path)
        return found

    def sheet_part(self, name: str) -> str | None:
        return next((part for sheet, part in self.sheets if sheet == name), None)

    def sheet_names(self) -> list[str]:
        return [name for name, _ in self.sheets]

    def set_filter_database(self, sheet: str, absolute_ref: str) -> bytes:
        """workbook.xml with the sheet's ``_xlnm._FilterDatabase`` pointing at ``absolute_ref``."""
        index = self.sheet_names().index(sheet)
        p = self.p
        element = re.compile(rb"<" + p + rb"definedName\b([^>]*)>(.*?)</" + p + rb"definedName>")
        for m in element.finditer(self.xml):
            a = attrs(m.group(1))
            if a.get("name") == "_xlnm._FilterDatabase" and a.get("localSheetId") == str(index):
                body = m.group(2)
                if b"!" not in body:
                    raise NotPatchable("unexpected _FilterDatabase name")
                new = body.rsplit(b"!", 1)[0] + b"!" + absolute_ref.encode()
                self.xml = self.xml[: m.start(2)] + new + self.xml[m.end(2) :]
                self.changed = True
                return self.xml
        raise NotPatchable("no _xlnm._FilterDatabase name for the autofilter")

    def _names(self) -> list[tuple[re.Match[bytes], dict[str, str]]]:
        p = self.p
        element = re.compile(rb"<" + p + rb"definedName\b([^>]*)>(.*?)</" + p + rb"definedName>")
        return [(m, attrs(m.group(1))) for m in element.finditer(self.xml)]

    def local_name(self, name: str, index: int) -> str | None:
        """The formula of the sheet-local defined ``name`` of sheet ``index`` (None: none)."""
        for m, a in self._names():
            if a.get("name") == name and a.get("localSheetId") == str(index):
                return unescape(m.group(2))
        return None

    def set_name(self, name: str, formula: str) -> None:
        """The workbook-wide defined ``name`` pointed at ``formula`` (it must exist already)."""
        for m, a in self._names():
            if a.get("name") == name and "localSheetId" not in a:
                if unescape(m.group(2)) != formula:
                    new = text_escape(formula)
                    self.xml = self.xml[: m.start(2)] + new + self.xml[m.end(2) :]
                    self.changed = True
                return
        raise NotPatchable(f"no defined name {name} yet")

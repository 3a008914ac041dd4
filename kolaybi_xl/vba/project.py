"""Build ``vbaProject.bin`` with our own standard module(s), without Excel.

Start from the source-only VBA project of xlwings' ``quickstart_standalone.xlsm`` (its
``VBA/_VBA_PROJECT`` stream has no performance cache, so Excel compiles from source), replace
the sample standard module ``Module1`` by the given modules, and write a new compound file.
Everything else -- the ``xlwings`` module, the ``Dictionary`` class, the document modules
``ThisWorkbook``/``Sheet1``/``Sheet2``, references, protection state -- stays byte for byte.

What changes ([MS-OVBA] 2.3):

* ``VBA/dir`` (2.3.4.2, compressed): Module1's MODULE record group is replaced by one group per
  new module, made from Module1's: MODULENAME (0x19), MODULENAMEUNICODE (0x47), MODULESTREAMNAME
  (0x1A, with its Unicode part 0x32) renamed, MODULEOFFSET (0x31) = 0 (no p-code: the source
  starts at byte 0 of the stream), MODULECOOKIE (0x2C) = 0xFFFF (as the spec says to write);
  PROJECTMODULES (0x0F) counts the modules;
* one module stream per module: the compressed source only;
* ``PROJECT`` (2.3.1, text): the ``Module=Module1`` line and its ``[Workspace]`` line;
* ``PROJECTwm`` (2.3.3): the name map entry (MBCS name NUL, UTF-16 name NUL NUL).

Needs olefile (a build dependency) to read the base project.
"""

from __future__ import annotations

import io
import re
import struct
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from kolaybi_xl.vba.cfb import Storage, write_cfb
from kolaybi_xl.vba.ovba import compress, decompress

__all__ = [
    "KOLAYBI_MODULE",
    "build_kolaybi_project",
    "build_vba_project",
    "module_source",
    "xlwings_base_project",
]

KOLAYBI_MODULE = "KolayBi"
_BASE_WORKBOOK = "quickstart_standalone.xlsm"
_REPLACED = "Module1"

# dir stream record ids ([MS-OVBA] 2.3.4.2)
_PROJECTCODEPAGE = 0x0003
_PROJECTNAME = 0x0004
_PROJECTVERSION = 0x0009
_PROJECTMODULES = 0x000F
_REFERENCENAME = 0x0016
_MODULENAME = 0x0019
_MODULESTREAMNAME = 0x001A
_MODULETYPE_PROCEDURAL = 0x0021
_MODULECOOKIE = 0x002C
_MODULE_TERMINATOR = 0x002B
_MODULEOFFSET = 0x0031
_MODULESTREAMNAME_UNICODE = 0x0032
_MODULENAMEUNICODE = 0x0047

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}")
_VB_NAME_LINE = re.compile(r'(?i)\s*Attribute\s+VB_Name\s*=\s*"([^"]*)"\s*')


@dataclass
class _Record:
    """One dir record: id, the 4-byte field after it, and the bytes that follow.

    Every record is ``Id (2) Size (4) Data (Size)`` except PROJECTVERSION (0x0009), whose
    4-byte field is a Reserved value (4) followed by 6 data bytes (2.3.4.2.1.11).  Records with
    a Unicode twin (PROJECTDOCSTRING 0x05 + 0x40, PROJECTHELPFILEPATH 0x06 + 0x3D,
    PROJECTCONSTANTS 0x0C + 0x3C, REFERENCENAME 0x16 + 0x3E, MODULESTREAMNAME 0x1A + 0x32,
    MODULEDOCSTRING 0x1C + 0x48) carry the twin as a "Reserved" id followed by its own size:
    the same id/size layout, so they parse as records of their own.  REFERENCECONTROL (0x2F)
    and its extended part (0x30) have size fields that cover their whole remainder too.
    """

    rid: int
    size_field: int
    data: bytes

    def pack(self) -> bytes:
        return struct.pack("<HI", self.rid, self.size_field) + self.data


def _parse_dir(buf: bytes) -> list[_Record]:
    records: list[_Record] = []
    pos = 0
    while pos < len(buf):
        if pos + 6 > len(buf):
            raise ValueError(f"truncated dir record at offset {pos}")
        rid, size = struct.unpack_from("<HI", buf, pos)
        length = 6 if rid == _PROJECTVERSION else size
        if pos + 6 + length > len(buf):
            raise ValueError(f"dir record 0x{rid:04X} at offset {pos} runs past the end")
        records.append(_Record(rid, size, buf[pos + 6 : pos + 6 + length]))
        pos += 6 + length
    return records


def _record(rid: int, data: bytes) -> _Record:
    return _Record(rid, len(data), data)


def _clsid_bytes(text: str) -> bytes:
    """olefile shows CLSIDs as text ('' for all zeros); CFB stores them as GUID bytes."""
    return uuid.UUID(text).bytes_le if text else bytes(16)


def _read_tree(data: bytes) -> Storage:
    import olefile  # build dependency, only needed here

    if data[:8] != olefile.MAGIC:
        raise ValueError("base is not an OLE compound file (vbaProject.bin)")
    ole = olefile.OleFileIO(data)
    try:

        def walk(entry: olefile.OleDirectoryEntry, path: list[str]) -> Storage:
            storage = Storage(clsid=_clsid_bytes(entry.clsid), state_bits=entry.dwUserFlags)
            for kid in entry.kids:
                if kid.entry_type == olefile.STGTY_STORAGE:
                    storage.children[kid.name] = walk(kid, [*path, kid.name])
                elif kid.entry_type == olefile.STGTY_STREAM:
                    storage.children[kid.name] = ole.openstream([*path, kid.name]).read()
            return storage

        return walk(ole.root, [])
    finally:
        ole.close()


def xlwings_base_project() -> bytes:
    """The vbaProject.bin inside the installed xlwings' ``quickstart_standalone.xlsm``."""
    try:
        workbook = resources.files("xlwings").joinpath(_BASE_WORKBOOK).read_bytes()
    except ModuleNotFoundError:
        raise RuntimeError(
            "macro workbooks (.xlsm) are built from xlwings 0.37.8's VBA project; install "
            "kolaybi-xl on Python 3.11 or newer, or use .xlsx"
        ) from None
    with zipfile.ZipFile(io.BytesIO(workbook)) as zf:
        return zf.read("xl/vbaProject.bin")


def module_source(name: str = KOLAYBI_MODULE) -> str:
    """Source of a module shipped in this package (``<name>.bas``), without ``Attribute VB_Name``.

    The .bas file is a VBE export (first line ``Attribute VB_Name = "<name>"``) so it can also be
    imported by hand in Excel's VBA editor; that line is dropped here, the build adds it back.
    """
    text = resources.files("kolaybi_xl.vba").joinpath(f"{name}.bas").read_text(encoding="utf-8")
    lines = text.replace("\r\n", "\n").split("\n")
    match = _VB_NAME_LINE.fullmatch(lines[0])
    if match:
        if match.group(1) != name:
            raise ValueError(f"{name}.bas declares module {match.group(1)!r}")
        lines = lines[1:]
    return "\n".join(lines)


def _module_text(name: str, source: str, codec: str) -> bytes:
    """The module stream's text: VB_Name attribute line, then the source, CRLF, code page."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    first = next((line for line in lines if line.strip()), "")
    if re.match(r"(?i)\s*Attribute\s+VB_Name\b", first):
        raise ValueError(f"module {name}: leave out the Attribute VB_Name line (it is added)")
    text = "".join(f"{line}\r\n" for line in [f'Attribute VB_Name = "{name}"', *lines])
    try:
        return text.encode(codec)
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end]
        raise ValueError(
            f"module {name}: {bad!r} cannot be stored in the project's code page ({codec})"
        ) from None


def _rename_group(group: list[_Record], name: str, codec: str) -> list[_Record]:
    out: list[_Record] = []
    mbcs, utf16 = name.encode(codec), name.encode("utf-16-le")
    for rec in group:
        if rec.rid in (_MODULENAME, _MODULESTREAMNAME):
            out.append(_record(rec.rid, mbcs))
        elif rec.rid in (_MODULENAMEUNICODE, _MODULESTREAMNAME_UNICODE):
            out.append(_record(rec.rid, utf16))
        elif rec.rid == _MODULEOFFSET:
            out.append(_record(rec.rid, struct.pack("<I", 0)))
        elif rec.rid == _MODULECOOKIE:
            out.append(_record(rec.rid, struct.pack("<H", 0xFFFF)))
        else:
            out.append(rec)
    return out


def _rewrite_dir(
    records: list[_Record], replaced: str, names: list[str], codec: str
) -> tuple[list[_Record], list[str], str]:
    """New dir records, the names of the modules that stay, the replaced module's stream."""
    head, groups, tail = _split_dir(records)
    template = _module_group(groups, replaced, codec)
    new_groups: list[list[_Record]] = []
    for group in groups:
        if group is template:
            new_groups += [_rename_group(template, n, codec) for n in names]
        else:
            new_groups.append(group)
    head = [_counted(rec, len(new_groups)) for rec in head]
    kept = [_group_name(g, codec) for g in groups if g is not template]
    new_records = head + [r for g in new_groups for r in g] + tail
    return new_records, kept, _stream_name(template, replaced, codec)


def _split_dir(
    records: list[_Record],
) -> tuple[list[_Record], list[list[_Record]], list[_Record]]:
    """The records before the modules, one group per MODULE (name .. terminator), the rest."""
    head: list[_Record] = []
    groups: list[list[_Record]] = []
    tail: list[_Record] = []
    current: list[_Record] | None = None
    for rec in records:
        if rec.rid == _MODULENAME:
            current = []
            groups.append(current)
        if current is not None:
            current.append(rec)
            if rec.rid == _MODULE_TERMINATOR:
                current = None
        else:
            (tail if groups else head).append(rec)
    if current is not None:
        raise ValueError("dir stream: MODULE record without its terminator")
    return head, groups, tail


def _group_name(group: list[_Record], codec: str) -> str:
    return group[0].data.decode(codec)


def _module_group(groups: list[list[_Record]], name: str, codec: str) -> list[_Record]:
    """The one group of standard module ``name``."""
    hits = [g for g in groups if _group_name(g, codec) == name]
    if len(hits) != 1:
        raise ValueError(f"the base project has no module named {name!r}")
    if not any(r.rid == _MODULETYPE_PROCEDURAL for r in hits[0]):
        raise ValueError(f"{name!r} is not a standard (procedural) module")
    return hits[0]


def _counted(rec: _Record, modules: int) -> _Record:
    """PROJECTMODULES (2.3.4.2.3: Count, 2 bytes) with the new count; any other record as is."""
    if rec.rid == _PROJECTMODULES:
        return _record(rec.rid, struct.pack("<H", modules))
    return rec


def _stream_name(group: list[_Record], name: str, codec: str) -> str:
    streams = [r.data.decode(codec) for r in group if r.rid == _MODULESTREAMNAME]
    if len(streams) != 1:
        raise ValueError(f"module {name!r} has no MODULESTREAMNAME record")
    return streams[0]


def _rewrite_project_stream(text: str, replaced: str, names: list[str]) -> str:
    """Replace ``Module=<replaced>`` and its ``[Workspace]`` line (2.3.1)."""
    lines = text.split("\r\n")
    out: list[str] = []
    found = False
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key == "Module" and value == replaced:
            out += [f"Module={n}" for n in names]
            found = True
        elif sep and key == replaced:  # [Workspace] window position of the module
            out += [f"{n}={value}" for n in names]
        else:
            out.append(line)
    if not found:
        raise ValueError(f"PROJECT stream has no 'Module={replaced}' line")
    return "\r\n".join(out)


def _rewrite_name_map(data: bytes, replaced: str, names: list[str], codec: str) -> bytes:
    """PROJECTwm (2.3.3): NAMEMAP records (MBCS name NUL, UTF-16 name NUL NUL), then 00 00."""
    entries: list[tuple[bytes, bytes]] = []
    pos = 0
    while True:
        end = data.find(b"\0", pos)
        if end < 0:
            raise ValueError("PROJECTwm: unterminated name")
        if end == pos:  # empty name: the terminator
            break
        mbcs = data[pos:end]
        pos = end + 1
        end = pos
        while data[end : end + 2] not in (b"\0\0", b""):
            end += 2
        entries.append((mbcs, data[pos:end]))
        pos = end + 2
    out = bytearray()
    for mbcs, utf16 in entries:
        if mbcs == replaced.encode(codec):
            for n in names:
                out += n.encode(codec) + b"\0" + n.encode("utf-16-le") + b"\0\0"
        else:
            out += mbcs + b"\0" + utf16 + b"\0\0"
    return bytes(out + b"\0\0")


def _check_identifiers(names: list[str]) -> None:
    for name in names:
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(
                f"module name {name!r}: ASCII letter first, then letters, digits or _ (<= 31)"
            )


def _check_unique(names: list[str], taken: set[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name.upper() in taken or name.upper() in seen:
            raise ValueError(f"module name {name!r} is already used in the project")
        seen.add(name.upper())


def build_vba_project(
    modules: Mapping[str, str], *, base: bytes | None = None, replace: str = _REPLACED
) -> bytes:
    """Return a vbaProject.bin where standard module ``replace`` is swapped for ``modules``.

    ``modules`` maps module name -> VBA source (any line endings, no ``Attribute VB_Name``
    line), in the order they should be listed.  ``base`` is the project to start from
    (default: :func:`xlwings_base_project`).  The result is deterministic.
    """
    names = list(modules)
    if not names:
        raise ValueError("give at least one module")
    _check_identifiers(names)
    tree = _read_tree(base if base is not None else xlwings_base_project())
    vba, project, name_map, dir_stream = _project_streams(tree)
    records = _parse_dir(decompress(dir_stream))
    codec = _codec(records)
    new_records, kept, old_stream = _rewrite_dir(records, replace, names, codec)
    _check_unique(names, _taken_names(records, kept, vba, old_stream, codec))

    vba.children.pop(old_stream, None)
    for name in names:
        vba.children[name] = compress(_module_text(name, modules[name], codec))
    vba.children["dir"] = compress(b"".join(r.pack() for r in new_records))

    # surrogateescape: bytes undefined in the code page (if any) survive unchanged
    text = _rewrite_project_stream(project.decode(codec, "surrogateescape"), replace, names)
    tree.children["PROJECT"] = text.encode(codec, "surrogateescape")
    tree.children["PROJECTwm"] = _rewrite_name_map(name_map, replace, names, codec)
    return write_cfb(tree)


def _project_streams(tree: Storage) -> tuple[Storage, bytes, bytes, bytes]:
    """The ``VBA`` storage and the ``PROJECT``, ``PROJECTwm`` and ``VBA/dir`` streams."""
    vba = tree.children.get("VBA")
    project = tree.children.get("PROJECT")
    name_map = tree.children.get("PROJECTwm")
    dir_stream = vba.children.get("dir") if isinstance(vba, Storage) else None
    if not (
        isinstance(vba, Storage)
        and isinstance(project, bytes)
        and isinstance(name_map, bytes)
        and isinstance(dir_stream, bytes)
    ):
        raise ValueError("base project lacks VBA/dir or the PROJECT/PROJECTwm streams")
    return vba, project, name_map, dir_stream


def _codec(records: list[_Record]) -> str:
    """The project's code page (PROJECTCODEPAGE) as a Python codec; cp1252 without one."""
    codepages = [r for r in records if r.rid == _PROJECTCODEPAGE]
    return f"cp{struct.unpack('<H', codepages[0].data)[0]}" if codepages else "cp1252"


def _taken_names(
    records: list[_Record], kept: list[str], vba: Storage, old_stream: str, codec: str
) -> set[str]:
    """Names a new module must not reuse (upper case): the other modules, the project, the
    references and the streams that stay."""
    taken = {n.upper() for n in kept}
    taken |= {
        r.data.decode(codec).upper() for r in records if r.rid in (_PROJECTNAME, _REFERENCENAME)
    }
    return taken | {k.upper() for k in vba.children if k != old_stream}


def build_kolaybi_project() -> bytes:
    """The project for ``workbook_template.xlsm``: xlwings' project with our ``KolayBi`` module."""
    return build_vba_project({KOLAYBI_MODULE: module_source(KOLAYBI_MODULE)})

"""Check a workbook's VBA the way an independent reader would.

``read_modules`` uses oletools' ``olevba``, which is a *test* dependency, not a runtime one: it
is imported inside the function, so importing this module never needs it.  ``project_modules``
reads the same with runtime dependencies only (olefile and our MS-OVBA decompressor), for the
setup check (``kolaybi-xl doctor``).  The other helpers only parse VBA text.  (Named
``vba_inspect`` so that it can never shadow the stdlib ``inspect``.)
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Mapping

__all__ = [
    "macro_names",
    "project_modules",
    "read_modules",
    "runpython_commands",
    "vba_project_bytes",
    "xlwings_version",
]

_VBA_PROJECT_MEMBER = "xl/vbaProject.bin"
_SUB = re.compile(
    r"(?im)^[ \t]*(?:(?:Public|Private|Friend)[ \t]+)?(?:Static[ \t]+)?Sub[ \t]+(\w+)"
)
_RUNPYTHON = re.compile(r'(?i)\bRunPython\b[ \t]*\(?[ \t]*"')
_VERSION = re.compile(
    r'(?im)^[^\'\n]*\bXLWINGS_VERSION\b(?:[ \t]+As[ \t]+String)?[ \t]*=[ \t]*"([^"]*)"'
)


def vba_project_bytes(xlsm_path: str | os.PathLike[str]) -> bytes:
    """The ``xl/vbaProject.bin`` member of an .xlsm/.xlam file."""
    with zipfile.ZipFile(xlsm_path) as zf:
        try:
            return zf.read(_VBA_PROJECT_MEMBER)
        except KeyError:
            raise ValueError(f"{os.fspath(xlsm_path)} has no {_VBA_PROJECT_MEMBER}") from None


def read_modules(path_or_bytes: str | os.PathLike[str] | bytes) -> dict[str, str]:
    """Module name -> source text, read by olevba from an .xlsm file or a vbaProject.bin.

    Line endings come back as ``\\n``; the ``Attribute`` lines are kept as stored.  Requires
    oletools (test dependency).
    """
    from oletools.olevba import VBA_Parser  # test dependency: imported lazily

    if isinstance(path_or_bytes, bytes):
        data = path_or_bytes
        # olevba tells files apart by content; the name only labels them.
        filename = "vbaProject.bin" if data[:4] == b"\xd0\xcf\x11\xe0" else "workbook.xlsm"
    else:
        filename = os.fspath(path_or_bytes)
        with open(filename, "rb") as f:
            data = f.read()
    parser = VBA_Parser(filename, data=data)
    try:
        modules: dict[str, str] = {}
        for _, _, vba_filename, code in parser.extract_macros():
            name = vba_filename.rsplit(".", 1)[0]
            if name in modules:
                raise ValueError(f"module {name!r} appears twice")
            modules[name] = code.replace("\r\n", "\n").replace("\r", "\n")
        return modules
    finally:
        parser.close()


def project_modules(vba_project: bytes) -> dict[str, str]:
    """Module name -> source text of a ``vbaProject.bin``, like ``read_modules`` but with
    runtime dependencies only: the ``VBA/dir`` stream names each module's stream and where its
    compressed source starts ([MS-OVBA] 2.3.4.2.3.2)."""
    import struct

    import olefile

    from .ovba import decompress
    from .project import _parse_dir

    if vba_project[:8] != olefile.MAGIC:
        raise ValueError("not a VBA project (no OLE compound file)")
    ole = olefile.OleFileIO(vba_project)
    try:
        records = _parse_dir(decompress(ole.openstream(["VBA", "dir"]).read()))
        codec = "cp1252"
        modules: dict[str, str] = {}
        name = stream = None
        for record in records:
            if record.rid == 0x0003:  # PROJECTCODEPAGE
                codec = f"cp{struct.unpack('<H', record.data)[0]}"
            elif record.rid == 0x0019:  # MODULENAME
                name, stream = record.data.decode(codec, "replace"), None
            elif record.rid == 0x001A:  # MODULESTREAMNAME
                stream = record.data.decode(codec, "replace")
            elif record.rid == 0x0031 and name and stream:  # MODULEOFFSET
                (offset,) = struct.unpack("<I", record.data)
                raw = ole.openstream(["VBA", stream]).read()[offset:]
                text = decompress(raw).decode(codec, "replace")
                modules[name] = text.replace("\r\n", "\n").replace("\r", "\n")
        return modules
    finally:
        ole.close()


def _code_lines(source: str) -> list[str]:
    """Logical lines (continuations `` _`` joined) with comments removed."""
    physical = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    logical: list[str] = []
    pending = ""
    for line in physical:
        pending += line
        if re.search(r"[ \t]_[ \t]*$", line):
            pending = re.sub(r"[ \t]_[ \t]*$", " ", pending)
            continue
        logical.append(pending)
        pending = ""
    if pending:
        logical.append(pending)

    out: list[str] = []
    for line in logical:
        in_string = False
        for i, ch in enumerate(line):
            if ch == '"':
                in_string = not in_string  # a doubled "" toggles twice: still correct
            elif ch == "'" and not in_string:
                line = line[:i]
                break
        if re.match(r"(?i)\s*Rem\b", line):
            continue
        out.append(line)
    return out


def _mask_strings(line: str) -> str:
    """``line`` with the inside of every string literal replaced by ``_`` (same length)."""
    out = []
    in_string = False
    for ch in line:
        if ch == '"':
            in_string = not in_string  # a doubled "" closes and reopens: still inside
            out.append(ch)
        else:
            out.append("_" if in_string else ch)
    return "".join(out)


def _string_literal(line: str, start: int) -> str:
    """The VBA string literal whose opening quote is at ``start``, with ``""`` un-doubled."""
    chars = []
    i = start + 1
    while i < len(line):
        if line[i] == '"':
            if line[i + 1 : i + 2] != '"':
                break
            i += 1
        chars.append(line[i])
        i += 1
    return "".join(chars)


def runpython_commands(source: str) -> list[str]:
    """The Python commands given as string literals to ``RunPython`` in VBA ``source``.

    Handles ``RunPython "..."``, ``RunPython("...")`` and ``Call RunPython("...")``; ``""``
    inside the literal is un-doubled to ``"``; comments and text inside strings are ignored.
    Only the first literal is returned when the argument is an expression (``"import " & m``).
    """
    commands: list[str] = []
    for line in _code_lines(source):
        for match in _RUNPYTHON.finditer(_mask_strings(line)):
            commands.append(_string_literal(line, match.end() - 1))
    return commands


def macro_names(source: str) -> list[str]:
    """Names of the ``Sub`` procedures in VBA ``source``, in order (any visibility)."""
    return _SUB.findall("\n".join(_code_lines(source)))


def xlwings_version(modules: Mapping[str, str]) -> str:
    """The ``XLWINGS_VERSION`` constant baked into the project's xlwings module."""
    order = sorted(modules, key=lambda n: n.lower() != "xlwings")  # the xlwings module first
    for name in order:
        match = _VERSION.search(modules[name])
        if match:
            return match.group(1)
    raise ValueError("no XLWINGS_VERSION constant in the VBA modules")

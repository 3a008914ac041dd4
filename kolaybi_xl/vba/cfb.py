"""A minimal, deterministic writer of OLE compound files ([MS-CFB], version 3).

olefile reads compound files but cannot create them, so ``vbaProject.bin`` is written here.
What is written:

* version 3: 512-byte sectors, 64-byte mini sectors, mini stream cutoff 4096 (2.2);
* streams shorter than 4096 bytes live in the mini stream (held by the root entry) and are
  chained in the MiniFAT; longer ones get regular sectors chained in the FAT (2.3, 2.4);
* the FAT sectors are listed in the header's 109 DIFAT entries; no DIFAT sectors, so the file
  is limited to 109 FAT sectors = 13,952 sectors (about 6.8 MB) -- far above any VBA project;
* each storage's children form a balanced binary search tree in CFB order (2.6.4: shorter
  name first, then code-point order of the upper-cased names), coloured as a valid red-black
  tree (all levels black but an incomplete bottom level, which is red);
* all timestamps are zero and the layout depends only on the input: same tree, same bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = ["MAX_FAT_SECTORS", "CfbError", "Storage", "cfb_name_key", "write_cfb"]

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
MAX_FAT_SECTORS = 109  # DIFAT entries in the header (2.2)

_FREESECT = 0xFFFFFFFF
_ENDOFCHAIN = 0xFFFFFFFE
_FATSECT = 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF

_TYPE_STORAGE = 1
_TYPE_STREAM = 2
_TYPE_ROOT = 5
_RED, _BLACK = 0, 1

_FORBIDDEN_NAME_CHARS = set("/\\:!")


class CfbError(ValueError):
    """The tree cannot be written as a compound file."""


@dataclass
class Storage:
    """A storage: named children that are storages or streams (``bytes``)."""

    children: dict[str, Storage | bytes] = field(default_factory=dict)
    clsid: bytes = bytes(16)
    state_bits: int = 0


def cfb_name_key(name: str) -> tuple[int, str]:
    """Sort key of a directory entry name within its storage (MS-CFB 2.6.4).

    Shorter names (in UTF-16 code units) come first; equal lengths compare the upper-cased
    names code point by code point.
    """
    return len(name.encode("utf-16-le")) // 2, name.upper()


@dataclass
class _Entry:
    name: str
    kind: int
    clsid: bytes = bytes(16)
    state_bits: int = 0
    data: bytes = b""
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    color: int = _BLACK
    start: int = _ENDOFCHAIN
    size: int = 0


def _check_name(name: str) -> None:
    units = len(name.encode("utf-16-le")) // 2
    if not 1 <= units <= 31:
        raise CfbError(f"entry name {name!r} must be 1 to 31 UTF-16 code units long")
    if _FORBIDDEN_NAME_CHARS & set(name):
        raise CfbError(f"entry name {name!r} contains one of / \\ : !")


def _flatten(root: Storage) -> list[_Entry]:
    """Directory entries, root first; each storage's children as a red-black BST."""
    entries = [_Entry("Root Entry", _TYPE_ROOT, root.clsid, root.state_bits)]

    def add_children(parent: int, storage: Storage) -> None:
        names = sorted(storage.children, key=cfb_name_key)
        if len(set(map(cfb_name_key, names))) != len(names):
            raise CfbError(f"duplicate names (ignoring case) in storage {entries[parent].name!r}")
        ids: dict[str, int] = {}
        for name in names:
            _check_name(name)
            value = storage.children[name]
            if isinstance(value, Storage):
                entry = _Entry(name, _TYPE_STORAGE, value.clsid, value.state_bits, start=0)
            else:
                entry = _Entry(name, _TYPE_STREAM, data=bytes(value), size=len(value))
            ids[name] = len(entries)
            entries.append(entry)
        entries[parent].child = _balanced_tree(entries, [ids[n] for n in names])
        for name in names:
            value = storage.children[name]
            if isinstance(value, Storage):
                add_children(ids[name], value)

    add_children(0, root)
    return entries


def _balanced_tree(entries: list[_Entry], ordered: list[int]) -> int:
    """Link ``ordered`` (sorted entry ids) into a balanced BST; return the root id.

    Splitting at the middle fills every level except the last, so colouring the last level red
    when it is incomplete (and everything else black) satisfies the red-black rules: the root is
    black, no red node has a red child, every path to a leaf has the same number of black nodes.
    """
    if not ordered:
        return _NOSTREAM
    height = len(ordered).bit_length() - 1  # depth of the deepest level
    full = len(ordered) == (1 << (height + 1)) - 1

    def build(lo: int, hi: int, depth: int) -> int:
        if lo >= hi:
            return _NOSTREAM
        mid = (lo + hi) // 2
        node = entries[ordered[mid]]
        node.left = build(lo, mid, depth + 1)
        node.right = build(mid + 1, hi, depth + 1)
        node.color = _RED if depth == height and not full else _BLACK
        return ordered[mid]

    return build(0, len(ordered), 0)


def _chain(table: list[int], first: int, count: int) -> None:
    """Append a chain of ``count`` consecutive sectors starting at ``first`` to ``table``."""
    for i in range(count):
        table.append(first + i + 1 if i + 1 < count else _ENDOFCHAIN)


def _pad(data: bytes, unit: int) -> bytes:
    return data + bytes(-len(data) % unit)


def _dir_entry(e: _Entry) -> bytes:
    name = e.name.encode("utf-16-le") + b"\0\0" if e.name else b""
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name,
        len(name),
        e.kind,
        e.color,
        e.left,
        e.right,
        e.child,
        e.clsid,
        e.state_bits,
        0,  # creation time
        0,  # modified time
        e.start,
        e.size,
    )


def write_cfb(root: Storage) -> bytes:
    """Serialize ``root`` (the root storage) as a version 3 compound file."""
    if len(root.clsid) != 16:
        raise CfbError("a CLSID is 16 bytes")
    entries = _flatten(root)
    minifat, mini_stream = _mini_stream(entries)

    # Regular sectors, in order: big streams, mini stream, MiniFAT, directory, then the FAT.
    fat: list[int] = []
    body = bytearray()

    def place(data: bytes) -> int:
        if not data:
            return _ENDOFCHAIN
        first = len(fat)
        _chain(fat, first, -(-len(data) // SECTOR))
        body.extend(_pad(data, SECTOR))
        return first

    for e in entries:
        if e.kind == _TYPE_STREAM and e.size >= MINI_CUTOFF:
            e.start = place(e.data)
    entries[0].start = place(bytes(mini_stream))
    entries[0].size = len(mini_stream)
    minifat_bytes = struct.pack(f"<{len(minifat)}I", *minifat)
    minifat_start = place(_pad(minifat_bytes, SECTOR) if minifat else b"")
    n_minifat = -(-len(minifat_bytes) // SECTOR)

    directory = b"".join(map(_dir_entry, entries))
    unused = _Entry("", 0, color=_RED, start=0)  # free entries: all zero, no siblings/child
    directory += _dir_entry(unused) * (-len(entries) % (SECTOR // 128))
    dir_start = place(directory)

    n_fat = _fat_sectors(len(fat))
    fat_start = len(fat)
    fat += [_FATSECT] * n_fat
    fat += [_FREESECT] * (n_fat * (SECTOR // 4) - len(fat))
    body += struct.pack(f"<{len(fat)}I", *fat)
    return _header(fat_start, n_fat, dir_start, minifat_start, n_minifat) + bytes(body)


def _mini_stream(entries: list[_Entry]) -> tuple[list[int], bytearray]:
    """The MiniFAT and the mini stream (2.4): small streams back to back, each padded to
    64-byte mini sectors; sets each small stream's start."""
    minifat: list[int] = []
    mini_stream = bytearray()
    for e in entries:
        if e.kind == _TYPE_STREAM and 0 < e.size < MINI_CUTOFF:
            e.start = len(minifat)
            _chain(minifat, e.start, -(-e.size // MINI_SECTOR))
            mini_stream += _pad(e.data, MINI_SECTOR)
    return minifat, mini_stream


def _fat_sectors(used: int) -> int:
    """The FAT covers itself too: the smallest count of FAT sectors that fits."""
    n_fat = 1
    while n_fat * (SECTOR // 4) < used + n_fat:
        n_fat += 1
    if n_fat > MAX_FAT_SECTORS:
        raise CfbError(f"compound file too large: needs {n_fat} FAT sectors, at most 109")
    return n_fat


def _header(
    fat_start: int, n_fat: int, dir_start: int, minifat_start: int, n_minifat: int
) -> bytes:
    difat = list(range(fat_start, fat_start + n_fat))
    difat += [_FREESECT] * (MAX_FAT_SECTORS - n_fat)
    return struct.pack(
        "<8s16sHHHHH6s9I109I",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        bytes(16),  # header CLSID
        0x003E,  # minor version
        0x0003,  # major version 3
        0xFFFE,  # byte order: little-endian
        9,  # sector shift: 512
        6,  # mini sector shift: 64
        bytes(6),
        0,  # number of directory sectors: MUST be 0 in version 3
        n_fat,
        dir_start,
        0,  # transaction signature
        MINI_CUTOFF,
        minifat_start,
        n_minifat,
        _ENDOFCHAIN,  # first DIFAT sector: none
        0,  # number of DIFAT sectors
        *difat,
    )

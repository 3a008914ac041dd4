"""The zip package of a workbook: read members, and write a new package in which every member
that did not change is copied as its original bytes (local header, compressed data, data
descriptor, central directory record), so it stays byte-identical, compression included."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .errors import NotPatchable

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_CENTRAL_FIXED = 46
_ZIP64_LIMIT = 0xFFFFFFFF
_ZIP64_MARKERS = (b"PK\x06\x06", b"PK\x06\x07")  # zip64 end record / locator
# Deflating a big sheet is the slowest part of a save: chunks are deflated on threads (zlib
# lets go of the GIL) and joined into one stream, as pigz does.
_CHUNK = 4 << 20
_LEVEL = 6
# A big sheet at level 3: a third of level 6's time for ~15% more bytes (Excel recompresses it
# when it saves anyway).
BIG, BIG_LEVEL = 2 << 20, 3


@dataclass(frozen=True)
class Deflated:
    """A member's new content already deflated (raw deflate), with its CRC-32 and size."""

    data: bytes
    crc: int
    size: int


@dataclass(frozen=True)
class Member:
    info: zipfile.ZipInfo
    start: int  # where its local header starts
    end: int  # where the next record starts (its data and data descriptor included)
    central: bytes  # its central directory record


class Package:
    """The members of a zip held in memory (the file's bytes, read once)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            raise NotPatchable(f"not a readable zip: {exc}") from None
        self._archive = archive
        infos = archive.infolist()
        if any(m in data[-(1 << 16) - 100 :] for m in _ZIP64_MARKERS):
            raise NotPatchable("zip64 package")
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise NotPatchable("duplicate zip member names")
        directory_start = archive.start_dir
        records = self._central_records(directory_start, len(infos))
        ordered = sorted(infos, key=lambda i: i.header_offset)
        ends = [i.header_offset for i in ordered[1:]] + [directory_start]
        self.members: dict[str, Member] = {}
        for info, end in zip(ordered, ends, strict=True):
            if info.flag_bits & 0x1:
                raise NotPatchable("encrypted zip member")
            if max(info.file_size, info.compress_size, info.header_offset) >= _ZIP64_LIMIT:
                raise NotPatchable("zip64 member")
            if data[info.header_offset : info.header_offset + 4] != _LOCAL:
                raise NotPatchable("zip with data before its first member")
            self.members[info.filename] = Member(
                info, info.header_offset, end, records[info.filename]
            )
        self.order = [i.filename for i in ordered]
        self.comment = archive.comment

    def _central_records(self, start: int, count: int) -> dict[str, bytes]:
        data, records, pos = self.data, {}, start
        for _ in range(count):
            if data[pos : pos + 4] != _CENTRAL:
                raise NotPatchable("unexpected central directory layout")
            name_len, extra_len, comment_len = struct.unpack_from("<3H", data, pos + 28)
            end = pos + _CENTRAL_FIXED + name_len + extra_len + comment_len
            raw_name = data[pos + _CENTRAL_FIXED : pos + _CENTRAL_FIXED + name_len]
            flags = struct.unpack_from("<H", data, pos + 8)[0]
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
            records[name] = data[pos:end]
            pos = end
        return records

    def names(self) -> list[str]:
        return list(self.order)

    def __contains__(self, name: str) -> bool:
        return name in self.members

    def read(self, name: str) -> bytes:
        try:
            return self._archive.read(name)
        except KeyError:
            raise NotPatchable(f"missing part {name}") from None
        except (zipfile.BadZipFile, zlib.error, OSError) as exc:
            raise NotPatchable(f"unreadable part {name}: {exc}") from None

    def rebuild(
        self, replaced: Mapping[str, bytes | Deflated], removed: frozenset[str] = frozenset()
    ) -> bytes:
        """A new package: ``replaced`` members deflated anew (or as deflated already),
        ``removed`` left out, every other member copied byte for byte, in the original order."""
        out = io.BytesIO()
        central: list[bytes] = []
        for name in self.order:
            if name in removed:
                continue
            member = self.members[name]
            offset = out.tell()
            if name in replaced:
                local, record = _new_member(member, replaced[name], offset)
                out.write(local)
                central.append(record)
                continue
            out.write(self.data[member.start : member.end])
            patched = bytearray(member.central)
            struct.pack_into("<L", patched, 42, offset)
            central.append(bytes(patched))
        start = out.tell()
        for record in central:
            out.write(record)
        size = out.tell() - start
        comment = self.comment[:0xFFFF]
        out.write(
            struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central), size, start,
                        len(comment))
        )  # fmt: skip
        out.write(comment)
        return out.getvalue()


def _new_member(member: Member, content: bytes | Deflated, offset: int) -> tuple[bytes, bytes]:
    """Local record and central record of a member with new content (deflated, no descriptor)."""
    info = member.info
    if isinstance(content, Deflated):
        compressed, crc, size = content.data, content.crc, content.size
    else:
        compressed, crc, size = deflate(content), zlib.crc32(content), len(content)
    if max(size, len(compressed), offset) >= _ZIP64_LIMIT:
        raise NotPatchable("the new package would need zip64")
    name = info.filename.encode("utf-8")
    flags = (info.flag_bits & ~0x8 & ~0x6) | (0x800 if not name.isascii() else 0)
    dos_time, dos_date = _dos_stamp(info.date_time)
    local = struct.pack(
        "<4s5H3L2H", _LOCAL, 20, flags, zipfile.ZIP_DEFLATED, dos_time, dos_date, crc,
        len(compressed), size, len(name), 0,
    ) + name + compressed  # fmt: skip
    old = member.central
    made_by = struct.unpack_from("<H", old, 4)[0]
    internal, external = struct.unpack_from("<HL", old, 36)
    record = struct.pack(
        "<4s6H3L5H2L", _CENTRAL, made_by, 20, flags, zipfile.ZIP_DEFLATED, dos_time, dos_date,
        crc, len(compressed), size, len(name), 0, 0, 0, internal, external, offset,
    ) + name  # fmt: skip
    return local, record


def _dos_stamp(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    return (hour << 11) | (minute << 5) | (second // 2), ((max(year, 1980) - 1980) << 9) | (
        month << 5
    ) | day


def deflate(content: bytes) -> bytes:
    """Raw deflate; big contents in chunks on threads, joined into one valid stream."""
    if len(content) <= 2 * _CHUNK:
        return deflate_chunk(content, True, _LEVEL if len(content) < BIG else BIG_LEVEL)
    chunks = [content[i : i + _CHUNK] for i in range(0, len(content), _CHUNK)]
    last = len(chunks) - 1
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = pool.map(
            lambda ic: deflate_chunk(ic[1], ic[0] == last, BIG_LEVEL), enumerate(chunks)
        )
        return b"".join(parts)


def deflate_chunk(chunk: bytes, final: bool, level: int) -> bytes:
    engine = zlib.compressobj(level, zlib.DEFLATED, -15)
    # A sync flush ends a chunk on a byte boundary without the "last block" bit, so the next
    # chunk's blocks can follow it in the same stream.
    return engine.compress(chunk) + engine.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)

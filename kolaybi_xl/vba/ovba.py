"""MS-OVBA compression and decompression ([MS-OVBA] section 2.4.1).

VBA stores the ``dir`` stream and the source text of every module as a *CompressedContainer*:
a signature byte ``0x01`` followed by chunks.  Each chunk encodes up to 4096 bytes of the
decompressed buffer and starts with a 16-bit little-endian header (2.4.1.1.5):

* bits 0-11  ``CompressedChunkSize``: size of the whole chunk (header included) minus 3;
* bits 12-14 ``CompressedChunkSignature``: always ``0b011``;
* bit 15     ``CompressedChunkFlag``: 1 = token sequences follow, 0 = 4096 raw bytes follow.

Token sequences (2.4.1.1.7) are a flag byte followed by up to eight tokens; bit *i* (LSB first)
of the flag byte says whether token *i* is a literal byte (0) or a 2-byte copy token (1).  A copy
token packs an offset and a length whose bit split depends on how far the current position is
from the start of the decompressed chunk (``CopyToken Help``, 2.4.1.3.19.1).  This is the same
format as LZNT1 (NTFS compression).

Which copy tokens to emit is the encoder's choice.  Two encoders are provided:

``method="excel"`` (default) reproduces what Excel writes, byte for byte (checked against the
Excel-saved modules of xlwings' standalone workbook).  It is *not* the spec's exhaustive search
(2.4.1.3.19.4) but the classic LZNT1 "standard" match finder:

* a 4096-bucket hash table of 3-byte prefixes, hash ``((40543 * (b0<<8 ^ b1<<4 ^ b2)) >> 4)
  & 0xFFF`` (the LZRW hash), each bucket remembering only the two most recent positions;
* only positions where a token starts are inserted (bytes covered by a copy token are not);
* both candidates are compared up to the copy token's maximum length; the longer wins, the
  more recent on a tie; fewer than 3 matching bytes gives a literal.

``method="exhaustive"`` is the spec's greedy longest match over every earlier position of the
chunk, the *earliest* position winning ties; that reproduces the streams that xlwings' own
tooling rewrote (its ``dir`` and ``xlwings`` module streams).
"""

from __future__ import annotations

import struct
from typing import Literal

__all__ = ["CHUNK_SIZE", "OvbaError", "compress", "decompress"]

CHUNK_SIZE = 4096
_SIGNATURE = 0x01
_CHUNK_SIGNATURE = 0b011 << 12
_CHUNK_COMPRESSED = 0x8000
_RAW_CHUNK_SIZE_FIELD = 0x0FFF  # a raw chunk is 2 + 4096 bytes: size field 4098 - 3

Method = Literal["excel", "exhaustive"]


class OvbaError(ValueError):
    """The bytes are not a valid MS-OVBA CompressedContainer."""


def _copy_token_help(difference: int) -> tuple[int, int]:
    """Return (bit_count, maximum_length) for a copy token (2.4.1.3.19.1).

    ``difference`` is DecompressedCurrent - DecompressedChunkStart (>= 1 for any copy token):
    ``bit_count = max(ceil(log2(difference)), 4)`` offset bits, the other ``16 - bit_count``
    bits hold ``length - 3``.
    """
    bit_count = max((difference - 1).bit_length(), 4)
    return bit_count, (0xFFFF >> bit_count) + 3


# --------------------------------------------------------------------------- decompression


def decompress(data: bytes | bytearray | memoryview) -> bytes:
    """Decompress a CompressedContainer (2.4.1.3.1) and return the decompressed buffer.

    Raise :class:`OvbaError` on a bad signature, a truncated token or a copy token that points
    before the start of its chunk.
    """
    buf = bytes(data)
    if not buf or buf[0] != _SIGNATURE:
        raise OvbaError("CompressedContainer must start with signature byte 0x01")
    out = bytearray()
    pos = 1
    while pos < len(buf):
        pos = _decompress_chunk(buf, pos, out)
    return bytes(out)


def _decompress_chunk(buf: bytes, pos: int, out: bytearray) -> int:
    """Append the CompressedChunk at ``pos`` to ``out``; return where the next one starts."""
    end = len(buf)
    if pos + 2 > end:
        raise OvbaError(f"truncated chunk header at offset {pos}")
    (header,) = struct.unpack_from("<H", buf, pos)
    if header & 0x7000 != _CHUNK_SIGNATURE:
        raise OvbaError(f"bad CompressedChunkSignature at offset {pos}")
    chunk_end = min(end, pos + (header & 0x0FFF) + 3)
    pos += 2
    if not header & _CHUNK_COMPRESSED:
        # 2.4.1.3.3: a raw chunk is 4096 bytes copied verbatim (fewer if the container
        # ends early, as oletools tolerates).
        out += buf[pos : pos + CHUNK_SIZE]
        return pos + CHUNK_SIZE
    chunk_start = len(out)  # DecompressedChunkStart
    while pos < chunk_end:
        pos = _decompress_tokens(buf, pos, chunk_end, out, chunk_start)
    return pos


def _decompress_tokens(
    buf: bytes, pos: int, chunk_end: int, out: bytearray, chunk_start: int
) -> int:
    """2.4.1.3.4 Decompressing a TokenSequence: a flag byte, then up to 8 tokens."""
    flags = buf[pos]
    pos += 1
    for bit in range(8):
        if pos >= chunk_end:
            break
        if not flags >> bit & 1:  # LiteralToken
            out.append(buf[pos])
            pos += 1
            continue
        if pos + 2 > chunk_end:
            raise OvbaError(f"truncated CopyToken at offset {pos}")
        (token,) = struct.unpack_from("<H", buf, pos)
        _copy(out, token, chunk_start, pos)
        pos += 2
    return pos


def _copy(out: bytearray, token: int, chunk_start: int, at: int) -> None:
    """Apply the CopyToken ``token`` (found at offset ``at``) to ``out``."""
    bit_count, _ = _copy_token_help(len(out) - chunk_start)  # 2.4.1.3.19.2
    length = (token & (0xFFFF >> bit_count)) + 3
    offset = (token >> (16 - bit_count)) + 1
    src = len(out) - offset
    if src < chunk_start:
        raise OvbaError(f"CopyToken points before its chunk at offset {at}")
    if offset >= length:
        out += out[src : src + length]
    else:  # overlapping copy: byte by byte semantics (2.4.1.3.11)
        for i in range(length):
            out.append(out[src + i])


# --------------------------------------------------------------------------- compression


def _match_length(data: bytes, cand: int, cur: int, limit: int) -> int:
    """Length of the common prefix of data[cand:] and data[cur:], at most ``limit``.

    The match may run over ``cur`` (overlap), as in the spec's byte-by-byte comparison
    (2.4.1.3.19.4); comparing slices of the input gives the same answer, faster.
    """
    if data[cand : cand + limit] == data[cur : cur + limit]:
        return limit
    lo, hi = 0, limit  # the first lo bytes match, the first hi bytes do not
    step = 4
    while step < hi and data[cand : cand + step] == data[cur : cur + step]:
        lo = step
        step *= 2
    hi = min(hi, step)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if data[cand : cand + mid] == data[cur : cur + mid]:
            lo = mid
        else:
            hi = mid
    return lo


def _hash3(data: bytes, pos: int) -> int:
    """LZNT1 / LZRW 12-bit hash of the 3 bytes at ``pos``."""
    return ((40543 * ((data[pos] << 8) ^ (data[pos + 1] << 4) ^ data[pos + 2])) >> 4) & 0xFFF


def _match_excel(
    data: bytes, cur: int, start: int, end: int, recent: list[int], older: list[int]
) -> tuple[int, int]:
    """Excel's match finder: two most recent token starts with the same hash."""
    if end - cur < 3:
        return 0, 0
    h = _hash3(data, cur)
    best_len, best_pos = 0, 0
    first, second = recent[h], older[h]
    if first >= 0:
        limit = min(end - cur, _copy_token_help(cur - start)[1])
        for cand in (first, second):
            if cand >= 0 and data[cand : cand + 3] == data[cur : cur + 3]:
                n = _match_length(data, cand, cur, limit)
                if n > best_len:  # strict: the more recent candidate wins a tie
                    best_len, best_pos = n, cand
    older[h] = first
    recent[h] = cur
    return best_len, best_pos


def _match_exhaustive(
    data: bytes, cur: int, end: int, seen: dict[bytes, list[int]]
) -> tuple[int, int]:
    """Longest match over every earlier position of the chunk; the earliest wins a tie."""
    best_len, best_pos = 0, 0
    room = end - cur
    if room < 3:
        return 0, 0
    for cand in seen.get(data[cur : cur + 3], ()):
        # Cheap rejection first: a candidate must beat best_len by at least one byte.
        if data[cand + best_len] != data[cur + best_len] or (
            data[cand : cand + best_len] != data[cur : cur + best_len]
        ):
            continue
        best_len, best_pos = _match_length(data, cand, cur, room), cand
        if best_len == room:
            break
    return best_len, best_pos


def _compress_chunk(data: bytes, start: int, end: int, method: Method) -> bytes | None:
    """Token sequences for data[start:end] (2.4.1.3.7), or None if they exceed 4096 bytes."""
    out = bytearray()
    cur = start
    recent = [-1] * 4096
    older = [-1] * 4096
    seen: dict[bytes, list[int]] = {}  # exhaustive: 3-byte prefix -> positions, oldest first
    indexed = start
    while cur < end:
        flag_index = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if cur >= end:
                break
            if method == "excel":
                length, cand = _match_excel(data, cur, start, end, recent, older)
            else:
                while indexed < cur:
                    seen.setdefault(data[indexed : indexed + 3], []).append(indexed)
                    indexed += 1
                length, cand = _match_exhaustive(data, cur, end, seen)
            if length >= 3:  # 2.4.1.3.9 Compressing a Token: CopyToken
                bit_count, max_len = _copy_token_help(cur - start)
                length = min(length, max_len)
                out += struct.pack("<H", ((cur - cand - 1) << (16 - bit_count)) | (length - 3))
                flags |= 1 << bit
                cur += length
            else:  # LiteralToken
                out.append(data[cur])
                cur += 1
        out[flag_index] = flags
        if len(out) > CHUNK_SIZE:
            return None
    return bytes(out)


def _compress_range(data: bytes, start: int, end: int, method: Method, out: bytearray) -> None:
    body = _compress_chunk(data, start, end, method)
    if body is not None:
        out += struct.pack("<H", _CHUNK_COMPRESSED | _CHUNK_SIGNATURE | (len(body) + 2 - 3))
        out += body
    elif end - start == CHUNK_SIZE:
        # 2.4.1.3.10 Compressing a RawChunk: size field 0xFFF, flag 0, the 4096 bytes as they are.
        out += struct.pack("<H", _CHUNK_SIGNATURE | _RAW_CHUNK_SIZE_FIELD)
        out += data[start:end]
    else:
        # A short final chunk that does not compress (never VBA text).  The spec would pad a
        # raw chunk with zeros to 4096 bytes, which decompresses to extra NULs; readers
        # (oletools) reject a shorter raw chunk.  Two compressed chunks of half the size always
        # fit (2048 literals + 256 flag bytes) and every decoder reads them back exactly.
        mid = start + (end - start) // 2
        _compress_range(data, start, mid, method, out)
        _compress_range(data, mid, end, method, out)


def compress(data: bytes | bytearray | memoryview, *, method: Method = "excel") -> bytes:
    """Compress ``data`` into a CompressedContainer (2.4.1.3.6).

    ``method="excel"`` gives Excel's bytes; ``"exhaustive"`` the spec's exhaustive search
    (see the module docstring).  Empty input gives just the signature byte.
    """
    if method not in ("excel", "exhaustive"):
        raise ValueError(f"unknown compression method {method!r}")
    buf = bytes(data)
    out = bytearray([_SIGNATURE])
    for start in range(0, len(buf), CHUNK_SIZE):
        _compress_range(buf, start, min(start + CHUNK_SIZE, len(buf)), method, out)
    return bytes(out)

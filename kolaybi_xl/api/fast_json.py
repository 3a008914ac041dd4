"""orjson for the answers' JSON, used only where it reads exactly what ``json.loads`` reads.

A 50,000-invoice list answer is 62 MB of JSON: ``json.loads`` takes about twice orjson's time,
holding the GIL that the workbook read running alongside needs. orjson differs from the
standard library on a few inputs; on each of them ``loads`` gives up (``MISS``) and the caller
reads the body as before:

- integers beyond int64/uint64 become floats in orjson 3.x: any run of 19 or more digits
  (inside a string too; a false alarm only costs the slower path) is left to ``json``;
- a UTF-8 byte order mark: ``json.loads`` skips it in bytes and refuses it in text;
- what orjson refuses and ``json`` reads (``NaN``, ``Infinity``, ``1e400``, an escaped lone
  surrogate, UTF-16/32, UTF-8-encoded surrogates, nesting past 1,024 levels) raises in orjson.

Everything else orjson reads as ``json`` does, type for type (``tests/test_json_decoding.py``):
correctly rounded floats, ``-0`` an int, the last of duplicate keys at the first one's place.
One deliberate difference: nesting deeper than Python's recursion limit allows ``json`` (about
1,000 levels) but within orjson's 1,024 is read instead of raising ``RecursionError``.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

import orjson

MISS: Any = object()

_LONG_RUN = b"0" * 19  # 10**18 and beyond: past int64 from 19 digits, past uint64 from 20
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
# Translated piece by piece: one 62 MB translation page-faults its fresh copy (0.1 s); pieces
# this small reuse the same memory (60 ms for 62 MB).
_GUARD_PIECE = 32 * 1024


def has_long_digit_run(raw: bytes) -> bool:
    """Whether ``raw`` holds 19 or more ASCII digits in a row."""
    overlap = len(_LONG_RUN) - 1
    return any(
        _LONG_RUN in raw[start : start + _GUARD_PIECE + overlap].translate(_DIGITS_AS_ZEROS)
        for start in range(0, len(raw), _GUARD_PIECE)
    )


def loads(raw: bytes) -> Any:
    """The JSON value of ``raw`` exactly as ``json.loads(raw)`` reads it, else ``MISS`` when
    orjson could read it otherwise or refuses it (invalid JSON included: ``json`` decides)."""
    if raw.startswith(codecs.BOM_UTF8) or has_long_digit_run(raw):
        return MISS
    try:
        return _decode(raw)
    except orjson.JSONDecodeError:
        return MISS


# The list answer as Laravel's json_encode writes it. orjson first builds a whole document of
# its own (2.2 times the body: 140 MB for a 62 MB answer, more than json's copy of the body as
# text) and only then the values; a piece at a time it never holds more than a piece's.
_LIST_ANSWER = b'{"success":true,"data":['
_ITEM_START = re.compile(rb'\{"[A-Za-z_][A-Za-z0-9_]*":')
_PIECE_BYTES = 1 << 20
# A 20-digit int holds the items' place in the last piece's decoding: no body that passed
# the guard holds one, and JSON has no other spelling of an int (no exponent, no leading 0).
_SLOT = 12345678901234567890


def _decode(raw: bytes) -> Any:
    """``orjson.loads(raw)``, a big list answer's items decoded a piece at a time.

    A piece ends at ``},{"key":`` (the first item's first key) past a megabyte. In valid JSON
    that quote (after ``{``, so not escaped) opens the key: the cut is outside any string,
    either between two items or inside one (a nested object starting with that key), where
    orjson refuses the piece and the whole body is decoded at once. Each piece is decoded at
    its depth in the body (inside ``_LIST_ANSWER``), so orjson's depth limit stays put.
    """
    big = len(raw) >= 2 * _PIECE_BYTES and raw.startswith(_LIST_ANSWER)
    first = _ITEM_START.match(raw, len(_LIST_ANSWER)) if big else None
    if first is None:
        return orjson.loads(raw)
    between = b"}," + first.group()
    items: list[Any] = []
    start = len(_LIST_ANSWER)
    while (cut := raw.find(between, start + _PIECE_BYTES)) >= 0:
        try:
            items += orjson.loads(_LIST_ANSWER + raw[start : cut + 1] + b"]}")["data"]
        except orjson.JSONDecodeError:
            return orjson.loads(raw)  # cut inside an item
        start = cut + 2
    body = orjson.loads(b"%s%d,%s" % (_LIST_ANSWER, _SLOT, raw[start:]))
    data = body["data"]
    if isinstance(data, list) and data and type(data[0]) is int and data[0] == _SLOT:
        data[0:1] = items
    # Else a later "data" key replaced the list, as it does in the whole body.
    return body

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
"""

from __future__ import annotations

import codecs
from typing import Any

import orjson

MISS: Any = object()

_LONG_RUN = b"0" * 19  # 10**18 and beyond: past int64 from 19 digits, past uint64 from 20
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
# Translated piece by piece: one 62 MB translation page-faults its fresh copy (0.1 s); pieces
# this small reuse the same memory (60 ms for 62 MB).
_PIECE = 32 * 1024


def has_long_digit_run(raw: bytes) -> bool:
    """Whether ``raw`` holds 19 or more ASCII digits in a row."""
    overlap = len(_LONG_RUN) - 1
    return any(
        _LONG_RUN in raw[start : start + _PIECE + overlap].translate(_DIGITS_AS_ZEROS)
        for start in range(0, len(raw), _PIECE)
    )


def loads(raw: bytes) -> Any:
    """The JSON value of ``raw`` exactly as ``json.loads(raw)`` reads it, else ``MISS`` when
    orjson could read it otherwise or refuses it (invalid JSON included: ``json`` decides)."""
    if raw.startswith(codecs.BOM_UTF8) or has_long_digit_run(raw):
        return MISS
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return MISS

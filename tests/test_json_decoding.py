"""``json_or_none`` reads every answer exactly as it did with ``json`` alone, orjson or not.

The oracle is a frozen copy of the function before orjson (``_before``); values are compared
type for type (an int is not a float, ``-0.0`` is not ``0.0``, keys in the same order).
"""

from __future__ import annotations

import codecs
import json
import math
import random
import struct
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

import orjson
import pytest
import requests
import responses
from client_support import INVOICES_URL, add_token, load
from hypothesis import given, settings
from hypothesis import strategies as st

from kolaybi_xl.api import fast_json
from kolaybi_xl.api.http import _whole_characters, has_lone_surrogate, json_or_none
from kolaybi_xl.sandbox import Books
from kolaybi_xl.sandbox.render import invoice_item
from kolaybi_xl.sandbox.wire import dumps


def _before(response: requests.Response) -> Any:
    """``json_or_none`` as it was before orjson."""
    try:
        if "charset" in response.headers.get("Content-Type", "").lower():
            body = response.json()
        else:
            body = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        return None
    if has_lone_surrogate(response.content or b""):
        body = _whole_characters(body)
    return body


def _response(raw: bytes, content_type: str = "application/json") -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = raw
    response.headers["Content-Type"] = content_type
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    return response


def _same(a: Any, b: Any) -> bool:
    """Equal, type for type, floats by their exact value (``-0.0`` and NaN included)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


CONTENT_TYPES = [
    "application/json",
    "text/html",  # no charset: the bytes, as JSON
    "application/json; charset=utf-8",
    "application/json; charset=UTF8",
    "text/html; charset=iso-8859-9",  # today's response.json(): the text as Latin-5
    "application/json; charset=nonsense",
    'application/json; charset=""',
]


def _assert_as_before(raw: bytes) -> None:
    for content_type in CONTENT_TYPES:
        response = _response(raw, content_type)
        try:
            expected = _before(response)
        except RecursionError:
            with pytest.raises(RecursionError):
                json_or_none(_response(raw, content_type))
            continue
        got = json_or_none(_response(raw, content_type))
        assert _same(got, expected), (content_type, raw[:200], got, expected)


# -- arbitrary values, written as PHP's json_encode writes them -----------------------------

_INTS = st.one_of(
    st.integers(),
    st.integers(min_value=2**63 - 3, max_value=2**64 + 3),
    st.integers(min_value=-(2**63) - 3, max_value=-(2**63) + 3),
    st.integers(min_value=-(10**30), max_value=10**30),
)
# Every character, lone surrogates included (json.dumps escapes them as "\ud800").
_TEXT = st.text(st.characters(exclude_categories=()), max_size=12) | st.text(
    st.characters(min_codepoint=0x10000), max_size=4
)
_SCALARS = st.none() | st.booleans() | _INTS | st.floats() | _TEXT
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_TEXT, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(value=_VALUES, escaped_slashes=st.booleans())
def test_any_answer_reads_as_json_reads_it(value, escaped_slashes):
    raw = json.dumps(value, ensure_ascii=True).encode("ascii")
    if escaped_slashes:  # PHP writes "/" as "\/" (only strings hold a "/")
        raw = raw.replace(b"/", b"\\/")
    _assert_as_before(raw)


@settings(max_examples=200, deadline=None)
@given(value=_VALUES)
def test_raw_utf8_text_reads_as_json_reads_it(value):
    """The same without ASCII escapes (``JSON_UNESCAPED_UNICODE``): UTF-8 bytes in strings."""
    try:
        raw = json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8
        return
    _assert_as_before(raw)


def test_an_ordinary_answer_takes_orjson(monkeypatch):
    """Not a test that only ever meets the fallback: a plain list answer is orjson's, with or
    without a declared UTF-8 charset, and not with another one."""
    raw = json.dumps(load("invoices_list.json"), ensure_ascii=True).encode()
    read: list[bool] = []

    def spy(raw: bytes) -> Any:
        value = real(raw)
        read.append(value is not fast_json.MISS)
        return value

    real = fast_json.loads
    monkeypatch.setattr(fast_json, "loads", spy)
    for content_type in CONTENT_TYPES:
        assert _same(json_or_none(_response(raw, content_type)), json.loads(raw))
    assert read == [True, True, True, True]  # the last three keep requests' decoding


# -- each input orjson reads otherwise, or refuses ----------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"18446744073709551615",  # uint64's last: orjson reads it, but 20 digits go to json
        b"18446744073709551616",  # orjson: 1.8446744073709552e19
        b"-9223372036854775809",  # orjson: -9.223372036854776e18
        b'{"id":987654321098765432101234567890}',
        b'{"data":[{"commercial_doc_id":98765432109876543210}]}',
        b"[1e400, -1e400, 1E400]",  # json: inf; orjson refuses
        b"1.7976931348623159e308",
        b"[NaN, Infinity, -Infinity]",
        b'"\\ud800"',
        b'{"\\udc00": "a\\ud83d"}',  # a lone half in a key
        b'"\\udc00\\ud800"',  # a pair the wrong way round
        b'"\\uD800 \\uD83D\\uDE00"',
        b'"\\ud83d\\ude00"',  # a whole pair
        b'"\xed\xa0\x80"',  # a surrogate written in UTF-8: json reads it (surrogatepass)
        b'"\xff"',
        b'"\xc0\x80"',
        b"\xef\xbb\xbf{}",  # BOM: json skips it in bytes, refuses it in text (charset=utf-8)
        codecs.BOM_UTF8 + b'{"a": [1, 2]}',
        '{"a": "Bakım"}'.encode("utf-16"),
        '{"a": "Bakım"}'.encode("utf-16-le"),
        '{"a": "Bakım"}'.encode("utf-16-be"),
        '{"a": "Bakım"}'.encode("utf-32"),
        '{"a": "Bakım"}'.encode("utf-32-le"),
        b"1\x00",
        b"",
        b" ",
        b"1 x",
        b"[1,]",
        b'{"a":1}{"b":2}',
        b"<html><body>502 Bad Gateway</body></html>",
        b"1 \n\t\r",
        b"\x0c1",
        b"\xc2\xa01",
        b'{"a":1,"a":2,"b":3}',  # duplicate keys: the last value, at the first one's place
        b'{"b":0,"a":1,"b":2}',
        b"-0",
        b"-0.0",
        b"[0.1, 1e-400, 4.9e-324, 1.7976931348623157e308, 123456789.12345678e-5]",
        # Either side of the rounding to infinity and to zero: orjson refuses or agrees.
        b"[1.797693134862315807e308, 179769313486231580e291, 17976931348623157e292]",
        b"1.797693134862315808e308",
        b"179769313486231581e291",
        b"[2.470328229206232720e-324, 2.470328229206232721e-324, 2.4703282292062327e-324]",
        b"[1e05, 1.5E-07, 0e0, -0e-0, 0.0e+00, 1e-0, 1.000000000000000000]",
        b'"\\u0000\\/\\"\\\\\\b\\f\\n\\r\\t"',
        b'"a\x00"',  # a raw control character in a string
        b'"\x1f"',
        b'"\x7f"',
        "[" * 1100 + "]" * 1100,  # past orjson's depth: json reads it (or fails) as before
        "[" * 100_000 + "]" * 100_000,  # json's RecursionError, as before
    ],
)
def test_what_orjson_reads_otherwise_reads_as_before(raw):
    if isinstance(raw, str):
        raw = raw.encode()
    _assert_as_before(raw)


def test_big_integers_stay_exact_ints():
    body = b'{"ids":[18446744073709551616,-9223372036854775809,99999999999999999999999]}'
    got = json_or_none(_response(body))
    assert got == {"ids": [2**64, -(2**63) - 1, 99999999999999999999999]}
    assert all(type(i) is int for i in got["ids"])


def test_a_lone_surrogate_still_becomes_a_replacement_character():
    assert json_or_none(_response(b'{"\\ud800": ["a\\udfffb"]}')) == {"\ufffd": ["a\ufffdb"]}


def test_orjson_refuses_every_lone_surrogate_so_its_values_need_no_walk():
    """``json_or_none`` skips the surrogate walk after orjson: that rests on orjson refusing
    each lone half (escaped or raw) rather than reading it."""
    for raw in (b'"\\ud800"', b'"\\udfff"', b'"x\\udbffy"', b'"\\udc00\\ud800"', b'"\\ud800a"'):
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(raw)


def test_a_utf8_charset_reads_invalid_utf8_as_before():
    """Declared UTF-8: requests replaces bad bytes with U+FFFD; orjson refuses them."""
    raw = b'{"a": "Bak\xc4m"}'
    got = json_or_none(_response(raw, "application/json; charset=utf-8"))
    assert got == {"a": "Bak\ufffdm"}
    assert json_or_none(_response(raw)) is None  # no charset: json.loads of the bytes fails


def test_another_charset_keeps_requests_decoding():
    latin5 = "application/json; charset=iso-8859-9"
    assert json_or_none(_response('{"a": "Bakım"}'.encode("iso-8859-9"), latin5)) == {"a": "Bakım"}
    # Valid UTF-8 that orjson would read, but the server said Latin-5: read as before.
    assert json_or_none(_response('{"a": "Bakım"}'.encode(), latin5)) == {"a": "BakÄ±m"}


# -- a big list answer, decoded a piece at a time -------------------------------------------

_ITEMS = st.lists(
    st.fixed_dictionaries(
        {"commercial_doc_id": st.integers(0, 10**6)},
        optional={
            "lines": st.lists(  # nested objects starting with the items' first key: a bad cut
                st.fixed_dictionaries({"commercial_doc_id": _SCALARS}), max_size=3
            ),
            "note": _TEXT | st.just('},{"commercial_doc_id":'),  # the cut's bytes in a string
            "extra": _VALUES,
        },
    ),
    max_size=12,
)
_TAILS = st.sampled_from(
    [
        b"}",
        b',"links":{"next":null},"meta":{"total":3}}',
        b',"data":[7]}',  # a later "data" key: it wins, the items are dropped
        b',"data":[]}',
        b',"data":{"commercial_doc_id":1}}',
        b',"data":[1]',  # not JSON
        b"}x",
        b'},{"commercial_doc_id":1}]}',
    ]
)


@settings(max_examples=300, deadline=None)
@given(items=_ITEMS, tail=_TAILS, piece=st.integers(1, 200), ascii_only=st.booleans())
def test_a_list_answer_in_pieces_reads_as_json_reads_it(items, tail, piece, ascii_only):
    try:
        raw = json.dumps(items, separators=(",", ":"), ensure_ascii=ascii_only).encode()
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8
        return
    raw = b'{"success":true,"data":' + raw + tail
    with patch.object(fast_json, "_PIECE_BYTES", piece):
        got = fast_json.loads(raw)
        if got is not fast_json.MISS:
            assert _same(got, json.loads(raw))
        _assert_as_before(raw)


def test_a_sandbox_list_answer_is_decoded_in_pieces(monkeypatch):
    records = Books.seeded(invoices=200, seed=3).invoice_records("sale_invoice")
    raw = b'{"success":true,"data":[' + b",".join(dumps(invoice_item(r)) for r in records) + b"]}"
    decoded: list[int] = []

    def spy(piece: bytes) -> Any:
        decoded.append(len(piece))
        return orjson.loads(piece)

    monkeypatch.setattr(fast_json, "_PIECE_BYTES", 4096)
    monkeypatch.setattr(
        fast_json, "orjson", SimpleNamespace(loads=spy, JSONDecodeError=orjson.JSONDecodeError)
    )
    assert _same(fast_json.loads(raw), json.loads(raw))
    assert len(decoded) > 10
    assert max(decoded) < 3 * 4096  # never the whole answer at once
    assert _same(json_or_none(_response(raw)), json.loads(raw))


# -- digit runs: the guard in front of orjson ---------------------------------------------


_GUARD = fast_json._GUARD_PIECE  # the guard scans this many bytes at a time


@pytest.mark.parametrize("run", [18, 19, 20, 40])
@pytest.mark.parametrize("where", [0, 1, _GUARD - 10, _GUARD - 1, _GUARD, 100_000])
def test_a_long_digit_run_is_found_across_the_pieces(run, where):
    raw = b"x" * where + b"7" * run + b"x" * 50
    assert fast_json.has_long_digit_run(raw) is (run >= 19)


def test_every_digit_counts_and_nothing_else():
    assert fast_json.has_long_digit_run(b"0123456789" * 2)
    assert not fast_json.has_long_digit_run(b"012345678.0123456789")
    assert not fast_json.has_long_digit_run(bytes(range(256)) * 3)


# -- floats: orjson and json round alike ---------------------------------------------------


def test_floats_round_alike_on_many_values():
    rng = random.Random(15)
    floats: list[float] = []
    while len(floats) < 100_000:  # any bit pattern: every exponent, subnormals
        f = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(f):
            floats.append(f)
    floats += [rng.uniform(-1e6, 1e6) for _ in range(50_000)]
    floats += [round(rng.uniform(0, 1e7), 2) for _ in range(50_000)]  # amounts
    raw = json.dumps(floats).encode()
    assert _same(orjson.loads(raw), json.loads(raw))


def test_decimal_texts_round_alike():
    """Texts json.dumps never writes: up to 18 digits each side of the point, any exponent."""
    rng = random.Random(16)
    texts = []
    for _ in range(60_000):
        whole = str(rng.randrange(10 ** rng.randint(1, 18)))
        frac = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 18)))
        text = whole + ("." + frac if frac else "")
        if rng.random() < 0.7:
            text += rng.choice("eE") + rng.choice(["", "+", "-"]) + str(rng.randint(0, 330))
        texts.append(rng.choice(["", "-"]) + text)
    finite = [t for t in texts if math.isfinite(json.loads(t))]  # orjson refuses 1e400
    raw = ("[" + ",".join(finite) + "]").encode()
    assert not fast_json.has_long_digit_run(raw)
    assert _same(fast_json.loads(raw), json.loads(raw))


# -- the client --------------------------------------------------------------------------


def test_a_list_answer_with_a_20_digit_id_reads_the_exact_int(rsps, client):
    add_token(rsps)
    items = load("invoices_list.json")["data"]
    items[0]["commercial_doc_id"] = 98765432109876543210
    body = json.dumps({"data": items})
    rsps.add(responses.GET, INVOICES_URL, body=body, content_type="application/json")

    listing = client.invoice_listing()
    invoices = client.list_invoices()

    big = 98765432109876543210
    assert big in listing  # a float id (orjson's) would not be found
    assert listing.get(big).commercial_doc_id == big
    assert [type(i.commercial_doc_id) for i in invoices] == [int] * len(items)
    assert invoices[0].commercial_doc_id == big


def test_a_declared_charset_with_simplejson_installed_keeps_requests_decoding(monkeypatch):
    """requests reads with simplejson when it is installed: not proven equal to orjson."""
    calls: list[bytes] = []
    monkeypatch.setattr(fast_json, "loads", lambda raw: calls.append(raw) or fast_json.MISS)
    monkeypatch.setattr(requests.compat, "json", object())
    monkeypatch.setattr(requests.models, "complexjson", json)  # the reading itself: json still
    assert json_or_none(_response(b'{"a": 1}', "application/json; charset=utf-8")) == {"a": 1}
    assert calls == []
    assert json_or_none(_response(b'{"a": 1}')) == {"a": 1}  # no charset: json.loads, as ever
    assert calls == [b'{"a": 1}']


def test_a_nesting_too_deep_for_json_but_not_for_orjson_is_read_not_raised():
    """The one deliberate difference: between Python's recursion limit (json raises
    RecursionError, a crash before) and orjson's 1,024 levels, the value is read."""
    raw = b'{"a":' + b"[" * 1010 + b"]" * 1010 + b"}"
    with pytest.raises(RecursionError):
        _before(_response(raw))
    value = json_or_none(_response(raw))
    depth = 0
    value = value["a"]
    while value:
        value, depth = value[0], depth + 1
    assert depth == 1009

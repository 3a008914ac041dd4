"""The VBA project of the template: MS-OVBA compression, the CFB writer, the built project.

oletools (olevba), olefile and XlsxWriter are independent readers/writers here; LibreOffice, when
installed, is a third opinion (its own VBA import) and is skipped otherwise.
"""

from __future__ import annotations

import pytest

pytest.importorskip("xlwings", reason="the Excel side needs xlwings (Python 3.11+)")

import ast
import json
import os
import random
import shutil
import struct
import subprocess
import uuid
from pathlib import Path

import olefile
import xlsxwriter
import xlwings
from hypothesis import given, settings
from hypothesis import strategies as st
from oletools.olevba import decompress_stream

from kolaybi_xl.vba import (
    KOLAYBI_MODULE,
    OvbaError,
    build_kolaybi_project,
    build_vba_project,
    compress,
    decompress,
    macro_names,
    module_source,
    read_modules,
    runpython_commands,
    vba_project_bytes,
    xlwings_base_project,
    xlwings_version,
)
from kolaybi_xl.vba.cfb import CfbError, Storage, cfb_name_key, write_cfb

ENTRY_POINTS = {
    "refresh_invoices",
    "refresh_vaults",
    "collect_marked",
    "undo_marked",
    "build_report",
    "check_setup",
}
MACROS = {
    "KolayBi_FaturalariGetir": "refresh_invoices",
    "KolayBi_KasalariGetir": "refresh_vaults",
    "KolayBi_TahsilEt": "collect_marked",
    "KolayBi_TahsilatiGeriAl": "undo_marked",
    "KolayBi_OzetOlustur": "build_report",
    "KolayBi_KurulumKontrolu": "check_setup",
}
ORIGINAL_MODULES = ["ThisWorkbook", "Sheet1", "Module1", "Sheet2", "xlwings", "Dictionary"]


# --------------------------------------------------------------------------- helpers


def roundtrip(data: bytes, method: str = "excel") -> bytes:
    packed = compress(data, method=method)  # type: ignore[arg-type]
    assert decompress(packed) == data
    if data:  # olevba's decoder is the oracle (it needs at least one chunk)
        assert decompress_stream(packed) == data
    return packed


def dir_records(dir_stream: bytes) -> list[tuple[int, bytes]]:
    """Independent walk of a decompressed dir stream: <HI id/size, PROJECTVERSION has 6 bytes."""
    out, pos = [], 0
    while pos < len(dir_stream):
        rid, size = struct.unpack_from("<HI", dir_stream, pos)
        size = 6 if rid == 0x0009 else size
        out.append((rid, dir_stream[pos + 6 : pos + 6 + size]))
        pos += 6 + size
    assert pos == len(dir_stream)
    return out


def module_offsets(ole: olefile.OleFileIO) -> dict[str, int]:
    """Stream name -> MODULEOFFSET (start of the compressed source in the module stream)."""
    offsets: dict[str, int] = {}
    stream = ""
    for rid, data in dir_records(decompress(ole.openstream("VBA/dir").read())):
        if rid == 0x1A:
            stream = data.decode("cp1252")
        elif rid == 0x31:
            offsets[stream] = struct.unpack("<I", data)[0]
    return offsets


def norm(text: str) -> str:
    return text.replace("\r\n", "\n")


@pytest.fixture(scope="module")
def base() -> bytes:
    return xlwings_base_project()


@pytest.fixture(scope="module")
def base_ole(base: bytes) -> olefile.OleFileIO:
    return olefile.OleFileIO(base)


@pytest.fixture(scope="module")
def built() -> bytes:
    return build_kolaybi_project()


@pytest.fixture(scope="module")
def built_modules(built: bytes) -> dict[str, str]:
    return read_modules(built)


@pytest.fixture(scope="module")
def xlsm(built: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workbook made by XlsxWriter with the project and a button bound to a macro."""
    folder = tmp_path_factory.mktemp("xlsm")
    (folder / "vbaProject.bin").write_bytes(built)
    path = folder / "template.xlsm"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Faturalar")
    workbook.add_vba_project(str(folder / "vbaProject.bin"))
    sheet.insert_button("B2", {"macro": "KolayBi_TahsilEt", "caption": "Tahsil et"})
    sheet.write("A1", "KolayBi")
    workbook.close()
    return path


# --------------------------------------------------------------------------- compression

_rng = random.Random(20240601)
_TEXT = b'Sub Foo()\r\n    RunPython "import x; x.main()"\r\nEnd Sub\r\n\' yorum\r\n'


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"a",
        b"ab",
        b"abc",
        b"aaa",
        b"\x00" * 4096,
        b"\x00" * 4097,
        bytes(_rng.getrandbits(8) for _ in range(4096)),
        bytes(_rng.getrandbits(8) for _ in range(4097)),
        bytes(_rng.getrandbits(8) for _ in range(4000)),  # short final chunk, incompressible
        bytes(_rng.getrandbits(8) for _ in range(100_000)),
        (_TEXT * 2000)[:100_000],
        b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa",  # [MS-OVBA] 3.2 example
        bytes(range(256)) * 40,
    ],
    ids=lambda d: f"{len(d)}B",
)
@pytest.mark.parametrize("method", ["excel", "exhaustive"])
def test_roundtrip(data: bytes, method: str) -> None:
    roundtrip(data, method)


@given(st.binary(max_size=10_000))
@settings(max_examples=150, deadline=None)
def test_roundtrip_any_bytes(data: bytes) -> None:
    roundtrip(data)
    roundtrip(data, "exhaustive")


@given(
    st.lists(st.sampled_from([b"a", b"ab", b"abc", b"\r\n", b"    ", b"End Sub", b"\x00"]))
    .map(b"".join)
    .filter(lambda b: len(b) < 30_000)
)
@settings(max_examples=100, deadline=None)
def test_roundtrip_repetitive(data: bytes) -> None:
    # Many long and overlapping matches, copy tokens at every bit split, across chunks.
    roundtrip(data)
    roundtrip(data, "exhaustive")


def test_chunk_layout() -> None:
    assert compress(b"") == b"\x01"
    # One literal: header 0xB000 | (size - 3), flag byte 0, the byte.
    assert compress(b"a") == b"\x01\x01\xb0\x00a"
    # An incompressible full chunk is stored raw: size field 0xFFF, flag 0 (2.4.1.3.10).
    noise = random.Random(1).randbytes(4096)
    assert compress(noise) == b"\x01\xff\x3f" + noise
    # A short incompressible final chunk becomes two compressed chunks, never a padded raw one.
    tail = noise[:4000]
    packed = compress(noise + tail)
    assert packed[: 3 + 4096] == b"\x01\xff\x3f" + noise
    headers = []
    pos = 3 + 4096
    while pos < len(packed):
        (header,) = struct.unpack_from("<H", packed, pos)
        headers.append(header)
        pos += (header & 0xFFF) + 3
    assert pos == len(packed)
    assert [h & 0xF000 for h in headers] == [0xB000, 0xB000]


def test_decompress_rejects_garbage() -> None:
    with pytest.raises(OvbaError):
        decompress(b"")
    with pytest.raises(OvbaError):
        decompress(b"\x02\x00\xb0\x00")
    with pytest.raises(OvbaError, match="Signature"):
        decompress(b"\x01\x00\x00")
    with pytest.raises(OvbaError, match="before"):
        decompress(b"\x01\x02\xb0\x01\x00\x00")  # copy token as the first token
    with pytest.raises(OvbaError, match="truncated"):
        decompress(b"\x01\x02\xb0\x02a\x05")  # flag says copy token, 1 byte left


@pytest.mark.parametrize("name", ["ThisWorkbook", "Sheet1", "Sheet2", "Module1", "Dictionary"])
def test_compressor_reproduces_excel(base_ole: olefile.OleFileIO, name: str) -> None:
    """These modules were compressed by Excel (they still carry p-code): same bytes."""
    offset = module_offsets(base_ole)[name]
    assert offset > 0  # p-code before the source: the stream is as Excel saved it
    stored = base_ole.openstream(f"VBA/{name}").read()[offset:]
    assert decompress(stored) == decompress_stream(stored)
    assert compress(decompress(stored)) == stored


@pytest.mark.parametrize("name", ["dir", "xlwings"])
def test_exhaustive_reproduces_xlwings_tooling(base_ole: olefile.OleFileIO, name: str) -> None:
    """``dir`` and the ``xlwings`` module (offset 0, no p-code) were rewritten by another tool,
    whose encoder is the spec's exhaustive search (earliest match on ties), not Excel's."""
    stored = base_ole.openstream(f"VBA/{name}").read()
    if name != "dir":
        assert module_offsets(base_ole)[name] == 0
    source = decompress(stored)
    assert source == decompress_stream(stored)
    assert compress(source, method="exhaustive") == stored
    assert compress(source) != stored


def test_compress_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="method"):
        compress(b"x", method="zip")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- compound file


def _check_red_black_bst(entries: list[olefile.OleDirectoryEntry], raw: list[bytes]) -> None:
    """Every storage's children: a BST in CFB order and a valid red-black tree."""
    colors = {i: raw[i][67] for i in range(len(raw))}  # color byte at offset 0x43

    def walk(sid: int, lo: tuple[int, str] | None, hi: tuple[int, str] | None) -> int:
        if sid == olefile.NOSTREAM:
            return 1
        entry = entries[sid]
        key = cfb_name_key(entry.name)
        assert lo is None or lo < key
        assert hi is None or key < hi
        if colors[sid] == 0:  # red: children must be black
            for kid in (entry.sid_left, entry.sid_right):
                assert kid == olefile.NOSTREAM or colors[kid] == 1
        left = walk(entry.sid_left, lo, key)
        right = walk(entry.sid_right, key, hi)
        assert left == right, "unequal black heights"
        return left + (colors[sid] == 1)

    for entry in entries:
        is_storage = entry is not None and entry.entry_type in (
            olefile.STGTY_ROOT,
            olefile.STGTY_STORAGE,
        )
        if is_storage and entry.sid_child != olefile.NOSTREAM:
            assert colors[entry.sid_child] == 1, "a tree's root is black"
            walk(entry.sid_child, None, None)


def _raw_dir_entries(data: bytes) -> list[bytes]:
    ole = olefile.OleFileIO(data)
    directory = ole._open(ole.first_dir_sector).read()
    return [directory[i : i + 128] for i in range(0, len(directory), 128)]


def test_cfb_writer_tree_and_clsids() -> None:
    clsid = uuid.UUID("12345678-1234-5678-9abc-def012345678").bytes_le
    names = ["b", "A", "ccc", "dd", "Ee", "f", "G", "zzzzzzzzzz", "_x", "ÇÖÜ"]
    tree = Storage(
        {
            **{n: n.encode() * 7 for n in names},
            "big": bytes(range(256)) * 40,
            "exact": b"x" * 4096,
            "small": b"y" * 4095,
            "empty": b"",
            "sub": Storage({"inner": b"1", "deeper": Storage({"leaf": b"2"})}, clsid=clsid),
        },
        clsid=clsid,
        state_bits=7,
    )
    data = write_cfb(tree)
    assert data == write_cfb(tree)
    assert len(data) % 512 == 0
    ole = olefile.OleFileIO(data, raise_defects=olefile.DEFECT_INCORRECT)
    assert ole.getclsid("sub") == str(uuid.UUID(bytes_le=clsid)).upper()
    assert ole.root.clsid == str(uuid.UUID(bytes_le=clsid)).upper()
    assert ole.root.dwUserFlags == 7
    for name in names:
        assert ole.openstream(name).read() == name.encode() * 7
    assert ole.openstream("big").read() == bytes(range(256)) * 40
    assert ole.openstream("exact").read() == b"x" * 4096
    assert ole.openstream("small").read() == b"y" * 4095
    assert ole.openstream("empty").read() == b""
    assert ole.openstream("sub/deeper/leaf").read() == b"2"
    for entry in ole.direntries:
        if entry is not None:
            assert entry.createTime == entry.modifyTime == 0
    _check_red_black_bst(ole.direntries, _raw_dir_entries(data))


def test_tree_check_catches_a_bad_tree(base: bytes) -> None:
    # xlwings' own file chains siblings as all-black right children: a valid BST, but not a
    # red-black tree -- the checker used on our files must notice.
    ole = olefile.OleFileIO(base)
    with pytest.raises(AssertionError, match="black heights"):
        _check_red_black_bst(ole.direntries, _raw_dir_entries(base))


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 7, 8, 15, 16, 40])
def test_cfb_red_black_any_size(count: int) -> None:
    tree = Storage({f"s{i:03d}": bytes([i % 256]) for i in range(count)})
    data = write_cfb(tree)
    ole = olefile.OleFileIO(data, raise_defects=olefile.DEFECT_INCORRECT)
    assert len(ole.listdir()) == count
    _check_red_black_bst(ole.direntries, _raw_dir_entries(data))


def test_cfb_writer_rejects_bad_trees() -> None:
    with pytest.raises(CfbError, match="duplicate"):
        write_cfb(Storage({"abc": b"", "ABC": b""}))
    with pytest.raises(CfbError, match="31"):
        write_cfb(Storage({"x" * 32: b""}))
    with pytest.raises(CfbError):
        write_cfb(Storage({"a/b": b""}))


# --------------------------------------------------------------------------- the built project


def test_built_project_opens_strictly(built: bytes, base: bytes) -> None:
    ole = olefile.OleFileIO(built, raise_defects=olefile.DEFECT_INCORRECT)
    old = olefile.OleFileIO(base)
    expected = {tuple(p) for p in old.listdir(storages=True)} - {("VBA", "Module1")}
    assert {tuple(p) for p in ole.listdir(storages=True)} == expected | {("VBA", "KolayBi")}
    for path in old.listdir(storages=True):
        name = "/".join(path)
        assert ole.exists(name) or path == ["VBA", "Module1"]
        if ole.exists(name):
            assert ole.getclsid(name) == old.getclsid(name)
    unchanged = ["VBA/_VBA_PROJECT"] + [f"VBA/{m}" for m in ORIGINAL_MODULES if m != "Module1"]
    for name in unchanged:
        assert ole.openstream(name).read() == old.openstream(name).read()
    _check_red_black_bst(ole.direntries, _raw_dir_entries(built))


def test_built_project_is_deterministic(built: bytes) -> None:
    assert build_kolaybi_project() == built
    ole = olefile.OleFileIO(built)
    assert all(e.createTime == e.modifyTime == 0 for e in ole.direntries if e is not None)


def test_built_modules_read_back(built_modules: dict[str, str], base: bytes) -> None:
    original = read_modules(base)
    assert list(original) == ORIGINAL_MODULES
    assert list(built_modules) == [m if m != "Module1" else KOLAYBI_MODULE for m in original]
    assert "Module1" not in built_modules
    for name in ORIGINAL_MODULES:
        if name != "Module1":
            assert built_modules[name] == original[name]
    header = f'Attribute VB_Name = "{KOLAYBI_MODULE}"\n'
    assert built_modules[KOLAYBI_MODULE] == header + norm(module_source())


def test_module_stream_is_source_only(built: bytes) -> None:
    ole = olefile.OleFileIO(built)
    records = dir_records(decompress(ole.openstream("VBA/dir").read()))
    group = [r for r in records if r[0] == 0x19]
    assert [d.decode() for _, d in group] == [
        "ThisWorkbook",
        "Sheet1",
        KOLAYBI_MODULE,
        "Sheet2",
        "xlwings",
        "Dictionary",
    ]
    assert dict(records)[0x0F] == struct.pack("<H", 6)  # PROJECTMODULES count
    assert module_offsets(ole)[KOLAYBI_MODULE] == 0
    stream = ole.openstream(f"VBA/{KOLAYBI_MODULE}").read()
    text = decompress(stream).decode("cp1252")
    assert text.startswith(f'Attribute VB_Name = "{KOLAYBI_MODULE}"\r\n')
    assert "\n" not in text.replace("\r\n", "")
    assert stream == compress(text.encode("cp1252"))


def test_project_streams_name_the_module(built: bytes) -> None:
    ole = olefile.OleFileIO(built)
    project = ole.openstream("PROJECT").read().decode("cp1252").split("\r\n")
    assert f"Module={KOLAYBI_MODULE}" in project
    assert "Module=Module1" not in project
    assert not any(line.startswith("Module1=") for line in project)
    wm = ole.openstream("PROJECTwm").read()
    entry = KOLAYBI_MODULE.encode() + b"\0" + KOLAYBI_MODULE.encode("utf-16-le") + b"\0\0"
    assert entry in wm
    assert b"Module1" not in wm
    assert wm.endswith(b"\0\0\0\0")


def test_rebuild_from_built_project_is_identical(built: bytes) -> None:
    again = build_vba_project({KOLAYBI_MODULE: module_source()}, base=built, replace="KolayBi")
    assert again == built


def test_several_modules(base: bytes) -> None:
    modules = {
        KOLAYBI_MODULE: module_source(),
        "KolayBiYardim": 'Option Explicit\r\nSub Yardim()\r\n    MsgBox "ok"\r\nEnd Sub\r\n',
        "Bos": "",
    }
    data = build_vba_project(modules, base=base)
    ole = olefile.OleFileIO(data, raise_defects=olefile.DEFECT_INCORRECT)
    read = read_modules(data)
    for name, source in modules.items():
        assert read[name] == f'Attribute VB_Name = "{name}"\n' + norm(source)
    assert list(read) == [
        "ThisWorkbook",
        "Sheet1",
        KOLAYBI_MODULE,
        "KolayBiYardim",
        "Bos",
        "Sheet2",
        "xlwings",
        "Dictionary",
    ]
    project = ole.openstream("PROJECT").read().decode("cp1252")
    assert "Module=KolayBi\r\nModule=KolayBiYardim\r\nModule=Bos\r\n" in project
    _check_red_black_bst(ole.direntries, _raw_dir_entries(data))


@pytest.mark.parametrize(
    ("modules", "message"),
    [
        ({}, "at least one"),
        ({"KolayBi": 'Attribute VB_Name = "KolayBi"\nSub X()\nEnd Sub'}, "Attribute"),
        ({"1abc": ""}, "module name"),
        ({"Kolay Bi": ""}, "module name"),
        ({"x" * 32: ""}, "module name"),
        ({"Kolaybı": ""}, "module name"),
        ({"XLWINGS": ""}, "already used"),
        ({"Dictionary": ""}, "already used"),
        ({"VBAProject": ""}, "already used"),
        ({"MSForms": ""}, "already used"),
        ({"dir": ""}, "already used"),
        ({"KolayBi": "' şirket"}, "code page"),
    ],
)
def test_build_rejects(base: bytes, modules: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_vba_project(modules, base=base)


def test_build_needs_the_module_to_replace(built: bytes) -> None:
    with pytest.raises(ValueError, match="Module1"):
        build_vba_project({"Other": ""}, base=built)
    with pytest.raises(ValueError, match="not a standard"):
        build_vba_project({"Other": ""}, base=built, replace="Sheet1")
    with pytest.raises(ValueError, match="OLE"):
        build_vba_project({"Other": ""}, base=b"not a compound file")


def test_xlwings_version_matches_installed(built_modules: dict[str, str]) -> None:
    assert xlwings_version(built_modules) == xlwings.__version__


# --------------------------------------------------------------------------- KolayBi.bas


def test_kolaybi_macros_call_the_entry_points() -> None:
    source = module_source()
    assert macro_names(source) == list(MACROS)
    assert "Option Explicit" in source.splitlines()
    for macro, block in zip(MACROS, source.split("End Sub")[:-1], strict=True):
        commands = runpython_commands(block)
        assert len(commands) == 1
        tree = ast.parse(commands[0])
        imports = [n for n in tree.body if isinstance(n, ast.Import)]
        assert len(imports) == 1
        [alias] = imports[0].names
        assert alias.name == "kolaybi_xl.excel"
        calls = [n.value for n in tree.body if isinstance(n, ast.Expr)]
        assert len(calls) == 1
        assert isinstance(calls[0], ast.Call)
        func = calls[0].func
        assert isinstance(func, ast.Attribute)
        assert isinstance(func.value, ast.Name)
        assert func.value.id == (alias.asname or alias.name)
        assert func.attr in ENTRY_POINTS
        assert func.attr == MACROS[macro]
        assert not calls[0].args
        assert not calls[0].keywords


def test_bas_file_is_a_vbe_export() -> None:
    raw = (Path(__file__).parents[1] / "kolaybi_xl" / "vba" / "KolayBi.bas").read_bytes()
    assert raw.isascii()
    assert raw.splitlines()[0] == b'Attribute VB_Name = "KolayBi"'


# --------------------------------------------------------------------------- inspection helpers


def test_runpython_commands_parsing() -> None:
    source = (
        "Sub A()\r\n"
        '    RunPython "import a; a.f(""x"")"\r\n'
        '    \' RunPython "import commented"\r\n'
        '    Rem RunPython "import rem"\r\n'
        '    Call RunPython("import b; b.g()") \' trailing comment\r\n'
        '    x = "RunPython ""not a call"""\r\n'
        '    RunPython _\r\n        "import c; c.h()"\r\n'
        "End Sub\r\n"
        "Private Sub B(): End Sub\r\n"
        "Public Static Sub C()\r\nEnd Sub\r\n"
        "Function NotASub()\r\nEnd Function\r\n"
    )
    assert runpython_commands(source) == [
        'import a; a.f("x")',
        "import b; b.g()",
        "import c; c.h()",
    ]
    assert macro_names(source) == ["A", "B", "C"]


def test_xlwings_version_errors() -> None:
    assert xlwings_version({"m": 'Public Const XLWINGS_VERSION As String = "1.2.3"'}) == "1.2.3"
    assert xlwings_version({"m": 'Const XLWINGS_VERSION = "4.5"'}) == "4.5"
    with pytest.raises(ValueError, match="XLWINGS_VERSION"):
        xlwings_version({"m": '\' XLWINGS_VERSION = "9"'})


def test_vba_project_bytes(xlsm: Path, built: bytes, tmp_path: Path) -> None:
    assert vba_project_bytes(xlsm) == built
    plain = tmp_path / "plain.xlsx"
    workbook = xlsxwriter.Workbook(str(plain))
    workbook.add_worksheet()
    workbook.close()
    with pytest.raises(ValueError, match="vbaProject"):
        vba_project_bytes(plain)


# --------------------------------------------------------------------------- the workbook


def test_xlsxwriter_embeds_project(xlsm: Path, built_modules: dict[str, str]) -> None:
    from_file = read_modules(xlsm)
    assert from_file == built_modules
    assert read_modules(xlsm.read_bytes()) == built_modules
    assert "KolayBi_TahsilEt" in macro_names(from_file[KOLAYBI_MODULE])


_SOFFICE = shutil.which("soffice")
_UNO_PYTHON = "/usr/bin/python3"

_UNO_SCRIPT = r"""
import json, subprocess, sys, time
import uno
from com.sun.star.beans import PropertyValue

path, profile, pipe = sys.argv[1:4]
proc = subprocess.Popen(
    ["soffice", "-env:UserInstallation=" + uno.systemPathToFileUrl(profile), "--headless",
     "--invisible", "--norestore", "--nologo", "--accept=pipe,name=%s;urp;" % pipe],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
desktop = None
try:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(240):
        try:
            ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
            break
        except Exception:
            time.sleep(0.25)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    def prop(name, value):
        p = PropertyValue(); p.Name = name; p.Value = value; return p
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(path), "_blank", 0,
                                       (prop("Hidden", True), prop("MacroExecutionMode", 0)))
    modules = {}
    libs = doc.BasicLibraries
    for lib in libs.ElementNames:
        libs.loadLibrary(lib)
        for name in libs.getByName(lib).ElementNames:
            modules[name] = libs.getByName(lib).getByName(name)
    events = []
    for i in range(doc.Sheets.Count):
        forms = doc.Sheets.getByIndex(i).DrawPage.Forms
        for f in range(forms.Count):
            form = forms.getByIndex(f)
            for c in range(form.Count):
                events += [e.ScriptCode for e in form.getScriptEvents(c)]
    doc.close(True)
    print(json.dumps({"modules": modules, "events": events}))
finally:
    if desktop is not None:
        try:
            desktop.terminate()
        except Exception:
            pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
"""


def _has_uno() -> bool:
    if not (_SOFFICE and os.path.exists(_UNO_PYTHON)):
        return False
    probe = subprocess.run([_UNO_PYTHON, "-c", "import uno"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(_SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_converts_workbook(xlsm: Path, tmp_path: Path) -> None:
    assert _SOFFICE is not None
    subprocess.run(
        [
            _SOFFICE,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "ods",
            "--outdir",
            str(tmp_path),
            str(xlsm),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    assert (tmp_path / "template.ods").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.skipif(not _has_uno(), reason="LibreOffice with python3-uno is not installed")
def test_libreoffice_reads_modules_and_button(
    xlsm: Path, built_modules: dict[str, str], tmp_path: Path
) -> None:
    """LibreOffice's own VBA import (CFB reader, dir parser, decompressor) sees our module,
    and resolves the button's macro name to it."""
    script = tmp_path / "lo_read.py"
    script.write_text(_UNO_SCRIPT)
    result = subprocess.run(
        [_UNO_PYTHON, str(script), str(xlsm), str(tmp_path / "profile"), f"kxl{uuid.uuid4().hex}"],
        check=True,
        capture_output=True,
        text=True,
        timeout=240,
    )
    seen = json.loads(result.stdout)
    assert set(seen["modules"]) == set(built_modules)
    # LibreOffice drops the Attribute lines and adds its own VBA-support header.
    lo_source = seen["modules"][KOLAYBI_MODULE]
    assert norm(module_source()).strip() in lo_source
    assert seen["events"] == [
        "vnd.sun.star.script:VBAProject.KolayBi.KolayBi_TahsilEt?language=Basic&location=document"
    ]

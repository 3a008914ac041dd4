"""``kolaybi-xl doctor [WORKBOOK]`` and the checks behind it (``jobs/doctor``)."""

from __future__ import annotations

import importlib.util
import io
import os
import sys
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from kolaybi_xl.cli import main
from kolaybi_xl.jobs import doctor
from kolaybi_xl.jobs.doctor import Machine, workbook_checks
from kolaybi_xl.jobs.journal import Journal
from kolaybi_xl.sandbox import Sandbox
from kolaybi_xl.template import TEMPLATE_PATH
from kolaybi_xl.workbook.setup_facts import SetupFacts, read_setup_facts

needs_xlwings = pytest.mark.skipif(
    importlib.util.find_spec("xlwings") is None,
    reason="macro workbooks are built from xlwings' VBA project (Python 3.11+)",
)
MACROS = ("KolayBi_FaturalariGetir", "KolayBi_KurulumKontrolu")


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(invoices=10, seed=5) as sb:
        monkeypatch.setenv("KOLAYBI_BASE_URL", sb.url)
        monkeypatch.setenv("KOLAYBI_CHANNEL", sb.channel)
        monkeypatch.setenv("KOLAYBI_API_KEY", sb.api_key)
        yield sb


def failed_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("✗")]


# -- the command -------------------------------------------------------------------------------


def test_without_channel_key_or_keyring_it_says_what_to_set(capsys):
    code, text = run(capsys, "doctor")
    assert code == 2
    assert "✗ no Channel" in text
    assert "KOLAYBI_CHANNEL" in text
    assert "✗ API key: none found" in text
    assert "→ set KOLAYBI_API_KEY" in text
    assert "✗ no keyring backend on this system" in text
    assert "setup problems; under each ✗ is what to do" in text  # plural forms (issue 13)


@needs_xlwings
def test_with_a_sandbox_and_a_new_workbook_everything_holds(tmp_path, capsys, sandbox):
    book = tmp_path / "Faturalar.xlsm"
    assert main(["init-workbook", str(book)]) == 0
    code, text = run(capsys, "doctor", book)
    assert code == 0, text
    assert failed_lines(text) == []
    assert "VBA module for xlwings 0.37.8, installed xlwings 0.37.8" in text
    assert "6 buttons, each bound to a macro that exists" in text
    assert "credentials accepted" in text
    assert "API key: from KOLAYBI_API_KEY (not shown)" in text
    assert "not needed: the key comes from the environment" in text
    assert sandbox.api_key not in text
    assert "Setup OK" in text


def with_vba_version(source: Path, target: Path, version: str) -> None:
    """A copy of ``source`` whose xlwings module says ``XLWINGS_VERSION = version``."""
    from kolaybi_xl.vba import build_vba_project, project_modules

    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    project = members["xl/vbaProject.bin"]
    modules = project_modules(project)
    lines = modules["xlwings"].split("\n")
    assert lines[0].startswith("Attribute VB_Name")
    patched = "\n".join(lines[1:]).replace('"0.37.8"', f'"{version}"')
    members["xl/vbaProject.bin"] = build_vba_project(
        {"xlwings": patched}, base=project, replace="xlwings"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    target.write_bytes(buffer.getvalue())


@needs_xlwings
def test_a_workbook_whose_vba_is_for_another_xlwings_is_named(tmp_path, capsys, sandbox):
    book = tmp_path / "Eski.xlsm"
    with_vba_version(TEMPLATE_PATH, book, "0.30.10")
    assert read_setup_facts(book).vba_xlwings == "0.30.10"
    code, text = run(capsys, "doctor", book)
    assert code == 2
    [line] = failed_lines(text)
    assert "VBA module for xlwings 0.30.10, installed xlwings 0.37.8" in line
    assert "pip install xlwings==0.30.10" in text
    assert "init-workbook" in text


def test_a_url_without_the_api_path_and_an_unreachable_api(tmp_path, capsys, sandbox, monkeypatch):
    monkeypatch.setenv("KOLAYBI_BASE_URL", sandbox.url.removesuffix("/kolaybi/v1"))
    code, text = run(capsys, "doctor")
    assert code == 2
    assert any("must end in /kolaybi/v1" in line for line in text.splitlines())
    monkeypatch.setenv("KOLAYBI_BASE_URL", "http://127.0.0.1:9/kolaybi/v1")
    code, text = run(capsys, "doctor")
    assert code == 2
    assert "✗ KolayBi not usable at http://127.0.0.1:9/kolaybi/v1" in text
    assert "check the URL" in text


def test_refused_credentials(capsys, sandbox, monkeypatch):
    monkeypatch.setenv("KOLAYBI_API_KEY", "wrong-key-4567")
    code, text = run(capsys, "doctor")
    assert code == 2
    assert "✓ KolayBi reachable" in text
    assert "✗ KolayBi refused the credentials" in text
    assert "wrong-key-4567" not in text


def test_a_key_in_the_keyring_is_found_and_never_shown(capsys, sandbox, monkeypatch):
    import keyring
    from keyring.backend import KeyringBackend

    from kolaybi_xl.jobs.settings import KEYRING_SERVICE, keyring_user

    class Memory(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.store: dict[tuple[str, str], str] = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            self.store.pop((service, username), None)

    memory = Memory()
    memory.set_password(
        KEYRING_SERVICE, keyring_user(sandbox.url, sandbox.channel), sandbox.api_key
    )
    monkeypatch.delenv("KOLAYBI_API_KEY")
    previous = keyring.get_keyring()
    keyring.set_keyring(memory)
    try:
        code, text = run(capsys, "doctor")
    finally:
        keyring.set_keyring(previous)
    assert code == 0, text
    assert "API key: from the keyring (not shown)" in text
    assert "✓ keyring: " in text
    assert sandbox.api_key not in text


def test_journal_folder_and_unsettled_attempts(tmp_path, capsys, sandbox, monkeypatch):
    journal = Journal(Path(os.environ["KOLAYBI_XL_JOURNAL"]))
    journal.intent(
        key="k",
        document_id=7,
        vault_id=1,
        amount=Decimal("5.00"),
        currency="TRY",
        remaining_before=Decimal("5.00"),
        workbook=str(tmp_path / "b.xlsx"),
        row=7,
    )
    code, text = run(capsys, "doctor")
    assert code == 2
    assert "✗ 1 collection attempt not settled" in text
    assert "kolaybi-xl journal" in text
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("KOLAYBI_XL_JOURNAL", str(blocker / "j" / "journal.jsonl"))
    code, text = run(capsys, "doctor")
    assert code == 2
    assert "is not writable" in text
    assert "KOLAYBI_XL_JOURNAL" in text


def test_a_file_that_is_no_workbook(tmp_path, capsys, sandbox):
    path = tmp_path / "x.xlsm"
    path.write_text("nope")
    code, text = run(capsys, "doctor", path)
    assert code == 2
    assert "✗ x.xlsm: not an Excel workbook" in text


def test_an_xlsx_is_fine_for_the_command_line(tmp_path, capsys, sandbox):
    path = tmp_path / "b.xlsx"
    assert main(["init-workbook", str(path)]) == 0
    code, text = run(capsys, "doctor", path)
    assert code == 0, text
    assert "b.xlsx has no macros" in text


# -- the workbook checks, with small inputs ----------------------------------------------------


def machine(platform: str = "win32", xlwings: str | None = "0.37.8") -> Machine:
    return Machine((3, 11, 7), sys.executable, platform, xlwings, "0.1.0")


def facts(**changes) -> SetupFacts:
    base = {
        "name": "F.xlsm",
        "macros": True,
        "vba_xlwings": "0.37.8",
        "conf": {"Interpreter_Win": sys.executable, "Interpreter_Mac": ""},
        "buttons": MACROS,
        "defined_macros": frozenset(MACROS),
        "calls": {
            "KolayBi_FaturalariGetir": ("import kolaybi_xl.excel as k; k.refresh_invoices()",),
            "KolayBi_KurulumKontrolu": ("import kolaybi_xl.excel as k; k.check_setup()",),
        },
    }
    return SetupFacts(**{**base, **changes})


def no_probe(interpreter: str):
    raise AssertionError("this interpreter is the running one: no process needed")


def test_the_interpreter_that_runs_this_check_needs_no_probe():
    checks = workbook_checks(facts(), machine(), probe=no_probe)
    assert all(c.ok for c in checks), [c.line() for c in checks]
    assert "kolaybi-xl 0.1.0, xlwings 0.37.8" in checks[1].text


def test_an_interpreter_file_that_does_not_exist(tmp_path):
    missing = str(tmp_path / "Python311" / "python.exe")
    checks = workbook_checks(facts(conf={"Interpreter_Win": missing}), machine(), no_probe)
    [bad] = [c for c in checks if not c.ok]
    assert "no such file" in bad.text
    assert "init-workbook" in bad.fix
    assert "init-workbook" in bad.line("tr")


def test_another_interpreter_is_asked_what_it_has(tmp_path):
    other = tmp_path / "python.exe"
    other.write_text("")
    asked: list[str] = []

    def probe(interpreter: str):
        asked.append(interpreter)
        return None, "0.36.0"

    checks = workbook_checks(facts(conf={"Interpreter_Win": str(other)}), machine(), probe)
    assert asked == [str(other)]
    [bad] = [c for c in checks if not c.ok]
    assert "kolaybi-xl missing, xlwings 0.36.0" in bad.text
    assert f'"{other}" -m pip install kolaybi-xl xlwings==0.37.8' == bad.fix


def test_the_real_probe_reads_this_python():
    found = doctor.probe_interpreter(sys.executable)
    assert isinstance(found, tuple)
    assert found[0] is not None  # kolaybi-xl is installed here
    assert isinstance(doctor.probe_interpreter(str(Path(sys.executable).parent / "nope")), str)


def test_mac_uses_its_own_key_and_linux_is_not_checked():
    mac = workbook_checks(facts(conf={"Interpreter_Mac": sys.executable}), machine("darwin"))
    assert all(c.ok for c in mac)
    linux = workbook_checks(facts(conf={}), machine("linux"), no_probe)
    assert all(c.ok for c in linux)
    assert any("not checked here" in c.text for c in linux)


def test_buttons_bound_to_missing_or_unknown_macros():
    checks = workbook_checks(facts(defined_macros=frozenset(MACROS[:1])), machine(), no_probe)
    [bad] = [c for c in checks if not c.ok]
    assert "KolayBi_KurulumKontrolu" in bad.text
    calls = {"KolayBi_FaturalariGetir": ("import os; os.system('x')",)}
    checks = workbook_checks(facts(calls=calls), machine(), no_probe)
    assert next(c for c in checks if not c.ok).text.endswith("KolayBi_FaturalariGetir")
    no_buttons = workbook_checks(facts(buttons=()), machine(), no_probe)[-1]
    assert not no_buttons.ok
    assert "has no buttons" in no_buttons.text


@needs_xlwings
def test_the_template_as_the_setup_check_reads_it():
    read = read_setup_facts(TEMPLATE_PATH)
    from kolaybi_xl.template import BUTTONS

    assert read.problem is None
    assert read.vba_xlwings == "0.37.8"
    assert sorted(read.buttons) == sorted(macro for _, macro in BUTTONS)
    assert set(read.buttons) <= read.defined_macros
    assert read.conf is not None
    assert set(read.conf) >= {"Interpreter_Win", "Interpreter_Mac"}
    assert all(
        doctor.called_function(c) in doctor.ENTRY_POINTS
        for macro in read.buttons
        for c in read.calls[macro]
    )


def test_the_entry_points_exist_in_the_excel_module():
    pytest.importorskip("xlwings")
    from kolaybi_xl import excel

    for name in doctor.ENTRY_POINTS:
        assert callable(getattr(excel, name)), name


def test_the_pinned_xlwings_is_pyprojects():
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert f"\"xlwings=={doctor.PINNED_XLWINGS}; python_version >= '3.11'\"" in pyproject

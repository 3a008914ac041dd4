"""Every ``kolaybi-xl`` command through its failure modes: one line, the contract's exit code,
never a traceback; and nothing a user made is overwritten without being asked."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kolaybi_xl import cli
from kolaybi_xl.cli import main
from kolaybi_xl.jobs.journal import Journal
from kolaybi_xl.logfile import log_file
from kolaybi_xl.sandbox import Sandbox

needs_xlwings = pytest.mark.skipif(
    importlib.util.find_spec("xlwings") is None,
    reason="macro workbooks are built from xlwings' VBA project (Python 3.11+)",
)


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    for text in (out, err):
        assert "Traceback" not in text, text
        assert 'File "' not in text, text
    return code, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("kolaybi-xl: error: "), err
    return lines[0]


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(invoices=20, seed=3) as sb:
        monkeypatch.setenv("KOLAYBI_BASE_URL", sb.url)
        monkeypatch.setenv("KOLAYBI_CHANNEL", sb.channel)
        monkeypatch.setenv("KOLAYBI_API_KEY", sb.api_key)
        yield sb


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/kolaybi/v1"


# -- every command, its failure modes ----------------------------------------------------------


WORKBOOK_COMMANDS = ("fetch", "vaults", "collect", "report")


@pytest.mark.parametrize("command", WORKBOOK_COMMANDS)
def test_a_file_that_is_no_workbook_is_exit_2(command, tmp_path, capsys, sandbox):
    path = tmp_path / "notes.xlsx"
    path.write_bytes(b"just text")
    code, _, err = run(capsys, command, path, *(["--yes"] if command == "collect" else []))
    assert code == 2
    assert "notes.xlsx" in one_error_line(err)
    assert path.read_bytes() == b"just text"


@pytest.mark.parametrize("command", ["fetch", "vaults"])
def test_missing_settings_are_exit_2_and_name_what_to_set(command, tmp_path, capsys):
    code, _, err = run(capsys, command, tmp_path / "b.xlsx")
    assert code == 2
    assert "Channel" in one_error_line(err)


@pytest.mark.parametrize("command", ["fetch", "vaults"])
def test_unreachable_api_fails_at_once_with_exit_3(command, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KOLAYBI_BASE_URL", closed_port_url())
    monkeypatch.setenv("KOLAYBI_CHANNEL", "c")
    monkeypatch.setenv("KOLAYBI_API_KEY", "k-123456")
    code, _, err = run(capsys, command, tmp_path / "b.xlsx")
    assert code == 3
    line = one_error_line(err)
    assert "could not be reached" in line
    assert "check the URL" in line


def test_a_url_without_the_api_path_says_so(tmp_path, capsys, sandbox, monkeypatch):
    monkeypatch.setenv("KOLAYBI_BASE_URL", sandbox.url.removesuffix("/kolaybi/v1"))
    code, _, err = run(capsys, "fetch", tmp_path / "b.xlsx")
    assert code == 2
    assert "/kolaybi/v1" in one_error_line(err)


def test_refused_credentials_are_exit_3(tmp_path, capsys, sandbox, monkeypatch):
    monkeypatch.setenv("KOLAYBI_API_KEY", "wrong-key-98765")
    code, out, err = run(capsys, "vaults", tmp_path / "b.xlsx")
    assert code == 3
    assert "credentials" in one_error_line(err)
    assert "wrong-key-98765" not in out + err
    assert "wrong-key-98765" not in log_file().read_text(encoding="utf-8")


def test_collect_without_a_table_and_without_a_terminal(tmp_path, capsys, sandbox):
    path = tmp_path / "b.xlsx"
    assert main(["vaults", str(path)]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, "collect", path, "--yes")
    assert code == 2
    assert "fetch invoices first" in one_error_line(err)
    assert main(["fetch", str(path)]) == 0
    capsys.readouterr()
    # nothing marked, no terminal to confirm on: refused before anything is sent? It has
    # nothing to send, so it ends quietly; a bad --concurrency is usage (argparse, exit 2).
    with pytest.raises(SystemExit) as usage:
        main(["collect", str(path), "--concurrency", "99"])
    assert usage.value.code == 2


def test_report_bad_date_and_missing_file(tmp_path, capsys):
    code, _, err = run(capsys, "report", tmp_path / "nope.xlsx")
    assert code == 2
    assert "nope.xlsx" in one_error_line(err)
    code, _, err = run(capsys, "report", tmp_path / "nope.xlsx", "--as-of", "yesterday")
    assert code == 2
    assert "--as-of" in one_error_line(err)


def test_init_workbook_failures(tmp_path, capsys):
    code, _, err = run(capsys, "init-workbook", tmp_path / "book.csv")
    assert code == 2
    assert ".xlsm" in one_error_line(err)
    code, _, err = run(capsys, "init-workbook", tmp_path)
    assert code == 2
    one_error_line(err)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "init-workbook", blocker / "sub" / "book.xlsx")
    assert code == 2
    assert "cannot use" in one_error_line(err)


def test_journal_failures(tmp_path, capsys, monkeypatch):
    code, _, err = run(capsys, "journal", "--resolve", "abc", "--as", "applied")
    assert code == 2
    assert "0 attempts match" in one_error_line(err)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("KOLAYBI_XL_JOURNAL", str(blocker / "journal.jsonl"))
    code, _, err = run(capsys, "journal")
    assert code == 2
    line = one_error_line(err)
    assert "cannot be used" in line
    assert "not-a-folder" in line


def test_set_key_failures(capsys, monkeypatch):
    code, _, err = run(capsys, "set-key")
    assert code == 2
    assert "--channel" in one_error_line(err)
    # conftest: the null keyring, as on a headless machine without a keyring backend
    code, _, err = run(capsys, "set-key", "--channel", "c1")
    assert code == 2
    assert "KOLAYBI_API_KEY" in one_error_line(err)


def test_set_key_when_the_keyring_refuses(capsys, monkeypatch):
    import keyring
    import keyring.errors
    from keyring.backend import KeyringBackend

    class Refusing(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service, username):
            return None

        def set_password(self, service, username, password):
            raise keyring.errors.PasswordSetError("locked")

        def delete_password(self, service, username):
            pass

    previous = keyring.get_keyring()
    keyring.set_keyring(Refusing())
    try:
        monkeypatch.setattr("sys.stdin", _Piped("the-key-12345\n"))
        code, out, err = run(capsys, "set-key", "--channel", "c1")
    finally:
        keyring.set_keyring(previous)
    assert code == 2
    assert "KOLAYBI_API_KEY" in one_error_line(err)
    assert "the-key-12345" not in out + err


class _Piped:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        return self.lines.pop(0) if self.lines else ""


def test_sandbox_on_a_busy_port(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run(capsys, "sandbox", "--port", port)
    assert code == 2
    line = one_error_line(err)
    assert "already in use" in line
    assert "--port" in line


def test_demo_failures(tmp_path, capsys):
    code, _, err = run(capsys, "demo", "--out", tmp_path / "demo.csv")
    assert code == 2
    assert ".xlsx" in one_error_line(err)


def test_an_unexpected_error_is_one_line_naming_the_log(tmp_path, capsys, monkeypatch, sandbox):
    import kolaybi_xl.jobs.vaults as vaults

    def boom(*args, **kwargs):
        raise RuntimeError(f"a bug, with the key {sandbox.api_key} in it")

    monkeypatch.setattr(vaults, "refresh_vaults", boom)
    code, out, err = run(capsys, "vaults", tmp_path / "b.xlsx")
    assert code == 2
    line = one_error_line(err)
    assert "unexpected error (RuntimeError)" in line
    assert str(log_file()) in line
    assert sandbox.api_key not in out + err
    logged = log_file().read_text(encoding="utf-8")
    assert "Traceback" in logged  # the details are in the log ...
    assert "a bug, with the key" in logged
    assert sandbox.api_key not in logged  # ... never the key
    # -v adds the exception's own line, still no traceback
    code, _, err = run(capsys, "-v", "vaults", tmp_path / "b.xlsx")
    assert code == 2
    assert "RuntimeError: a bug, with the key *** in it" in err
    assert sandbox.api_key not in err


# -- nothing a user made is lost -----------------------------------------------------------------


def test_demo_refuses_an_existing_file_and_a_failed_run_leaves_it(tmp_path, capsys, monkeypatch):
    path = tmp_path / "Faturalar.xlsx"
    path.write_bytes(b"my own workbook")
    code, _, err = run(capsys, "demo", "--out", path)
    assert code == 2
    assert "--force" in one_error_line(err)
    assert path.read_bytes() == b"my own workbook"

    import kolaybi_xl.demo as demo

    def boom(*args, **kwargs):
        raise RuntimeError("the demo broke half way")

    monkeypatch.setattr(demo, "build_report", boom)
    code, _, err = run(capsys, "demo", "--out", path, "--force", "--invoices", "20")
    assert code == 2
    one_error_line(err)
    assert path.read_bytes() == b"my own workbook"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Faturalar.xlsx", "journal", "state"]


def test_demo_force_replaces_and_keeps_the_mode(tmp_path, capsys):
    path = tmp_path / "Faturalar.xlsx"
    path.write_bytes(b"old")
    path.chmod(0o640)
    code, out, _ = run(capsys, "--lang", "tr", "demo", "--out", path, "--force", "--invoices", "20")
    assert code == 0
    assert path.read_bytes()[:2] == b"PK"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert "Tahsilat: " in out
    assert " tamamlandı" in out


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("name", ["new.xlsx", pytest.param("new.xlsm", marks=needs_xlwings)])
def test_new_files_get_the_umask_mode(tmp_path, capsys, name):
    old = os.umask(0o022)
    try:
        assert run(capsys, "init-workbook", tmp_path / name)[0] == 0
        assert run(capsys, "demo", "--out", tmp_path / f"demo-{name}", "--invoices", "20")[0] == 0
    finally:
        os.umask(old)
    for path in (tmp_path / name, tmp_path / f"demo-{name}"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_init_workbook_refuses_and_a_failed_force_leaves_the_file(tmp_path, capsys, monkeypatch):
    path = tmp_path / "Faturalar.xlsx"
    path.write_bytes(b"mine")
    code, _, err = run(capsys, "init-workbook", path)
    assert code == 2
    assert "--force" in one_error_line(err)
    import kolaybi_xl.template as template

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(template, "build_template", boom)
    code, _, err = run(capsys, "init-workbook", path, "--force")
    assert code == 2
    one_error_line(err)
    assert path.read_bytes() == b"mine"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".~")] == []


# -- through a real process: pipes, stdin, signals ---------------------------------------------


def kolaybi(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kolaybi_xl", *args],
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def test_set_key_reads_piped_input_without_the_echo_warning(tmp_path):
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    done = kolaybi("set-key", "--channel", "c1", input="the-key-12345\n", env=env)
    assert done.returncode == 2  # no keyring here; what matters: the key was read from stdin
    assert "may be echoed" not in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "the-key-12345" not in done.stderr + done.stdout


def test_a_closed_pipe_is_not_a_traceback(tmp_path):
    journal = Journal(Path(os.environ["KOLAYBI_XL_JOURNAL"]))
    from decimal import Decimal

    for n in range(1500):  # more than a pipe's buffer of output
        journal.intent(
            key="k",
            document_id=n,
            vault_id=1,
            amount=Decimal("1.00"),
            currency="TRY",
            remaining_before=Decimal("1.00"),
            workbook=str(tmp_path / "b.xlsx"),
            row=n,
        )
    done = subprocess.run(  # noqa: S602 - a fixed pipeline, as a user types it
        f"'{sys.executable}' -m kolaybi_xl journal --all | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.startswith("attempt")
    assert done.stderr == ""


def test_sandbox_stops_cleanly_on_sigterm():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "kolaybi_xl", "sandbox", "--port", str(port), "--invoices", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "Press Ctrl+C" in line:
                break
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "Traceback" not in out + err


def test_cli_module_exposes_no_second_mapping():
    # One mapping (errors.explain) for both front doors.
    assert not hasattr(cli, "api_exit_code")

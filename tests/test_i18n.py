"""One catalogue: every message the code asks for has its Turkish, and the language is chosen
as documented (``--lang``, ``KOLAYBI_LANG``, the locale)."""

from __future__ import annotations

import ast
import re
import string
from datetime import date
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po
from po_locations import PACKAGE, PO, msgid_args, msgid_modules, with_locations

from kolaybi_xl import i18n
from kolaybi_xl.i18n import Message, amount, day, language_from, number


def source_messages() -> tuple[dict[str, str], list[str]]:
    """msgid -> where it is used, and the places that pass a non-literal where a msgid goes."""
    found: dict[str, str] = {}
    bad: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for lineno, arg in msgid_args(tree):
            where = f"{path.relative_to(PACKAGE)}:{lineno}"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.setdefault(arg.value, where)
            elif isinstance(arg, ast.JoinedStr):
                bad.append(f"{where}: an f-string cannot be a msgid")
    return found, bad


def catalogue() -> dict[str, tuple[object, bool]]:
    with PO.open("rb") as file:
        po = read_po(file, locale="tr")
    entries: dict[str, tuple[object, bool]] = {}
    for m in po:
        for msgid in [m.id] if isinstance(m.id, str) else list(m.id):
            if msgid:
                entries[msgid] = (m.string, m.fuzzy)
    return entries


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


def test_every_message_in_the_code_has_its_turkish():
    found, bad = source_messages()
    assert not bad, bad
    assert len(found) > 100  # the extractor sees the code's messages
    po = catalogue()
    missing = sorted(f"{where}: {msgid!r}" for msgid, where in found.items() if msgid not in po)
    assert not missing, "\n".join(missing)
    untranslated = []
    for msgid in found:
        text, fuzzy = po[msgid]
        texts = list(text) if isinstance(text, tuple) else [text]
        if fuzzy or not all(isinstance(t, str) and t.strip() for t in texts):
            untranslated.append(msgid)
    assert not untranslated, untranslated


def test_a_translation_uses_no_placeholder_its_msgid_lacks():
    """A Turkish line may leave out an English detail quoted from the API, never invent one;
    and keeps each of the msgid's placeholders that are not such a detail."""
    po = catalogue()
    optional = {"detail", "said", "kind"}  # the API client's English text, a Python class name
    wrong = []
    for msgid, (text, _fuzzy) in po.items():
        texts = list(text) if isinstance(text, tuple) else [text]
        for translated in texts:
            assert isinstance(translated, str)
            have, want = _fields(translated), _fields(msgid)
            if not have <= want or (want - optional) - have:
                wrong.append((msgid, translated))
    assert not wrong, wrong


def test_the_catalogue_holds_no_stale_entries():
    found, _ = source_messages()
    stale = sorted(set(catalogue()) - set(found))
    assert not stale, stale


@pytest.mark.parametrize(
    ("chosen", "environ", "expected"),
    [
        (None, {}, "en"),
        (None, {"LANG": "tr_TR.UTF-8"}, "tr"),
        (None, {"LANG": "en_US.UTF-8"}, "en"),
        (None, {"LANG": "C.UTF-8"}, "en"),
        (None, {"LC_MESSAGES": "tr_TR", "LANG": "en_US"}, "tr"),
        (None, {"LC_ALL": "en_US.UTF-8", "LC_MESSAGES": "tr_TR", "LANG": "tr_TR"}, "en"),
        (None, {"LC_ALL": "", "LANG": "tr_TR"}, "tr"),  # empty means unset, as for gettext
        (None, {"KOLAYBI_LANG": "tr", "LANG": "en_US"}, "tr"),
        (None, {"KOLAYBI_LANG": "en", "LC_ALL": "tr_TR"}, "en"),
        ("en", {"KOLAYBI_LANG": "tr"}, "en"),
        ("tr", {"LANG": "en_US"}, "tr"),
    ],
)
def test_the_language_comes_from_the_flag_then_kolaybi_lang_then_the_locale(
    chosen, environ, expected
):
    assert language_from(environ, chosen) == expected


def test_numbers_amounts_and_dates_follow_the_language():
    value = Decimal("15549.06")
    assert amount(value, "TRY", "tr") == "15.549,06 TRY"
    assert amount(value, "TRY", "en") == "15,549.06 TRY"
    assert amount(Decimal("-0.5"), "USD", "tr") == "-0,50 USD"
    assert number(1234, "tr") == "1.234"
    assert day(date(2026, 11, 30), "tr") == "30.11.2026"
    assert day(date(2026, 11, 30), "en") == "2026-11-30"


def test_a_message_renders_in_the_language_asked_and_the_run_defaults_to_it():
    message = Message("interrupted")
    assert message.text("tr") == "kesildi"
    assert message.text("en") == "interrupted"
    with i18n.use_language("tr"):
        assert str(message) == "kesildi"
    assert str(message) == "interrupted"


def test_the_po_file_has_no_duplicate_msgids():
    ids = re.findall(r'^msgid "(.*)"\n((?:".*"\n)*)', PO.read_text(encoding="utf-8"), re.M)
    joined = [a + "".join(re.findall(r'"(.*)"', b)) for a, b in ids]
    dupes = {x for x in joined if joined.count(x) > 1}
    assert not dupes, dupes


def test_the_progress_rate_is_whole_invoices_per_second_in_the_language():
    from kolaybi_xl.cli import rate

    assert rate(0, 0.0) == "…"
    with i18n.use_language("tr"):
        assert rate(47233, 1.0) == "47.233 fatura/sn"
        assert rate(3, 2.0) == "1,5 fatura/sn"
    assert rate(47233, 1.0) == "47,233 invoices/s"
    assert rate(1, 1.0) == "1.0 invoice/s"


def test_the_progress_bar_on_a_terminal_shows_the_rate_with_its_unit():
    import io

    from kolaybi_xl.cli import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with i18n.use_language("tr"):
        progress = Progress(screen, "Tahsilat")
        for done in range(1, 6):
            progress(done, 5)
    shown = screen.getvalue()
    assert "5/5" in shown
    assert "fatura/sn" in shown
    assert "fatura/s]" not in shown.replace("fatura/sn]", "")


@pytest.mark.parametrize(("lang", "prompt"), [("tr", "[e/H]"), ("en", "[y/N]")])
def test_the_confirmation_prompt_follows_the_language(monkeypatch, lang, prompt):
    from kolaybi_xl import cli

    asked: list[str] = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda text: asked.append(text) or "e")
    with i18n.use_language(lang):
        assert cli.confirm_on_terminal("?") is True
    assert asked == [f"? {prompt} "]


def test_the_po_says_where_each_msgid_is_used():
    """Its ``#:`` lines name the modules that use each msgid (``python tests/po_locations.py``
    rewrites them after a message moves)."""
    text = PO.read_text(encoding="utf-8")
    assert with_locations(text, msgid_modules()) == text, "run: python tests/po_locations.py"

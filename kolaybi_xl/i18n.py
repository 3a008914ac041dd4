"""The command line's language: one gettext catalogue and CLDR numbers and dates (Babel).

Messages are written in English in the code (the gettext msgid); their Turkish lives in
``locale/tr/LC_MESSAGES/kolaybi_xl.po``. The ``.po`` itself is what ships and what is read at run
time (Babel's reader, compiled in memory): there is no generated ``.mo`` that could lag behind it.

The command line picks one language per run (``use_language``: ``--lang``, ``KOLAYBI_LANG``, then
the locale). The workbook and Excel's dialogs are always Turkish: those callers pass ``lang="tr"``.
A ``Message`` is a text not rendered yet (an error, a doctor line): rendered in whichever language
the front door that shows it speaks.
"""

from __future__ import annotations

import functools
import gettext
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

Lang = Literal["en", "tr"]
LANGUAGES: tuple[Lang, ...] = ("en", "tr")
DOMAIN = "kolaybi_xl"
LOCALE_DIR = Path(__file__).with_name("locale")
ENV_LANG = "KOLAYBI_LANG"
# gettext's order: the first of these that is set decides (LANGUAGE is a list; not used here).
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")
_BABEL_LOCALE: dict[Lang, str] = {"en": "en_US", "tr": "tr_TR"}
# Turkish usage and ISO: en_US's own 11/30/26 is ambiguous for a reader outside the US.
_DATE_PATTERN: dict[Lang, str] = {"en": "yyyy-MM-dd", "tr": "dd.MM.yyyy"}

_current: Lang = "en"


def current() -> Lang:
    """The language of this run (English until the command line chooses)."""
    return _current


@contextmanager
def use_language(lang: Lang) -> Iterator[None]:
    global _current
    previous, _current = _current, lang
    try:
        yield
    finally:
        _current = previous


def parse_language(text: str) -> Lang | None:
    """``tr``, ``tr_TR.UTF-8``, ``Turkish_Turkey.1254`` -> ``tr``; ``en*``/``C`` -> ``en``."""
    value = text.strip().lower()
    if not value:
        return None
    if value.startswith(("tr", "turkish")):
        return "tr"
    return "en"


def language_from(environ: Mapping[str, str], chosen: str | None = None) -> Lang:
    """``--lang`` (``chosen``), else ``KOLAYBI_LANG``, else the locale's variables (Turkish when
    the first one set starts with ``tr``), else Windows' display language; English otherwise."""
    for value in (chosen, environ.get(ENV_LANG)):
        if value and (lang := parse_language(value)):
            return lang
    for name in LOCALE_VARIABLES:
        value = environ.get(name)
        if value:
            return parse_language(value) or "en"
    return _windows_language() or "en"


def _windows_language() -> Lang | None:
    if sys.platform != "win32":
        return None
    import ctypes

    try:  # Windows sets no LANG: its user interface language is the locale's say
        langid = ctypes.windll.kernel32.GetUserDefaultUILanguage()
    except (AttributeError, OSError):
        return None
    return "tr" if langid & 0x3FF == 0x1F else "en"  # LANG_TURKISH


@functools.cache
def translations(lang: Lang) -> gettext.NullTranslations:
    """The catalogue for ``lang``: the ``.po`` read by Babel and compiled in memory."""
    if lang == "en":
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po.open("rb") as file:
        catalog = read_po(file, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy entry is not a translation
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _(message: str, lang: Lang | None = None) -> str:
    """``message`` (its English msgid) in ``lang`` (default: this run's language)."""
    return translations(lang or _current).gettext(message)


def ngettext(singular: str, plural: str, n: int, lang: Lang | None = None) -> str:
    return translations(lang or _current).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a msgid translated later (module constants): returns it as it is."""
    return message


# -- texts rendered later ---------------------------------------------------------------------

Rendered = Callable[[Lang], str]


class Message:
    """A msgid and its fields, rendered in the language of whoever shows it.

    A field may itself be a ``Message``, anything with ``text(lang)`` (an error) or a callable
    taking the language (an amount, a date): it is rendered in the same language.
    """

    __slots__ = ("fields", "msgid", "plural")

    def __init__(self, msgid: str, /, plural: tuple[str, int] | None = None, **fields: Any) -> None:
        self.msgid = msgid
        self.plural = plural  # (plural msgid, n) for ngettext
        self.fields = fields

    def text(self, lang: Lang | None = None) -> str:
        lang = lang or _current
        if self.plural is None:
            template = _(self.msgid, lang)
        else:
            template = ngettext(self.msgid, self.plural[0], self.plural[1], lang)
        if not self.fields and self.plural is None:
            return template
        values = {name: render(value, lang) for name, value in self.fields.items()}
        if self.plural is not None:
            values.setdefault("n", self.plural[1])
        return template.format(**values)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"Message({self.msgid!r})"


def render(value: Any, lang: Lang | None = None) -> Any:
    """A field's value in ``lang``: messages, errors and per-language callables rendered."""
    lang = lang or _current
    if isinstance(value, Message):
        return value.text(lang)
    text = getattr(value, "text", None)
    if callable(text) and not isinstance(value, str):
        return text(lang)
    if callable(value):
        return value(lang)
    return value  # ints stay as they are: rows, ids and ports are no amounts


# -- numbers and dates (CLDR) -----------------------------------------------------------------


def number(value: int | float | Decimal, lang: Lang | None = None, places: int = 0) -> str:
    """``15549.06`` -> ``15.549,06`` (tr) / ``15,549.06`` (en) with ``places`` decimals;
    whole numbers (``places=0``) as ``1.234``."""
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * places if places else "")
    locale = _BABEL_LOCALE[lang or _current]
    return str(format_decimal(value, format=pattern, locale=locale, decimal_quantization=True))


def amount(value: Decimal | float, currency: str = "", lang: Lang | None = None) -> str:
    """``15.549,06 TRY`` (tr) / ``15,549.06 TRY`` (en)."""
    text = number(value, lang, places=2)
    return f"{text} {currency}" if currency else text


def day(value: date | datetime, lang: Lang | None = None) -> str:
    """``30.11.2026`` (tr) / ``2026-11-30`` (en)."""
    from babel.dates import format_date

    if isinstance(value, datetime):
        value = value.date()
    lang = lang or _current
    return str(format_date(value, _DATE_PATTERN[lang], locale=_BABEL_LOCALE[lang]))


def moment(value: datetime, lang: Lang | None = None) -> str:
    """``30.11.2026 14:05`` (tr) / ``2026-11-30 14:05`` (en)."""
    return f"{day(value, lang)} {value:%H:%M}"


def numeral(value: int | float | Decimal, places: int = 0) -> Rendered:
    """A number field of a ``Message``, written the way its language writes numbers."""
    return functools.partial(_numeral, value, places)


def _numeral(value: int | float | Decimal, places: int, lang: Lang) -> str:
    return number(value, lang, places)

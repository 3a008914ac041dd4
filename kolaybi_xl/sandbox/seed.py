"""Deterministic demo data: a Turkish company's vaults and invoices, hostile text included.

Everything derives from ``random.Random(seed)`` and a fixed reference date, so the same
``(invoices, seed)`` always gives the same books. Some invoices sit at fixed positions so that any
book with at least 20 invoices has them (ids are ``1001 + position``):

- positions 0-4: one invoice of each of the five types;
- position 5: an associate whose VKN has leading zeros;
- positions 6-17: ``HOSTILE_TEXTS`` (spreadsheet-formula look-alikes, control characters, very
  long text, an emoji), all unpaid approved TRY sale invoices;
- position 18: a person (11-digit TCKN); position 19: an unpaid USD sale invoice;
- id 1854: the documented sample (tests/fixtures/invoices_list.json) whenever ``invoices >= 10``;
  it takes the last position when there are fewer than 854 invoices.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import TypeVar

from .books import REFERENCE_DATE, Books, InvoiceRecord, Tag
from .catalog import INVOICE_TYPES, NOT_COLLECTABLE_STATUSES

HISTORY_DAYS = 548  # ~18 months
_WORKDAY_START = REFERENCE_DATE.replace(hour=8, minute=0, second=0)  # issue times: 08:00-18:59
FIRST_INVOICE_ID = 1001

SAMPLE_INVOICE = InvoiceRecord(
    id=1854,
    type="sale_invoice",
    currency="TRY",
    status="ready_to_send",
    serial_no="KBI202400000234",
    issue_date=datetime(2024, 1, 15, 10, 30, 0),
    due_date=date(2024, 2, 15),
    description="Test faturası",
    associate_name="ACME LTD",
    identity_no="1234567890",
    subtotal=Decimal("2116.00"),
    total_vat=Decimal("211.60"),
    grand_total=Decimal("2327.60"),
)

VAULTS = (  # name, type, currency, opening balance; ids 1..5 in this order
    ("Merkez Kasa", "safe_deposit", "TRY", "12500.00"),
    ("Ziraat Bankası TL", "bank_account", "TRY", "245780.35"),
    ("Garanti BBVA USD", "bank_account", "USD", "18250.00"),
    ("İş Bankası EUR", "bank_account", "EUR", "9640.50"),
    ("Döviz Kasası USD", "safe_deposit", "USD", "1500.00"),
)

TAGS = (
    ("Öncelikli", "Yakından takip edilecek"),
    ("İhracat", None),
    ("Bayi", "Bayi kanalı satışları"),
    ("Proje Ağrı", None),
    ("Kampanya 2026", "Yılbaşı kampanyası"),
    ("E-Ticaret", None),
)

_LONG_TEXT = (
    "Bu açıklama bilerek çok uzun tutulmuştur: sözleşme kapsamında verilen yazılım geliştirme, "
    "kurulum, eğitim ve yıllık bakım hizmetlerinin tamamı ile birlikte; İstanbul, İzmir, Çanakkale "
    "ve Şanlıurfa şubelerinde yapılan saha çalışmalarının yol, konaklama ve iaşe giderleri de bu "
    "faturaya dahil edilmiştir. Ödeme, vade tarihinde şirketimizin Ziraat Bankası hesabına "
    "yapılmalıdır; gecikme halinde yasal faiz uygulanır. Teşekkür ederiz, iyi çalışmalar dileriz."
)
# (field, text): placed at positions 6.. in this order. Tests and other packages may import it.
HOSTILE_TEXTS: tuple[tuple[str, str], ...] = (
    ("description", '=HYPERLINK("http://evil.example","tıkla")'),
    ("associate_name", "=1+1"),
    ("associate_name", "+90 555 123 45 67"),
    ("description", "-5% iskonto"),
    ("associate_name", "@SUM(A1)"),
    ("description", "Zil sesi\x07 ve \x1b[31mkaçış\x1b[0m dizisi"),
    ("description", "NUL\x00bayt içeren açıklama"),
    ("description", "Satır 1\nSatır 2\tsekmeli"),
    ("description", _LONG_TEXT),
    ("associate_name", "Gülümseme 😀 Kafe Ltd. Şti."),
    ("description", "=cmd|' /C calc'!A0"),
    ("associate_name", "  Boşluklu Ticaret Ltd. Şti.  "),
)
_HOSTILE_FIRST = 6
_HOSTILE_AT = {_HOSTILE_FIRST + i: text for i, text in enumerate(HOSTILE_TEXTS)}
_LEADING_ZERO_POSITION, _PERSON_POSITION, _USD_POSITION = 5, 18, 19
_FIXED_POSITIONS = (_LEADING_ZERO_POSITION, _PERSON_POSITION, _USD_POSITION)

_STEMS = (
    "Yıldız", "Şahin", "Güneş", "Doğan", "Aydın", "Kılıç", "Arslan", "Koç", "Çelik", "Kaya",
    "Demir", "Aksoy", "Özdemir", "Işık", "Başaran", "Gündüz", "Ünal", "Akgül", "Karadeniz", "Ege",
    "Anadolu", "Boğaziçi", "Uludağ", "Toros", "Fırat", "Çukurova", "Erciyes", "Güçlü", "Özkan",
)  # fmt: skip
_SECTORS = (
    "Gıda", "İnşaat", "Tekstil", "Lojistik", "Otomotiv", "Mobilya", "Elektrik", "Yazılım",
    "Kimya", "Turizm", "Tarım Ürünleri", "Makine", "Ambalaj", "Danışmanlık", "Medikal", "Enerji",
)  # fmt: skip
_SUFFIXES = ("San. ve Tic. A.Ş.", "Ltd. Şti.", "Tic. Ltd. Şti.", "A.Ş.", "San. Tic. Ltd. Şti.")
_FIRST_NAMES = (
    "Ayşe", "Mehmet", "Fatma", "Mustafa", "Şükrü", "Gülşen", "İbrahim", "Özlem", "Çiğdem", "Ümit",
    "Ömer", "Hülya", "İsmail", "Şebnem", "Ilgın", "Barış", "Gökçe", "Tuğçe", "Ceren", "Oğuz",
)  # fmt: skip
_SURNAMES = _STEMS[:16]
_MONTHS = (
    "Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran",
    "Temmuz", "Ağustos", "Eylül", "Ekim", "Kasım", "Aralık",
)  # fmt: skip
_DESCRIPTIONS = {
    "sale_invoice": (
        "{month} ayı danışmanlık hizmeti", "Yazılım lisans bedeli", "Ürün satışı",
        "Yedek parça satışı", "{month} ayı bakım onarım hizmeti", "Toptan satış", "",
        "Kargo dahil satış", "Proje hakedişi - {month}",
    ),
    "sale_return_invoice": (
        "Hasarlı ürün iadesi", "Sipariş iptali iadesi", "Fazla gönderim iadesi",
    ),
    "purchase_invoice": (
        "Ofis malzemesi alımı", "Hammadde alımı", "{month} ayı kira bedeli", "Elektrik faturası",
        "Nakliye hizmeti", "Muhasebe hizmeti - {month}", "Araç kiralama", "",
    ),
    "purchase_return_invoice": ("Kusurlu hammadde iadesi", "Fazla teslimat iadesi"),
    "self_employment_receipt": (
        "Avukatlık hizmeti", "Mali müşavirlik hizmeti - {month}", "Mimari proje bedeli",
        "Eğitim hizmeti",
    ),
}  # fmt: skip

_TYPES = tuple(INVOICE_TYPES)  # sale, sale_return, purchase, purchase_return, self_employment
_TYPE_WEIGHTS = tuple(accumulate((60, 5, 25, 4, 6)))
_STATUSES = ("approved", "sent", "ready_to_send", "draft", "cancelled", "rejected")
_STATUS_WEIGHTS = tuple(accumulate((45, 30, 15, 5, 3, 2)))
_CURRENCIES = ("TRY", "USD", "EUR")
_CURRENCY_WEIGHTS = tuple(accumulate((80, 12, 8)))
_VAT_RATES = (20, 10, 1)
_VAT_WEIGHTS = tuple(accumulate((70, 20, 10)))
_DUE_DAYS = (0, 7, 10, 15, 30, 30, 30, 45, 60, 60, 90)
# TRY per unit at the reference date, and how much cheaper it was per day back.
_RATES = {
    "USD": (Decimal("42.10"), Decimal("0.0150")),
    "EUR": (Decimal("48.90"), Decimal("0.0170")),
}
_FOLD = str.maketrans("ÇçĞğİıÖöŞşÜü", "CcGgIiOoSsUu")
T = TypeVar("T")


def vkn(rng: random.Random, *, leading_zeros: bool = False) -> str:
    """A 10-digit tax number (VKN) with a valid check digit; may start with zeros."""
    digits = [rng.randint(0, 9) for _ in range(9)]
    if leading_zeros:
        digits[0] = digits[1] = 0
    total = 0
    for i, d in enumerate(digits):
        tmp = (d + 9 - i) % 10
        if tmp:
            value = (tmp * 2 ** (9 - i)) % 9
            total += value or 9
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def tckn(rng: random.Random) -> str:
    """An 11-digit personal identity number (TCKN) with valid check digits."""
    d = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(8)]
    d.append(((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10)
    d.append(sum(d) % 10)
    return "".join(map(str, d))


class _Generator:
    def __init__(self, books: Books, rng: random.Random) -> None:
        self.rng = rng
        self.tags = [books.add_tag(name, description) for name, description in TAGS]
        # The first two names are fixed so documentation can mention them.
        self.companies = [
            ("Çağlar Gıda San. ve Tic. A.Ş.", vkn(rng)),
            ("Öztürk İnşaat Ltd. Şti.", vkn(rng)),
        ]
        seen = {name for name, _ in self.companies}
        while len(self.companies) < 40:
            name = f"{rng.choice(_STEMS)} {rng.choice(_SECTORS)} {rng.choice(_SUFFIXES)}"
            if name not in seen:
                seen.add(name)
                # every fifth company (from the third on) has a VKN with leading zeros
                leading = len(self.companies) % 5 == 2
                self.companies.append((name, vkn(rng, leading_zeros=leading)))
        self.persons = [
            (f"{rng.choice(_FIRST_NAMES)} {rng.choice(_SURNAMES)}", tckn(rng)) for _ in range(20)
        ]
        self.serials: dict[tuple[str, int], int] = {}

    def serial(self, prefix: str, year: int) -> str:
        key = (prefix, year)
        if key not in self.serials:
            # our own series start at 1; suppliers' series are somewhere in the middle
            self.serials[key] = 0 if prefix in ("KBI", "SMM") else self.rng.randint(1, 900)
        self.serials[key] += 1
        return f"{prefix}{year}{self.serials[key]:09d}"

    def invoice(self, position: int, doc_id: int, age_days: int) -> InvoiceRecord:
        # The steps draw from the generator in a fixed order: the same seed, the same books.
        kind = self._fixed(position, self._drawn_kind(position))
        issued, due = self._dates(age_days)
        cents, vat_cents = self._amounts(kind.currency)
        paid_cents = self._paid_cents(kind, cents + vat_cents)
        tags = self._tags()
        description = self._description(kind, issued)
        return InvoiceRecord(
            id=doc_id,
            type=kind.type,
            currency=kind.currency,
            status=kind.status,
            serial_no=self.serial(_serial_prefix(kind), issued.year),
            issue_date=issued,
            due_date=due,
            description=description,
            associate_name=kind.name,
            identity_no=kind.identity_no,
            subtotal=Decimal(cents).scaleb(-2),
            total_vat=Decimal(vat_cents).scaleb(-2),
            grand_total=Decimal(cents + vat_cents).scaleb(-2),
            paid=Decimal(paid_cents).scaleb(-2),
            exchange_rate=_exchange_rate(kind.currency, age_days),
            tags=tags,
        )

    # Draws use rng.random() directly (not randint/choices): 50,000 invoices stay fast.

    def _drawn_kind(self, position: int) -> _Kind:
        """Type, status, currency and party as drawn (the first five positions: one per type)."""
        rnd = self.rng.random
        type_ = _TYPES[position] if position < len(_TYPES) else _pick(rnd, _TYPES, _TYPE_WEIGHTS)
        status = _pick(rnd, _STATUSES, _STATUS_WEIGHTS)
        currency = _pick(rnd, _CURRENCIES, _CURRENCY_WEIGHTS)
        person = rnd() < (0.5 if type_ == "self_employment_receipt" else 0.15)
        pool = self.persons if person and type_ != "purchase_invoice" else self.companies
        name, identity_no = pool[int(rnd() * len(pool))]
        return _Kind(type_, status, currency, name, identity_no)

    def _fixed(self, position: int, kind: _Kind) -> _Kind:
        """The fixed positions: unpaid approved sale invoices, visible by default and
        collectable, with their special party, currency or hostile text."""
        if position == _LEADING_ZERO_POSITION:
            kind = replace(kind, name=self.companies[2][0], identity_no=self.companies[2][1])
        elif position == _PERSON_POSITION:
            kind = replace(kind, name=self.persons[0][0], identity_no=self.persons[0][1])
        hostile = _HOSTILE_AT.get(position)
        if not hostile and position not in _FIXED_POSITIONS:
            return kind
        currency = "USD" if position == _USD_POSITION else "TRY"
        kind = replace(kind, type="sale_invoice", status="approved", currency=currency)
        kind = replace(kind, fixed=True, hostile=hostile)
        if hostile and hostile[0] == "associate_name":
            kind = replace(kind, name=hostile[1])
        return kind

    def _dates(self, age_days: int) -> tuple[datetime, date | None]:
        rnd = self.rng.random
        issued = _WORKDAY_START + timedelta(days=-age_days, seconds=int(rnd() * 11 * 3600))
        due = None if rnd() < 0.05 else issued.date() + timedelta(_DUE_DAYS[int(rnd() * 11)])
        return issued, due

    def _amounts(self, currency: str) -> tuple[int, int]:
        """Subtotal and VAT in integer kuruş, so they add up to the grand total exactly; VAT
        rounds half up."""
        rnd = self.rng.random
        cents = int(10 ** (4.0 + 3.0 * rnd())) // (1 if currency == "TRY" else 25) + 100
        vat_cents = (cents * _pick(rnd, _VAT_RATES, _VAT_WEIGHTS) + 50) // 100
        return cents, vat_cents

    def _paid_cents(self, kind: _Kind, grand_cents: int) -> int:
        """Half unpaid, a fifth partly paid, the rest paid; never a fixed or uncollectable one."""
        roll = self.rng.random()
        if kind.fixed or kind.status in NOT_COLLECTABLE_STATUSES or roll < 0.5:
            return 0
        if roll < 0.7:
            return grand_cents * (10 + int(self.rng.random() * 81)) // 100
        return grand_cents

    def _tags(self) -> tuple[Tag, ...]:
        rnd = self.rng.random
        if rnd() >= 0.3:
            return ()
        return tuple(self.rng.sample(self.tags, 1 if rnd() < 0.7 else 2))

    def _description(self, kind: _Kind, issued: datetime) -> str:
        descriptions = _DESCRIPTIONS[kind.type]
        description = descriptions[int(self.rng.random() * len(descriptions))]
        if kind.hostile and kind.hostile[0] == "description":
            return kind.hostile[1]
        return description.format(month=_MONTHS[issued.month - 1])


@dataclass(frozen=True, slots=True)
class _Kind:
    """What an invoice is and who it is for, before its dates and amounts."""

    type: str
    status: str
    currency: str
    name: str
    identity_no: str
    fixed: bool = False  # one of the fixed positions (see the module's docstring)
    hostile: tuple[str, str] | None = None  # (field, text)


def _serial_prefix(kind: _Kind) -> str:
    if kind.type in ("purchase_invoice", "sale_return_invoice"):  # the other side issued these
        return (kind.name.translate(_FOLD).upper() + "XXX")[:3]
    return "SMM" if kind.type == "self_employment_receipt" else "KBI"


def _exchange_rate(currency: str, age_days: int) -> Decimal:
    """TRY per unit on the issue day; 1 for TRY."""
    if currency not in _RATES:
        return Decimal(1)
    now, per_day = _RATES[currency]
    return now - per_day * age_days


def _pick(rnd: Callable[[], float], values: Sequence[T], cum_weights: Sequence[int]) -> T:
    return values[bisect_right(cum_weights, rnd() * cum_weights[-1])]


def seed_books(books: Books, *, invoices: int = 300, seed: int = 1) -> None:
    """Fill empty ``books`` with the vaults and ``invoices`` invoices for ``seed``."""
    if invoices < 0:
        raise ValueError("invoices must be >= 0")
    rng = random.Random(seed)
    for name, type_, currency, balance in VAULTS:
        books.add_vault(name, type_, currency, Decimal(balance))
    generator = _Generator(books, rng)
    # Oldest first, so ids grow with the issue date as in a real ledger.
    ages = sorted((int(rng.random() * (HISTORY_DAYS + 1)) for _ in range(invoices)), reverse=True)
    sample_position = -1
    if invoices >= 10:
        sample_position = min(SAMPLE_INVOICE.id - FIRST_INVOICE_ID, invoices - 1)
    for position, age in enumerate(ages):
        if position == sample_position:
            books.put_invoice(SAMPLE_INVOICE)
        else:
            books.put_invoice(generator.invoice(position, FIRST_INVOICE_ID + position, age))

"""The workbook contract in one place: sheet names, the invoice table's columns, formats.

Both backends (openpyxl files, xlwings in Excel) and the template builder read this module,
so a workbook made by any of them has the same layout. Columns are always found by their
header text when reading; the order below is only how new tables are laid out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# -- sheets -----------------------------------------------------------------------------------

INVOICES = "Faturalar"
VAULTS = "Kasalar"
SETTINGS = "Ayarlar"
SUMMARY = "Özet"
COLLECTION_LOG = "Tahsilat Günlüğü"
XLWINGS_CONF = "xlwings.conf"

SHEET_ORDER = (INVOICES, VAULTS, SUMMARY, COLLECTION_LOG, SETTINGS, XLWINGS_CONF)

# The invoice table's header row is the first row (within the first 20) holding this text.
ID_HEADER = "Belge ID"
HEADER_SEARCH_ROWS = 20
# Where new tables are laid out: a control strip above, the header on row 6.
INVOICE_HEADER_ROW = 6
MAX_ROW = 1_048_576  # Excel's last row
MAX_DATA_ROWS = MAX_ROW - INVOICE_HEADER_ROW  # Excel's sheet limit


class Kind(str, Enum):
    """How a column's cells are typed and formatted."""

    INT = "int"
    TEXT = "text"  # always stored as text, never a formula
    DATE = "date"
    DATETIME = "datetime"
    MONEY = "money"


class Role(str, Enum):
    DATA = "data"  # written by the tool from the API on every refresh
    INPUT = "input"  # typed by the user; the tool never overwrites it
    OUTCOME = "outcome"  # written by the tool when it collects


NUMBER_FORMATS = {
    Kind.INT: "0",
    Kind.TEXT: "@",
    Kind.DATE: "dd.mm.yyyy",
    Kind.DATETIME: "dd.mm.yyyy hh:mm",
    Kind.MONEY: "#,##0.00",
}


# One palette for the template, the openpyxl backend and the xlwings backend (RGB hex).
HEADER_FILL = "1F4E78"
HEADER_FONT = "FFFFFF"
INPUT_HEADER_FILL = "FFC000"
INPUT_FILL = "FFF2CC"
OUTPUT_HEADER_FILL = "9BC2E6"
OUTPUT_FILL = "DDEBF7"
DARK_FONT = "000000"
TITLE_FONT = "1F4E78"
NOTE_FONT = "595959"


MUTED_FONT = "808080"  # rows whose invoice is no longer listed
# Every font the product writes has this name and size: XlsxWriter's (and Excel's) default,
# so a header or title never falls back to the viewer's serif face.
FONT_NAME = "Calibri"
FONT_SIZE = 11
# A fraction shown the Turkish way: 0.743 -> %74,3 in a Turkish Excel (%74.3 elsewhere).
PERCENT_FORMAT = "%0.0"


@dataclass(frozen=True)
class Paper:
    """How one sheet prints (always A4 landscape, the header row on every page)."""

    pages_wide: int  # fit to this many pages across (0: as many as needed)
    pages_tall: int  # ... and down (0: as many as needed)
    repeat_columns: int = 0  # leading columns printed on every page (e.g. Belge ID)
    print_columns: int = 0  # only this many leading columns are printed (0: all)


PAPER: dict[str, Paper] = {
    # Two pages across keep the text at ~8 pt: Belge ID repeats on the second; Etiketler,
    # the last column, is left off paper.
    "Faturalar": Paper(2, 0, repeat_columns=1, print_columns=22),
    "Kasalar": Paper(1, 1),
    # One page per side: the report sets its own scale (``TableFormat.print_scale``), since
    # a fit-to-pages setting would ignore the page break between the sides.
    "Özet": Paper(1, 1),
    "Tahsilat Günlüğü": Paper(1, 0),
    "Ayarlar": Paper(1, 1),
    "xlwings.conf": Paper(1, 1),
}
PAPER_DEFAULT = Paper(1, 0)
# A4 landscape inside the margins (0.4" left/right, 0.6" top/bottom), in points.
PRINTABLE_WIDTH_PT = 784.0
PRINTABLE_HEIGHT_PT = 500.0
ROW_HEIGHT_PT = 15.0  # one row of 11 pt text


def column_width_pt(width: float) -> float:
    """A column ``width`` characters wide in points (Excel: 7 px per character + 5 px)."""
    return (width * 7 + 5) * 0.75


A4 = 9  # the paper size code Excel and XlsxWriter use


def page_header(channel: str = "") -> tuple[str, str, str]:
    """Left, centre and right of the page header: product, the sheet's name, the Channel."""
    right = f"Channel: {channel.replace('&', '&&')}" if channel else "&F"
    return "KolayBi", "&A", right


# Left, centre and right of the page footer: the file, the page, the print date.
PAGE_FOOTER = ("&F", "Sayfa &P / &N", "Yazdırma: &D")


def header_footer_code(parts: tuple[str, str, str], *, bold_centre: bool = False) -> str:
    """Excel's header/footer code for three parts, in the workbook font."""
    left, centre, right = parts
    font = f'&"{FONT_NAME},Regular"&9'
    centre_font = f'&"{FONT_NAME},Bold"&12' if bold_centre else font
    return f"&L{font}{left}&C{centre_font}{centre}&R{font}{right}"


def rgb(hex_color: str) -> tuple[int, int, int]:
    """``"1F4E78"`` -> ``(31, 78, 120)`` (xlwings wants tuples)."""
    return int(hex_color[0:2], 16), int(hex_color[2:4], 16), int(hex_color[4:6], 16)


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    kind: Kind
    role: Role = Role.DATA
    width: float = 14.0
    required: bool = False
    wrap: bool = False  # long or multi-line text wraps inside its row instead of spilling


# -- Faturalar --------------------------------------------------------------------------------

C_ID = Column(ID_HEADER, "id", Kind.INT, width=15, required=True)
C_SERIAL = Column("Seri No", "serial_no", Kind.TEXT, width=17, required=True)
C_ISSUE = Column("Düzenleme Tarihi", "issue_date", Kind.DATE, width=12, required=True)
C_DUE = Column("Vade Tarihi", "due_date", Kind.DATE, width=12, required=True)
C_PARTY = Column("Cari", "party", Kind.TEXT, width=30, required=True)
C_TAX_ID = Column("VKN/TCKN", "tax_id", Kind.TEXT, width=12, required=True)
C_CURRENCY = Column("Para Birimi", "currency", Kind.TEXT, width=8, required=True)
C_SUBTOTAL = Column("Ara Toplam", "subtotal", Kind.MONEY)
C_VAT = Column("KDV", "vat", Kind.MONEY, width=12)
C_TOTAL = Column("Genel Toplam", "grand_total", Kind.MONEY, required=True)
C_PAID = Column("Ödenen", "paid", Kind.MONEY)
C_REMAINING = Column("Kalan", "remaining", Kind.MONEY, required=True)
C_PAYMENT_STATUS = Column("Ödeme Durumu", "payment_status", Kind.TEXT, width=16, required=True)
C_MARK = Column("Tahsil Et", "mark", Kind.TEXT, Role.INPUT, width=9, required=True)
C_VAULT = Column("Kasa/Banka", "vault", Kind.TEXT, Role.INPUT, width=22, required=True)
# Optional: a partial amount; empty collects the whole remaining amount.
C_AMOUNT = Column("Tahsil Tutarı", "collect_amount", Kind.MONEY, Role.INPUT, width=14)
C_OUTCOME = Column(
    "Tahsilat Durumu", "outcome", Kind.TEXT, Role.OUTCOME, width=37, required=True, wrap=True
)
C_COLLECTED_AT = Column("Tahsilat Zamanı", "collected_at", Kind.DATETIME, Role.OUTCOME, width=16)
C_TYPE = Column("Tür", "type", Kind.TEXT, width=22)
C_DOC_STATUS = Column("Belge Durumu", "doc_status", Kind.TEXT, width=18)
C_EDOC_STATUS = Column("e-Belge Durumu", "edoc_status", Kind.TEXT, width=19)
C_DESCRIPTION = Column("Açıklama", "description", Kind.TEXT, width=30, wrap=True)
C_TAGS = Column("Etiketler", "tags", Kind.TEXT, width=18)

INVOICE_COLUMNS: tuple[Column, ...] = (
    C_ID,
    C_SERIAL,
    C_ISSUE,
    C_DUE,
    C_PARTY,
    C_TAX_ID,
    C_CURRENCY,
    C_SUBTOTAL,
    C_VAT,
    C_TOTAL,
    C_PAID,
    C_REMAINING,
    C_PAYMENT_STATUS,
    C_MARK,
    C_VAULT,
    C_AMOUNT,
    C_OUTCOME,
    C_COLLECTED_AT,
    C_TYPE,
    C_DOC_STATUS,
    C_EDOC_STATUS,
    C_DESCRIPTION,
    C_TAGS,
)
INVOICE_COLUMNS_BY_HEADER = {c.header: c for c in INVOICE_COLUMNS}

# The control strip above the invoice table (label in column A, value in column B).
TITLE_CELL = (1, 1)
TYPE_LABEL_CELL, TYPE_CELL = (2, 1), (2, 2)
REFRESHED_LABEL_CELL, REFRESHED_CELL = (3, 1), (3, 2)
STATUS_LABEL_CELL, STATUS_CELL = (4, 1), (4, 2)
TITLE = "KolayBi Faturalar"
# A defined name over exactly the invoice table, kept current by every refresh.
INVOICE_TABLE_NAME = "FaturaTablosu"
ALL_TYPES_LABEL = "Tümü"

# -- Kasalar ----------------------------------------------------------------------------------

VAULT_COLUMNS: tuple[Column, ...] = (
    Column("Kasa ID", "id", Kind.INT, width=9, required=True),
    Column("Ad", "name", Kind.TEXT, width=28, required=True),
    Column("Tür", "type", Kind.TEXT, width=14, required=True),
    Column("Para Birimi", "currency", Kind.TEXT, width=10, required=True),
    Column("Bakiye", "balance", Kind.MONEY, width=16, required=True),
)
VAULT_HEADER_ROW = 1
VAULT_TYPE_LABELS = {"bank_account": "Banka", "safe_deposit": "Kasa"}
# The vault dropdown on Faturalar reads this name, which grows and shrinks with the list.
VAULT_NAMES_RANGE = "KasaAdlari"
VAULT_NAMES_FORMULA = "OFFSET(Kasalar!$B$2,0,0,MAX(1,COUNTA(Kasalar!$B:$B)-1),1)"

# -- Tahsilat Günlüğü -------------------------------------------------------------------------

LOG_COLUMNS: tuple[Column, ...] = (
    Column("Zaman", "at", Kind.DATETIME, width=17),
    Column("Belge ID", "id", Kind.INT, width=10),
    Column("Seri No", "serial_no", Kind.TEXT, width=18),
    Column("Cari", "party", Kind.TEXT, width=30),
    Column("Kasa ID", "vault_id", Kind.INT, width=9),
    Column("Kasa/Banka", "vault", Kind.TEXT, width=22),
    Column("Tutar", "amount", Kind.MONEY, width=14),
    Column("Para Birimi", "currency", Kind.TEXT, width=8),
    Column("Sonuç", "result", Kind.TEXT, width=14),
    Column("Açıklama", "detail", Kind.TEXT, width=50, wrap=True),
    Column("Kalan", "remaining", Kind.MONEY, width=14),
)
LOG_HEADER_ROW = 1

# -- Ayarlar ----------------------------------------------------------------------------------

SETTING_ENVIRONMENT = "Ortam"
SETTING_CHANNEL = "Channel"
SETTING_TYPE = "Varsayılan Fatura Türü"
SETTING_CONCURRENCY = "Eşzamanlı İstek"
SETTINGS_ROWS: tuple[tuple[str, str, str], ...] = (
    # label, default value, help text shown beside it
    (
        SETTING_ENVIRONMENT,
        "Sandbox",
        "Sandbox, Canlı ya da tam API adresi (https://.../kolaybi/v1). "
        "KOLAYBI_BASE_URL ortam değişkeni bunu geçersiz kılar.",
    ),
    (
        SETTING_CHANNEL,
        "",
        "KolayBi desteğinden alınan Channel değeri. KOLAYBI_CHANNEL bunu geçersiz kılar.",
    ),
    (SETTING_TYPE, "Satış Faturası", "Faturalar sayfasında tür seçilmemişse kullanılır."),
    (SETTING_CONCURRENCY, "4", "Tahsilatta aynı anda gönderilecek en fazla istek (1-8)."),
)
SETTINGS_NOTE = (
    "API anahtarı bu çalışma kitabına yazılmaz: KOLAYBI_API_KEY ortam değişkeni ya da "
    "'kolaybi-xl set-key' komutuyla işletim sisteminin anahtar deposu kullanılır."
)
SETTINGS_HEADER = ("Ayar", "Değer", "Açıklama")
ENVIRONMENT_ALIASES = {
    "sandbox": "https://ofis-sandbox-api.kolaybi.com/kolaybi/v1",
    "test": "https://ofis-sandbox-api.kolaybi.com/kolaybi/v1",
    "canlı": "https://ofis-api.kolaybi.com/kolaybi/v1",
    "canli": "https://ofis-api.kolaybi.com/kolaybi/v1",
    "production": "https://ofis-api.kolaybi.com/kolaybi/v1",
}

# -- Turkish labels for API values -----------------------------------------------------------

PAYMENT_STATUS_LABELS = {
    "unpaid": "Ödenmedi",
    "paid": "Ödendi",
    "partially_paid": "Kısmen Ödendi",
    "partial": "Kısmen Ödendi",
    "overdue": "Gecikmiş",
}
DOC_STATUS_LABELS = {
    "draft": "Taslak",
    "ready_to_send": "Gönderime Hazır",
    "sent": "GİB'e Gönderildi",
    "approved": "Onaylandı",
    "rejected": "Reddedildi",
    "cancelled": "İptal Edildi",
}

E_DOCUMENT_STATUS_LABELS = {
    "ready": "Hazır",
    "draft": "Taslak",
    "sending": "Gönderiliyor",
    "sent": "Gönderildi",
    "sent_to_receiver": "Alıcıya Gönderildi",
    "accepted": "Kabul Edildi",
    "approved": "Onaylandı",
    "rejected": "Reddedildi",
    "cancelled": "İptal Edildi",
    "error": "Hatalı",
}

# -- outcome words (the first word of Tahsilat Durumu) ---------------------------------------

OUTCOME_DONE = "Tamamlandı"
OUTCOME_ERROR = "Hata"
OUTCOME_SKIPPED = "Atlandı"
OUTCOME_UNKNOWN = "Belirsiz"
# The first words of an undo's outcome (Tahsilatı Geri Al) when the collection was taken back.
OUTCOME_UNDONE = "Geri alındı"

# Belge Durumu of a kept row whose invoice the latest fetch of its type no longer listed.
NOT_LISTED = "Listede yok"

# Accepted marks (Tahsil Et), compared trimmed and case-insensitively.
MARK_YES = frozenset({"x", "✓", "✔", "evet", "e", "yes", "y", "1", "true", "doğru"})
MARK_NO = frozenset({"", "hayır", "hayir", "h", "no", "n", "0", "false", "yanlış"})
# ``geri al`` marks a row for undo (Tahsilatı Geri Al); collect leaves such rows alone.
MARK_UNDO = "geri al"
MARK_CHOICES = "x,evet,hayır,geri al"
MARK_PROMPT = "Tahsil etmek için x, tahsilatı geri almak için geri al yazın"
VAULT_PROMPT = "Kasalar sayfasındaki bir kasa adı ya da Kasa ID"
# The input prompt of ``Tahsil Tutarı`` (a decimal > 0 that only warns; Excel limits it to 255).
AMOUNT_PROMPT = "Boş: kalan tutarın tamamı. Kısmi tahsilat için tutarı yazın (en çok 2 ondalık)."

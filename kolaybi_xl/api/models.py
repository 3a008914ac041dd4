"""Pydantic models of KolayBi answers.

Attribute names mirror the API's field names. Amounts become ``Decimal`` (parsed from the
JSON text, never through binary floats), dates ``datetime``, currency codes upper case.
Unknown extra fields are tolerated and ignored; missing optional parts become ``None``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class InvoiceType(str, Enum):
    """The invoice types the API knows (``type`` query parameter)."""

    SALE_INVOICE = "sale_invoice"
    SALE_RETURN_INVOICE = "sale_return_invoice"
    PURCHASE_INVOICE = "purchase_invoice"
    PURCHASE_RETURN_INVOICE = "purchase_return_invoice"
    SELF_EMPLOYMENT_RECEIPT = "self_employment_receipt"

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        """The Turkish name an accountant knows."""
        return INVOICE_TYPE_LABELS[self]

    @classmethod
    def parse(cls, value: str | InvoiceType) -> InvoiceType:
        """Accept the API name (any case) or the Turkish label (any case, with or without
        Turkish letters: "SATIŞ İADE FATURASI", "satis iade faturasi")."""
        if isinstance(value, InvoiceType):
            return value
        text = str(value).strip()
        folded = _fold_turkish(text)
        for member in cls:
            if text.lower() == member.value or folded == _fold_turkish(member.label):
                return member
        names = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown invoice type {text!r} (expected one of: {names})")


_TURKISH_TO_ASCII = str.maketrans("İIıŞşĞğÜüÖöÇç", "iiissgguuoocc")


def _fold_turkish(text: str) -> str:
    """Compare Turkish text without case or Turkish letters.

    ``str.lower``/``casefold`` are not Turkish-aware: ``"I".lower()`` is ``"i"`` (not ``"ı"``)
    and ``"İ".lower()`` is ``"i̇"`` (with a combining dot), so "SATIŞ FATURASI" would not
    match "Satış Faturası". Folding both sides to plain ASCII lower case avoids that.
    """
    folded = text.translate(_TURKISH_TO_ASCII).lower().replace("\u0307", "")  # "i̇" -> "i"
    return " ".join(folded.split())


INVOICE_TYPE_LABELS = {
    InvoiceType.SALE_INVOICE: "Satış Faturası",
    InvoiceType.SALE_RETURN_INVOICE: "Satış İade Faturası",
    InvoiceType.PURCHASE_INVOICE: "Alış Faturası",
    InvoiceType.PURCHASE_RETURN_INVOICE: "Alış İade Faturası",
    InvoiceType.SELF_EMPLOYMENT_RECEIPT: "Serbest Meslek Makbuzu",
}


def to_decimal(value: Any) -> Decimal | None:
    """Parse an API amount exactly: ``2327.6`` -> ``Decimal("2327.6")``.

    JSON numbers arrive as floats; ``str(float)`` is the shortest text that reads back as the
    same float, which is the text the server wrote, so no binary noise leaks in.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("an amount cannot be true/false")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, float, str)):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"not an amount: {value!r}") from None
    else:
        raise ValueError(f"not an amount: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return result


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y")

# KolayBi's plain dates ("2024-01-15 10:30:00") are Turkish local time; Türkiye has been on
# UTC+3 all year since 2016. Instants with an offset are converted to it.
TURKEY = timezone(timedelta(hours=3), "TRT")


def _naive_local(value: datetime) -> datetime:
    """Naive Turkish local time: Excel cannot store time zones, and mixing naive and aware
    datetimes makes comparisons fail."""
    if value.tzinfo is None:
        return value
    return value.astimezone(TURKEY).replace(tzinfo=None)


def to_datetime(value: Any) -> datetime | None:
    """Parse ``YYYY-MM-DD HH:MM:SS``, ``YYYY-MM-DD`` or ISO 8601 (with offset or ``Z``).

    The result is always naive, in Turkish local time.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _naive_local(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    text = value.strip()
    if len(text) == 19 and text[10] == " ":
        # The API's usual "2024-01-15 10:30:00": fromisoformat reads it (and nothing that
        # strptime would read differently) ~20x faster; anything else takes the long way.
        try:
            return _naive_local(datetime.fromisoformat(text))
        except ValueError:
            pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return _naive_local(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(f"not a date: {value!r}") from None


def to_currency(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value).strip().upper()


def to_text(value: Any) -> str | None:
    """Identity numbers and codes stay text; an integer is turned back into its digits."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("expected text")
    return str(value)


Money = Annotated[Decimal | None, BeforeValidator(to_decimal)]
ApiDateTime = Annotated[datetime | None, BeforeValidator(to_datetime)]
Currency = Annotated[str | None, BeforeValidator(to_currency)]
Text = Annotated[str | None, BeforeValidator(to_text)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Labelled(_Model):
    """An enum-like object: ``{"group", "value", "key", "description"}``."""

    value: Text = None
    key: Text = None
    group: Text = None
    description: Text = None


class Associate(_Model):
    full_name: Text = None
    identity_no: Text = None


class InvoiceHeader(_Model):
    serial_no: Text = None
    issue_date: ApiDateTime = None
    issue_time: Text = None
    due_date: ApiDateTime = None
    description: Text = None
    associate: Associate = Field(default_factory=Associate)


class InvoiceTotal(_Model):
    total_vat: Money = None
    total_amount: Money = None
    subtotal: Money = None
    grand_total: Money = None
    exchange_grand_total: Money = None
    subtotal_discount_type: Labelled | None = None
    subtotal_discount_value: Money = None


class PaymentPlan(_Model):
    actual_amount: Money = None
    total_amount: Money = None
    cash_flow_direction: int | None = None
    total_paid: Money = None
    total_remaining: Money = None
    tracking_currency: Currency = None
    actual_currency: Currency = None
    payment_status_value: Text = None


class Tag(_Model):
    id: int | None = None
    name: Text = None
    description: Text = None


class Invoice(_Model):
    """One invoice as ``GET /invoices`` lists it (newest documented shape)."""

    commercial_doc_id: int
    currency: Currency = None
    tracking_currency: Currency = None
    commercial_doc_type: Labelled | None = None
    commercial_doc_status: Labelled | None = None
    cash_flow_direction: int | None = None
    transformation_status: Any = None
    financial_action_type_id: int | None = None
    e_document_status: Text = None
    is_payable: bool | None = None
    is_exchange_diff: bool | None = None
    header: InvoiceHeader = Field(default_factory=InvoiceHeader)
    total: InvoiceTotal = Field(default_factory=InvoiceTotal)
    payment_plan: PaymentPlan | None = None
    projects: list[Any] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list)

    @property
    def remaining(self) -> Decimal | None:
        """What is still open, or None when the answer did not say."""
        return self.payment_plan.total_remaining if self.payment_plan else None

    @property
    def type(self) -> str | None:
        return self.commercial_doc_type.value if self.commercial_doc_type else None


class Vault(_Model):
    """A cash box (``safe_deposit``) or bank account (``bank_account``)."""

    id: int
    name: Text = None
    type: Annotated[
        str | None, BeforeValidator(lambda v: None if v is None else str(v).lower())
    ] = None
    currency: Currency = None
    balance: Money = None


class VaultTransaction(_Model):
    """One of a vault's ``transactionables`` (documented: ``id``, ``amount``,
    ``description``; the amount is signed as it moved the balance)."""

    id: int
    amount: Money = None
    description: Text = None


class ProceedResult(_Model):
    """The answer of ``POST /invoices/proceed``; ``transaction_status`` is a display label."""

    transaction_status: Text = None
    remaining_amount: Money = None

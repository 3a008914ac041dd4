"""KolayBi HTTP client, models and errors. Knows nothing about Excel."""

from .client import PRODUCTION_URL, SANDBOX_URL, KolayBiClient, check_base_url, is_loopback
from .errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    InvalidResponse,
    KolayBiError,
    NotFoundError,
    OutcomeUnknown,
    RateLimitedError,
    RejectedError,
    ServerError,
)
from .models import (
    Associate,
    Invoice,
    InvoiceHeader,
    InvoiceTotal,
    InvoiceType,
    Labelled,
    PaymentPlan,
    ProceedResult,
    Tag,
    Vault,
    VaultTransaction,
)
from .paging import Listing

__all__ = [
    "PRODUCTION_URL",
    "SANDBOX_URL",
    "Associate",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionFailed",
    "InvalidResponse",
    "Invoice",
    "InvoiceHeader",
    "InvoiceTotal",
    "InvoiceType",
    "KolayBiClient",
    "KolayBiError",
    "Labelled",
    "Listing",
    "NotFoundError",
    "OutcomeUnknown",
    "PaymentPlan",
    "ProceedResult",
    "RateLimitedError",
    "RejectedError",
    "ServerError",
    "Tag",
    "Vault",
    "VaultTransaction",
    "check_base_url",
    "is_loopback",
]

"""kolaybi-xl: KolayBi invoices and collections from Excel, from files, and offline."""

from .api import (
    InvoiceType,
    KolayBiClient,
    KolayBiError,
    OutcomeUnknown,
)

__version__ = "0.1.0"

__all__ = ["InvoiceType", "KolayBiClient", "KolayBiError", "OutcomeUnknown", "__version__"]

"""How the report compares names and orders currencies."""

from __future__ import annotations

_TURKISH_TO_ASCII = str.maketrans("İIıŞşĞğÜüÖöÇç", "iiissgguuoocc")


def fold(text: str) -> str:
    """Compare names and words without case, Turkish letters or repeated spaces."""
    return " ".join(text.translate(_TURKISH_TO_ASCII).lower().replace("\u0307", "").split())


def currency_order(currency: str) -> tuple[int, str]:
    """TRY first, then the others alphabetically."""
    return (0 if currency == "TRY" else 1, currency)

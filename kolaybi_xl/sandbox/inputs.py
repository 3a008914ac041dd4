"""Reading a request's inputs the way Laravel does; a bad one is a ``Refusal`` (400/415/422).

Inputs are the query string merged with the body (the body wins), like ``$request->input()``;
an empty string counts as missing (so ``amount=`` collects everything).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from .books import Refusal
from .wire import JSON_TYPE, Request

_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_INTEGER = re.compile(r"[+-]?\d{1,18}")  # longer ones cannot be ids anyway
_FORM_TYPES = ("application/x-www-form-urlencoded", "")


def bearer(header: str) -> str | None:
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def query_params(request: Request) -> dict[str, str]:
    return dict(parse_qsl(request.query, keep_blank_values=True))


def request_input(request: Request) -> dict[str, Any]:
    """Query string merged with a JSON or form-encoded body (the body wins)."""
    data: dict[str, Any] = query_params(request)
    if not request.body.strip():
        return data
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == JSON_TYPE or content_type.endswith("+json"):
        data.update(_json_body(request.body))
    elif content_type in _FORM_TYPES:
        data.update(_form_body(request.body))
    else:
        raise Refusal(415, f"Desteklenmeyen içerik türü: {content_type}")
    return data


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:  # includes UnicodeDecodeError
        raise Refusal(400, "Geçersiz JSON gövdesi.") from None
    if not isinstance(value, dict):
        raise Refusal(400, "JSON gövdesi bir nesne olmalıdır.")
    return value


def _form_body(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "Gövde UTF-8 olmalıdır.") from None
    return dict(parse_qsl(text, keep_blank_values=True))


def field_value(data: Mapping[str, Any], name: str) -> Any:
    """The input ``name``; None when missing or blank."""
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def int_field(data: Mapping[str, Any], name: str) -> int:
    value = field_value(data, name)
    if value is None:
        raise Refusal(422, f"{name} alanı zorunludur.")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise Refusal(422, f"{name} alanı tam sayı olmalıdır.")


def amount_field(data: Mapping[str, Any], name: str) -> Decimal | None:
    value = field_value(data, name)
    if value is None:
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
            if amount.is_finite():
                return amount
        elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
            return Decimal(value.strip())
    except InvalidOperation:
        pass
    raise Refusal(422, f"{name} alanı sayı olmalıdır (ondalık ayırıcı nokta).")


def int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name, "").strip()
    if not raw:
        return default
    if not _INTEGER.fullmatch(raw) or int(raw) < low or (high is not None and int(raw) > high):
        bound = f"{low}-{high}" if high is not None else f">= {low}"
        raise Refusal(422, f"{name} parametresi {bound} aralığında bir tam sayı olmalıdır.")
    return int(raw)

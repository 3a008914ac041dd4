"""Requests and responses without sockets, and the documented JSON envelope."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

API_PREFIX = "/kolaybi/v1"
JSON_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # without the query string
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    delay: float = 0.0  # seconds to wait before answering


def dumps(value: Any) -> bytes:
    """JSON ASCII-escaped (``\\u00e7``), as Laravel's default ``json_encode`` does."""
    return json.dumps(value, separators=(",", ":")).encode("ascii")


def ok(data: Any = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"success": True}
    if data is not None:
        body["data"] = data
    body.update(extra)
    return Response(200, dumps(body))


def error(status: int, message: str, **headers: str) -> Response:
    return Response(status, dumps({"success": False, "message": message}), headers=headers)

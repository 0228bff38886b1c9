"""Shapes only the HTTP API speaks: the error body. Resources reuse the library's models."""

from __future__ import annotations

import msgspec


class ErrorDetail(msgspec.Struct, frozen=True, kw_only=True):
    field: str
    reason: str


class ErrorInfo(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    message: str
    details: list[ErrorDetail] = msgspec.field(default_factory=list)


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    """Every non-2xx answer has this body, whatever raised it."""

    error: ErrorInfo

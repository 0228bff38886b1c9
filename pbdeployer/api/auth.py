"""Bearer-token guard for every route that does not opt out with ``opt={"public": True}``."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

_PREFIX = "bearer "


def token_guard(token: str) -> Guard:
    """Build a guard comparing the presented token in constant time.

    A coroutine function on purpose: Litestar runs a plain function guard in a worker thread,
    a thread hop on every request (seen in ``bench/api.py``'s profiles).
    """
    expected = token.encode()

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        if handler.opt.get("public"):
            return
        header = connection.headers.get("authorization", "")
        presented = header[len(_PREFIX) :] if header.lower().startswith(_PREFIX) else ""
        if not hmac.compare_digest(presented.strip().encode(), expected):
            raise NotAuthorizedException(
                "missing or wrong API token (Authorization: Bearer <token>)"
            )

    return guard

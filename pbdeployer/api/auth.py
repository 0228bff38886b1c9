"""Bearer-token guard for every route that does not opt out with ``opt={"public": True}``.

A public route still learns whether the request carried the token (``authenticated``), so it
can show more to the token's holder than to anyone.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from pbdeployer.services import check_token

_PREFIX = "bearer "
_STATE_KEY = "authenticated"


def authenticated(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether the guard found the right token on this (public) route's request."""
    return bool(connection.state.get(_STATE_KEY))  # absent (no guard ran): False


def token_guard(token: str) -> Guard:
    """Build a guard comparing the presented token in constant time.

    A coroutine function on purpose: Litestar runs a plain function guard in a worker thread,
    a thread hop on every request (seen in ``bench/api.py``'s profiles).
    """
    expected = check_token(token, "the guard's token").encode()  # empty would let anyone in

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        header = connection.headers.get("authorization", "")
        presented = header[len(_PREFIX) :] if header.lower().startswith(_PREFIX) else ""
        matches = hmac.compare_digest(presented.strip().encode(), expected)
        if handler.opt.get("public"):
            connection.state[_STATE_KEY] = matches
            return
        if not matches:
            raise NotAuthorizedException(
                "missing or wrong API token (Authorization: Bearer <token>)"
            )

    return guard

"""Reading request bodies: a deadline between pieces, and a client that leaves mid-body.

Uvicorn waits as long as a client likes for the rest of a body it announced, so a few bytes of
a large ``Content-Length`` would hold a connection (and a worker's memory) for ever. Each wait
for the next piece here is bounded: past it the answer is 408 and the connection closes. A
client that disconnects before its body is complete is not a server fault: it is logged as one
line rather than as an unhandled error.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import Request, Response
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_408_REQUEST_TIMEOUT
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from pbdeployer.api.errors import error_response
from pbdeployer.api.schemas import ErrorBody

log: logging.Logger = logging.getLogger(__name__)


class ClientLeft(HTTPException):
    """The client closed its connection before it sent the whole body."""

    status_code = HTTP_400_BAD_REQUEST


def body_deadline(seconds: float) -> Any:
    """ASGI middleware giving every piece of an HTTP request body ``seconds`` to arrive."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            await app(scope, _paced(receive, seconds), send)

        return guarded

    return middleware


def _paced(receive: Receive, seconds: float) -> Receive:
    complete = False

    async def next_piece() -> ReceiveMessage:
        nonlocal complete
        if complete:  # after the body, receive only waits for a disconnect: no deadline
            return await receive()
        try:
            async with asyncio.timeout(seconds):
                message = await receive()
        except TimeoutError:
            raise HTTPException(
                status_code=HTTP_408_REQUEST_TIMEOUT,
                detail=f"no part of the request body arrived for {seconds:g} s; send it again",
                headers={"Connection": "close"},
            ) from None
        if message["type"] == "http.disconnect":
            raise ClientLeft(detail="the client disconnected before sending its whole body")
        complete = not message.get("more_body", False)
        return message

    return next_piece


def client_left(request: Request[Any, Any, Any], exc: ClientLeft) -> Response[ErrorBody]:
    """One log line; the answer reaches nobody but keeps the ASGI exchange whole."""
    client = request.client.host if request.client else "client"
    log.info("%s left during %s %s: %s", client, request.method, request.url.path, exc.detail)
    return error_response(HTTP_400_BAD_REQUEST, "client_disconnected", str(exc.detail))

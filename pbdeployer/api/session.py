"""The dashboard's login: the API token kept in a cookie scripts cannot read, and CSRF checks.

A browser cannot send ``Authorization`` headers on its own, so after the login form the token
rides in an HttpOnly, SameSite=Strict cookie. Every state-changing request that relies on the
cookie must also come from this site: its ``Origin`` (or, lacking one, ``Referer``) names the
host it was sent to, and a form carries the CSRF token derived from the API token.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection

COOKIE = "pbdeployer_token"
CSRF_FIELD = "csrf"
_CSRF_CONTEXT = b"pbdeployer dashboard form"


def cookie_matches(connection: ASGIConnection[Any, Any, Any, Any], token: str) -> bool:
    """Whether the session cookie holds the API token (compared in constant time)."""
    presented = connection.cookies.get(COOKIE, "")
    return hmac.compare_digest(presented.encode(), token.encode())


def csrf_token(token: str) -> str:
    """The value every dashboard form carries: tied to the token, useless to learn it from."""
    return hmac.new(token.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


def csrf_matches(presented: str, token: str) -> bool:
    return hmac.compare_digest(presented.encode(), csrf_token(token).encode())


def same_origin(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether the request says it comes from a page of this host (``Origin``, else ``Referer``).

    A request with neither is refused: every browser sends ``Origin`` on a form post and on a
    WebSocket upgrade, so only a non-browser client omits both, and it has the bearer header.
    """
    claimed = connection.headers.get("origin") or connection.headers.get("referer") or ""
    parts = urlsplit(claimed)
    host = connection.headers.get("host", "")
    return bool(host) and parts.scheme in {"http", "https"} and parts.netloc == host

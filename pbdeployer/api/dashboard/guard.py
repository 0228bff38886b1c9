"""Who may see a dashboard page, and which form posts are accepted."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_403_FORBIDDEN
from litestar.types import Guard

from pbdeployer.api import session

LOGIN_PATH = "/ui/login"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def dashboard_guard(token: str) -> Guard:
    """Pages need the login cookie; every post must come from this host's own pages."""

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        method = connection.scope.get("method", "GET")
        if method not in _SAFE_METHODS and not session.same_origin(connection):
            raise PermissionDeniedException("the form was not sent from this dashboard")
        if not handler.opt.get("public") and not session.cookie_matches(connection, token):
            raise NotAuthorizedException("log in first")

    return guard


def to_login(request: Request[Any, Any, Any], _: NotAuthorizedException) -> Response[Any]:
    """A page asked for without the cookie: off to the login form, which comes back here."""
    back = request.url.path if request.method == "GET" else "/ui/"
    return Redirect(f"{LOGIN_PATH}?next={back}", status_code=303)


def refused(_: Request[Any, Any, Any], exc: PermissionDeniedException) -> Response[Any]:
    return Template(
        "error.html",
        context={"title": "Refused", "message": exc.detail},
        status_code=HTTP_403_FORBIDDEN,
    )

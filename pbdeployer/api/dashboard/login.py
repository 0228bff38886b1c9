"""Log in with the API token (kept in an HttpOnly, SameSite=Strict cookie) and log out."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_401_UNAUTHORIZED

from pbdeployer.api import session

TokenDep = NamedDependency[str]
_DAY = 24 * 3600


def _next_page(wanted: str | None) -> str:
    """Only a path of the dashboard itself: never an address on another site."""
    if wanted and wanted.startswith("/ui") and "//" not in wanted and "\\" not in wanted:
        return wanted
    return "/ui"


def _cookie(request: Request[Any, Any, Any], value: str, max_age: int) -> Cookie:
    return Cookie(
        key=session.COOKIE,
        value=value,
        path="/",
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


class LoginController(Controller):
    path = "/"

    @get("/login", opt={"public": True})
    async def login_form(self, next: FromQuery[str | None] = None) -> Template:
        return Template("login.html", context={"next": _next_page(next), "error": None})

    @post("/login", opt={"public": True})
    async def login(self, request: Request[Any, Any, Any], token: TokenDep) -> Any:
        form = await request.form()
        presented = str(form.get("token", "")).strip()
        wanted = _next_page(str(form.get("next", "")))
        if not hmac.compare_digest(presented.encode(), token.encode()):
            context = {"next": wanted, "error": "That is not this server's API token."}
            return Template("login.html", context=context, status_code=HTTP_401_UNAUTHORIZED)
        return Redirect(wanted, status_code=303, cookies=[_cookie(request, token, 30 * _DAY)])

    @post("/logout")
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        return Redirect("/ui/login", status_code=303, cookies=[_cookie(request, "", 0)])

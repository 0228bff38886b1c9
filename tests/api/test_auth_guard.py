"""The token guard alone, on a two-route app: fast enough to run against every mutant of it.

``test_auth.py`` checks the same through the whole API; this file keeps the mutation run short.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar, Request, get
from litestar.testing import TestClient

from pbdeployer.api.auth import authenticated, token_guard
from pbdeployer.errors import UnsafeSetting

TOKEN = "guard-test-token-3f9Qx81LmZ0aTr7Yb2KcWv5Hn6Ju4Pe8Dw"


@get("/private")
async def private() -> str:
    return "secret"


@get("/public", opt={"public": True})
async def public() -> str:
    return "open"


@get("/whoami", opt={"public": True})
async def whoami(request: Request[Any, Any, Any]) -> str:
    return "holder" if authenticated(request) else "anyone"


@pytest.fixture
def guarded() -> Iterator[TestClient[Litestar]]:
    """A new app per test: mutation testing links a test to the guard only if it builds one."""
    app = Litestar([private, public, whoami], guards=[token_guard(TOKEN)])
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize(
    "header",
    [
        None, "", "Bearer", "Bearer ", f"Bearer {TOKEN}x", f"Bearer x{TOKEN}",
        f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN.upper()}", f"Basic {TOKEN}", f"Digest {TOKEN}",
        f"Token {TOKEN}", TOKEN, f"Bearer{TOKEN}", f"Bearer {TOKEN} {TOKEN}", "Bearer XXXX",
    ],
)  # fmt: skip
def test_anything_but_the_bearer_token_is_refused(
    guarded: TestClient[Litestar], header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = guarded.get("/private", headers=headers)
    assert response.status_code == 401
    assert "secret" not in response.text
    assert response.json()["detail"] == "missing or wrong API token (Authorization: Bearer <token>)"


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"BEARER  {TOKEN} "])
def test_the_token_opens_the_route(guarded: TestClient[Litestar], header: str) -> None:
    response = guarded.get("/private", headers={"Authorization": header})
    assert (response.status_code, response.text) == (200, "secret")


def test_public_routes_need_nothing(guarded: TestClient[Litestar]) -> None:
    assert guarded.get("/public").text == "open"
    assert guarded.get("/public", headers={"Authorization": "Bearer wrong"}).text == "open"


@pytest.mark.parametrize(
    ("header", "seen_as"),
    [(None, "anyone"), (f"Bearer {TOKEN}x", "anyone"), (f"Bearer {TOKEN}", "holder")],
)
def test_a_public_route_learns_whether_the_token_came(
    guarded: TestClient[Litestar], header: str | None, seen_as: str
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = guarded.get("/whoami", headers=headers)
    assert (response.status_code, response.text) == (200, seen_as)


def test_a_guard_around_a_weak_token_is_refused() -> None:
    with pytest.raises(UnsafeSetting, match="the API token in the guard's token is too short"):
        token_guard("short-token")


def test_a_route_no_guard_saw_is_never_taken_for_the_holders() -> None:
    with TestClient(Litestar([whoami])) as client:
        response = client.get("/whoami", headers={"Authorization": f"Bearer {TOKEN}"})
    assert (response.status_code, response.text) == (200, "anyone")

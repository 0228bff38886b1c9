"""The token guard alone, on a two-route app: fast enough to run against every mutant of it.

``test_auth.py`` checks the same through the whole API; this file keeps the mutation run short.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from pbdeployer.api.auth import token_guard

TOKEN = "guard-test-token-3f9Qx81LmZ0aTr7Yb2KcWv5Hn6Ju4Pe8Dw"


@get("/private")
async def private() -> str:
    return "secret"


@get("/public", opt={"public": True})
async def public() -> str:
    return "open"


@pytest.fixture
def guarded() -> Iterator[TestClient[Litestar]]:
    """A new app per test: mutation testing links a test to the guard only if it builds one."""
    app = Litestar([private, public], guards=[token_guard(TOKEN)])
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

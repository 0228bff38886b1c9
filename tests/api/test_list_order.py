"""Newest-first lists and cursor pages beside numbered pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.testing import TestClient

from tests.conftest import ErrorCheck, Json


def _walk(client: TestClient[Any], path: str, **params: Any) -> list[str]:
    """Every id of a list, following ``next_cursor`` from the first page."""
    seen: list[str] = []
    body = client.get(path, params=params).json()
    while True:
        seen += [item["id"] for item in body["items"]]
        if body["next_cursor"] is None:
            return seen
        body = client.get(path, params=params | {"cursor": body["next_cursor"]}).json()


def test_cursor_pages_walk_a_list_either_way(
    client: TestClient[Any], new_server: Callable[..., Json], expect_error: ErrorCheck
) -> None:
    made = [new_server(name=f"web{n}")["id"] for n in range(5)]

    newest = client.get("/servers", params={"order": "newest", "per_page": 2}).json()
    assert [s["id"] for s in newest["items"]] == made[::-1][:2]
    assert (newest["total"], newest["total_pages"]) == (5, 3)
    assert _walk(client, "/servers", order="newest", per_page=2) == made[::-1]
    assert _walk(client, "/servers", per_page=2) == made
    numbered = client.get("/servers", params={"page": 3, "per_page": 2}).json()
    assert ([s["id"] for s in numbered["items"]], numbered["next_cursor"]) == (made[4:], None)

    for bad in ("nonsense", "WyJhIiwiYiJd", "x" * 201):  # not base64 json, two keys, too long
        expect_error(
            client.get("/servers", params={"cursor": bad}), 422, "validation_failed", ["cursor"]
        )
    cursor = newest["next_cursor"]
    expect_error(
        client.get("/servers", params={"cursor": cursor, "page": 2}), 422, "validation_failed",
        ["page"],
    )  # fmt: skip
    expect_error(
        client.get("/servers", params={"order": "sideways"}), 422, "validation_failed", ["order"]
    )

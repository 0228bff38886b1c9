"""Client input at the edges of its types is a 4xx naming what is wrong, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import ErrorCheck, Json

NAIVE = "2024-05-01T12:00:00"
DEEP = 10_000


@pytest.fixture
def server(new_server: Any) -> Json:
    server: Json = new_server()
    return server


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        (NAIVE, "must have a timezone"),
        ("0001-01-01T00:00:00+05:00", "between 1970 and 9000"),
        ("9999-12-31T23:59:59-05:00", "between 1970 and 9000"),
        ("0001-01-01T00:00:00Z", "between 1970 and 9000"),
        ("9999-12-31T23:59:59Z", "between 1970 and 9000"),
    ],
)
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/deployments", "since"),
        ("/deployments/stats", "since"),
        ("/deployments/stats", "until"),
        ("/services/{sid}/app/logs", "since"),
    ],
)
def test_every_time_filter_needs_a_timezone_and_a_sane_year(
    client: TestClient[Any],
    server: Json,
    expect_error: ErrorCheck,
    path: str,
    field: str,
    query: str,
    reason: str,
) -> None:
    response = client.get(path.format(sid=server["id"]), params={field: query})
    expect_error(response, 422, "validation_failed", [field])
    assert reason in response.json()["error"]["details"][0]["reason"]


def test_a_time_filter_with_a_timezone_is_accepted(client: TestClient[Any]) -> None:
    since = client.get("/deployments", params={"since": "2024-05-01T14:00:00+02:00"})
    assert since.status_code == 200, since.text
    window = {"since": "2024-05-01T00:00:00Z", "until": "2024-05-02T00:00:00-05:00"}
    assert client.get("/deployments/stats", params=window).status_code == 200


@pytest.mark.parametrize("after", [str(1 << 63), "9" * 30, "9" * 5000])
def test_an_event_cursor_past_64_bits_is_422(
    client: TestClient[Any], server: Json, expect_error: ErrorCheck, after: str
) -> None:
    task = client.post(f"/servers/{server['id']}/setup/user").json()
    response = client.get(f"/tasks/{task['id']}/events", params={"after": after})
    expect_error(response, 422, "validation_failed", ["after"])


@pytest.mark.parametrize(
    "body",
    [
        "[" * DEEP + "]" * DEEP,
        '{"name": ' + "[" * DEEP + "]" * DEEP + "}",
        '{"a":' * DEEP + "1" + "}" * DEEP,
    ],
    ids=["array", "in_a_field", "objects"],
)
def test_a_body_nested_too_deep_is_400(
    client: TestClient[Any], expect_error: ErrorCheck, body: str
) -> None:
    response = client.post("/servers", content=body, headers={"Content-Type": "application/json"})
    expect_error(response, 400, "malformed_json")
    assert "nested too deeply" in response.json()["error"]["message"]

"""A server's connection values are refused at the API by the same rules the run applies."""

from __future__ import annotations

import pytest

from pbdeployer.errors import InvalidInput
from pbdeployer.inventory import render_inventory
from pbdeployer.models.servers import Server

REFUSED = [
    ("host", "fe80::1%eth0\nevil"),
    ("host", "fe80::1%{{ lookup('pipe', 'id') }}"),
    ("host", "fe80::1%eth 0"),
    ("host", "fe80::1%" + "e" * 16),
    ("host", "fe80::1%"),
    ("manual_key_path", '/keys/a"b'),
    ("manual_key_path", "/keys/a\\b"),
    ("manual_key_path", "/keys/" + "k" * 256),
    ("manual_key_path", "/k" * 2048),
]
ACCEPTED = [
    ("host", "fe80::1%eth0"),
    ("host", "fe80::1%3"),
    ("host", "fe80::1%enp0s31f6"),
    ("manual_key_path", "/keys/with space/id_ed25519"),
    ("manual_key_path", "/keys/" + "k" * 255),
]


def _run_refuses(server: Server, field: str) -> bool:
    try:
        render_inventory([server])
    except InvalidInput as error:
        return f"servers[0].{field}" in [p.field for p in error.details]
    return False


@pytest.mark.parametrize(("field", "value"), REFUSED, ids=lambda v: repr(v)[:30])
def test_refused_at_the_api_and_by_the_run(client, expect_error, field, value):
    body = {"name": "web1", "host": "203.0.113.10", field: value}

    error = expect_error(client.post("/servers", json=body), 422, "validation_failed", [field])

    assert client.get("/servers").json()["total"] == 0
    server = client.post("/servers", json={"name": "web1", "host": "203.0.113.10"}).json()
    stored = Server(**(server | {field: value}))  # as if it had been stored
    assert _run_refuses(stored, field)
    assert error["details"][0]["reason"]


@pytest.mark.parametrize(("field", "value"), ACCEPTED, ids=lambda v: repr(v)[:30])
def test_accepted_at_the_api_and_by_the_run(client, field, value):
    body = {"name": "web1", "host": "203.0.113.10", field: value}

    response = client.post("/servers", json=body)

    assert response.status_code == 201, response.text
    assert not _run_refuses(Server(**response.json()), field)


def test_a_too_long_key_path_is_told_so(client, expect_error):
    body = {"name": "web1", "host": "203.0.113.10", "manual_key_path": "/k" * 2048}

    error = expect_error(
        client.post("/servers", json=body), 422, "validation_failed", ["manual_key_path"]
    )

    assert "control characters" not in error["message"]
    assert "4096" in error["details"][0]["reason"]

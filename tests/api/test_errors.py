"""Every failure answers with the same error body, and none leaks internals."""

from __future__ import annotations

import logging
import sqlite3

import pytest

JSON = {"content-type": "application/json"}
CREATE_PATHS = ["/servers", "/apps", "/versions"]


@pytest.fixture
def ids(new_server, new_app):
    server = new_server()
    app = new_app(server["id"])
    return {"server": server["id"], "app": app["id"]}


@pytest.mark.parametrize("path", CREATE_PATHS)
@pytest.mark.parametrize(
    "raw",
    [b"{bad", b'{"name": "web1",}', b'{"name": "web1"', b"\xff\xfe", b'{"name": "a"} x', b"  "],
)
def test_malformed_json_is_400(client, expect_error, path, raw):
    response = client.post(path, content=raw, headers=JSON)

    expect_error(response, 400, "malformed_json")


@pytest.mark.parametrize("path", CREATE_PATHS)
def test_missing_body_on_create_is_400(client, expect_error, path):
    error = expect_error(client.post(path), 400, "bad_request")
    assert "body" in error["message"]


@pytest.mark.parametrize("path", CREATE_PATHS)
def test_empty_body_on_create_is_400(client, expect_error, path):
    expect_error(client.post(path, content=b"", headers=JSON), 400, "bad_request")


@pytest.mark.parametrize("resource", ["servers", "apps"])
def test_missing_body_on_patch_is_400(client, ids, expect_error, resource):
    record_id = ids[resource.removesuffix("s")]

    expect_error(client.patch(f"/{resource}/{record_id}"), 400, "bad_request")


@pytest.mark.parametrize("resource", ["servers", "apps"])
def test_malformed_json_on_patch_is_400(client, ids, expect_error, resource):
    record_id = ids[resource.removesuffix("s")]

    response = client.patch(f"/{resource}/{record_id}", content=b"{port: 1}", headers=JSON)

    expect_error(response, 400, "malformed_json")


@pytest.mark.parametrize("path", CREATE_PATHS)
@pytest.mark.parametrize("raw", [b"[]", b"null", b'"server"', b"42"])
def test_body_that_is_not_an_object_is_422(client, path, raw):
    response = client.post(path, content=raw, headers=JSON)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert len(error["details"]) == 1
    assert set(error["details"][0]) == {"field", "reason"}
    assert "Expected `object`" in error["details"][0]["reason"]


def test_unknown_field_is_named(client, expect_error):
    body = {"name": "web1", "host": "h", "hostname": "h"}

    error = expect_error(client.post("/servers", json=body), 422, "validation_failed", ["hostname"])
    assert "hostname" in error["message"]


def test_domain_problems_and_their_message_agree(client, expect_error):
    body = {"name": "web1", "host": "h h", "port": 0}

    error = expect_error(
        client.post("/servers", json=body), 422, "validation_failed", ["host", "port"]
    )
    for detail in error["details"]:
        assert f"{detail['field']}: {detail['reason']}" in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/servers/01JH8Z6X4T3D3Q9V4W0Y5K7B2M"),
        ("PATCH", "/servers/01JH8Z6X4T3D3Q9V4W0Y5K7B2M"),
        ("DELETE", "/servers/01JH8Z6X4T3D3Q9V4W0Y5K7B2M"),
        ("GET", "/apps/01JH8Z7C2V5M8N1P3Q4R6S7T8U"),
        ("PATCH", "/apps/01JH8Z7C2V5M8N1P3Q4R6S7T8U"),
        ("DELETE", "/apps/01JH8Z7C2V5M8N1P3Q4R6S7T8U"),
        ("GET", "/versions/01JH8Z8D9E0F1G2H3J4K5M6N7P"),
        ("DELETE", "/versions/01JH8Z8D9E0F1G2H3J4K5M6N7P"),
    ],
)
def test_unknown_id_is_404_on_every_item_route(client, expect_error, method, path):
    body = {} if method == "PATCH" else None

    error = expect_error(client.request(method, path, json=body), 404, "not_found")
    assert path.rsplit("/", 1)[1] in error["message"]


def test_unknown_route_is_404(client, expect_error):
    expect_error(client.get("/deployments-that-do-not-exist"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/servers"), ("DELETE", "/apps"), ("PATCH", "/versions")]
)
def test_wrong_method_is_405(client, expect_error, method, path):
    expect_error(client.request(method, path), 405, "method_not_allowed")


def test_internal_error_details_go_to_the_log_not_the_client(
    client, settings, caplog, expect_error
):
    """A broken database is a real fault: the client gets a generic body, the log the rest."""
    with sqlite3.connect(settings.data_dir / "pbdeployer.db") as db:
        db.execute("DROP TABLE versions")

    with caplog.at_level(logging.ERROR):
        response = client.get("/versions")

    error = expect_error(response, 500, "internal_error")
    assert error["message"] == "an internal error occurred; the server log has the details"
    for leak in ("Traceback", "File ", "sqlite", "OperationalError", "no such table", "SELECT"):
        assert leak not in response.text
    assert [r.exc_info[0].__name__ for r in caplog.records if r.exc_info] == ["OperationalError"]

"""The API takes JSON and query values as they are typed: nothing is coerced."""

from __future__ import annotations

import pytest

from tests import strict_cases


@pytest.mark.parametrize(("field", "value"), strict_cases.SERVER_CREATE)
def test_a_wrong_json_type_on_create_is_422_naming_the_field(client, expect_error, field, value):
    body = {"name": "web1", "host": "203.0.113.10"} | {field: value}

    error = expect_error(client.post("/servers", json=body), 422, "validation_failed", [field])

    assert field in error["message"]
    assert client.get("/servers").json()["total"] == 0


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/apps", {"name": "a", "server_id": "S", "http_port": "8090"}, "http_port"),
        ("/versions", {"app_id": "A", "version_number": 1}, "version_number"),
        ("/versions", {"app_id": "A", "version_number": "1.0", "notes": False}, "notes"),
    ],
)
def test_every_create_body_is_strict(client, expect_error, path, body, field):
    expect_error(client.post(path, json=body), 422, "validation_failed", [field])


def test_patch_bodies_are_strict(client, expect_error, new_server, new_app):
    server = new_server()
    app = new_app(server["id"])

    for path, field, value in [
        (f"/servers/{server['id']}", "port", "2222"),
        (f"/servers/{server['id']}", "use_ssh_agent", "false"),
        (f"/apps/{app['id']}", "http_port", 8091.0),
    ]:
        response = client.patch(path, json={field: value})
        expect_error(response, 422, "validation_failed", [field])

    assert client.get(f"/servers/{server['id']}").json()["port"] == 22
    assert client.get(f"/apps/{app['id']}").json()["http_port"] == app["http_port"]


def test_operation_bodies_are_strict(client, expect_error, new_server, new_app):
    server = new_server()
    app = new_app(server["id"])
    paths = {
        "lockdown": f"/servers/{server['id']}/security/lockdown",
        "setup_packages": f"/servers/{server['id']}/setup/packages",
        "rollback": f"/apps/{app['id']}/rollback",
        "deploy": f"/apps/{app['id']}/deploy",
    }
    for operation, key, value, field in strict_cases.OPERATIONS:
        response = client.post(paths[operation], json={key: value})
        expect_error(response, 422, "validation_failed", [field])
    assert client.get("/tasks").json()["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=1.0", "page"),
        ("page=1e0", "page"),
        ("per_page=2.0", "per_page"),
    ],
)
def test_integer_query_values_must_be_written_as_integers(client, expect_error, query, field):
    expect_error(client.get(f"/servers?{query}"), 422, "validation_failed", [field])


@pytest.mark.parametrize("value", ["1", "0", "True", "yes"])
def test_boolean_query_values_are_true_or_false(client, expect_error, new_server, new_app, value):
    app = new_app(new_server()["id"])

    response = client.delete(f"/apps/{app['id']}?cascade={value}")

    expect_error(response, 422, "validation_failed", ["cascade"])
    assert client.get(f"/apps/{app['id']}").status_code == 200


def test_well_typed_values_still_pass(client, new_server, new_app):
    server = new_server(port=2222, use_ssh_agent=True)
    app = new_app(server["id"])

    assert client.get("/servers?page=1&per_page=5").status_code == 200
    assert client.delete(f"/apps/{app['id']}?cascade=true").status_code == 204

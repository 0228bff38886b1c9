"""/servers: register, list, change and forget servers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

SERVER_FIELDS = {
    "id",
    "created",
    "updated",
    "name",
    "host",
    "port",
    "root_username",
    "app_username",
    "use_ssh_agent",
    "manual_key_path",
    "setup_complete",
    "security_locked",
}


def test_create_returns_the_server_with_defaults(client):
    response = client.post("/servers", json={"name": "web1", "host": "203.0.113.7"})

    assert response.status_code == 201
    server = response.json()
    assert set(server) == SERVER_FIELDS
    assert len(server["id"]) == 26
    assert server["name"] == "web1"
    assert server["host"] == "203.0.113.7"
    assert server["port"] == 22
    assert server["root_username"] == "root"
    assert server["app_username"] == "pocketbase"
    assert server["use_ssh_agent"] is False
    assert server["manual_key_path"] is None
    assert server["setup_complete"] is False
    assert server["security_locked"] is False
    assert server["created"] == server["updated"]
    assert datetime.fromisoformat(server["created"]).utcoffset().total_seconds() == 0


def test_create_keeps_every_given_field(client):
    body = {
        "name": "db box",
        "host": "2001:db8::1",
        "port": 2222,
        "root_username": "admin",
        "app_username": "_pb-user",
        "use_ssh_agent": True,
        "manual_key_path": "/home/me/.ssh/id_ed25519",
    }

    server = client.post("/servers", json=body).json()

    assert {k: server[k] for k in body} == body


def test_get_returns_what_create_returned(client, new_server):
    server = new_server(host="web1.example.com")

    response = client.get(f"/servers/{server['id']}")

    assert response.status_code == 200
    assert response.json() == server


def test_get_unknown_id_is_404(client, expect_error):
    error = expect_error(client.get("/servers/01JH8Z6X4T3D3Q9V4W0Y5K7B2M"), 404, "not_found")
    assert "01JH8Z6X4T3D3Q9V4W0Y5K7B2M" in error["message"]


def test_duplicate_name_is_409(client, new_server, expect_error):
    new_server(name="web1")

    response = client.post("/servers", json={"name": "web1", "host": "203.0.113.8"})

    error = expect_error(response, 409, "conflict")
    assert "web1" in error["message"]
    assert client.get("/servers").json()["total"] == 1


@pytest.mark.parametrize(
    "host",
    [
        "web 1.example.com",
        "web1.example.com\n",
        "web1\nevil",
        "web1;reboot",
        "[webservers]",
        "ansible_host=10.0.0.1",
        "web1.example.com ansible_user=root",
        "-web1",
        "web1.",
        "",
        "a" * 64,
        "$(whoami)",
        "{{ lookup('pipe','id') }}",
    ],
)
def test_host_that_is_not_a_dns_name_or_ip_is_422(client, expect_error, host):
    response = client.post("/servers", json={"name": "web1", "host": host})

    expect_error(response, 422, "validation_failed", ["host"])


@pytest.mark.parametrize("host", ["web1", "web-1.example.com", "10.0.0.1", "::1", "fe80::1"])
def test_host_dns_name_or_ip_is_accepted(client, host):
    response = client.post("/servers", json={"name": "web1", "host": host})

    assert response.status_code == 201
    assert response.json()["host"] == host


@pytest.mark.parametrize("port", [0, -1, 65536, 100000])
def test_port_out_of_range_is_422(client, expect_error, port):
    response = client.post("/servers", json={"name": "web1", "host": "h", "port": port})

    expect_error(response, 422, "validation_failed", ["port"])


@pytest.mark.parametrize("port", [1, 65535])
def test_port_bounds_are_accepted(client, port):
    response = client.post("/servers", json={"name": "web1", "host": "h", "port": port})

    assert response.status_code == 201
    assert response.json()["port"] == port


@pytest.mark.parametrize("field", ["root_username", "app_username"])
@pytest.mark.parametrize(
    "user", ["Root", "1user", "-user", "us er", "user;id", "user\n", "a" * 33, "", "user@host"]
)
def test_user_names_must_be_posix(client, expect_error, field, user):
    response = client.post("/servers", json={"name": "web1", "host": "h", field: user})

    expect_error(response, 422, "validation_failed", [field])


@pytest.mark.parametrize("user", ["deploy", "_svc", "pb-app_2", "a" * 32])
def test_posix_user_names_are_accepted(client, user):
    response = client.post("/servers", json={"name": "web1", "host": "h", "app_username": user})

    assert response.status_code == 201
    assert response.json()["app_username"] == user


@pytest.mark.parametrize("path", ["id_ed25519", "~/.ssh/id_ed25519", "./key", "/keys/a\nb", ""])
def test_manual_key_path_must_be_absolute_and_plain(client, expect_error, path):
    response = client.post("/servers", json={"name": "web1", "host": "h", "manual_key_path": path})

    expect_error(response, 422, "validation_failed", ["manual_key_path"])


@pytest.mark.parametrize("name", ["", " web", "-web", "web/1", "web;1", "a" * 101, "web\n"])
def test_invalid_name_is_422(client, expect_error, name):
    expect_error(
        client.post("/servers", json={"name": name, "host": "h"}),
        422,
        "validation_failed",
        ["name"],
    )


def test_every_bad_field_is_reported_at_once(client, expect_error):
    body = {
        "name": "web1",
        "host": "a b",
        "port": 0,
        "root_username": "Root",
        "app_username": "1x",
        "manual_key_path": "key",
    }

    error = expect_error(
        client.post("/servers", json=body),
        422,
        "validation_failed",
        ["host", "port", "root_username", "app_username", "manual_key_path"],
    )
    assert "port" in error["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("port", "ssh"),
        ("port", 22.5),
        ("port", True),
        ("port", None),
        ("name", 7),
        ("host", ["a", "b"]),
        ("use_ssh_agent", "yes"),
        ("manual_key_path", 1),
    ],
)
def test_wrong_types_are_422(client, expect_error, field, value):
    body = {"name": "web1", "host": "h", field: value}

    expect_error(client.post("/servers", json=body), 422, "validation_failed", [field])


@pytest.mark.parametrize("field", ["name", "host"])
def test_missing_required_field_is_422(client, expect_error, field):
    body = {"name": "web1", "host": "h"}
    del body[field]

    expect_error(client.post("/servers", json=body), 422, "validation_failed", [field])


@pytest.mark.parametrize("field", ["setup_complete", "security_locked", "id", "created", "colour"])
def test_unknown_or_read_only_fields_on_create_are_422(client, expect_error, field):
    body = {"name": "web1", "host": "h", field: True}

    expect_error(client.post("/servers", json=body), 422, "validation_failed", [field])
    assert client.get("/servers").json()["total"] == 0


def test_patch_changes_only_the_given_fields(client, new_server):
    server = new_server(manual_key_path="/keys/web1", use_ssh_agent=True)

    response = client.patch(f"/servers/{server['id']}", json={"port": 2222, "host": "10.0.0.9"})

    assert response.status_code == 200
    changed = response.json()
    assert changed["port"] == 2222
    assert changed["host"] == "10.0.0.9"
    unchanged = SERVER_FIELDS - {"port", "host", "updated"}
    assert {k: changed[k] for k in unchanged} == {k: server[k] for k in unchanged}
    assert datetime.fromisoformat(changed["updated"]) > datetime.fromisoformat(server["updated"])
    assert client.get(f"/servers/{server['id']}").json() == changed


def test_patch_sets_manual_key_path_to_null(client, new_server):
    server = new_server(manual_key_path="/keys/web1")

    response = client.patch(f"/servers/{server['id']}", json={"manual_key_path": None})

    assert response.status_code == 200
    assert response.json()["manual_key_path"] is None
    assert client.get(f"/servers/{server['id']}").json()["manual_key_path"] is None


def test_patch_with_empty_body_changes_nothing(client, new_server):
    server = new_server()

    response = client.patch(f"/servers/{server['id']}", json={})

    assert response.status_code == 200
    assert response.json() == server


def test_patch_to_own_name_is_allowed(client, new_server):
    server = new_server(name="web1")

    response = client.patch(f"/servers/{server['id']}", json={"name": "web1", "port": 23})

    assert response.status_code == 200
    assert response.json()["port"] == 23


def test_patch_to_taken_name_is_409(client, new_server, expect_error):
    new_server(name="web1")
    other = new_server(name="web2")

    expect_error(client.patch(f"/servers/{other['id']}", json={"name": "web1"}), 409, "conflict")
    assert client.get(f"/servers/{other['id']}").json()["name"] == "web2"


@pytest.mark.parametrize("field", ["setup_complete", "security_locked", "id", "created"])
def test_patch_cannot_set_read_only_fields(client, new_server, expect_error, field):
    server = new_server()

    response = client.patch(f"/servers/{server['id']}", json={field: True})

    expect_error(response, 422, "validation_failed", [field])
    assert client.get(f"/servers/{server['id']}").json() == server


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"port": 65536}, ["port"]),
        ({"host": "h;id"}, ["host"]),
        ({"app_username": "Pocket"}, ["app_username"]),
        ({"manual_key_path": "relative/key"}, ["manual_key_path"]),
        ({"name": None}, ["name"]),
        ({"port": "22x"}, ["port"]),
    ],
)
def test_patch_validates_like_create(client, new_server, expect_error, body, fields):
    server = new_server()

    expect_error(
        client.patch(f"/servers/{server['id']}", json=body), 422, "validation_failed", fields
    )
    assert client.get(f"/servers/{server['id']}").json() == server


def test_patch_unknown_id_is_404(client, expect_error):
    expect_error(client.patch("/servers/nope", json={"port": 2222}), 404, "not_found")


def test_delete_removes_the_server(client, new_server, expect_error):
    server = new_server()

    response = client.delete(f"/servers/{server['id']}")

    assert response.status_code == 204
    assert response.content == b""
    expect_error(client.get(f"/servers/{server['id']}"), 404, "not_found")
    assert client.get("/servers").json()["total"] == 0


def test_delete_unknown_id_is_404(client, expect_error):
    expect_error(client.delete("/servers/01JH8Z6X4T3D3Q9V4W0Y5K7B2M"), 404, "not_found")


def test_delete_server_with_apps_is_409_until_they_are_gone(
    client, new_server, new_app, expect_error
):
    server = new_server()
    app = new_app(server["id"])

    error = expect_error(client.delete(f"/servers/{server['id']}"), 409, "conflict")
    assert "app" in error["message"]
    assert client.get(f"/servers/{server['id']}").status_code == 200

    assert client.delete(f"/apps/{app['id']}").status_code == 204
    assert client.delete(f"/servers/{server['id']}").status_code == 204


def test_list_is_empty_at_first(client):
    response = client.get("/servers")

    assert response.status_code == 200
    assert response.json() == {
        "items": [],
        "page": 1,
        "per_page": 20,
        "total": 0,
        "total_pages": 0,
        "next_cursor": None,
    }


def test_list_walks_45_servers_in_creation_order(client, new_server):
    created = [new_server()["id"] for _ in range(45)]

    pages = [client.get("/servers", params={"page": n}).json() for n in (1, 2, 3)]

    assert [len(p["items"]) for p in pages] == [20, 20, 5]
    for number, page in enumerate(pages, start=1):
        assert page["page"] == number
        assert page["per_page"] == 20
        assert page["total"] == 45
        assert page["total_pages"] == 3
    seen = [item["id"] for page in pages for item in page["items"]]
    assert seen == created
    past_end = client.get("/servers", params={"page": 4}).json()
    assert past_end == {
        "items": [],
        "page": 4,
        "per_page": 20,
        "total": 45,
        "total_pages": 3,
        "next_cursor": None,
    }


def test_list_with_custom_page_size_sees_every_id_once(client, new_server):
    created = [new_server()["id"] for _ in range(13)]

    seen: list[Any] = []
    for number in range(1, 4):
        page = client.get("/servers", params={"page": number, "per_page": 5}).json()
        assert page["total_pages"] == 3
        seen += [item["id"] for item in page["items"]]

    assert seen == created


def test_list_accepts_the_largest_page_size(client, new_server):
    new_server()

    page = client.get("/servers", params={"per_page": 200}).json()

    assert page["per_page"] == 200
    assert page["total"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"per_page": 0}, "per_page"),
        ({"per_page": 201}, "per_page"),
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "two"}, "page"),
        ({"per_page": "many"}, "per_page"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_list_rejects_bad_query_parameters(client, expect_error, params, field):
    expect_error(client.get("/servers", params=params), 422, "validation_failed", [field])


def test_list_searches_names_case_insensitively(client, new_server):
    web = new_server(name="Web-Frontend")
    new_server(name="db1")

    page = client.get("/servers", params={"q": "FRONT"}).json()

    assert [item["id"] for item in page["items"]] == [web["id"]]
    assert page["total"] == 1


def test_list_search_treats_like_wildcards_literally(client, new_server):
    under = new_server(name="web_1")
    new_server(name="web21")

    assert client.get("/servers", params={"q": "%"}).json()["total"] == 0
    page = client.get("/servers", params={"q": "b_1"}).json()
    assert [item["id"] for item in page["items"]] == [under["id"]]

"""/apps: services on servers, with derived paths, unit names and ports."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest

APP_FIELDS = {
    "id",
    "created",
    "updated",
    "name",
    "server_id",
    "remote_path",
    "service_name",
    "domain",
    "tls",
    "http_port",
    "binary_name",
    "current_version",
    "status",
}


@pytest.fixture
def server(new_server):
    return new_server()


def test_create_derives_path_unit_and_port_from_the_name(client, server):
    response = client.post("/apps", json={"name": "My Blog", "server_id": server["id"]})

    assert response.status_code == 201
    app = response.json()
    assert set(app) == APP_FIELDS
    assert len(app["id"]) == 26
    assert app["name"] == "My Blog"
    assert app["server_id"] == server["id"]
    assert app["remote_path"] == "/opt/pocketbase/my-blog"
    assert app["service_name"] == "pocketbase-my-blog"
    assert app["http_port"] == 8090
    assert app["domain"] is None
    assert app["binary_name"] == "pocketbase"
    assert app["current_version"] is None
    assert app["status"] == "new"
    assert app["created"] == app["updated"]


def test_create_keeps_every_given_field(client, server):
    body = {
        "name": "shop",
        "server_id": server["id"],
        "remote_path": "/srv/apps/shop",
        "service_name": "shop-api",
        "domain": "shop.example.com",
        "http_port": 9000,
        "binary_name": "shop-server",
    }

    app = client.post("/apps", json=body).json()

    assert {k: app[k] for k in body} == body


def test_service_suffix_is_dropped_from_the_unit_name(client, server):
    body = {"name": "shop", "server_id": server["id"], "service_name": "shop.service"}

    assert client.post("/apps", json=body).json()["service_name"] == "shop"


def test_ports_are_the_next_free_from_8090_per_server(client, new_server, new_app):
    first, second = new_server(), new_server()

    ports = [new_app(first["id"])["http_port"] for _ in range(2)]
    new_app(first["id"], http_port=8092)
    ports.append(new_app(first["id"])["http_port"])
    other = new_app(second["id"])

    assert ports == [8090, 8091, 8093]
    assert other["http_port"] == 8090


def test_a_freed_port_is_handed_out_again(client, server, new_app):
    apps = [new_app(server["id"]) for _ in range(3)]
    assert client.delete(f"/apps/{apps[1]['id']}").status_code == 204

    assert new_app(server["id"])["http_port"] == 8091


def test_get_returns_what_create_returned(client, server, new_app):
    app = new_app(server["id"], domain="blog.example.com")

    response = client.get(f"/apps/{app['id']}")

    assert response.status_code == 200
    assert response.json() == app


def test_get_unknown_id_is_404(client, expect_error):
    error = expect_error(client.get("/apps/01JH8Z7C2V5M8N1P3Q4R6S7T8U"), 404, "not_found")
    assert "01JH8Z7C2V5M8N1P3Q4R6S7T8U" in error["message"]


def test_create_on_unknown_server_is_422(client, expect_error):
    body = {"name": "blog", "server_id": "01JH8Z6X4T3D3Q9V4W0Y5K7B2M"}

    expect_error(client.post("/apps", json=body), 422, "validation_failed", ["server_id"])


def test_duplicate_name_is_409_even_on_another_server(client, new_server, new_app, expect_error):
    first, second = new_server(), new_server()
    new_app(first["id"], name="blog")

    response = client.post("/apps", json={"name": "blog", "server_id": second["id"]})

    error = expect_error(response, 409, "conflict")
    assert "blog" in error["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("http_port", 8090),
        ("service_name", "pocketbase-app-1"),
        ("service_name", "pocketbase-app-1.service"),
        ("remote_path", "/opt/pocketbase/app-1"),
        ("domain", "app-1.example.com"),
    ],
)
def test_clash_on_the_same_server_is_409(client, server, new_app, expect_error, field, value):
    new_app(server["id"], name="app-1", domain="app-1.example.com")

    response = client.post("/apps", json={"name": "other", "server_id": server["id"], field: value})

    expect_error(response, 409, "conflict")
    assert client.get("/apps").json()["total"] == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("http_port", 8090),
        ("service_name", "pocketbase-app-1"),
        ("remote_path", "/opt/pocketbase/app-1"),
    ],
)
def test_same_value_on_another_server_is_fine(client, new_server, new_app, field, value):
    first, second = new_server(), new_server()
    new_app(first["id"], name="app-1")

    response = client.post("/apps", json={"name": "other", "server_id": second["id"], field: value})

    assert response.status_code == 201
    assert response.json()[field] == value


@pytest.mark.parametrize(
    "path",
    [
        "opt/pocketbase/blog",
        "/",
        "/opt/../etc",
        "/opt/pocketbase/..",
        "/opt//pocketbase",
        "//opt/pocketbase",
        "/opt/pocketbase/",
        "/opt/./pocketbase",
        "/opt/pocket base",
        "/opt/$(id)",
        "/opt/pocketbase\n",
        "/" + "a" * 255,
    ],
)
def test_bad_remote_path_is_422(client, server, expect_error, path):
    body = {"name": "blog", "server_id": server["id"], "remote_path": path}

    expect_error(client.post("/apps", json=body), 422, "validation_failed", ["remote_path"])


@pytest.mark.parametrize(
    "unit",
    [
        "pocketbase@blog",
        "$(x)",
        "pb/blog",
        "-blog",
        "pb blog",
        "pb;blog",
        "pb..blog",
        "",
        "a" * 101,
    ],
)
def test_bad_service_name_is_422(client, server, expect_error, unit):
    body = {"name": "blog", "server_id": server["id"], "service_name": unit}

    expect_error(client.post("/apps", json=body), 422, "validation_failed", ["service_name"])


@pytest.mark.parametrize(
    "domain",
    [
        "localhost",
        "203.0.113.7",
        "::1",
        "blog..example.com",
        "blog.example.com.",
        "-blog.example.com",
        "blog example.com",
        "blog.example.com/x",
        "https://blog.example.com",
        "blog_1.example.com",
        "",
    ],
)
def test_bad_domain_is_422(client, server, expect_error, domain):
    body = {"name": "blog", "server_id": server["id"], "domain": domain}

    expect_error(client.post("/apps", json=body), 422, "validation_failed", ["domain"])


@pytest.mark.parametrize("port", [0, 65536])
def test_bad_http_port_is_422(client, server, expect_error, port):
    body = {"name": "blog", "server_id": server["id"], "http_port": port}

    expect_error(client.post("/apps", json=body), 422, "validation_failed", ["http_port"])


@pytest.mark.parametrize("binary", ["..", ".", "bin/pocketbase", "pocket base", ""])
def test_bad_binary_name_is_422(client, server, expect_error, binary):
    body = {"name": "blog", "server_id": server["id"], "binary_name": binary}

    expect_error(client.post("/apps", json=body), 422, "validation_failed", ["binary_name"])


@pytest.mark.parametrize("name", ["", "-blog", "blog/1", "100%", "a" * 101])
def test_bad_name_is_422(client, server, expect_error, name):
    body = {"name": name, "server_id": server["id"]}

    expect_error(client.post("/apps", json=body), 422, "validation_failed", ["name"])


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "running"), ("current_version", "1.0"), ("id", "x"), ("port", 8090)],
)
def test_unknown_or_read_only_fields_on_create_are_422(client, server, expect_error, field, value):
    body = {"name": "blog", "server_id": server["id"], field: value}

    expect_error(client.post("/apps", json=body), 422, "validation_failed", [field])


@pytest.mark.parametrize(
    ("field", "value"), [("http_port", "8090x"), ("http_port", 80.5), ("domain", 5), ("name", None)]
)
def test_wrong_types_are_422(client, server, expect_error, field, value):
    body = {"name": "blog", "server_id": server["id"], field: value}

    expect_error(client.post("/apps", json=body), 422, "validation_failed", [field])


def test_patch_changes_only_the_given_fields(client, server, new_app):
    app = new_app(server["id"], domain="blog.example.com")

    response = client.patch(f"/apps/{app['id']}", json={"http_port": 9100, "name": "Blog 2"})

    assert response.status_code == 200
    changed = response.json()
    assert changed["http_port"] == 9100
    assert changed["name"] == "Blog 2"
    unchanged = APP_FIELDS - {"http_port", "name", "updated"}
    assert {k: changed[k] for k in unchanged} == {k: app[k] for k in unchanged}
    assert datetime.fromisoformat(changed["updated"]) > datetime.fromisoformat(app["updated"])
    assert client.get(f"/apps/{app['id']}").json() == changed


def test_patch_clears_the_domain_with_null(client, server, new_app):
    app = new_app(server["id"], domain="blog.example.com")

    response = client.patch(f"/apps/{app['id']}", json={"domain": None})

    assert response.status_code == 200
    assert response.json()["domain"] is None


def test_patch_drops_the_service_suffix(client, server, new_app):
    app = new_app(server["id"])

    response = client.patch(f"/apps/{app['id']}", json={"service_name": "blog.service"})

    assert response.json()["service_name"] == "blog"


def test_patch_with_empty_body_changes_nothing(client, server, new_app):
    app = new_app(server["id"])

    response = client.patch(f"/apps/{app['id']}", json={})

    assert response.status_code == 200
    assert response.json() == app


def test_patch_keeping_own_values_is_not_a_clash(client, server, new_app):
    app = new_app(server["id"], name="blog")
    same = {k: app[k] for k in ("name", "http_port", "service_name", "remote_path")}

    response = client.patch(f"/apps/{app['id']}", json=same)

    assert response.status_code == 200
    assert {k: response.json()[k] for k in same} == same


@pytest.mark.parametrize("field", ["http_port", "service_name", "remote_path"])
def test_patch_into_a_clash_on_the_same_server_is_409(client, server, new_app, expect_error, field):
    taken = new_app(server["id"])
    app = new_app(server["id"])

    response = client.patch(f"/apps/{app['id']}", json={field: taken[field]})

    expect_error(response, 409, "conflict")
    assert client.get(f"/apps/{app['id']}").json() == app


def test_patch_to_taken_name_is_409(client, server, new_app, expect_error):
    new_app(server["id"], name="blog")
    app = new_app(server["id"], name="shop")

    expect_error(client.patch(f"/apps/{app['id']}", json={"name": "blog"}), 409, "conflict")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"remote_path": "/opt/x/"}, ["remote_path"]),
        ({"service_name": "pb@1"}, ["service_name"]),
        ({"domain": "nodots"}, ["domain"]),
        ({"http_port": 0}, ["http_port"]),
        ({"http_port": None}, ["http_port"]),
        ({"server_id": "01JH8Z6X4T3D3Q9V4W0Y5K7B2M"}, ["server_id"]),
        ({"status": "running"}, ["status"]),
        ({"current_version": "2.0"}, ["current_version"]),
    ],
)
def test_patch_rejects_bad_and_read_only_fields(
    client, server, new_app, expect_error, body, fields
):
    app = new_app(server["id"])

    expect_error(client.patch(f"/apps/{app['id']}", json=body), 422, "validation_failed", fields)
    assert client.get(f"/apps/{app['id']}").json() == app


def test_patch_unknown_id_is_404(client, expect_error):
    expect_error(client.patch("/apps/nope", json={"http_port": 9000}), 404, "not_found")


def test_delete_without_versions(client, server, new_app, expect_error):
    app = new_app(server["id"])

    response = client.delete(f"/apps/{app['id']}")

    assert response.status_code == 204
    expect_error(client.get(f"/apps/{app['id']}"), 404, "not_found")


def test_delete_unknown_id_is_404(client, expect_error):
    expect_error(client.delete("/apps/nope"), 404, "not_found")
    expect_error(client.delete("/apps/nope?cascade=true"), 404, "not_found")


@pytest.mark.parametrize("query", ["", "?cascade=false"])
def test_delete_with_versions_is_409(client, server, new_app, new_version, expect_error, query):
    app = new_app(server["id"])
    new_version(app["id"])

    error = expect_error(client.delete(f"/apps/{app['id']}{query}"), 409, "conflict")
    assert "cascade" in error["message"]
    assert client.get(f"/apps/{app['id']}").status_code == 200


def test_delete_with_cascade_removes_the_versions(
    client, server, new_app, new_version, expect_error
):
    app = new_app(server["id"])
    other = new_app(server["id"])
    versions = [new_version(app["id"]) for _ in range(3)]
    kept = new_version(other["id"])

    response = client.delete(f"/apps/{app['id']}", params={"cascade": "true"})

    assert response.status_code == 204
    expect_error(client.get(f"/apps/{app['id']}"), 404, "not_found")
    for version in versions:
        expect_error(client.get(f"/versions/{version['id']}"), 404, "not_found")
    assert client.get(f"/versions/{kept['id']}").status_code == 200
    assert client.get("/versions").json()["total"] == 1


def test_delete_with_bad_cascade_value_is_422(client, server, new_app, expect_error):
    app = new_app(server["id"])

    expect_error(
        client.delete(f"/apps/{app['id']}?cascade=maybe"), 422, "validation_failed", ["cascade"]
    )
    assert client.get(f"/apps/{app['id']}").status_code == 200


def test_list_filters_by_server(client, new_server, new_app):
    first, second = new_server(), new_server()
    mine = [new_app(first["id"])["id"], new_app(first["id"])["id"]]
    new_app(second["id"])

    page = client.get("/apps", params={"server_id": first["id"]}).json()

    assert [item["id"] for item in page["items"]] == mine
    assert page["total"] == 2
    assert client.get("/apps", params={"server_id": "unknown"}).json()["total"] == 0


def test_list_filters_by_status(client, server, new_app, expect_error):
    apps = [new_app(server["id"])["id"] for _ in range(2)]

    page = client.get("/apps", params={"status": "new"}).json()
    assert [item["id"] for item in page["items"]] == apps
    assert client.get("/apps", params={"status": "running"}).json()["total"] == 0
    expect_error(client.get("/apps?status=bogus"), 422, "validation_failed", ["status"])


def test_list_searches_names_case_insensitively(client, server, new_app):
    blog = new_app(server["id"], name="Team Blog")
    new_app(server["id"], name="shop")

    page = client.get("/apps", params={"q": "bLoG"}).json()

    assert [item["id"] for item in page["items"]] == [blog["id"]]


def test_list_search_treats_like_wildcards_literally(client, server, new_app):
    under = new_app(server["id"], name="beta_1")
    new_app(server["id"], name="beta21")
    new_app(server["id"], name="alpha")

    assert client.get("/apps", params={"q": "%"}).json()["total"] == 0
    assert client.get("/apps", params={"q": "a%1"}).json()["total"] == 0
    underscore = client.get("/apps", params={"q": "_"}).json()
    assert [item["id"] for item in underscore["items"]] == [under["id"]]
    assert client.get("/apps", params={"q": "a_1"}).json()["total"] == 1


def test_list_combines_filters(client, new_server, new_app):
    first, second = new_server(), new_server()
    wanted = new_app(first["id"], name="blog-one")
    new_app(first["id"], name="shop")
    new_app(second["id"], name="blog-two")

    params = {"server_id": first["id"], "status": "new", "q": "blog"}
    page = client.get("/apps", params=params).json()

    assert [item["id"] for item in page["items"]] == [wanted["id"]]


def test_list_pages(client, server, new_app):
    created = [new_app(server["id"])["id"] for _ in range(7)]

    first = client.get("/apps", params={"per_page": 4}).json()
    second = client.get("/apps", params={"per_page": 4, "page": 2}).json()

    assert {k: first[k] for k in ("page", "per_page", "total", "total_pages")} == {
        "page": 1,
        "per_page": 4,
        "total": 7,
        "total_pages": 2,
    }
    assert [i["id"] for i in first["items"] + second["items"]] == created


def test_list_defaults_to_twenty_per_page(client, server, new_app):
    for _ in range(21):
        new_app(server["id"])

    page = client.get("/apps").json()

    assert len(page["items"]) == 20
    assert (page["page"], page["per_page"], page["total"], page["total_pages"]) == (1, 20, 21, 2)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"per_page": 0}, "per_page"), ({"per_page": 201}, "per_page"), ({"page": 0}, "page")],
)
def test_list_rejects_bad_paging(client, expect_error, params, field):
    expect_error(client.get("/apps", params=params), 422, "validation_failed", [field])


def test_the_proxy_serves_a_domain_with_acme_unless_told_otherwise(client, server, new_app):
    acme = new_app(server["id"], domain="blog.example.com")
    internal = new_app(server["id"], domain="shop.example.com", tls="internal")

    assert acme["tls"] == "acme"
    assert internal["tls"] == "internal"
    changed = client.patch(f"/apps/{acme['id']}", json={"tls": "off"})
    assert changed.status_code == 200
    assert changed.json()["tls"] == "off"


@pytest.mark.parametrize("tls", ["letsencrypt", "", "ACME", 1])
def test_unknown_tls_mode_is_422(client, server, expect_error, tls):
    body = {"name": "blog", "server_id": server["id"], "domain": "blog.example.com", "tls": tls}

    expect_error(client.post("/apps", json=body), 422, "validation_failed", ["tls"])


def test_apps_without_a_domain_never_clash_on_it(client, server, new_app):
    new_app(server["id"])

    second = client.post("/apps", json={"name": "other", "server_id": server["id"]})

    assert second.status_code == 201
    assert second.json()["domain"] is None


def test_deleting_a_deployed_app_queues_its_removal_from_the_host(
    client, new_server, new_app, new_version, settings, expect_error
):
    server = new_server(host="127.0.0.1", port=1)  # nothing listens: the run cannot get far
    app = new_app(server["id"])
    with sqlite3.connect(settings.data_dir / "pbdeployer.db") as db:
        db.execute("UPDATE apps SET status = 'running' WHERE id = ?", (app["id"],))
    new_version(app["id"])

    expect_error(client.delete(f"/apps/{app['id']}"), 409, "conflict")
    response = client.delete(f"/apps/{app['id']}", params={"cascade": "true"})

    assert response.status_code == 202, response.text
    task = response.json()
    assert (task["kind"], task["app_id"], task["params"]) == (
        "app_remove",
        app["id"],
        {"cascade": True},
    )
    client.post(f"/tasks/{task['id']}/cancel")

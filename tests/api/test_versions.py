"""/versions: labelled builds of an app."""

from __future__ import annotations

import pytest

VERSION_FIELDS = {
    *("id", "created", "updated", "app_id", "version_number", "deployment_zip", "notes"),
    *("zip_sha256", "zip_size", "zip_entry_count", "zip_migrations", "uploaded_at"),
}


@pytest.fixture
def app(new_server, new_app):
    return new_app(new_server()["id"])


def test_create_returns_the_version(client, app):
    body = {"app_id": app["id"], "version_number": "1.4.0", "notes": "adds comments"}

    response = client.post("/versions", json=body)

    assert response.status_code == 201
    version = response.json()
    assert set(version) == VERSION_FIELDS
    assert len(version["id"]) == 26
    assert {k: version[k] for k in body} == body
    assert version["deployment_zip"] is None
    assert version["created"] == version["updated"]


def test_notes_default_to_empty(client, app):
    response = client.post("/versions", json={"app_id": app["id"], "version_number": "1"})

    assert response.json()["notes"] == ""


def test_get_returns_what_create_returned(client, app, new_version):
    version = new_version(app["id"])

    response = client.get(f"/versions/{version['id']}")

    assert response.status_code == 200
    assert response.json() == version


def test_get_unknown_id_is_404(client, expect_error):
    error = expect_error(client.get("/versions/01JH8Z8D9E0F1G2H3J4K5M6N7P"), 404, "not_found")
    assert "01JH8Z8D9E0F1G2H3J4K5M6N7P" in error["message"]


def test_duplicate_number_for_the_same_app_is_409(client, app, new_version, expect_error):
    new_version(app["id"], version_number="2.0.0")

    response = client.post("/versions", json={"app_id": app["id"], "version_number": "2.0.0"})

    error = expect_error(response, 409, "conflict")
    assert "2.0.0" in error["message"]
    assert client.get("/versions").json()["total"] == 1


def test_same_number_for_another_app_is_fine(client, app, new_app, new_version):
    other = new_app(app["server_id"])
    new_version(app["id"], version_number="2.0.0")

    response = client.post("/versions", json={"app_id": other["id"], "version_number": "2.0.0"})

    assert response.status_code == 201


def test_version_numbers_are_case_sensitive(client, app, new_version):
    new_version(app["id"], version_number="v1")

    assert (
        client.post("/versions", json={"app_id": app["id"], "version_number": "V1"}).status_code
        == 201
    )


def test_create_for_unknown_app_is_422(client, expect_error):
    body = {"app_id": "01JH8Z7C2V5M8N1P3Q4R6S7T8U", "version_number": "1.0"}

    expect_error(client.post("/versions", json=body), 422, "validation_failed", ["app_id"])


@pytest.mark.parametrize(
    "number",
    ["", "-1", ".1", "1.0 beta", "1/0", "1.0;rm", "1.0\n", "v1@2", "{{x}}", "a" * 65],
)
def test_bad_version_number_is_422(client, app, expect_error, number):
    body = {"app_id": app["id"], "version_number": number}

    expect_error(client.post("/versions", json=body), 422, "validation_failed", ["version_number"])


@pytest.mark.parametrize(
    "number", ["1", "1.4.0", "2024.01.05", "1.0.0-rc.1", "1.0+build.7", "a" * 64]
)
def test_good_version_numbers_are_accepted(client, app, number):
    response = client.post("/versions", json={"app_id": app["id"], "version_number": number})

    assert response.status_code == 201
    assert response.json()["version_number"] == number


def test_notes_longer_than_10000_characters_are_422(client, app, expect_error):
    body = {"app_id": app["id"], "version_number": "1", "notes": "x" * 10_001}

    expect_error(client.post("/versions", json=body), 422, "validation_failed", ["notes"])
    body["notes"] = "x" * 10_000
    assert client.post("/versions", json=body).status_code == 201


@pytest.mark.parametrize(
    ("field", "value"), [("deployment_zip", "abc.zip"), ("id", "x"), ("created", "2026-01-01")]
)
def test_unknown_or_read_only_fields_are_422(client, app, expect_error, field, value):
    body = {"app_id": app["id"], "version_number": "1", field: value}

    expect_error(client.post("/versions", json=body), 422, "validation_failed", [field])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version_number": "1"}, "app_id"),
        ({"app_id": "x"}, "version_number"),
        ({"app_id": "x", "version_number": 1}, "version_number"),
        ({"app_id": "x", "version_number": "1", "notes": None}, "notes"),
    ],
)
def test_missing_or_mistyped_fields_are_422(client, expect_error, body, field):
    expect_error(client.post("/versions", json=body), 422, "validation_failed", [field])


def test_list_filters_by_app(client, app, new_app, new_version):
    other = new_app(app["server_id"])
    mine = [new_version(app["id"])["id"] for _ in range(3)]
    new_version(other["id"])

    page = client.get("/versions", params={"app_id": app["id"]}).json()

    assert [item["id"] for item in page["items"]] == mine
    assert page["total"] == 3
    assert client.get("/versions").json()["total"] == 4
    assert client.get("/versions", params={"app_id": "unknown"}).json()["total"] == 0


def test_list_pages_in_creation_order(client, app, new_version):
    created = [new_version(app["id"])["id"] for _ in range(25)]

    first = client.get("/versions").json()
    second = client.get("/versions", params={"page": 2}).json()

    assert (first["per_page"], first["total"], first["total_pages"]) == (20, 25, 2)
    assert len(first["items"]) == 20
    assert second["page"] == 2
    assert [i["id"] for i in first["items"] + second["items"]] == created


@pytest.mark.parametrize(
    ("params", "field"),
    [({"per_page": 0}, "per_page"), ({"per_page": 201}, "per_page"), ({"page": 0}, "page")],
)
def test_list_rejects_bad_paging(client, expect_error, params, field):
    expect_error(client.get("/versions", params=params), 422, "validation_failed", [field])


def test_delete_removes_the_version(client, app, new_version, expect_error):
    version = new_version(app["id"])
    kept = new_version(app["id"])

    response = client.delete(f"/versions/{version['id']}")

    assert response.status_code == 204
    expect_error(client.get(f"/versions/{version['id']}"), 404, "not_found")
    assert [i["id"] for i in client.get("/versions").json()["items"]] == [kept["id"]]
    expect_error(client.delete(f"/versions/{version['id']}"), 404, "not_found")


def test_deleted_number_can_be_used_again(client, app, new_version):
    version = new_version(app["id"], version_number="3.0")
    client.delete(f"/versions/{version['id']}")

    response = client.post("/versions", json={"app_id": app["id"], "version_number": "3.0"})

    assert response.status_code == 201


def test_delete_unknown_id_is_404(client, expect_error):
    expect_error(client.delete("/versions/nope"), 404, "not_found")


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_versions_cannot_be_changed(client, app, new_version, expect_error, method):
    version = new_version(app["id"])

    response = client.request(method, f"/versions/{version['id']}", json={"notes": "changed"})

    expect_error(response, 405, "method_not_allowed")
    assert client.get(f"/versions/{version['id']}").json() == version

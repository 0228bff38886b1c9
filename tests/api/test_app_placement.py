"""Where an app lives on its server: no tree inside another app's, no system directory,
and a free port for each of many apps created at once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from pbdeployer.api import API_PREFIX, create_app
from tests.served import ServerThread, api_client


@pytest.fixture
def server(new_server):
    return new_server()


@pytest.mark.parametrize(
    ("taken", "wanted"),
    [
        ("/srv/a", "/srv/a/releases/1.0"),
        ("/srv/a/releases/1.0", "/srv/a"),
        ("/srv/a", "/srv/a/pb_data"),
        ("/opt/pocketbase/blog", "/opt/pocketbase"),
        ("/mnt/data", "/mnt/data/b/c"),
    ],
)
def test_a_path_inside_or_around_another_apps_tree_is_422(
    client, server, new_app, expect_error, taken, wanted
):
    new_app(server["id"], name="first", remote_path=taken)

    response = client.post(
        "/apps", json={"name": "second", "server_id": server["id"], "remote_path": wanted}
    )

    error = expect_error(response, 422, "validation_failed", ["remote_path"])
    assert "'first'" in error["details"][0]["reason"]
    assert client.get("/apps").json()["total"] == 1


def test_siblings_with_a_common_prefix_do_not_overlap(client, server, new_app):
    new_app(server["id"], remote_path="/srv/app")

    assert new_app(server["id"], remote_path="/srv/app2")["remote_path"] == "/srv/app2"
    assert new_app(server["id"], remote_path="/srv/ap")["remote_path"] == "/srv/ap"


def test_nesting_on_another_server_is_fine(client, new_server, new_app):
    new_app(new_server()["id"], remote_path="/srv/a")

    assert new_app(new_server()["id"], remote_path="/srv/a/b")["remote_path"] == "/srv/a/b"


def test_moving_an_app_into_another_apps_tree_is_422(client, server, new_app, expect_error):
    new_app(server["id"], name="first", remote_path="/srv/x/a")
    second = new_app(server["id"], remote_path="/srv/b")

    for path in ["/srv/x/a/b", "/srv/x"]:
        response = client.patch(f"/apps/{second['id']}", json={"remote_path": path})
        error = expect_error(response, 422, "validation_failed", ["remote_path"])
        assert "'first'" in error["details"][0]["reason"]
    assert client.get(f"/apps/{second['id']}").json() == second


def test_moving_an_app_inside_its_own_old_tree_is_fine(client, server, new_app):
    app = new_app(server["id"], remote_path="/srv/a")

    response = client.patch(f"/apps/{app['id']}", json={"remote_path": "/srv/a/v2"})

    assert response.status_code == 200
    assert response.json()["remote_path"] == "/srv/a/v2"


@pytest.mark.parametrize(
    "path",
    [
        "/etc",
        "/etc/pocketbase",
        "/root",
        "/root/.ssh",
        "/tmp",
        "/tmp/app",
        "/usr",
        "/usr/local/app",
        "/var",
        "/var/lib",
        "/var/log/app",
        "/home",
        "/home/pocketbase",
        "/boot",
        "/bin",
        "/opt",
        "/srv",
        "/proc/1",
        "/run/app",
    ],
)
def test_a_system_directory_is_422(client, server, new_app, expect_error, path):
    app = new_app(server["id"])
    body = {"name": "sys", "server_id": server["id"], "remote_path": path}

    expect_error(client.post("/apps", json=body), 422, "validation_failed", ["remote_path"])
    response = client.patch(f"/apps/{app['id']}", json={"remote_path": path})
    expect_error(response, 422, "validation_failed", ["remote_path"])


@pytest.mark.parametrize("path", ["/srv/app", "/var/lib/app", "/home/me/app", "/mnt/data/app"])
def test_ordinary_places_are_fine(client, server, new_app, path):
    assert new_app(server["id"], remote_path=path)["remote_path"] == path


def test_parallel_creates_without_a_port_all_get_distinct_ports(settings, token):
    """Ten creates at once over real HTTP; each one is answered 201 with its own port."""
    with ServerThread(create_app(settings, token=token)) as served:
        server = api_client(served.port, token).post(
            "/servers", json={"name": "parallel", "host": "203.0.113.20"}
        )
        assert server.status_code == 201, server.text
        responses = asyncio.run(_create_at_once(served.port, token, server.json()["id"], 10))
        listed = api_client(served.port, token).get("/apps", params={"per_page": 100}).json()

    assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses]
    assert sorted(r.json()["http_port"] for r in responses) == list(range(8090, 8100))
    assert listed["total"] == 10


async def _create_at_once(port: int, token: str, server_id: str, count: int) -> list[Any]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}{API_PREFIX}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    ) as client:
        creates = (
            client.post("/apps", json={"name": f"app-{n}", "server_id": server_id})
            for n in range(count)
        )
        return list(await asyncio.gather(*creates))

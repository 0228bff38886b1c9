"""Deploy, rollback, cancel, list, status and stats through the API, without a managed host.

The deployments run for real (task queue, runner, ssh); the server points at loopback ports
of this test: one refuses connections, the other accepts and never answers, so a deployment
stays running until it is cancelled or ssh gives up. What happens on real hosts is in
``tests/integration/test_deployments.py``.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from pbdeployer.api import create_app
from pbdeployer.deployer import Deployer
from pbdeployer.models import App, AppStatus, Server, Version
from pbdeployer.models.deployments import Deployment, DeploymentStatus
from pbdeployer.models.tasks import Task, TaskFilter, TaskKind, TaskStatus
from pbdeployer.settings import Settings
from pbdeployer.store import Database, Store
from tests.conftest import BASE_URL, ErrorCheck, Json
from tests.pocketbase import build_app_zip

ACTIVE = {"queued", "running"}


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the socket goes


class Deploying:
    """A client over an app whose deployer the test can reach, for set-up the API lacks."""

    def __init__(self, client: TestClient[Any], deployer: Deployer, zip_path: Path) -> None:
        self.client = client
        self.deployer = deployer
        self.zip_path = zip_path

    def server(self, port: int, *, set_up: bool = True) -> Json:
        body = {"name": f"srv-{port}-{time.monotonic_ns()}", "host": "127.0.0.1", "port": port}
        server: Json = self.client.post("/servers", json=body).json()
        if set_up:
            store = Store(self.deployer.database.engine)
            flags = {"setup_complete": True}
            self.client.blocking_portal.call(store.servers.change, server["id"], flags)
        return server

    def app(self, server: Json, name: str = "blog") -> Json:
        response = self.client.post("/apps", json={"name": name, "server_id": server["id"]})
        assert response.status_code == 201, response.text
        body: Json = response.json()
        return body

    def version(self, app: Json, number: str = "v1", *, with_zip: bool = True) -> Json:
        fields = {"app_id": app["id"], "version_number": number}
        if not with_zip:
            body: Json = self.client.post("/versions", json=fields).json()
            return body
        with self.zip_path.open("rb") as zipped:
            response = self.client.post(
                "/versions/with-zip", data=fields, files={"file": ("app.zip", zipped)}
            )
        assert response.status_code == 201, response.text
        created: Json = response.json()
        return created

    def deploy(self, app: Json, version: Json) -> Any:
        return self.client.post(f"/apps/{app['id']}/deploy", json={"version_id": version["id"]})

    def wait(self, deployment_id: str, timeout: float = 60) -> Json:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found: Json = self.client.get(f"/deployments/{deployment_id}").json()
            if found["status"] not in ACTIVE:
                return found
            time.sleep(0.05)
        raise AssertionError(f"deployment {deployment_id} did not end: {found}")

    def wait_running(self, deployment_id: str) -> Json:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found: Json = self.client.get(f"/deployments/{deployment_id}").json()
            if found["status"] == "running":
                return found
            time.sleep(0.02)
        raise AssertionError(f"deployment {deployment_id} never ran")


@pytest.fixture
def deploying(settings: Settings, token: str, tmp_path: Path) -> Iterator[Deploying]:
    settings = msgspec.structs.replace(
        settings, ssh_connect_timeout_seconds=2, deploy_recover_seconds=0
    )
    zip_path = build_app_zip(tmp_path / "app.zip", binary=b"#!/bin/sh\nexit 0\n")
    deployer = Deployer.open(settings)
    with TestClient(create_app(settings, deployer=deployer, token=token), base_url=BASE_URL) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield Deploying(c, deployer, zip_path)


def test_deploy_checks_the_app_and_version(deploying: Deploying, expect_error: ErrorCheck) -> None:
    server = deploying.server(1)
    app = deploying.app(server)
    other = deploying.version(deploying.app(server, "other"), "v9")
    empty = deploying.version(app, "v2", with_zip=False)
    client = deploying.client
    deploy = f"/apps/{app['id']}/deploy"
    cases: list[tuple[str, Any, int, str, list[str] | None, str]] = [
        ("/apps/nope/deploy", {"version_id": other["id"]}, 404, "not_found", None, ""),
        (deploy, {"version_id": other["id"]}, 422, "validation_failed", ["version_id"],
         "belongs to another app"),
        (deploy, {"version_id": empty["id"]}, 422, "validation_failed", ["version_id"],
         "has no zip yet"),
        (deploy, {"version_id": "01JNOTHERE0000000000000000"}, 422, "validation_failed",
         ["version_id"], "does not exist"),
    ]  # fmt: skip
    for path, body, status, code, fields, reason in cases:
        error = expect_error(client.post(path, json=body), status, code, fields)
        assert all(reason in d["reason"] for d in error["details"]), error
    unknown = client.post(deploy, json={"version_id": other["id"], "x": 1})
    assert unknown.status_code == 422, unknown.text
    assert client.post(deploy).status_code == 400
    assert client.get("/deployments").json()["total"] == 0


def test_a_server_not_set_up_is_refused(deploying: Deploying, expect_error: ErrorCheck) -> None:
    app = deploying.app(deploying.server(1, set_up=False))
    response = deploying.deploy(app, deploying.version(app))
    error = expect_error(response, 409, "conflict")
    assert "not set up" in error["message"]
    assert deploying.client.get("/deployments").json()["total"] == 0


def test_unreachable_host_fails_before_the_switch_and_frees_the_lock(
    deploying: Deploying, closed_port: int
) -> None:
    app = deploying.app(deploying.server(closed_port))
    version = deploying.version(app)
    response = deploying.deploy(app, version)
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued"
    assert queued["task_id"]
    assert queued["release"] == "v1"
    ended = deploying.wait(queued["id"])
    assert ended["status"] == "failed"
    assert ended["error_code"] == "host_unreachable"
    assert "nothing was switched" in ended["error_message"]
    assert "nothing was switched" in ended["logs"]
    task = deploying.client.get(f"/tasks/{queued['task_id']}").json()
    assert task["status"] == "failed"
    assert task["error"]["code"] == "host_unreachable"
    assert deploying.client.get(f"/apps/{app['id']}").json()["status"] == "new"
    assert deploying.deploy(app, version).status_code == 202  # the lock was released


def test_a_zip_gone_from_the_store_fails_the_deployment_before_any_run(
    deploying: Deploying, closed_port: int
) -> None:
    app = deploying.app(deploying.server(closed_port))
    version = deploying.version(app)
    deploying.deployer.blobs.path(version["zip_sha256"]).unlink()
    ended = deploying.wait(deploying.deploy(app, version).json()["id"])
    assert ended["status"] == "failed"
    assert ended["error_code"] == "validation_failed"
    assert "no longer stored" in ended["error_message"]
    assert "nothing was switched" in ended["error_message"]
    assert deploying.client.get(f"/apps/{app['id']}").json()["status"] == "new"


def test_second_deploy_of_an_app_is_locked_until_the_first_ends(
    deploying: Deploying, silent_port: int, expect_error: ErrorCheck
) -> None:
    app = deploying.app(deploying.server(silent_port))
    version = deploying.version(app)
    first = deploying.deploy(app, version).json()
    deploying.wait_running(first["id"])
    assert deploying.client.get(f"/apps/{app['id']}").json()["status"] == "deploying"
    for response in (
        deploying.deploy(app, version),
        deploying.client.post(f"/apps/{app['id']}/rollback", json={"version_id": version["id"]}),
    ):
        error = expect_error(response, 409, "deployment_locked")
        assert first["id"] in error["message"]
    expect_error(
        deploying.client.delete(f"/apps/{app['id']}?cascade=true"), 409, "deployment_locked"
    )
    cancelled = deploying.client.post(f"/deployments/{first['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    ended = deploying.wait(first["id"])
    assert ended["status"] == "cancelled"
    assert "cancelled before the switch" in ended["error_message"]
    expect_error(deploying.client.post(f"/deployments/{first['id']}/cancel"), 409, "conflict")
    again = deploying.deploy(app, version)
    assert again.status_code == 202, again.text


def test_a_queued_deployment_cancels_at_once(deploying: Deploying, silent_port: int) -> None:
    server = deploying.server(silent_port)
    first_app, second_app = deploying.app(server), deploying.app(server, "shop")
    first = deploying.deploy(first_app, deploying.version(first_app)).json()
    deploying.wait_running(first["id"])
    second = deploying.deploy(second_app, deploying.version(second_app)).json()
    status = deploying.client.get(f"/deployments/{second['id']}/status").json()
    assert status["status"] == "queued"  # one change at a time per server
    response = deploying.client.post(f"/deployments/{second['id']}/cancel")
    assert response.json()["status"] == "cancelled"
    assert response.json()["error_message"] == "cancelled before it started; nothing changed"
    assert deploying.client.get(f"/apps/{second_app['id']}").json()["status"] == "new"
    assert deploying.deploy(second_app, deploying.version(second_app, "v2")).status_code == 202
    deploying.client.post(f"/deployments/{first['id']}/cancel")


def test_rollback_needs_an_earlier_release_and_a_snapshot_to_restore(
    deploying: Deploying, expect_error: ErrorCheck
) -> None:
    app = deploying.app(deploying.server(1))
    version = deploying.version(app)
    error = expect_error(deploying.client.post(f"/apps/{app['id']}/rollback"), 409, "conflict")
    assert "no earlier successful release" in error["message"]
    response = deploying.client.post(
        f"/apps/{app['id']}/rollback", json={"version_id": version["id"], "restore_data": True}
    )
    expect_error(response, 422, "validation_failed", ["restore_data"])


def test_list_get_status_and_stats(
    deploying: Deploying, closed_port: int, expect_error: ErrorCheck
) -> None:
    server = deploying.server(closed_port)
    blog, shop = deploying.app(server), deploying.app(server, "shop")
    ids = []
    for app in (blog, shop, blog):
        ids.append(deploying.deploy(app, deploying.version(app, f"v{len(ids)}")).json()["id"])
        deploying.wait(ids[-1])
    client = deploying.client
    assert [d["id"] for d in client.get("/deployments").json()["items"]] == ids
    mine = client.get("/deployments", params={"app_id": blog["id"], "status": "failed"}).json()
    assert [d["id"] for d in mine["items"]] == [ids[0], ids[2]]
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert client.get("/deployments", params={"since": later}).json()["total"] == 0
    first = client.get(f"/deployments/{ids[0]}").json()["created"]
    upto_first = client.get("/deployments", params={"until": first}).json()
    assert [d["id"] for d in upto_first["items"]] == [ids[0]]
    expect_error(
        client.get("/deployments", params={"since": later, "until": first}), 422,
        "validation_failed", ["since"],
    )  # fmt: skip
    status = client.get(f"/deployments/{ids[0]}/status").json()
    assert status["status"] == "failed"
    assert status["duration_seconds"] >= 0
    assert status["error_code"] == "host_unreachable"
    stats = client.get("/deployments/stats").json()
    assert stats["total"] == 3
    assert stats["by_status"] == {"failed": 3}
    assert stats["success_rate"] == 0.0
    assert stats["duration"]["p50_seconds"] is not None
    assert {a["app_id"]: a["total"] for a in stats["apps"]} == {blog["id"]: 2, shop["id"]: 1}
    busiest = client.get("/deployments/stats", params={"apps": 1}).json()
    assert (busiest["apps_total"], [a["app_id"] for a in busiest["apps"]]) == (2, [blog["id"]])
    upto = client.get("/deployments/stats", params={"until": first, "since": "2000-01-01T00:00Z"})
    expect_error(upto, 422, "validation_failed", ["since"])  # more than 366 days
    just_first = client.get("/deployments/stats", params={"until": first}).json()
    assert (just_first["total"], just_first["apps_total"]) == (1, 1)
    expect_error(
        client.get("/deployments/stats", params={"apps": 501}), 422, "validation_failed", ["apps"]
    )
    expect_error(
        client.get("/deployments/stats", params={"since": later}), 422, "validation_failed",
        ["since"],
    )  # fmt: skip
    early = client.get("/deployments/stats", params={"until": "0001-01-14T00:49:01Z"})
    expect_error(early, 422, "validation_failed", ["until"])
    expect_error(
        client.get("/deployments", params={"status": "sideways"}), 422, "validation_failed",
        ["status"],
    )  # fmt: skip
    expect_error(client.get("/deployments/01JNOTHERE0000000000000000"), 404, "not_found")


def test_restart_recovers_a_deployment_the_old_process_left_running(
    settings: Settings, closed_port: int
) -> None:
    """Its task is marked interrupted; a recover task runs, the deployment ends, the lock frees.

    The host is unreachable here, so the recovery cannot reach it and says so (at once: the
    retry window for hosts that went away is set to nothing).
    """
    settings = msgspec.structs.replace(settings, deploy_recover_seconds=0)

    async def scenario() -> tuple[Deployment, str | None, list[Task]]:
        database = Database(settings.sqlalchemy_url)
        await database.open()
        store = Store(database.engine)
        now = datetime.now(UTC)
        server = await store.servers.add(_server(now, closed_port))
        app = await store.apps.add(_app(now, server.id))
        version = await store.versions.add(_version(now, app.id))
        task = _task(now, server.id, app.id)
        await store.tasks.add(task)
        await store.deployments.add_locked(_deployment(now, app.id, version.id, task))
        await database.close()
        async with Deployer.open(settings) as again:
            store = Store(again.database.engine)
            deadline = time.monotonic() + 60
            while not _both_ended(tasks := await _tasks_of(again, app.id)):
                assert time.monotonic() < deadline, tasks
                await asyncio.sleep(0.05)
            ended = await store.deployments.get(DEPLOYMENT_ID)
            return ended, await store.deployments.lock_holder(app.id), tasks

    ended, holder, tasks = asyncio.run(scenario())
    assert ended.status is DeploymentStatus.INTERRUPTED
    assert ended.error_message
    assert "the controller stopped during this deployment" in (ended.error_message)
    assert "recovering the host failed" in ended.error_message
    assert holder is None
    assert [(t.kind, t.status) for t in tasks] == [
        (TaskKind.DEPLOY, TaskStatus.INTERRUPTED),
        (TaskKind.DEPLOY_RECOVER, TaskStatus.FAILED),
    ]


DEPLOYMENT_ID = "01JDEPLOYMENT0000000000000"


def _both_ended(tasks: list[Task]) -> bool:
    """The interrupted deploy task and the recover task after it have both finished."""
    return len(tasks) == 2 and all(task.status.finished for task in tasks)


async def _tasks_of(deployer: Deployer, app_id: str) -> list[Task]:
    return (await deployer.operations.list_tasks(TaskFilter(app_id=app_id))).items


def _server(now: datetime, port: int) -> Server:
    return Server(
        id="01JSERVER00000000000000000", created=now, updated=now, name="s", host="127.0.0.1",
        port=port, root_username="root", app_username="pocketbase", use_ssh_agent=False,
        manual_key_path=None, setup_complete=True, security_locked=False,
    )  # fmt: skip


def _app(now: datetime, server_id: str) -> App:
    return App(
        id="01JAPP0000000000000000000A", created=now, updated=now, name="a", server_id=server_id,
        remote_path="/opt/pocketbase/a", service_name="pb-a", domain=None, http_port=8090,
        binary_name="pocketbase", current_version=None, status=AppStatus.DEPLOYING,
    )  # fmt: skip


def _version(now: datetime, app_id: str) -> Version:
    return Version(
        id="01JVERSION0000000000000000", created=now, updated=now, app_id=app_id,
        version_number="v1", deployment_zip="sha256:" + "0" * 64, notes="", zip_sha256="0" * 64,
    )  # fmt: skip


def _task(now: datetime, server_id: str, app_id: str) -> Task:
    return Task(
        id="01JTASK0000000000000000000", kind=TaskKind.DEPLOY, status=TaskStatus.RUNNING,
        mutating=True, server_id=server_id, app_id=app_id, deployment_id=DEPLOYMENT_ID,
        params={}, progress=40, step="switch", created=now, started_at=now, finished_at=None,
        error=None, result=None, event_count=0,
    )  # fmt: skip


def _deployment(now: datetime, app_id: str, version_id: str, task: Task) -> Deployment:
    return Deployment(
        id=DEPLOYMENT_ID, created=now, updated=now, app_id=app_id, version_id=version_id,
        status=DeploymentStatus.RUNNING, logs="", started_at=now, completed_at=None,
        server_id=task.server_id, task_id=task.id, release="v1",
    )  # fmt: skip

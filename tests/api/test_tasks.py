"""Host operations answer 202 with a task; /tasks reads and cancels them.

The app runs over a real queue and real SQLite. Task bodies that would reach a host are
replaced by real local ansible-playbook runs (``ansible_connection=local``): ``sleep.yml`` for
the operations that change a host (cancelled by the tests), ``ping.yml`` for the audit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from pbdeployer.api import create_app
from pbdeployer.deployer import Deployer
from pbdeployer.errors import RunTimeout
from pbdeployer.models import AppCreate, AuditReport, ServerCreate
from pbdeployer.models.tasks import TaskKind, TaskStatus
from pbdeployer.services.task_runner import InProcessTaskQueue
from pbdeployer.services.tasks import OperationHandlers, TaskHandler, TaskRuns
from pbdeployer.settings import Settings
from pbdeployer.store.audits import AuditRepository
from pbdeployer.store.tasks import TaskRepository
from tests.conftest import BASE_URL, ErrorCheck, Json
from tests.unit.runner.test_runner_local import PLAYBOOKS
from tests.unit.tasks.test_task_ansible import playbook_body, task_runs

FINISHED = {s.value for s in TaskStatus if s.finished}


@dataclass
class Queued:
    """A client over an app with a running task queue, and what it was built from."""

    client: TestClient[Any]
    deployer: Deployer
    queue: InProcessTaskQueue


def local_handlers(deployer: Deployer, runs: TaskRuns) -> dict[TaskKind, TaskHandler]:
    """The real handlers, with every body that would reach a host run locally instead."""
    sleep = playbook_body(runs, str(PLAYBOOKS / "sleep.yml"), forward=True)
    return OperationHandlers(deployer.setup, deployer.security, deployer.services).handlers() | {
        TaskKind.SETUP: sleep,
        TaskKind.SETUP_USER: sleep,
        TaskKind.SETUP_PACKAGES: sleep,
        TaskKind.LOCKDOWN: sleep,
        TaskKind.SERVICE_CONTROL: sleep,
        TaskKind.PROXY_SITE: sleep,
        TaskKind.AUDIT: playbook_body(runs, "ping.yml", forward=True),
        TaskKind.SERVICE_STATUS: sleep,
        TaskKind.SERVICE_LOGS: playbook_body(runs, str(PLAYBOOKS / "fail.yml"), forward=True),
    }


def use_local_bodies(deployer: Deployer, runs: TaskRuns) -> InProcessTaskQueue:
    """Give the deployer a queue whose host-reaching bodies run locally (before it starts)."""
    engine = deployer.database.engine
    handlers = local_handlers(deployer, runs)
    deployer.tasks = InProcessTaskQueue(
        TaskRepository(engine), deployer.event_log, handlers, workers=2
    )
    deployer.operations.queue = deployer.tasks
    return deployer.tasks


@pytest.fixture
def queued(settings: Settings, token: str, tmp_path: Path) -> Iterator[Queued]:
    deployer = Deployer.open(settings)
    queue = use_local_bodies(deployer, task_runs(tmp_path))
    app = create_app(settings, deployer=deployer, token=token)
    with TestClient(app, base_url=BASE_URL) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield Queued(client, deployer, queue)


@pytest.fixture
def server(queued: Queued) -> Json:
    response = queued.client.post("/servers", json={"name": "web1", "host": "203.0.113.10"})
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


@pytest.fixture
def app(queued: Queued, server: Json) -> Json:
    response = queued.client.post("/apps", json={"name": "blog", "server_id": server["id"]})
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


def wait_for(client: TestClient[Any], task_id: str, done: Callable[[Json], bool]) -> Json:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        task: Json = client.get(f"/tasks/{task_id}").json()
        if done(task):
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} never got there: {task}")


def finished(client: TestClient[Any], task_id: str) -> Json:
    return wait_for(client, task_id, lambda task: task["status"] in FINISHED)


def stored_events(client: TestClient[Any], path: str, count: int) -> list[Json]:
    """The task's events once all ``count`` are stored (they are written in batches)."""
    deadline = time.monotonic() + 10
    events: list[Json] = client.get(path).json()
    while len(events) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        events = client.get(path).json()
    return events


def test_host_operations_answer_202_with_a_queued_task(queued: Queued, app: Json) -> None:
    client, sid = queued.client, app["server_id"]
    posts = [
        (f"/servers/{sid}/setup", {"packages": ["htop"]}, "setup",
         {"extra_packages": ["htop"], "proxy": False}),
        (f"/servers/{sid}/setup", {"proxy": True}, "setup", {"extra_packages": [], "proxy": True}),
        (f"/servers/{sid}/setup/user", None, "setup_user", {}),
        (f"/servers/{sid}/setup/packages", {"packages": ["jq"]}, "setup_packages",
         {"extra_packages": ["jq"]}),
        (f"/servers/{sid}/security/lockdown", None, "lockdown", {"extra_ports": []}),
        (f"/servers/{sid}/security/lockdown", {"extra_ports": [8443]}, "lockdown",
         {"extra_ports": [8443]}),
        (f"/apps/{app['id']}/site", None, "proxy_site", {}),
        (f"/services/{sid}/{app['service_name']}", {"action": "restart"}, "service_control",
         {"action": "restart"}),
    ]  # fmt: skip
    tasks = []
    for path, body, kind, params in posts:
        response = client.post(path, json=body)
        assert response.status_code == 202, response.text
        task = response.json()
        assert (task["kind"], task["status"], task["params"]) == (kind, "queued", params)
        assert task["mutating"] is True
        assert task["server_id"] == sid
        assert client.get(f"/tasks/{task['id']}").json()["id"] == task["id"]
        tasks.append(task)
    assert tasks[-1]["app_id"] == app["id"]

    first = wait_for(client, tasks[0]["id"], lambda task: task["status"] == "running")
    assert first["started_at"] is not None
    for task in tasks[1:]:  # one mutating task per server: the others wait their turn
        assert client.get(f"/tasks/{task['id']}").json()["status"] == "queued"
        cancelled = client.post(f"/tasks/{task['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        assert cancelled.json()["error"]["code"] == "cancelled"

    assert client.post(f"/tasks/{first['id']}/cancel").status_code == 200
    assert finished(client, first["id"])["status"] == "cancelled"


def test_an_audit_runs_in_the_background_to_its_end(queued: Queued, server: Json) -> None:
    response = queued.client.post(f"/servers/{server['id']}/security/audit")
    assert response.status_code == 202, response.text
    task = response.json()
    assert (task["kind"], task["mutating"]) == ("audit", False)

    done = finished(queued.client, task["id"])
    assert done["status"] == "succeeded", done
    assert done["progress"] == 100
    assert done["result"]["outcome"] == "succeeded"
    assert done["event_count"] >= 5
    again = queued.client.post(f"/tasks/{task['id']}/cancel")
    assert again.json()["status"] == "succeeded"  # a finished task stays as it ended


def test_stored_events_page_by_seq(queued: Queued, server: Json, expect_error: ErrorCheck) -> None:
    task_id = queued.client.post(f"/servers/{server['id']}/security/audit").json()["id"]
    count = finished(queued.client, task_id)["event_count"]
    path = f"/tasks/{task_id}/events"

    events = stored_events(queued.client, path, count)
    assert [e["seq"] for e in events] == list(range(1, count + 1))
    assert events[-1]["type"] == "task_finished"
    assert any(e["type"] == "host_result" for e in events)
    assert queued.client.get(path, params={"after": 2, "limit": 2}).json() == events[2:4]
    assert queued.client.get(path, params={"after": count}).json() == []
    expect_error(queued.client.get(path, params={"after": -1}), 422, "validation_failed", ["after"])


def test_the_latest_audit_comes_with_its_age(
    queued: Queued, server: Json, expect_error: ErrorCheck
) -> None:
    path = f"/servers/{server['id']}/security/audit"
    expect_error(queued.client.get(path), 404, "not_found")
    report = AuditReport(
        id="01JH8ZA2B3C4D5E6F7G8H9J0K1",
        server_id=server["id"],
        created=datetime.now(UTC) - timedelta(minutes=5),
        score=100,
        summary={"pass": 1, "fail": 0, "warn": 0},  # type: ignore[arg-type]
        findings=[],
    )
    queued.client.blocking_portal.call(AuditRepository(queued.deployer.database.engine).add, report)

    body = queued.client.get(path).json()
    assert body["report"]["id"] == report.id
    assert 300 <= body["age_seconds"] < 360


def test_a_failed_read_answers_with_the_run_error(
    queued: Queued, app: Json, expect_error: ErrorCheck
) -> None:
    path = f"/services/{app['server_id']}/{app['service_name']}/logs"
    expect_error(queued.client.get(path, params={"lines": 5}), 502, "run_failed")


async def test_a_slow_read_is_cancelled_and_answers_504(settings: Settings, tmp_path: Path) -> None:
    deployer = Deployer.open(settings)
    use_local_bodies(deployer, task_runs(tmp_path))
    async with deployer:
        srv = await deployer.servers.create(ServerCreate(name="slow", host="203.0.113.10"))
        app = await deployer.apps.create(AppCreate(name="blog", server_id=srv.id))
        deployer.operations.read_timeout = 1.0
        with pytest.raises(RunTimeout, match="did not answer within 1 s") as timed_out:
            await deployer.operations.unit(srv.id, app.service_name)
        task_id = str(timed_out.value).split("'")[1]
        events = [event async for event in deployer.tasks.events(task_id)]
        assert (await deployer.tasks.get(task_id)).status is TaskStatus.CANCELLED
        assert events[-1].seq == len(events)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/servers/{nope}/setup", None),
        ("POST", "/servers/{nope}/setup/user", None),
        ("POST", "/servers/{nope}/setup/packages", {"packages": []}),
        ("POST", "/servers/{nope}/security/lockdown", None),
        ("POST", "/servers/{nope}/security/audit", None),
        ("GET", "/servers/{nope}/security/audit", None),
        ("POST", "/apps/{nope}/site", None),
        ("GET", "/services/{nope}", None),
        ("GET", "/services/{sid}/nosuchunit", None),
        ("POST", "/services/{sid}/nosuchunit", {"action": "start"}),
        ("GET", "/services/{sid}/nosuchunit/logs", None),
        ("GET", "/tasks/{nope}", None),
        ("GET", "/tasks/{nope}/events", None),
        ("POST", "/tasks/{nope}/cancel", None),
    ],
)
def test_unknown_targets_answer_404(
    queued: Queued, server: Json, expect_error: ErrorCheck, method: str, path: str, body: Any
) -> None:
    url = path.format(nope="01NOSUCHTHING0000000000000", sid=server["id"])
    expect_error(queued.client.request(method, url, json=body), 404, "not_found")


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        ("/servers/{sid}/setup/packages", {"packages": ["ok", "bad;pkg"]}, ["packages[1]"]),
        ("/servers/{sid}/setup", {"packages": ["$(reboot)"]}, ["packages[0]"]),
        ("/servers/{sid}/security/lockdown", {"extra_ports": [22, 70000]}, ["extra_ports[1]"]),
        ("/servers/{sid}/setup/packages", {"packages": ["jq", "htop", "jq"]}, ["packages[2]"]),
        ("/servers/{sid}/security/lockdown", {"extra_ports": [8443, 8443]}, ["extra_ports[1]"]),
        ("/servers/{sid}/setup", {"packages": [f"pkg{i}" for i in range(101)]}, ["packages"]),
        ("/servers/{sid}/security/lockdown", {"extra_ports": [*range(1, 102)]}, ["extra_ports"]),
        ("/services/{sid}/{unit}", {"action": "explode"}, ["action"]),
    ],
)
def test_bad_input_answers_422_and_queues_nothing(
    queued: Queued, app: Json, expect_error: ErrorCheck, path: str, body: Json, fields: list[str]
) -> None:
    url = path.format(sid=app["server_id"], unit=app["service_name"])
    expect_error(queued.client.post(url, json=body), 422, "validation_failed", fields)
    assert queued.queue.running_count == 0


def test_log_lines_are_bounded(queued: Queued, app: Json, expect_error: ErrorCheck) -> None:
    url = f"/services/{app['server_id']}/{app['service_name']}/logs"
    expect_error(queued.client.get(url, params={"lines": 0}), 422, "validation_failed", ["lines"])


def test_tasks_list_with_filters_and_pages(queued: Queued, server: Json) -> None:
    client = queued.client
    other = client.post("/servers", json={"name": "web2", "host": "203.0.113.11"}).json()
    first = client.post(f"/servers/{server['id']}/setup/user").json()
    second = client.post(f"/servers/{server['id']}/setup/user").json()
    third = client.post(f"/servers/{other['id']}/setup/user").json()
    for task in (first, second, third):
        client.post(f"/tasks/{task['id']}/cancel")
        finished(client, task["id"])

    everything = client.get("/tasks").json()
    assert [t["id"] for t in everything["items"]] == [first["id"], second["id"], third["id"]]
    assert everything["total"] == 3
    on_server = client.get("/tasks", params={"server_id": server["id"]}).json()
    assert [t["id"] for t in on_server["items"]] == [first["id"], second["id"]]
    cancelled = client.get("/tasks", params={"status": "cancelled", "kind": "setup_user"}).json()
    assert cancelled["total"] == 3
    paged = client.get("/tasks", params={"per_page": 2, "page": 2}).json()
    assert [t["id"] for t in paged["items"]] == [third["id"]]
    assert paged["total_pages"] == 2
    assert client.get("/tasks", params={"status": "bogus"}).status_code == 422

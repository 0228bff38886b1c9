"""Host tasks through the served API on a real host: the WebSocket stream, reconnects, cancel,
reads that answer while a task runs, and one changing task per server at a time.

One ``pbdeployer serve`` process and one host serve the whole module; every test leaves the
host set up and no task of its own running.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest

from pbdeployer.runner._procs import marked_pids
from pbdeployer.settings import DATABASE_FILE
from pbdeployer.testing.hosts import HostPool, TestHost
from tests.served import Controller, EventSocket, Json, processes_under, wait_for

pytestmark = [pytest.mark.host, pytest.mark.slow]
FINISHED = {"succeeded", "failed", "cancelled", "interrupted"}
QUICK_READ_SECONDS = 1.0


@dataclass
class Api:
    controller: Controller
    client: httpx.Client
    server: Json

    @property
    def port(self) -> int:
        return self.controller.port

    def post(self, path: str, status: int = 202) -> Json:
        response = self.client.post(path, json={})
        assert response.status_code == status, response.text
        body: Json = response.json()
        return body

    def setup(self, part: str = "") -> Json:
        """Queue the server's setup (``part``: ``/user`` or ``/packages``)."""
        return self.post(f"/servers/{self.server['id']}/setup{part}")

    def stored_events(self, task_id: str) -> list[Json]:
        events: list[Json] = []
        while not events or events[-1]["type"] != "task_finished":
            after = events[-1]["seq"] if events else 0
            page = self.client.get(f"/tasks/{task_id}/events", params={"after": after}).json()
            assert page, f"task {task_id} has no stored task_finished"
            events += page
        return events

    def stored_row(self, task_id: str) -> tuple[str, int, str]:
        """``(status, progress, step)`` as the task's row holds them, read from the file."""
        path = self.controller.data_dir / DATABASE_FILE
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            query = "SELECT status, progress, step FROM tasks WHERE id = ?"
            [row] = db.execute(query, (task_id,)).fetchall()
        return row[0], row[1], row[2]


@pytest.fixture(scope="module")
def host(host_pool: HostPool) -> Iterator[TestHost]:
    made = host_pool.create()
    yield made
    host_pool.destroy(made)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, host: TestHost) -> Iterator[Api]:
    controller = Controller(tmp_path_factory.mktemp("api-tasks") / "data")
    client = controller.start()
    created = client.post(
        "/servers",
        json={"name": "api-tasks", "host": host.address, "manual_key_path": host.key_path},
    )
    assert created.status_code == 201, created.text
    yield Api(controller, client, created.json())
    client.close()
    controller.stop()


def wait_running_with_step(api: Api, task_id: str, seconds: float = 120) -> Json:
    """The task once it runs an Ansible task (its live step names it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        task: Json = api.client.get(f"/tasks/{task_id}").json()
        assert task["status"] in {"queued", "running"}, task
        if task["status"] == "running" and task["step"]:
            return task
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} never got to an Ansible task")


def run_of(api: Api, task_id: str) -> str:
    """The id of the Ansible run a running task has started (from its stored events)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = api.client.get(f"/tasks/{task_id}/events").json()
        for event in events:
            if event["type"] == "run_step":
                run_id: str = event["run"]["run_id"]
                return run_id
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} stored no run event")


def timed_get(api: Api, path: str) -> float:
    started = time.monotonic()
    response = api.client.get(path)
    assert response.status_code == 200, response.text
    return time.monotonic() - started


def test_setup_streams_every_event_in_order_while_reads_answer(api: Api) -> None:
    socket = EventSocket(api.port)
    server_topic = f"server:{api.server['id']}"
    socket.subscribe(server_topic, confirm=True)  # live only: before the task exists
    task_id = api.setup()["id"]
    task_topic = f"task:{task_id}"
    socket.subscribe(task_topic)  # replayed from its first event
    with ThreadPoolExecutor(1) as reader:
        received = reader.submit(socket.by_topic, [server_topic, task_topic], 600)
        wait_running_with_step(api, task_id)
        reads = {
            path: timed_get(api, path)
            for path in ("/servers", f"/servers/{api.server['id']}", f"/tasks/{task_id}", "/tasks")
        }
        still = api.client.get(f"/tasks/{task_id}").json()
        deadline = time.monotonic() + 5
        while api.stored_row(task_id)[2] == "" and time.monotonic() < deadline:
            time.sleep(0.1)
        status, _, step = api.stored_row(task_id)  # as another process reads it
        by_topic = received.result(timeout=600)
    socket.close()

    assert still["status"] == "running", "the reads must answer while the task runs"
    assert all(seconds < QUICK_READ_SECONDS for seconds in reads.values()), reads
    assert step, "the step reaches the row while the task runs"
    assert status in {"running", "succeeded"}
    task = api.client.get(f"/tasks/{task_id}").json()
    assert task["status"] == "succeeded", task
    stored = api.stored_events(task_id)
    for events in by_topic.values():
        assert [e["seq"] for e in events] == list(range(1, task["event_count"] + 1))
        assert events[-1]["type"] == "task_finished"
        assert (events[-1]["status"], events[-1]["event_count"]) == ("succeeded", len(events))
        assert events == stored
    assert any(e["type"] == "host_result" for e in stored)


def test_a_client_that_reconnects_gets_the_rest_exactly_once(api: Api) -> None:
    task_id = api.setup("/user")["id"]
    first = EventSocket(api.port)
    first.subscribe(f"task:{task_id}")
    before = first.events(lambda e: e["type"] == "host_result", 300)  # a result: mid-run
    first.close()
    assert api.client.get(f"/tasks/{task_id}").json()["status"] == "running"
    time.sleep(1)  # events go on while nobody listens

    second = EventSocket(api.port)
    second.subscribe(f"task:{task_id}", after=before[-1]["seq"])
    after = second.until_finished(300)
    second.close()

    everything = before + after
    task = wait_for(api.client, task_id, FINISHED, 10)
    assert task["status"] == "succeeded", task
    assert [e["seq"] for e in everything] == list(range(1, task["event_count"] + 1))
    assert everything == api.stored_events(task_id)
    assert len(after) > 1


def test_cancel_of_queued_and_running_tasks(api: Api) -> None:
    running = api.setup()
    wait_running_with_step(api, running["id"])
    queued = api.setup("/user")  # changes the same server: waits behind the running setup
    assert api.client.get(f"/tasks/{queued['id']}").json()["status"] == "queued"

    started = time.monotonic()
    cancelled = api.post(f"/tasks/{queued['id']}/cancel", status=200)
    assert time.monotonic() - started < QUICK_READ_SECONDS
    assert (cancelled["status"], cancelled["started_at"]) == ("cancelled", None)
    statuses = [e.get("status") for e in api.stored_events(queued["id"])]
    assert statuses == ["queued", "cancelled", "cancelled"]

    run_id = run_of(api, running["id"])
    run_dir = api.controller.data_dir / "runs" / run_id
    assert marked_pids(run_id), "the run is under way"
    api.post(f"/tasks/{running['id']}/cancel", status=200)
    task = wait_for(api.client, running["id"], FINISHED, 15)
    assert task["status"] == "cancelled", task
    run_ids = {e["run"]["run_id"] for e in api.stored_events(running["id"]) if "run" in e}
    assert run_ids == {run_id}
    deadline = time.monotonic() + 5
    while (marked_pids(run_id) or processes_under(run_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marked_pids(run_id) == [], "ansible-playbook or ssh of the run outlived the cancel"
    assert processes_under(run_dir) == []


def test_changing_tasks_on_one_server_run_one_after_the_other(api: Api) -> None:
    first, second = api.setup("/user"), api.setup("/user")
    done = [wait_for(api.client, t["id"], FINISHED, 300) for t in (first, second)]
    assert [t["status"] for t in done] == ["succeeded", "succeeded"], done
    assert at(done[0]["finished_at"]) <= at(done[1]["started_at"])
    first_end = api.stored_events(first["id"])[-1]["created"]
    second_start = [
        e["created"] for e in api.stored_events(second["id"]) if e.get("status") == "running"
    ]
    assert at(first_end) <= at(second_start[0])


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)

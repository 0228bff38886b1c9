"""SIGKILL the controller mid-task: after a restart the task is interrupted and the host is free."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pbdeployer.testing.hosts import TestHost
from tests.served import Controller, processes_under, wait_for

pytestmark = [pytest.mark.host, pytest.mark.slow]


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    running = Controller(tmp_path / "data")
    yield running
    running.stop()


def test_sigkill_mid_task_then_restart(controller: Controller, fresh_host: TestHost) -> None:
    client = controller.start()
    server = client.post(
        "/servers",
        json={"name": "crashy", "host": fresh_host.address, "manual_key_path": fresh_host.key_path},
    ).json()
    accepted = client.post(f"/servers/{server['id']}/setup", json={"packages": []})
    assert accepted.status_code == 202, accepted.text
    task_id = accepted.json()["id"]
    wait_for(client, task_id, {"running"}, 60)
    time.sleep(3)  # ansible is now working on the host
    for _ in range(100):  # on an Ansible task, whose name the row holds a second later
        if client.get(f"/tasks/{task_id}").json()["step"]:
            break
        time.sleep(0.1)
    time.sleep(1.5)

    controller.kill()
    client = controller.start()

    task = wait_for(client, task_id, {"interrupted"}, 10)
    assert "controller stopped" in task["error"]["message"]
    assert task["step"], "the step saved while the task ran outlives the crash"
    runs = controller.data_dir / "runs"
    for _ in range(50):
        if not processes_under(runs):
            break
        time.sleep(0.1)
    assert processes_under(runs) == []

    again = client.post(f"/servers/{server['id']}/setup", json={"packages": []})
    assert again.status_code == 202
    finished = wait_for(client, again.json()["id"], {"succeeded", "failed"}, 600)
    assert finished["status"] == "succeeded", finished

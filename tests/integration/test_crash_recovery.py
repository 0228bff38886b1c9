"""SIGKILL the controller mid-task: after a restart the task is interrupted and the host is free."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pbdeployer.testing.hosts import TestHost

pytestmark = [pytest.mark.host, pytest.mark.slow]
TOKEN = "crash-test-token-Zq81"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Controller:
    """``pbdeployer serve`` as its own process over one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> httpx.Client:
        env = os.environ | {
            "PBDEPLOYER_DATA_DIR": str(self.data_dir),
            "PBDEPLOYER_API_TOKEN": TOKEN,
        }
        argv = [sys.executable, "-m", "pbdeployer", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}/api/v1",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if client.get("/health").status_code == 200:
                    return client
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("pbdeployer serve did not come up")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    running = Controller(tmp_path / "data")
    yield running
    running.stop()


def wait_for(client: httpx.Client, task_id: str, done: set[str], limit: float) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        task: dict[str, Any] = client.get(f"/tasks/{task_id}").json()
        if task["status"] in done:
            return task
        time.sleep(0.3)
    raise AssertionError(f"task {task_id} never reached {done}")


def processes_under(path: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(path).encode() in cmdline:
                found.append(int(entry.name))
    return found


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

    controller.kill()
    client = controller.start()

    task = wait_for(client, task_id, {"interrupted"}, 10)
    assert "controller stopped" in task["error"]["message"]
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

"""Finding a run's processes by their environment, and naming its SSH control sockets."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ansible.plugins.connection.ssh import Connection

from pbdeployer.models.ids import new_id
from pbdeployer.runner._procs import (
    MARKER,
    close_control_masters,
    control_socket,
    kill_run_processes,
    marked_pids,
)


@pytest.fixture
def detached_sleeper() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A process in its own session carrying a run marker, like a daemonized ssh."""
    run_id = new_id()
    proc = subprocess.Popen(
        ["sleep", "600"], env={**os.environ, MARKER: run_id}, start_new_session=True
    )
    yield run_id, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def wait_marked(run_id: str, timeout: float = 5) -> list[int]:
    """Right after exec a process briefly shows an empty environ; wait until it is readable."""
    deadline = time.monotonic() + timeout
    while not (pids := marked_pids(run_id)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return pids


def wait_gone(proc: subprocess.Popen[bytes], timeout: float = 5) -> int | None:
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return proc.returncode


def test_marked_processes_are_found_and_killed(
    detached_sleeper: tuple[str, subprocess.Popen[bytes]],
) -> None:
    run_id, proc = detached_sleeper
    assert wait_marked(run_id) == [proc.pid]
    assert marked_pids(new_id()) == []
    assert kill_run_processes(run_id) == 1
    assert wait_gone(proc) == -9
    assert marked_pids(run_id) == []


def test_a_marker_prefix_does_not_match(
    detached_sleeper: tuple[str, subprocess.Popen[bytes]],
) -> None:
    run_id, proc = detached_sleeper
    assert wait_marked(run_id) == [proc.pid]
    assert marked_pids(run_id[:-1]) == []


@pytest.mark.parametrize(
    ("host", "port", "user"), [("10.200.0.11", 22, "root"), ("web.example", 2222, "pb")]
)
def test_control_socket_matches_ansibles_name(host: str, port: int, user: str) -> None:
    ansible_path = Connection._create_control_path(host, port, user) % {"directory": "/cp"}
    assert control_socket(Path("/cp"), host, port, user) == Path(ansible_path)


def test_closing_masters_that_do_not_exist_is_a_no_op(tmp_path: Path) -> None:
    close_control_masters([tmp_path / "missing"])

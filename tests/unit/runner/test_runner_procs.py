"""Finding a run's processes by their environment, and naming its SSH control sockets."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
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


@pytest.fixture
def titled() -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    """Start processes whose whole command line is a given title, as a mux master shows."""
    started: list[subprocess.Popen[bytes]] = []

    def start(title: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([title], executable="cat", stdin=subprocess.PIPE)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_only_masters_of_existing_sockets_are_killed(
    tmp_path: Path, titled: Callable[[str], subprocess.Popen[bytes]]
) -> None:
    live = tmp_path / "live"
    live.write_bytes(b"")
    missing = tmp_path / "missing"
    master = titled(f"ssh: {live} [mux]")
    stranger = titled(f"ssh: {missing} [mux]")
    lookalike = titled(f"ssh: {live}x [mux]")
    time.sleep(0.1)
    close_control_masters([live, missing])
    assert wait_gone(master) == -9
    time.sleep(0.1)
    assert stranger.poll() is None
    assert lookalike.poll() is None

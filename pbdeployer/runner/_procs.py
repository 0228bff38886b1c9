"""Find and kill every process a run started, wherever it went.

ansible-runner kills the process group of ansible-playbook, but that misses ssh clients
started in a new session and the SSH ControlMaster, which daemonizes. Each run's environment
carries ``PBDEPLOYER_RUN_ID``; every descendant inherits it, so scanning ``/proc/*/environ``
finds the tree, detached or not. The ControlMaster overwrites its environ with its process
title, so masters are closed by socket instead: ``ssh -O exit``, then SIGKILL by title.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

MARKER = "PBDEPLOYER_RUN_ID"
_PROC = Path("/proc")
_QUIET_SCANS = 3


def marked_runs() -> dict[str, list[int]]:
    """Live processes of every run, by run id (zombies have an empty environ)."""
    prefix = f"{MARKER}=".encode()
    found: dict[str, list[int]] = {}
    own = os.getpid()
    for entry in _PROC.iterdir() if _PROC.is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        for item in environ.split(b"\0"):
            if item.startswith(prefix):
                run_id = item[len(prefix) :].decode(errors="replace")
                found.setdefault(run_id, []).append(int(entry.name))
    return found


def marked_pids(run_id: str) -> list[int]:
    """Live processes whose environment names this run."""
    return marked_runs().get(run_id, [])


def kill_run_processes(run_id: str, timeout: float = 3.0) -> int:
    """SIGKILL the run's processes until none is left (or ``timeout``); return how many.

    A process in the middle of ``exec`` shows an empty environ for a moment, so "none left"
    must hold for a few scans in a row before it is believed.
    """
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    quiet_scans = 0
    while quiet_scans < _QUIET_SCANS and time.monotonic() < deadline:
        pids = marked_pids(run_id)
        quiet_scans = 0 if pids else quiet_scans + 1
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed.add(pid)
        time.sleep(0.03)
    return len(killed)


def control_socket(control_dir: Path, host: str, port: int, user: str) -> Path:
    """The socket Ansible's ssh plugin uses for a host (its ``_create_control_path``)."""
    digest = hashlib.sha1(f"{host}-{port}-{user}".encode()).hexdigest()  # noqa: S324 - a name
    return control_dir / digest[:10]


def close_control_masters(sockets: Iterable[Path], timeout: float = 2.0) -> None:
    """Ask each master to exit, then SIGKILL any that did not."""
    sockets = [s for s in sockets if s.exists()]
    for socket in sockets:
        path = str(socket).replace("%", "%%")
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                ["ssh", "-F", "/dev/null", "-o", f"ControlPath={path}", "-O", "exit", "master"],
                capture_output=True, timeout=timeout, check=False,
            )  # fmt: skip
    titles = {f"ssh: {socket} [mux]".encode() for socket in sockets}
    for pid in _pids_titled(titles):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue


def _pids_titled(titles: set[bytes]) -> list[int]:
    found = []
    for entry in _PROC.iterdir() if titles and _PROC.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().rstrip(b"\0")
        except OSError:
            continue
        if cmdline in titles:
            found.append(int(entry.name))
    return found

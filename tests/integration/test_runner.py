"""The runner against real hosts over real SSH: events, failures, cancel, host keys, secrets."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from pbdeployer.errors import HostKeyChanged, HostUnreachable, RunCancelled, RunFailed
from pbdeployer.models.ids import new_id
from pbdeployer.models.run import (
    PlaybookInvocation,
    PlaybookStats,
    PlayStarted,
    RunEvent,
    RunFinished,
    RunOutcome,
    TaskOk,
    TaskStarted,
)
from pbdeployer.models.servers import Server
from pbdeployer.runner import RunHandle, Runner
from pbdeployer.runner._env import control_dir
from pbdeployer.runner._procs import marked_pids
from pbdeployer.settings import Settings
from pbdeployer.testing.hosts import DeadAddress, TestHost

pytestmark = pytest.mark.host

PLAYBOOKS = Path(__file__).resolve().parents[1] / "playbooks"
PING = PlaybookInvocation(playbook="ping.yml")


def server_at(address: str, **changes: Any) -> Server:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "id": new_id(), "created": now, "updated": now, "name": f"test {address}",
        "host": address, "port": 22, "root_username": "root", "app_username": "pocketbase",
        "use_ssh_agent": False, "manual_key_path": None, "setup_complete": False,
        "security_locked": False,
    }  # fmt: skip
    fields.update(changes)
    return Server(**fields)


def server_for(host: TestHost, **changes: Any) -> Server:
    """A server record for a test host, reached with the pool's key file."""
    return server_at(host.address, port=host.port, root_username=host.user,
                     manual_key_path=host.key_path, **changes)  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", ssh_connect_timeout_seconds=3)


def read_text(path: Path | str) -> str:
    return Path(path).read_text(errors="replace")


async def collect(handle: RunHandle) -> list[RunEvent]:
    return [event async for event in handle.events()]


def leftover_processes(*needles: str) -> list[str]:
    """Live (non-zombie) processes on the controller whose command line has a needle."""
    listing = subprocess.run(
        ["ps", "-eww", "-o", "pid=,stat=,args="], capture_output=True, text=True, check=True
    ).stdout
    return [
        line for line in listing.splitlines()
        if line.split()[1][0] != "Z" and any(n in line for n in needles) and "ps -eww" not in line
    ]  # fmt: skip


async def test_ping_succeeds_with_typed_ordered_events(
    shared_host: TestHost, settings: Settings
) -> None:
    server = server_for(shared_host)
    handle = Runner(settings).start(PING, [server])
    events = await collect(handle)
    result = await handle.result()
    assert [type(e) for e in events] == [
        PlayStarted, TaskStarted, TaskOk, PlaybookStats, RunFinished,
    ]  # fmt: skip
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    ok = events[2]
    assert isinstance(ok, TaskOk)
    assert ok.host == f"srv_{server.id}"
    assert ok.task == "Ping the host"
    final = events[-1]
    assert isinstance(final, RunFinished)
    assert (final.outcome, final.event_count) == (RunOutcome.SUCCEEDED, 5)
    assert result.event_count == 5
    assert result.stats[f"srv_{server.id}"].ok == 1
    # First contact recorded the host's real key.
    recorded = read_text(settings.known_hosts_file)
    assert shared_host.host_public_key.split()[1] in recorded


async def test_failing_task_raises_run_failed_naming_host_and_task(
    shared_host: TestHost, settings: Settings
) -> None:
    server = server_for(shared_host, name="failing server")
    invocation = PlaybookInvocation(playbook=str(PLAYBOOKS / "fail.yml"))
    handle = Runner(settings).start(invocation, [server])
    with pytest.raises(RunFailed) as caught:
        await handle.result()
    error = caught.value
    assert error.host == "failing server"
    assert error.task == "Fail on purpose"
    assert "this task fails on purpose" in error.message
    assert shared_host.address in error.message


async def test_refused_connection_is_unreachable(
    dead_address: DeadAddress, settings: Settings
) -> None:
    server = server_at(dead_address.address)
    started = time.monotonic()
    with pytest.raises(HostUnreachable) as caught:
        await Runner(settings).start(PING, [server]).result()
    assert time.monotonic() - started < 10
    assert caught.value.host == server.name
    assert f"Cannot reach server '{server.name}' ({dead_address.address}:22)" in (
        caught.value.message
    )
    # ssh says "Connection refused"; under load Ansible may first see its pipe to ssh break
    # and report that instead (ansible-core's ssh plugin with pipelining).
    assert any(why in caught.value.message for why in ("Connection refused", "Broken pipe"))


async def test_silent_address_is_unreachable_within_the_connect_timeout(
    silent_address: DeadAddress, settings: Settings
) -> None:
    server = server_at(silent_address.address)
    started = time.monotonic()
    handle = Runner(settings).start(PING, [server])
    with pytest.raises(HostUnreachable) as caught:
        await handle.result()
    elapsed = time.monotonic() - started
    # ssh waits ConnectTimeout (3 s); ansible-playbook needs a few seconds around it.
    timeout = settings.ssh_connect_timeout_seconds
    assert timeout <= elapsed < timeout + 8
    assert "timed out" in caught.value.message
    events = await collect(handle)
    assert isinstance(events[-1], RunFinished)
    assert events[-1].outcome is RunOutcome.UNREACHABLE


async def test_cancel_in_a_long_task_kills_ansible_and_ssh(
    fresh_host: TestHost, settings: Settings
) -> None:
    seconds = str(300 + uuid.uuid4().int % 600)
    invocation = PlaybookInvocation(
        playbook=str(PLAYBOOKS / "sleep.yml"), extravars={"sleep_seconds": seconds}
    )
    handle = Runner(settings).start(invocation, [server_for(fresh_host)])
    events = handle.events()
    async for event in events:
        if isinstance(event, TaskStarted) and event.task == "Sleep for a long time":
            break
    for _ in range(50):  # the module is running on the host once sleep shows up there
        if fresh_host.ssh(["pgrep", "-f", f"sleep {seconds}"], check=False).returncode == 0:
            break
        await asyncio.sleep(0.2)
    needles = (str(handle.data_dir), fresh_host.address, str(control_dir(settings)))
    assert leftover_processes(*needles)
    started = time.monotonic()
    threading.Thread(target=handle.cancel).start()
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), timeout=5)
    assert time.monotonic() - started < 5
    final = [e async for e in events][-1]
    assert isinstance(final, RunFinished)
    assert final.outcome is RunOutcome.CANCELLED
    assert marked_pids(handle.run_id) == []
    # ansible-playbook and its workers name the run dir, ssh clients the address, and the
    # ControlMaster its socket in the control dir: none of them is left.
    assert leftover_processes(*needles) == []


def make_key(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def forget_host(known_hosts: Path, address: str) -> None:
    subprocess.run(["ssh-keygen", "-f", str(known_hosts), "-R", address], check=True,
                   capture_output=True)  # fmt: skip


@pytest.fixture
def impostor_known(shared_host: TestHost, settings: Settings, tmp_path: Path) -> Path:
    """known_hosts naming another ed25519 key for the shared host."""
    wrong = make_key(tmp_path / "impostor").with_suffix(".pub").read_text().split()[:2]
    settings.known_hosts_file.parent.mkdir(parents=True)
    settings.known_hosts_file.write_text(f"{shared_host.address} {' '.join(wrong)}\n")
    return settings.known_hosts_file


async def test_changed_host_key_is_refused(
    shared_host: TestHost, settings: Settings, impostor_known: Path
) -> None:
    server = server_for(shared_host)
    runner = Runner(settings)
    with pytest.raises(HostKeyChanged) as caught:
        await runner.start(PING, [server]).result()
    assert caught.value.host == server.name
    assert "ssh-keygen -f" in caught.value.message
    # Following the message's advice lets the next run record the new key.
    forget_host(impostor_known, shared_host.address)
    await runner.start(PING, [server]).result()
    assert shared_host.host_public_key.split()[1] in read_text(impostor_known)


async def test_no_private_key_bytes_in_artifacts_events_or_logs(
    shared_host: TestHost, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key_text = read_text(shared_host.key_path)
    body = [ln for ln in key_text.splitlines() if ln and not ln.startswith("-----")]
    assert body
    runner = Runner(settings)
    ping = runner.start(PING, [server_for(shared_host)])
    ping_events = await collect(ping)
    await ping.result()
    # A task that prints the key it reads from the controller must not leak it either.
    shown = runner.start(
        PlaybookInvocation(playbook=str(PLAYBOOKS / "print-file.yml"),
                           extravars={"print_path": shared_host.key_path}),
        [server_for(shared_host)],
    )  # fmt: skip
    shown_events = await collect(shown)
    with pytest.raises(RunFailed):
        await shown.result()
    stream = msgspec.json.encode([*ping_events, *shown_events]).decode()
    assert "[redacted private key]" in stream
    files = [p for p in settings.data_dir.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any("job_events" in str(p) for p in files)
    texts = [stream, caplog.text, *(read_text(p) for p in files)]
    for text in texts:
        for line in body:
            assert line not in text

"""Real ansible-playbook runs on the controller itself (``ansible_connection=local``).

No test host is needed: the extra var ``ansible_connection: local`` overrides the inventory's
SSH settings, so these runs exercise the whole runner (data dir, events, cancel, timeouts,
redaction, untrusted values) without network traffic.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from pbdeployer.errors import InvalidInput, RunCancelled, RunFailed, RunTimeout
from pbdeployer.models.run import (
    PlaybookInvocation,
    RunCredentials,
    RunEvent,
    RunFinished,
    RunOutcome,
    TaskOk,
    TaskStarted,
)
from pbdeployer.models.servers import Server
from pbdeployer.runner import RunHandle, Runner
from pbdeployer.runner._procs import marked_pids
from pbdeployer.settings import Settings

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
LOCAL = {"ansible_connection": "local"}


def local_server(**changes: Any) -> Server:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "id": "01LOCAL", "created": now, "updated": now, "name": "controller",
        "host": "10.200.255.254", "port": 22, "root_username": "root",
        "app_username": "pocketbase", "use_ssh_agent": False, "manual_key_path": None,
        "setup_complete": False, "security_locked": False,
    }  # fmt: skip
    fields.update(changes)
    return Server(**fields)


def invocation(playbook: str, **extravars: Any) -> PlaybookInvocation:
    return PlaybookInvocation(playbook=playbook, extravars={**LOCAL, **extravars})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", run_idle_timeout_seconds=60)


def read_text(path: Path) -> str:
    return path.read_text(errors="replace")


def exists(path: Path) -> bool:
    return path.exists()


async def collect(handle: RunHandle) -> list[RunEvent]:
    return [event async for event in handle.events()]


def leftover_processes(*needles: str) -> list[str]:
    """Live (non-zombie) processes whose command line mentions any needle."""
    listing = subprocess.run(["ps", "-eww", "-o", "stat=,args="], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
    return [
        line for line in listing.splitlines()
        if not line.lstrip().startswith("Z") and any(n in line for n in needles)
        and "ps -eww" not in line
    ]  # fmt: skip


async def test_ping_succeeds_with_ordered_events(settings: Settings) -> None:
    handle = Runner(settings).start(invocation("ping.yml"), [local_server()])
    events = await collect(handle)
    result = await handle.result()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    tags = [type(e).__struct_config__.tag for e in events]
    assert tags == [
        "playbook_on_play_start", "playbook_on_task_start", "runner_on_ok",
        "playbook_on_stats", "run_finished",
    ]  # fmt: skip
    final = events[-1]
    assert isinstance(final, RunFinished)
    assert final.outcome is RunOutcome.SUCCEEDED
    assert final.event_count == len(events) == result.event_count
    assert result.rc == 0
    assert result.stats["srv_01LOCAL"].ok == 1
    assert handle.data_dir == settings.runs_dir.resolve() / handle.run_id
    assert list((handle.data_dir / "artifacts" / handle.run_id / "job_events").glob("*.json"))


async def test_asked_for_facts_come_back_in_the_result(settings: Settings) -> None:
    asked = PlaybookInvocation(
        playbook=str(PLAYBOOKS / "set-facts.yml"), extravars=LOCAL, result_facts=("report",)
    )
    handle = Runner(settings).start(asked, [local_server()])
    events = await collect(handle)
    result = await handle.result()
    expected = {"score": 90, "findings": [{"id": "a", "status": "pass"}]}
    assert result.facts == {"srv_01LOCAL": {"report": expected}}
    ok = [e for e in events if isinstance(e, TaskOk)]
    assert ok[0].facts == {"report": expected}


async def test_failing_task_raises_run_failed(settings: Settings) -> None:
    handle = Runner(settings).start(invocation(str(PLAYBOOKS / "fail.yml")), [local_server()])
    with pytest.raises(RunFailed) as caught:
        await handle.result()
    assert caught.value.host == "controller"
    assert caught.value.task == "Fail on purpose"
    assert "this task fails on purpose" in caught.value.message
    events = await collect(handle)
    assert isinstance(events[-1], RunFinished)
    assert events[-1].outcome is RunOutcome.FAILED
    assert events[-1].task == "Fail on purpose"


async def test_cancel_from_another_thread_kills_everything(settings: Settings) -> None:
    seconds = str(300 + uuid.uuid4().int % 600)
    handle = Runner(settings).start(
        invocation(str(PLAYBOOKS / "sleep.yml"), sleep_seconds=seconds), [local_server()]
    )
    events = handle.events()
    async for event in events:
        if isinstance(event, TaskStarted) and event.task == "Sleep for a long time":
            break
    for _ in range(100):  # the module is running once its sleep shows up
        if leftover_processes(f"sleep {seconds}"):
            break
        await asyncio.sleep(0.1)
    assert leftover_processes(f"sleep {seconds}")
    started = time.monotonic()
    threading.Thread(target=handle.cancel).start()
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), timeout=5)
    assert time.monotonic() - started < 5
    assert [e async for e in events][-1].outcome is RunOutcome.CANCELLED  # type: ignore[union-attr]
    assert marked_pids(handle.run_id) == []
    assert leftover_processes(f"sleep {seconds}", str(handle.data_dir)) == []


async def test_a_restarted_controller_reaps_the_runs_it_no_longer_owns(
    settings: Settings,
) -> None:
    seconds = str(300 + uuid.uuid4().int % 600)
    crashed = Runner(settings).start(
        invocation(str(PLAYBOOKS / "sleep.yml"), sleep_seconds=seconds), [local_server()]
    )
    for _ in range(200):
        if leftover_processes(f"sleep {seconds}"):
            break
        await asyncio.sleep(0.1)
    assert marked_pids(crashed.run_id)

    assert Runner(settings).reap_orphans() == 1

    assert marked_pids(crashed.run_id) == []
    assert leftover_processes(f"sleep {seconds}", str(crashed.data_dir)) == []
    result = await asyncio.wait_for(crashed.wait(), timeout=10)
    assert result.outcome is not RunOutcome.SUCCEEDED


async def test_cancel_right_after_start(settings: Settings) -> None:
    """Whether ansible-playbook had started or not, the run ends cancelled at once."""
    handle = Runner(settings).start(invocation("ping.yml"), [local_server()])
    handle.cancel()
    result = await handle.wait()
    assert result.outcome is RunOutcome.CANCELLED
    assert result.rc in (None, 254)
    assert result.duration_seconds < 3
    assert marked_pids(handle.run_id) == []


@pytest.mark.slow
async def test_idle_timeout(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, run_idle_timeout_seconds=2)
    started = time.monotonic()
    handle = Runner(settings).start(invocation(str(PLAYBOOKS / "sleep.yml")), [local_server()])
    with pytest.raises(RunTimeout, match="printed nothing for 2 s"):
        await handle.result()
    assert time.monotonic() - started < 15
    assert marked_pids(handle.run_id) == []


@pytest.mark.slow
async def test_run_timeout(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, run_timeout_seconds=3, run_idle_timeout_seconds=60)
    handle = Runner(settings).start(invocation(str(PLAYBOOKS / "sleep.yml")), [local_server()])
    with pytest.raises(RunTimeout, match="limit of 3 s"):
        await handle.result()
    assert (await handle.wait()).duration_seconds < 10


async def test_broken_playbook_fails_with_ansibles_error(
    settings: Settings, tmp_path: Path
) -> None:
    playbook = tmp_path / "broken.yml"
    playbook.write_text("- hosts: all\n  tasks:\n    - no_such_module_here: {}\n")
    handle = Runner(settings).start(invocation(str(playbook)), [local_server()])
    with pytest.raises(RunFailed, match="no_such_module_here"):
        await handle.result()


@pytest.mark.slow
async def test_template_syntax_in_every_value_is_inert(settings: Settings, tmp_path: Path) -> None:
    marker = Path(f"/tmp/pbdeployer-pwned-{uuid.uuid4().hex}")
    payload = f"{{{{ lookup('pipe', 'touch {marker}') }}}}"
    values = {
        "app_name": payload,
        "notes": f"line\n[evil]\nansible_host=evil \"q\" 'a': b {payload} {{% raw %}}",
        "domain": "{{ 7 * 7 }}",
    }
    server = local_server(name=f"name {payload}\nansible_host=evil")
    dest = tmp_path / "echo.json"
    handle = Runner(settings).start(
        invocation(str(PLAYBOOKS / "echo-vars.yml"), echo_vars=values, echo_dest=str(dest)),
        [server],
    )
    events = await collect(handle)
    await handle.result()
    assert not exists(marker)
    assert json.loads(read_text(dest)) == {"vars": values, "server_name": server.name}
    read_back = [e for e in events if isinstance(e, TaskOk) and e.task == "Read the file back"]
    assert read_back[0].result.stdout is not None
    assert json.loads(read_back[0].result.stdout)["vars"] == values


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "id_test"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@pytest.mark.slow
async def test_key_printed_by_a_task_is_redacted_everywhere(settings: Settings, key: Path) -> None:
    body = [ln for ln in read_text(key).splitlines() if ln and not ln.startswith("-----")]
    handle = Runner(settings).start(
        invocation(str(PLAYBOOKS / "print-file.yml"), print_path=str(key)), [local_server()]
    )
    events = await collect(handle)
    with pytest.raises(RunFailed) as caught:
        await handle.result()
    stream = msgspec.json.encode(events).decode() + caught.value.message
    assert "[redacted private key]" in stream
    files = [p for p in handle.data_dir.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any("job_events" in str(p) for p in files)
    texts = [stream, *(read_text(p) for p in files)]
    for text in texts:
        for line in body:
            assert line not in text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"extravars": {"bad name": 1}}, "extravars.bad name"),
        ({"extravars": {"k": "-----BEGIN OPENSSH PRIVATE KEY-----\nabc"}}, "extravars"),
        ({"limit": "-x"}, "limit"),
        ({"limit": "@hosts.txt"}, "limit"),
        ({"tags": ("ok", "no good")}, "tags"),
        ({"playbook": "../pyproject.toml"}, "playbook"),
    ],
)
async def test_bad_invocations_are_refused_before_anything_runs(
    settings: Settings, change: dict[str, Any], field: str
) -> None:
    bad = msgspec.structs.replace(invocation("ping.yml"), **change)
    with pytest.raises(InvalidInput) as caught:
        Runner(settings).start(bad, [local_server()])
    assert field in [p.field for p in caught.value.details]
    assert not settings.runs_dir.exists()


async def test_agent_server_needs_an_agent_socket(settings: Settings) -> None:
    runner = Runner(settings)
    with pytest.raises(InvalidInput, match="agent"):
        runner.start(invocation("ping.yml"), [local_server(use_ssh_agent=True)])
    handle = runner.start(invocation("ping.yml"), [local_server(use_ssh_agent=True)],
                          RunCredentials(ssh_auth_sock="/nonexistent/agent.sock"))  # fmt: skip
    handle.cancel()
    await handle.wait()
    envvars = json.loads((handle.data_dir / "env" / "envvars").read_text())
    assert envvars["SSH_AUTH_SOCK"] == "/nonexistent/agent.sock"


async def test_only_the_newest_runs_are_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, run_artifacts_keep=2)
    runner = Runner(settings)
    ids = []
    for _ in range(4):
        handle = runner.start(invocation("ping.yml"), [local_server()])
        handle.cancel()
        await handle.wait()
        ids.append(handle.run_id)
    assert sorted(p.name for p in settings.runs_dir.iterdir()) == ids[-2:]


async def test_cancel_all_stops_every_active_run(settings: Settings) -> None:
    runner = Runner(settings)
    handles = [
        runner.start(invocation(str(PLAYBOOKS / "sleep.yml")), [local_server()]) for _ in range(2)
    ]
    assert runner.cancel_all() == 2
    results = [await handle.wait() for handle in handles]
    assert [r.outcome for r in results] == [RunOutcome.CANCELLED] * 2
    assert runner.cancel_all() == 0


async def test_events_have_one_consumer(settings: Settings) -> None:
    handle = Runner(settings).start(invocation("ping.yml"), [local_server()])
    handle.cancel()
    events = await collect(handle)
    assert isinstance(events[-1], RunFinished)
    with pytest.raises(RuntimeError, match="already being consumed"):
        handle.events()


@pytest.mark.slow
async def test_private_vars_reach_the_play_but_never_the_run_dir_or_events(
    settings: Settings, tmp_path: Path
) -> None:
    secret = "pw {{ lookup('pipe', 'touch /tmp/never') }} \"q\" 's' \\"
    dest = tmp_path / "echo.json"
    handle = Runner(settings).start(
        PlaybookInvocation(
            playbook=str(PLAYBOOKS / "echo-vars.yml"),
            extravars={**LOCAL, "echo_dest": str(dest)},
            private_vars={"echo_vars": {"SMTP_PASSWORD": secret, "PLAIN": "visible"}},
            redact=(secret,),
        ),
        [local_server()],
    )
    events = await collect(handle)
    await handle.result()
    assert json.loads(read_text(dest))["vars"] == {"SMTP_PASSWORD": secret, "PLAIN": "visible"}
    stream = msgspec.json.encode(events).decode()
    assert "[redacted secret]" in stream, stream
    assert "visible" in stream
    assert secret not in stream
    assert "pw {{" not in stream
    files = [p for p in handle.data_dir.rglob("*") if p.is_file() and not p.is_symlink()]
    assert files
    assert not (handle.data_dir / "private-vars.yml").exists()
    assert [p for p in files if "pw {{" in read_text(p)] == []
    assert "pw {{" not in read_text(handle.data_dir / "env" / "extravars")

"""From what a run saw to its outcome, message, host and task."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from pbdeployer.errors import HostKeyChanged, HostUnreachable, RunCancelled, RunFailed, RunTimeout
from pbdeployer.models.run import (
    HostStats,
    PlaybookStats,
    RunOutcome,
    RunOutput,
    RunResult,
    TaskFailed,
    TaskOk,
    TaskUnreachable,
)
from pbdeployer.models.servers import Server
from pbdeployer.runner._state import Limits, RunState, StopReason, decide

NOW = datetime(2025, 1, 1, tzinfo=UTC)
LIMITS = Limits(run_timeout=60, idle_timeout=30, known_hosts=Path("/data/known_hosts"))
KEY_CHANGED = (
    "Failed to connect to the host via ssh: @@@@@@@@@@@\r\n@    WARNING: REMOTE HOST "
    "IDENTIFICATION HAS CHANGED!     @\r\n...Host key verification failed."
)


def server(port: int = 22) -> Server:
    return Server(
        id="01S", created=NOW, updated=NOW, name="web {{ x }}", host="10.200.0.11", port=port,
        root_username="root", app_username="pb", use_ssh_agent=False, manual_key_path=None,
        setup_complete=False, security_locked=False,
    )  # fmt: skip


def state(port: int = 22) -> RunState:
    return RunState("RUN", {"srv_01S": server(port)})


def failed(seq: int, task: str, ignored: bool = False) -> TaskFailed:
    return TaskFailed(
        seq=seq, run_id="RUN", created=NOW, host="srv_01S", task=task,
        action="ansible.builtin.fail", message=f"{task} broke", ignored=ignored,
    )  # fmt: skip


def unreachable(seq: int, message: str) -> TaskUnreachable:
    return TaskUnreachable(seq=seq, run_id="RUN", created=NOW, host="srv_01S", task="Ping",
                           action="ansible.builtin.ping", message=message)  # fmt: skip


def test_success() -> None:
    verdict = decide(state(), 0, None, LIMITS)
    assert verdict.outcome is RunOutcome.SUCCEEDED


def test_first_unignored_failure_names_server_and_task() -> None:
    seen = state()
    seen.observe(failed(1, "Ignored one", ignored=True))
    seen.observe(failed(2, "Real one"))
    seen.observe(failed(3, "Later one"))
    verdict = decide(seen, 2, None, LIMITS)
    assert verdict.outcome is RunOutcome.FAILED
    assert verdict.host == "web {{ x }}"
    assert verdict.task == "Real one"
    assert "Real one broke" in verdict.message
    assert "10.200.0.11:22" in verdict.message
    assert seen.event_count == 3


def test_ignored_failures_do_not_fail_a_successful_run() -> None:
    seen = state()
    seen.observe(failed(1, "Ignored", ignored=True))
    assert decide(seen, 0, None, LIMITS).outcome is RunOutcome.SUCCEEDED


def test_unreachable() -> None:
    seen = state()
    seen.observe(unreachable(1, "ssh: connect to host 10.200.0.11 port 22: Connection refused"))
    verdict = decide(seen, 4, None, LIMITS)
    assert verdict.outcome is RunOutcome.UNREACHABLE
    assert verdict.host == "web {{ x }}"
    assert "Connection refused" in verdict.message


@pytest.mark.parametrize(("port", "target"), [(22, "10.200.0.11"), (2222, "'[10.200.0.11]:2222'")])
def test_changed_host_key_tells_how_to_accept(port: int, target: str) -> None:
    seen = state(port)
    seen.observe(unreachable(1, KEY_CHANGED))
    verdict = decide(seen, 4, None, LIMITS)
    assert verdict.outcome is RunOutcome.HOST_KEY_CHANGED
    assert f"ssh-keygen -f /data/known_hosts -R {target}" in verdict.message
    assert verdict.host == "web {{ x }}"


def test_unreachable_wins_over_failure() -> None:
    seen = state()
    seen.observe(failed(1, "Task"))
    seen.observe(unreachable(2, "timed out"))
    assert decide(seen, 6, None, LIMITS).outcome is RunOutcome.UNREACHABLE


@pytest.mark.parametrize(
    ("stop", "outcome", "text"),
    [
        (StopReason.CANCELLED, RunOutcome.CANCELLED, "cancelled"),
        (StopReason.RUN_TIMEOUT, RunOutcome.TIMED_OUT, "limit of 60 s"),
        (StopReason.IDLE_TIMEOUT, RunOutcome.TIMED_OUT, "nothing for 30 s"),
    ],
)
def test_stops_win_over_what_ansible_said(stop: StopReason, outcome: RunOutcome, text: str) -> None:
    seen = state()
    seen.observe(failed(1, "Task"))
    verdict = decide(seen, 254, stop, LIMITS)
    assert verdict.outcome is outcome
    assert text in verdict.message


def test_failure_without_task_events_quotes_ansible_errors() -> None:
    seen = state()
    seen.observe(RunOutput(seq=1, run_id="RUN", created=NOW, text="[WARNING]: something"))
    seen.observe(
        RunOutput(
            seq=2, run_id="RUN", created=NOW, text="ERROR! the playbook: x.yml could not be found"
        )
    )
    verdict = decide(seen, 1, None, LIMITS)
    assert verdict.outcome is RunOutcome.FAILED
    assert verdict.message == (
        "ansible-playbook exited with status 1: ERROR! the playbook: x.yml could not be found"
    )


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        (RunOutcome.FAILED, RunFailed),
        (RunOutcome.UNREACHABLE, HostUnreachable),
        (RunOutcome.CANCELLED, RunCancelled),
        (RunOutcome.TIMED_OUT, RunTimeout),
        (RunOutcome.HOST_KEY_CHANGED, HostKeyChanged),
    ],
)
def test_result_raises_the_typed_error(outcome: RunOutcome, error: type[Exception]) -> None:
    result = RunResult(run_id="RUN", outcome=outcome, rc=2, event_count=3, started=NOW,
                       finished=NOW, message="why", host="web", task="Task")  # fmt: skip
    with pytest.raises(error) as caught:
        result.raise_for_outcome()
    assert (caught.value.message, caught.value.host, caught.value.task) == ("why", "web", "Task")  # type: ignore[attr-defined]


def test_successful_result_returns_itself() -> None:
    result = RunResult(run_id="RUN", outcome=RunOutcome.SUCCEEDED, rc=0, event_count=3,
                       started=NOW, finished=NOW)  # fmt: skip
    assert result.raise_for_outcome() is result
    assert result.error() is None


def output(seq: int, text: str) -> RunOutput:
    return RunOutput(seq=seq, run_id="RUN", created=NOW, text=text)


def test_sequence_numbers_start_at_one_and_follow_the_last_event() -> None:
    seen = state()
    assert seen.next_seq() == 1
    seen.observe(output(7, "x"))
    assert seen.next_seq() == 8


def test_every_event_restarts_the_idle_clock() -> None:
    seen = state()
    seen.last_output -= 100
    before = seen.last_output
    seen.observe(output(1, "still working"))
    assert seen.last_output > before + 99


def test_facts_and_stats_are_kept_per_host() -> None:
    seen = state()
    assert (seen.facts, seen.stats) == ({}, {})
    ok = TaskOk(seq=1, run_id="RUN", created=NOW, host="srv_01S", task="Read", action="stat",
                facts={"a": 1})  # fmt: skip
    seen.observe(ok)
    seen.observe(msgspec.structs.replace(ok, seq=2, facts={"b": 2}))
    seen.observe(msgspec.structs.replace(ok, seq=3, host="srv_02S", facts={"a": 3}))
    stats = {"srv_01S": HostStats(ok=3)}
    seen.observe(PlaybookStats(seq=4, run_id="RUN", created=NOW, hosts=stats))
    assert seen.facts == {"srv_01S": {"a": 1, "b": 2}, "srv_02S": {"a": 3}}
    assert seen.stats == stats


@pytest.mark.parametrize(
    ("stop", "message"),
    [
        (None, "The run succeeded."),
        (StopReason.CANCELLED, "The run was cancelled."),
        (StopReason.RUN_TIMEOUT, "The run took longer than its limit of 60 s."),
        (StopReason.IDLE_TIMEOUT, "The run printed nothing for 30 s and was stopped."),
    ],
)
def test_the_messages_users_read(stop: StopReason | None, message: str) -> None:
    assert decide(state(), 0, stop, LIMITS).message == message


def test_a_host_pbdeployer_does_not_know_is_named_by_its_alias() -> None:
    seen = RunState("RUN", {})
    seen.observe(failed(1, "Task"))
    verdict = decide(seen, 2, None, LIMITS)
    assert (verdict.host, verdict.task) == ("srv_01S", "Task")
    assert verdict.message == "Task 'Task' failed on host srv_01S: Task broke"


def test_unreachable_names_server_and_task() -> None:
    seen = state(2222)
    seen.observe(unreachable(1, "Connection refused"))
    verdict = decide(seen, 4, None, LIMITS)
    assert verdict.task == "Ping"
    assert verdict.message == (
        "Cannot reach server 'web {{ x }}' (10.200.0.11:2222) over SSH: Connection refused"
    )


def test_changed_host_key_message_in_full() -> None:
    seen = state()
    seen.observe(unreachable(1, KEY_CHANGED))
    verdict = decide(seen, 4, None, LIMITS)
    assert verdict.task == "Ping"
    assert verdict.message == (
        "The SSH host key of server 'web {{ x }}' (10.200.0.11:22) is not the one recorded in "
        "/data/known_hosts; pbdeployer refused to connect. This happens when the server was "
        "reinstalled or its keys were replaced, and also when someone intercepts the "
        "connection. If the change is expected, check the new key's fingerprint on the server "
        "(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then remove the old entry with "
        "`ssh-keygen -f /data/known_hosts -R 10.200.0.11`; the next run records the new key."
    )


def test_changed_host_key_of_an_unknown_host_names_its_alias() -> None:
    seen = RunState("RUN", {})
    seen.observe(unreachable(1, "Host key verification failed."))
    verdict = decide(seen, 4, None, LIMITS)
    assert verdict.outcome is RunOutcome.HOST_KEY_CHANGED
    assert "-R srv_01S`" in verdict.message


EXITED = "ansible-playbook exited with status 3"


@pytest.mark.parametrize(
    ("rc", "lines", "message"),
    [
        (None, [], "ansible-playbook did not start."),
        (3, [], "ansible-playbook exited with status 3."),
        (3, ["one", "two", "three", "four"], f"{EXITED}: two three four"),
        (3, ["ERROR! a", "x", "ERROR! b", "y"], f"{EXITED}: ERROR! a ERROR! b"),
        # An error long scrolled away is not quoted as if it were the last word.
        (3, ["ERROR! old", *(f"l{i}" for i in range(20))], f"{EXITED}: l17 l18 l19"),
    ],
)
def test_a_failure_without_task_events_quotes_the_last_output(
    rc: int | None, lines: list[str], message: str
) -> None:
    seen = state()
    for seq, line in enumerate(lines, 1):
        seen.observe(output(seq, line))
    assert decide(seen, rc, None, LIMITS).message == message

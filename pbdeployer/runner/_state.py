"""What a run has learned from its events, and the verdict it ends with.

Only the run's worker thread writes this state; ``decide`` is a pure function of it, so the
mapping from "what Ansible said" to an outcome is tested without running Ansible.
"""

from __future__ import annotations

import collections
import enum
import shlex
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from pbdeployer.models.run import (
    HostStats,
    PlaybookStats,
    RunEvent,
    RunOutcome,
    RunOutput,
    TaskFailed,
    TaskOk,
    TaskUnreachable,
)
from pbdeployer.models.servers import Server

_KEY_CHANGED = ("REMOTE HOST IDENTIFICATION HAS CHANGED", "Host key verification failed")
_TAIL_LINES = 20


class StopReason(enum.Enum):
    """Why pbdeployer, not Ansible, ended a run."""

    CANCELLED = "cancelled"
    RUN_TIMEOUT = "run_timeout"
    IDLE_TIMEOUT = "idle_timeout"


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    outcome: RunOutcome
    message: str
    host: str | None = None
    task: str | None = None


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    run_timeout: float
    idle_timeout: float
    known_hosts: Path


class RunState:
    """Facts gathered from the event stream: the first failure, unreachable hosts, stats."""

    def __init__(self, run_id: str, servers: Mapping[str, Server]) -> None:
        self.run_id = run_id
        self.servers = dict(servers)
        self.event_count = 0
        self.failure: TaskFailed | None = None
        self.unreachable: TaskUnreachable | None = None
        self.stats: dict[str, HostStats] = {}
        self.facts: dict[str, dict[str, Any]] = {}
        self.output_tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self.last_output = time.monotonic()

    def next_seq(self) -> int:
        return self.event_count + 1

    def observe(self, event: RunEvent) -> None:
        self.event_count = event.seq
        self.last_output = time.monotonic()
        if isinstance(event, TaskFailed) and not event.ignored and self.failure is None:
            self.failure = event
        elif isinstance(event, TaskUnreachable) and self.unreachable is None:
            self.unreachable = event
        elif isinstance(event, TaskOk) and event.facts:
            self.facts.setdefault(event.host, {}).update(event.facts)
        elif isinstance(event, PlaybookStats):
            self.stats = event.hosts
        elif isinstance(event, RunOutput):
            self.output_tail.extend(event.text.splitlines())

    def display_name(self, alias: str) -> str:
        server = self.servers.get(alias)
        return server.name if server is not None else alias

    def where(self, alias: str) -> str:
        server = self.servers.get(alias)
        if server is None:
            return f"host {alias}"
        return f"server {server.name!r} ({server.host}:{server.port})"


def decide(state: RunState, rc: int | None, stop: StopReason | None, limits: Limits) -> Verdict:
    """The outcome of a finished run, with a message naming host and task when known."""
    if stop is not None:
        return _stopped(stop, limits)
    if rc == 0:
        return Verdict(outcome=RunOutcome.SUCCEEDED, message="The run succeeded.")
    if state.unreachable is not None:
        return _unreachable(state, state.unreachable, limits.known_hosts)
    if state.failure is not None:
        failure = state.failure
        message = f"Task {failure.task!r} failed on {state.where(failure.host)}: {failure.message}"
        return Verdict(
            outcome=RunOutcome.FAILED,
            message=message,
            host=state.display_name(failure.host),
            task=failure.task,
        )
    return Verdict(outcome=RunOutcome.FAILED, message=_error_output(state, rc))


def _stopped(stop: StopReason, limits: Limits) -> Verdict:
    if stop is StopReason.CANCELLED:
        return Verdict(outcome=RunOutcome.CANCELLED, message="The run was cancelled.")
    if stop is StopReason.RUN_TIMEOUT:
        message = f"The run took longer than its limit of {limits.run_timeout:g} s."
    else:
        message = f"The run printed nothing for {limits.idle_timeout:g} s and was stopped."
    return Verdict(outcome=RunOutcome.TIMED_OUT, message=message)


def _unreachable(state: RunState, event: TaskUnreachable, known_hosts: Path) -> Verdict:
    host, task = state.display_name(event.host), event.task
    if any(marker in event.message for marker in _KEY_CHANGED):
        message = _key_changed_message(state, event.host, known_hosts)
        return Verdict(outcome=RunOutcome.HOST_KEY_CHANGED, message=message, host=host, task=task)
    message = f"Cannot reach {state.where(event.host)} over SSH: {event.message}"
    return Verdict(outcome=RunOutcome.UNREACHABLE, message=message, host=host, task=task)


def _key_changed_message(state: RunState, alias: str, known_hosts: Path) -> str:
    server = state.servers.get(alias)
    target = alias
    if server is not None:
        target = server.host if server.port == 22 else f"[{server.host}]:{server.port}"
    return (
        f"The SSH host key of {state.where(alias)} is not the one recorded in {known_hosts}; "
        "pbdeployer refused to connect. This happens when the server was reinstalled or its "
        "keys were replaced, and also when someone intercepts the connection. If the change "
        "is expected, check the new key's fingerprint on the server (ssh-keygen -lf "
        f"/etc/ssh/ssh_host_ed25519_key.pub), then remove the old entry with "
        f"`ssh-keygen -f {shlex.quote(str(known_hosts))} -R {shlex.quote(target)}`; the next "
        "run records the new key."
    )


def _error_output(state: RunState, rc: int | None) -> str:
    errors = [line for line in state.output_tail if "ERROR" in line]
    detail = " ".join(errors or list(state.output_tail)[-3:]).strip()
    status = "did not start" if rc is None else f"exited with status {rc}"
    return f"ansible-playbook {status}" + (f": {detail}" if detail else ".")

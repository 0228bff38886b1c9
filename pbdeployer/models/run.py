"""Ansible runs: what to run, the typed events a run emits, and how it ended.

A run's events form one ordered stream numbered by ``seq`` (1..n). The last event is always
``RunFinished``; its ``event_count`` equals its own ``seq``, so a consumer that has seen that
many events knows it has them all.

Event kinds keep Ansible's callback names as tags. ``runner_on_ok`` covers both "ok" and
"changed" results (see ``TaskOk.changed``), as in Ansible. Output that no typed kind describes
(warnings, "ERROR!" lines, loop item lines) arrives as ``verbose`` with its text; callback events
without output (``playbook_on_start``, ``runner_on_start`` ...) are dropped.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from pbdeployer.errors import (
    HostKeyChanged,
    HostUnreachable,
    RunCancelled,
    RunError,
    RunFailed,
    RunTimeout,
)


class PlaybookInvocation(msgspec.Struct, frozen=True, kw_only=True):
    """One playbook to run: a name under the content's ``playbooks/`` (or an absolute path)."""

    playbook: str
    extravars: dict[str, Any] = msgspec.field(default_factory=dict)
    limit: str | None = None
    tags: tuple[str, ...] = ()
    result_facts: tuple[str, ...] = ()
    """Facts (set by ``set_fact`` or a module) to hand back in ``RunResult.facts``."""
    private_vars: dict[str, Any] = msgspec.field(default_factory=dict)
    """Extra variables that hold secrets: never written to the run's ``env/extravars``, but
    handed over in a file that is removed as soon as ansible-playbook has read it."""
    redact: tuple[str, ...] = ()
    """Secret strings blanked out of every event and of the run directory."""


class RunCredentials(msgspec.Struct, frozen=True, kw_only=True):
    """How this process may authenticate, beyond what the Server records say.

    Key *files* are named by ``Server.manual_key_path``; key bytes never pass through here.
    ``ssh_auth_sock`` is handed to ssh only for servers with ``use_ssh_agent``.
    """

    ssh_auth_sock: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RunCredentials:
        return cls(ssh_auth_sock=environ.get("SSH_AUTH_SOCK") or None)


class RunOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    HOST_KEY_CHANGED = "host_key_changed"


class TaskResult(msgspec.Struct, frozen=True, kw_only=True):
    """The small, display-worthy part of a module result (long output is trimmed)."""

    msg: str | None = None
    rc: int | None = None
    stdout: str | None = None
    stderr: str | None = None


class HostStats(msgspec.Struct, frozen=True, kw_only=True):
    ok: int = 0
    changed: int = 0
    failures: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="event"):
    seq: int
    run_id: str
    created: datetime


class PlayStarted(_Event, frozen=True, kw_only=True, tag="playbook_on_play_start"):
    play: str


class TaskStarted(_Event, frozen=True, kw_only=True, tag="playbook_on_task_start"):
    play: str
    task: str
    action: str


class TaskOk(_Event, frozen=True, kw_only=True, tag="runner_on_ok"):
    host: str
    task: str
    action: str
    duration: float | None = None
    changed: bool = False
    result: TaskResult = TaskResult()
    facts: dict[str, Any] = msgspec.field(default_factory=dict)
    """Only the facts the invocation asked for in ``result_facts``."""


class TaskFailed(_Event, frozen=True, kw_only=True, tag="runner_on_failed"):
    host: str
    task: str
    action: str
    duration: float | None = None
    message: str
    ignored: bool = False
    result: TaskResult = TaskResult()


class TaskSkipped(_Event, frozen=True, kw_only=True, tag="runner_on_skipped"):
    host: str
    task: str
    action: str
    duration: float | None = None


class TaskUnreachable(_Event, frozen=True, kw_only=True, tag="runner_on_unreachable"):
    host: str
    task: str
    action: str
    duration: float | None = None
    message: str


class PlaybookStats(_Event, frozen=True, kw_only=True, tag="playbook_on_stats"):
    hosts: dict[str, HostStats]


class RunOutput(_Event, frozen=True, kw_only=True, tag="verbose"):
    text: str


class RunFinished(_Event, frozen=True, kw_only=True, tag="run_finished"):
    outcome: RunOutcome
    event_count: int
    message: str = ""
    host: str | None = None
    task: str | None = None


RunEvent = (
    PlayStarted
    | TaskStarted
    | TaskOk
    | TaskFailed
    | TaskSkipped
    | TaskUnreachable
    | PlaybookStats
    | RunOutput
    | RunFinished
)

_ERRORS: dict[RunOutcome, type[RunError]] = {
    RunOutcome.FAILED: RunFailed,
    RunOutcome.UNREACHABLE: HostUnreachable,
    RunOutcome.CANCELLED: RunCancelled,
    RunOutcome.TIMED_OUT: RunTimeout,
    RunOutcome.HOST_KEY_CHANGED: HostKeyChanged,
}


class RunResult(msgspec.Struct, frozen=True, kw_only=True):
    """How a run ended. ``host`` is the server's name when one host is to blame."""

    run_id: str
    outcome: RunOutcome
    rc: int | None
    event_count: int
    started: datetime
    finished: datetime
    message: str = ""
    host: str | None = None
    task: str | None = None
    stats: dict[str, HostStats] = msgspec.field(default_factory=dict)
    facts: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    """Per host alias, the last value of each fact named in ``result_facts``."""

    @property
    def duration_seconds(self) -> float:
        return (self.finished - self.started).total_seconds()

    def error(self) -> RunError | None:
        """The typed error this outcome stands for, or ``None`` on success."""
        kind = _ERRORS.get(self.outcome)
        if kind is None:
            return None
        return kind(self.message, host=self.host, task=self.task)

    def raise_for_outcome(self) -> RunResult:
        """Return ``self`` when the run succeeded, otherwise raise its typed error."""
        error = self.error()
        if error is not None:
            raise error
        return self

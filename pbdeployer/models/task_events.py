"""The events of a task: one ordered stream per task, numbered by ``seq`` (1..n).

Every state change and every runner event of a task becomes one of these. The stream ends with
``TaskFinished``, whose ``event_count`` equals its own ``seq``, so a client that has seen that
many events knows it has them all. Tagged on ``type``; runner events keep their own ``event``
tag inside ``RunStep``.
"""

from __future__ import annotations

import enum
from datetime import datetime

import msgspec

from pbdeployer.models.run import (
    RunEvent,
    RunOutput,
    TaskFailed,
    TaskOk,
    TaskSkipped,
    TaskUnreachable,
)
from pbdeployer.models.tasks import TaskError, TaskStatus


class HostOutcome(enum.StrEnum):
    OK = "ok"
    CHANGED = "changed"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNREACHABLE = "unreachable"


class _TaskEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    task_id: str
    seq: int
    created: datetime


class TaskStatusChanged(_TaskEvent, frozen=True, kw_only=True, tag="task_status"):
    status: TaskStatus
    error: TaskError | None = None


class TaskProgress(_TaskEvent, frozen=True, kw_only=True, tag="task_progress"):
    percent: int
    step: str


class HostResult(_TaskEvent, frozen=True, kw_only=True, tag="host_result"):
    """One Ansible task's result on one host."""

    host: str
    task: str
    action: str
    outcome: HostOutcome
    message: str = ""


class RunStep(_TaskEvent, frozen=True, kw_only=True, tag="run_step"):
    """A runner event no other kind describes (play/task start, stats, run end)."""

    run: RunEvent


class ServerStatus(_TaskEvent, frozen=True, kw_only=True, tag="server_status"):
    server_id: str
    setup_complete: bool | None = None
    security_locked: bool | None = None
    reachable: bool | None = None


class ServiceStatus(_TaskEvent, frozen=True, kw_only=True, tag="service_status"):
    app_id: str
    unit: str
    active_state: str
    sub_state: str


class DeploymentProgress(_TaskEvent, frozen=True, kw_only=True, tag="deployment_progress"):
    deployment_id: str
    status: str
    step: str = ""


class TaskLogLine(_TaskEvent, frozen=True, kw_only=True, tag="log_line"):
    text: str


class TaskFinished(_TaskEvent, frozen=True, kw_only=True, tag="task_finished"):
    status: TaskStatus
    event_count: int
    error: TaskError | None = None


TaskEvent = (
    TaskStatusChanged
    | TaskProgress
    | HostResult
    | RunStep
    | ServerStatus
    | ServiceStatus
    | DeploymentProgress
    | TaskLogLine
    | TaskFinished
)


def from_run_event(task_id: str, seq: int, event: RunEvent) -> TaskEvent:
    """The task event standing for one runner event (results per host, output as log lines)."""
    if isinstance(event, TaskOk | TaskFailed | TaskSkipped | TaskUnreachable):
        return HostResult(
            task_id=task_id,
            seq=seq,
            created=event.created,
            host=event.host,
            task=event.task,
            action=event.action,
            outcome=_host_outcome(event),
            message=_host_message(event),
        )
    if isinstance(event, RunOutput):
        return TaskLogLine(task_id=task_id, seq=seq, created=event.created, text=event.text)
    return RunStep(task_id=task_id, seq=seq, created=event.created, run=event)


def _host_outcome(event: TaskOk | TaskFailed | TaskSkipped | TaskUnreachable) -> HostOutcome:
    if isinstance(event, TaskOk):
        return HostOutcome.CHANGED if event.changed else HostOutcome.OK
    if isinstance(event, TaskFailed):
        return HostOutcome.FAILED
    if isinstance(event, TaskSkipped):
        return HostOutcome.SKIPPED
    return HostOutcome.UNREACHABLE


def _host_message(event: TaskOk | TaskFailed | TaskSkipped | TaskUnreachable) -> str:
    if isinstance(event, TaskOk):
        return event.result.msg or ""
    if isinstance(event, TaskFailed | TaskUnreachable):
        return event.message
    return ""

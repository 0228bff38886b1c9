"""Tasks around real ansible-playbook runs on the controller (``ansible_connection=local``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from pbdeployer.models.run import PlaybookInvocation, RunCredentials
from pbdeployer.models.task_events import HostOutcome, HostResult, RunStep, TaskFinished
from pbdeployer.models.tasks import Task, TaskKind, TaskSpec, TaskStatus
from pbdeployer.runner import Runner
from pbdeployer.services.tasks import TaskContext, TaskHandler, TaskRuns
from pbdeployer.settings import Settings
from tests.unit.runner.test_runner_local import LOCAL, PLAYBOOKS, leftover_processes, local_server
from tests.unit.tasks.support import QueueFactory, collect


def playbook_body(runs: TaskRuns, playbook: str, *, forward: bool) -> TaskHandler:
    """Run ``playbook`` with the task's params as extra vars; ``forward`` passes on_event."""

    async def body(task: Task, ctx: TaskContext) -> object:
        invocation = PlaybookInvocation(playbook=playbook, extravars={**LOCAL, **task.params})
        on_event = ctx.on_run_event if forward else None
        return await runs.run(invocation, local_server(), on_event)

    return body


def task_runs(tmp_path: Path) -> TaskRuns:
    settings = Settings(data_dir=tmp_path / "runs", run_idle_timeout_seconds=60)
    return TaskRuns(Runner(settings), RunCredentials())


async def test_a_real_run_streams_host_results(make_queue: QueueFactory, tmp_path: Path) -> None:
    runs = task_runs(tmp_path)
    queue = await make_queue(
        {
            TaskKind.AUDIT: playbook_body(runs, "ping.yml", forward=True),
            TaskKind.SERVICE_STATUS: playbook_body(runs, "ping.yml", forward=False),
        }
    )
    for kind in (TaskKind.AUDIT, TaskKind.SERVICE_STATUS):
        task = await queue.submit(TaskSpec(kind=kind, mutating=False, server_id="01LOCAL"))
        events = await collect(queue, task.id)
        results = [e for e in events if isinstance(e, HostResult)]
        assert [(r.host, r.outcome) for r in results] == [("srv_01LOCAL", HostOutcome.OK)]
        steps = [type(e.run).__struct_config__.tag for e in events if isinstance(e, RunStep)]
        assert "playbook_on_play_start" in steps
        assert steps[-1] == "run_finished"
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        done = await queue.get(task.id)
        assert done.status is TaskStatus.SUCCEEDED
        assert isinstance(done.result, dict)
        assert done.result["outcome"] == "succeeded"


async def test_cancel_stops_a_running_playbook(make_queue: QueueFactory, tmp_path: Path) -> None:
    runs = task_runs(tmp_path)
    body = playbook_body(runs, str(PLAYBOOKS / "sleep.yml"), forward=True)
    queue = await make_queue({TaskKind.SETUP: body})
    seconds = str(300 + uuid.uuid4().int % 600)
    task = await queue.submit(
        TaskSpec(kind=TaskKind.SETUP, mutating=True, server_id="01LOCAL",
                 params={"sleep_seconds": seconds})
    )  # fmt: skip
    for _ in range(300):  # the module is running once its sleep shows up
        if leftover_processes(f"sleep {seconds}"):
            break
        await asyncio.sleep(0.1)
    assert leftover_processes(f"sleep {seconds}")
    started = time.monotonic()
    await queue.cancel(task.id)
    events = await asyncio.wait_for(collect(queue, task.id), timeout=5)
    assert time.monotonic() - started < 5
    final = events[-1]
    assert isinstance(final, TaskFinished)
    assert final.status is TaskStatus.CANCELLED
    record = await queue.get(task.id)
    assert record.status is TaskStatus.CANCELLED
    assert record.error is not None
    assert record.error.code == "cancelled"
    assert leftover_processes(f"sleep {seconds}", str(tmp_path / "runs")) == []

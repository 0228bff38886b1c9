"""The API as ``pbdeployer serve`` runs it, with one task kind whose body emits runner events.

    python bench/event_server.py PORT DATA_DIR TOKEN [FLUSH_INTERVAL]

For ``bench/events.py``. The audit task's body is replaced (through the task queue's handler
table, as the tests do) by one that produces ``RunOutput`` runner events and hands each to the
task context's ``on_run_event``, exactly where the runner hands its own: from there on, the
event log, the publisher and the WebSocket are the product's. How many events and how fast
comes from the audited server's name, ``events-<count>-at-<per second>[-suffix]``, so the
benchmark needs nothing but the public API to start a burst. Each event's ``created`` is the
moment it was produced. ``FLUSH_INTERVAL`` (seconds) overrides the event log's, for what-ifs.
"""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from pbdeployer.api import create_app
from pbdeployer.cli import uvicorn_options
from pbdeployer.deployer import Deployer
from pbdeployer.models.run import RunOutput
from pbdeployer.models.tasks import Task, TaskKind
from pbdeployer.services.task_runner import InProcessTaskQueue
from pbdeployer.services.tasks import TaskContext, TaskHandler
from pbdeployer.settings import Settings
from pbdeployer.store.tasks import TaskRepository

PLAN = re.compile(r"^events-(\d+)-at-(\d+)(?:-.+)?$")


def burst(deployer: Deployer) -> TaskHandler:
    """A task body emitting ``count`` runner events at ``rate`` per second (paced, not bursty)."""

    async def body(task: Task, ctx: TaskContext) -> dict[str, int]:
        assert task.server_id is not None
        server = await deployer.servers.get(task.server_id)
        plan = PLAN.match(server.name)
        if plan is None:
            raise ValueError(f"server name {server.name!r} is no events-<count>-at-<rate>")
        count, rate = int(plan[1]), int(plan[2])
        loop = asyncio.get_running_loop()
        start = loop.time()
        for n in range(count):
            delay = start + n / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            event = RunOutput(seq=n + 1, run_id=task.id, created=datetime.now(UTC), text=str(n))
            ctx.on_run_event(event)
        return {"emitted": count}

    return body


def main() -> int:
    port, data_dir, token = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    settings = Settings(host="127.0.0.1", port=port, data_dir=data_dir)
    deployer = Deployer.open(settings)
    if len(sys.argv) > 4:
        deployer.event_log.flush_interval = float(sys.argv[4])
    engine = deployer.database.engine
    deployer.tasks = InProcessTaskQueue(
        TaskRepository(engine),
        deployer.event_log,
        {TaskKind.AUDIT: burst(deployer)},
        workers=settings.task_workers,
    )
    deployer.operations.queue = deployer.tasks
    app = create_app(settings, deployer=deployer, token=token)
    uvicorn.run(app, **uvicorn_options(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

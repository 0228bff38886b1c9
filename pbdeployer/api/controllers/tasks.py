"""/tasks: background work on hosts, its state, its stored events, and cancel."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_200_OK

from pbdeployer.api import docs
from pbdeployer.api.controllers.params import Id
from pbdeployer.models.task_events import TaskEvent
from pbdeployer.models.tasks import Task
from pbdeployer.services.operations import MAX_EVENTS_PER_READ, HostTasks

HostTasksDep = NamedDependency[HostTasks]
After = Annotated[int, QueryParameter(ge=0, description="only events with a larger seq")]
Limit = Annotated[
    int, QueryParameter(ge=1, le=MAX_EVENTS_PER_READ, description="at most this many events")
]


class TaskController(Controller):
    path = "/tasks"
    tags = ["tasks"]

    @get(
        "/{task_id:str}",
        operation_id="getTask",
        summary="Get a task",
        description="Progress, step, result and error of a background task. Its events stream "
        "over the WebSocket `/api/v1/ws` (topic `task:{id}`); see `docs/events.md`.",
        responses={200: docs.success(Task, "A running task", docs.TASK_RUNNING)}
        | docs.responses(404),
    )
    async def get_task(self, host_tasks: HostTasksDep, task_id: Id) -> Task:
        return await host_tasks.queue.get(task_id)

    @post(
        "/{task_id:str}/cancel",
        operation_id="cancelTask",
        summary="Cancel a task",
        description="A queued task ends `cancelled` at once; a running one is asked to stop "
        "(its playbook is interrupted) and ends `cancelled` shortly after. A finished task is "
        "returned unchanged.",
        status_code=HTTP_200_OK,
        responses={200: docs.success(Task, "Cancelled", docs.TASK_CANCELLED)} | docs.responses(404),
    )
    async def cancel_task(self, host_tasks: HostTasksDep, task_id: Id) -> Task:
        return await host_tasks.queue.cancel(task_id)

    @get(
        "/{task_id:str}/events",
        operation_id="listTaskEvents",
        summary="A task's stored events after a seq",
        description="In `seq` order; page on with `after` set to the last `seq` received. The "
        "last event of a finished task is `task_finished`. Events are stored in batches, a "
        "fraction of a second after they happen; the WebSocket streams them live. Every event "
        "type and its JSON schema are in `docs/events.md`.",
        responses={200: docs.success(list[TaskEvent], "Events", docs.TASK_EVENTS)}
        | docs.responses(404, 422),
    )
    async def list_task_events(
        self,
        host_tasks: HostTasksDep,
        task_id: Id,
        after: After = 0,
        limit: Limit = MAX_EVENTS_PER_READ,
    ) -> list[TaskEvent]:
        return await host_tasks.stored_events(task_id, after, limit)

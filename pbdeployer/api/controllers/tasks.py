"""/tasks: background work on hosts, its state, its stored events, and cancel."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK

from pbdeployer.api import docs
from pbdeployer.api.controllers.params import (
    DEFAULT_PER_PAGE,
    Cursor,
    Id,
    ListOrder,
    OptionalId,
    Order,
    PageNumber,
    PerPage,
    page_request,
)
from pbdeployer.models import Page
from pbdeployer.models.task_events import TaskEvent
from pbdeployer.models.tasks import Task, TaskFilter, TaskKind, TaskStatus
from pbdeployer.services.operations import MAX_EVENTS_PER_READ, HostTasks
from pbdeployer.validation import MAX_COUNTER

HostTasksDep = NamedDependency[HostTasks]
After = Annotated[
    int, QueryParameter(ge=0, le=MAX_COUNTER, description="only events with a larger seq")
]
Limit = Annotated[
    int, QueryParameter(ge=1, le=MAX_EVENTS_PER_READ, description="at most this many events")
]


class TaskController(Controller):
    path = "/tasks"
    tags: list[str] | None = ["tasks"]

    @get(
        "/",
        operation_id="listTasks",
        summary="List tasks",
        description="Oldest first. A running task's live progress is in `GET /tasks/{id}`.",
        responses={200: docs.success(Page[Task], "A page", docs.page_of(docs.TASK_RUNNING))}
        | docs.responses(422),
    )
    async def list_tasks(
        self,
        host_tasks: HostTasksDep,
        status: FromQuery[TaskStatus | None] = None,
        kind: FromQuery[TaskKind | None] = None,
        server_id: OptionalId = None,
        app_id: OptionalId = None,
        page: PageNumber = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        order: Order = ListOrder.OLDEST,
        cursor: Cursor = None,
    ) -> Page[Task]:
        flt = TaskFilter(status=status, kind=kind, server_id=server_id, app_id=app_id)
        return await host_tasks.list_tasks(flt, page_request(page, per_page, order, cursor))

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

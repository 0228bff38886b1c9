"""What the pages show, gathered from the services: newest items and a server's summary."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec

from pbdeployer.deployer import Deployer
from pbdeployer.errors import NotFound
from pbdeployer.models import Page, Server, ServerFilter
from pbdeployer.models.common import PageRequest
from pbdeployer.models.tasks import Task, TaskFilter, TaskStatus
from pbdeployer.services.operations import AuditWithAge

T = TypeVar("T")
_UNREACHABLE = "host_unreachable"


async def newest(lister: Callable[[PageRequest], Awaitable[Page[T]]], count: int) -> list[T]:
    """The ``count`` newest items of an oldest-first list, newest first."""
    first = await lister(PageRequest(page=1, per_page=count))
    if first.total <= count:
        return first.items[::-1]
    last_page = math.ceil(first.total / count)
    last = await lister(PageRequest(page=last_page, per_page=count))
    before = await lister(PageRequest(page=last_page - 1, per_page=count))
    return (before.items + last.items)[::-1][:count]


async def server_tasks(deployer: Deployer, server_id: str, count: int) -> list[Task]:
    flt = TaskFilter(server_id=server_id)
    return await newest(lambda page: deployer.operations.list_tasks(flt, page), count)


def reachability(tasks: list[Task]) -> str:
    """What the newest finished task on the server says about reaching it over SSH."""
    for task in tasks:
        if task.status is TaskStatus.SUCCEEDED:
            return "reachable"
        if task.error is not None and task.error.code == _UNREACHABLE:
            return "unreachable"
        if task.status is TaskStatus.FAILED:
            return "reachable"  # it failed on the host, so the host answered
    return "unknown"


async def latest_audit(deployer: Deployer, server_id: str) -> AuditWithAge | None:
    try:
        return await deployer.operations.latest_audit(server_id)
    except NotFound:
        return None


async def server_of(deployer: Deployer, task: Task | None) -> Server | None:
    """The server a task ran on, while it is still registered."""
    if task is None or task.server_id is None:
        return None
    try:
        return await deployer.servers.get(task.server_id)
    except NotFound:
        return None


async def version_label(deployer: Deployer, version_id: str | None) -> str | None:
    """The label people gave a version (what the pages show instead of its id)."""
    if version_id is None:
        return None
    try:
        return (await deployer.versions.get(version_id)).version_number
    except NotFound:
        return version_id


class ServerRow(msgspec.Struct, frozen=True, kw_only=True):
    server: Server
    reachability: str
    score: int | None


async def server_rows(deployer: Deployer) -> list[ServerRow]:
    page = await deployer.servers.list(ServerFilter(), PageRequest(per_page=200))
    rows = []
    for server in page.items:
        audit = await latest_audit(deployer, server.id)
        tasks = await server_tasks(deployer, server.id, 10)
        score = audit.report.score if audit else None
        rows.append(ServerRow(server=server, reachability=reachability(tasks), score=score))
    return rows


def form_values(form: Any, names: tuple[str, ...]) -> dict[str, str]:
    """The named fields a form filled in (an empty field counts as left out)."""
    return {name: str(form[name]).strip() for name in names if str(form.get(name, "")).strip()}

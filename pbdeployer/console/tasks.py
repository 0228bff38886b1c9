"""``tasks``, ``task ID``, ``cancel ID``: background work, followed live, and its end."""

from __future__ import annotations

import click

from pbdeployer.console.context import json_option, run
from pbdeployer.console.exits import Exit, exit_for
from pbdeployer.console.follow import follow
from pbdeployer.console.render import Column, Output
from pbdeployer.console.resolve import newest
from pbdeployer.console.target import Target
from pbdeployer.errors import NotFound
from pbdeployer.models.tasks import Task, TaskStatus

TASK_COLUMNS: list[Column[Task]] = [
    Column("ID", lambda t: t.id),
    Column("KIND", lambda t: t.kind),
    Column("STATUS", lambda t: t.status),
    Column("PROGRESS", lambda t: f"{t.progress}%"),
    Column("STEP", lambda t: t.step),
    Column("CREATED", lambda t: t.created),
    Column("ERROR", lambda t: t.error.message if t.error else ""),
]
TASK_FIELDS: list[Column[Task]] = [
    *TASK_COLUMNS[:6],
    Column("started", lambda t: t.started_at),
    Column("finished", lambda t: t.finished_at),
    Column("server", lambda t: t.server_id),
    Column("app", lambda t: t.app_id),
    Column("deployment", lambda t: t.deployment_id),
    Column("error", lambda t: f"{t.error.code}: {t.error.message}" if t.error else ""),
]


def task_exit(task: Task) -> Exit:
    if task.status is TaskStatus.SUCCEEDED:
        return Exit.OK
    if task.status is TaskStatus.CANCELLED:
        return Exit.CANCELLED
    return exit_for(task.error.code if task.error else None)


async def run_task(target: Target, out: Output, task: Task, title: str) -> tuple[Task, Exit]:
    """Follow ``task`` to its end (Ctrl-C asks, then cancels it); say how it ended."""

    async def cancel() -> None:
        await target.cancel_task(task.id)

    await follow(target.events(task.id), out, title, cancel)
    done = await target.task(task.id)
    code = task_exit(done)
    if code is Exit.OK:
        out.say(f"{title}: done", style="green")
    elif code is Exit.CANCELLED:
        out.say(f"{title}: cancelled", style="yellow")
    else:
        message = done.error.message if done.error else done.status
        out.error(f"{title} {done.status}: {message}")
    return done, code


@click.command("tasks")
@click.option("--status", type=click.Choice([s.value for s in TaskStatus]), help="only these")
@click.option("-n", "--last", "count", default=20, show_default=True, help="how many, newest")
@json_option
def list_tasks(status: str | None, count: int) -> None:
    """List the newest tasks."""

    async def body(target: Target, out: Output) -> None:
        flt = TaskStatus(status) if status else None
        items = await newest(lambda page: target.tasks(page, flt), count)
        out.table(items, TASK_COLUMNS)

    run(body)


@click.command("task")
@click.argument("task_id")
@click.option("-f", "--follow", "live", is_flag=True, help="follow it live to its end")
@json_option
def show_task(task_id: str, live: bool) -> None:
    """Show a task (and follow it with -f)."""

    async def body(target: Target, out: Output) -> Exit:
        task = await target.task(task_id)
        if live and not task.status.finished:
            task, _ = await run_task(target, out, task, f"task {task.id}")
        out.record(task, TASK_FIELDS)
        return task_exit(task) if task.status.finished else Exit.OK

    run(body)


@click.command("cancel")
@click.argument("task_or_deployment_id")
@json_option
def cancel(task_or_deployment_id: str) -> None:
    """Cancel a running deployment or task (by its id)."""

    async def body(target: Target, out: Output) -> None:
        try:
            deployment = await target.cancel_deployment(task_or_deployment_id)
        except NotFound:
            task = await target.cancel_task(task_or_deployment_id)
            out.record(task, TASK_FIELDS)
            return
        out.say(f"deployment {deployment.id}: {deployment.status}")
        if out.json:
            out.data(deployment)

    run(body)

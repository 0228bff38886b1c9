"""``deploy``, ``rollback`` and ``status``: releases of an app, followed live to their end."""

from __future__ import annotations

from pathlib import Path

import click

from pbdeployer.console import resolve
from pbdeployer.console.context import json_option, run
from pbdeployer.console.exits import CommandError, Exit, exit_for
from pbdeployer.console.follow import follow
from pbdeployer.console.project import FILE_NAME, find_project
from pbdeployer.console.render import Column, Output
from pbdeployer.console.target import Target
from pbdeployer.console.versions import add_version
from pbdeployer.errors import NotFound, PbDeployerError
from pbdeployer.models import App, AppCreate, DeploymentStatus, Version
from pbdeployer.models.deployments import Deployment

DEPLOYMENT_FIELDS: list[Column[Deployment]] = [
    Column("deployment", lambda d: d.id),
    Column("kind", lambda d: d.kind),
    Column("status", lambda d: d.status),
    Column("version", lambda d: d.version_id),
    Column("release", lambda d: d.release),
    Column("created", lambda d: d.created),
    Column("finished", lambda d: d.completed_at),
    Column("seconds", lambda d: d.duration_seconds),
    Column("rolled back", lambda d: d.rolled_back),
    Column("error", lambda d: d.error_message),
]


def deployment_exit(deployment: Deployment) -> Exit:
    if deployment.status is DeploymentStatus.SUCCEEDED:
        return Exit.OK
    if deployment.status is DeploymentStatus.CANCELLED:
        return Exit.CANCELLED
    return exit_for(deployment.error_code)


async def watch(target: Target, out: Output, started: Deployment, title: str) -> Exit:
    """Follow a deployment to its end (Ctrl-C asks, then cancels it) and say how it ended."""
    if started.task_id is None:
        raise CommandError(f"deployment '{started.id}' has no task", Exit.FAILED)

    async def cancel() -> None:
        await target.cancel_deployment(started.id)

    await follow(target.events(started.task_id), out, title, cancel)
    done = await target.deployment(started.id)
    code = deployment_exit(done)
    if out.json:
        out.data(done)
    elif code is Exit.OK:
        took = f" in {done.duration_seconds:.1f} s" if done.duration_seconds else ""
        out.say(f"{title}: succeeded{took}, release {done.release}", style="green")
    elif code is Exit.CANCELLED:
        out.say(f"{title}: cancelled; {done.error_message or 'nothing changed'}", style="yellow")
    else:
        back = " (rolled back to the previous release)" if done.rolled_back else ""
        out.error(f"{title} {done.status}{back}: {done.error_message or done.error_code}")
    return code


async def _app_for(target: Target, name: str, server: str | None) -> App:
    try:
        return await resolve.app(target, name)
    except NotFound:
        if server is None:
            raise
    host = await resolve.server(target, server)
    return await target.add_app(AppCreate(name=name, server_id=host.id))


async def _version_for(
    target: Target, app: App, source: str | Path | None, label: str | None, notes: str
) -> Version:
    if isinstance(source, Path):
        return await add_version(target, app, source, label, notes)
    if source is not None:
        return await resolve.version(target, app, source)
    return await resolve.latest_version(target, app)


@click.command("deploy")
@click.argument("app", required=False)
@click.argument("source", required=False)
@click.option("--label", help="label of the version made from a zip or directory")
@click.option("--notes", default="", help="notes of the version made from a zip or directory")
@json_option
def deploy(app: str | None, source: str | None, label: str | None, notes: str) -> None:
    """Deploy APP: a zip or directory (made into a new version), a version, or the newest one.

    With no arguments, deploys what pbdeployer.toml in this directory (or a parent) names.
    """
    server = None
    if app is None:
        found = find_project(Path.cwd())
        if found is None:
            raise click.UsageError(f"name an APP, or run where a {FILE_NAME} names one")
        app, server, source = found.project.app, found.project.server, str(found.source)
        notes = notes or found.project.notes
    name = app
    given: str | Path | None = Path(source) if source and Path(source).exists() else source

    async def body(target: Target, out: Output) -> Exit:
        found_app = await _app_for(target, name, server)
        version = await _version_for(target, found_app, given, label, notes)
        started = await target.deploy(found_app.id, version.id)
        title = f"deploy of {found_app.name} {version.version_number}"
        return await watch(target, out, started, title)

    run(body)


@click.command("rollback")
@click.argument("app")
@click.argument("version", required=False)
@json_option
def rollback(app: str, version: str | None) -> None:
    """Roll APP back to VERSION, by default the release live before the current one."""

    async def body(target: Target, out: Output) -> Exit:
        found = await resolve.app(target, app)
        wanted = (await resolve.version(target, found, version)).id if version else None
        started = await target.rollback(found.id, wanted)
        return await watch(target, out, started, f"rollback of {found.name}")

    run(body)


@click.command("status")
@click.argument("app")
@json_option
def status(app: str) -> None:
    """Show APP: its live version, its last deployment, and its unit on the server."""

    async def body(target: Target, out: Output) -> None:
        found = await resolve.app(target, app)
        recent = await resolve.newest(lambda page: target.deployments(page, found.id), 1)
        current = await target.version(found.current_version) if found.current_version else None
        try:
            unit = await target.unit(found.server_id, found.service_name)
            service = f"{unit.active_state} ({unit.sub_state}) since {unit.since or '?'}"
        except PbDeployerError as exc:
            unit, service = None, f"unknown: {exc.message}"
        if out.json:
            last = recent[-1] if recent else None
            out.data({"app": found, "version": current, "last_deployment": last, "unit": unit})
            return
        out.record(found, _status_fields(current, recent[-1] if recent else None, service))

    run(body)


def _status_fields(
    current: Version | None, last: Deployment | None, service: str
) -> list[Column[App]]:
    when = f" at {last.created:%Y-%m-%d %H:%M:%S}" if last else ""
    return [
        Column("app", lambda a: a.name),
        Column("status", lambda a: a.status),
        Column("version", lambda _: current.version_number if current else "none"),
        Column("service", lambda _: service),
        Column("last deployment", lambda _: f"{last.status}{when}" if last else "none"),
        Column("port", lambda a: a.http_port),
    ]

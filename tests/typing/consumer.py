"""A library user's script, type-checked (never run) by ``test_consumer_types.py``.

It uses only ``pbdeployer``'s top-level names, the way the README teaches, so a strict
checker sees precise types everywhere and an ``Any`` leaking out of the package fails.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from pbdeployer import (
    App,
    AppCreate,
    AuditReport,
    Conflict,
    Deployer,
    Deployment,
    DeploymentStatus,
    HostUnreachable,
    InvalidInput,
    NotFound,
    Page,
    PbDeployerError,
    RunEvent,
    RunResult,
    RunTimeout,
    Server,
    ServerCreate,
    ServerFilter,
    ServiceAction,
    Settings,
    TaskEvent,
    UnitStatus,
    Version,
    VersionCreate,
)


def show(event: RunEvent) -> None:
    print(type(event).__name__, event.seq, event.created.isoformat())


async def first_server(deployer: Deployer, name: str) -> Server | None:
    page: Page[Server] = await deployer.servers.list(ServerFilter(q=name))
    return page.items[0] if page.items else None


async def provision(deployer: Deployer, host: str) -> Server:
    try:
        server = await deployer.servers.create(ServerCreate(name="web1", host=host))
    except Conflict:
        found = await first_server(deployer, "web1")
        assert found is not None
        server = found
    except InvalidInput as error:
        fields = [problem.field for problem in error.details]
        raise SystemExit(f"bad input: {fields}") from error
    try:
        result: RunResult = await deployer.setup.setup(server.id, ["jq"], on_event=show)
    except HostUnreachable as error:
        raise SystemExit(f"{error.host} unreachable during {error.task}") from error
    except RunTimeout as error:
        raise SystemExit(f"timed out: {error.code}") from error
    print(result.outcome, result.duration_seconds)
    report: AuditReport = await deployer.security.audit(server.id)
    print(report.score, [finding.id for finding in report.findings])
    return server


async def release(deployer: Deployer, server: Server, zip_path: Path) -> Deployment:
    app: App = await deployer.apps.create(AppCreate(name="blog", server_id=server.id))
    version: Version = await deployer.versions.create_with_zip(
        VersionCreate(app_id=app.id, version_number="1.0.0"), zip_path
    )
    deployment = await deployer.deployments.deploy(app.id, version.id)
    event: TaskEvent
    async for event in deployer.deployments.events(deployment.id):
        print(event.seq, type(event).__name__, event.created)
    done = await deployer.deployments.wait(deployment.id)
    if done.status is DeploymentStatus.FAILED:
        print(done.error_code, done.error_message, done.rolled_back)
    unit: UnitStatus = await deployer.services.status(app.id)
    await deployer.services.control(app.id, ServiceAction.RESTART)
    print(unit.active_state, done.duration_seconds)
    return done


async def main() -> int:
    settings = Settings.from_env()
    async with Deployer.open(settings) as deployer:
        try:
            server = await provision(deployer, "203.0.113.10")
            done = await release(deployer, server, Path("dist/blog.zip"))
        except NotFound as error:
            print(error.code, error.message)
            return 5
        except PbDeployerError as error:
            print(repr(error))
            return 1
        return 0 if done.status is DeploymentStatus.SUCCEEDED else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))

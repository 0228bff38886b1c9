"""Host operations: setup, security and the apps' systemd units of one server.

Whatever changes a host answers 202 with the queued task; follow it with
``GET /tasks/{task_id}`` or the WebSocket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED

from pbdeployer.api import docs
from pbdeployer.api.controllers.params import Id
from pbdeployer.api.controllers.tasks import HostTasksDep
from pbdeployer.models import LogLine, UnitStatus
from pbdeployer.models.tasks import Task
from pbdeployer.services.operations import READ_TIMEOUT_SECONDS, AuditWithAge

MAX_LOG_LINES = 10_000
_QUEUED = "Answers 202 with the queued task at once; the work runs in the background."
_READ = (
    f"Reads the host live, as a read-only task; this can take up to {READ_TIMEOUT_SECONDS:g} s "
    "(waiting for a free worker included). Past that the task is cancelled and the answer "
    "is 504."
)


class Packages(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    packages: list[str]
    """Debian package names installed besides the default list."""


class ExtraPackages(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    packages: list[str] = msgspec.field(default_factory=list)


class SetupRequest(ExtraPackages, frozen=True, kw_only=True, forbid_unknown_fields=True):
    proxy: bool = False
    """Install the proxy (Caddy) now; setup installs it anyway when an app on the server has a
    domain, and a deploy of such an app does too."""


class Lockdown(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    extra_ports: list[int] = msgspec.field(default_factory=list)
    """TCP ports the firewall opens besides SSH, 80 and 443."""


class ServiceCommand(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    action: Literal["start", "stop", "restart", "reload", "enable", "disable"]


def _accepted(summary: str) -> dict[int, ResponseSpec]:
    return {202: docs.success(Task, summary, docs.TASK_QUEUED, "Accepted")}


class SetupController(Controller):
    path = "/servers/{server_id:str}/setup"
    tags: list[str] | None = ["setup"]

    @post(
        "/",
        operation_id="setupServer",
        summary="Set up a server (app user, packages, and the proxy when needed)",
        description=f"{_QUEUED} Marks the server `setup_complete` when it succeeds.",
        status_code=HTTP_202_ACCEPTED,
        responses=_accepted("Setup queued") | docs.responses(404, 409, 422),
    )
    async def setup(
        self,
        host_tasks: HostTasksDep,
        server_id: Id,
        data: Annotated[
            SetupRequest | None,
            Body(examples=docs.example("Extra packages", docs.PACKAGES)),
        ] = None,
    ) -> Task:
        data = data or SetupRequest()
        return await host_tasks.setup(server_id, data.packages, proxy=data.proxy)

    @post(
        "/user",
        operation_id="setupServerUser",
        summary="Create or update the app user",
        description=f"{_QUEUED} The user, its authorized_keys and its limited sudo.",
        status_code=HTTP_202_ACCEPTED,
        responses=_accepted("Queued") | docs.responses(404, 409),
    )
    async def setup_user(self, host_tasks: HostTasksDep, server_id: Id) -> Task:
        return await host_tasks.setup_user(server_id)

    @post(
        "/packages",
        operation_id="setupServerPackages",
        summary="Install packages",
        description=f"{_QUEUED} The default list plus `packages`.",
        status_code=HTTP_202_ACCEPTED,
        responses=_accepted("Queued") | docs.responses(404, 409, 422),
    )
    async def setup_packages(
        self,
        host_tasks: HostTasksDep,
        server_id: Id,
        data: Annotated[Packages, Body(examples=docs.example("Packages", docs.PACKAGES))],
    ) -> Task:
        return await host_tasks.setup_packages(server_id, data.packages)


class SecurityController(Controller):
    path = "/servers/{server_id:str}/security"
    tags: list[str] | None = ["security"]

    @post(
        "/lockdown",
        operation_id="lockdownServer",
        summary="Harden the server",
        description=f"{_QUEUED} sshd, firewall, fail2ban and unattended upgrades; proves the "
        "app user can log in with its key and sudo before root and password logins are "
        "turned off.",
        status_code=HTTP_202_ACCEPTED,
        responses=_accepted("Queued") | docs.responses(404, 409, 422),
    )
    async def lockdown(
        self,
        host_tasks: HostTasksDep,
        server_id: Id,
        data: Annotated[
            Lockdown | None, Body(examples=docs.example("Open 8443 too", docs.LOCKDOWN))
        ] = None,
    ) -> Task:
        return await host_tasks.lockdown(server_id, data.extra_ports if data else [])

    @post(
        "/audit",
        operation_id="auditServer",
        summary="Run a fresh security audit",
        description=f"{_QUEUED} Read-only; the report is the task's result and becomes the "
        "latest one.",
        status_code=HTTP_202_ACCEPTED,
        responses=_accepted("Queued") | docs.responses(404, 409),
    )
    async def audit(self, host_tasks: HostTasksDep, server_id: Id) -> Task:
        return await host_tasks.audit(server_id)

    @get(
        "/audit",
        operation_id="getLatestAudit",
        summary="The latest stored audit report",
        description="With its age in seconds; 404 when the server was never audited.",
        responses={200: docs.success(AuditWithAge, "A report", docs.AUDIT_WITH_AGE)}
        | docs.responses(404),
    )
    async def latest_audit(self, host_tasks: HostTasksDep, server_id: Id) -> AuditWithAge:
        return await host_tasks.latest_audit(server_id)


class ServicesController(Controller):
    path = "/services/{server_id:str}"
    tags: list[str] | None = ["services"]

    @get(
        "/",
        operation_id="listServices",
        summary="The managed units of a server and their state",
        description=f"One unit per app on the server. {_READ}",
        responses={200: docs.success(list[UnitStatus], "Units", [docs.UNIT])}
        | docs.responses(404, 502, 504),
    )
    async def list_services(self, host_tasks: HostTasksDep, server_id: Id) -> list[UnitStatus]:
        return await host_tasks.units(server_id)

    @get(
        "/{name:str}",
        operation_id="getService",
        summary="The state of one managed unit",
        description=f"`name` is the app's `service_name` on that server. {_READ}",
        responses={200: docs.success(UnitStatus, "A unit", docs.UNIT)}
        | docs.responses(404, 502, 504),
    )
    async def get_service(self, host_tasks: HostTasksDep, server_id: Id, name: Id) -> UnitStatus:
        return await host_tasks.unit(server_id, name)

    @post(
        "/{name:str}",
        operation_id="controlService",
        summary="Start, stop, restart, reload, enable or disable a unit",
        description=f"`name` is the app's `service_name` on that server. {_QUEUED}",
        status_code=HTTP_202_ACCEPTED,
        responses=_accepted("Queued") | docs.responses(404, 409, 422),
    )
    async def control_service(
        self,
        host_tasks: HostTasksDep,
        server_id: Id,
        name: Id,
        data: Annotated[ServiceCommand, Body(examples=docs.example("Restart", docs.RESTART))],
    ) -> Task:
        return await host_tasks.control(server_id, name, data.action)

    @get(
        "/{name:str}/logs",
        operation_id="getServiceLogs",
        summary="Journal lines of a unit",
        description=f"The last `lines` lines, optionally only those since `since`. {_READ}",
        responses={200: docs.success(list[LogLine], "Lines", [docs.LOG_LINE])}
        | docs.responses(404, 422, 502, 504),
    )
    async def service_logs(
        self,
        host_tasks: HostTasksDep,
        server_id: Id,
        name: Id,
        lines: Annotated[
            int, QueryParameter(ge=1, le=MAX_LOG_LINES, description="how many lines, newest last")
        ] = 100,
        since: Annotated[
            datetime | None, QueryParameter(description="only lines at or after this time")
        ] = None,
    ) -> list[LogLine]:
        return await host_tasks.logs(server_id, name, lines, since)

"""Service: each app's systemd unit, installed, controlled and read through the role."""

from __future__ import annotations

import enum

from pbdeployer.models import App, Server
from pbdeployer.models.run import PlaybookInvocation
from pbdeployer.plays.role_vars import ServiceVars

SERVICE_STATUS_FACT = "service_status"
SERVICE_LOGS_FACT = "service_logs"


class ServiceAction(enum.StrEnum):
    START = "start"
    STOP = "stop"
    RESTART = "restart"
    RELOAD = "reload"
    ENABLE = "enable"
    DISABLE = "disable"


def app_vars(app: App, server: Server) -> ServiceVars:
    return ServiceVars(
        service_name=app.service_name,
        service_user=server.app_username,
        service_working_dir=app.remote_path,
        service_binary=app.binary_name,
        service_port=app.http_port,
    )


def _invocation(
    variables: ServiceVars, result_facts: tuple[str, ...] = (), **changes: object
) -> PlaybookInvocation:
    extravars = variables.extravars() | changes
    return PlaybookInvocation(
        playbook="service.yml", extravars=extravars, result_facts=result_facts
    )


def install_unit(app: App, server: Server) -> PlaybookInvocation:
    """Write the unit and start it (the release must already be in place)."""
    return _invocation(app_vars(app, server))


def control(app: App, server: Server, action: ServiceAction) -> PlaybookInvocation:
    return _invocation(app_vars(app, server), service_action=action.value)


def status(app: App, server: Server) -> PlaybookInvocation:
    return _invocation(app_vars(app, server), (SERVICE_STATUS_FACT,), service_read="status")


def logs(app: App, server: Server, lines: int = 100, since: str = "") -> PlaybookInvocation:
    return _invocation(
        app_vars(app, server),
        (SERVICE_LOGS_FACT,),
        service_read="logs",
        service_logs_lines=lines,
        service_logs_since=since,
    )

"""App environment: the unit's EnvironmentFile written, then the app restarted and checked.

The variables travel as ``private_vars`` (never in the run's extravars file) and every
secret value is in ``redact``, so neither events nor the run directory carry them.
"""

from __future__ import annotations

from typing import Any

from pbdeployer.models import App, Server
from pbdeployer.models.app_env import EnvValues
from pbdeployer.models.run import PlaybookInvocation
from pbdeployer.plays.proxy import served_site_vars
from pbdeployer.plays.service import app_vars

ENV_VAR = "service_env"


def apply(
    app: App,
    server: Server,
    env: EnvValues,
    *,
    restart: bool,
    health_timeout: int = 30,
    acme_email: str | None = None,
) -> PlaybookInvocation:
    """Write ``env`` for the app's unit; with ``restart`` (the app is deployed), restart it
    and wait for its health, through the proxy too when it has a domain."""
    extravars = app_vars(app, server).extravars() | {
        "app_env_restart": restart,
        "app_env_health_timeout": max(1, health_timeout),
    }
    if app.domain and restart:
        extravars |= served_site_vars(app, acme_email, health_timeout).extravars()
    return PlaybookInvocation(playbook="app_env.yml", extravars=extravars, **private(env))


def private(env: EnvValues) -> dict[str, Any]:
    """The ``PlaybookInvocation`` fields that carry ``env`` to the service role."""
    return {"private_vars": {ENV_VAR: dict(env.values)}, "redact": env.secrets}


def remove(app: App, server: Server) -> PlaybookInvocation:
    """Take the app off its host: its site, then its unit and environment file (its data
    stays on disk)."""
    return PlaybookInvocation(
        playbook="app_remove.yml", extravars=app_vars(app, server).extravars()
    )

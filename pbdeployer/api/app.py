"""The Litestar application: routes under /api/v1, one error body, bearer auth, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
import yaml
from litestar import Litestar, Router
from litestar.di import Provide
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, Contact, License, SecurityScheme, Tag

from pbdeployer import __version__
from pbdeployer.api.auth import token_guard
from pbdeployer.api.bodies import ClientLeft, body_deadline, client_left
from pbdeployer.api.channels import ChannelsPublisher, EventChannels
from pbdeployer.api.contract import ContractConfig
from pbdeployer.api.controllers import (
    AppController,
    AppDeploymentController,
    DeploymentController,
    HealthController,
    MaintenanceController,
    ReferenceController,
    SecurityController,
    ServerController,
    ServicesController,
    SetupController,
    TaskController,
    VersionController,
)
from pbdeployer.api.dashboard import STATIC_PATH, dashboard_routes, template_config
from pbdeployer.api.errors import EXCEPTION_HANDLERS, error_codes
from pbdeployer.api.strict import strict_values
from pbdeployer.api.ws import events_socket
from pbdeployer.deployer import Deployer
from pbdeployer.services import check_token, load_or_create_token
from pbdeployer.settings import Settings

API_PREFIX = "/api/v1"
_SWAGGER_UI = f"{STATIC_PATH}/vendor/swagger-ui"
_DESCRIPTION = """Deploy PocketBase apps to your own Linux servers over SSH.

Every route except `/api/v1/health` and the documents under `/api/v1/schema` needs
`Authorization: Bearer <token>`. Errors always have the body
`{"error": {"code", "message", "details": [{"field", "reason"}]}}`; `code` is one of a fixed
list (the `ErrorInfo` schema).

Operations that change a host answer `202` with a task; follow it with `GET /api/v1/tasks/{id}`
or live over the WebSocket `/api/v1/ws` (subscribe to `task:{id}`, replay from any `seq`).
The WebSocket is described by the AsyncAPI 3 document `/api/v1/schema/asyncapi.yaml`; every
event type, with its JSON schema, is in the event reference `/api/v1/schema/events.md`.
"""
_TAGS = {
    "health": "Whether the API and what it depends on work",
    "servers": "The Linux hosts pbdeployer deploys to, reached over SSH",
    "apps": "PocketBase apps, each on one server",
    "versions": "Labelled builds of an app, with their zips",
    "deployments": "Deploys and rollbacks of an app's versions, and their statistics",
    "setup": "Preparing a server: the app user and packages",
    "security": "Locking a server down, and auditing it",
    "services": "The systemd units of the apps: status, control and logs",
    "tasks": "Every operation on a host, as a task with its events",
    "maintenance": "Keeping the stored history in bounds: the retention policy",
}


def openapi_config() -> ContractConfig:
    return ContractConfig(
        title="pbdeployer",
        version=__version__,
        description=_DESCRIPTION,
        path=f"{API_PREFIX}/schema",
        render_plugins=[  # assets from the package (vendored by ./dev), never from a CDN
            SwaggerRenderPlugin(
                js_url=f"{_SWAGGER_UI}/swagger-ui-bundle.js",
                css_url=f"{_SWAGGER_UI}/swagger-ui.css",
                standalone_preset_js_url=f"{_SWAGGER_UI}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' href='{_SWAGGER_UI}/favicon-32x32.png'>",
            )
        ],
        components=Components(
            security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer")}
        ),
        security=[{"BearerToken": []}],
        tags=[Tag(name=name, description=text) for name, text in _TAGS.items()],
        license=License(name="MIT", identifier="MIT"),
        contact=Contact(name="pbdeployer maintainers"),
        error_codes=error_codes(),
    )


def openapi_yaml(app: Litestar) -> str:
    """The schema exactly as the app serves it, as stable YAML."""
    schema = msgspec.to_builtins(app.openapi_schema.to_schema())  # struct defaults as data
    return yaml.safe_dump(schema, sort_keys=True, allow_unicode=True, width=100)


def create_app(
    settings: Settings, *, deployer: Deployer | None = None, token: str | None = None
) -> Litestar:
    """Build the app; the deployer (and with it the task queue) runs for the app's lifespan."""
    deployer = deployer or Deployer.open(settings)
    channels = EventChannels()
    deployer.use_publisher(ChannelsPublisher(channels))
    if token is None:
        token = load_or_create_token(settings)[0]
    token = check_token(token, "the token given to create_app")  # never an open door

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await deployer.start()
        try:
            yield
        finally:
            await deployer.close()

    v1 = Router(
        path=API_PREFIX,
        route_handlers=[
            HealthController,
            ReferenceController,
            MaintenanceController,
            ServerController,
            AppController,
            VersionController,
            SetupController,
            SecurityController,
            ServicesController,
            TaskController,
            AppDeploymentController,
            DeploymentController,
            events_socket(token, deployer.tasks, deployer.publisher),
        ],
        guards=[token_guard(token)],
        before_request=strict_values,
        dependencies={
            "deployer": Provide(lambda: deployer, sync_to_thread=False),
            "host_tasks": Provide(lambda: deployer.operations, sync_to_thread=False),
            "deployments": Provide(lambda: deployer.deployments, sync_to_thread=False),
        },
    )
    return Litestar(
        route_handlers=[v1, *dashboard_routes(token, deployer)],
        template_config=template_config(),
        exception_handlers={**EXCEPTION_HANDLERS, ClientLeft: client_left},
        middleware=[body_deadline(settings.request_body_timeout_seconds)],
        openapi_config=openapi_config(),
        plugins=[channels],
        lifespan=[lifespan],
        debug=False,
    )

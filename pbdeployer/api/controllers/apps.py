"""/apps: the services deployed on servers."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromQuery, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from pbdeployer.api import docs
from pbdeployer.api.controllers.params import (
    DEFAULT_PER_PAGE,
    Cursor,
    DeployerDep,
    Id,
    ListOrder,
    OptionalId,
    Order,
    PageNumber,
    PerPage,
    Search,
    page_request,
)
from pbdeployer.api.controllers.tasks import HostTasksDep
from pbdeployer.models import App, AppCreate, AppFilter, AppStatus, AppUpdate, Page
from pbdeployer.models.app_env import AppEnv, AppEnvUpdate
from pbdeployer.models.tasks import Task


class AppController(Controller):
    path = "/apps"
    tags: list[str] | None = ["apps"]

    @get(
        "/",
        operation_id="listApps",
        summary="List apps",
        description="A page of apps, oldest first; filter by server, status or a name search.",
        responses={200: docs.success(Page[App], "A page", docs.page_of(docs.APP))}
        | docs.responses(422),
    )
    async def list_apps(
        self,
        deployer: DeployerDep,
        server_id: OptionalId = None,
        status: FromQuery[AppStatus | None] = None,
        q: Search = None,
        page: PageNumber = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        order: Order = ListOrder.OLDEST,
        cursor: Cursor = None,
    ) -> Page[App]:
        flt = AppFilter(server_id=server_id, status=status, q=q)
        return await deployer.apps.list(flt, page_request(page, per_page, order, cursor))

    @post(
        "/",
        operation_id="createApp",
        summary="Create an app on a server",
        description="Unset remote_path, service_name and http_port are derived from the name "
        "and the next free port (from 8090) on the server.",
        responses={201: docs.success(App, "Created", docs.APP, "Created")}
        | docs.responses(400, 409, 422),
    )
    async def create_app(
        self,
        deployer: DeployerDep,
        data: Annotated[AppCreate, Body(examples=docs.example("An app", docs.APP_CREATE))],
    ) -> App:
        return await deployer.apps.create(data)

    @get(
        "/{app_id:str}",
        operation_id="getApp",
        summary="Get an app",
        description="One app with its settings, current version and status.",
        responses={200: docs.success(App, "An app", docs.APP)} | docs.responses(404),
    )
    async def get_app(self, deployer: DeployerDep, app_id: Id) -> App:
        return await deployer.apps.get(app_id)

    @patch(
        "/{app_id:str}",
        operation_id="updateApp",
        summary="Change an app's settings",
        description="Only the fields sent change. A new domain or TLS mode takes effect on the "
        "host with `POST /apps/{app_id}/site`; 409 when the new name, path or port is "
        "taken.",
        responses={200: docs.success(App, "Updated", docs.APP)}
        | docs.responses(400, 404, 409, 422),
    )
    async def update_app(
        self,
        deployer: DeployerDep,
        app_id: Id,
        data: Annotated[AppUpdate, Body(examples=docs.example("New domain", docs.APP_UPDATE))],
    ) -> App:
        return await deployer.apps.update(app_id, data)

    @post(
        "/{app_id:str}/site",
        operation_id="serveAppSite",
        summary="Serve the app at its domain as it is now (or stop serving it without one)",
        description="Writes the app's site on its server's proxy for its current domain and "
        "TLS mode, installing the proxy when needed, and checks the app through it; without a "
        "domain, removes the site. Run it after changing the domain or TLS mode. Answers 202 "
        "with the queued task.",
        status_code=HTTP_202_ACCEPTED,
        responses={202: docs.success(Task, "Queued", docs.TASK_QUEUED, "Accepted")}
        | docs.responses(404, 409),
    )
    async def serve_app_site(self, host_tasks: HostTasksDep, app_id: Id) -> Task:
        return await host_tasks.serve_site(app_id)

    @get(
        "/{app_id:str}/env",
        operation_id="getAppEnv",
        summary="The app's environment variables (secret values are never shown)",
        description="Each variable's key and whether it is secret; a secret's value is never "
        "returned (`value` is null and `set` says it holds one).",
        responses={200: docs.success(AppEnv, "The variables", docs.APP_ENV)} | docs.responses(404),
    )
    async def get_app_env(self, deployer: DeployerDep, app_id: Id) -> AppEnv:
        return await deployer.env.get(app_id)

    @put(
        "/{app_id:str}/env",
        operation_id="setAppEnv",
        summary="Replace the app's environment variables and apply them on its server",
        description="Stores the variables (secret values encrypted, write-only; a secret sent "
        "with value null keeps its stored value) and queues the task that writes them to the "
        "app's EnvironmentFile on its server (root, 0600) and, when the app is deployed, "
        "restarts it and waits for its health. Answers 202 with the queued task.",
        status_code=HTTP_202_ACCEPTED,
        responses={202: docs.success(Task, "Queued", docs.TASK_QUEUED, "Accepted")}
        | docs.responses(400, 404, 409, 422),
    )
    async def set_app_env(
        self,
        host_tasks: HostTasksDep,
        app_id: Id,
        data: Annotated[
            AppEnvUpdate, Body(examples=docs.example("A secret and a setting", docs.APP_ENV_UPDATE))
        ],
    ) -> Task:
        return await host_tasks.set_env(app_id, data)

    @delete(
        "/{app_id:str}",
        operation_id="deleteApp",
        summary="Delete an app (refused while it has versions, unless cascade=true)",
        description="Removes the app from pbdeployer. 409 while it has versions, unless "
        "`cascade=true` deletes them (and their deployment history) too. An app that never "
        "reached its server is deleted at once (204). One that did is taken off its server "
        "first: the answer is 202 with the queued task, which removes the app's site from the "
        "proxy and stops and removes its unit and environment file (its data stays on disk), "
        "then deletes the app.",
        status_code=HTTP_202_ACCEPTED,
        responses={
            202: docs.success(Task, "Queued", docs.TASK_QUEUED, "Accepted"),
            204: ResponseSpec(None, description="Deleted at once"),
        }
        | docs.responses(404, 409, 422),
    )
    async def delete_app(
        self,
        host_tasks: HostTasksDep,
        app_id: Id,
        cascade: Annotated[
            bool,
            QueryParameter(description="also delete its versions and deployment history"),
        ] = False,
    ) -> Response[Task | None]:
        task = await host_tasks.delete_app(app_id, cascade=cascade)
        if task is None:
            return Response(None, status_code=HTTP_204_NO_CONTENT)
        return Response(task, status_code=HTTP_202_ACCEPTED)

"""The dashboard's pages (GET): lists, a server, an app, a task or deployment followed live."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from pbdeployer.api import session
from pbdeployer.api.dashboard import views
from pbdeployer.api.errors import domain_error
from pbdeployer.deployer import Deployer
from pbdeployer.errors import PbDeployerError
from pbdeployer.models import AppFilter, PageRequest, ServerFilter, VersionFilter
from pbdeployer.models.deployments import DeploymentFilter

DeployerDep = NamedDependency[Deployer]
TokenDep = NamedDependency[str]
Id = FromPath[str]
_ALL = PageRequest(per_page=200)
_LOG_LINES = 200


def page(name: str, token: str, **context: Any) -> Template:
    """A page with what every page needs: the CSRF value its forms carry."""
    return Template(name, context={"csrf": session.csrf_token(token), **context})


def domain_error_page(request: Request[Any, Any, Any], exc: PbDeployerError) -> Template:
    """The API's status and message for the error, as a page with a way back."""
    status = domain_error(request, exc).status_code or 500
    details = [f"{p.field}: {p.reason}" for p in getattr(exc, "details", [])]
    context = {"title": f"Refused: {exc.code}", "message": exc.message, "details": details}
    return Template("error.html", context=context, status_code=status)


class PageController(Controller):
    path = "/"

    @get("/")
    async def overview(self, deployer: DeployerDep, token: TokenDep) -> Template:
        apps = await deployer.apps.list(AppFilter(), _ALL)
        labels = {
            app.id: await views.version_label(deployer, app.current_version) for app in apps.items
        }
        return page(
            "overview.html",
            token,
            servers=await views.server_rows(deployer),
            apps=apps.items,
            labels=labels,
        )

    @get("/servers/new")
    async def new_server(self, token: TokenDep) -> Template:
        return page("server_new.html", token)

    @get("/servers/{server_id:str}")
    async def server(self, deployer: DeployerDep, token: TokenDep, server_id: Id) -> Template:
        server = await deployer.servers.get(server_id)
        tasks = await views.server_tasks(deployer, server_id, 10)
        apps = await deployer.apps.list(AppFilter(server_id=server_id), _ALL)
        return page(
            "server.html",
            token,
            server=server,
            audit=await views.latest_audit(deployer, server_id),
            tasks=tasks,
            reachability=views.reachability(tasks),
            apps=apps.items,
        )

    @get("/servers/{server_id:str}/units")
    async def units(self, deployer: DeployerDep, token: TokenDep, server_id: Id) -> Template:
        server = await deployer.servers.get(server_id)
        units = await deployer.operations.units(server_id)
        apps = await deployer.apps.list(AppFilter(server_id=server_id), _ALL)
        names = {app.id: app.service_name for app in apps.items}
        return page("units.html", token, server=server, units=units, names=names)

    @get("/servers/{server_id:str}/units/{name:str}/logs")
    async def logs(
        self, deployer: DeployerDep, token: TokenDep, server_id: Id, name: FromPath[str]
    ) -> Template:
        server = await deployer.servers.get(server_id)
        lines = await deployer.operations.logs(server_id, name, _LOG_LINES, None)
        return page("logs.html", token, server=server, unit=name, lines=lines)

    @get("/apps/new")
    async def new_app(
        self, deployer: DeployerDep, token: TokenDep, server_id: FromQuery[str | None] = None
    ) -> Template:
        servers = await deployer.servers.list(ServerFilter(), _ALL)
        return page("app_new.html", token, servers=servers.items, chosen=server_id)

    @get("/apps/{app_id:str}")
    async def app(self, deployer: DeployerDep, token: TokenDep, app_id: Id) -> Template:
        app = await deployer.apps.get(app_id)
        versions = await deployer.versions.list(VersionFilter(app_id=app_id), _ALL)
        flt = DeploymentFilter(app_id=app_id)
        deployments = await views.newest(lambda p: deployer.deployments.list(flt, p), 20)
        return page(
            "app.html",
            token,
            app=app,
            server=await deployer.servers.get(app.server_id),
            versions=versions.items[::-1],
            current=await views.version_label(deployer, app.current_version),
            deployments=deployments,
        )

    @get("/tasks/{task_id:str}")
    async def task(self, deployer: DeployerDep, token: TokenDep, task_id: Id) -> Template:
        task = await deployer.tasks.get(task_id)
        active = not task.status.finished
        server = await views.server_of(deployer, task)
        return page("task.html", token, task=task, deployment=None, active=active, server=server)

    @get("/deployments/{deployment_id:str}")
    async def deployment(
        self, deployer: DeployerDep, token: TokenDep, deployment_id: Id
    ) -> Template:
        deployment = await deployer.deployments.get(deployment_id)
        task = await deployer.tasks.get(deployment.task_id) if deployment.task_id else None
        app = await deployer.apps.get(deployment.app_id)
        active = deployment.status.active
        server = await views.server_of(deployer, task)
        context: dict[str, Any] = {"task": task, "deployment": deployment, "app": app}
        context |= {"active": active, "server": server}
        return page("task.html", token, **context)

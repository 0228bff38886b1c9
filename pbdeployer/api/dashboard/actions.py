"""The dashboard's forms (POST): each checks its CSRF value, calls one service method, and
answers with a redirect to the page that shows the result (a task's or deployment's live page).
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect

from pbdeployer.api import session
from pbdeployer.api.dashboard.views import form_values
from pbdeployer.api.transfers import read_upload
from pbdeployer.deployer import Deployer
from pbdeployer.errors import FieldProblem, InvalidInput
from pbdeployer.models import AppCreate, ServerCreate, VersionCreate

DeployerDep = NamedDependency[Deployer]
TokenDep = NamedDependency[str]
Id = FromPath[str]
_SERVER_FIELDS = ("name", "host", "port", "root_username", "app_username", "manual_key_path")
_APP_FIELDS = ("name", "server_id", "domain", "http_port", "remote_path", "service_name")
_VERSION_FIELDS = frozenset({session.CSRF_FIELD, "version_number", "notes"})
T = TypeVar("T")
_NOT_A_NUMBER = "Expected `int`, got `str`"
_AT_FIELD = re.compile(r"at `\$\.(\w+)`")


def _redirect(path: str) -> Redirect:
    return Redirect(path, status_code=303)


def _check_csrf(fields: Any, token: str) -> None:
    if not session.csrf_matches(str(fields.get(session.CSRF_FIELD, "")), token):
        raise PermissionDeniedException("the form's CSRF value is missing or wrong; reload it")


async def _form(request: Request[Any, Any, Any], token: str) -> Any:
    form = await request.form()
    _check_csrf(form, token)
    return form


def _convert(values: dict[str, Any], kind: type[T]) -> T:
    """Form strings into the API's own input struct: the same types and the same checks."""
    try:
        return msgspec.convert(values, kind, strict=False)
    except msgspec.ValidationError as exc:
        named = _AT_FIELD.search(str(exc))
        field = named.group(1) if named else "form"
        reason = (
            str(exc).split(" - at ")[0].replace("Expected `int`, got `str`", "must be a number")
        )
        raise InvalidInput([FieldProblem(field=field, reason=reason)]) from exc


class ActionController(Controller):
    path = "/"

    @post("/servers")
    async def create_server(
        self, request: Request[Any, Any, Any], deployer: DeployerDep, token: TokenDep
    ) -> Redirect:
        form = await _form(request, token)
        values: dict[str, Any] = form_values(form, _SERVER_FIELDS)
        values["use_ssh_agent"] = form.get("use_ssh_agent") == "on"
        server = await deployer.servers.create(_convert(values, ServerCreate))
        return _redirect(f"/ui/servers/{server.id}")

    @post("/servers/{server_id:str}/{operation:str}")
    async def run_on_server(
        self,
        request: Request[Any, Any, Any],
        deployer: DeployerDep,
        token: TokenDep,
        server_id: Id,
        operation: FromPath[str],
    ) -> Redirect:
        await _form(request, token)
        ops = deployer.operations
        if operation == "setup":
            task = await ops.setup(server_id, [])
        elif operation == "audit":
            task = await ops.audit(server_id)
        elif operation == "lockdown":
            task = await ops.lockdown(server_id, [])
        else:
            raise InvalidInput.single("operation", "must be setup, audit or lockdown")
        return _redirect(f"/ui/tasks/{task.id}")

    @post("/servers/{server_id:str}/units/{name:str}/{action:str}")
    async def control_unit(
        self,
        request: Request[Any, Any, Any],
        deployer: DeployerDep,
        token: TokenDep,
        server_id: Id,
        name: FromPath[str],
        action: FromPath[str],
    ) -> Redirect:
        await _form(request, token)
        task = await deployer.operations.control(server_id, name, action)
        return _redirect(f"/ui/tasks/{task.id}")

    @post("/apps")
    async def create_app(
        self, request: Request[Any, Any, Any], deployer: DeployerDep, token: TokenDep
    ) -> Redirect:
        form = await _form(request, token)
        app = await deployer.apps.create(_convert(form_values(form, _APP_FIELDS), AppCreate))
        return _redirect(f"/ui/apps/{app.id}")

    @post("/apps/{app_id:str}/versions", request_max_body_size=None)
    async def create_version(
        self, request: Request[Any, Any, Any], deployer: DeployerDep, token: TokenDep, app_id: Id
    ) -> Redirect:
        """The zip is streamed as the API's upload is; the CSRF field must come before it."""
        upload = await read_upload(
            request, max_bytes=deployer.settings.max_upload_bytes, fields=_VERSION_FIELDS
        )
        _check_csrf(upload.fields, token)
        values = {"app_id": app_id} | form_values(upload.fields, ("version_number", "notes"))
        await deployer.versions.create_with_zip(_convert(values, VersionCreate), upload.chunks)
        return _redirect(f"/ui/apps/{app_id}")

    @post("/apps/{app_id:str}/deploy")
    async def deploy(
        self, request: Request[Any, Any, Any], deployer: DeployerDep, token: TokenDep, app_id: Id
    ) -> Redirect:
        form = await _form(request, token)
        deployment = await deployer.deployments.deploy(app_id, str(form.get("version_id", "")))
        return _redirect(f"/ui/deployments/{deployment.id}")

    @post("/apps/{app_id:str}/rollback")
    async def rollback(
        self, request: Request[Any, Any, Any], deployer: DeployerDep, token: TokenDep, app_id: Id
    ) -> Redirect:
        form = await _form(request, token)
        version_id = str(form.get("version_id", "")) or None
        deployment = await deployer.deployments.rollback(
            app_id, version_id, restore_data=form.get("restore_data") == "on"
        )
        return _redirect(f"/ui/deployments/{deployment.id}")

    @post("/tasks/{task_id:str}/cancel")
    async def cancel_task(
        self, request: Request[Any, Any, Any], deployer: DeployerDep, token: TokenDep, task_id: Id
    ) -> Redirect:
        await _form(request, token)
        await deployer.operations.queue.cancel(task_id)
        return _redirect(f"/ui/tasks/{task_id}")

    @post("/deployments/{deployment_id:str}/cancel")
    async def cancel_deployment(
        self,
        request: Request[Any, Any, Any],
        deployer: DeployerDep,
        token: TokenDep,
        deployment_id: Id,
    ) -> Redirect:
        await _form(request, token)
        await deployer.deployments.cancel(deployment_id)
        return _redirect(f"/ui/deployments/{deployment_id}")

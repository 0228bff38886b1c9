"""The remote target: a running pbdeployer API over HTTP, task events over its WebSocket.

Answers are decoded into the same model structs the library returns; the API's error body
becomes a ``PbDeployerError`` with the API's ``code``, so exit codes do not depend on the target.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from pbdeployer.console.exits import CommandError, Exit
from pbdeployer.errors import (
    ArtifactRejected,
    Conflict,
    FieldProblem,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PbDeployerError,
)
from pbdeployer.models import (
    App,
    AppCreate,
    LogLine,
    Page,
    PageRequest,
    Server,
    ServerCreate,
    UnitStatus,
    Version,
    VersionCreate,
)
from pbdeployer.models.deployments import Deployment, DeployRequest, RollbackRequest
from pbdeployer.models.task_events import TaskEvent, TaskFinished
from pbdeployer.models.tasks import Task, TaskStatus
from pbdeployer.services import AuditWithAge

T = TypeVar("T")
PREFIX = "/api/v1"
RECONNECTS = 5
"""How many times in a row a dropped event stream is resumed before giving up."""


class _ErrorBody(msgspec.Struct, frozen=True):
    code: str
    message: str
    details: list[dict[str, str]] = msgspec.field(default_factory=list)


class _Error(msgspec.Struct, frozen=True):
    error: _ErrorBody


_BY_STATUS: dict[int, type[PbDeployerError]] = {
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ArtifactRejected,  # what is not a validation failure (those keep their details)
}


def _query(page: PageRequest, **values: object) -> dict[str, Any]:
    found = {k: str(v) for k, v in values.items() if v is not None}
    return found | {"page": str(page.page), "per_page": str(page.per_page)}


class RemoteTarget:
    def __init__(self, url: str, token: str, *, timeout: float = 120.0) -> None:
        self.where = url
        self._url = url.rstrip("/")
        self._token = token
        self._http = httpx.AsyncClient(
            base_url=self._url + PREFIX,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, into: type[T], **kwargs: Any) -> T:
        try:
            answer = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise CommandError(
                f"cannot reach the API at {self._url}: {exc}", Exit.UNREACHABLE
            ) from exc
        if answer.status_code >= 400:
            raise _api_error(answer)
        return msgspec.json.decode(answer.content, type=into)

    async def servers(self, page: PageRequest) -> Page[Server]:
        return await self._call("GET", "/servers", Page[Server], params=_query(page))

    async def server(self, server_id: str) -> Server:
        return await self._call("GET", f"/servers/{server_id}", Server)

    async def add_server(self, data: ServerCreate) -> Server:
        return await self._call("POST", "/servers", Server, content=msgspec.json.encode(data))

    async def apps(self, page: PageRequest, server_id: str | None = None) -> Page[App]:
        return await self._call("GET", "/apps", Page[App], params=_query(page, server_id=server_id))

    async def app(self, app_id: str) -> App:
        return await self._call("GET", f"/apps/{app_id}", App)

    async def add_app(self, data: AppCreate) -> App:
        return await self._call("POST", "/apps", App, content=msgspec.json.encode(data))

    async def versions(self, page: PageRequest, app_id: str | None = None) -> Page[Version]:
        params = _query(page, app_id=app_id)
        return await self._call("GET", "/versions", Page[Version], params=params)

    async def version(self, version_id: str) -> Version:
        return await self._call("GET", f"/versions/{version_id}", Version)

    async def add_version(self, data: VersionCreate, zip_path: Path) -> Version:
        fields = {"app_id": data.app_id, "version_number": data.version_number}
        fields |= {"notes": data.notes} if data.notes else {}
        with zip_path.open("rb") as stream:
            files = {"file": (zip_path.name, stream, "application/zip")}
            return await self._call("POST", "/versions/with-zip", Version, data=fields, files=files)

    async def setup(self, server_id: str, packages: Sequence[str]) -> Task:
        body = {"packages": list(packages)}
        return await self._call("POST", f"/servers/{server_id}/setup", Task, json=body)

    async def lockdown(self, server_id: str, extra_ports: Sequence[int]) -> Task:
        body = {"extra_ports": list(extra_ports)}
        path = f"/servers/{server_id}/security/lockdown"
        return await self._call("POST", path, Task, json=body)

    async def audit(self, server_id: str) -> Task:
        return await self._call("POST", f"/servers/{server_id}/security/audit", Task)

    async def latest_audit(self, server_id: str) -> AuditWithAge:
        return await self._call("GET", f"/servers/{server_id}/security/audit", AuditWithAge)

    async def deploy(self, app_id: str, version_id: str) -> Deployment:
        body = msgspec.json.encode(DeployRequest(version_id=version_id))
        return await self._call("POST", f"/apps/{app_id}/deploy", Deployment, content=body)

    async def rollback(self, app_id: str, version_id: str | None) -> Deployment:
        body = msgspec.json.encode(RollbackRequest(version_id=version_id))
        return await self._call("POST", f"/apps/{app_id}/rollback", Deployment, content=body)

    async def deployment(self, deployment_id: str) -> Deployment:
        return await self._call("GET", f"/deployments/{deployment_id}", Deployment)

    async def deployments(self, page: PageRequest, app_id: str | None) -> Page[Deployment]:
        params = _query(page, app_id=app_id)
        return await self._call("GET", "/deployments", Page[Deployment], params=params)

    async def cancel_deployment(self, deployment_id: str) -> Deployment:
        return await self._call("POST", f"/deployments/{deployment_id}/cancel", Deployment)

    async def tasks(self, page: PageRequest, status: TaskStatus | None) -> Page[Task]:
        return await self._call("GET", "/tasks", Page[Task], params=_query(page, status=status))

    async def task(self, task_id: str) -> Task:
        return await self._call("GET", f"/tasks/{task_id}", Task)

    async def cancel_task(self, task_id: str) -> Task:
        return await self._call("POST", f"/tasks/{task_id}/cancel", Task)

    async def unit(self, server_id: str, name: str) -> UnitStatus:
        return await self._call("GET", f"/services/{server_id}/{name}", UnitStatus)

    async def logs(
        self, server_id: str, name: str, lines: int, since: datetime | None
    ) -> list[LogLine]:
        params = {"lines": str(lines)} | ({"since": since.isoformat()} if since else {})
        path = f"/services/{server_id}/{name}/logs"
        return await self._call("GET", path, list[LogLine], params=params)

    async def events(self, task_id: str, after: int = 0) -> AsyncIterator[TaskEvent]:
        """The task's events after ``after`` to its last, resuming on a dropped connection."""
        await self.task(task_id)  # NotFound (and a wrong token) before the socket
        failures = 0
        while True:
            try:
                async with self._socket() as socket:
                    async for event in _subscribed(socket, task_id, after):
                        after, failures = event.seq, 0
                        yield event
                        if isinstance(event, TaskFinished):
                            return
            except (ConnectionClosed, OSError, InvalidStatus) as exc:
                failures += 1
                if failures > RECONNECTS:
                    raise CommandError(
                        f"lost the event stream of task '{task_id}': {exc}", Exit.UNREACHABLE
                    ) from exc
                await asyncio.sleep(min(0.2 * 2**failures, 5.0))

    def _socket(self) -> Any:
        url = "ws" + self._url.removeprefix("http") + PREFIX + "/ws"
        headers = {"Authorization": f"Bearer {self._token}"}
        return connect(url, additional_headers=headers, compression=None)


async def _subscribed(
    socket: ClientConnection, task_id: str, after: int
) -> AsyncIterator[TaskEvent]:
    topic = f"task:{task_id}"
    ready = msgspec.json.decode(await socket.recv())
    if ready.get("type") != "ready":
        raise PbDeployerError(f"the event stream did not open: {ready}")
    request = {"type": "subscribe", "topics": [{"topic": topic, "after": after}]}
    await socket.send(msgspec.json.encode(request).decode())
    async for raw in socket:
        message = msgspec.json.decode(raw)
        if message.get("type") == "event" and message.get("topic") == topic:
            yield msgspec.convert(message["event"], TaskEvent)
        elif message.get("type") == "error":
            raise PbDeployerError(message.get("message", "refused"), code=message.get("code"))


def _api_error(answer: httpx.Response) -> PbDeployerError:
    try:
        body = msgspec.json.decode(answer.content, type=_Error).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        return PbDeployerError(f"the API answered {answer.status_code}: {answer.text[:200]}")
    problems = [
        FieldProblem(field=d.get("field", ""), reason=d.get("reason", "")) for d in body.details
    ]
    message = body.message
    for problem in problems:
        if f"{problem.field}: {problem.reason}" not in message:
            message += f"; {problem.field}: {problem.reason}"
    if body.code == InvalidInput.code:
        return InvalidInput(problems, message)
    kind = _BY_STATUS.get(answer.status_code, PbDeployerError)
    return kind(message, code=body.code)

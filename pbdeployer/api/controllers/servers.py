"""/servers: register and manage the hosts pbdeployer deploys to."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import Body

from pbdeployer.api import docs
from pbdeployer.api.controllers.params import (
    DEFAULT_PER_PAGE,
    Cursor,
    DeployerDep,
    Id,
    ListOrder,
    Order,
    PageNumber,
    PerPage,
    Search,
    page_request,
)
from pbdeployer.models import Page, Server, ServerCreate, ServerFilter, ServerUpdate


class ServerController(Controller):
    path = "/servers"
    tags: list[str] | None = ["servers"]

    @get(
        "/",
        operation_id="listServers",
        summary="List servers",
        description="A page of servers, oldest first; filter with a name search.",
        responses={200: docs.success(Page[Server], "A page", docs.page_of(docs.SERVER))}
        | docs.responses(422),
    )
    async def list_servers(
        self,
        deployer: DeployerDep,
        q: Search = None,
        page: PageNumber = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        order: Order = ListOrder.OLDEST,
        cursor: Cursor = None,
    ) -> Page[Server]:
        return await deployer.servers.list(
            ServerFilter(q=q), page_request(page, per_page, order, cursor)
        )

    @post(
        "/",
        operation_id="createServer",
        summary="Register a server",
        description="Records how to reach a host over SSH; nothing is run on it yet (see `POST "
        "/servers/{server_id}/setup`). 409 when the name is taken.",
        responses={201: docs.success(Server, "Created", docs.SERVER, "Created")}
        | docs.responses(400, 409, 422),
    )
    async def create_server(
        self,
        deployer: DeployerDep,
        data: Annotated[ServerCreate, Body(examples=docs.example("A server", docs.SERVER_CREATE))],
    ) -> Server:
        return await deployer.servers.create(data)

    @get(
        "/{server_id:str}",
        operation_id="getServer",
        summary="Get a server",
        description="One server with its connection details and whether setup and lockdown were "
        "done. Never a key's content.",
        responses={200: docs.success(Server, "A server", docs.SERVER)} | docs.responses(404),
    )
    async def get_server(self, deployer: DeployerDep, server_id: Id) -> Server:
        return await deployer.servers.get(server_id)

    @patch(
        "/{server_id:str}",
        operation_id="updateServer",
        summary="Change a server's connection details",
        description="Only the fields sent change; 409 when the new name is taken.",
        responses={200: docs.success(Server, "Updated", docs.SERVER)}
        | docs.responses(400, 404, 409, 422),
    )
    async def update_server(
        self,
        deployer: DeployerDep,
        server_id: Id,
        data: Annotated[ServerUpdate, Body(examples=docs.example("New port", docs.SERVER_UPDATE))],
    ) -> Server:
        return await deployer.servers.update(server_id, data)

    @delete(
        "/{server_id:str}",
        operation_id="deleteServer",
        summary="Forget a server (refused while it has apps)",
        description="Removes the server from pbdeployer; nothing on the host changes. 409 while "
        "apps are on it.",
        responses=docs.responses(404, 409),
    )
    async def delete_server(self, deployer: DeployerDep, server_id: Id) -> None:
        await deployer.servers.delete(server_id)

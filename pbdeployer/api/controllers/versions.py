"""/versions: labelled builds of an app."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import Body

from pbdeployer.api import docs
from pbdeployer.api.controllers.params import (
    DEFAULT_PER_PAGE,
    DeployerDep,
    Id,
    OptionalId,
    PageNumber,
    PerPage,
    page_request,
)
from pbdeployer.models import Page, Version, VersionCreate, VersionFilter


class VersionController(Controller):
    path = "/versions"
    tags = ["versions"]

    @get(
        "/",
        operation_id="listVersions",
        summary="List versions",
        responses={200: docs.success(Page[Version], "A page", docs.page_of(docs.VERSION))}
        | docs.responses(422),
    )
    async def list_versions(
        self,
        deployer: DeployerDep,
        app_id: OptionalId = None,
        page: PageNumber = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
    ) -> Page[Version]:
        return await deployer.versions.list(
            VersionFilter(app_id=app_id), page_request(page, per_page)
        )

    @post(
        "/",
        operation_id="createVersion",
        summary="Create a version of an app",
        responses={201: docs.success(Version, "Created", docs.VERSION, "Created")}
        | docs.responses(400, 409, 422),
    )
    async def create_version(
        self,
        deployer: DeployerDep,
        data: Annotated[
            VersionCreate, Body(examples=docs.example("A version", docs.VERSION_CREATE))
        ],
    ) -> Version:
        return await deployer.versions.create(data)

    @get(
        "/{version_id:str}",
        operation_id="getVersion",
        summary="Get a version",
        responses={200: docs.success(Version, "A version", docs.VERSION)} | docs.responses(404),
    )
    async def get_version(self, deployer: DeployerDep, version_id: Id) -> Version:
        return await deployer.versions.get(version_id)

    @delete(
        "/{version_id:str}",
        operation_id="deleteVersion",
        summary="Delete a version (refused while it is the app's current version)",
        responses=docs.responses(404, 409),
    )
    async def delete_version(self, deployer: DeployerDep, version_id: Id) -> None:
        await deployer.versions.delete(version_id)

"""Deploy and roll back apps; follow, cancel and count deployments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import Body, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from pbdeployer.api import docs
from pbdeployer.api.controllers.params import (
    DEFAULT_PER_PAGE,
    Cursor,
    Id,
    ListOrder,
    OptionalId,
    Order,
    PageNumber,
    PerPage,
    page_request,
)
from pbdeployer.models import Page
from pbdeployer.models.deployments import (
    DEFAULT_STATS_APPS,
    MAX_STATS_APPS,
    Deployment,
    DeploymentFilter,
    DeploymentState,
    DeploymentStats,
    DeploymentStatus,
    DeployRequest,
    RollbackRequest,
)
from pbdeployer.services.deployments import DeploymentService

DeploymentsDep = NamedDependency[DeploymentService]
_WORK = (
    "Answers 202 with the queued deployment at once; the work runs as its task (`task_id`), "
    "streamed over the WebSocket (topics `deployment:{id}`, `app:{id}`). Only one deployment "
    "per app runs at a time: another answers 409 naming it."
)


def _queued(summary: str) -> ResponseSpec:
    return docs.success(Deployment, summary, docs.DEPLOYMENT_QUEUED, "Accepted")


class AppDeploymentController(Controller):
    path = "/apps/{app_id:str}"
    tags: list[str] | None = ["deployments"]

    @post(
        "/deploy",
        operation_id="deployApp",
        summary="Deploy a version",
        description=f"{_WORK} On the host: upload the zip unless it is there already, unpack "
        "the release, snapshot the data, switch `current`, restart, and wait for "
        "`/api/health`; a release that fails the check is rolled back automatically (the "
        "deployment ends `failed`, `rolled_back` true).",
        status_code=HTTP_202_ACCEPTED,
        responses={202: _queued("Deployment queued")} | docs.responses(404, 409, 422),
    )
    async def deploy(
        self,
        deployments: DeploymentsDep,
        app_id: Id,
        data: Annotated[DeployRequest, Body(examples=docs.example("A version", docs.DEPLOY))],
    ) -> Deployment:
        return await deployments.deploy(app_id, data.version_id)

    @post(
        "/rollback",
        operation_id="rollbackApp",
        summary="Roll back to an earlier version",
        description=f"{_WORK} Without `version_id`, goes back to the release that was live "
        "before the current one. A pruned release is deployed again from the stored zip. "
        "`restore_data` also restores the data snapshot taken when the app left that version.",
        status_code=HTTP_202_ACCEPTED,
        responses={202: _queued("Rollback queued")} | docs.responses(404, 409, 422),
    )
    async def rollback(
        self,
        deployments: DeploymentsDep,
        app_id: Id,
        data: Annotated[
            RollbackRequest | None,
            Body(examples=docs.example("To the previous release", docs.ROLLBACK)),
        ] = None,
    ) -> Deployment:
        request = data or RollbackRequest()
        return await deployments.rollback(
            app_id, request.version_id, restore_data=request.restore_data
        )


class DeploymentController(Controller):
    path = "/deployments"
    tags: list[str] | None = ["deployments"]

    @get(
        "/",
        operation_id="listDeployments",
        summary="List deployments",
        description="By creation time, oldest first unless `order=newest`; filter by app, "
        "server, status and creation time (`since` and "
        "`until`, both inclusive; `since` after `until` is a 422).",
        responses={
            200: docs.success(Page[Deployment], "A page", docs.page_of(docs.DEPLOYMENT_SUCCEEDED))
        }
        | docs.responses(422),
    )
    async def list_deployments(
        self,
        deployments: DeploymentsDep,
        app_id: OptionalId = None,
        server_id: OptionalId = None,
        status: FromQuery[DeploymentStatus | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        page: PageNumber = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        order: Order = ListOrder.OLDEST,
        cursor: Cursor = None,
    ) -> Page[Deployment]:
        flt = DeploymentFilter(
            app_id=app_id, server_id=server_id, status=status, since=since, until=until
        )
        return await deployments.list(flt, page_request(page, per_page, order, cursor))

    @get(
        "/stats",
        operation_id="deploymentStats",
        summary="Deployment statistics",
        description="Counts by status, success rate (succeeded / finished) and p50/p95 "
        "duration (nearest rank) over a window of creation times (default the last 30 days, "
        "at most 366), overall and for the `apps` apps with the most deployments in it "
        f"(default {DEFAULT_STATS_APPS}, at most {MAX_STATS_APPS}; `apps_total` counts them "
        "all). Computed by the database.",
        responses={200: docs.success(DeploymentStats, "Stats", docs.DEPLOYMENT_STATS)}
        | docs.responses(422),
    )
    async def stats(
        self,
        deployments: DeploymentsDep,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        app_id: OptionalId = None,
        apps: Annotated[
            int,
            QueryParameter(
                ge=0, le=MAX_STATS_APPS, description="how many apps to break down, busiest first"
            ),
        ] = DEFAULT_STATS_APPS,
    ) -> DeploymentStats:
        return await deployments.stats(since, until, app_id, apps)

    @get(
        "/{deployment_id:str}",
        operation_id="getDeployment",
        summary="Get a deployment",
        description="The record with its bounded log; every detail is in its task's events.",
        responses={200: docs.success(Deployment, "Succeeded", docs.DEPLOYMENT_SUCCEEDED)}
        | docs.responses(404),
    )
    async def get_deployment(self, deployments: DeploymentsDep, deployment_id: Id) -> Deployment:
        return await deployments.get(deployment_id)

    @get(
        "/{deployment_id:str}/status",
        operation_id="getDeploymentStatus",
        summary="A deployment's status",
        description="Status, live percent and step, timings and error.",
        responses={200: docs.success(DeploymentState, "Running", docs.DEPLOYMENT_STATE)}
        | docs.responses(404),
    )
    async def status(self, deployments: DeploymentsDep, deployment_id: Id) -> DeploymentState:
        return await deployments.status(deployment_id)

    @post(
        "/{deployment_id:str}/cancel",
        operation_id="cancelDeployment",
        summary="Cancel a deployment",
        description="A queued deployment ends `cancelled` at once. A running one stops; before "
        "the `current` switch the host stays on the previous release and the partial release "
        "is removed, after it the previous release is put back and checked. The deployment "
        "ends `cancelled` shortly after; follow it with its status. 409 once it has ended.",
        status_code=HTTP_200_OK,
        responses={200: docs.success(Deployment, "Cancelling", docs.DEPLOYMENT_QUEUED)}
        | docs.responses(404, 409),
    )
    async def cancel(self, deployments: DeploymentsDep, deployment_id: Id) -> Deployment:
        return await deployments.cancel(deployment_id)

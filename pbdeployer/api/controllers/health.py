"""/health: unauthenticated, secret-free, 503 when down."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from pbdeployer.api import docs
from pbdeployer.api.controllers.params import DeployerDep
from pbdeployer.models import HealthReport, HealthStatus


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get(
        "/",
        operation_id="getHealth",
        summary="Health of the API and what it depends on",
        description="No token needed. Answers 503 when a component is down.",
        opt={"public": True},
        security=[{}],  # overrides the document-wide bearer requirement: no token needed
        responses={
            200: docs.success(HealthReport, "Healthy", docs.HEALTH),
            503: docs.success(HealthReport, "Down", docs.HEALTH | {"status": "down"}, "Down"),
        },
    )
    async def get_health(self, deployer: DeployerDep) -> Response[HealthReport]:
        report = await deployer.health.report()
        down = report.status is HealthStatus.DOWN
        return Response(report, status_code=HTTP_503_SERVICE_UNAVAILABLE if down else HTTP_200_OK)

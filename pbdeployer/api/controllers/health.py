"""/health: up or down per component for anyone; the details for the token's holder only."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from pbdeployer.api import docs
from pbdeployer.api.auth import authenticated
from pbdeployer.api.controllers.params import DeployerDep
from pbdeployer.models import HealthReport, HealthStatus, HealthSummary

_DESCRIPTION = (
    "No token needed. Without the token (or with a wrong one) the answer says only up or down "
    "per component (`HealthSummary`, `view: summary`); with it, the details too "
    "(`HealthReport`, `view: full`: version, latencies, free space, every server's last "
    "reachability and why it failed). "
    "Answers 503 when a component is down."
)


class HealthController(Controller):
    path = "/health"
    tags: list[str] | None = ["health"]

    @get(
        "/",
        operation_id="getHealth",
        summary="Health of the API and what it depends on",
        description=_DESCRIPTION,
        opt={"public": True},
        security=[{}, {"BearerToken": []}],  # the token is optional here: it adds the details
        responses={
            200: docs.health(HealthReport | HealthSummary, "Healthy", {"status": "ok"}),
            503: docs.health(HealthReport | HealthSummary, "Down", {"status": "down"}),
        },
    )
    async def get_health(
        self, deployer: DeployerDep, request: Request[Any, Any, Any]
    ) -> Response[HealthReport | HealthSummary]:
        report = await deployer.health.report()
        code = HTTP_503_SERVICE_UNAVAILABLE if report.status is HealthStatus.DOWN else HTTP_200_OK
        if authenticated(request):
            return Response(report, status_code=code)
        return Response(report.summary(), status_code=code)

"""Maintenance of the control plane's own data: the retention policy, run now."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, post
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_200_OK

from pbdeployer.api import docs
from pbdeployer.api.controllers.params import DeployerDep
from pbdeployer.models.retention import RetentionReport

MAX_RETENTION_DAYS = 36_500


class MaintenanceController(Controller):
    path = "/maintenance"
    tags = ["maintenance"]

    @post(
        "/retention",
        operation_id="runRetention",
        summary="Apply the retention policy now",
        description="Removes the stored events of tasks that ended more than `days` days ago "
        "(default the server's `PBDEPLOYER_EVENT_RETENTION_DAYS`; 0 keeps everything). Task "
        "and deployment records stay as summaries; queued and running tasks are never "
        "touched. The same runs in the background every `PBDEPLOYER_RETENTION_INTERVAL_SECONDS` "
        "when a policy is set. `vacuum` also gives the freed space back to the file system "
        "(SQLite; it rewrites the database file, so it takes a while on a large one).",
        status_code=HTTP_200_OK,
        responses={200: docs.success(RetentionReport, "Pruned", docs.RETENTION)}
        | docs.responses(422),
    )
    async def run_retention(
        self,
        deployer: DeployerDep,
        days: Annotated[
            int | None,
            QueryParameter(ge=0, le=MAX_RETENTION_DAYS, description="keep events this many days"),
        ] = None,
        vacuum: Annotated[
            bool, QueryParameter(description="reclaim the freed space on disk")
        ] = False,
    ) -> RetentionReport:
        return await deployer.retention.run(days=days, vacuum=vacuum)

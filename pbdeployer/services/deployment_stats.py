"""Deployment statistics: counts by status, success rate and duration percentiles."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime

from pbdeployer.models.deployments import (
    AppDeploymentStats,
    Deployment,
    DeploymentStats,
    DeploymentStatus,
    DurationStats,
)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (``fraction`` in 0..1) of ``values``; ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return round(ordered[rank - 1], 3)


def _durations(deployments: Sequence[Deployment]) -> DurationStats:
    values = [d.duration_seconds for d in deployments if d.duration_seconds is not None]
    return DurationStats(p50_seconds=percentile(values, 0.5), p95_seconds=percentile(values, 0.95))


def _counts(deployments: Sequence[Deployment]) -> tuple[dict[str, int], float | None]:
    by_status = Counter(d.status.value for d in deployments)
    finished = sum(n for status, n in by_status.items() if not DeploymentStatus(status).active)
    succeeded = by_status.get(DeploymentStatus.SUCCEEDED.value, 0)
    rate = round(succeeded / finished, 4) if finished else None
    return dict(sorted(by_status.items())), rate


def deployment_stats(
    deployments: Sequence[Deployment], since: datetime, until: datetime
) -> DeploymentStats:
    """Statistics of ``deployments`` (already limited to the window), overall and per app."""
    per_app: dict[str, list[Deployment]] = defaultdict(list)
    for deployment in deployments:
        per_app[deployment.app_id].append(deployment)
    apps = []
    for app_id, mine in sorted(per_app.items()):
        by_status, rate = _counts(mine)
        apps.append(
            AppDeploymentStats(
                app_id=app_id, total=len(mine), by_status=by_status, success_rate=rate,
                duration=_durations(mine),
            )
        )  # fmt: skip
    by_status, rate = _counts(deployments)
    return DeploymentStats(
        since=since,
        until=until,
        total=len(deployments),
        by_status=by_status,
        success_rate=rate,
        duration=_durations(deployments),
        apps=apps,
    )

"""Deployment statistics: counts, success rate and nearest-rank percentiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pbdeployer.models.deployments import Deployment, DeploymentStatus
from pbdeployer.services.deployment_stats import deployment_stats, percentile

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def deployment(app_id: str, status: DeploymentStatus, seconds: float | None) -> Deployment:
    done = None if seconds is None else T0 + timedelta(seconds=seconds)
    return Deployment(
        id=f"d-{app_id}-{status}-{seconds}", created=T0, updated=T0, app_id=app_id,
        version_id="v", status=status, logs="", started_at=T0, completed_at=done,
    )  # fmt: skip


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 21)]
    assert percentile(values, 0.5) == 10.0
    assert percentile(values, 0.95) == 19.0
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([], 0.5) is None


def test_rate_counts_finished_deployments_only() -> None:
    found = [
        deployment("a", DeploymentStatus.SUCCEEDED, 4.0),
        deployment("a", DeploymentStatus.SUCCEEDED, 6.0),
        deployment("a", DeploymentStatus.FAILED, 10.0),
        deployment("b", DeploymentStatus.ROLLED_BACK, 5.0),
        deployment("b", DeploymentStatus.RUNNING, None),
    ]
    stats = deployment_stats(found, T0, T0 + timedelta(days=1))
    assert stats.total == 5
    assert stats.by_status == {"failed": 1, "rolled_back": 1, "running": 1, "succeeded": 2}
    assert stats.success_rate == 0.5  # 2 of the 4 that ended
    assert (stats.duration.p50_seconds, stats.duration.p95_seconds) == (5.0, 10.0)
    per_app = {app.app_id: app for app in stats.apps}
    assert per_app["a"].success_rate == round(2 / 3, 4)
    assert per_app["b"].success_rate == 0.0
    assert per_app["b"].duration.p50_seconds == 5.0


def test_an_empty_window_has_no_rate() -> None:
    stats = deployment_stats([], T0, T0 + timedelta(days=1))
    assert (stats.total, stats.success_rate, stats.apps) == (0, None, [])
    assert stats.duration.p50_seconds is None

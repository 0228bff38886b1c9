"""Deployment statistics: the window they cover, success rates from the store's counts.

The store counts and ranks in the database (``store/deployment_stats.py``); what is left here
is per-app arithmetic over at most ``MAX_STATS_APPS`` entries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from pbdeployer.errors import InvalidInput
from pbdeployer.models.deployments import (
    AppDeploymentStats,
    DeploymentStats,
    DeploymentStatus,
    StatsFigures,
)
from pbdeployer.validation import checked_moments

DEFAULT_STATS_WINDOW = timedelta(days=30)
MAX_STATS_WINDOW = timedelta(days=366)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (``fraction`` in 0..1) of ``values``; ``None`` when empty.

    The reference the database's ranking (``store/deployment_stats.py``) is tested against.
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return round(ordered[rank - 1], 3)


def checked_window(since: datetime | None, until: datetime | None) -> None:
    """A list's ``since``/``until``: valid times, ``since`` not after ``until``."""
    checked_moments(since=since, until=until)
    if since is not None and until is not None and since > until:
        raise InvalidInput.single("since", "must not be after 'until'")


def stats_window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """The statistics window: default the 30 days up to now, at most 366 days long."""
    checked_moments(since=since, until=until)
    until = until or datetime.now(UTC)
    try:
        since = since or until - DEFAULT_STATS_WINDOW
    except OverflowError as exc:
        raise InvalidInput.single("until", "is too early to count back 30 days") from exc
    if since >= until or until - since > MAX_STATS_WINDOW:
        raise InvalidInput.single(
            "since", f"must be before 'until' and at most {MAX_STATS_WINDOW.days} days before"
        )
    return since, until


def _rate(by_status: Mapping[str, int]) -> float | None:
    finished = sum(n for status, n in by_status.items() if not DeploymentStatus(status).active)
    succeeded = by_status.get(DeploymentStatus.SUCCEEDED.value, 0)
    return round(succeeded / finished, 4) if finished else None


def deployment_stats(figures: StatsFigures, since: datetime, until: datetime) -> DeploymentStats:
    """The response for a window from what the store counted."""
    apps = [
        AppDeploymentStats(
            app_id=app.app_id, total=sum(app.by_status.values()), by_status=app.by_status,
            success_rate=_rate(app.by_status), duration=app.duration,
        )
        for app in figures.apps
    ]  # fmt: skip
    return DeploymentStats(
        since=since,
        until=until,
        total=sum(figures.by_status.values()),
        by_status=figures.by_status,
        success_rate=_rate(figures.by_status),
        duration=figures.duration,
        apps_total=figures.apps_total,
        apps=apps,
    )

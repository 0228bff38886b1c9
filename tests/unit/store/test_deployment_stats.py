"""Deployment statistics counted by the database, checked against the plain Python reference."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest

from pbdeployer.models import DeploymentStatus
from pbdeployer.services.deployment_stats import deployment_stats, percentile
from pbdeployer.store import Store
from tests.unit.store.test_repositories import NOW, Ids, ids, store
from tests.unit.store.test_store_deployments import World, deployment, world

__all__ = ["ids", "store", "world"]  # fixtures

DAY = timedelta(days=1)
ENDED = [s for s in DeploymentStatus if not s.active]


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 21)]
    assert percentile(values, 0.5) == 10.0
    assert percentile(values, 0.95) == 19.0
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([], 0.5) is None


async def test_counts_rates_and_percentiles_match_the_reference(
    store: Store, ids: Ids, world: World
) -> None:
    rng = random.Random(25)
    inside = []
    for n in range(60):
        on_b = n % 3 == 0
        status = rng.choice([*ENDED, DeploymentStatus.RUNNING])
        started = NOW - DAY * rng.randint(0, 9) - timedelta(microseconds=rng.randint(0, 10**6))
        done = None
        if not status.active:
            done = started + timedelta(
                seconds=rng.randint(0, 300), microseconds=rng.randint(0, 999_999)
            )
        record = deployment(ids, world, on_b=on_b, status=status, created=started,
                            started_at=started, completed_at=done)  # fmt: skip
        inside.append(record)
        await store.deployments.add(record)
    for outside in (NOW - DAY * 11, NOW + DAY):  # before since, after until
        await store.deployments.add(deployment(ids, world, created=outside))

    stats = deployment_stats(
        await store.deployments.stats(NOW - DAY * 10, NOW, None, 50), NOW - DAY * 10, NOW
    )

    assert stats.total == len(inside)
    assert stats.by_status == dict(sorted(Counter(d.status.value for d in inside).items()))
    ended = [d for d in inside if not d.status.active]
    succeeded = [d for d in ended if d.status is DeploymentStatus.SUCCEEDED]
    assert stats.success_rate == round(len(succeeded) / len(ended), 4)
    durations = [d.duration_seconds for d in inside if d.duration_seconds is not None]
    assert stats.duration.p50_seconds == percentile(durations, 0.5)
    assert stats.duration.p95_seconds == percentile(durations, 0.95)
    assert stats.apps_total == 2
    busiest, other = stats.apps
    assert (busiest.app_id, other.app_id) == (world.app_a, world.app_b)  # 40 against 20
    mine = [d.duration_seconds for d in inside if d.app_id == world.app_b and d.duration_seconds]
    assert other.total == 20
    assert other.duration.p95_seconds == percentile(mine, 0.95)


@pytest.mark.parametrize("apps", [0, 1])
async def test_the_breakdown_is_bounded(store: Store, ids: Ids, world: World, apps: int) -> None:
    for on_b in (False, True, True):
        await store.deployments.add(deployment(ids, world, on_b=on_b, created=NOW - DAY))
    figures = await store.deployments.stats(NOW - DAY * 2, NOW, None, apps)
    assert figures.apps_total == 2
    assert [app.app_id for app in figures.apps] == [world.app_b][:apps]
    assert sum(figures.by_status.values()) == 3  # the totals still count every app
    one = await store.deployments.stats(NOW - DAY * 2, NOW, world.app_a, apps)
    assert (sum(one.by_status.values()), one.apps_total) == (1, 1)


async def test_an_empty_window_has_no_rate(store: Store) -> None:
    stats = deployment_stats(
        await store.deployments.stats(NOW - DAY, NOW, None, 50), NOW - DAY, NOW
    )
    assert (stats.total, stats.success_rate, stats.apps, stats.apps_total) == (0, None, [], 0)
    assert stats.duration.p50_seconds is None

"""Deployment statistics computed by the database: counts with GROUP BY, percentiles by rank.

Only ``app_id``, ``status`` and the two timestamps of the rows in the window are read, the
window is bounded in SQL (``created`` is indexed), and the per-app breakdown covers the ``apps``
apps with the most deployments. Percentiles are nearest-rank, picked with window functions
(``row_number``/``count`` over the durations in order), so no row becomes a Python object;
SQLite and PostgreSQL both have them. The functions take a synchronous ``Connection``: they run
off the event loop (``offloop.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Float, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from pbdeployer.models.deployments import AppFigures, DurationStats, StatsFigures
from pbdeployer.store.tables import deployments

PERCENTS = (50, 95)
_ALL = ""


class seconds_between(FunctionElement[float]):  # noqa: N801 - reads as the SQL function it is
    """``completed - started`` in seconds (microseconds kept) on each backend."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "sqlite")
def _sqlite_seconds(element: seconds_between, compiler: Any, **kw: Any) -> str:
    # SQLite keeps ``YYYY-MM-DD HH:MM:SS.ffffff``: whole seconds by strftime, the fraction apart
    # (julianday would round both to milliseconds).
    started, completed = (compiler.process(arg, **kw) for arg in element.clauses)
    whole = f"(strftime('%s', {completed}) - strftime('%s', {started}))"
    fraction = f"(CAST(substr({completed}, 20) AS REAL) - CAST(substr({started}, 20) AS REAL))"
    return f"({whole} + {fraction})"


@compiles(seconds_between)
def _default_seconds(element: seconds_between, compiler: Any, **kw: Any) -> str:
    started, completed = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({completed} - {started}))"


def stats_figures(
    conn: Connection, since: datetime, until: datetime, app_id: str | None, apps: int
) -> StatsFigures:
    """Counts by status and percentiles over the window, overall and for the top ``apps``."""
    c = deployments.c
    window = [c.created >= since, c.created <= until]
    if app_id is not None:
        window.append(c.app_id == app_id)
    grouped_status = select(c.status, func.count()).where(*window).group_by(c.status)
    by_status: dict[str, int] = dict(conn.execute(grouped_status).all())
    apps_total, top = _top_apps(conn, window, apps)
    overall = _percentiles(conn, window, by_app=False).get(_ALL, _NONE)
    in_top = [*window, c.app_id.in_(top)]
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    grouped = select(c.app_id, c.status, func.count()).where(*in_top).group_by(c.app_id, c.status)
    for app, status, count in conn.execute(grouped):
        counts[app][status] = count
    durations = _percentiles(conn, in_top, by_app=True) if top else {}
    return StatsFigures(
        by_status=dict(sorted(by_status.items())),
        duration=overall,
        apps_total=apps_total,
        apps=[
            AppFigures(
                app_id=app,
                by_status=dict(sorted(counts[app].items())),
                duration=durations.get(app, _NONE),
            )
            for app in top
        ],
    )


_NONE = DurationStats(p50_seconds=None, p95_seconds=None)


def _top_apps(
    conn: Connection, window: Sequence[ColumnElement[bool]], limit: int
) -> tuple[int, list[str]]:
    """How many apps deployed in the window, and the ``limit`` that deployed most."""
    c = deployments.c
    total = conn.execute(select(func.count(c.app_id.distinct())).where(*window)).scalar_one()
    if limit == 0:
        return int(total), []
    count = func.count()
    query = (
        select(c.app_id).where(*window).group_by(c.app_id).order_by(count.desc(), c.app_id)
    ).limit(limit)
    return int(total), list(conn.execute(query).scalars())


def _percentiles(
    conn: Connection, where: Sequence[ColumnElement[bool]], *, by_app: bool
) -> dict[str, DurationStats]:
    """Nearest-rank p50/p95 of the durations, per app or overall (key ``""``)."""
    c = deployments.c
    seconds = seconds_between(c.started_at, c.completed_at)
    part = [c.app_id] if by_app else None
    ranked = (
        select(
            (c.app_id if by_app else literal(_ALL)).label("app"),
            seconds.label("seconds"),
            func.row_number().over(partition_by=part, order_by=seconds).label("rank"),
            func.count().over(partition_by=part).label("n"),
        )
        .where(*where, c.started_at.is_not(None), c.completed_at.is_not(None))
        .subquery()
    )
    wanted = [ranked.c.rank == (ranked.c.n * percent + 99) // 100 for percent in PERCENTS]
    picked: dict[str, dict[int, float]] = defaultdict(dict)
    query = select(ranked.c.app, ranked.c.rank, ranked.c.n, ranked.c.seconds).where(
        wanted[0] | wanted[1]
    )
    for app, rank, n, seconds_value in conn.execute(query):
        for percent in PERCENTS:
            if rank == (n * percent + 99) // 100:
                picked[app][percent] = round(float(seconds_value), 3)
    return {
        app: DurationStats(p50_seconds=values.get(50), p95_seconds=values.get(95))
        for app, values in picked.items()
    }

"""What a retention run removed, and under which policy."""

from __future__ import annotations

from datetime import datetime

import msgspec


class RetentionReport(msgspec.Struct, frozen=True, kw_only=True):
    """One run of the retention policy.

    Only the stored events of tasks that ended before ``cutoff`` are removed; the task and
    deployment records stay as summaries (status, timings, error, ``event_count``).
    """

    cutoff: datetime | None
    tasks_pruned: int
    events_removed: int
    vacuumed: bool

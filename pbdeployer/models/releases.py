"""What the host reports after a release step (deploy, rollback or recover).

The ``app_release`` role sets this as the fact ``app_release_result``; every key is always
present, whatever the step and however it ended.
"""

from __future__ import annotations

import msgspec


class ReleaseReport(msgspec.Struct, frozen=True, kw_only=True):
    release: str
    """The release the step was about (``releases/<release>``); recover: its target."""
    previous: str | None
    """What ``current`` pointed at before the step; None when it pointed nowhere."""
    current: str | None
    """What ``current`` points at after the step."""
    changed: bool
    uploaded: bool
    """The zip was sent to the host in this run (it lacked the release)."""
    switched: bool
    """``current`` ends on a release other than ``previous``, switched in this run."""
    healthy: bool
    """The app answers ``/api/health`` with 200 on ``current`` at the end."""
    rolled_back: bool
    """The new release failed its health check and ``current`` went back to ``previous``."""
    snapshot: str | None
    """Path on the host of this run's data snapshot directory (``<path>/backups/<id>``)."""
    restored_data: bool
    """pb_data was replaced by a snapshot in this run."""
    removed: list[str]
    """Release directories removed (pruned, or the dropped release of a recover)."""
    pruned_snapshots: list[str]
    """Snapshot directories (deployment ids) removed from ``backups/``."""
    health_error: str
    """Why the release of this step failed its health check, with the app's last log lines;
    set even when a rollback then succeeded. Empty when every health check passed."""
    message: str
    """One sentence saying what happened, for people."""

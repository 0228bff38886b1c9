"""What systemd says about an app's unit, and its journal lines."""

from __future__ import annotations

from datetime import datetime

import msgspec


class UnitStatus(msgspec.Struct, frozen=True, kw_only=True):
    app_id: str
    unit: str
    load_state: str
    active_state: str
    sub_state: str
    main_pid: int | None
    since: datetime | None
    memory_bytes: int | None
    restart_count: int
    enabled: str


class LogLine(msgspec.Struct, frozen=True, kw_only=True):
    time: datetime
    priority: int
    message: str

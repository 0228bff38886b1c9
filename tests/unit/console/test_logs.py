"""``logs -f`` asks for lines since the newest it printed; the repeats it gets back are dropped."""

from __future__ import annotations

from datetime import UTC, datetime

from pbdeployer.console.logs import _Seen
from pbdeployer.models import LogLine

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC)


def line(at: datetime, message: str) -> LogLine:
    return LogLine(time=at, priority=6, message=message)


def test_each_line_is_shown_once_across_reads() -> None:
    seen = _Seen()
    first = seen.new([line(T0, "started"), line(T1, "a"), line(T1, "b")])
    assert [x.message for x in first] == ["started", "a", "b"]
    assert seen.since == T1
    again = seen.new([line(T1, "a"), line(T1, "b"), line(T1, "c")])  # since=T1 repeats T1
    assert [x.message for x in again] == ["c"]
    later = datetime(2026, 1, 1, 12, 0, 2, tzinfo=UTC)
    assert [x.message for x in seen.new([line(T1, "c"), line(later, "a")])] == ["a"]

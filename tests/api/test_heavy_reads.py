"""A heavy read in flight never stalls the rest of the API.

The statistics query is held inside the database driver (the listener below waits where the
statement would run) while other requests are made: they are answered at once, because heavy
reads run off the event loop's thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, event

HELD_FOR = 10.0


class Hold:
    """Holds every statement over a window of deployments until released (or ``HELD_FOR``)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, *args: Any) -> None:
        statement: str = args[2]
        if "FROM deployments" in statement and "created >=" in statement:
            self.entered.set()
            self.release.wait(HELD_FOR)


@pytest.fixture
def hold() -> Iterator[Hold]:
    holding = Hold()
    event.listen(Engine, "before_cursor_execute", holding)
    yield holding
    holding.release.set()
    event.remove(Engine, "before_cursor_execute", holding)


def _timed(client: TestClient[Any], path: str) -> tuple[int, float]:
    started = time.monotonic()
    status = client.get(path).status_code
    return status, time.monotonic() - started


def test_health_and_lists_are_served_while_statistics_run(
    client: TestClient[Any], hold: Hold
) -> None:
    with ThreadPoolExecutor(4) as pool:
        stats = [pool.submit(client.get, "/deployments/stats") for _ in "ab"]
        assert hold.entered.wait(HELD_FOR), "the statistics query never ran"
        for path in ("/health", "/deployments", "/servers", "/tasks"):
            status, seconds = _timed(client, path)
            assert (status, seconds < 1.0) == (200, True), (path, seconds)
        assert not any(call.done() for call in stats)  # both still held in the database
        hold.release.set()
        assert [call.result(timeout=HELD_FOR).status_code for call in stats] == [200, 200]

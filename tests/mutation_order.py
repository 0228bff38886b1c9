"""Pytest plugin for mutation runs: the fastest tests first, so a mutant dies early.

mutmut runs each mutant's tests with ``-x`` in no useful order; with the durations it recorded
(``mutmut-stats.json`` in the directory the tests run from) the cheap checks go first, and a
mutant that a quick test catches never waits for the slow ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

_STATS = Path("mutmut-stats.json")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not _STATS.is_file():
        return
    durations: dict[str, float] = json.loads(_STATS.read_text(encoding="utf-8")).get(
        "duration_by_test", {}
    )
    items.sort(key=lambda item: durations.get(item.nodeid, 0.0))

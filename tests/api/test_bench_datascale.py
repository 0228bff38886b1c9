"""``bench/datascale.py`` keeps working: its smallest size, one request per route (no timing)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "datascale.py"
_spec = importlib.util.spec_from_file_location("datascale", SCRIPT)
assert _spec is not None
assert _spec.loader is not None
datascale = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(datascale)


def test_the_smallest_data_dir_builds_and_every_route_answers(tmp_path: Path) -> None:
    result = datascale.run("XS", requests=1, keep=tmp_path / "data")
    assert result["rows"] == {"servers": 5, "apps": 15, "deployments": 150, "events": 1_745}
    assert set(result["routes"]) >= {"stats 365 days", "deployments after cursor", "health"}
    assert result["rest_paging_long_task"]["last_seq"] == 1_000
    assert result["server_peak_rss_mib"] > 0
    assert "| health |" in datascale.table(result)

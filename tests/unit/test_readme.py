"""The README's library example runs as printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_block(pattern: str, lost: str, tmp_path: Path) -> str:
    """Run the README's Python block that ``pattern`` captures; its standard output."""
    match = re.search(pattern, (ROOT / "README.md").read_text(), re.S)
    assert match, f"README.md lost its {lost}"
    script = tmp_path / "example.py"
    script.write_text(match.group(1))
    env = os.environ | {"PBDEPLOYER_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_library_example_runs(tmp_path: Path) -> None:
    out = _run_block(r"## The library\n\n```python\n(.*?)```", "library example", tmp_path)
    assert out == "['blog'] /opt/pocketbase/blog 8090"


def test_sync_example_runs(tmp_path: Path) -> None:
    pattern = r"```python\n(from pbdeployer import SyncDeployer\n.*?)```"
    assert _run_block(pattern, "SyncDeployer example", tmp_path) == "0"

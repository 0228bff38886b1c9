"""The README's library example runs as printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_library_example_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"## The library\n\n```python\n(.*?)```", readme, re.S)
    assert match, "README.md lost its library example"
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
    assert done.stdout.strip() == "['blog'] /opt/pocketbase/blog 8090"


def test_sync_example_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"```python\n(from pbdeployer import SyncDeployer\n.*?)```", readme, re.S)
    assert match, "README.md lost its SyncDeployer example"
    script = tmp_path / "sync_example.py"
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
    assert done.stdout.strip() == "0"

"""The API reference is built from the docstrings, with any warning an error."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import pbdeployer

pytestmark = pytest.mark.slow


def test_the_reference_builds_without_warnings_and_covers_the_public_names(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "pdoc", "-o", str(tmp_path), "pbdeployer",
         r"!pbdeployer\..*"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    page = (tmp_path / "pbdeployer.html").read_text()
    documented = set(re.findall(r'<section id="([A-Za-z_]+)">', page))
    assert set(pbdeployer.__all__) - {"__version__"} <= documented
    for service in ("servers", "apps", "versions", "deployments", "setup", "security"):
        assert f'id="Deployer.{service}"' in page

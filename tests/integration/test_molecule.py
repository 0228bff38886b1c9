"""Every role's molecule scenario converges, is idempotent and verifies on real hosts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


def test_every_role_has_a_scenario() -> None:
    roles = {p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir()}
    missing = roles - set(SCENARIOS)
    assert not missing, f"roles without a molecule scenario: {sorted(missing)}"


@pytest.mark.host
@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario: str) -> None:
    bin_dir = Path(sys.executable).parent
    env = os.environ | {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(bin_dir / "molecule"), "test", "-s", scenario],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    output = (result.stdout + result.stderr)[-6000:]
    assert result.returncode == 0, f"molecule test -s {scenario} failed:\n{output}"

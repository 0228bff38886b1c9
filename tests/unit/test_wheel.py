"""The wheel carries what a user outside the checkout needs: types, licence, docs, content."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_the_wheel_ships_the_type_marker_licence_and_docs(tmp_path: Path):
    uv = Path(sys.executable).parent / "uv"
    subprocess.run(
        [str(uv), "build", "--wheel", "--quiet", "-o", str(tmp_path), str(ROOT)],
        check=True, timeout=600, capture_output=True,
    )  # fmt: skip
    [wheel] = tmp_path.glob("pbdeployer-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    assert "pbdeployer/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    shipped_docs = {n.rsplit("/", 1)[1] for n in names if n.startswith("pbdeployer/_content/docs/")}
    assert shipped_docs == {p.name for p in (ROOT / "docs").glob("*.md")}
    assert "pbdeployer/_content/playbooks/deploy.yml" in names

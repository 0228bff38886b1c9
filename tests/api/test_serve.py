"""``pbdeployer serve`` as a user runs it: what it refuses to start with, and what it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.served import free_port

SERVE = [sys.executable, "-m", "pbdeployer", "serve"]


def _serve_refused(data_dir: Path, env: dict[str, str]) -> str:
    """Run ``serve`` expecting it to stop at once; return what it printed."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PBDEPLOYER_")}
    done = subprocess.run(
        [*SERVE, "--port", str(free_port()), "--data-dir", str(data_dir)],
        env=environ | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Uvicorn running" not in done.stderr
    return done.stderr


@pytest.mark.parametrize("token", ["", "   \n"], ids=["empty", "blank"])
def test_serve_refuses_an_empty_token_file(tmp_path, token):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "api-token").write_text(token)

    stderr = _serve_refused(data_dir, {})

    assert stderr.startswith("pbdeployer: not starting: the API token in ")
    assert str(data_dir / "api-token") in stderr
    assert "is empty" in stderr
    assert "Traceback" not in stderr


def test_serve_refuses_a_short_token_from_the_environment(tmp_path):
    token = "tiny-but-not-empty"

    stderr = _serve_refused(tmp_path / "data", {"PBDEPLOYER_API_TOKEN": token})

    assert "PBDEPLOYER_API_TOKEN is too short (18 characters)" in stderr
    assert "at least 32" in stderr
    assert token not in stderr
    assert "Traceback" not in stderr

"""The README's quick start, run as printed: ``./dev serve`` from a checkout, with its default
relative data dir, then the token it prints, the curl it shows, and a zip up and back down.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.pocketbase import build_app_zip
from tests.served import api_client, free_port
from tests.unit.artifacts.zip_corpus import FAKE_BINARY

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _quick_start_block(starting: str) -> str:
    """The quick start's ``sh`` block whose first command starts with ``starting``."""
    section = README.split("## Quick start\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return next(b for b in blocks if b.lstrip().startswith(starting))


def _checkout(directory: Path) -> Path:
    """A checkout with ``dev`` whose venv counts as installed: ``dev`` then installs nothing.

    Its ``.venv/bin`` is the running interpreter's, and the stamp is the one ``dev`` writes
    after installing (a hash of ``uv.lock`` and ``pyproject.toml``).
    """
    directory.mkdir()
    for name in ("dev", "uv.lock", "pyproject.toml"):
        (directory / name).write_bytes((ROOT / name).read_bytes())
    (directory / "dev").chmod(0o755)
    venv = directory / ".venv"
    venv.mkdir()
    (venv / "bin").symlink_to(Path(sys.executable).parent, target_is_directory=True)
    lock = (directory / "uv.lock").read_bytes() + (directory / "pyproject.toml").read_bytes()
    (venv / f".installed--{hashlib.sha256(lock).hexdigest()[:16]}").touch()
    return directory


class QuickStart:
    def __init__(self, checkout: Path, port: int, log: Path) -> None:
        self.checkout = checkout
        self.port = port
        self.log = log

    def printed_token(self) -> str:
        match = re.search(r"new API token \(shown once, kept in (.+)\):\n  (\S+)\n", self.text())
        assert match, self.text()
        assert match.group(1) == str(self.checkout / ".pbdeployer" / "api-token")
        return match.group(2)

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def quick_start(tmp_path: Path) -> Iterator[QuickStart]:
    checkout = _checkout(tmp_path / "checkout")
    command = next(
        line.split("#", 1)[0].strip()
        for line in _quick_start_block("./dev serve").splitlines()
        if line.startswith("./dev serve")
    )
    assert command == "./dev serve"
    port = free_port()  # 8080 may be taken on a test machine; the README names this override
    env = {k: v for k, v in os.environ.items() if not k.startswith("PBDEPLOYER_")}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=checkout,
            env=env | {"PBDEPLOYER_PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = QuickStart(checkout, port, log)
    try:
        _wait_up(port, process, started)
        yield started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def _wait_up(port: int, process: subprocess.Popen[bytes], started: QuickStart) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, started.text()
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"./dev serve did not come up:\n{started.text()}")


def test_quick_start_serves_uploads_and_downloads_a_zip(quick_start, tmp_path):
    token = quick_start.printed_token()
    assert (quick_start.checkout / ".pbdeployer" / "api-token").read_text() == token + "\n"

    curl = _quick_start_block("TOKEN=").replace("127.0.0.1:8080", f"127.0.0.1:{quick_start.port}")
    shown = next(line[2:] for line in curl.splitlines() if line.startswith("# "))
    done = subprocess.run(
        ["bash", "-c", curl], cwd=quick_start.checkout, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == shown

    zip_bytes = build_app_zip(tmp_path / "app.zip", binary=FAKE_BINARY).read_bytes()
    with api_client(quick_start.port, token) as client:
        server = client.post("/servers", json={"name": "web1", "host": "203.0.113.10"}).json()
        app = client.post("/apps", json={"name": "blog", "server_id": server["id"]}).json()
        version = client.post(
            "/versions/with-zip",
            data={"app_id": app["id"], "version_number": "1.0.0"},
            files={"file": ("app.zip", zip_bytes, "application/zip")},
        )
        assert version.status_code == 201, version.text
        download = client.get(f"/versions/{version.json()['id']}/download")

    assert download.status_code == 200
    assert download.content == zip_bytes
    tmp = quick_start.checkout / ".pbdeployer" / "blobs" / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []

"""Apps at their domains over HTTPS on a real host: deployed through the library, reached from
this machine at the host's address by domain, trusting only the host's internal CA."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pbdeployer import AppCreate
from pbdeployer.models import App, AppUpdate, DeploymentStatus, TlsMode
from pbdeployer.models.tasks import TaskStatus
from pbdeployer.testing.hosts import TestHost
from tests.integration.conftest import HostFactory
from tests.integration.test_deploy_on_hosts import BROKEN, NOTES, Host, World, open_world

pytestmark = [pytest.mark.host, pytest.mark.slow]

CA_ROOT = "/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt"


class Visitor:
    """curl on this machine, sending a domain to the host's address (no DNS needed)."""

    def __init__(self, host: TestHost, ca_file: Path) -> None:
        self.host = host
        host.ssh(f"test -s {CA_ROOT}")
        ca_file.write_text(host.ssh(f"cat {CA_ROOT}").stdout)
        self.ca_file = ca_file

    def argv(self, app: App, *extra: str) -> list[str]:
        domain = app.domain or ""
        return [
            "curl", "--silent", "--show-error", "--max-time", "5", "--cacert", str(self.ca_file),
            "--resolve", f"{domain}:443:{self.host.address}",
            "--resolve", f"{domain}:80:{self.host.address}", *extra,
        ]  # fmt: skip

    def get(self, app: App, path: str, scheme: str = "https") -> tuple[str, str]:
        """(status and redirect target, body) of a GET by the app's domain."""
        marker = "\n--status--"
        done = subprocess.run(
            [*self.argv(app, "--write-out", marker + "%{http_code} %{redirect_url}"),
             f"{scheme}://{app.domain}{path}"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        body, _, status = done.stdout.rpartition(marker)
        return (status.strip() if done.returncode == 0 else f"curl {done.returncode}"), body

    def post(self, app: App, path: str, payload: object) -> str:
        done = subprocess.run(
            [*self.argv(app, "--fail", "--json", json.dumps(payload)),
             f"https://{app.domain}{path}"],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        return done.stdout

    @contextmanager
    def stream(self, app: App, path: str) -> Iterator[queue.Queue[str]]:
        """Lines of a server-sent event stream, as they arrive (read by a thread)."""
        argv = [*self.argv(app, "--no-buffer"), "--max-time", "60", f"https://{app.domain}{path}"]
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=_pump, args=(process, lines), daemon=True)
        reader.start()
        try:
            yield lines
        finally:
            process.kill()
            process.wait()


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)


def read_event(lines: queue.Queue[str], name: str, seconds: float = 10) -> dict[str, object]:
    """The data of the next server-sent event called ``name``, within ``seconds``."""
    deadline, event = time.monotonic() + seconds, ""
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:") and event == name:
            data: dict[str, object] = json.loads(line.removeprefix("data:"))
            return data
    raise AssertionError(f"no {name!r} event within {seconds} s")


@pytest.fixture(params=["bookworm", "trixie"])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, host_factory: HostFactory
) -> AsyncIterator[World]:
    """A set-up server on a fresh Debian 12 or Debian 13 host."""
    (host,) = host_factory(1, distro=request.param)
    opened = await open_world(tmp_path, host)
    yield opened
    await opened.deployer.close()


async def app_at(world: World, name: str, domain: str) -> tuple[App, Host]:
    data = AppCreate(name=name, server_id=world.server.id, domain=domain, tls=TlsMode.INTERNAL)
    app = await world.deployer.apps.create(data)
    return app, Host(world.host, app)


async def test_deployed_apps_answer_at_their_domains(world: World, tmp_path: Path) -> None:
    notes, _ = await app_at(world, "notes", "notes.example.test")
    first = await world.deploy(notes, await world.version(notes, "v1", notes=NOTES))
    assert first.status is DeploymentStatus.SUCCEEDED, first.error_message
    visitor = Visitor(world.host, tmp_path / "root.crt")

    status, body = visitor.get(notes, "/api/health")
    assert (status, json.loads(body)["message"]) == ("200", "API is healthy.")
    status, _ = visitor.get(notes, "/api/health", scheme="http")
    assert status == "308 https://notes.example.test/api/health"

    with visitor.stream(notes, "/api/realtime") as stream:
        client_id = read_event(stream, "PB_CONNECT")["clientId"]
        visitor.post(notes, "/api/realtime", {"clientId": client_id, "subscriptions": ["notes"]})
        visitor.post(notes, "/api/collections/notes/records", {"text": "through the proxy"})
        created = read_event(stream, "notes")
    assert created["action"] == "create"
    assert created["record"]["text"] == "through the proxy"  # type: ignore[index]

    shop, _ = await app_at(world, "shop", "shop.example.test")
    shop_deployed = await world.deploy(shop, await world.version(shop, "v1"))
    assert shop_deployed.status is DeploymentStatus.SUCCEEDED, shop_deployed.error_message
    assert visitor.get(shop, "/api/health")[0] == "200"
    assert visitor.get(notes, "/api/collections/notes/records")[0] == "200"

    broken = await world.deploy(notes, await world.version(notes, "v2", BROKEN))
    assert broken.status is DeploymentStatus.FAILED
    assert broken.rolled_back
    status, body = visitor.get(notes, "/api/collections/notes/records")
    assert status == "200"
    assert [item["text"] for item in json.loads(body)["items"]] == ["through the proxy"]

    moved = await world.deployer.apps.update(notes.id, AppUpdate(domain="memo.example.test"))
    assert await serve_site(world, moved) is TaskStatus.SUCCEEDED
    assert visitor.get(moved, "/api/health")[0] == "200"
    assert visitor.get(notes, "/api/health")[0].startswith("curl ")  # no site, no certificate
    assert visitor.get(shop, "/api/health")[0] == "200"

    hidden = await world.deployer.apps.update(notes.id, AppUpdate(domain=None))
    assert await serve_site(world, hidden) is TaskStatus.SUCCEEDED
    assert visitor.get(moved, "/api/health")[0].startswith("curl ")
    assert Host(world.host, hidden).health() == 200  # still there on loopback
    assert visitor.get(shop, "/api/health")[0] == "200"

    report = await world.deployer.security.audit(world.server.id)
    found = {f.id: f for f in report.findings}
    assert found["app.shop.https"].status.value == "pass", found["app.shop.https"].evidence
    assert "shop.example.test" in found["app.shop.https"].evidence
    assert "app.notes.https" not in found  # loopback-only now
    listeners = found["network.public_listeners"]
    assert listeners.status.value == "pass", listeners.evidence


async def serve_site(world: World, app: App) -> TaskStatus:
    """Run the task that brings the app's site in line with its domain, to its end."""
    task = await world.deployer.operations.serve_site(app.id)
    async for _ in world.deployer.tasks.events(task.id):
        pass
    return (await world.deployer.tasks.get(task.id)).status

"""From an empty server to apps at their domains over HTTPS, through the served API alone, on
Debian 12 and Debian 13: setup, lockdown, an app's environment with a secret, deploys, two
apps side by side, and the secret nowhere but in the app's process.

Root checks on the host (``/proc/<pid>/environ``, the environment file) enter the guest
directly: after lockdown root cannot log in over SSH.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pbdeployer.testing._machine import guest_exec
from pbdeployer.testing.hosts import HostPool, TestHost
from tests.pocketbase import PINNED_VERSIONS, build_app_zip, pocketbase_binary
from tests.served import Controller, Json, wait_for

pytestmark = [pytest.mark.host, pytest.mark.slow]

CA_ROOT = "/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt"
FINISHED = {"succeeded", "failed", "cancelled", "interrupted"}
FIRST = "first-Secret 'q' \"dq\" $NOPE {{ 7 * 7 }}"
SECOND = "second-Secret-8c1f"


class Api:
    """The served API, keeping every answer for the leak check."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.answers: list[str] = []

    def call(self, method: str, path: str, status: int, **kwargs: object) -> Json:
        response = self.client.request(method, path, **kwargs)  # type: ignore[arg-type]
        self.answers.append(response.text + "\n" + str(response.headers))
        assert response.status_code == status, (method, path, response.text)
        body: Json = response.json() if response.content else {}
        return body

    def finish(self, task: Json, limit: float = 600) -> Json:
        """Wait for the task; fail with its last stored events unless it succeeded."""
        done = wait_for(self.client, task["id"], FINISHED, limit)
        events = self.client.get(f"/tasks/{task['id']}/events", params={"limit": 1000})
        self.answers.append(events.text)
        assert done["status"] == "succeeded", f"{done['error']}\n{events.json()[-5:]}"
        return done


def root(host: TestHost, *argv: str) -> str:
    done = guest_exec(host.machine, list(argv))
    assert done.returncode == 0, done.stderr
    return done.stdout


def environ_of(host: TestHost, unit: str) -> dict[str, str]:
    """The environment of the unit's running process, as root reads it from /proc."""
    pid = root(host, "systemctl", "show", "--value", "--property=MainPID", unit).strip()
    assert pid not in ("", "0"), f"{unit} is not running"
    raw = root(host, "cat", f"/proc/{pid}/environ")
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def visit(host: TestHost, ca: Path, domain: str, scheme: str = "https") -> str:
    """Status (and redirect target) of GET /api/health by ``domain`` at the host's address."""
    port = 443 if scheme == "https" else 80
    done = subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "5", "--cacert", str(ca),
         "--resolve", f"{domain}:{port}:{host.address}", "--output", "/dev/null",
         "--write-out", "%{http_code} %{redirect_url}", f"{scheme}://{domain}/api/health"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else f"curl {done.returncode}"


@pytest.fixture(params=["bookworm", "trixie"])
def host(request: pytest.FixtureRequest, host_pool: HostPool) -> Iterator[TestHost]:
    made = host_pool.create(distro=request.param)
    yield made
    host_pool.destroy(made)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Controller, Api]]:
    controller = Controller(tmp_path / "data")
    client = controller.start()
    yield controller, Api(client)
    client.close()
    controller.stop()


def test_empty_server_to_https_with_a_secret_through_the_api(
    host: TestHost, served: tuple[Controller, Api], tmp_path: Path
) -> None:
    controller, api = served
    server = api.call(
        "POST", "/servers", 201,
        json={"name": "web", "host": host.address, "manual_key_path": host.key_path},
    )  # fmt: skip
    sid = server["id"]
    api.finish(api.call("POST", f"/servers/{sid}/setup", 202, json={}))
    api.finish(api.call("POST", f"/servers/{sid}/security/lockdown", 202, json={}))

    notes = create_app(api, sid, "notes")
    env = f"/apps/{notes['id']}/env"
    secret = {"key": "SMTP_PASSWORD", "value": FIRST, "secret": True}
    api.finish(api.call("PUT", env, 202, json={"variables": [secret, PLAIN]}))  # before deploy
    deploy(api, notes, tmp_path)

    ca = tmp_path / "root.crt"
    ca.write_text(root(host, "cat", CA_ROOT))
    assert visit(host, ca, "notes.example.test") == "200"
    assert visit(host, ca, "notes.example.test", "http").startswith("308 https://notes.")
    unit = f"{notes['service_name']}.service"
    environ = environ_of(host, unit)
    assert (environ["SMTP_PASSWORD"], environ["SMTP_HOST"]) == (FIRST, "smtp.example.test")
    env_file = f"/etc/pbdeployer/env/{notes['service_name']}.env"
    assert root(host, "stat", "--format=%U %a", env_file).split() == ["root", "600"]

    # A changed secret restarts the app through its health check, and only it sees the value.
    secret |= {"value": SECOND}
    api.finish(api.call("PUT", env, 202, json={"variables": [secret, PLAIN]}))
    assert environ_of(host, unit)["SMTP_PASSWORD"] == SECOND
    assert visit(host, ca, "notes.example.test") == "200"
    shown = api.call("GET", env, 200)["variables"]
    assert {v["key"]: v["value"] for v in shown} == {
        "SMTP_HOST": "smtp.example.test",
        "SMTP_PASSWORD": None,
    }

    shop = create_app(api, sid, "shop")
    deploy(api, shop, tmp_path)
    assert visit(host, ca, "shop.example.test") == "200"
    assert visit(host, ca, "notes.example.test") == "200"
    assert "SMTP_PASSWORD" not in environ_of(host, f"{shop['service_name']}.service")

    # Deleting a deployed app takes its site, unit and environment off the host first.
    api.finish(api.call("DELETE", f"/apps/{notes['id']}", 202, params={"cascade": "true"}))
    api.call("GET", f"/apps/{notes['id']}", 404)
    assert visit(host, ca, "notes.example.test").startswith("curl ")
    assert visit(host, ca, "shop.example.test") == "200"
    load = root(host, "systemctl", "show", "--value", "--property=LoadState", unit)
    assert load.strip() == "not-found"
    assert guest_exec(host.machine, ["test", "-e", env_file]).returncode == 1

    for task in api.call("GET", "/tasks", 200, params={"per_page": 100})["items"]:
        api.call("GET", f"/tasks/{task['id']}/events", 200, params={"limit": 1000})
    assert_nowhere(controller, api, [FIRST, SECOND, json.dumps(FIRST)[1:-1]])


PLAIN = {"key": "SMTP_HOST", "value": "smtp.example.test"}


def create_app(api: Api, server_id: str, name: str) -> Json:
    return api.call(
        "POST", "/apps", 201,
        json={"name": name, "server_id": server_id, "domain": f"{name}.example.test",
              "tls": "internal"},
    )  # fmt: skip


def deploy(api: Api, app: Json, tmp_path: Path) -> None:
    archive = build_app_zip(
        tmp_path / f"{app['name']}.zip", binary=pocketbase_binary(PINNED_VERSIONS[0])
    )
    version = api.call(
        "POST", "/versions/with-zip", 201,
        data={"app_id": app["id"], "version_number": "v1"},
        files={"file": archive.read_bytes()},
    )  # fmt: skip
    deployment = api.call(
        "POST", f"/apps/{app['id']}/deploy", 202, json={"version_id": version["id"]}
    )
    api.finish({"id": deployment["task_id"]})


def assert_nowhere(controller: Controller, api: Api, secrets: list[str]) -> None:
    """No answer, stored event, log line, database byte or run file holds a secret."""
    leaks = [s for s in secrets for text in api.answers if s in text]
    assert leaks == []
    assert [s for s in secrets if s in controller.log.read_text(errors="replace")] == []
    data = controller.data_dir
    files = [p for p in data.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(p.suffix == ".db" for p in files)
    found = [
        (str(p), s) for p in files for s in secrets
        if s.encode() in p.read_bytes()
    ]  # fmt: skip
    assert found == []

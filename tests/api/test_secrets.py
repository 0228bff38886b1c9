"""No answer ever carries the SSH private key's bytes or the API token.

A real ed25519 key is generated into the temporary directory and registered as a server's
``manual_key_path``; then every route is exercised, on success and on every error path.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.unit.artifacts.zip_corpus import app as zip_app
from tests.unit.artifacts.zip_corpus import raw_zip

_CHUNK = 16
ENV_SECRET = "smtp-pass-Zq8v1"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "id_ed25519"
    path.parent.mkdir()
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)], check=True
    )
    return path


@pytest.fixture
def secrets(key_file: Path, token: str) -> list[str]:
    """The key's base64 body lines, overlapping pieces of them, and the token."""
    lines = key_file.read_text().splitlines()
    body = [line for line in lines if line and not line.startswith("-----")]
    assert len(body) >= 3
    joined = "".join(body)
    pieces = [joined[i : i + _CHUNK] for i in range(0, len(joined) - _CHUNK, _CHUNK // 2)]
    return [*body, *pieces, token]


class Recorder:
    """Send requests and keep every response for the leak check."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.responses: list[httpx.Response] = []

    def __call__(self, method: str, path: str, status: int, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.text)
        self.responses.append(response)
        return response

    def routes_missed(self) -> set[tuple[str, str]]:
        """Operations in the served OpenAPI schema that no recorded request reached."""
        schema = next(r for r in self.responses if r.url.path.endswith("/openapi.json")).json()
        operations = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
        reached = {(r.request.method, r.url.path) for r in self.responses}
        return {
            (method, template)
            for method, template in operations
            if not any(
                m == method and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path)
                for m, path in reached
            )
        }

    def leaks(self, secrets: list[str]) -> list[tuple[str, str]]:
        found = []
        for response in self.responses:
            headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
            text = response.content.decode("utf-8", errors="replace") + "\n" + headers
            found += [(str(response.request.url), s) for s in secrets if s in text]
        return found


def test_no_answer_contains_the_key_or_the_token(client, settings, key_file, secrets, token):
    call = Recorder(client)
    key_path = str(key_file)
    nobody = {"Authorization": ""}

    call("GET", "/health", 200, headers=nobody)
    call("GET", "/schema/openapi.json", 200, headers=nobody)
    call("GET", "/schema", 200, headers=nobody)

    server = call(
        "POST", "/servers", 201, json={"name": "web1", "host": "h", "manual_key_path": key_path}
    ).json()
    assert server["manual_key_path"] == key_path
    sid = server["id"]
    call("POST", "/servers", 409, json={"name": "web1", "host": "h", "manual_key_path": key_path})
    call(
        "POST",
        "/servers",
        422,
        json={"name": "web2", "host": "h", "manual_key_path": key_file.name},
    )
    call(
        "POST",
        "/servers",
        422,
        json={"name": "web2", "host": "h", "private_key": key_file.read_text()},
    )
    call("GET", "/servers", 200)
    call("GET", "/servers", 200, params={"q": "web"})
    call("GET", "/servers", 422, params={"per_page": 0})
    call("GET", f"/servers/{sid}", 200)
    call("GET", "/servers/unknown", 404)
    call("PATCH", f"/servers/{sid}", 200, json={"port": 2222})
    call("PATCH", f"/servers/{sid}", 200, json={"manual_key_path": key_path})
    call("PATCH", f"/servers/{sid}", 422, json={"security_locked": True})
    call("PATCH", f"/servers/{sid}", 400)

    app = call("POST", "/apps", 201, json={"name": "blog", "server_id": sid}).json()
    call("POST", "/apps", 409, json={"name": "blog", "server_id": sid})
    call("POST", "/apps", 422, json={"name": "shop", "server_id": sid, "remote_path": "/"})
    call("GET", "/apps", 200, params={"server_id": sid})
    call("GET", f"/apps/{app['id']}", 200)
    call("PATCH", f"/apps/{app['id']}", 200, json={"domain": "blog.example.com"})
    call("DELETE", f"/servers/{sid}", 409)
    env = f"/apps/{app['id']}/env"
    smtp = {"key": "SMTP_PASSWORD", "value": ENV_SECRET, "secret": True}
    call("GET", env, 200)
    call("PUT", env, 409, json={"variables": [smtp]})  # the server is not set up
    call("PUT", env, 422, json={"variables": [smtp, smtp]})
    call("PUT", env, 422, json={"variables": [smtp | {"value": ENV_SECRET + "\n"}]})
    call("PUT", "/apps/01NOSUCHAPP00000000000000/env", 404, json={"variables": [smtp]})

    nowhere = "/servers/01NOSUCHSERVER000000000000"  # no host run starts in this test
    unit = f"/services/{sid}/{app['service_name']}"
    call("POST", f"{nowhere}/setup", 404)
    call("POST", f"{nowhere}/setup/user", 404)
    call("POST", f"/servers/{sid}/setup/packages", 422, json={"packages": ["bad;pkg"]})
    call("POST", f"/servers/{sid}/security/lockdown", 422, json={"extra_ports": [0]})
    call("POST", f"{nowhere}/security/audit", 404)
    call("POST", "/apps/01NOSUCHAPP00000000000000/site", 404)
    call("GET", f"/servers/{sid}/security/audit", 404)
    call("GET", "/services/01NOSUCHSERVER000000000000", 404)
    call("GET", f"/services/{sid}/nosuchunit", 404)
    call("POST", unit, 422, json={"action": "explode"})
    call("GET", f"{unit}/logs", 422, params={"lines": 0})
    call("GET", "/tasks", 200)
    call("GET", "/tasks/01NOSUCHTASK0000000000000", 404)
    call("GET", "/tasks/01NOSUCHTASK0000000000000/events", 404)
    call("POST", "/tasks/01NOSUCHTASK0000000000000/cancel", 404)
    call("POST", "/maintenance/retention", 200, params={"days": 30})
    call("POST", "/maintenance/retention", 422, params={"days": -1})

    version = call(
        "POST", "/versions", 201, json={"app_id": app["id"], "version_number": "1"}
    ).json()
    call("POST", "/versions", 409, json={"app_id": app["id"], "version_number": "1"})
    call("GET", "/versions", 200, params={"app_id": app["id"]})
    call("GET", f"/versions/{version['id']}", 200)
    call("GET", f"/versions/{version['id']}/download", 404)
    zipped = {"content": raw_zip(zip_app()), "headers": {"content-type": "application/zip"}}
    call("POST", f"/versions/{version['id']}/upload", 200, **zipped)
    call("GET", f"/versions/{version['id']}/download", 200)
    call("POST", f"/versions/{version['id']}/upload", 422, content=b"not a zip")
    form = {"app_id": app["id"], "version_number": "2"}
    call("POST", "/versions/with-zip", 201, data=form, files={"file": zipped["content"]})
    call("DELETE", f"/apps/{app['id']}", 409)
    deploy = {"version_id": version["id"]}
    call("POST", f"/apps/{app['id']}/deploy", 409, json=deploy)  # the server is not set up
    call("POST", f"/apps/{app['id']}/deploy", 422, json={"version_id": key_path})
    call("POST", f"/apps/{app['id']}/rollback", 409)  # nothing to go back to
    call("GET", "/deployments", 200, params={"app_id": app["id"]})
    call("GET", "/deployments/stats", 200)
    nodeploy = "/deployments/01NOSUCHDEPLOYMENT00000000"
    call("GET", nodeploy, 404)
    call("GET", f"{nodeploy}/status", 404)
    call("POST", f"{nodeploy}/cancel", 404)

    call("POST", "/servers", 400, content=b"{broken", headers={"content-type": "application/json"})
    call("POST", "/servers", 400)
    call("GET", "/servers", 401, headers=nobody)
    call("GET", f"/servers/{sid}", 401, headers={"Authorization": f"Bearer {token[:-2]}"})
    call("GET", "/servers", 401, headers={"Authorization": token})
    call("GET", "/nowhere", 404)
    call("PUT", "/servers", 405)

    call("DELETE", f"/versions/{version['id']}", 204)
    call("DELETE", f"/apps/{app['id']}", 204, params={"cascade": "true"})
    call("DELETE", f"/servers/{sid}", 204)

    with sqlite3.connect(settings.data_dir / "pbdeployer.db") as db:
        db.execute("DROP TABLE servers")
    call("GET", "/servers", 500)

    assert call.routes_missed() == set()
    assert call.leaks([*secrets, ENV_SECRET]) == []


def test_the_leak_check_finds_a_leak(client, key_file, secrets):
    """The check above is only worth something if a leak would be caught."""
    call = Recorder(client)
    key_body = key_file.read_text().splitlines()[1]

    call("POST", "/versions", 422, json={"app_id": key_body, "version_number": "1"})

    assert call.leaks(secrets) != []


def test_the_key_file_is_left_alone(client, key_file):
    before = (key_file.read_bytes(), key_file.stat().st_mode, key_file.stat().st_mtime_ns)
    body = {"name": "web1", "host": "h", "manual_key_path": str(key_file)}

    server = client.post("/servers", json=body).json()
    client.get(f"/servers/{server['id']}")
    client.delete(f"/servers/{server['id']}")

    assert (key_file.read_bytes(), key_file.stat().st_mode, key_file.stat().st_mtime_ns) == before

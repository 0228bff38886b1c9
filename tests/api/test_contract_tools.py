"""The committed API documents through tools nobody on this project wrote.

Redocly and Spectral (their recommended rulesets) lint ``api/openapi.yaml``; the AsyncAPI
parser validates ``api/asyncapi.yaml``; openapi-python-client generates a client that drives
a served API; openapi-typescript's types pass ``tsc --strict``. The npm tools are pinned in
``api/tools/package-lock.json`` and installed once into a cache outside the checkout (``./dev
test`` does it first; a bare pytest run does it here). Everything is generated once per session.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pbdeployer.api import create_app
from pbdeployer.settings import Settings
from tests.served import TOKEN, ServerThread

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "api" / "tools"
OPENAPI = ROOT / "api" / "openapi.yaml"
ASYNCAPI = ROOT / "api" / "asyncapi.yaml"
CLIENT_PACKAGE = "pbdeployer_client"
BINARY = b"\x7fELF" + bytes(range(256)) * 64


def _tools_dir() -> Path:
    """Where ``./dev`` installs the npm tools (the same key: the package files' digest)."""
    digest = hashlib.sha256(
        (TOOLS / "package.json").read_bytes() + (TOOLS / "package-lock.json").read_bytes()
    ).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "pbdeployer" / "npm" / digest


@pytest.fixture(scope="session")
def npm_tools() -> Path:
    """The installed tools' ``node_modules``, installing them first if needed."""
    where = _tools_dir()
    if not (where / ".installed").exists():
        where.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(TOOLS / name, where / name)
        _run(["npm", "ci", "--quiet", "--no-audit", "--no-fund"], cwd=where)
        (where / ".installed").touch()
    return where / "node_modules"


def _run(argv: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        argv, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(argv[:3])} failed:\n{output}"
    return output


def test_the_linters_find_nothing(npm_tools: Path) -> None:
    """0 errors and 0 warnings; the few allowed ones are listed in api/tools with a reason."""
    bin_dir = npm_tools / ".bin"
    checks = {
        "redocly": [str(bin_dir / "redocly"), "lint", str(OPENAPI), "--config", str(TOOLS / "redocly.yaml"), "--max-problems", "50"],  # noqa: E501
        "spectral": [str(bin_dir / "spectral"), "lint", "--ruleset", str(TOOLS / "spectral.yaml"), "--fail-severity", "warn", str(OPENAPI)],  # noqa: E501
        "asyncapi": ["node", "--input-type=module", "-e", (TOOLS / "asyncapi-validate.mjs").read_text(), str(ASYNCAPI)],  # noqa: E501
    }  # fmt: skip
    running = {
        name: subprocess.Popen(
            argv, cwd=npm_tools.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for name, argv in checks.items()
    }
    for name, process in running.items():
        output = process.communicate(timeout=300)[0]
        assert process.returncode == 0, f"{name}:\n{output}"
        if name == "redocly":
            assert "warning" not in output.lower().replace("deprecation warning", ""), output


@pytest.fixture(scope="session")
def python_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client openapi-python-client generates from the committed document, imported."""
    where = tmp_path_factory.mktemp("python-client")
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    argv = [
        str(Path(sys.executable).parent / "openapi-python-client"), "generate",
        "--path", str(OPENAPI), "--meta", "none", "--output-path", str(where / CLIENT_PACKAGE),
    ]  # fmt: skip
    output = _run(argv, env=env)
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(CLIENT_PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m.split(".")[0] == CLIENT_PACKAGE]:
            del sys.modules[name]


def _app_zip(label: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("pocketbase")
        info.external_attr = 0o755 << 16
        archive.writestr(info, BINARY + label.encode())
        archive.writestr("pb_migrations/1700000000_init.js", "migrate(() => {});")
    return buffer.getvalue()


def _api(client_module: ModuleType, area: str, name: str) -> Any:
    return importlib.import_module(f"{CLIENT_PACKAGE}.api.{area}.{name}")


def test_the_generated_python_client_drives_the_api(
    python_client: ModuleType, tmp_path: Path
) -> None:
    models = importlib.import_module(f"{CLIENT_PACKAGE}.models")
    types = importlib.import_module(f"{CLIENT_PACKAGE}.types")
    app = create_app(Settings(data_dir=tmp_path / "data"), token=TOKEN)
    with ServerThread(app) as served:
        base = f"http://127.0.0.1:{served.port}"
        client = python_client.AuthenticatedClient(base_url=base, token=TOKEN)
        nobody = python_client.Client(base_url=base)
        call = _caller(python_client, client)

        server = call(
            201,
            "servers",
            "create_server",
            body=models.ServerCreate(name="web1", host="203.0.113.10"),
        )
        app_record = call(
            201, "apps", "create_app", body=models.AppCreate(name="blog", server_id=server.id)
        )
        version = call(
            201,
            "versions",
            "create_version",
            body=models.VersionCreate(app_id=app_record.id, version_number="1.0.0"),
        )
        first_zip = _app_zip("first")
        uploaded = call(
            200,
            "versions",
            "upload_version_zip",
            version_id=version.id,
            body=types.File(payload=io.BytesIO(first_zip), file_name="app.zip"),
        )
        assert uploaded.zip_sha256 == hashlib.sha256(first_zip).hexdigest()

        second_zip = _app_zip("second")
        form = models.CreateVersionWithZipBody(
            app_id=app_record.id,
            version_number="2.0.0",
            notes="fields around the file, in the generator's order",
            file=types.File(payload=io.BytesIO(second_zip), file_name="app.zip"),
        )
        created = call(201, "versions", "create_version_with_zip", body=form)
        assert created.notes == form.notes
        assert created.zip_sha256 == hashlib.sha256(second_zip).hexdigest()

        download = _api(python_client, "versions", "download_version_zip")
        whole = download.sync_detailed(client=client, version_id=created.id)
        assert whole.status_code == 200
        assert whole.parsed.payload.read() == second_zip
        etag = whole.headers["etag"]
        part = download.sync_detailed(
            client=client, version_id=created.id, range_="bytes=100-", if_range=etag
        )
        assert part.status_code == 206
        assert part.parsed.payload.read() == second_zip[100:]
        stale = download.sync_detailed(
            client=client, version_id=created.id, range_="bytes=100-", if_range='"other"'
        )
        assert stale.status_code == 200
        assert stale.parsed.payload.read() == second_zip

        deployments = call(200, "deployments", "list_deployments")
        assert deployments.total == 0
        stats = call(200, "deployments", "deployment_stats")
        assert stats.total == 0

        unauthorized = _api(python_client, "servers", "list_servers").sync_detailed(client=nobody)
        missing = _api(python_client, "servers", "get_server").sync_detailed(
            client=client, server_id="01JH8Z6X4T3D3Q9V4W0Y5K7B2M"
        )
        taken = _api(python_client, "servers", "create_server").sync_detailed(
            client=client, body=models.ServerCreate(name="web1", host="203.0.113.11")
        )
        invalid = _api(python_client, "servers", "create_server").sync_detailed(
            client=client, body=models.ServerCreate(name="web2", host="203.0.113.12", port=70000)
        )
        for response, status, code in [
            (unauthorized, 401, "unauthorized"),
            (missing, 404, "not_found"),
            (taken, 409, "conflict"),
            (invalid, 422, "validation_failed"),
        ]:
            assert response.status_code == status
            assert isinstance(response.parsed, models.ErrorBody)
            assert response.parsed.error.code == code
        assert [d.field for d in invalid.parsed.error.details] == ["port"]


def _caller(python_client: ModuleType, client: Any) -> Any:
    """``call(status, area, operation, **kwargs)``: the parsed body of the expected answer."""

    def call(status: int, area: str, name: str, **kwargs: Any) -> Any:
        response = _api(python_client, area, name).sync_detailed(client=client, **kwargs)
        assert response.status_code == status, (name, response.content[:500])
        return response.parsed

    return call


def test_the_typescript_types_pass_a_strict_check(npm_tools: Path, tmp_path: Path) -> None:
    """openapi-typescript's output and a file using its readable names pass ``tsc --strict``."""
    bin_dir = npm_tools / ".bin"
    shutil.copy(TOOLS / "client-check.ts", tmp_path / "client-check.ts")
    types = tmp_path / "pbdeployer-api.d.ts"
    _run(
        [
            str(bin_dir / "openapi-typescript"),
            str(OPENAPI),
            "--default-non-nullable",
            "false",
            "-o",
            str(types),
        ]
    )
    assert "AppPage: {" in types.read_text()
    _run(
        [str(bin_dir / "tsc"), "--strict", "--noEmit", "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler", "client-check.ts", types.name],  # noqa: E501
        cwd=tmp_path,
    )  # fmt: skip

"""Each operation's invocation is pinned by a golden file.

``PBDEPLOYER_UPDATE_GOLDEN=1`` rewrites the files and fails each rewritten case, so the
variable can never turn a run green: review the diff, then run again without it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from pbdeployer.errors import InvalidInput
from pbdeployer.models import App, AppStatus, Server, TlsMode, Version
from pbdeployer.models.app_env import EnvValues
from pbdeployer.models.run import PlaybookInvocation
from pbdeployer.plays import app_env, audit, deploy, lockdown, proxy, service, setup

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "plays"
STAMP = datetime(2026, 1, 1, tzinfo=UTC)
SERVER = Server(
    id="01JH8Z6X4T3D3Q9V4W0Y5K7B2M",
    created=STAMP,
    updated=STAMP,
    name="web1",
    host="203.0.113.10",
    port=2222,
    root_username="root",
    app_username="pbapp",
    use_ssh_agent=False,
    manual_key_path="/keys/id_ed25519",
    setup_complete=True,
    security_locked=False,
)
AGENT_SERVER = msgspec.structs.replace(
    SERVER, use_ssh_agent=True, manual_key_path=None, port=22, security_locked=True
)
APP = App(
    id="01JH8Z7C2V5M8N1P3Q4R6S7T8U",
    created=STAMP,
    updated=STAMP,
    name="blog",
    server_id=SERVER.id,
    remote_path="/opt/pocketbase/blog",
    service_name="pocketbase-blog",
    domain="blog.example.com",
    http_port=8091,
    binary_name="pocketbase",
    current_version="1.0.0",
    status=AppStatus.RUNNING,
)
VERSION = Version(
    id="01JH8Z8D3W6N9P2Q4R5S6T7V8W",
    created=STAMP,
    updated=STAMP,
    app_id=APP.id,
    version_number="1.1.0",
    deployment_zip="sha256:" + "ab" * 32,
    notes="",
    zip_sha256="ab" * 32,
)
ZIP = Path("/var/lib/pbdeployer/blobs/ab/" + "ab" * 32)
OPTIONS = deploy.DeployOptions(health_timeout=20.0, keep_releases=3)
DEPLOYMENT = "01JH8Z9E4X7P0Q3R5S6T7V8W9X"
ENV = EnvValues(
    values={"SMTP_HOST": "smtp.example.com", "SMTP_PASSWORD": "s3cret {{ not a template }}"},
    secrets=("s3cret {{ not a template }}",),
)

CASES: dict[str, Callable[[], PlaybookInvocation]] = {
    "setup": lambda: setup.setup(SERVER, ["jq", "htop"]),
    "setup_with_proxy": lambda: setup.setup(SERVER, [], proxy=True, acme_email="ops@example.com"),
    "app_remove": lambda: app_env.remove(APP, SERVER),
    "setup_user": lambda: setup.setup_user(SERVER),
    "setup_packages": lambda: setup.setup_packages(["jq"]),
    "lockdown": lambda: lockdown.lockdown(SERVER, [8443]),
    "audit": lambda: audit.audit(SERVER, [APP]),
    "service_install": lambda: service.install_unit(APP, SERVER),
    "service_restart": lambda: service.control(APP, SERVER, service.ServiceAction.RESTART),
    "service_status": lambda: service.status(APP, SERVER),
    "service_logs": lambda: service.logs(APP, SERVER, lines=50, since="2026-01-01 00:00:00"),
    "deploy": lambda: deploy.deploy(APP, SERVER, VERSION, ZIP, DEPLOYMENT, OPTIONS),
    "rollback": lambda: deploy.rollback(
        APP, SERVER, VERSION, ZIP, DEPLOYMENT, OPTIONS, "/opt/pocketbase/blog/backups/01JH8Z"
    ),
    "recover": lambda: deploy.recover(APP, SERVER, DEPLOYMENT, "1.0.0", "1.1.0", OPTIONS),
    "deploy_loopback_only": lambda: deploy.deploy(
        msgspec.structs.replace(APP, domain=None), SERVER, VERSION, ZIP, DEPLOYMENT, OPTIONS
    ),
    "proxy_install": lambda: proxy.install("ops@example.com"),
    "proxy_site": lambda: proxy.site(APP, "ops@example.com"),
    "proxy_site_internal": lambda: proxy.site(
        msgspec.structs.replace(APP, tls=TlsMode.INTERNAL), None
    ),
    "proxy_remove_site": lambda: proxy.remove_site(APP),
    # A rollback to a release whose deployment left no data snapshot: pb_data stays as it is.
    "rollback_plain": lambda: deploy.rollback(APP, SERVER, VERSION, ZIP, DEPLOYMENT, OPTIONS, None),
    "app_env": lambda: app_env.apply(APP, SERVER, ENV, restart=True, health_timeout=20),
    "app_env_not_deployed": lambda: app_env.apply(
        msgspec.structs.replace(APP, domain=None), SERVER, EnvValues(), restart=False
    ),
    "deploy_with_env": lambda: deploy.deploy(APP, SERVER, VERSION, ZIP, DEPLOYMENT, OPTIONS, ENV),
    "recover_stop": lambda: deploy.recover(APP, SERVER, DEPLOYMENT, None, None, OPTIONS),
    "lockdown_agent": lambda: lockdown.lockdown(AGENT_SERVER, []),
    "audit_agent": lambda: audit.audit(AGENT_SERVER, []),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_invocation_matches_golden_file(name: str) -> None:
    produced = json.loads(msgspec.json.encode(CASES[name]()))
    path = GOLDEN / f"{name}.json"
    if os.environ.get("PBDEPLOYER_UPDATE_GOLDEN") == "1" and not os.environ.get("CI"):
        path.write_text(json.dumps(produced, indent=2, sort_keys=True) + "\n")
        pytest.fail(f"{path.name} rewritten: review the diff, then run without the variable")
    assert produced == json.loads(path.read_text())


def test_every_golden_file_has_a_case() -> None:
    assert {p.stem for p in GOLDEN.glob("*.json")} == set(CASES)


def test_playbooks_named_by_invocations_exist() -> None:
    playbooks = Path(__file__).resolve().parents[3] / "playbooks"
    for make in CASES.values():
        assert (playbooks / make().playbook).is_file()


@pytest.mark.parametrize("zip_sha256", [None, ""])
def test_a_version_without_its_zip_is_refused_before_any_play(zip_sha256: str | None) -> None:
    bare = msgspec.structs.replace(VERSION, zip_sha256=zip_sha256, deployment_zip=None)
    for build in (
        lambda: deploy.deploy(APP, SERVER, bare, ZIP, DEPLOYMENT, OPTIONS),
        lambda: deploy.rollback(APP, SERVER, bare, ZIP, DEPLOYMENT, OPTIONS, None),
    ):
        with pytest.raises(InvalidInput) as refused:
            build()
        assert [(p.field, p.reason) for p in refused.value.details] == [
            ("version_id", "the version has no uploaded zip")
        ]

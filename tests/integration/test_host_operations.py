"""Setup, lockdown, audit and service control through the library, on real hosts."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from pbdeployer import AppCreate, Deployer, ServerCreate, Settings
from pbdeployer.errors import InvalidInput, RunFailed
from pbdeployer.models import FindingStatus, Server
from pbdeployer.plays.service import ServiceAction
from pbdeployer.testing.hosts import TestHost
from tests.pocketbase import PINNED_VERSIONS, pocketbase_binary

pytestmark = [pytest.mark.host, pytest.mark.slow]

LOCKDOWN_FINDINGS = [
    "ssh.permit_root_login",
    "ssh.password_authentication",
    "ssh.kbd_interactive_authentication",
    "ssh.max_auth_tries",
    "ssh.include",
    "ssh.crypto",
    "ssh.forwarding",
    "ssh.live_login",
    "firewall.active",
    "firewall.default_deny",
    "fail2ban.sshd_jail",
    "updates.unattended_upgrades",
    "user.app_user_present",
    "user.app_user_key_only",
    "user.app_user_sudo",
]

# Debian's own sshd_config already turns keyboard-interactive login off.
STOCK_DEBIAN_PASSES = {"ssh.kbd_interactive_authentication", "ssh.include"}


@pytest.fixture
async def deployer(tmp_path: Path) -> AsyncIterator[Deployer]:
    async with Deployer.open(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


async def register(deployer: Deployer, host: TestHost) -> Server:
    return await deployer.servers.create(
        ServerCreate(
            name=host.name,
            host=host.address,
            port=host.port,
            manual_key_path=str(host.key_path),
        )
    )


def as_user(host: TestHost, user: str) -> TestHost:
    return msgspec.structs.replace(host, user=user)


async def test_setup_lockdown_audit_on_a_fresh_host(
    deployer: Deployer, fresh_host: TestHost
) -> None:
    server = await register(deployer, fresh_host)

    before = await deployer.security.audit(server.id)
    root_login = before.finding("ssh.permit_root_login")
    assert root_login.status is FindingStatus.FAIL
    assert "permitrootlogin" in root_login.evidence.lower()
    assert "permitrootlogin no" not in root_login.evidence.lower()
    for finding_id in LOCKDOWN_FINDINGS:
        finding = before.finding(finding_id)
        assert finding.evidence, finding_id
        if finding_id in STOCK_DEBIAN_PASSES:
            assert finding.status is FindingStatus.PASS, finding_id
        else:
            assert finding.status is FindingStatus.FAIL, (finding_id, finding.evidence)

    await deployer.setup.setup(server.id)
    assert (await deployer.servers.get(server.id)).setup_complete
    await deployer.security.lockdown(server.id)
    locked = await deployer.servers.get(server.id)
    assert locked.security_locked
    assert locked.connection_user == "pocketbase"

    after = await deployer.security.audit(server.id)
    failing = {f.id: f.evidence for f in after.findings if f.id in LOCKDOWN_FINDINGS}
    assert all(after.finding(i).status is FindingStatus.PASS for i in LOCKDOWN_FINDINGS), failing
    assert (await deployer.security.latest_audit(server.id)).id == after.id

    refused = fresh_host.ssh("true", check=False)
    assert refused.returncode == 255
    assert "denied" in refused.stderr.lower()
    app_user = as_user(fresh_host, "pocketbase").ssh("sudo -n true", check=False)
    assert app_user.returncode == 0, app_user.stderr

    again = await deployer.security.lockdown(server.id)
    assert sum(stats.changed for stats in again.stats.values()) == 0


async def test_lockdown_refuses_when_the_app_users_key_does_not_work(
    deployer: Deployer, fresh_host: TestHost
) -> None:
    server = await register(deployer, fresh_host)
    await deployer.setup.setup_user(server.id)
    fresh_host.ssh("rm /home/pocketbase/.ssh/authorized_keys")
    sshd_before = fresh_host.ssh("sshd -T").stdout

    with pytest.raises(RunFailed) as failure:
        await deployer.security.lockdown(server.id)

    assert "pocketbase" in str(failure.value)
    assert "nothing was changed" in str(failure.value)
    assert not (await deployer.servers.get(server.id)).security_locked
    assert fresh_host.ssh("true").returncode == 0
    assert fresh_host.ssh("sshd -T").stdout == sshd_before


async def test_service_unit_runs_as_the_app_user_and_obeys_controls(
    deployer: Deployer, fresh_host: TestHost
) -> None:
    server = await register(deployer, fresh_host)
    await deployer.setup.setup_user(server.id)
    app = await deployer.apps.create(AppCreate(name="notes", server_id=server.id))
    release = f"{app.remote_path}/releases/v1"
    fresh_host.ssh(f"mkdir -p {release} && ln -sfn {release} {app.remote_path}/current")
    binary = pocketbase_binary(PINNED_VERSIONS[0])
    copy = fresh_host.ssh_argv(f"cat > {release}/pocketbase && chmod 0755 {release}/pocketbase")
    _pipe_file(copy, binary)
    fresh_host.ssh(f"chown -R pocketbase: {app.remote_path}")

    await deployer.services.install(app.id)
    status = await deployer.services.status(app.id)
    assert status.active_state == "active"
    assert status.main_pid
    owner = fresh_host.ssh(f"ps -o user= -p {status.main_pid}").stdout.strip()
    assert owner == "pocketbase"
    assert fresh_host.ssh(health_probe(app.http_port)).returncode == 0

    await deployer.services.control(app.id, ServiceAction.STOP)
    assert (await deployer.services.status(app.id)).active_state == "inactive"
    await deployer.services.control(app.id, ServiceAction.START)
    await deployer.services.control(app.id, ServiceAction.RESTART)
    restarted = await deployer.services.status(app.id)
    assert restarted.active_state == "active"
    assert restarted.main_pid != status.main_pid
    logs = await deployer.services.logs(app.id, lines=20)
    assert logs
    assert any("Server started" in line.message or "Started" in line.message for line in logs)
    units = await deployer.services.units(server.id)
    assert [u.app_id for u in units] == [app.id]


@pytest.mark.parametrize(
    "unit", ["x;touch /tmp/pwned", "{{ lookup('pipe','id') }}", "a@b", "$(id)"]
)
async def test_hostile_unit_names_are_refused_before_any_run(
    deployer: Deployer, tmp_path: Path, unit: str
) -> None:
    server = await deployer.servers.create(ServerCreate(name="nowhere", host="10.200.255.254"))
    with pytest.raises(InvalidInput) as refused:
        await deployer.apps.create(AppCreate(name="bad", server_id=server.id, service_name=unit))
    assert refused.value.details[0].field == "service_name"
    assert not any((tmp_path / "data").glob("runs/*"))


def health_probe(port: int) -> str:
    """A shell line that waits up to 10 s for PocketBase's health endpoint (no curl needed)."""
    script = (
        "import time, urllib.request\n"
        "for _ in range(100):\n"
        "    try:\n"
        f"        urllib.request.urlopen('http://127.0.0.1:{port}/api/health', timeout=1)\n"
        "        break\n"
        "    except OSError:\n"
        "        time.sleep(0.1)\n"
        "else:\n"
        "    raise SystemExit('no answer')\n"
    )
    return f"python3 -c {shlex.quote(script)}"


def _pipe_file(argv: list[str], source: Path) -> None:
    with source.open("rb") as handle:
        subprocess.run(argv, stdin=handle, check=True, timeout=120)

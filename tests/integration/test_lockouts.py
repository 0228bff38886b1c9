"""Hardening that cannot lock anyone out, on hosts prepared like Debian's cloud images.

Each host has an ``admin`` user with sudo and the controller's key, and root's key line
carries cloud-init's forced command ("Please login as the user "admin"...", exit 142). The
playbooks run by hand, as ``admin`` with become, as an infrastructure engineer runs them.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pbdeployer import Deployer, ServerCreate, Settings
from pbdeployer.models import FindingStatus
from pbdeployer.testing.hosts import TestHost
from tests.integration.by_hand import ByHand, as_user, assert_everyone_but_root_logs_in, output

pytestmark = [pytest.mark.host, pytest.mark.slow]

CloudHost = Callable[..., TestHost]
DISTROS = ["bookworm", "trixie"]


def new_key(directory: Path) -> Path:
    key = directory / "second_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "second", "-f", str(key)],
        check=True,
    )
    return key


def app_user_keys(host: TestHost) -> str:
    return host.ssh("sudo cat /home/pocketbase/.ssh/authorized_keys").stdout


def logs_in_with_sudo(host: TestHost) -> subprocess.CompletedProcess[str]:
    return host.ssh("sudo -n true", check=False, timeout=60)


def test_a_cloud_image_host_answers_root_with_the_forced_command(
    cloud_host_factory: CloudHost,
) -> None:
    host = cloud_host_factory()
    root = as_user(host, "root").ssh("true", check=False, timeout=60)
    assert root.returncode == 142
    assert 'Please login as the user "admin" rather than the user "root".' in root.stdout
    assert logs_in_with_sudo(host).returncode == 0


def test_setup_copies_root_keys_without_their_options(
    cloud_host_factory: CloudHost, tmp_path: Path
) -> None:
    host = cloud_host_factory()
    ByHand(tmp_path, host).play("user.yml")

    app = logs_in_with_sudo(as_user(host, "pocketbase"))
    assert app.returncode == 0, (app.stdout, app.stderr)
    keys = app_user_keys(host)
    assert "command=" not in keys
    assert "no-port-forwarding" not in keys
    assert Path(host.key_path + ".pub").read_text().split()[1] in keys


def test_setup_keeps_the_keys_an_earlier_run_was_given(
    cloud_host_factory: CloudHost, tmp_path: Path
) -> None:
    host = cloud_host_factory()
    by_hand = ByHand(tmp_path, host)
    key = new_key(tmp_path)
    given = by_hand.write_vars("given.json", {"user_authorized_keys": [
        Path(f"{key}.pub").read_text().strip()
    ]})  # fmt: skip
    by_hand.play("user.yml", "-e", given)

    again = by_hand.play("user.yml")

    assert "they stay" in again.stdout
    assert logs_in_with_sudo(as_user(host, "pocketbase", str(key))).returncode == 0
    assert logs_in_with_sudo(as_user(host, "pocketbase")).returncode == 255
    by_hand.play("user.yml", "-e", "user_replace_keys=true")
    assert logs_in_with_sudo(as_user(host, "pocketbase")).returncode == 0
    assert logs_in_with_sudo(as_user(host, "pocketbase", str(key))).returncode == 255


def test_lockdown_says_what_the_app_users_login_did(
    cloud_host_factory: CloudHost, tmp_path: Path
) -> None:
    host = cloud_host_factory()
    by_hand = ByHand(tmp_path, host)
    by_hand.play("user.yml")
    # What the user role used to write: root's line verbatim, forced command included.
    host.ssh("sudo cp /root/.ssh/authorized_keys /home/pocketbase/.ssh/authorized_keys")

    refused = by_hand.play("lockdown.yml", ok=False)

    assert "could not log in with its key and run sudo; nothing was changed" in refused.stdout
    assert "exited 142" in refused.stdout, output(refused)
    assert 'Please login as the user \\"admin\\" rather than the user \\"root\\"' in refused.stdout
    assert "run the user setup first" not in refused.stdout
    assert (
        host.ssh("test ! -e /etc/ssh/sshd_config.d/10-pbdeployer.conf", check=False).returncode == 0
    )


def test_lockdown_keeps_ssh_for_the_login_user(
    cloud_host_factory: CloudHost, tmp_path: Path
) -> None:
    host = cloud_host_factory()
    by_hand = ByHand(tmp_path, host)
    by_hand.play("user.yml")
    only_ops = by_hand.write_vars("ops.json", {"lockdown_allow_users": ["ops"]})

    refused = by_hand.play("lockdown.yml", "-e", only_ops, ok=False)
    assert "shut out 'admin', the user this play logs in as; nothing was changed" in refused.stdout
    assert (
        host.ssh("test ! -e /etc/ssh/sshd_config.d/10-pbdeployer.conf", check=False).returncode == 0
    )

    by_hand.play("lockdown.yml")
    assert logs_in_with_sudo(host).returncode == 0
    assert logs_in_with_sudo(as_user(host, "pocketbase")).returncode == 0
    assert "allowusers" not in host.ssh("sudo sshd -T").stdout
    root = as_user(host, "root").ssh("true", check=False)
    assert root.returncode == 255
    assert "Permission denied" in root.stderr


def reaches_ssh(client: TestHost, address: str) -> subprocess.CompletedProcess[str]:
    """From ``client``, open a TCP connection to ``address``:22 and read sshd's banner."""
    script = (
        "import socket\n"
        f"s = socket.create_connection(({address!r}, 22), timeout=5)\n"
        "s.settimeout(5)\n"
        "assert s.recv(64).startswith(b'SSH-')\n"
    )
    return client.ssh(f"python3 -c {shlex.quote(script)}", check=False)


def failed_logins(host: TestHost, count: int) -> None:
    """``count`` logins as a user that does not exist, from the controller."""
    for _ in range(count):
        as_user(host, "nosuchuser").ssh("true", check=False)


@pytest.mark.parametrize("distro", DISTROS)
def test_fail2ban_refuses_a_banned_address_and_never_bans_the_controller(
    cloud_host_factory: CloudHost, host_factory: Callable[..., list[TestHost]],
    tmp_path: Path, distro: str,
) -> None:  # fmt: skip
    host = cloud_host_factory(distro=distro)
    (client,) = host_factory(1, distro=distro)
    by_hand = ByHand(tmp_path, host)
    by_hand.play("user.yml")
    by_hand.play("lockdown.yml")
    assert reaches_ssh(client, host.address).returncode == 0

    host.ssh(f"sudo fail2ban-client set sshd banip {client.address}")
    banned = reaches_ssh(client, host.address)
    assert banned.returncode != 0, "a banned address still reached sshd"

    controller = host.ssh("echo ${SSH_CONNECTION%% *}").stdout.strip()
    failed_logins(host, 8)
    ignored = f"Ignore {controller} by ip"
    deadline = time.monotonic() + 60
    log = ""
    while ignored not in log and time.monotonic() < deadline:
        time.sleep(1)
        log = host.ssh("sudo cat /var/log/fail2ban.log", check=False).stdout
    assert ignored in log, log[-3000:]
    banned_now = host.ssh("sudo fail2ban-client get sshd banned").stdout
    assert f"'{client.address}'" in banned_now
    assert f"'{controller}'" not in banned_now
    assert logs_in_with_sudo(host).returncode == 0


@pytest.mark.parametrize("distro", DISTROS)
async def test_setup_lockdown_setup_audit_through_the_library_keep_everyone_but_root(
    cloud_host_factory: CloudHost, tmp_path: Path, distro: str
) -> None:
    host = cloud_host_factory(distro=distro)
    async with Deployer.open(Settings(data_dir=tmp_path / "data")) as deployer:
        server = await deployer.servers.create(
            ServerCreate(
                name=host.name, host=host.address, port=host.port, root_username="admin",
                manual_key_path=str(host.key_path),
            )
        )  # fmt: skip
        await deployer.setup.setup(server.id)
        await deployer.security.lockdown(server.id)
        await deployer.setup.setup(server.id)
        report = await deployer.security.audit(server.id)

    assert report.finding("ssh.permit_root_login").status is FindingStatus.PASS
    assert report.finding("fail2ban.sshd_jail").status is FindingStatus.PASS
    assert_everyone_but_root_logs_in(host)
    assert "command=" not in host.ssh("sudo cat /home/pocketbase/.ssh/authorized_keys").stdout

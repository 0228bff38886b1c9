"""The test hosts themselves: real guests, real SSH, and nothing left behind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pbdeployer.testing.hosts import HostPool, TestHost, cleanup_stale

HostFactory = Callable[..., list[TestHost]]
pytestmark = pytest.mark.host

CGROUP_DIRS = ("/sys/fs/cgroup/systemd/testhost", "/sys/fs/cgroup/unified/testhost")
MACHINES = Path("/var/tmp/pbdeployer-testhosts")
RECORDS = Path("/run/pbdeployer-testhosts/records")


def _processes_mentioning(text: str) -> list[int]:
    """Pids whose command line mentions ``text`` (nspawn names its machine dir)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and proc.name != str(os.getpid()):
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmdline:
                found.append(int(proc.name))
    return found


def _leftovers(machine: str) -> list[str]:
    """Everything of ``machine`` still on the controller, as seen from outside."""
    problems = []
    if pids := _processes_mentioning(f"{MACHINES}/{machine}/"):
        problems.append(f"processes {pids}")
    mounts = Path("/proc/self/mountinfo").read_text()
    if f"{MACHINES}/{machine}/" in mounts:
        problems.append("overlay mount")
    netns = subprocess.run(["ip", "netns", "list"], check=False, capture_output=True, text=True)
    if machine in netns.stdout.split():
        problems.append("netns")
    if Path(f"/sys/class/net/{machine}-h").exists():
        problems.append("veth")
    problems += [f"cgroup {d}/{machine}" for d in CGROUP_DIRS if Path(d, machine).exists()]
    if Path(f"/run/systemd/nspawn/propagate/{machine}").exists():
        problems.append("propagate dir")
    if (RECORDS / f"{machine}.json").exists():
        problems.append("index record")
    if (MACHINES / machine).exists():
        problems.append("overlay dirs")
    return problems


def test_two_hosts_boot_in_parallel_each_its_own_machine(host_factory: HostFactory) -> None:
    started = time.monotonic()
    first, second = host_factory(2)
    assert time.monotonic() - started < 30
    for host in (first, second):
        assert host.ssh("id -u").stdout.strip() == "0"
        state = host.ssh("systemctl is-system-running", check=False).stdout.strip()
        assert state == "running", host.ssh("systemctl --failed", check=False).stdout
        served = host.ssh("cat /etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[:2]
        assert " ".join(served) == host.host_public_key
    machine_ids = {h.ssh("cat /etc/machine-id").stdout.strip() for h in (first, second)}
    assert len(machine_ids) == 2
    assert all(len(mid) == 32 for mid in machine_ids)
    assert first.host_public_key != second.host_public_key
    assert first.address != second.address


def test_a_host_key_pinned_for_another_host_is_refused(
    host_factory: HostFactory, tmp_path: Path
) -> None:
    first, second = host_factory(2)
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"{second.address} {first.host_public_key}\n")
    argv = second.ssh_argv("true")
    argv[argv.index(f"UserKnownHostsFile={second.known_hosts_path}")] = (
        f"UserKnownHostsFile={wrong}"
    )
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=30)
    assert done.returncode == 255
    assert "host key" in done.stderr.lower()


def test_hosts_fetch_packages_only_through_the_apt_proxy(shared_host: TestHost) -> None:
    config = shared_host.ssh("apt-config dump Acquire::http::Proxy").stdout
    assert "http://10.200.0.1:3142" in config
    updated = shared_host.ssh("apt-get update", check=False, timeout=180)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    direct = shared_host.ssh(
        "apt-get -o Acquire::http::Proxy=false -o Acquire::Retries=0 update", check=False
    )
    assert "resolv" in (direct.stdout + direct.stderr).lower()


def test_destroy_leaves_nothing_behind(host_pool: HostPool) -> None:
    host = host_pool.create()
    assert _processes_mentioning(f"{MACHINES}/{host.machine}/")
    started = time.monotonic()
    host_pool.destroy(host)
    assert time.monotonic() - started < 15
    assert _leftovers(host.machine) == []
    assert not _answers(host.address, 22)


def test_guest_reboot_brings_the_same_host_back(fresh_host: TestHost, host_pool: HostPool) -> None:
    init_started = fresh_host.ssh("cut -d' ' -f22 /proc/1/stat").stdout.strip()
    machine_id = fresh_host.ssh("cat /etc/machine-id").stdout
    fresh_host.ssh("touch /root/survives-reboot")

    back = host_pool.reboot(fresh_host)

    assert back.system_state == "running"
    assert int(fresh_host.ssh("cut -d' ' -f22 /proc/1/stat").stdout) > int(init_started)
    assert fresh_host.ssh("cat /etc/machine-id").stdout == machine_id
    assert fresh_host.ssh("test -e /root/survives-reboot", check=False).returncode == 0


def test_dead_addresses_refuse_or_stay_silent(host_pool: HostPool) -> None:
    refusing = host_pool.reserve_dead_address()
    silent = host_pool.reserve_dead_address(silent=True)
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((refusing.address, 22), timeout=5)
        with pytest.raises(TimeoutError):
            socket.create_connection((silent.address, 22), timeout=1)
    finally:
        host_pool.destroy_many([refusing, silent])
    assert _leftovers(refusing.machine) == []
    assert _leftovers(silent.machine) == []


def test_cleanup_removes_hosts_of_a_killed_process(host_pool: HostPool) -> None:
    script = textwrap.dedent(
        """
        import os, sys
        from pbdeployer.testing.hosts import HostPool
        host = HostPool().start().create()
        sys.stdout.write(host.machine + "\\n")
        sys.stdout.flush()
        os._exit(0)  # dies without closing its pool, as a killed test run would
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    machine = done.stdout.strip()
    assert _processes_mentioning(f"{MACHINES}/{machine}/"), "the orphan host should still run"

    removed = cleanup_stale()

    assert machine in removed
    assert _leftovers(machine) == []


def _answers(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False

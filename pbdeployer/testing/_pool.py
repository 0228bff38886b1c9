"""Create and remove test hosts: the lifecycle behind the fixtures and the CLI.

A host is an index record, a netns with an address on the bridge, an overlay over
the cached image and a supervised nspawn. Every step is undone by :func:`teardown`,
which is idempotent, so a failed boot, a finished test and a stale leftover of a
killed process all leave the machine the same way: clean.
"""

from __future__ import annotations

import concurrent.futures
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

from pbdeployer.testing import _machine, _network, _rootfs, _ssh, _state
from pbdeployer.testing._state import HostKind, Owner, Record
from pbdeployer.testing._system import (
    MACHINES_DIR,
    STATE_DIR,
    TestHostError,
    require_root,
    run,
    tool_path,
)

REQUIRED_COMMANDS = (
    "debootstrap", "systemd-nspawn", "apt-cacher-ng", "ip", "ssh", "ssh-keygen",
    "setsid", "nsenter", "mount", "umount", "tar",
)  # fmt: skip
HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
READY_STATES = ("running", "degraded")
BOOT_TIMEOUT = 90.0


class TestHost(msgspec.Struct, frozen=True, kw_only=True):
    """How to reach one booted guest over real SSH."""

    __test__ = False

    name: str
    address: str
    port: int = 22
    user: str = "root"
    key_path: str
    known_hosts_path: str
    host_public_key: str
    """The guest's ed25519 host key (``ssh-ed25519 AAAA...``), for known_hosts tests."""
    host_public_keys: tuple[str, ...] = ()
    machine: str
    index: int
    distro: str
    sshd: bool = True
    system_state: str = ""
    """What ``systemctl is-system-running --wait`` said when the host became ready."""
    ready_seconds: float = 0.0

    def ssh_argv(self, command: str | Sequence[str] = ()) -> list[str]:
        remote = [command] if isinstance(command, str) else list(command)
        return _ssh.ssh_argv(
            address=self.address, port=self.port, user=self.user, key_path=self.key_path,
            known_hosts=self.known_hosts_path, command=remote,
        )  # fmt: skip

    def ssh(
        self, command: str | Sequence[str], *, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``command`` on the guest (a string is a shell line, a list is quoted)."""
        line = command if isinstance(command, str) else shlex.join(command)
        return run(self.ssh_argv(line), check=check, timeout=timeout)


class DeadAddress(msgspec.Struct, frozen=True, kw_only=True):
    """An address on the bridge where nothing listens: refuses, or (silent) never answers."""

    name: str
    address: str
    machine: str
    index: int
    silent: bool


def check_dependencies() -> None:
    """Fail loudly, naming what is missing, instead of skipping host tests."""
    require_root()
    missing = [c for c in REQUIRED_COMMANDS if shutil.which(c, path=tool_path()) is None]
    if missing:
        raise TestHostError(
            f"missing commands for test hosts: {', '.join(missing)}; "
            "run: apt-get install -y $(cat scripts/testhost-deps.txt)"
        )


def prepare(distro: str) -> Path:
    """Everything hosts share: the image, the bridge and the apt proxy."""
    check_dependencies()
    lower = _rootfs.ensure_rootfs(distro)
    with _state.locked():
        _network.ensure_bridge()
        _network.ensure_apt_proxy()
    return lower


def allocate(name: str | None, kind: HostKind, owner: Owner, distro: str | None) -> Record:
    if name is not None and not HOSTNAME.match(name):
        raise TestHostError(f"host name {name!r} is not a valid lowercase hostname")
    with _state.locked():
        return _state.allocate(name, kind, owner, distro)


def boot(
    record: Record,
    *,
    lower: Path,
    key_path: Path,
    known_hosts: Path,
    sshd: bool = True,
) -> TestHost:
    """Bring up the guest of ``record`` and wait until it is ready; undo all on failure."""
    started = time.monotonic()
    try:
        host_keys = _prepare_guest(record, lower, _ssh.public_key(key_path), sshd)
        supervisor = _machine.start(
            record.machine, _machine.merged_dir(record.machine), record.name
        )
        _state.save(msgspec.structs.replace(record, supervisor=supervisor))
        _ssh.pin_host_keys(known_hosts, record.address, host_keys)
        host = TestHost(
            name=record.name,
            address=record.address,
            key_path=str(key_path),
            known_hosts_path=str(known_hosts),
            host_public_key=host_keys[0],
            host_public_keys=tuple(host_keys),
            machine=record.machine,
            index=record.index,
            distro=record.distro or "bookworm",
            sshd=sshd,
        )
        state = wait_ready(host)
    except BaseException:
        teardown(_state.find(record.name) or record)
        raise
    ready = round(time.monotonic() - started, 3)
    return msgspec.structs.replace(host, system_state=state, ready_seconds=ready)


def _prepare_guest(record: Record, lower: Path, authorized_key: str, sshd: bool) -> list[str]:
    """Network, filesystem and identity of a guest; returns its public host keys."""
    _network.create_netns(record.machine, record.address)
    root = _machine.mount_overlay(record.machine, lower)
    _machine.write_identity(
        root, hostname=record.name, address=record.address, authorized_key=authorized_key,
        sshd=sshd,
    )  # fmt: skip
    return _ssh.generate_host_keys(root, record.name)


def wait_ready(host: TestHost, timeout: float = BOOT_TIMEOUT) -> str:
    """Ready = port 22 answers, then systemd reports the boot finished."""
    if host.sshd:
        try:
            _ssh.wait_port(
                host.address, host.port, timeout, lambda: _machine.guest_running(host.machine)
            )
        except TestHostError as exc:
            raise TestHostError(f"{exc.message}: {_log_tail(host.machine)}") from exc
        done = host.ssh("systemctl is-system-running --wait", check=False, timeout=timeout)
        state = done.stdout.strip()
    else:
        state = _wait_running_inside(host.machine, timeout)
    if state not in READY_STATES:
        raise TestHostError(f"{host.name}: system state {state!r}: {_log_tail(host.machine)}")
    return state


def _wait_running_inside(machine: str, timeout: float) -> str:
    """Without sshd, ask systemd through the guest's namespaces (retrying while it starts)."""
    deadline = time.monotonic() + timeout
    while True:
        done = _machine.guest_exec(machine, ["systemctl", "is-system-running", "--wait"])
        state = done.stdout.strip()
        if state in READY_STATES or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def _log_tail(machine: str) -> str:
    try:
        return _machine.log_path(machine).read_text(errors="replace")[-1500:]
    except OSError:
        return "(no console log)"


def reboot(host: TestHost, timeout: float = BOOT_TIMEOUT) -> TestHost:
    """Reboot from inside the guest and wait until the supervisor has it back up."""
    before = _machine.nspawn_pid(host.machine)
    started = time.monotonic()
    if host.sshd:
        host.ssh("systemctl reboot", check=False, timeout=30)
    else:
        _machine.guest_exec(host.machine, ["systemctl", "reboot"])
    while _machine.nspawn_pid(host.machine) in (before, 0):
        if time.monotonic() - started > timeout or not _machine.guest_running(host.machine):
            raise TestHostError(f"{host.name} did not come back from reboot")
        time.sleep(0.05)
    state = wait_ready(host, timeout)
    return msgspec.structs.replace(
        host, system_state=state, ready_seconds=round(time.monotonic() - started, 3)
    )


def reserve_dead(record: Record, *, silent: bool) -> DeadAddress:
    """A netns holding the address with no guest: connections refused or dropped."""
    try:
        _network.create_netns(record.machine, record.address)
        _ssh.wait_refused(record.address, 22)
        if silent:
            _network.silence_netns(record.machine)
    except BaseException:
        teardown(record)
        raise
    return DeadAddress(
        name=record.name, address=record.address, machine=record.machine,
        index=record.index, silent=silent,
    )  # fmt: skip


def teardown(record: Record) -> None:
    """Remove every trace of ``record``'s host, then free its index."""
    _remove_leftovers(record)
    with _state.locked():
        _state.release(record.index)


def teardown_many(records: Sequence[Record]) -> None:
    """Halting takes ~1.5 s per guest: do it side by side."""
    if not records:
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(records))) as pool:
        for future in [pool.submit(_remove_leftovers, r) for r in records]:
            future.result()


def _remove_leftovers(record: Record) -> None:
    _machine.stop(record.machine)
    _network.delete_netns(record.machine, record.address)
    if record.key_dir:
        shutil.rmtree(record.key_dir, ignore_errors=True)


def cleanup_stale(*, everything: bool = False) -> list[str]:
    """Remove hosts whose owner died, and resources no record accounts for.

    With ``everything`` also live hosts of other processes go (``down --all``).
    """
    require_root()
    with _state.locked():
        records = _state.load_all()
        stale = [r for r in records if everything or not r.owner.alive()]
        live = {r.machine for r in records} - {r.machine for r in stale}
        orphans = sorted(_leftover_machines() - live - {r.machine for r in stale})
        orphan_records = [
            Record(index=int(m[2:]), name=m, kind=HostKind.HOST, owner=Owner(pid=0, start_time=0))
            for m in orphans
        ]
        teardown_many([*stale, *orphan_records])
        for record in stale:
            _state.release(record.index)
        _remove_dead_pool_keys(everything=everything)
    return [r.name for r in stale] + orphans


def _remove_dead_pool_keys(*, everything: bool) -> None:
    """Key dirs are named ``pool-<pid>-<start>-*`` after the process that made them."""
    for path in (STATE_DIR / "keys").glob("pool-*"):
        found = re.match(r"pool-(\d+)-(\d+)-", path.name)
        owner = found and Owner(pid=int(found[1]), start_time=int(found[2]))
        if everything or not owner or not owner.alive():
            shutil.rmtree(path, ignore_errors=True)


def _leftover_machines() -> set[str]:
    """``th<N>`` names that still own a netns, veth, cgroup, overlay dir or run file."""
    names = _network.leftover_netns()
    for parent in _machine.cgroup_parents():
        names |= {p.name for p in parent.glob("th*") if p.is_dir()}
    if MACHINES_DIR.exists():
        names |= {p.name for p in MACHINES_DIR.glob("th*")}
    names |= {p.name.split(".")[0] for p in (STATE_DIR / "run").glob("th*.*")}
    for base in _machine.PROPAGATE_DIRS:
        names |= {p.name for p in base.glob("th*")}
    return {n for n in names if re.fullmatch(r"th\d+", n)}

"""One guest's life: overlay, identity, nspawn under a supervisor, and full removal.

The guest boots systemd as PID 1 in ``systemd-nspawn`` inside its own netns. A tiny
detached shell supervises nspawn so a guest's ``systemctl reboot`` (nspawn exit 133)
brings the same guest back. Removal kills by cgroup, so nothing of a guest survives.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from pbdeployer.testing._network import NETNS_DIR, PROXY_URL
from pbdeployer.testing._state import Owner
from pbdeployer.testing._system import MACHINES_DIR, STATE_DIR, TestHostError, run, tool_env

CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_GROUP = "testhost"
PROPAGATE_DIRS = (Path("/run/systemd/nspawn/propagate"), Path("/run/systemd/nspawn/unix-export"))
IMAGE_LOCKS = Path("/run/systemd/nspawn/locks")

# $1: run-file prefix, $2: cgroup dirs to join, then the nspawn command line.
SUPERVISOR = r"""
run=$1 cgroups=$2
shift 2
for cg in $cgroups; do echo $$ > "$cg/cgroup.procs" || exit 97; done
echo $$ > "$run.sup.partial" && mv "$run.sup.partial" "$run.sup"
while :; do
  "$@" &
  echo $! > "$run.pid.partial" && mv "$run.pid.partial" "$run.pid"
  wait $!
  rc=$?
  echo "pbdeployer-testhost: nspawn exited $rc" >&2
  if [ "$rc" -ne 133 ] || [ -e "$run.stop" ]; then exit "$rc"; fi
done
"""


def machine_dir(machine: str) -> Path:
    return MACHINES_DIR / machine


def merged_dir(machine: str) -> Path:
    return machine_dir(machine) / "merged"


def run_prefix(machine: str) -> Path:
    return STATE_DIR / "run" / machine


def log_path(machine: str) -> Path:
    return STATE_DIR / "run" / f"{machine}.log"


def cgroup_parents() -> list[Path]:
    """The ``testhost`` groups: named systemd + unified on hybrid, the root on pure v2."""
    if (CGROUP_ROOT / "unified").is_dir() and (CGROUP_ROOT / "systemd").is_dir():
        return [CGROUP_ROOT / "systemd" / CGROUP_GROUP, CGROUP_ROOT / "unified" / CGROUP_GROUP]
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        return [CGROUP_ROOT / CGROUP_GROUP]
    raise TestHostError(f"unsupported cgroup layout under {CGROUP_ROOT}")


def cgroup_dirs(machine: str) -> list[Path]:
    return [parent / machine for parent in cgroup_parents()]


def mount_overlay(machine: str, lower: Path) -> Path:
    """A private writable view of the cached image; the image itself stays untouched."""
    base = machine_dir(machine)
    shutil.rmtree(base, ignore_errors=True)
    for sub in ("upper", "work", "merged"):
        (base / sub).mkdir(parents=True)
    options = f"lowerdir={lower},upperdir={base / 'upper'},workdir={base / 'work'}"
    run(["mount", "-t", "overlay", "overlay", "-o", options, merged_dir(machine)])
    return merged_dir(machine)


def write_identity(
    root: Path, *, hostname: str, address: str, authorized_key: str, sshd: bool
) -> None:
    """Everything that makes this guest a distinct machine on our network."""
    etc = root / "etc"
    (etc / "hostname").write_text(f"{hostname}\n")
    (etc / "hosts").write_text(
        f"127.0.0.1\tlocalhost\n{address}\t{hostname}\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
    )
    (etc / "machine-id").write_text(f"{uuid.uuid4().hex}\n")
    (etc / "resolv.conf").unlink(missing_ok=True)
    (etc / "resolv.conf").write_text("nameserver 127.0.0.1\n")
    (etc / "apt/apt.conf.d/01pbdeployer-proxy").write_text(f'Acquire::http::Proxy "{PROXY_URL}";\n')
    ssh_dir = root / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    keys = ssh_dir / "authorized_keys"
    keys.write_text(f"{authorized_key}\n")
    os.chmod(keys, 0o600)
    if not sshd:
        for unit in ("ssh.service", "ssh.socket"):
            (etc / "systemd/system" / unit).symlink_to("/dev/null")


def start(machine: str, root: Path, hostname: str) -> Owner:
    """Boot the guest under a detached supervisor; return the supervisor's identity."""
    prefix = run_prefix(machine)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    for suffix in (".sup", ".pid", ".stop"):
        prefix.with_name(machine + suffix).unlink(missing_ok=True)
    for group in cgroup_dirs(machine):
        group.mkdir(parents=True, exist_ok=True)
    nspawn = [
        "systemd-nspawn", "--quiet", "-D", str(root), "--boot", f"--machine={machine}",
        f"--hostname={hostname}", "--register=no", "--keep-unit", "--private-network",
        f"--network-namespace-path={NETNS_DIR / machine}", "--resolv-conf=off",
        "--timezone=off", "--link-journal=no", "--console=read-only",
    ]  # fmt: skip
    cgroups = " ".join(str(g) for g in cgroup_dirs(machine))
    env = tool_env(SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")
    with log_path(machine).open("ab") as log:
        subprocess.run(
            ["setsid", "-f", "sh", "-c", SUPERVISOR, "supervise", str(prefix), cgroups, *nspawn],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, check=True,
        )  # fmt: skip
    return _read_pid_owner(prefix.with_name(machine + ".sup"), machine)


def _read_pid_owner(path: Path, machine: str, timeout: float = 10) -> Owner:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return Owner.of(int(path.read_text()))
        except (OSError, ValueError):
            time.sleep(0.01)
    raise TestHostError(f"{machine}: supervisor did not start; see {log_path(machine)}")


def nspawn_pid(machine: str) -> int:
    try:
        return int(run_prefix(machine).with_name(machine + ".pid").read_text())
    except (OSError, ValueError):
        return 0


def guest_running(machine: str) -> bool:
    """True while some process of this guest (supervisor, nspawn, guest) is alive."""
    return bool(cgroup_pids(machine))


def cgroup_pids(machine: str) -> set[int]:
    pids: set[int] = set()
    for group in cgroup_dirs(machine):
        for dirpath, _dirs, _files in os.walk(group):
            pids |= _procs(Path(dirpath))
    return pids


def stop(machine: str, timeout: float = 20) -> None:
    """Halt the guest cleanly, then make sure nothing of it is left on the machine."""
    prefix = run_prefix(machine)
    if prefix.parent.exists():
        prefix.with_name(machine + ".stop").touch()  # the supervisor must not restart it
    deadline = time.monotonic() + timeout
    signalled = False
    while (pids := cgroup_pids(machine)) and time.monotonic() < deadline:
        pid = nspawn_pid(machine)
        if pid not in pids:
            break  # no nspawn to ask (gone, or never started): kill what is left
        if not signalled:
            _signal(pid, signal.SIGTERM)  # nspawn asks the guest's systemd to halt
            signalled = True
        time.sleep(0.05)
    kill_cgroups(machine)
    _remove_image_lock(machine)
    unmount(machine)
    remove_files(machine)


def _remove_image_lock(machine: str) -> None:
    """nspawn locks its directory by inode and leaves the file if it was killed."""
    merged = merged_dir(machine)
    if str(merged) in mounted_under(machine_dir(machine)):
        info = merged.stat()
        (IMAGE_LOCKS / f"inode-{info.st_dev}:{info.st_ino}").unlink(missing_ok=True)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def kill_cgroups(machine: str, timeout: float = 10) -> None:
    """SIGKILL whatever is left in the guest's cgroups, then remove them bottom-up."""
    deadline = time.monotonic() + timeout
    while pids := cgroup_pids(machine):
        if time.monotonic() > deadline:
            raise TestHostError(f"{machine}: processes {sorted(pids)} survived SIGKILL")
        for pid in pids:
            _signal(pid, signal.SIGKILL)
        time.sleep(0.02)
    for group in cgroup_dirs(machine):
        for dirpath, _dirs, _files in os.walk(group, topdown=False):
            _rmdir_cgroup(Path(dirpath), deadline)


def _rmdir_cgroup(path: Path, deadline: float) -> None:
    """rmdir, retrying while the kernel still finishes tearing down exited tasks."""
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            for pid in _procs(path):
                _signal(pid, signal.SIGKILL)
            time.sleep(0.02)


def _procs(path: Path) -> set[int]:
    try:
        return {int(p) for p in (path / "cgroup.procs").read_text().split()}
    except OSError:
        return set()


def mounted_under(base: Path) -> list[str]:
    """Mount points at or below ``base``, deepest first."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == str(base) or point.startswith(f"{base}/"):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def unmount(machine: str) -> None:
    for point in mounted_under(machine_dir(machine)):
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "--lazy", point])


def remove_files(machine: str) -> None:
    """Overlay dirs, run files, and nspawn's per-machine dirs under /run/systemd."""
    for base in PROPAGATE_DIRS:
        if (base / machine).exists():
            unmount_tree(base / machine)
            shutil.rmtree(base / machine, ignore_errors=True)
    shutil.rmtree(machine_dir(machine), ignore_errors=True)
    for suffix in (".sup", ".pid", ".stop", ".log"):
        run_prefix(machine).with_name(machine + suffix).unlink(missing_ok=True)


def unmount_tree(base: Path) -> None:
    for point in mounted_under(base):
        run(["umount", "--lazy", point], check=False)


def guest_exec(
    machine: str, argv: list[str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` inside the guest's namespaces, for guests without sshd."""
    deadline = time.monotonic() + timeout
    while (leader := _container_leader(machine)) == 0:
        if time.monotonic() > deadline or not guest_running(machine):
            raise TestHostError(f"{machine}: no guest init to enter")
        time.sleep(0.05)
    namespaces = ["-m", "-u", "-i", "-n", "-p", "-C", "-r", "-w"]
    return run(["nsenter", "-t", str(leader), *namespaces, *argv], check=False, timeout=timeout)


def _container_leader(machine: str) -> int:
    """The guest's PID 1 as seen from the controller: nspawn's child, once it is init."""
    pid = nspawn_pid(machine)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        leader = int(children[0]) if children else 0
        is_init = leader and Path(f"/proc/{leader}/comm").read_text().strip() == "systemd"
    except OSError:
        return 0
    return leader if is_init else 0

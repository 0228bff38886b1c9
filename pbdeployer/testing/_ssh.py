"""The controller side of SSH to test hosts: a throwaway key and strict host keys.

Each pool makes its own ed25519 key in a private directory, and pins every host's
freshly generated host keys in its own known_hosts, so tests talk to hosts with
host-key checking on, exactly as pbdeployer talks to real servers.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pbdeployer.testing._system import TestHostError, file_lock, run

KEY_NAME = "id_ed25519"
KNOWN_HOSTS = "known_hosts"


def make_key_dir(path: Path) -> Path:
    """Create ``path`` (0700) holding a new passwordless ed25519 key (0600)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    key = path / KEY_NAME
    if not key.exists():
        _keygen("ed25519", (), key, "pbdeployer-testhost")
    os.chmod(key, 0o600)
    (path / KNOWN_HOSTS).touch(mode=0o600)
    return key


def public_key(key: Path) -> str:
    return key.with_name(key.name + ".pub").read_text().strip()


HOST_KEY_TYPES = (("ed25519", ()), ("ecdsa", ("-b", "256")))
"""No RSA: a 3072-bit key costs 0.5-4 s of CPU per boot on two busy cores, OpenSSH
clients prefer these types anyway, and sshd only logs a missing default key at debug."""


def _keygen(kind: str, bits: Sequence[str], path: Path, comment: str) -> None:
    run(["ssh-keygen", "-q", "-t", kind, *bits, "-N", "", "-C", comment, "-f", path])


def generate_host_keys(root: Path, hostname: str) -> list[str]:
    """Give a guest its own host keys; return the public lines, ed25519 first."""
    ssh_dir = root / "etc/ssh"
    lines = []
    for kind, bits in HOST_KEY_TYPES:
        key = ssh_dir / f"ssh_host_{kind}_key"
        _keygen(kind, bits, key, f"root@{hostname}")
        lines.append(" ".join(Path(f"{key}.pub").read_text().split()[:2]))
    return lines


def pin_host_keys(known_hosts: Path, address: str, key_lines: Sequence[str]) -> None:
    """Replace any entries for ``address`` with the given keys."""
    with file_lock(known_hosts.with_suffix(".lock")):
        _replace_entries(known_hosts, address, key_lines)


def _replace_entries(known_hosts: Path, address: str, key_lines: Sequence[str]) -> None:
    kept = [
        line
        for line in (known_hosts.read_text().splitlines() if known_hosts.exists() else [])
        if line.split(" ", 1)[0] != address
    ]
    kept += [f"{address} {line}" for line in key_lines]
    partial = known_hosts.with_suffix(".partial")
    partial.write_text("".join(f"{line}\n" for line in kept))
    partial.rename(known_hosts)


def ssh_argv(
    *,
    address: str,
    port: int,
    user: str,
    key_path: str,
    known_hosts: str,
    command: Sequence[str] = (),
    connect_timeout: int = 10,
) -> list[str]:
    """An ``ssh`` command line with strict host-key checking against our own file."""
    return [
        "ssh",
        "-i", key_path,
        "-p", str(port),
        "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={known_hosts}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", f"ConnectTimeout={connect_timeout}",
        "-o", "LogLevel=ERROR",
        f"{user}@{address}",
        "--",
        *command,
    ]  # fmt: skip


def port_answers(address: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port(address: str, port: int, timeout: float, still_booting: Callable[[], bool]) -> None:
    """Poll until ``port`` accepts, failing fast when the guest has died."""
    deadline = time.monotonic() + timeout
    while not port_answers(address, port):
        if not still_booting():
            raise TestHostError(f"guest at {address} stopped before port {port} answered")
        if time.monotonic() > deadline:
            raise TestHostError(f"{address}:{port} did not answer within {timeout}s")
        time.sleep(0.05)


def wait_refused(address: str, port: int, timeout: float = 30) -> None:
    """Return once ``address`` is up on the bridge and refuses ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=1):
                raise TestHostError(f"{address}:{port} should be dead but accepted")
        except ConnectionRefusedError:
            return
        except OSError:
            time.sleep(0.05)
    raise TestHostError(f"{address} did not come up on the bridge within {timeout}s")

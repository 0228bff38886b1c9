"""Process, lock and path primitives shared by the test-host modules.

Test hosts are machine-wide resources (namespaces, links, cgroups), so every
process that touches them agrees on fixed runtime paths and on one lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from pbdeployer.errors import PbDeployerError

STATE_DIR = Path("/run/pbdeployer-testhosts")
"""Records, locks, pid files and logs of live hosts (cleared with the machine)."""

MACHINES_DIR = Path("/var/tmp/pbdeployer-testhosts")  # noqa: S108 - fixed, root-owned
"""Overlay upper/work/merged dirs; on disk because guests install packages."""


def tool_path() -> str:
    """PATH plus the sbin dirs, where debootstrap, ip and apt-cacher-ng live."""
    parts = os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
    extra = [d for d in ("/usr/local/sbin", "/usr/sbin", "/sbin") if d not in parts]
    return os.pathsep.join([*parts, *extra])


def tool_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PATH": tool_path(), **extra}


class TestHostError(PbDeployerError):
    """A test host could not be built, started, reached or removed."""

    __test__ = False
    code = "testhost_failed"


def cache_dir() -> Path:
    """Where rootfs images live: outside the repository, shared by every run."""
    configured = os.environ.get("PBDEPLOYER_CACHE_DIR")
    base = Path(configured) if configured else Path.home() / ".cache" / "pbdeployer"
    return base.expanduser().resolve()


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    check: bool = True,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a controller command, capturing output; raise with its stderr on failure."""
    try:
        done = subprocess.run(
            [os.fspath(a) for a in argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=env or tool_env(),
        )
    except FileNotFoundError as exc:
        raise TestHostError(
            f"command not found: {argv[0]} (see scripts/testhost-deps.txt)"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise TestHostError(f"timed out after {timeout}s: {' '.join(map(str, argv))}") from exc
    if check and done.returncode != 0:
        cmd = " ".join(os.fspath(a) for a in argv)
        detail = (done.stderr or done.stdout).strip()[-2000:]
        raise TestHostError(f"`{cmd}` exited {done.returncode}: {detail}")
    return done


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``path``; safe across processes and xdist workers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def process_start_time(pid: int) -> int | None:
    """Kernel start time of ``pid`` (clock ticks), or None if gone or a zombie.

    Paired with the pid it identifies a process even after pids wrap around.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in {"Z", "X"}:
        return None
    return int(fields[19])


def is_alive(pid: int, start_time: int | None = None) -> bool:
    """True while the process runs (and, if given, is the one that started then)."""
    if pid <= 0:
        return False
    now = process_start_time(pid)
    return now is not None and (start_time is None or now == start_time)


def write_private(path: Path, data: str, mode: int = 0o600) -> None:
    """Create ``path`` with ``mode`` from the first byte, so secrets never sit readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(data)
    os.chmod(path, mode)


def require_root() -> None:
    """Test hosts need namespaces, mounts and cgroups: refuse clearly otherwise."""
    if os.geteuid() != 0:
        raise TestHostError("test hosts need root (namespaces, overlay mounts, cgroups)")

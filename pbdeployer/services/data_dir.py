"""The data dir: readable by its owner only, and owned by one process at a time.

It holds the API token, the database (servers, their key paths and every run's output), the
zips and the runs' private dirs, so nothing in it is for other users: the dir is 0700 and
whatever an older version left more open is tightened at start.

Two processes on one data dir would each take the other's running ``ansible-playbook`` for an
orphan of a crash, kill it and mark its tasks interrupted. So the process that starts work on a
data dir (``pbdeployer serve``, or a library ``Deployer``) takes an exclusive ``flock`` on
``<data dir>/lock`` first and keeps it until it stops; the kernel drops it when the process
dies, so a crash never leaves a stale lock. The file holds the owner's pid, for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from pathlib import Path

from pbdeployer.errors import DataDirLocked

LOCK_FILE = "lock"
_OWNER_ONLY = 0o700


def make_private(root: Path) -> None:
    """Create ``root`` (0700) and take group and other access off everything already in it.

    Symlinks are left alone (a run's ``project/`` links to the installed playbooks).
    """
    root.mkdir(mode=_OWNER_ONLY, parents=True, exist_ok=True)
    _tighten(root)
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            _tighten(Path(top) / name)


def _tighten(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):  # a run may end and be pruned meanwhile
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            return
        wanted = _OWNER_ONLY if stat.S_ISDIR(mode) else stat.S_IMODE(mode) & _OWNER_ONLY
        if stat.S_IMODE(mode) != wanted:
            path.chmod(wanted)


class DataDirLock:
    """The exclusive lock on a data dir; ``acquire`` raises ``DataDirLocked`` naming the pid."""

    def __init__(self, root: Path) -> None:
        self.path: Path = root / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise _locked(self.path.parent, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.ftruncate(fd, 0)
        os.close(fd)  # closing the only descriptor drops the flock


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


def _locked(root: Path, pid: int | None) -> DataDirLocked:
    who = f"process {pid}" if pid is not None else "another process"
    return DataDirLocked(
        f"the data dir {root} is in use by {who} (a `pbdeployer serve` or a library Deployer); "
        "one process owns a data dir at a time: stop that one first, or read while it runs "
        "with Deployer.open(settings, read_only=True)",
        pid=pid,
    )

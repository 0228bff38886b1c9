"""Real test hosts: Debian guests booted with systemd in nspawn, reached over SSH.

Used by the pytest fixtures (a :class:`HostPool` per process) and by molecule's
create/destroy playbooks through the command line::

    python -m pbdeployer.testing.hosts up NAME [--distro bookworm] [--json]
    python -m pbdeployer.testing.hosts down NAME | down --all
    python -m pbdeployer.testing.hosts cleanup | list | rootfs [--distro trixie]

Hosts made by a pool belong to its process and are removed by :meth:`HostPool.close`
or, if the process died, by :func:`cleanup_stale`. Hosts made by ``up`` belong to
their own supervisor and live until ``down``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import msgspec

from pbdeployer.testing import _pool, _rootfs, _ssh, _state
from pbdeployer.testing._pool import (
    DeadAddress,
    TestHost,
    check_dependencies,
    cleanup_stale,
    reboot,
    wait_ready,
)
from pbdeployer.testing._state import HostKind, Owner, Record
from pbdeployer.testing._system import STATE_DIR, TestHostError, is_alive

__all__ = [
    "DeadAddress",
    "HostPool",
    "TestHost",
    "TestHostError",
    "check_dependencies",
    "cleanup_stale",
    "ensure_rootfs",
    "main",
    "reboot",
    "wait_ready",
]

ensure_rootfs: Callable[..., Path] = _rootfs.ensure_rootfs


class HostPool:
    """Hosts owned by this process, sharing one controller key; all removed on close."""

    def __init__(self, *, distro: str = "bookworm") -> None:
        self.distro = distro
        self._owner = Owner.current()
        self._lower: dict[str, Path] = {}
        self._records: dict[int, Record] = {}
        self._guard = threading.Lock()
        self._key_dir: Path | None = None

    def start(self) -> Self:
        """Clear leftovers of dead runs, then make sure image, bridge and proxy exist."""
        check_dependencies()
        cleanup_stale()
        self._lower_for(self.distro)
        keys = STATE_DIR / "keys"
        keys.mkdir(mode=0o700, parents=True, exist_ok=True)
        owner = f"pool-{self._owner.pid}-{self._owner.start_time}-"
        self._key_dir = Path(tempfile.mkdtemp(prefix=owner, dir=keys))
        _ssh.make_key_dir(self._key_dir)
        return self

    @property
    def key_path(self) -> Path:
        if self._key_dir is None:
            raise TestHostError("HostPool.start() was not called")
        return self._key_dir / _ssh.KEY_NAME

    @property
    def known_hosts_path(self) -> Path:
        return self.key_path.with_name(_ssh.KNOWN_HOSTS)

    def _lower_for(self, distro: str) -> Path:
        if distro not in self._lower:
            self._lower[distro] = _pool.prepare(distro)
        return self._lower[distro]

    def _track(self, record: Record | None, index: int) -> None:
        with self._guard:
            if record is None:
                self._records.pop(index, None)
            else:
                self._records[index] = record

    def create(
        self, name: str | None = None, *, distro: str | None = None, sshd: bool = True
    ) -> TestHost:
        """Boot one host and wait until it is ready (about a second)."""
        distro = distro or self.distro
        lower = self._lower_for(distro)
        record = _pool.allocate(name, HostKind.HOST, self._owner, distro)
        self._track(record, record.index)
        try:
            return _pool.boot(
                record, lower=lower, key_path=self.key_path,
                known_hosts=self.known_hosts_path, sshd=sshd,
            )  # fmt: skip
        finally:
            self._track(_state.find(record.name), record.index)

    def create_many(self, count: int, *, distro: str | None = None) -> list[TestHost]:
        """Boot ``count`` hosts side by side; on any failure none is left running."""
        self._lower_for(distro or self.distro)
        workers = max(1, min(count, 16))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as executor:
            futures = [executor.submit(self.create, distro=distro) for _ in range(count)]
            hosts, errors = _collect(futures)
        if errors:
            for host in hosts:
                self.destroy(host)
            raise errors[0]
        return hosts

    def reserve_dead_address(self, *, silent: bool = False) -> DeadAddress:
        """An address with nothing behind it: refused (default) or silently dropped."""
        record = _pool.allocate(None, HostKind.DEAD, self._owner, None)
        self._track(record, record.index)
        try:
            return _pool.reserve_dead(record, silent=silent)
        finally:
            self._track(_state.find(record.name), record.index)

    def reboot(self, host: TestHost) -> TestHost:
        return reboot(host)

    def destroy(self, host: TestHost | DeadAddress) -> None:
        """Remove one host (or dead address) completely and free its index."""
        with self._guard:
            record = self._records.pop(host.index, None)
        if record is not None:
            _pool.teardown(record)

    def destroy_many(self, hosts: Sequence[TestHost | DeadAddress]) -> None:
        """Remove several hosts side by side (a clean halt takes a fraction of a second)."""
        self._remove([host.index for host in hosts])

    def _remove(self, indexes: Sequence[int]) -> None:
        with self._guard:
            records = [r for i in indexes if (r := self._records.pop(i, None)) is not None]
        _pool.teardown_many(records)
        with _state.locked():
            for record in records:
                _state.release(record.index)

    def close(self) -> None:
        """Remove every host this pool made, side by side, and its key material."""
        with self._guard:
            indexes = list(self._records)
        self._remove(indexes)
        if self._key_dir is not None:
            shutil.rmtree(self._key_dir, ignore_errors=True)
            self._key_dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _collect(
    futures: Sequence[concurrent.futures.Future[TestHost]],
) -> tuple[list[TestHost], list[BaseException]]:
    hosts, errors = [], []
    for future in futures:
        error = future.exception()
        if error is None:
            hosts.append(future.result())
        else:
            errors.append(error)
    return hosts, errors


def up(name: str, *, distro: str = "bookworm", sshd: bool = True) -> TestHost:
    """Boot a named host that outlives this process (owned by its supervisor).

    Its key lives in the state dir and is removed by :func:`down`.
    """
    lower = _pool.prepare(distro)
    record = _pool.allocate(name, HostKind.HOST, Owner.current(), distro)
    key_dir = STATE_DIR / "keys" / record.machine
    record = msgspec.structs.replace(record, key_dir=str(key_dir))
    _state.save(record)
    try:
        key = _ssh.make_key_dir(key_dir)
    except BaseException:
        _pool.teardown(record)
        raise
    host = _pool.boot(record, lower=lower, key_path=key, known_hosts=key.with_name("known_hosts"),
                      sshd=sshd)  # fmt: skip
    booted = _state.find(name)
    if booted is None or booted.supervisor is None:
        raise TestHostError(f"{name}: record vanished while booting")
    _state.save(msgspec.structs.replace(booted, owner=booted.supervisor))
    return host


def down(name: str) -> bool:
    """Remove the named host; False if there was none."""
    record = _state.find(name)
    if record is None:
        return False
    _pool.teardown(record)
    return True


def _cmd_up(args: argparse.Namespace) -> int:
    host = up(args.name, distro=args.distro, sshd=not args.no_sshd)
    if args.json:
        sys.stdout.write(msgspec.json.encode(host).decode() + "\n")
    else:
        sys.stdout.write(
            f"{host.name} {host.address} ready ({host.system_state}) in {host.ready_seconds}s\n"
            f"ssh {' '.join(host.ssh_argv()[1:-1])}\n"
        )
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    if args.all:
        removed = cleanup_stale(everything=True)
        sys.stdout.write(f"removed: {' '.join(removed) or 'nothing'}\n")
        return 0
    if args.name is None:
        raise TestHostError("down needs NAME or --all")
    if not down(args.name):
        sys.stdout.write(f"{args.name}: no such host\n")
    return 0


def _cmd_cleanup(_args: argparse.Namespace) -> int:
    removed = cleanup_stale()
    sys.stdout.write(f"removed: {' '.join(removed) or 'nothing'}\n")
    return 0


def _cmd_list(_args: argparse.Namespace) -> int:
    for r in _state.load_all():
        owner = "alive" if r.owner.alive() else "dead"
        running = "running" if r.supervisor and is_alive(r.supervisor.pid) else "-"
        sys.stdout.write(f"{r.name}\t{r.machine}\t{r.address}\t{r.kind.value}\t"
                         f"owner {r.owner.pid} ({owner})\t{running}\n")  # fmt: skip
    return 0


def _cmd_rootfs(args: argparse.Namespace) -> int:
    check_dependencies()
    started = time.monotonic()
    path = ensure_rootfs(args.distro)
    sys.stdout.write(f"{path} ({time.monotonic() - started:.1f}s)\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pbdeployer.testing.hosts")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("up", help="boot a named host and print how to reach it")
    cmd.add_argument("name")
    cmd.add_argument("--distro", default="bookworm", choices=_rootfs.DISTROS)
    cmd.add_argument("--no-sshd", action="store_true", help="boot with sshd masked")
    cmd.add_argument("--json", action="store_true")
    cmd.set_defaults(handler=_cmd_up)
    cmd = sub.add_parser("down", help="remove a named host, or --all hosts")
    cmd.add_argument("name", nargs="?")
    cmd.add_argument("--all", action="store_true")
    cmd.set_defaults(handler=_cmd_down)
    sub.add_parser("cleanup", help="remove leftovers of dead owners").set_defaults(
        handler=_cmd_cleanup
    )
    sub.add_parser("list", help="show allocated hosts").set_defaults(handler=_cmd_list)
    cmd = sub.add_parser("rootfs", help="build or unpack the cached image only")
    cmd.add_argument("--distro", default="bookworm", choices=_rootfs.DISTROS)
    cmd.set_defaults(handler=_cmd_rootfs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except TestHostError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())

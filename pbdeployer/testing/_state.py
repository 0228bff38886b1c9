"""Which test-host indexes are taken, by whom: records in the machine-wide state dir.

An index decides a host's netns, veth, address and cgroup names, so two processes
(pytest-xdist workers, molecule, a human) must never get the same one. Allocation
happens under one file lock; each record names its owner process so leftovers of a
killed owner can be found and removed later.
"""

from __future__ import annotations

import contextlib
import enum
import ipaddress
import os
from collections.abc import Iterator
from pathlib import Path

import msgspec

from pbdeployer.testing._system import STATE_DIR, TestHostError, file_lock, process_start_time

NETWORK = ipaddress.IPv4Network("10.200.0.0/16")
GATEWAY = ipaddress.IPv4Address("10.200.0.1")
FIRST_HOST_OFFSET = 10
MAX_INDEX = 4000
"""Keeps ``th<N>-h`` within the 15-character interface name limit, with room to spare."""


class HostKind(enum.Enum):
    """A booted guest, or an address that nothing answers on."""

    HOST = "host"
    DEAD = "dead"


class Owner(msgspec.Struct, frozen=True, kw_only=True):
    """A process identified by pid and start time, immune to pid reuse."""

    pid: int
    start_time: int | None

    @classmethod
    def of(cls, pid: int) -> Owner:
        return cls(pid=pid, start_time=process_start_time(pid))

    @classmethod
    def current(cls) -> Owner:
        return cls.of(os.getpid())

    def alive(self) -> bool:
        now = process_start_time(self.pid)
        return now is not None and now == self.start_time


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """One allocated index and what to remove when it is freed."""

    index: int
    name: str
    kind: HostKind
    owner: Owner
    distro: str | None = None
    supervisor: Owner | None = None
    key_dir: str | None = None
    """Set when the host owns its controller key (CLI hosts); removed with the host."""

    @property
    def machine(self) -> str:
        return machine_name(self.index)

    @property
    def address(self) -> str:
        return address_for(self.index)


def machine_name(index: int) -> str:
    return f"th{index}"


def address_for(index: int) -> str:
    """10.200.0.(10+N), carrying into the third octet past 245."""
    if not 1 <= index <= MAX_INDEX:
        raise TestHostError(f"host index {index} out of range 1..{MAX_INDEX}")
    return str(NETWORK.network_address + FIRST_HOST_OFFSET + index)


def _records_dir() -> Path:
    return STATE_DIR / "records"


def _path(index: int) -> Path:
    return _records_dir() / f"{machine_name(index)}.json"


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """The one lock that serialises allocation, release and stale cleanup."""
    with file_lock(STATE_DIR / "lock"):
        yield


def load_all() -> list[Record]:
    """Every record; unreadable ones are skipped (a writer may have died mid-way)."""
    records = []
    for path in sorted(_records_dir().glob("th*.json")):
        with contextlib.suppress(OSError, msgspec.DecodeError, msgspec.ValidationError):
            records.append(msgspec.json.decode(path.read_bytes(), type=Record))
    return records


def find(name: str) -> Record | None:
    return next((r for r in load_all() if r.name == name), None)


def allocate(name: str | None, kind: HostKind, owner: Owner, distro: str | None = None) -> Record:
    """Take the lowest free index; the caller must hold :func:`locked`.

    Without a name the host is called after its machine (``th<N>``).
    """
    records = load_all()
    taken = {r.index for r in records}
    if name is not None and name in {r.name for r in records}:
        raise TestHostError(f"a test host named {name!r} already exists")
    index = next((i for i in range(1, MAX_INDEX + 1) if i not in taken), None)
    if index is None:
        raise TestHostError("no free test-host index")
    record = Record(
        index=index, name=name or machine_name(index), kind=kind, owner=owner, distro=distro
    )
    save(record)
    return record


def save(record: Record) -> None:
    """Write atomically so a reader never sees half a record."""
    path = _path(record.index)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    partial.write_bytes(msgspec.json.encode(record))
    partial.rename(path)


def release(index: int) -> None:
    _path(index).unlink(missing_ok=True)

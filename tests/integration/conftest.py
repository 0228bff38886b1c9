"""Fixtures that give tests real Debian hosts (systemd in nspawn, reached over SSH).

Each pytest process (each xdist worker) owns one :class:`HostPool`; host indexes are
allocated under a machine-wide lock, so workers never collide. Missing root or
controller packages fail the tests that need hosts, loudly: they are never skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pbdeployer.testing.hosts import DeadAddress, HostPool, TestHost, TestHostError

HostFactory = Callable[..., list[TestHost]]


@pytest.fixture(scope="session")
def host_pool() -> Iterator[HostPool]:
    """This process's pool: clears leftovers of killed runs, removes its hosts at the end."""
    pool = HostPool()
    try:
        pool.start()
    except TestHostError as exc:
        pool.close()
        pytest.fail(f"test hosts are unavailable: {exc.message}", pytrace=False)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def shared_host(host_pool: HostPool) -> TestHost:
    """One host for the whole session, for tests that only read from it."""
    return host_pool.create()


@pytest.fixture
def fresh_host(host_pool: HostPool) -> Iterator[TestHost]:
    """A host of this test alone, destroyed afterwards even if the test fails."""
    host = host_pool.create()
    yield host
    host_pool.destroy(host)


@pytest.fixture
def host_factory(host_pool: HostPool) -> Iterator[HostFactory]:
    """``host_factory(n, distro=None)`` boots ``n`` hosts side by side; all go afterwards."""
    made: list[TestHost] = []

    def create(count: int = 1, *, distro: str | None = None) -> list[TestHost]:
        hosts = host_pool.create_many(count, distro=distro)
        made.extend(hosts)
        return hosts

    yield create
    host_pool.destroy_many(made)


@pytest.fixture
def dead_address(host_pool: HostPool) -> Iterator[DeadAddress]:
    """An address on the test network where every connection is refused."""
    dead = host_pool.reserve_dead_address()
    yield dead
    host_pool.destroy(dead)


@pytest.fixture
def silent_address(host_pool: HostPool) -> Iterator[DeadAddress]:
    """An address on the test network that never answers a connection (timeouts)."""
    dead = host_pool.reserve_dead_address(silent=True)
    yield dead
    host_pool.destroy(dead)

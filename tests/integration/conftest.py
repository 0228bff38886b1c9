"""Fixtures that give tests real Debian hosts (systemd in nspawn, reached over SSH).

Each pytest process (each xdist worker) owns one :class:`HostPool`; host indexes are
allocated under a machine-wide lock, so workers never collide. Missing root or
controller packages fail the tests that need hosts, loudly: they are never skipped.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator

import msgspec
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


CLOUD_ADMIN = "admin"
CLOUD_ROOT_KEY_OPTIONS = (
    "no-port-forwarding,no-agent-forwarding,no-X11-forwarding,"
    'command="echo \'Please login as the user \\"admin\\" rather than the user \\"root\\".\';'
    'echo;sleep 10;exit 142"'
)
"""Root's key options as cloud-init writes them on Debian's cloud images (disable_root)."""


def prepare_like_cloud_image(host: TestHost) -> TestHost:
    """Make ``host`` look like a Debian cloud image; return it reached as ``admin``.

    ``admin`` gets the controller's key and passwordless sudo; root's key line gets the
    forced command that answers every root login with "Please login as the user..." and 142.
    """
    script = f"""set -eu
useradd --create-home --shell /bin/bash --groups sudo {CLOUD_ADMIN}
install -d -m 0700 -o {CLOUD_ADMIN} -g {CLOUD_ADMIN} /home/{CLOUD_ADMIN}/.ssh
install -m 0600 -o {CLOUD_ADMIN} -g {CLOUD_ADMIN} /root/.ssh/authorized_keys \\
  /home/{CLOUD_ADMIN}/.ssh/authorized_keys
echo '{CLOUD_ADMIN} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-cloud-init-users
chmod 0440 /etc/sudoers.d/90-cloud-init-users
line="$(cat /root/.ssh/authorized_keys)"
printf '%s %s\\n' {shlex.quote(CLOUD_ROOT_KEY_OPTIONS)} "$line" > /root/.ssh/authorized_keys
"""
    host.ssh(script)
    return msgspec.structs.replace(host, user=CLOUD_ADMIN)


@pytest.fixture
def cloud_host_factory(host_factory: HostFactory) -> Callable[..., TestHost]:
    """``cloud_host_factory(distro=None)``: a host prepared like a Debian cloud image."""

    def create(*, distro: str | None = None) -> TestHost:
        (host,) = host_factory(1, distro=distro)
        return prepare_like_cloud_image(host)

    return create


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

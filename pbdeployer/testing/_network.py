"""The private network of test hosts: one bridge, one apt proxy, a netns per host.

Everything lives on 10.200.0.0/16 behind ``thbr0``; IP forwarding is left as the
machine has it, and guests resolve nothing, so their traffic stays on the bridge.
Guests fetch packages through an apt-cacher-ng bound to the bridge address, run
with its own config (the stock one remaps to mirror names that do not resolve).
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from pbdeployer.testing._state import GATEWAY, NETWORK
from pbdeployer.testing._system import TestHostError, cache_dir, is_alive, run, tool_env

BRIDGE = "thbr0"
PROXY_PORT = 3142
PROXY_URL = f"http://{GATEWAY}:{PROXY_PORT}"
NETNS_DIR = Path("/run/netns")
SYS_NET = Path("/sys/class/net")


def veth_name(machine: str) -> str:
    return f"{machine}-h"


def ensure_bridge() -> None:
    """Create ``thbr0`` with the gateway address once; idempotent."""
    gateway = f"{GATEWAY}/{NETWORK.prefixlen}"
    if not (SYS_NET / BRIDGE).exists():
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    shown = run(["ip", "-4", "-o", "addr", "show", "dev", BRIDGE]).stdout
    if f" {gateway} " not in shown:
        run(["ip", "addr", "add", gateway, "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])


def _proxy_dir() -> Path:
    return cache_dir() / "apt-cacher-ng"


def _proxy_config(base: Path) -> str:
    return "\n".join(
        [
            f"CacheDir: {base / 'cache'}",
            f"LogDir: {base / 'log'}",
            "SupportDir: /usr/lib/apt-cacher-ng",
            f"Port: {PROXY_PORT}",
            f"BindAddress: {GATEWAY}",
            "ConnectProto: v4",
            f"PidFile: {base / 'apt-cacher-ng.pid'}",
            "ExThreshold: 4",
            "",
        ]
    )


def _proxy_pid(base: Path) -> int:
    try:
        return int((base / "apt-cacher-ng.pid").read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def _answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_apt_proxy() -> None:
    """Start our apt-cacher-ng as a background daemon unless it already runs."""
    base = _proxy_dir()
    if is_alive(_proxy_pid(base)) and _answers(str(GATEWAY), PROXY_PORT):
        return
    if _answers(str(GATEWAY), PROXY_PORT):
        raise TestHostError(
            f"{GATEWAY}:{PROXY_PORT} is taken by a process that is not our apt-cacher-ng"
        )
    for sub in ("conf", "cache", "log"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (base / "conf" / "acng.conf").write_text(_proxy_config(base))
    with (base / "log" / "daemon.out").open("ab") as out:
        # setsid -f: the daemon is nobody's child here, so no process of ours has to reap it.
        subprocess.run(
            ["setsid", "-f", "apt-cacher-ng", "-c", str(base / "conf"), "ForeGround=1"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=True, env=tool_env(),
        )  # fmt: skip
    deadline = time.monotonic() + 15
    while not _answers(str(GATEWAY), PROXY_PORT):
        if time.monotonic() > deadline:
            raise TestHostError(f"apt-cacher-ng did not listen; see {base / 'log'}")
        time.sleep(0.05)


def create_netns(machine: str, address: str) -> None:
    """A namespace whose ``eth0`` sits on the bridge with ``address`` and a gateway."""
    veth = veth_name(machine)
    cidr = f"{address}/{NETWORK.prefixlen}"
    run(["ip", "netns", "add", machine])
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", machine])
    run(["ip", "link", "set", veth, "master", BRIDGE, "up"])
    run(["ip", "-n", machine, "link", "set", "lo", "up"])
    run(["ip", "-n", machine, "addr", "add", cidr, "dev", "eth0"])
    # Indexes are reused: announce the new MAC (gratuitous ARP) and drop our stale entry,
    # or the first connections stall for seconds on the previous owner's MAC.
    run(["ip", "netns", "exec", machine, "sysctl", "-qw", "net.ipv4.conf.eth0.arp_notify=1"])
    forget_neighbour(address)
    run(["ip", "-n", machine, "link", "set", "eth0", "up"])
    run(["ip", "-n", machine, "route", "add", "default", "via", str(GATEWAY)])


def silence_netns(machine: str) -> None:
    """Drop every reply: ARP still answers (no resolver stalls) but TCP gets no RST."""
    run(["ip", "-n", machine, "route", "del", "default"])
    run(["ip", "-n", machine, "route", "del", str(NETWORK), "dev", "eth0"])
    run(["ip", "-n", machine, "route", "add", "blackhole", str(NETWORK)])


def forget_neighbour(address: str) -> None:
    run(["ip", "neigh", "flush", "to", address, "dev", BRIDGE], check=False)


def delete_netns(machine: str, address: str | None = None) -> None:
    """Remove the namespace and its veth if present; idempotent."""
    if (NETNS_DIR / machine).exists():
        run(["ip", "netns", "del", machine], check=False)
    veth = veth_name(machine)
    if (SYS_NET / veth).exists():
        run(["ip", "link", "del", veth], check=False)
    if address is not None:
        forget_neighbour(address)


def leftover_netns() -> set[str]:
    """Names of ``th<N>`` namespaces and veths present on the machine."""
    names = {p.name for p in NETNS_DIR.glob("th*")} if NETNS_DIR.exists() else set()
    names |= {p.name.removesuffix("-h") for p in SYS_NET.glob("th*-h")}
    return {n for n in names if n[2:].isdigit()}

"""Throughput and latency of the API's CRUD routes, beside a bare Litestar endpoint in the same run.

Seeds a temporary data dir with 1,000 servers and 5,000 apps through the library, starts
``pbdeployer serve`` on it as its own process, and drives it from a separate load process
(``bench/loadgen.py``: 32 keep-alive connections, one request in flight each) through:

- list servers (a page of 20), get a server, list apps (filtered by server), get an app;
- the same four reads while 4 long host tasks run: ``setup`` of 4 servers whose SSH address
  is a local listener that accepts and never answers, so each task holds a worker and an
  ``ansible-playbook`` run waiting on ssh's banner for the whole measurement;
- create a server and update (PATCH) a server;
- a bare Litestar JSON endpoint (``bench/bare_app.py``) under the same uvicorn settings,
  measured before and after the API, as the yardstick for the ratios.

Prints a table and writes ``bench/results/api.json``.

    .venv/bin/python bench/api.py [--seconds 5] [--warmup 1] [--connections 32] [--procs 1]

``--procs`` splits the connections over several load processes, for when one client process
is the bottleneck (each result says how much CPU the clients and the server used).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from pbdeployer.deployer import Deployer
from pbdeployer.models import AppCreate, ServerCreate
from pbdeployer.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results" / "api.json"
PYTHON = ROOT / ".venv" / "bin" / "python"
TOKEN = "bench-token-5kq2Wn8Zr1Xv-Tb4Mc7Qe2Gh"  # noqa: S105 - a throwaway server's token
API = "/api/v1"
SERVERS = 1_000
APPS_PER_SERVER = 5
HOST_TASKS = 4
READS = ("list_servers", "get_server", "list_apps", "get_app")
WRITES = ("create_server", "update_server")
HOST_TASKS_NOTE = (
    f"{HOST_TASKS} setup tasks against 127.0.0.1:<port>, a local listener that accepts and never "
    "answers: each holds a task worker and an ansible-playbook run whose ssh waits for the "
    "banner (ConnectTimeout 600 s) throughout"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _seed(data_dir: Path) -> tuple[list[str], list[str]]:
    servers: list[str] = []
    apps: list[str] = []
    async with Deployer.open(Settings(data_dir=data_dir)) as deployer:
        for n in range(SERVERS):
            host = f"10.{n // 250}.{n % 250}.10"
            server = await deployer.servers.create(ServerCreate(name=f"server-{n}", host=host))
            servers.append(server.id)
            for m in range(APPS_PER_SERVER):
                app = AppCreate(name=f"app-{n}-{m}", server_id=server.id)
                apps.append((await deployer.apps.create(app)).id)
    return servers, apps


def seed(data_dir: Path) -> tuple[list[str], list[str], float]:
    """Servers and apps created through the library (validation and all), before serving."""
    started = time.perf_counter()
    servers, apps = asyncio.run(_seed(data_dir))
    return servers, apps, time.perf_counter() - started


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, env=os.environ | env, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(port: int, path: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code < 600:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{process.args} did not answer within 60 s")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Load:
    """Runs load processes against one server and sums up what they measured."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.connections = args.connections
        self.procs = args.procs
        self.warmup = args.warmup
        self.seconds = args.seconds

    def run(self, port: int, server_pid: int, spec: dict[str, Any]) -> dict[str, Any]:
        shares = [self.connections // self.procs] * self.procs
        shares[0] += self.connections - sum(shares)
        base = {"port": port, "warmup": self.warmup, "seconds": self.seconds, "token": TOKEN}
        clients = []
        for n, connections in enumerate(shares):
            mine = base | spec | {"connections": connections, "tag": f"{spec.get('tag', 'c')}{n}"}
            clients.append(
                subprocess.Popen(
                    [str(PYTHON), str(BENCH / "loadgen.py")],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            )
            assert clients[-1].stdin is not None
            clients[-1].stdin.write(json.dumps(mine).encode())
            clients[-1].stdin.close()
        time.sleep(self.warmup)
        cpu_start, wall_start = cpu_seconds(server_pid), time.perf_counter()
        time.sleep(self.seconds)
        server_cpu = (cpu_seconds(server_pid) - cpu_start) / (time.perf_counter() - wall_start)
        results = []
        for client in clients:
            assert client.stdout is not None
            results.append(json.loads(client.stdout.read()))
            if client.wait() != 0:
                raise RuntimeError("a load process failed")
        return summary(results, self.seconds, server_cpu)


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(results: list[dict[str, Any]], seconds: float, server_cpu: float) -> dict[str, Any]:
    latencies = sorted(x for r in results for x in r["latencies_ms"])
    statuses: dict[str, int] = {}
    for result in results:
        for status, count in result["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    failures = [f for r in results for f in r["failures"]]
    if not latencies or failures or any(not s.startswith("2") for s in statuses):
        raise RuntimeError(f"failed requests: {statuses} {failures[:3]}")
    return {
        "requests_per_s": round(len(latencies) / seconds),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p90_ms": round(percentile(latencies, 0.90), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(latencies[-1], 2),
        "requests": len(latencies),
        "statuses": statuses,
        "server_cpu_share": round(server_cpu, 2),
        "server_cpu_us_per_request": round(server_cpu * seconds / len(latencies) * 1e6),
        "client_cpu_share": round(sum(r["client_cpu_share"] for r in results), 2),
    }


def specs(servers: list[str], apps: list[str]) -> dict[str, dict[str, Any]]:
    """What each scenario sends; ids are spread over the whole table."""
    pages = SERVERS // 20
    every = max(1, len(apps) // 1000)
    return {
        "list_servers": {"paths": [f"{API}/servers?page={p}&per_page=20" for p in range(1, pages)]},
        "get_server": {"paths": [f"{API}/servers/{i}" for i in servers]},
        "list_apps": {"paths": [f"{API}/apps?server_id={i}&per_page=20" for i in servers]},
        "get_app": {"paths": [f"{API}/apps/{i}" for i in apps[::every]]},
        "create_server": {"method": "POST", "paths": [f"{API}/servers"], "body": "unique-server"},
        "update_server": {
            "method": "PATCH",
            "paths": [f"{API}/servers/{i}" for i in servers],
            "body": "port",
        },
    }


class Tarpit:
    """A TCP listener that accepts connections and never says a word (an SSH that hangs)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.held.append(self.listener.accept()[0])

    def close(self) -> None:
        self.listener.close()
        for conn in self.held:
            conn.close()


@contextlib.contextmanager
def host_tasks(client: httpx.Client) -> Iterator[list[str]]:
    """``HOST_TASKS`` running setup tasks, each stuck on its ssh connection; cancelled after."""
    tarpit = Tarpit()
    task_ids = []
    try:
        for n in range(HOST_TASKS):
            body = {"name": f"stuck-{n}", "host": "127.0.0.1", "port": tarpit.port}
            server = ok(client.post("/servers", json=body))
            task_ids.append(ok(client.post(f"/servers/{server['id']}/setup"))["id"])
        deadline = time.monotonic() + 60
        while len(tarpit.held) < HOST_TASKS or not all_running(client, task_ids):
            if time.monotonic() > deadline:
                raise RuntimeError("the host tasks never reached their hosts")
            time.sleep(0.2)
        yield task_ids
        if not all_running(client, task_ids):
            raise RuntimeError("a host task ended during the measurement")
    finally:
        for task_id in task_ids:
            client.post(f"/tasks/{task_id}/cancel")
        tarpit.close()


def all_running(client: httpx.Client, task_ids: list[str]) -> bool:
    return all(ok(client.get(f"/tasks/{i}"))["status"] == "running" for i in task_ids)


def ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.url}: {response.text}")
    return response.json()


class Session:
    """Figures for our routes, each between two figures of the bare endpoint.

    The machine is shared, so its speed drifts over a run: each route's ratio is to the mean of
    the bare figures taken just before and just after it.
    """

    def __init__(self, load: Load, api: tuple[int, int], bare: tuple[int, int]) -> None:
        self.load = load
        self.api = api
        self.bare_at = bare
        self.bares: list[dict[str, Any]] = []

    def bare(self) -> dict[str, Any]:
        print("measuring: bare endpoint ...")
        figures = self.load.run(*self.bare_at, {"paths": [f"{API}/bare"]})
        self.bares.append(figures)
        return figures

    def route(self, label: str, spec: dict[str, Any]) -> dict[str, Any]:
        before = self.bares[-1] if self.bares else self.bare()
        print(f"measuring: {label} ...")
        figures = self.load.run(*self.api, spec)
        around = statistics.mean(b["requests_per_s"] for b in (before, self.bare()))
        return figures | {
            "bare_requests_per_s": round(around),
            "ratio_to_bare": round(figures["requests_per_s"] / around, 2),
        }


def measure(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    print(f"seeding {SERVERS} servers and {SERVERS * APPS_PER_SERVER} apps ...")
    servers, apps, seed_seconds = seed(workdir / "data")
    scenarios = specs(servers, apps)
    api_port, bare_port = free_port(), free_port()
    env = {"PBDEPLOYER_API_TOKEN": TOKEN, "PBDEPLOYER_SSH_CONNECT_TIMEOUT_SECONDS": "600"}
    command = [str(ROOT / ".venv" / "bin" / "pbdeployer"), "serve", "--port", str(api_port)]
    api = start([*command, "--data-dir", str(workdir / "data")], workdir / "api.log", env)
    bare_command = [str(PYTHON), str(BENCH / "bare_app.py"), str(bare_port)]
    bare = start(bare_command, workdir / "bare.log", {})
    routes: dict[str, Any] = {}
    with_tasks: dict[str, Any] = {}
    try:
        wait_ready(api_port, f"{API}/health", api)
        wait_ready(bare_port, f"{API}/bare", bare)
        session = Session(Load(args), (api_port, api.pid), (bare_port, bare.pid))
        for name in READS:
            routes[name] = session.route(LABELS[name], scenarios[name])
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}{API}", headers=headers) as client:
            print(f"starting {HOST_TASKS} host tasks ...")
            with host_tasks(client):
                for name in READS:
                    label = f"{LABELS[name]} while host tasks run"
                    figures = session.route(label, scenarios[name])
                    drop = figures["requests_per_s"] / routes[name]["requests_per_s"]
                    with_tasks[name] = figures | {"ratio_to_without_tasks": round(drop, 2)}
        for name in WRITES:
            routes[name] = session.route(LABELS[name], scenarios[name] | {"tag": "load"})
    finally:
        for process in (api, bare):
            process.terminate()
            process.wait(timeout=60)
    return {
        "servers": SERVERS,
        "apps": SERVERS * APPS_PER_SERVER,
        "seed_seconds": round(seed_seconds, 1),
        "connections": args.connections,
        "load_processes": args.procs,
        "warmup_seconds": args.warmup,
        "seconds": args.seconds,
        "host_tasks": HOST_TASKS_NOTE,
        "routes": routes,
        "with_tasks": with_tasks,
        "bare": session.bares,
    }


LABELS = {
    "list_servers": "list servers (page of 20)",
    "get_server": "get server",
    "list_apps": "list apps (by server)",
    "get_app": "get app",
    "create_server": "create server",
    "update_server": "update server (PATCH)",
}


def report(data: dict[str, Any]) -> None:
    bare = [b["requests_per_s"] for b in data["bare"]]
    print(
        f"\n{data['servers']} servers, {data['apps']} apps; {data['connections']} connections, "
        f"{data['load_processes']} load process(es), {data['seconds']:g} s per figure; bare "
        f"endpoint {min(bare)}-{max(bare)} req/s over the run"
    )
    head = f"  {'':<34}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'vs bare':>9}"
    head += f"{'CPU/req':>9}{'server':>8}{'client':>8}"
    print(head + "\n  " + "-" * (len(head) - 2))
    print(row("bare Litestar endpoint (median)", median_bare(data["bare"]), ""))
    for name, figures in data["routes"].items():
        print(row(LABELS[name], figures, f"{figures['ratio_to_bare']:.2f}"))
    print(f"\n  while {data['host_tasks']}:")
    for name, figures in data["with_tasks"].items():
        ratio = f"{figures['ratio_to_without_tasks']:.2f}x"
        print(row(LABELS[name], figures, f"{figures['ratio_to_bare']:.2f}") + f"  {ratio}")
    print(
        "\n  vs bare: throughput over the bare endpoint's, measured just before and after;"
        "\n  Nx: over the same route without tasks. CPU/req: the server's CPU time per request;"
        "\n  server/client: CPU cores used by the server and by the load process(es)."
    )


def median_bare(bares: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(bares, key=lambda b: b["requests_per_s"])
    return ordered[len(ordered) // 2]


def row(label: str, figures: dict[str, Any], ratio: str) -> str:
    return (
        f"  {label:<34}{figures['requests_per_s']:>7}{figures['p50_ms']:>8.1f}"
        f"{figures['p99_ms']:>8.1f}{ratio:>9}{figures['server_cpu_us_per_request']:>7} us"
        f"{figures['server_cpu_share']:>8.2f}{figures['client_cpu_share']:>8.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5, help="measured seconds per figure")
    parser.add_argument("--warmup", type=float, default=1, help="unmeasured seconds before")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--procs", type=int, default=1, help="load processes sharing them")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pbdeployer-bench-"))
    try:
        data = measure(workdir, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    data |= {
        "command": "bench/api.py " + " ".join(sys.argv[1:]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    report(data)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""From a runner event to a WebSocket client: latency with 1 and 100 clients, and lossless rate.

Starts the API as its own process (``bench/event_server.py``: ``pbdeployer serve`` with the
audit task's body replaced by one that produces runner events and hands them to the task
context, where the runner hands its own), then, for each figure, subscribes WebSocket clients
(``bench/ws_clients.py``, in processes of their own) to a server's topic, starts an audit of
that server through the API, and times every event from its ``created`` (set when produced)
to its arrival at each client. Events go through everything real: the task context, the event
log (stored in batches, then published), the publisher and each socket's bounded outbox.

- latency: ``--rate`` events per second for ``--seconds``, with 1 client and with 100;
- sustained rate: bursts of ``SWEEP_SECONDS`` at rising rates to 1 and to 100 clients. A burst
  is lossless when every client received every event (count sent = count received; a client
  too slow for its outbox is closed with 4008, which the table shows); it is kept up with when,
  besides, no event arrived more than ``KEPT_UP_MS`` after it was produced (past that a backlog
  is growing). The sweep stops at the first burst that is not kept up with.

Prints tables and writes ``bench/results/events.json``.

    .venv/bin/python bench/events.py [--rate 100] [--seconds 5] [--flush-interval SECONDS]

``--flush-interval`` overrides the event log's batching interval (a what-if; the default is
the product's own).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results" / "events.json"
PYTHON = ROOT / ".venv" / "bin" / "python"
TOKEN = "bench-token-7Hq4Lp2Zs9Wd-Ry6Nf1Uj8Ka"  # noqa: S105 - a throwaway server's token
API = "/api/v1"
CLIENTS_PER_PROCESS = 50
SWEEP_SECONDS = 2.0
KEPT_UP_MS = 500.0
SWEEP_1 = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000)
SWEEP_100 = (10, 20, 50, 100, 200, 500, 1_000)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_ready(client: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the event server exited with {server.returncode}")
        try:
            client.get("/health")
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the event server did not answer within 60 s")


class Burst:
    """One figure: clients subscribed to a server's topic, then ``count`` events at ``rate``."""

    def __init__(self, api: httpx.Client, server: tuple[int, int], number: int) -> None:
        self.api = api
        self.port, self.pid = server
        self.number = number

    def run(self, clients: int, count: int, rate: int) -> dict[str, Any]:
        name = f"events-{count}-at-{rate}-n{self.number}"
        server = ok(self.api.post("/servers", json={"name": name, "host": "203.0.113.10"}))
        topic = f"server:{server['id']}"
        timeout = count / rate + 30
        processes = [
            self._clients(min(CLIENTS_PER_PROCESS, clients - n), topic, timeout)
            for n in range(0, clients, CLIENTS_PER_PROCESS)
        ]
        for process in processes:  # every client subscribed before the first event
            assert process.stdout is not None
            if process.stdout.readline().strip() != b"subscribed":
                raise RuntimeError("a client process failed to subscribe")
        started, cpu = time.perf_counter(), cpu_seconds(self.pid)
        task = ok(self.api.post(f"/servers/{server['id']}/security/audit"))
        results = [finish(process) for process in processes]
        elapsed = time.perf_counter() - started
        server_cpu = (cpu_seconds(self.pid) - cpu) / elapsed
        return figures(results, clients, count, rate, elapsed) | {
            "server_cpu_share": round(server_cpu, 2),
            "task_id": task["id"],
        }

    def _clients(self, clients: int, topic: str, timeout: float) -> subprocess.Popen[bytes]:
        spec = {"port": self.port, "token": TOKEN, "clients": clients, "topic": topic}
        process = subprocess.Popen(
            [str(PYTHON), str(BENCH / "ws_clients.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert process.stdin is not None
        process.stdin.write(json.dumps(spec | {"timeout": timeout}).encode())
        process.stdin.close()
        return process


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def finish(process: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert process.stdout is not None
    result: dict[str, Any] = json.loads(process.stdout.read())
    if process.wait() != 0:
        raise RuntimeError("a client process failed")
    return result


def figures(
    results: list[dict[str, Any]], clients: int, count: int, rate: int, elapsed: float
) -> dict[str, Any]:
    received = [n for r in results for n in r["log_lines"]]
    ended = [e for r in results for e in r["ended"]]
    latencies = sorted(x for r in results for x in r["latencies_ms"])
    lossless = all(n == count for n in received) and len(received) == clients
    return {
        "clients": clients,
        "events": count,
        "rate_per_s": rate,
        "lossless": lossless,
        "kept_up": lossless and bool(latencies) and latencies[-1] <= KEPT_UP_MS,
        "received_min": min(received),
        "delivered_per_s": round(sum(received) / elapsed),
        "endings": {e: ended.count(e) for e in sorted(set(ended))},
        "p50_ms": round(pick(latencies, 0.50), 1),
        "p99_ms": round(pick(latencies, 0.99), 1),
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "client_cpu_share": round(sum(r["cpu_share"] for r in results), 2),
    }


def pick(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.url}: {response.text}")
    return response.json()


def sweep(burst: Burst, clients: int, rates: tuple[int, ...]) -> list[dict[str, Any]]:
    found = []
    for rate in rates:
        print(f"sweep: {clients} client(s) at {rate} events/s ...")
        found.append(burst.run(clients, int(rate * SWEEP_SECONDS), rate))
        if not found[-1]["kept_up"]:
            break
    return found


def measure(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    log = (workdir / "server.log").open("wb")
    command = [str(PYTHON), str(BENCH / "event_server.py"), str(port), str(workdir / "data")]
    command += [TOKEN, *([str(args.flush_interval)] if args.flush_interval is not None else [])]
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    count = int(args.rate * args.seconds)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}{API}", headers=headers) as api:
            wait_ready(api, server)
            runs: dict[str, Any] = {}
            for number, clients in enumerate((1, 100), start=1):
                print(f"latency: {clients} client(s), {count} events at {args.rate}/s ...")
                burst = Burst(api, (port, server.pid), number)
                runs[f"latency_{clients}"] = burst.run(clients, count, args.rate)
            runs["sweep_1"] = sweep(Burst(api, (port, server.pid), 3), 1, SWEEP_1)
            runs["sweep_100"] = sweep(Burst(api, (port, server.pid), 4), 100, SWEEP_100)
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    return runs


def best(runs: list[dict[str, Any]]) -> int | None:
    rates = [run["rate_per_s"] for run in runs if run["kept_up"]]
    return max(rates) if rates else None


def report(data: dict[str, Any]) -> None:
    head = f"{'':<24}{'events':>7}{'rate/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>9}"
    print(f"\n{head}{'server':>8}{'client':>8}  lossless, kept up")
    rows = [
        ("latency, 1 client", data["latency_1"]),
        ("latency, 100 clients", data["latency_100"]),
    ]
    rows += [("burst, 1 client", run) for run in data["sweep_1"]]
    rows += [("burst, 100 clients", run) for run in data["sweep_100"]]
    for label, run in rows:
        lossless = "yes" if run["lossless"] else f"no (min {run['received_min']}, {run['endings']})"
        print(
            f"  {label:<22}{run['events']:>7}{run['rate_per_s']:>8}{run['p50_ms']:>8.1f}"
            f"{run['p99_ms']:>8.1f}{run['max_ms'] or 0:>9.1f}{run['server_cpu_share']:>8.2f}"
            f"{run['client_cpu_share']:>8.2f}  {lossless}, {'yes' if run['kept_up'] else 'no'}"
        )
    print(
        f"\n  sustained (lossless, every event within {KEPT_UP_MS:g} ms): "
        f"{data['sustained_rate_1']} events/s to 1 client, {data['sustained_rate_100']} events/s "
        "to each of 100 clients\n  server/client: CPU cores used by the server and the clients"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=100, help="events per second for latency")
    parser.add_argument("--seconds", type=float, default=5, help="seconds of events for latency")
    parser.add_argument("--flush-interval", type=float, help="override the event log's (what-if)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pbdeployer-bench-"))
    try:
        data = measure(workdir, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    data |= {
        "sustained_rate_1": best(data["sweep_1"]),
        "sustained_rate_100": best(data["sweep_100"]),
        "flush_interval_override": args.flush_interval,
        "command": "bench/events.py " + " ".join(sys.argv[1:]),
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

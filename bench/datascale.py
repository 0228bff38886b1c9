"""How the read routes hold up as history piles up: S, M and L data dirs, every list and stats.

Builds a data dir through the project's own tables (the migrated schema, ULIDs from each row's
creation time, every foreign key satisfied), starts ``pbdeployer serve`` on it as its own
process and times, with one keep-alive client, ``--requests`` requests per route:

- every list route with every documented filter: first page, newest page, a deep page by
  number and the page after a cursor; gets by id;
- ``/deployments/stats``: the default 30 days, a window 60-90 days back, a whole year;
- REST paging through the task with the most events (100 events a page), and its
  WebSocket-free replay bound by the same store;
- ``/health`` and ``/deployments`` while 1 and 4 clients poll the year of statistics;
- the server's peak RSS at the end (``VmHWM``).

Sizes (servers, apps, deployments over one year, events per task, one long task):
XS 5/15/150/5/1k (the test command's smoke run), S 100/300/3k/10/10k,
M 1,000/3,000/30k/10/10k, L 5,000/15,000/300k/10/100k.

Writes ``bench/results/datascale-<size>.json`` and prints a Markdown table.

    .venv/bin/python bench/datascale.py --size S [--requests 20] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import httpx
import msgspec
from sqlalchemy import create_engine, insert

from pbdeployer.models.ids import new_id
from pbdeployer.models.task_events import TaskLogLine
from pbdeployer.settings import DATABASE_FILE, Settings
from pbdeployer.store import Database, tables
from pbdeployer.store.task_tables import task_events, tasks

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PBDEPLOYER = ROOT / ".venv" / "bin" / "pbdeployer"
TOKEN = "bench-token-5kq2Wn8Zr1Xv-Tb4Mc7Qe2Gh"  # noqa: S105 - a throwaway server's token
API = "/api/v1"
YEAR = timedelta(days=365)
SIZES = {  # servers, apps per server, deployments per app, events per task, long task events
    "XS": (5, 3, 10, 5, 1_000),
    "S": (100, 3, 10, 10, 10_000),
    "M": (1_000, 3, 10, 10, 10_000),
    "L": (5_000, 3, 20, 10, 100_000),
}
STATUSES = ("succeeded",) * 8 + ("failed", "rolled_back")
CHUNK = 5_000


def _stamp(moment: datetime) -> tuple[datetime, str]:
    return moment, new_id(now_ms=int(moment.timestamp() * 1000))


class Builder:
    """Rows through the project's tables, in creation-time order within each table."""

    def __init__(self, path: Path, size: str, now: datetime) -> None:
        self.engine = create_engine(f"sqlite:///{path}")
        self.servers, self.per_server, self.per_app, self.events, self.long = SIZES[size]
        self.now = now
        self.rng = Random(25)
        self.long_task = ""

    def build(self) -> dict[str, int]:
        with self.engine.begin() as conn:
            servers, apps, versions = self._fleet()
            conn.execute(insert(tables.servers), servers)
            conn.execute(insert(tables.apps), apps)
            conn.execute(insert(tables.versions), versions)
            counts = {"servers": len(servers), "apps": len(apps), "deployments": 0, "events": 0}
            for batch in self._history(apps, versions):
                conn.execute(insert(tables.deployments), batch["deployments"])
                conn.execute(insert(tasks), batch["tasks"])
                for start in range(0, len(batch["events"]), CHUNK):
                    conn.execute(insert(task_events), batch["events"][start : start + CHUNK])
                counts["deployments"] += len(batch["deployments"])
                counts["events"] += len(batch["events"])
        self.engine.dispose()
        return counts

    def _fleet(self) -> tuple[list[dict[str, Any]], ...]:
        born = self.now - YEAR - timedelta(days=1)
        servers, apps, versions = [], [], []
        for n in range(self.servers):
            created, sid = _stamp(born + timedelta(seconds=n))
            servers.append({
                "id": sid, "created": created, "updated": created, "name": f"web{n}",
                "host": f"10.0.{n // 250}.{n % 250 + 1}", "port": 22, "root_username": "root",
                "app_username": "pocketbase", "use_ssh_agent": False, "manual_key_path": None,
                "setup_complete": True, "security_locked": False,
            })  # fmt: skip
            for m in range(self.per_server):
                created, aid = _stamp(born + timedelta(seconds=n, milliseconds=m + 1))
                apps.append({
                    "id": aid, "created": created, "updated": created, "name": f"app{n}-{m}",
                    "server_id": sid, "remote_path": f"/opt/app{m}", "service_name": f"pb-{m}",
                    "domain": None, "http_port": 8090 + m, "binary_name": "pocketbase",
                    "current_version": "1.0", "status": "running", "tls": "acme",
                })  # fmt: skip
                versions.append({
                    "id": new_id(now_ms=int(created.timestamp() * 1000) + 500), "created": created,
                    "updated": created, "app_id": aid, "version_number": "1.0",
                    "deployment_zip": None, "notes": "", "zip_sha256": None, "zip_size": None,
                    "zip_entry_count": None, "zip_migrations": [], "uploaded_at": None,
                })  # fmt: skip
        return servers, apps, versions

    def _history(
        self, apps: list[dict[str, Any]], versions: list[dict[str, Any]]
    ) -> Iterator[dict[str, list[dict[str, Any]]]]:
        total = len(apps) * self.per_app
        step = YEAR / total
        start = self.now - YEAR
        batch: dict[str, list[dict[str, Any]]] = {"deployments": [], "tasks": [], "events": []}
        for n in range(total):
            app, version = apps[n % len(apps)], versions[n % len(apps)]
            created, did = _stamp(start + step * n)
            tid = new_id(now_ms=int(created.timestamp() * 1000) + 1)
            done = created + timedelta(seconds=5 + self.rng.random() * 60)
            status = STATUSES[n % len(STATUSES)]
            batch["deployments"].append({
                "id": did, "created": created, "updated": done, "app_id": app["id"],
                "version_id": version["id"], "status": status, "logs": "ok\n" * 20,
                "started_at": created, "completed_at": done, "server_id": app["server_id"],
                "kind": "deploy", "task_id": tid, "previous_version_id": None, "release": "1.0",
                "progress": 100, "step": "", "restore_data": False, "rolled_back": False,
                "restored_data": False, "snapshot": None, "error_code": None,
                "error_message": None,
            })  # fmt: skip
            events = self.long if n == total - 1 else self.events
            if n == total - 1:
                self.long_task = tid
            task_status = "succeeded" if status == "succeeded" else "failed"
            batch["tasks"].append({
                "id": tid, "kind": "deploy", "status": task_status, "mutating": True,
                "server_id": app["server_id"], "app_id": app["id"], "deployment_id": did,
                "params": {}, "progress": 100, "step": "", "created": created,
                "started_at": created, "finished_at": done, "error_code": None,
                "error_message": None, "result": None, "event_count": events,
            })  # fmt: skip
            batch["events"] += [_event(tid, seq, created) for seq in range(1, events + 1)]
            if len(batch["deployments"]) >= CHUNK or n == total - 1:
                yield batch
                batch = {"deployments": [], "tasks": [], "events": []}


def _event(task_id: str, seq: int, created: datetime) -> dict[str, Any]:
    event = TaskLogLine(
        task_id=task_id, seq=seq, created=created, text="TASK [app_release : switch] ok"
    )
    return {
        "task_id": task_id, "seq": seq, "type": event.__struct_config__.tag,
        "created": created, "data": msgspec.json.encode(event).decode(),
    }  # fmt: skip


def build(data_dir: Path, size: str) -> tuple[dict[str, int], str, float]:
    """A migrated data dir holding ``size``; the counts, the longest task and the seconds."""
    started = time.perf_counter()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    database = Database(Settings(data_dir=data_dir).sqlalchemy_url)
    asyncio.run(_migrate(database))
    builder = Builder(data_dir / DATABASE_FILE, size, datetime.now(UTC))
    counts = builder.build()
    return counts, builder.long_task, time.perf_counter() - started


async def _migrate(database: Database) -> None:
    await database.open()
    await database.close()


@contextmanager
def serving(data_dir: Path) -> Iterator[tuple[httpx.Client, int]]:
    """``pbdeployer serve`` on the data dir, as its own process, and a keep-alive client."""
    port = _free_port()
    env = os.environ | {"PBDEPLOYER_API_TOKEN": TOKEN, "PBDEPLOYER_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [str(PBDEPLOYER), "serve", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}{API}", headers=headers) as client:
            _wait_ready(client, process)
            yield client, process.pid
    finally:
        process.terminate()
        process.wait(30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(client: httpx.Client, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pbdeployer serve exited with {process.returncode}")
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("pbdeployer serve did not answer within 60 s")


def timed(client: httpx.Client, path: str, params: dict[str, Any], n: int) -> dict[str, float]:
    """Median and p95 in ms of ``n`` requests (after one unmeasured)."""
    client.get(path, params=params).raise_for_status()
    spent = []
    for _ in range(n):
        started = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    p95 = spent[min(len(spent) - 1, int(0.95 * len(spent)))]
    return {"median_ms": round(statistics.median(spent), 2), "p95_ms": round(p95, 2)}


def routes(client: httpx.Client, long_task: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every list/get route and documented filter, first, newest, deep and cursor pages."""
    first = client.get("/deployments", params={"per_page": 1}).json()["items"][0]
    app_id, server_id = first["app_id"], first["server_id"]
    deployments_total = client.get("/deployments", params={"per_page": 1}).json()["total"]
    deep = max(1, deployments_total // 20 - 1)
    cursor = client.get("/deployments", params={"page": deep}).json()["next_cursor"]
    recent = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    return {
        "servers first": ("/servers", {}),
        "servers newest": ("/servers", {"order": "newest"}),
        "apps by server": ("/apps", {"server_id": server_id}),
        "apps by status": ("/apps", {"status": "running"}),
        "versions by app": ("/versions", {"app_id": app_id}),
        "deployments first": ("/deployments", {}),
        "deployments newest": ("/deployments", {"order": "newest"}),
        "deployments deep page": ("/deployments", {"page": deep}),
        "deployments after cursor": ("/deployments", {"cursor": cursor}),
        "deployments by status": ("/deployments", {"status": "failed", "order": "newest"}),
        "deployments by server": ("/deployments", {"server_id": server_id}),
        "deployments by app": ("/deployments", {"app_id": app_id}),
        "deployments since 7 days": ("/deployments", {"since": recent}),
        "tasks by kind": ("/tasks", {"kind": "deploy", "order": "newest"}),
        "tasks by app": ("/tasks", {"app_id": app_id}),
        "tasks by status": ("/tasks", {"status": "failed"}),
        "get deployment": (f"/deployments/{first['id']}", {}),
        "task events page": (f"/tasks/{long_task}/events", {"after": 500, "limit": 100}),
        "stats default": ("/deployments/stats", {}),
        "stats 60-90 days back": ("/deployments/stats", _window(90, 60)),
        "stats 365 days": ("/deployments/stats", _window(365, 0)),
        "health": ("/health", {}),
    }


def _window(since_days: int, until_days: int) -> dict[str, str]:
    now = datetime.now(UTC)
    since, until = now - timedelta(days=since_days), now - timedelta(days=until_days)
    return {"since": since.isoformat(), "until": until.isoformat()}


def page_through(client: httpx.Client, task_id: str) -> dict[str, float]:
    """Seconds to read the whole long task over REST, 100 events a page."""
    started, after, pages = time.perf_counter(), 0, 0
    while batch := client.get(f"/tasks/{task_id}/events", params={"after": after}).json():
        after, pages = batch[-1]["seq"], pages + 1
    return {"seconds": round(time.perf_counter() - started, 3), "pages": pages, "last_seq": after}


def under_stats_load(client: httpx.Client, pollers: int, n: int) -> dict[str, Any]:
    """``/health`` and ``/deployments`` page 1 while ``pollers`` clients poll a year of stats."""
    stop = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=client.base_url, headers=client.headers) as own:
            while not stop.is_set():
                own.get("/deployments/stats", params=_window(365, 0))

    threads = [threading.Thread(target=poll, daemon=True) for _ in range(pollers)]
    for thread in threads:
        thread.start()
    try:
        return {
            "health": timed(client, "/health", {}, n),
            "deployments": timed(client, "/deployments", {}, n),
        }
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def run(size: str, requests: int, keep: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pbdeployer-datascale-") as tmp:
        data_dir = keep or Path(tmp) / "data"
        counts, long_task, build_seconds = build(data_dir, size)
        with serving(data_dir) as (client, pid):
            timings = {
                name: timed(client, path, params, requests)
                for name, (path, params) in routes(client, long_task).items()
            }
            paging = page_through(client, long_task)
            load = {f"{n} stats pollers": under_stats_load(client, n, requests) for n in (1, 4)}
            rss = peak_rss_mib(pid)
    return {
        "size": size, "backend": "sqlite", "rows": counts,
        "build_seconds": round(build_seconds, 1), "requests_per_route": requests,
        "routes": timings, "rest_paging_long_task": paging, "under_stats_load": load,
        "server_peak_rss_mib": rss, "machine": platform.platform(), "cpus": os.cpu_count(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip


def table(result: dict[str, Any]) -> str:
    lines = [f"| {result['size']} route | median ms | p95 ms |", "|---|---:|---:|"]
    for name, spent in result["routes"].items():
        lines.append(f"| {name} | {spent['median_ms']} | {spent['p95_ms']} |")
    for load, answers in result["under_stats_load"].items():
        for route, spent in answers.items():
            lines.append(f"| {route}, {load} | {spent['median_ms']} | {spent['p95_ms']} |")
    paging = result["rest_paging_long_task"]
    lines.append(
        f"| REST paging, {paging['last_seq']:,} events | {paging['seconds'] * 1000:.0f} | |"
    )
    lines.append(f"| server peak RSS | {result['server_peak_rss_mib']} MiB | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="build the data dir here and keep it")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    result = run(args.size, args.requests, args.keep)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"datascale-{args.size}.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["rows"]), f"built in {result['build_seconds']} s")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Upload and download throughput of a 1 GiB app zip, beside a plain disk copy in the same run.

Starts ``pbdeployer serve`` as its own process on 127.0.0.1 with a temporary data dir, creates
a server, an app and versions through the API, then times:

- a plain disk copy of the zip (read, write, fsync: what storing any upload costs at least);
- a raw upload (``application/zip``) and a multipart upload of the same zip;
- a download that only counts the bytes, and one that checks the sha256 as it reads.

The server's peak memory is its RSS high-water mark (``VmHWM`` in /proc/<pid>/status). Prints
the figures and writes them to ``bench/results/upload.json``.

    .venv/bin/python bench/upload.py [--size-mib 1024] [--rounds 3]

Each figure is the median of ``--rounds`` rounds; the plain copy is measured in every round,
so a busy machine slows both sides of the ratio alike.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests/pocketbase.py: the real binary, as the tests use it

from tests.pocketbase import build_app_zip, pocketbase_binary  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "upload.json"
POCKETBASE_VERSION = "0.40.6"
TOKEN = "bench-token-5kq2Wn8Zr1Xv-Tb4Mc7Qe2Gh"  # noqa: S105 - a throwaway server's token
API = "/api/v1"
CHUNK = 1 << 20
MIB = 1 << 20


def build_zip(directory: Path, size: int) -> Path:
    """An app zip of exactly ``size`` bytes: the real binary plus incompressible filler."""
    binary = pocketbase_binary(POCKETBASE_VERSION)
    probe = build_app_zip(directory / "probe.zip", binary=binary, filler_bytes=MIB)
    overhead = probe.stat().st_size - MIB
    probe.unlink()
    path = build_app_zip(directory / "app.zip", binary=binary, filler_bytes=size - overhead)
    if path.stat().st_size != size:
        raise RuntimeError(f"built {path.stat().st_size} bytes, wanted {size}")
    return path


def disk_copy(source: Path, target: Path) -> float:
    """Seconds to read, write and fsync a copy in 1 MiB chunks (what the blob store does)."""
    started = time.perf_counter()
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def sha256_of(path: Path) -> str:
    with path.open("rb") as fp:
        return hashlib.file_digest(fp, "sha256").hexdigest()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {"PBDEPLOYER_API_TOKEN": TOKEN}
    command = [str(ROOT / ".venv" / "bin" / "pbdeployer"), "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--data-dir", str(data_dir)]
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(client: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"pbdeployer serve exited with {server.returncode}")
        try:
            if client.get("/health").status_code in (200, 503):
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("pbdeployer serve did not answer within 60 s")


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def create_app(client: httpx.Client) -> str:
    server = ok(client.post("/servers", json={"name": "bench", "host": "203.0.113.10"}))
    app = ok(client.post("/apps", json={"name": "bench", "server_id": server["id"]}))
    return str(app["id"])


def new_version(client: httpx.Client, app_id: str, number: str) -> str:
    body = {"app_id": app_id, "version_number": number}
    return str(ok(client.post("/versions", json=body))["id"])


def ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.url}: {response.text}")
    return response.json()


class Transfer:
    """Bulk bytes over ``http.client`` with 1 MiB buffers: a client light enough that the
    figures are the server's (httpx parses bodies in Python and tops out near 350 MiB/s here).
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.auth = {"Authorization": f"Bearer {TOKEN}"}

    def upload_raw(self, version_id: str, path: Path) -> tuple[float, Any]:
        headers = {"Content-Type": "application/zip", "Content-Length": str(path.stat().st_size)}
        with path.open("rb") as fp:
            return self._post(f"/versions/{version_id}/upload", fp, headers)

    def upload_form(self, version_id: str, path: Path) -> tuple[float, Any]:
        boundary = "bench-boundary-7Qx2"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="app.zip"\r\nContent-Type: application/zip\r\n\r\n'
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        length = len(head) + path.stat().st_size + len(tail)
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(length),
        }
        return self._post(f"/versions/{version_id}/upload", _framed(head, path, tail), headers)

    def download(self, version_id: str, *, verify: bool) -> tuple[float, str]:
        """Seconds to receive the whole zip; its sha256 when ``verify`` (else only counts)."""
        digest = hashlib.sha256()
        buffer = memoryview(bytearray(CHUNK))
        received = 0
        conn = self._connection()
        started = time.perf_counter()
        conn.request("GET", f"{API}/versions/{version_id}/download", headers=self.auth)
        response = conn.getresponse()
        while count := response.readinto(buffer):
            received += count
            if verify:
                digest.update(buffer[:count])
        elapsed = time.perf_counter() - started
        conn.close()
        if response.status != 200 or received != int(response.headers["Content-Length"]):
            raise RuntimeError(f"download answered {response.status} with {received} bytes")
        return elapsed, digest.hexdigest() if verify else ""

    def _post(self, path: str, body: Any, headers: dict[str, str]) -> tuple[float, Any]:
        conn = self._connection()
        started = time.perf_counter()
        conn.request("POST", API + path, body=body, headers=self.auth | headers)
        response = conn.getresponse()
        answer = response.read()
        elapsed = time.perf_counter() - started
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"upload answered {response.status}: {answer[:500]!r}")
        return elapsed, json.loads(answer)

    def _connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600, blocksize=CHUNK)


def _framed(head: bytes, path: Path, tail: bytes) -> Iterator[bytes]:
    yield head
    with path.open("rb") as fp:
        while chunk := fp.read(CHUNK):
            yield chunk
    yield tail


def one_round(
    client: httpx.Client, transfer: Transfer, app_id: str, zip_path: Path, n: int
) -> dict[str, float]:
    """Seconds for each operation; the round's versions are deleted after, blob included."""
    expected = sha256_of(zip_path)
    raw, form = new_version(client, app_id, f"{n}.0"), new_version(client, app_id, f"{n}.1")
    seconds = {"disk_copy": disk_copy(zip_path, zip_path.with_suffix(".copy"))}
    seconds["upload_raw"], raw_body = transfer.upload_raw(raw, zip_path)
    seconds["upload_multipart"], form_body = transfer.upload_form(form, zip_path)
    if {raw_body["zip_sha256"], form_body["zip_sha256"]} != {expected}:
        raise RuntimeError("the server recorded another sha256 than the file's")
    seconds["download"], _ = transfer.download(raw, verify=False)
    seconds["download_with_sha256"], got = transfer.download(raw, verify=True)
    if got != expected:
        raise RuntimeError("the downloaded zip's sha256 differs from the uploaded one")
    for version_id in (raw, form):
        client.delete(f"/versions/{version_id}").raise_for_status()
    return seconds


def measure(workdir: Path, size: int, rounds: int) -> dict[str, Any]:
    print(f"building a {size / MIB:.0f} MiB app zip around pocketbase {POCKETBASE_VERSION} ...")
    zip_path = build_zip(workdir, size)
    port = free_port()
    server = start_server(workdir / "data", port, workdir / "server.log")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}{API}", headers=headers) as client:
            wait_ready(client, server)
            rss_start = memory_kib(server.pid, "VmRSS")
            app_id = create_app(client)
            runs = []
            for n in range(1, rounds + 1):
                print(f"round {n} of {rounds} ...")
                runs.append(one_round(client, Transfer(port), app_id, zip_path, n))
            peak_kib = memory_kib(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return summary(size, runs) | {
        "sha256": sha256_of(zip_path),
        "server_rss_at_start_mib": round(rss_start / 1024, 1),
        "server_peak_rss_mib": round(peak_kib / 1024, 1),
    }


def summary(size: int, runs: list[dict[str, float]]) -> dict[str, Any]:
    """Median seconds per operation across rounds, as MiB/s and as a ratio to the disk copy."""
    seconds = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
    speed = {name: size / MIB / value for name, value in seconds.items()}
    return {
        "file_bytes": size,
        "rounds": len(runs),
        "seconds_median": {name: round(value, 2) for name, value in seconds.items()},
        "seconds_all": [{name: round(v, 2) for name, v in run.items()} for run in runs],
        "mib_per_s": {name: round(value, 1) for name, value in speed.items()},
        "ratio_to_disk_copy": {
            name: round(value / speed["disk_copy"], 2)
            for name, value in speed.items()
            if name != "disk_copy"
        },
    }


def report(result: dict[str, Any]) -> None:
    size, speed = result["file_bytes"] / MIB, result["mib_per_s"]
    print(f"\n{size:.0f} MiB zip, median of {result['rounds']} rounds (every sha256 matched)")
    print(f"  {'plain disk copy (read+write+fsync)':<36}{speed['disk_copy']:8.1f} MiB/s")
    for name, label in (
        ("upload_raw", "upload, raw body"),
        ("upload_multipart", "upload, multipart"),
        ("download", "download"),
        ("download_with_sha256", "download + client sha256"),
    ):
        ratio = result["ratio_to_disk_copy"][name]
        print(f"  {label:<36}{speed[name]:8.1f} MiB/s  ({ratio:.2f}x the disk copy)")
    print(
        f"  server RSS: {result['server_rss_at_start_mib']:.0f} MiB at start, "
        f"peak (VmHWM) {result['server_peak_rss_mib']:.0f} MiB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="zip size (default 1024)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds to take the median of")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pbdeployer-bench-"))
    try:
        result = measure(workdir, args.size_mib * MIB, args.rounds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result |= {
        "command": "bench/upload.py " + " ".join(sys.argv[1:]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    report(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Deploy time against a plain ssh/scp script, unchanged redeploys, and the restart gap.

Boots one real test host (systemd-nspawn, reached over SSH: needs root, like the host tests),
sets up its app user through pbdeployer, then in every round:

- deploys a new version of a PocketBase app (the real binary, a release that differs from the
  last one, so every step runs: upload, unpack, snapshot, switch, restart, health check)
  through the library, end to end (queue, task, runner, ansible-playbook, events);
- does the same steps with a plain shell script over one warm SSH connection (scp, then one
  ssh command that unpacks, snapshots with sqlite3's backup API, switches the symlink,
  restarts the unit and polls /api/health) into a second app on the same host;
- redeploys the unchanged version through pbdeployer.

A probe on the host polls each app's ``/api/health`` at 20 Hz during its deploy; the gap is
the longest stretch in which no probe got an answer. Prints medians and writes
``bench/results/deploy.json``.

    sudo .venv/bin/python bench/deploy.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests/pocketbase.py: the real binary, as the tests use it

from pbdeployer import AppCreate, Deployer, ServerCreate, Settings  # noqa: E402
from pbdeployer.models import App, VersionCreate  # noqa: E402
from pbdeployer.models.deployments import DeploymentStatus  # noqa: E402
from pbdeployer.store import Store  # noqa: E402
from pbdeployer.testing.hosts import HostPool, TestHost  # noqa: E402
from tests.pocketbase import build_app_zip, pocketbase_binary  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "deploy.json"
POCKETBASE_VERSION = "0.40.6"
PLAIN_PATH = "/opt/pocketbase/plain"
PLAIN_UNIT = "plain-pocketbase"
PLAIN_PORT = 8190
PROBE = """
import sys, time, urllib.request
url, seconds = sys.argv[1], float(sys.argv[2])
end, answers = time.monotonic() + seconds, []
while time.monotonic() < end:
    at = time.monotonic()
    try:
        ok = urllib.request.urlopen(url, timeout=0.05).status == 200
    except Exception:
        ok = False
    answers.append((at, ok))
    time.sleep(max(0.0, 0.05 - (time.monotonic() - at)))
gap, down_since = 0.0, None
for at, ok in answers:
    if not ok and down_since is None:
        down_since = at
    if ok and down_since is not None:
        gap, down_since = max(gap, at - down_since), None
print(round(gap, 3), sum(1 for _, ok in answers if not ok), len(answers))
"""
PLAIN_DEPLOY = r"""
set -eu
app={path}; release={release}; zip={zip}
cd "$app"
if [ ! -f "releases/$release/.sha256" ]; then
  rm -rf "releases/.$release.partial"
  python3 -m zipfile -e "$zip" "releases/.$release.partial"
  chmod 0755 "releases/.$release.partial/pocketbase"
  echo {sha256} > "releases/.$release.partial/.sha256"
  chown -R pocketbase:pocketbase "releases/.$release.partial"
  mv "releases/.$release.partial" "releases/$release"
fi
rm -f "$zip"
mkdir -p "backups/$release"
for db in pb_data/*.db; do
  [ -f "$db" ] && python3 -c {snapshot} "$db" "backups/$release/$(basename "$db")"
done
ln -sfn "releases/$release" current.tmp && mv -T current.tmp current
systemctl reset-failed {unit} 2>/dev/null || true
systemctl restart {unit}
python3 -c {health} http://127.0.0.1:{port}/api/health
"""
HEALTH_WAIT = """
import sys, time, urllib.request
while True:
    try:
        if urllib.request.urlopen(sys.argv[1], timeout=1).status == 200:
            break
    except OSError:
        time.sleep(0.02)
"""
SNAPSHOT = "import sqlite3, sys; sqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))"
PLAIN_UNIT_FILE = f"""[Unit]
Description=plain script baseline
[Service]
User=pocketbase
ExecStart={PLAIN_PATH}/current/pocketbase serve --http=127.0.0.1:{PLAIN_PORT} \\
  --dir={PLAIN_PATH}/pb_data
Restart=always
[Install]
WantedBy=multi-user.target
"""


class Plain:
    """The baseline: plain ssh and scp over one warm, multiplexed connection."""

    def __init__(self, host: TestHost, control_dir: Path) -> None:
        argv = host.ssh_argv()
        self.options = argv[1 : argv.index("--") - 1]
        self.options += ["-o", "ControlMaster=auto", "-o", f"ControlPath={control_dir}/%C"]
        self.options += ["-o", "ControlPersist=300"]
        self.target = f"{host.user}@{host.address}"

    def ssh(self, command: str) -> str:
        argv = ["ssh", *self.options, self.target, "--", command]
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout

    def scp(self, source: Path, dest: str) -> None:
        options = [o.replace("-p", "-P") if o == "-p" else o for o in self.options]
        argv = ["scp", "-q", *options, str(source), f"{self.target}:{dest}"]
        subprocess.run(argv, check=True, capture_output=True)

    def prepare(self) -> None:
        self.ssh(
            f"mkdir -p {PLAIN_PATH}/releases {PLAIN_PATH}/pb_data {PLAIN_PATH}/.incoming && "
            f"chown -R pocketbase:pocketbase {PLAIN_PATH} && "
            f"printf %s {shlex.quote(PLAIN_UNIT_FILE)} > /etc/systemd/system/{PLAIN_UNIT}.service"
            f" && systemctl daemon-reload && systemctl enable -q {PLAIN_UNIT}"
        )

    def deploy(self, zip_path: Path, release: str) -> float:
        sha256 = hashlib.sha256(zip_path.read_bytes()).hexdigest()
        remote_zip = f"{PLAIN_PATH}/.incoming/{sha256}.zip"
        script = PLAIN_DEPLOY.format(
            path=PLAIN_PATH, release=release, zip=remote_zip, sha256=sha256,
            unit=PLAIN_UNIT, port=PLAIN_PORT, snapshot=shlex.quote(SNAPSHOT),
            health=shlex.quote(HEALTH_WAIT),
        )  # fmt: skip
        started = time.perf_counter()
        self.scp(zip_path, remote_zip)
        self.ssh(script)
        return time.perf_counter() - started


def start_probe(host: TestHost, port: int, seconds: float) -> subprocess.Popen[str]:
    url = f"http://127.0.0.1:{port}/api/health"
    line = f"python3 -c {shlex.quote(PROBE)} {url} {seconds}"
    return subprocess.Popen(host.ssh_argv(line), stdout=subprocess.PIPE, text=True)


def probe_result(probe: subprocess.Popen[str]) -> dict[str, float]:
    out, _ = probe.communicate(timeout=120)
    gap, failed, total = out.split()
    return {"gap_s": float(gap), "failed_probes": int(failed), "probes": int(total)}


class Ours:
    """pbdeployer through the library, against the same host."""

    def __init__(self, deployer: Deployer, app: App, workdir: Path) -> None:
        self.deployer = deployer
        self.app = app
        self.workdir = workdir

    async def version(self, zip_path: Path, number: str) -> str:
        data = VersionCreate(app_id=self.app.id, version_number=number)
        return (await self.deployer.versions.create_with_zip(data, zip_path)).id

    async def deploy(self, version_id: str) -> float:
        started = time.perf_counter()
        queued = await self.deployer.deployments.deploy(self.app.id, version_id)
        ended = await self.deployer.deployments.wait(queued.id)
        seconds = time.perf_counter() - started
        if ended.status is not DeploymentStatus.SUCCEEDED:
            raise RuntimeError(f"deploy failed: {ended.error_message}")
        return seconds


async def open_ours(host: TestHost, workdir: Path) -> Ours:
    deployer = Deployer.open(Settings(data_dir=workdir / "data"))
    await deployer.start()
    server = await deployer.servers.create(
        ServerCreate(
            name="bench", host=host.address, port=host.port, manual_key_path=str(host.key_path)
        )
    )
    await deployer.setup.setup_user(server.id)
    await Store(deployer.database.engine).servers.change(server.id, {"setup_complete": True})
    app = await deployer.apps.create(AppCreate(name="bench", server_id=server.id))
    return Ours(deployer, app, workdir)


def release_zip(workdir: Path, number: int) -> Path:
    """The real binary plus a file that makes each release's zip (and sha256) differ."""
    return build_app_zip(
        workdir / f"app-{number}.zip",
        binary=pocketbase_binary(POCKETBASE_VERSION),
        public={"release.txt": f"release {number}\n"},
    )


async def one_round(ours: Ours, plain: Plain, host: TestHost, number: int) -> dict[str, float]:
    zip_path = release_zip(ours.workdir, number)
    version_id = await ours.version(zip_path, f"r{number}")
    probe = start_probe(host, ours.app.http_port, 25)
    await asyncio.sleep(0.5)
    ours_seconds = await ours.deploy(version_id)
    ours_gap = probe_result(probe)
    probe = start_probe(host, PLAIN_PORT, 8)
    await asyncio.sleep(0.5)
    plain_seconds = await asyncio.to_thread(plain.deploy, zip_path, f"r{number}")
    plain_gap = probe_result(probe)
    unchanged = await ours.deploy(version_id)
    return {
        "pbdeployer_deploy_s": ours_seconds,
        "plain_script_deploy_s": plain_seconds,
        "pbdeployer_unchanged_redeploy_s": unchanged,
        "pbdeployer_gap_s": ours_gap["gap_s"],
        "plain_script_gap_s": plain_gap["gap_s"],
    }


async def measure(host: TestHost, workdir: Path, rounds: int) -> dict[str, Any]:
    ours = await open_ours(host, workdir)
    plain = Plain(host, workdir)
    try:
        plain.prepare()
        warm = release_zip(workdir, 0)  # first deploys create dirs, units and databases
        await ours.deploy(await ours.version(warm, "r0"))
        await asyncio.to_thread(plain.deploy, warm, "r0")
        runs = []
        for number in range(1, rounds + 1):
            print(f"round {number} of {rounds} ...", flush=True)
            runs.append(await one_round(ours, plain, host, number))
    finally:
        await ours.deployer.close()
    medians = {name: round(statistics.median(r[name] for r in runs), 3) for name in runs[0]}
    return {
        "rounds": rounds,
        "zip_bytes": release_zip(workdir, 1).stat().st_size,
        "median": medians,
        "all": [{k: round(v, 3) for k, v in run.items()} for run in runs],
        "ratio_deploy_to_plain_script": round(
            medians["pbdeployer_deploy_s"] / medians["plain_script_deploy_s"], 2
        ),
    }


def report(result: dict[str, Any]) -> None:
    m = result["median"]
    size = result["zip_bytes"] / (1 << 20)
    print(f"\nPocketBase {POCKETBASE_VERSION}, {size:.1f} MiB zip, median of {result['rounds']}")
    print(f"  {'plain ssh/scp script deploy':<40}{m['plain_script_deploy_s']:7.2f} s")
    print(
        f"  {'pbdeployer deploy (end to end)':<40}{m['pbdeployer_deploy_s']:7.2f} s"
        f"  ({result['ratio_deploy_to_plain_script']:.1f}x the script)"
    )
    print(f"  {'pbdeployer unchanged redeploy':<40}{m['pbdeployer_unchanged_redeploy_s']:7.2f} s")
    print(f"  {'unavailability gap, pbdeployer':<40}{m['pbdeployer_gap_s'] * 1000:7.0f} ms")
    print(f"  {'unavailability gap, plain script':<40}{m['plain_script_gap_s'] * 1000:7.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds to take the median of")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pbdeployer-bench-") as tmp, HostPool() as pool:
        host = pool.create()
        result = asyncio.run(measure(host, Path(tmp), args.rounds))
    result |= {
        "command": "bench/deploy.py " + " ".join(sys.argv[1:]),
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

"""The command line deploying for real: a test host, the real PocketBase, a subprocess per
command, on the embedded library and on a served API. Setup, a deploy from the project file
with its progress, status, ``logs -f``, a failing deploy, Ctrl-C during a deploy, rollback.
"""

from __future__ import annotations

import shlex
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pbdeployer.testing.hosts import TestHost
from tests.cli import Cli, fields
from tests.pocketbase import PINNED_VERSIONS, build_app_zip, pocketbase_binary
from tests.served import Controller

pytestmark = [pytest.mark.host, pytest.mark.slow]

BROKEN = b"#!/bin/sh\necho 'this release is broken' >&2\nexit 1\n"
SLOW_START = b'#!/bin/sh\nsleep 8\nexec "$(dirname "$0")/pocketbase-real" "$@"\n'
SHOUT = """routerAdd("GET", "/api/shout/{word}", (e) => {
  console.log("the app says " + e.request.pathValue("word"))
  return e.string(200, "ok")
})
"""


@pytest.fixture(params=["embedded", "api"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    if request.param == "embedded":
        yield Cli.embedded(tmp_path / "data", tmp_path)
        return
    controller = Controller(tmp_path / "data")
    controller.start()
    yield Cli.remote(controller.port, tmp_path)
    controller.stop()


def project(root: Path, server: str) -> Path:
    """An app's repository: pbdeployer.toml and dist/ with PocketBase and a hook."""
    dist = root / "dist"
    (dist / "pb_hooks").mkdir(parents=True)
    shutil.copy2(pocketbase_binary(PINNED_VERSIONS[0]), dist / "pocketbase")
    (dist / "pb_hooks" / "shout.pb.js").write_text(SHOUT)
    (root / "pbdeployer.toml").write_text(f'app = "notes"\nserver = "{server}"\nsource = "dist"\n')
    return root


def on_host(host: TestHost, command: str) -> str:
    return host.ssh(command).stdout.strip()


def health(host: TestHost, port: int) -> str:
    url = f"http://127.0.0.1:{port}/api/health"
    return on_host(host, f"curl -s -o /dev/null -w '%{{http_code}}' {url}")


def test_setup_deploy_logs_failure_and_ctrl_c(
    cli: Cli, tmp_path: Path, fresh_host: TestHost
) -> None:
    name = fresh_host.name
    key = str(fresh_host.key_path)
    cli.ok("servers", "add", name, fresh_host.address, "--port", str(fresh_host.port), "--key", key)
    setup = cli.ok("servers", "setup", name)
    assert f"setup of {name}: done" in setup
    assert fields(cli.ok("servers", "show", name))["set up"] == "yes"
    tasks = [line.split() for line in cli.ok("tasks").splitlines()]
    assert tasks[0][:3] == ["ID", "KIND", "STATUS"]
    assert [row[1:3] for row in tasks[1:]] == [["setup", "succeeded"]]
    assert f"{name} ({fresh_host.address}:{fresh_host.port}) is reachable" in cli.ok(
        "servers", "check", name
    )
    audit = cli.ok("servers", "audit", name, "--latest").splitlines()
    assert audit[0].split()[:4] == ["STATUS", "SEVERITY", "CHECK", "EVIDENCE"]
    assert any(line.startswith("FAIL") and "root" in line.lower() for line in audit), audit
    assert audit[-1].startswith(f"{name}: score ")

    here = cli.at(project(tmp_path / "notes", name))
    deployed = here("deploy", "--label", "v1")
    assert deployed.code == 0, deployed
    assert "[ 10%] upload+unpack" in deployed.out
    assert "deploy of notes v1: succeeded" in deployed.out
    app = here.json("apps", "show", "notes")
    assert on_host(fresh_host, f"readlink {shlex.quote(app['remote_path'])}/current") == (
        "releases/v1"
    )
    assert health(fresh_host, app["http_port"]) == "200"
    status = fields(here.ok("status", "notes"))
    assert status["version"] == "v1"
    assert status["service"].startswith("active (running)")

    follow_logs(here, fresh_host, app["http_port"])
    failing_deploy(here, tmp_path)
    ctrl_c_during_a_deploy(here, tmp_path)
    upgraded = here("deploy", "--label", "v2")
    assert upgraded.code == 0, upgraded
    current = f"readlink {shlex.quote(app['remote_path'])}/current"
    assert on_host(fresh_host, current) == "releases/v2"
    back = here("rollback", "notes")
    assert back.code == 0, back
    assert "rollback of notes: succeeded" in back.out
    assert on_host(fresh_host, f"readlink {shlex.quote(app['remote_path'])}/current") == (
        "releases/v1"
    )
    assert health(fresh_host, app["http_port"]) == "200"


def follow_logs(cli: Cli, host: TestHost, port: int) -> None:
    tail = cli.start("logs", "notes", "-f", "-n", "20")
    tail.wait_for("Server started")
    on_host(host, f"curl -s http://127.0.0.1:{port}/api/shout/ahoy-from-the-test")
    assert "the app says ahoy-from-the-test" in tail.wait_for("the app says", timeout=120)
    tail.interrupt()
    assert tail.end(120).code == 0


def failing_deploy(cli: Cli, tmp_path: Path) -> None:
    broken = build_app_zip(tmp_path / "broken.zip", binary=BROKEN)
    failed = cli("deploy", "notes", str(broken), "--label", "broken")
    assert failed.code == 1, failed
    assert "deploy of notes broken failed (rolled back to the previous release)" in failed.err
    assert "health" in failed.err.lower()


def ctrl_c_during_a_deploy(cli: Cli, tmp_path: Path) -> None:
    slow = build_app_zip(tmp_path / "slow.zip", binary=SLOW_START)
    with zipfile.ZipFile(slow, "a") as archive:
        archive.write(pocketbase_binary(PINNED_VERSIONS[1]), "pocketbase-real")
    deploy = cli.start("deploy", "notes", str(slow), "--label", "slow")
    deploy.wait_for("upload+unpack")
    deploy.interrupt()
    deploy.answer("y\n")  # waits in the pipe for the question
    done = deploy.end()
    assert done.code == 4, done
    assert "Cancel deploy of notes slow? [y/N]" in done.err
    assert "deploy of notes slow: cancelled" in done.out

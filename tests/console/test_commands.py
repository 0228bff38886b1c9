"""The command line against the embedded library and against a served API: same commands,
same output, exit codes scripts can rely on. Hosts are not needed here (tests/integration
/test_cli_on_hosts.py deploys for real).
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import Cli, fields
from tests.served import TOKEN, Controller, free_port

pytestmark = pytest.mark.slow
KEY_FILE = "id_test"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:
    controller = Controller(tmp_path_factory.mktemp("served") / "data")
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture(params=["embedded", "api"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    if request.param == "embedded":
        return Cli.embedded(tmp_path / "data", tmp_path)
    served: Controller = request.getfixturevalue("served")
    return Cli.remote(served.port, tmp_path)


def app_dir(root: Path) -> Path:
    folder = root / "dist"
    (folder / "pb_public").mkdir(parents=True)
    binary = folder / "pocketbase"
    binary.write_text("#!/bin/sh\necho serving\n")
    binary.chmod(0o755)
    (folder / "pb_public" / "index.html").write_text("<h1>hello</h1>")
    return folder


def test_the_journey_before_any_host(cli: Cli, tmp_path: Path) -> None:
    name = f"web-{tmp_path.name[-12:]}"  # the served API is shared by the tests of this module
    server = cli.json("servers", "add", name, "10.200.250.9", "--key", KEY_FILE, "--port", "2222")
    assert (server["name"], server["port"]) == (name, 2222)
    assert server["manual_key_path"] == str(tmp_path / KEY_FILE)

    listing = cli.ok("servers", "list")
    header, *rows = listing.splitlines()
    assert header.split() == ["NAME", "HOST", "APP", "USER", "SET", "UP", "LOCKED", "ID"]
    assert any(row.split()[:2] == [name, "10.200.250.9:2222"] for row in rows), listing

    app = cli.json("apps", "create", f"notes-{name}", "--server", name)
    assert app["server_id"] == server["id"]
    assert app["status"] == "new"
    shown = fields(cli.ok("apps", "show", f"notes-{name}"))
    assert (shown["service"], shown["status"]) == (app["service_name"], "new")
    assert shown["http port"] == str(app["http_port"])
    assert shown["domain"] == "(none: loopback only)"

    label = "".join(c for c in name.lower() if c.isalnum())
    public, private = f"{label}.example.org", f"int-{label}.example.org"
    served = cli.json("apps", "create", f"site-{name}", "--server", name, "--domain", public)
    assert (served["domain"], served["tls"]) == (public, "acme")
    internal = fields(
        cli.ok("apps", "create", f"int-{name}", "--server", name, "--domain", private,
               "--tls", "internal")
    )  # fmt: skip
    assert (internal["domain"], internal["tls"]) == (private, "internal")
    clash = cli("apps", "create", f"dup-{name}", "--server", name, "--domain", private)
    assert clash.code == 1, clash
    assert private in clash.err

    made = cli.ok("versions", "create", f"notes-{name}", str(app_dir(tmp_path)), "--label", "v1")
    assert (fields(made)["version"], fields(made)["zip entries"]) == (
        "v1",
        "3",
    )  # pocketbase, pb_public/, its index.html
    versions = cli.json("versions", "list", f"notes-{name}")
    assert [(v["version_number"], v["zip_entry_count"]) for v in versions] == [("v1", 3)]


def test_exit_codes_for_what_went_wrong(cli: Cli, tmp_path: Path) -> None:
    missing = cli("apps", "show", "no-such-app")
    assert missing.code == 5
    assert "no app named 'no-such-app'" in missing.err

    invalid = cli("servers", "add", "bad name!", "10.200.250.9")
    assert invalid.code == 2
    assert "name:" in invalid.err

    unknown = cli("cancel", "01M98J43DFTR972ZKQH0J1YSPE")
    assert unknown.code == 5
    assert "01M98J43DFTR972ZKQH0J1YSPE" in unknown.err

    usage = cli("deploy")
    assert usage.code == 2
    assert "pbdeployer.toml" in usage.err

    not_a_zip = tmp_path / "notes.zip"
    not_a_zip.write_text("not a zip")
    name = f"web-{tmp_path.name[-12:]}"
    cli.ok("servers", "add", name, "10.200.250.9")
    cli.ok("apps", "create", f"app-{name}", "--server", name)
    rejected = cli("deploy", f"app-{name}", str(not_a_zip), "--label", "v1")
    assert rejected.code == 2, rejected
    assert "zip" in rejected.err


def test_same_output_from_both_targets(served: Controller, tmp_path: Path) -> None:
    local = Cli.embedded(tmp_path / "data", tmp_path)
    remote = Cli.remote(served.port, tmp_path)
    local.ok("servers", "add", "same-web", "10.200.250.7", "--key", KEY_FILE)
    remote.ok("servers", "add", "same-web", "10.200.250.7", "--key", KEY_FILE)

    def shown(cli: Cli) -> list[str]:
        lines = cli.ok("servers", "show", "same-web").splitlines()
        return [line for line in lines if not line.startswith(("id ", "created "))]

    assert shown(local) == shown(remote)
    assert fields("\n".join(shown(local)))["host"] == "10.200.250.7"


def test_unreachable_api_and_a_token_file_others_can_read(tmp_path: Path) -> None:
    gone = Cli.remote(free_port(), tmp_path)
    done = gone("servers", "list")
    assert done.code == 3
    assert "cannot reach the API" in done.err

    config = tmp_path / "config.toml"
    config.write_text(f'api = "http://127.0.0.1:{free_port()}"\ntoken = "{TOKEN}"\n')
    config.chmod(0o644)
    shell = Cli.embedded(tmp_path / "data", tmp_path)
    shell.env["PBDEPLOYER_CONFIG"] = str(config)
    refused = shell("servers", "list")
    assert refused.code == 2
    assert "chmod 600" in refused.err

    config.chmod(0o600)
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
    assert shell("servers", "list").code == 3  # now read: it names an API that is not there


def test_config_file_names_the_api(served: Controller, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'api = "http://127.0.0.1:{served.port}"\ntoken = "{TOKEN}"\n')
    config.chmod(0o600)
    shell = Cli.embedded(tmp_path / "unused", tmp_path)
    shell.env["PBDEPLOYER_CONFIG"] = str(config)
    shell.ok("servers", "add", "by-config", "10.200.250.8")
    assert "by-config" in Cli.remote(served.port, tmp_path).ok("servers", "list")
    assert not (tmp_path / "unused").exists()

    wrong = Cli.remote(served.port, tmp_path, token="wrong-token")
    refused = wrong("servers", "list")
    assert refused.code == 1
    assert "token" in refused.err.lower()


def test_colour_on_a_terminal_unless_no_color(tmp_path: Path) -> None:
    """On a terminal (``script`` gives the command one) errors are red; ``NO_COLOR`` stops it."""
    shell = Cli.embedded(tmp_path / "data", tmp_path)
    command = shlex.join(shell.argv("apps", "show", "no-such-app"))

    def on_a_terminal(env: dict[str, str]) -> str:
        done = subprocess.run(
            ["script", "-qec", command, "/dev/null"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 5, done
        assert "no app named 'no-such-app'" in done.stdout
        return done.stdout

    assert "\x1b[31m" in on_a_terminal(shell.env)
    assert "\x1b[31m" not in on_a_terminal(shell.env | {"NO_COLOR": "1"})

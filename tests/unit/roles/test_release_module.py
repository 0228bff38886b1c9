"""The app_release role's module: its decisions, and whole calls against a fake host.

The fake host stands in for systemd and the app: "restart" starts the binary ``current``
points at, which is healthy when the file starts with ``good`` and exits at once otherwise.
Everything inside the app's path is real files in a temp dir, SQLite databases included.
"""

from __future__ import annotations

import fcntl
import grp
import http.server
import importlib.util
import json
import os
import pwd
import sqlite3
import stat
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

MODULE_PATH = Path(__file__).parents[3] / "plugins" / "modules" / "release.py"
SHA = "ab" * 32


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pbdeployer_release", MODULE_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release = _load()
ReleaseError = release.ReleaseError


def options(**given: Any) -> dict[str, Any]:
    base = {"state": "activate", "path": "/srv/app", "user": "app", "release": "v1", "sha256": SHA}
    parsed: dict[str, Any] = release.parse_options(base | given)
    return parsed


# ----------------------------------------------------------------------------- options


def test_options_get_defaults_types_and_the_group_of_the_user() -> None:
    parsed = options(port="8091", health_timeout=5, uploaded="true", _ansible_check_mode=False)
    assert parsed["port"] == 8091
    assert parsed["health_timeout"] == 5.0
    assert parsed["uploaded"] is True
    assert parsed["group"] == "app"
    assert parsed["unit"] == "pocketbase"
    assert parsed["keep_releases"] == 5


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"release": "../etc"}, "release '../etc' is not allowed"),
        ({"release": ".hidden"}, "release '.hidden' is not allowed"),
        ({"release": "v1/x"}, "release 'v1/x' is not allowed"),
        ({"sha256": "AB" * 32}, "sha256"),
        ({"path": "/srv/../etc"}, "path"),
        ({"path": "relative"}, "path 'relative' is not allowed"),
        ({"path": "/"}, "path"),
        ({"user": "Root;id"}, "user"),
        ({"unit": "x;touch"}, "unit"),
        ({"deployment_id": "../x"}, "deployment_id"),
        ({"restore_snapshot": "a/b"}, "restore_snapshot"),
        ({"port": 70000}, "port must be 1-65535"),
        ({"port": "eighty"}, "port must be a int"),
        ({"keep_releases": 0}, "keep_releases"),
        ({"surprise": 1}, "unknown option surprise"),
        ({"state": "explode"}, "state must be one of"),
        ({"release": ""}, "release is required"),
    ],
)
def test_bad_options_are_refused(given: dict[str, Any], problem: str) -> None:
    with pytest.raises(ReleaseError) as refused:
        options(**given)
    assert problem in str(refused.value)


def test_recover_needs_no_release() -> None:
    parsed = options(state="recover", release="", sha256="", target="v1", drop="v2")
    assert (parsed["target"], parsed["drop"]) == ("v1", "v2")


def test_unit_and_deployment_names() -> None:
    assert release.unit_file_name("blog") == "blog.service"
    assert release.unit_file_name("blog.service") == "blog.service"
    assert release.deployment_name("01JH") == "01JH"
    assert release.deployment_name("", now=0) == "manual-19700101T000000Z"


def test_a_new_report_has_every_key() -> None:
    report = release.new_report("v1")
    assert list(report) == [key for key, _ in release.REPORT]
    assert report["removed"] is not release.new_report()["removed"]


# ----------------------------------------------------------------------------- decisions


def test_release_of_link() -> None:
    root = "/srv/app"
    assert release.release_of_link("releases/v1", root) == "v1"
    assert release.release_of_link("/srv/app/releases/v2", root) == "v2"
    assert release.release_of_link("/elsewhere/releases/v2", root) is None
    assert release.release_of_link("releases/v1/../../x", root) is None
    assert release.release_of_link("", root) is None


FILE = (stat.S_IFREG | 0o644) << 16
EXECUTABLE = (stat.S_IFREG | 0o755) << 16


@pytest.mark.parametrize(
    ("name", "attr", "expected"),
    [
        ("pocketbase", EXECUTABLE, (["pocketbase"], False)),
        ("pb_public/a/./b.css", FILE, (["pb_public", "a", "b.css"], False)),
        ("pb_hooks/", 0, (["pb_hooks"], True)),
        ("plain", 0, (["plain"], False)),
    ],
)
def test_member_parts_of_safe_members(name: str, attr: int, expected: Any) -> None:
    assert release.member_parts(name, attr) == expected


@pytest.mark.parametrize(
    ("name", "attr", "problem"),
    [
        ("link", (stat.S_IFLNK | 0o777) << 16, "symlink"),
        ("fifo", (stat.S_IFIFO | 0o644) << 16, "special file"),
        ("/etc/passwd", FILE, "absolute"),
        ("a/../../etc", FILE, "'..'"),
        ("..", FILE, "'..'"),
        ("a\\b", FILE, "odd path"),
        ("C:evil", FILE, "odd path"),
        (".", FILE, "empty name"),
    ],
)
def test_member_parts_refuse_escapes(name: str, attr: int, problem: str) -> None:
    with pytest.raises(ReleaseError) as refused:
        release.member_parts(name, attr)
    assert problem in str(refused.value)


def test_member_mode_keeps_only_the_executable_bit() -> None:
    assert release.member_mode(EXECUTABLE | (0o4000 << 16)) == 0o755
    assert release.member_mode(FILE | (0o2000 << 16)) == 0o644
    assert release.member_mode(0) == 0o644


def test_added_migrations() -> None:
    assert release.added_migrations(["1.js", "2.js", "3.js"], ["1.js", "2.js"]) == ["3.js"]
    assert release.added_migrations(["1.js"], ["1.js", "2.js"]) == []


def test_pruning_keeps_protected_then_newest() -> None:
    releases = [("v1", 1.0), ("v2", 2.0), ("v3", 3.0), ("v4", 4.0), ("v5", 5.0)]
    assert release.releases_to_prune(releases, 3, {"v5", "v1"}) == ["v2", "v3"]
    assert release.releases_to_prune(releases, 1, {"v5", "v1"}) == ["v2", "v3", "v4"]
    assert release.releases_to_prune(releases, 9, {"v5"}) == []
    assert release.snapshots_to_prune([("a", 1.0), ("b", 2.0)], 1, {"a"}) == ["b"]


def test_exit_problem_and_parse_show() -> None:
    props = release.parse_show(
        "ActiveState=activating\nSubState=auto-restart\nNRestarts=0\nExecMainStatus=1\n"
    )
    assert release.exit_problem(props) == "the app exited with status 1 (activating/auto-restart)"
    assert release.exit_problem({"ActiveState": "active", "SubState": "running"}) == ""
    assert release.exit_problem({"ActiveState": "failed", "SubState": "failed"})
    assert release.exit_problem({"ActiveState": "active", "NRestarts": "2"})


def test_unit_outdated_when_the_file_is_newer_than_the_process() -> None:
    started = {"ActiveEnterTimestampMonotonic": str(100 * 10**6)}
    # now: real 1000, monotonic 150 -> the process started at real time 950.
    assert release.unit_outdated(started, 960.0, 1000.0, 150.0)
    assert not release.unit_outdated(started, 900.0, 1000.0, 150.0)
    assert release.unit_outdated({"NeedDaemonReload": "yes"}, None, 0, 0)
    assert not release.unit_outdated({"ActiveEnterTimestampMonotonic": "0"}, 960.0, 1000, 150)


def test_health_answer() -> None:
    assert release.health_answer(b"HTTP/1.1 200 OK\r\nContent-Type: x") == (True, "")
    assert release.health_answer(b"HTTP/1.1 503 Service Unavailable\r\n") == (
        False,
        "GET /api/health answered 'HTTP/1.1 503 Service Unavailable'",
    )
    assert not release.health_answer(b"")[0]


# ------------------------------------------------------------------ whole calls, faked host


class FakeHost:
    """systemd and the app, in memory; files are real."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uid, self.gid = os.getuid(), os.getgid()
        self.active = False
        self.calls: list[str] = []

    def lock(self, path: str, timeout: float) -> None:
        Path(path).touch()

    def as_user(self, func: Any, *args: Any) -> Any:
        return json.loads(json.dumps(func(*args)))  # what crosses the pipe must be JSON

    def running_binary(self) -> bytes:
        current = self.root / "current"
        return (current / "pocketbase").read_bytes() if current.exists() else b""

    def good(self) -> bool:
        return self.active and self.running_binary().startswith(b"good")

    def props(self, unit: str) -> dict[str, str]:
        if self.active and not self.good():
            return {"LoadState": "loaded", "ActiveState": "activating", "SubState": "auto-restart"}
        state = "active" if self.active else "inactive"
        return {"LoadState": "loaded", "ActiveState": state, "SubState": "running"}

    def systemctl(self, *args: str) -> str:
        self.calls.append(" ".join(args))
        if args[0] == "restart":
            self.active = True
        return ""

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(" ".join(argv[1:]))
        if argv[1] == "stop":
            self.active = False
        return 0, "", ""

    def probe(self, port: int, timeout: float) -> tuple[bool, str]:
        return (True, "") if self.good() else (False, "GET /api/health: refused")

    def journal(self, unit: str, since: float, lines: int = 5) -> str:
        return "" if self.good() else "this release is broken"


class Site:
    """An app path in a temp dir with zips to deploy and a fake host to deploy them to."""

    def __init__(self, tmp: Path) -> None:
        self.root = tmp / "app"
        self.zips = tmp / "zips"
        self.zips.mkdir()
        self.host = FakeHost(self.root)
        self.shas: dict[str, str] = {}

    def zip(self, name: str, binary: bytes, migrations: tuple[str, ...] = ()) -> Path:
        path = self.zips / f"{name}.zip"
        with zipfile.ZipFile(path, "w") as archive:
            info = zipfile.ZipInfo("pocketbase")
            info.external_attr = EXECUTABLE
            archive.writestr(info, binary)
            for migration in migrations:
                archive.writestr(f"pb_migrations/{migration}", "migrate(() => {})")
        self.shas[name] = release.sha256_of(str(path))
        return path

    def call(self, state: str, name: str = "", **given: Any) -> dict[str, Any]:
        raw = {"state": state, "path": str(self.root), "user": "app", "release": name,
               "sha256": self.shas.get(name, ""), "deployment_id": f"d-{state}-{name}",
               "health_timeout": 1, "health_interval": 0.01, **given}  # fmt: skip
        answer: dict[str, Any] = release.answer_for(raw, self.host)
        return answer

    def deploy(self, name: str, **given: Any) -> dict[str, Any]:
        zip_path = self.zips / f"{name}.zip"
        prepared = self.call("prepare", name, zip_path=str(zip_path))
        assert not prepared.get("failed"), prepared["msg"]
        return self.call("activate", name, uploaded=True, **given)

    def current(self) -> str:
        return os.readlink(self.root / "current")

    def write_data(self, text: str) -> None:
        with sqlite3.connect(self.root / "pb_data" / "data.db") as db:
            db.execute("CREATE TABLE IF NOT EXISTS notes (text TEXT)")
            db.execute("INSERT INTO notes VALUES (?)", (text,))
        db.close()

    def read_data(self) -> list[str]:
        db = sqlite3.connect(self.root / "pb_data" / "data.db")
        try:
            return [row[0] for row in db.execute("SELECT text FROM notes ORDER BY rowid")]
        finally:
            db.close()


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def test_first_deploy_then_unchanged_redeploy(site: Site) -> None:
    site.zip("v1", b"good v1")
    first = site.call("prepare", "v1")
    assert first["need_zip"] is True
    assert first["changed"] is False

    answer = site.deploy("v1")
    report = answer["report"]
    assert not answer.get("failed")
    assert site.current() == "releases/v1"
    assert (report["previous"], report["current"], report["switched"]) == (None, "v1", True)
    assert (report["healthy"], report["changed"], report["snapshot"]) == (True, True, None)
    assert "reset-failed pocketbase.service" in site.host.calls
    assert not list((site.root / ".incoming").iterdir())
    marker = json.loads((site.root / "releases/v1/.pbdeployer-release.json").read_text())
    assert marker["sha256"] == site.shas["v1"]
    assert os.stat(site.root / "releases/v1/pocketbase").st_mode & 0o777 == 0o755
    assert os.stat(site.root / "pb_data").st_mode & 0o777 == 0o700

    again = site.call("prepare", "v1")
    assert (again["need_zip"], again["changed"]) == (False, False)
    site.host.calls.clear()
    unchanged = site.call("activate", "v1")["report"]
    assert unchanged["changed"] is False
    assert unchanged["healthy"] is True
    assert unchanged["message"] == "release v1 is already live and healthy"
    assert not any(call.startswith("restart") for call in site.host.calls)


def test_second_deploy_snapshots_the_data_and_prunes(site: Site) -> None:
    for number in range(1, 5):
        site.zip(f"v{number}", b"good")
    site.deploy("v1")
    site.write_data("first")
    report = site.deploy("v2")["report"]
    assert report["snapshot"] == str(site.root / "backups" / "d-activate-v2")
    snapshot = sqlite3.connect(Path(report["snapshot"]) / "data.db")
    assert [row[0] for row in snapshot.execute("SELECT text FROM notes")] == ["first"]
    snapshot.close()
    assert (report["previous"], report["current"]) == ("v1", "v2")

    site.deploy("v3", keep_releases=2, keep_snapshots=1)
    last = site.deploy("v4", keep_releases=2, keep_snapshots=1)["report"]
    assert last["removed"] == ["v2"]
    assert sorted(os.listdir(site.root / "releases")) == ["v3", "v4"]
    assert os.listdir(site.root / "backups") == ["d-activate-v4"]


def test_a_broken_release_rolls_back_and_restores_data_when_it_added_migrations(
    site: Site,
) -> None:
    site.zip("v1", b"good", ("1_notes.js",))
    site.zip("v2", b"broken", ("1_notes.js", "2_tags.js"))
    site.deploy("v1")
    site.write_data("kept")

    answer = site.deploy("v2")
    report = answer["report"]
    assert not answer.get("failed")
    assert site.current() == "releases/v1"
    assert (report["rolled_back"], report["healthy"], report["restored_data"]) == (
        True,
        True,
        True,
    )
    assert (report["current"], report["switched"]) == ("v1", False)
    assert "this release is broken" in report["health_error"]
    assert "back on v1" in report["message"]
    assert "2_tags.js" in report["message"]
    assert site.read_data() == ["kept"]
    aside = Path(report["snapshot"]) / "failed-v2"
    assert (aside / "data.db").is_file()
    assert (site.root / "releases/v2").is_dir()  # kept for a look at what failed


def test_a_broken_release_without_new_migrations_keeps_the_data(site: Site) -> None:
    site.zip("v1", b"good", ("1_notes.js",))
    site.zip("v2", b"broken", ("1_notes.js",))
    site.deploy("v1")
    site.write_data("kept")
    report = site.deploy("v2")["report"]
    assert (report["rolled_back"], report["restored_data"]) == (True, False)
    assert site.read_data() == ["kept"]


def test_a_broken_first_deploy_stops_the_unit_and_fails(site: Site) -> None:
    site.zip("v1", b"broken")
    answer = site.deploy("v1")
    assert answer["failed"] is True
    report = answer["report"]
    assert (report["healthy"], report["rolled_back"], report["current"]) == (False, False, "v1")
    assert "no earlier release" in answer["msg"]
    assert site.host.active is False


def test_rollback_restores_a_named_snapshot_and_keeps_the_replaced_data(site: Site) -> None:
    site.zip("v1", b"good")
    site.zip("v2", b"good")
    site.deploy("v1")
    site.write_data("before v2")
    site.deploy("v2")
    site.write_data("after v2")

    answer = site.call("rollback", "v1", restore_snapshot="d-activate-v2")
    report = answer["report"]
    assert not answer.get("failed"), answer["msg"]
    assert site.current() == "releases/v1"
    assert (report["restored_data"], report["switched"]) == (True, True)
    assert site.read_data() == ["before v2"]
    replaced = Path(report["snapshot"])
    assert replaced.name == "d-rollback-v1"
    assert (replaced / "data.db").is_file()


def test_check_mode_predicts_a_new_release_and_changes_nothing(site: Site) -> None:
    site.zip("v1", b"good v1")
    site.zip("v2", b"good v2")
    check = {"_ansible_check_mode": True}
    for state in ("prepare", "activate"):
        predicted = site.call(state, "v1", **check)
        assert (predicted["changed"], predicted.get("failed")) == (True, None), predicted
        assert predicted["report"]["message"].startswith("check mode: release v1 would")
    assert not site.root.exists()

    site.deploy("v1")
    for state in ("prepare", "activate"):
        assert site.call(state, "v1", **check)["changed"] is False
    assert site.call("activate", "v2", **check)["changed"] is True
    assert site.call("rollback", "v1", sha256="", **check)["changed"] is False
    assert site.call("activate", "v1", **check | {"port": 0})["failed"] is True
    assert site.current() == "releases/v1"


def test_rollback_to_a_release_on_the_host_needs_no_sha256(site: Site) -> None:
    site.zip("v1", b"good")
    site.zip("v2", b"good")
    site.deploy("v1")
    site.deploy("v2")

    prepared = site.call("prepare", "v1", sha256="")
    assert (prepared.get("failed"), prepared["need_zip"]) == (None, False)
    answer = site.call("rollback", "v1", sha256="")
    assert not answer.get("failed"), answer["msg"]
    assert site.current() == "releases/v1"


def test_without_a_sha256_a_release_missing_on_the_host_is_refused(site: Site) -> None:
    answer = site.call("prepare", "v9", sha256="")
    assert answer["failed"] is True
    assert "releases/v9 is not on the host" in answer["msg"]
    refused = site.call("rollback", "v9", sha256="")
    assert "releases/v9 is not on the host" in refused["msg"]
    with pytest.raises(ReleaseError, match="sha256 is required"):
        options(state="activate", sha256="")


def test_a_failed_rollback_puts_release_and_data_back(site: Site) -> None:
    site.zip("v1", b"broken-later")
    site.zip("v2", b"good")
    site.call("prepare", "v1", zip_path=str(site.zips / "v1.zip"))
    site.deploy("v2")
    site.write_data("current data")
    Path(site.root / "backups" / "old").mkdir()
    with sqlite3.connect(site.root / "backups" / "old" / "data.db") as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("INSERT INTO notes VALUES ('old data')")
    db.close()

    answer = site.call("rollback", "v1", restore_snapshot="old")
    report = answer["report"]
    assert site.current() == "releases/v2"
    assert (report["rolled_back"], report["healthy"], report["restored_data"]) == (
        True,
        True,
        False,
    )
    assert site.read_data() == ["current data"]


def test_recover_cleans_partial_work_and_ends_on_the_target(site: Site) -> None:
    site.zip("v1", b"good")
    site.zip("v2", b"good")
    site.deploy("v1")
    site.call("prepare", "v2", zip_path=str(site.zips / "v2.zip"))
    os.symlink("releases/v2", site.root / "current.tmp")
    os.replace(site.root / "current.tmp", site.root / "current")
    (site.root / ".incoming" / "half.zip").write_bytes(b"PK")
    (site.root / "releases" / ".v3.partial").mkdir()

    answer = site.call("recover", target="v1", drop="v2", deployment_id="d2")
    report = answer["report"]
    assert not answer.get("failed"), answer["msg"]
    assert site.current() == "releases/v1"
    assert (report["previous"], report["current"], report["switched"]) == ("v2", "v1", True)
    assert report["removed"] == ["v2"]
    assert report["healthy"] is True
    assert sorted(os.listdir(site.root / "releases")) == ["v1"]
    assert not list((site.root / ".incoming").iterdir())
    assert ".incoming/half.zip" in report["message"]


def test_recover_without_target_stops_an_unhealthy_app(site: Site) -> None:
    site.zip("v1", b"broken")
    site.call("prepare", "v1", zip_path=str(site.zips / "v1.zip"))
    site.host.active = True
    answer = site.call("recover", drop="v1")
    assert not answer.get("failed")
    assert answer["report"]["removed"] == ["v1"]
    assert site.host.active is False


def test_prepare_refuses_a_damaged_upload_and_a_zip_with_a_symlink(site: Site) -> None:
    site.zip("v1", b"good")
    damaged = site.zips / "damaged.zip"
    damaged.write_bytes(b"not the zip")
    answer = site.call("prepare", "v1", zip_path=str(damaged))
    assert answer["failed"] is True
    assert "sha256" in answer["msg"]

    evil = site.zips / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        info = zipfile.ZipInfo("pocketbase")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    site.shas["evil"] = release.sha256_of(str(evil))
    answer = site.call("prepare", "evil", zip_path=str(evil))
    assert answer["failed"] is True
    assert "symlink" in answer["msg"]
    assert not (site.root / "releases" / "evil").exists()


def test_prepare_takes_a_zip_put_into_incoming_by_hand(site: Site) -> None:
    site.zip("v1", b"good")
    site.call("prepare", "v1")  # creates the layout, asks for the zip
    dropped = site.root / ".incoming" / f"{site.shas['v1']}.zip"
    dropped.write_bytes((site.zips / "v1.zip").read_bytes())
    answer = site.call("prepare", "v1")
    assert (answer["need_zip"], answer["changed"]) == (False, True)
    assert answer["report"]["uploaded"] is False
    assert (site.root / "releases" / "v1" / "pocketbase").read_bytes() == b"good"
    assert not dropped.exists()


def test_activate_needs_the_release_and_the_unit(site: Site) -> None:
    site.zip("v1", b"good")
    answer = site.call("activate", "v1")
    assert answer["failed"] is True
    assert "releases/v1 is missing" in answer["msg"]
    assert answer["report"]["release"] == "v1"


def test_the_module_source_carries_the_argument_marker_once() -> None:
    text = MODULE_PATH.read_text()
    assert text.count("<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>") == 1
    assert "module_utils" not in text  # would turn it into a slow AnsiballZ module


# ------------------------------------------------------------------ the real Host's parts


def _current_user_host() -> Any:
    user = pwd.getpwuid(os.getuid()).pw_name
    return release.Host(user, grp.getgrgid(os.getgid()).gr_name)


def test_the_lock_waits_for_the_holder_then_gives_up(tmp_path: Path) -> None:
    lock = tmp_path / "app.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(ReleaseError) as waited:
            _current_user_host().lock(str(lock), 0.3)
        assert time.monotonic() - started >= 0.3
        assert "another call still holds" in str(waited.value)
    fd = _current_user_host().lock(str(lock), 0.3)
    os.close(fd)


def test_the_lock_refuses_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "lock").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        _current_user_host().lock(str(tmp_path / "lock"), 0.1)
    assert not (tmp_path / "elsewhere").exists()


def test_the_probe_reads_the_status_line() -> None:
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/api/health" else 404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host = _current_user_host()
        assert host.probe(server.server_address[1], 2.0) == (True, "")
    finally:
        server.shutdown()
        server.server_close()
    healthy, error = host.probe(server.server_address[1], 0.5)
    assert not healthy
    assert error.startswith("GET /api/health:")


def test_work_runs_in_a_child_as_the_app_user() -> None:
    nobody = pwd.getpwnam("nobody")
    host = release.Host("nobody", grp.getgrgid(nobody.pw_gid).gr_name)

    def write(path: str) -> int:
        Path(path).write_text("x")
        return os.getuid()

    with tempfile.TemporaryDirectory(dir="/tmp") as folder:  # reachable by nobody
        Path(folder).chmod(0o777)
        made = Path(folder) / "made"
        assert host.as_user(write, str(made)) == nobody.pw_uid
        assert made.stat().st_uid == nobody.pw_uid
    with pytest.raises(ReleaseError) as refused:
        host.as_user(write, "/root/not-yours")
    assert "PermissionError" in str(refused.value)

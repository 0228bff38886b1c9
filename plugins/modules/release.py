#!/usr/bin/python
"""Releases of one PocketBase app on its host: unpack, switch, snapshot, health, rollback.

Layout under the app's path P::

    P/releases/<release>/      one unpacked zip each, with .pbdeployer-release.json (sha256)
    P/current -> releases/<r>  relative symlink, switched atomically (rename over it)
    P/pb_data/                 the app's data, shared by every release
    P/backups/<deployment>/    SQLite snapshots taken before a switch
    P/.incoming/<sha256>.zip   an uploaded zip until it is unpacked
    P/.pbdeployer.lock         held (flock) for a whole call, so calls never overlap
    P/.pbdeployer-active.json  what the last healthy activation started

Standard library only, and no Ansible wrapper: Ansible writes the task's arguments (JSON)
into ARGS_JSON below and pipes this file to the host's python3, so a call costs about a
tenth of a usual module call. ``python3 release.py args.json`` runs it by hand.
Work inside P runs as the app user (a forked child), since the app itself may write there;
root only takes the lock, talks to systemd and probes the app's health.
"""

import fcntl
import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import zipfile

ARGS_JSON = r"""<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>"""

DOCUMENTATION = r"""
module: release
short_description: Put a PocketBase release on the host, switch to it, roll back or recover
description:
  - One call per step of a deployment; see roles/app_release/README.md.
  - prepare unpacks P/.incoming/<sha256>.zip (or the zip the action plugin uploads from
    C(zip_src)) into P/releases/<release> unless that release already holds the sha256.
  - activate snapshots every *.db of P/pb_data, switches P/current, restarts the unit and waits
    for /api/health; on failure it switches back (restoring the snapshot when the release
    added migrations). rollback switches to an existing release, optionally restoring a named
    snapshot. recover waits for a call still running, cleans partial work and ends on C(target).
options:
  state: {description: prepare, activate, rollback or recover., type: str, required: true}
  path: {description: The app's path P., type: str, required: true}
  user: {description: The app user; work inside P runs as it., type: str, required: true}
  group: {description: The app user's group., type: str}
  unit: {description: Unit base name (".service" optional)., type: str}
  binary: {description: Executable at the root of each release., type: str}
  port: {description: Loopback port of /api/health., type: int}
  release: {description: Release directory name (the version label)., type: str}
  sha256: {description: The zip's sha256 (hex)., type: str}
  version_id: {description: Recorded in the release marker., type: str}
  deployment_id: {description: Names the snapshot directory backups/<id>., type: str}
  zip_src: {description: Controller path of the zip (action plugin, prepare only)., type: str}
author: pbdeployer
"""

RETURN = r"""
report:
  description: release, previous, current, changed, uploaded, switched, healthy, rolled_back,
    snapshot, restored_data, removed, pruned_snapshots, health_error, message.
  returned: always
  type: dict
need_zip:
  description: prepare found neither the release nor its zip on the host.
  returned: state=prepare
  type: bool
"""

MARKER = ".pbdeployer-release.json"
ACTIVE = ".pbdeployer-active.json"
LOCK = ".pbdeployer.lock"
CHUNK = 1 << 20
DB_SUFFIXES = ("", "-wal", "-shm")

LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}\Z")
IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}\Z")
SHA256 = re.compile(r"[0-9a-f]{64}\Z")
POSIX_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}\Z")
UNIT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")
PLAIN_PATH = re.compile(r"(/[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]*)+\Z")
FILE_NAME = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]*\Z")

STATES = ("prepare", "activate", "rollback", "recover")
# name: (type, default, pattern or None). A pattern applies to non-empty values.
OPTIONS = {
    "state": (str, "", None),
    "path": (str, "", PLAIN_PATH),
    "user": (str, "", POSIX_NAME),
    "group": (str, "", POSIX_NAME),
    "unit": (str, "pocketbase", UNIT_NAME),
    "binary": (str, "pocketbase", FILE_NAME),
    "port": (int, 8090, None),
    "release": (str, "", LABEL),
    "sha256": (str, "", SHA256),
    "version_id": (str, "", IDENT),
    "deployment_id": (str, "", IDENT),
    "health_timeout": (float, 30.0, None),
    "health_interval": (float, 0.2, None),
    "keep_releases": (int, 5, None),
    "keep_snapshots": (int, 5, None),
    "restore_snapshot": (str, "", IDENT),
    "target": (str, "", LABEL),
    "drop": (str, "", LABEL),
    "zip_path": (str, "", None),
    "uploaded": (bool, False, None),
    "lock_timeout": (float, 0.0, None),  # 0: long enough for any other call to end
}
# The result, in this order; False, [] and "" are the defaults of the typed keys.
REPORT = (
    ("release", ""), ("previous", None), ("current", None), ("changed", False),
    ("uploaded", False), ("switched", False), ("healthy", False), ("rolled_back", False),
    ("snapshot", None), ("restored_data", False), ("removed", []), ("pruned_snapshots", []),
    ("health_error", ""), ("message", ""),
)  # fmt: skip


class ReleaseError(Exception):
    """A failure with a message a person can act on."""


# ------------------------------------------------------------------------- options (pure)


def as_bool(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def parse_options(raw):
    """Typed options with defaults; raises ReleaseError naming every bad one."""
    given = {k: v for k, v in raw.items() if not k.startswith("_ansible_")}
    unknown = sorted(set(given) - set(OPTIONS))
    problems = ["unknown option " + name for name in unknown]
    options = {}
    for name, (kind, default, pattern) in OPTIONS.items():
        value = given.get(name)
        if value is None or value == "":
            value = default
        try:
            value = as_bool(value) if kind is bool else kind(value)
        except (TypeError, ValueError):
            problems.append(f"{name} must be a {kind.__name__}, not {value!r}")
            continue
        if pattern is not None and value and not pattern.match(value):
            problems.append(f"{name} {value!r} is not allowed (expected {pattern.pattern})")
        options[name] = value
    problems += required_problems(options) if not problems else []
    if problems:
        raise ReleaseError("; ".join(problems))
    options["group"] = options["group"] or options["user"]
    # A call holds the lock for at most two restarts with their health waits, plus file work.
    options["lock_timeout"] = options["lock_timeout"] or 3 * options["health_timeout"] + 120
    return options


def required_problems(options):
    state = options["state"]
    if state not in STATES:
        return [f"state must be one of {', '.join(STATES)}, not {state!r}"]
    problems = [f"{name} is required" for name in ("path", "user") if not options[name]]
    if options["path"] == "/" or "/../" in options["path"] + "/":
        problems.append("path must be an app directory")
    if state != "recover":
        # prepare and rollback without a sha256 take the one recorded with the release on the
        # host; a deploy (activate) names the zip it switches to.
        needed = ("release", "sha256") if state == "activate" else ("release",)
        problems += [f"{name} is required" for name in needed if not options[name]]
    if not 1 <= options["port"] <= 65535:
        problems.append("port must be 1-65535")
    if options["health_timeout"] <= 0 or options["health_interval"] <= 0:
        problems.append("health_timeout and health_interval must be above 0")
    if options["keep_releases"] < 1 or options["keep_snapshots"] < 1:
        problems.append("keep_releases and keep_snapshots must be 1 or more")
    return problems


def recorded_sha256(release, marker):
    """The sha256 a release on the host was unpacked from, for a call that gave none."""
    if not marker.get("sha256"):
        raise ReleaseError(
            f"releases/{release} is not on the host; give the zip and its sha256 to put it back"
        )
    return marker["sha256"]


def unit_file_name(name):
    return name if name.endswith(".service") else name + ".service"


def new_report(release=""):
    report = {key: list(default) if isinstance(default, list) else default
              for key, default in REPORT}  # fmt: skip
    report["release"] = release
    return report


def deployment_name(given, now=None):
    """The snapshot directory name: the deployment id, or a UTC time stamp by hand."""
    stamp = time.gmtime(time.time() if now is None else now)
    return given or "manual-" + time.strftime("%Y%m%dT%H%M%SZ", stamp)


# ---------------------------------------------------------------------- decisions (pure)


def release_of_link(target, root):
    """The release name a ``current`` link target names, or None (missing, elsewhere)."""
    if not target:
        return None
    full = os.path.normpath(os.path.join(root, target))
    name = os.path.basename(full)
    if os.path.dirname(full) != os.path.join(root, "releases") or not LABEL.match(name):
        return None
    return name


def member_parts(name, external_attr):
    """(path parts, is_directory) of a zip member. Refuses anything that could land outside
    the release: absolute names, "..", backslashes, symlinks and special files."""
    kind = stat.S_IFMT(external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise ReleaseError(f"the zip holds a symlink ({name}); releases may not")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ReleaseError(f"the zip holds a special file ({name})")
    if name.startswith("/") or "\\" in name or "\x00" in name or re.match(r"[A-Za-z]:", name):
        raise ReleaseError(f"the zip holds an absolute or odd path ({name!r})")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ReleaseError(f"the zip holds a path with '..' ({name!r})")
    directory = name.endswith("/") or kind == stat.S_IFDIR
    if not parts and not directory:
        raise ReleaseError(f"the zip holds an empty name ({name!r})")
    return parts, directory


def member_mode(external_attr):
    return 0o755 if (external_attr >> 16) & 0o111 else 0o644


def added_migrations(new, old):
    """Migration files the new release has and the old one had not."""
    return sorted(set(new) - set(old))


def releases_to_prune(releases, keep, protected):
    """``releases``: [(name, unpacked_at)]. Keeps ``keep`` in all, protected ones first,
    then the newest; returns the names to remove, oldest first."""
    kept = [name for name, _ in releases if name in protected]
    others = sorted((r for r in releases if r[0] not in protected), key=lambda r: r[1])
    room = max(keep - len(kept), 0)
    return [name for name, _ in (others[:-room] if room else others)]


def snapshots_to_prune(snapshots, keep, protected):
    """``snapshots``: [(name, mtime)]; the same rule as releases_to_prune."""
    return releases_to_prune(snapshots, keep, protected)


def parse_show(text):
    """``systemctl show -p A,B`` output -> {A: value}."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def exit_problem(props):
    """Why the unit is not running its app after a restart, or "" while it may still come up."""
    active, sub = props.get("ActiveState", ""), props.get("SubState", "")
    restarts = props.get("NRestarts", "0")
    status = props.get("ExecMainStatus", "")
    if active in ("failed", "inactive") or sub == "auto-restart" or restarts not in ("", "0"):
        code = f" with status {status}" if status not in ("", "0") else ""
        return f"the app exited{code} ({active}/{sub})"
    return ""


def unit_outdated(props, fragment_mtime, now_real, now_mono):
    """The unit file changed after the running process started (or systemd says reload)."""
    if props.get("NeedDaemonReload") == "yes":
        return True
    entered = props.get("ActiveEnterTimestampMonotonic", "0")
    if not entered.isdigit() or entered == "0" or fragment_mtime is None:
        return False
    started_real = now_real - (now_mono - int(entered) / 1e6)
    return fragment_mtime > started_real + 0.5


def unchanged(current, release, active, sha256, props):
    """Nothing to do: current is the release, the active record matches, the unit runs."""
    return (
        current == release
        and bool(active)
        and active.get("release") == release
        and active.get("sha256") == sha256
        and props.get("ActiveState") == "active"
    )


def health_answer(head):
    """(healthy, error) from the first bytes of an HTTP answer."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split()
    if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1] == "200":
        return True, ""
    return False, f"GET /api/health answered {line or 'nothing'!r}"


def joined(names):
    return ", ".join(names) if names else "nothing"


# ----------------------------------------------------------- inside P, as the app user


class Layout:
    def __init__(self, root):
        self.root = root
        self.releases = os.path.join(root, "releases")
        self.current = os.path.join(root, "current")
        self.data = os.path.join(root, "pb_data")
        self.backups = os.path.join(root, "backups")
        self.incoming = os.path.join(root, ".incoming")
        self.lock = os.path.join(root, LOCK)
        self.active = os.path.join(root, ACTIVE)

    def release(self, name):
        return os.path.join(self.releases, name)

    def partial(self, name):
        return os.path.join(self.releases, f".{name}.partial")

    def marker(self, name):
        return os.path.join(self.releases, name, MARKER)

    def zip(self, sha256):
        return os.path.join(self.incoming, sha256 + ".zip")

    def snapshot(self, deployment):
        return os.path.join(self.backups, deployment)


def read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def write_json(path, value):
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(value, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def remove_path(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dirs(layout):
    for path, mode in (
        (layout.releases, 0o755),
        (layout.data, 0o700),
        (layout.backups, 0o700),
        (layout.incoming, 0o700),
    ):
        os.makedirs(path, mode=mode, exist_ok=True)
    if os.stat(layout.data).st_uid == os.geteuid():
        os.chmod(layout.data, 0o700)


def look(layout, release):
    """What the host has: current, the release's marker, the active record."""
    try:
        current = release_of_link(os.readlink(layout.current), layout.root)
    except OSError:
        current = None
    marker = read_json(layout.marker(release)) if release else None
    return {"current": current, "marker": marker, "active": read_json(layout.active)}


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def receive_zip(layout, source_fd, sha256):
    """Copy an upload (an fd root opened) into .incoming/<sha256>.zip, checking its hash."""
    target = layout.zip(sha256)
    partial = target + ".partial"
    remove_path(partial)
    digest = hashlib.sha256()
    with os.fdopen(os.dup(source_fd), "rb") as src, open(partial, "xb") as out:
        src.seek(0)
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != sha256:
        os.unlink(partial)
        raise ReleaseError(f"the uploaded zip's sha256 is {digest.hexdigest()}, not {sha256}")
    os.replace(partial, target)


def check_space(layout, infos):
    needed = sum(info.file_size for info in infos)
    fs = os.statvfs(layout.releases)
    free = fs.f_bavail * fs.f_frsize
    if needed > free:
        raise ReleaseError(f"the release needs {needed} bytes, {layout.releases} has {free} free")


def extract(archive, infos, into):
    count = 0
    for info in infos:
        parts, directory = member_parts(info.filename, info.external_attr)
        target = os.path.join(into, *parts)
        if directory:
            os.makedirs(target, mode=0o755, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            fd = os.open(target, flags, member_mode(info.external_attr))
        except FileExistsError:
            raise ReleaseError(f"the zip holds {info.filename} twice") from None
        with os.fdopen(fd, "wb") as out, archive.open(info) as src:
            shutil.copyfileobj(src, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        count += 1
    return count


def unpack(layout, release, sha256, version_id, binary):
    """.incoming/<sha256>.zip -> releases/.<release>.partial -> releases/<release>."""
    source = layout.zip(sha256)
    if sha256_of(source) != sha256:
        os.unlink(source)
        raise ReleaseError(f"{source} does not have the sha256 {sha256}; it was removed")
    partial = layout.partial(release)
    remove_path(partial)
    os.mkdir(partial, 0o755)
    with zipfile.ZipFile(source) as archive:
        infos = archive.infolist()
        check_space(layout, infos)
        count = extract(archive, infos, partial)
    executable = os.path.join(partial, binary)
    if not os.path.isfile(executable) or os.path.islink(executable):
        raise ReleaseError(f"the zip has no {binary} at its root")
    os.chmod(executable, 0o755)  # noqa: S103 - the release's executable
    stamp = time.time()
    write_json(
        os.path.join(partial, MARKER),
        {
            "release": release,
            "sha256": sha256,
            "version_id": version_id,
            "files": count,
            "unpacked_at": stamp,
        },
    )
    fsync_dir(partial)
    final = layout.release(release)
    if os.path.lexists(final):
        stale = os.path.join(layout.releases, f".{release}.stale")
        remove_path(stale)
        os.rename(final, stale)
        os.rename(partial, final)
        remove_path(stale)
    else:
        os.rename(partial, final)
    fsync_dir(layout.releases)
    os.unlink(source)
    return count


def databases(folder):
    """SQLite databases (*.db) directly in ``folder``."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(n for n in names if n.endswith(".db") and os.path.isfile(os.path.join(folder, n)))


def snapshot(layout, deployment):
    """A consistent copy of every pb_data/*.db (sqlite3 backup API, the app may be running)
    into backups/<deployment>/; None when there is no database yet."""
    names = databases(layout.data)
    if not names:
        return None
    folder = layout.snapshot(deployment)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    for name in names:
        partial = os.path.join(folder, name + ".partial")
        remove_path(partial)
        source = sqlite3.connect(os.path.join(layout.data, name), timeout=30)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        os.replace(partial, os.path.join(folder, name))
    fsync_dir(folder)
    return folder


def move_databases_aside(layout, aside):
    """Move pb_data's databases (with -wal and -shm) into ``aside``; the app must be stopped."""
    os.makedirs(aside, mode=0o700, exist_ok=True)
    moved = []
    for name in databases(layout.data):
        for suffix in DB_SUFFIXES:
            path = os.path.join(layout.data, name + suffix)
            if os.path.lexists(path):
                os.replace(path, os.path.join(aside, name + suffix))
                moved.append(name + suffix)
    return moved


def stage_databases(layout, folder):
    """Copy ``folder``'s databases (and a -wal beside one) into pb_data as *.restore files;
    returns [(staged, final)]."""
    staged = []
    for name in databases(folder):
        for suffix in ("", "-wal"):
            source = os.path.join(folder, name + suffix)
            if os.path.isfile(source):
                final = os.path.join(layout.data, name + suffix)
                shutil.copyfile(source, final + ".restore")
                os.chmod(final + ".restore", 0o600)
                staged.append((final + ".restore", final))
    return staged


def has_databases(layout, folder):
    return bool(databases(folder))


def has_release(layout, name):
    return os.path.isfile(layout.marker(name))


def restore(layout, folder, aside):
    """Replace pb_data's databases with ``folder``'s, the current ones moved to ``aside``. The
    copies are made first, so pb_data lacks its databases only for a few renames."""
    if not databases(folder):
        raise ReleaseError(f"{folder} holds no database to restore")
    staged = stage_databases(layout, folder)
    move_databases_aside(layout, aside)
    for partial, final in staged:
        os.replace(partial, final)
    fsync_dir(layout.data)


def switch(layout, release):
    """Point current at releases/<release> atomically (a new link renamed over it)."""
    if not os.path.isfile(layout.marker(release)):
        raise ReleaseError(f"{layout.release(release)} is not a complete release")
    temporary = os.path.join(layout.root, f".current.{os.getpid()}")
    remove_path(temporary)
    os.symlink(os.path.join("releases", release), temporary)
    if os.path.isdir(layout.current) and not os.path.islink(layout.current):
        os.unlink(temporary)
        raise ReleaseError(f"{layout.current} is a directory, not a link; move it away")
    os.replace(temporary, layout.current)
    fsync_dir(layout.root)


def migrations(layout, release):
    try:
        names = os.listdir(os.path.join(layout.release(release), "pb_migrations"))
    except OSError:
        return []
    return sorted(name for name in names if not name.startswith("."))


def set_active(layout, record):
    if record is None:
        remove_path(layout.active)
    else:
        write_json(layout.active, record)


def prune(layout, keep_releases, keep_snapshots, protected, protected_snapshots):
    releases = []
    for name in os.listdir(layout.releases):
        if name.startswith(".") or not os.path.isdir(layout.release(name)):
            continue
        marker = read_json(layout.marker(name)) or {}
        stamp = marker.get("unpacked_at") or os.stat(layout.release(name)).st_mtime
        releases.append((name, float(stamp)))
    removed = releases_to_prune(releases, keep_releases, protected)
    for name in removed:
        remove_path(layout.release(name))
    snapshots = [
        (name, os.stat(layout.snapshot(name)).st_mtime)
        for name in os.listdir(layout.backups)
        if os.path.isdir(layout.snapshot(name))
    ]
    pruned = snapshots_to_prune(snapshots, keep_snapshots, set(protected_snapshots))
    for name in pruned:
        remove_path(layout.snapshot(name))
    return removed, pruned


def clean_partials(layout):
    """Leftovers of a cut-short call: uploads, half-unpacked releases, link temporaries."""
    removed = []
    for folder, keep in (
        (layout.incoming, lambda n: False),
        (layout.releases, lambda n: not n.startswith(".")),
        (layout.data, lambda n: not n.endswith(".restore")),
        (layout.root, lambda n: not n.startswith(".current.")),
    ):
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
            if not keep(name):
                remove_path(os.path.join(folder, name))
                removed.append(os.path.relpath(os.path.join(folder, name), layout.root))
    return removed


def remove_release(layout, name):
    if os.path.isdir(layout.release(name)):
        remove_path(layout.release(name))
        return True
    return False


# ----------------------------------------------------------------- the host, as root


class Host:
    """systemd, health probes, the lock and running work as the app user."""

    def __init__(self, user, group):
        try:
            account = pwd.getpwnam(user)
        except KeyError:
            raise ReleaseError(f"the app user {user} does not exist (run setup first)") from None
        try:
            self.gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise ReleaseError(f"the group {group} does not exist") from None
        self.user, self.uid = user, account.pw_uid
        self.lock_fd = None

    def run(self, argv):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "SYSTEMD_PAGER": ""}
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        return done.returncode, done.stdout, done.stderr

    def systemctl(self, *args):
        rc, out, err = self.run(["systemctl", *args])
        if rc != 0:
            raise ReleaseError(f"systemctl {' '.join(args)}: {(err or out).strip()}")
        return out

    def props(self, unit):
        keys = (
            "LoadState,ActiveState,SubState,NRestarts,ExecMainStatus,NeedDaemonReload,"
            "FragmentPath,ActiveEnterTimestampMonotonic"
        )
        return parse_show(self.run(["systemctl", "show", "-p", keys, unit])[1])

    def journal(self, unit, since, lines=5):
        """The app's own last output lines since ``since`` (epoch seconds), joined by " | "."""
        argv = [
            "journalctl",
            f"_SYSTEMD_UNIT={unit}",
            f"--since=@{int(since)}",
            "-n",
            str(lines),
            "-o",
            "cat",
            "--no-pager",
            "-q",
        ]
        return " | ".join(line.strip() for line in self.run(argv)[1].splitlines() if line.strip())

    def probe(self, port, timeout):
        """(healthy, error) of one GET /api/health (a bare socket: http.client alone takes
        longer to import than the whole probe)."""
        request = b"GET /api/health HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
                connection.sendall(request)
                head = connection.recv(64)
        except OSError as exc:
            return False, f"GET /api/health: {exc}"
        return health_answer(head)

    def lock(self, path, timeout):
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(path, flags, 0o600)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ReleaseError(f"{path} is not a regular file")
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    message = f"another call still holds {path} after {timeout:g}s"
                    raise ReleaseError(message) from None
                time.sleep(0.1)
        self.lock_fd = fd
        return fd

    def as_user(self, func, *args):
        """func(*args) in a child running as the app user; its return value must be JSON."""
        if os.geteuid() != 0 or self.uid == 0:
            return func(*args)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.close(read_end)
            os._exit(child(write_end, self.user, self.uid, self.gid, func, args))
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        os.waitpid(pid, 0)
        answer = json.loads(data.decode() or '{"error": "the worker died"}')
        if "error" in answer:
            raise ReleaseError(answer["error"])
        return answer["value"]


def child(write_end, user, uid, gid, func, args):  # pragma: no cover - runs in the child
    try:
        os.setgroups(os.getgrouplist(user, gid))
        os.setgid(gid)
        os.setuid(uid)
        os.umask(0o022)
        answer = {"value": func(*args)}
    except ReleaseError as exc:
        answer = {"error": str(exc)}
    except Exception as exc:  # reported to the parent as text
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    with os.fdopen(write_end, "wb") as pipe:
        pipe.write(json.dumps(answer).encode())
    return 0


def ensure_root(layout, host):
    """Create P (and its parents) and hand P to the app user."""
    parent = os.path.dirname(layout.root)
    # The app user must traverse the parents root creates here, whatever umask a hardened
    # login gave this session (lockdown's UMASK 027 would make them 0750 root:root).
    previous = os.umask(0o022)
    try:
        os.makedirs(parent, mode=0o755, exist_ok=True)
        if not os.path.lexists(layout.root):
            os.mkdir(layout.root, 0o755)
    finally:
        os.umask(previous)
    info = os.lstat(layout.root)
    if not stat.S_ISDIR(info.st_mode):
        raise ReleaseError(f"{layout.root} is not a directory")
    if os.geteuid() == 0 and (info.st_uid, info.st_gid) != (host.uid, host.gid):
        os.chown(layout.root, host.uid, host.gid, follow_symlinks=False)


# ----------------------------------------------------------------------------- the steps


class Release:
    """One call: the options, the host, the layout and the report it fills in."""

    def __init__(self, options, host):
        self.o = options
        self.host = host
        self.layout = Layout(options["path"])
        self.unit = unit_file_name(options["unit"])
        self.report = new_report(options["release"] or options["target"])
        self.report["uploaded"] = options["uploaded"]
        self.deployment = deployment_name(options["deployment_id"])
        self.restarted_at = time.time()

    def user(self, func, *args):
        return self.host.as_user(func, self.layout, *args)

    # --- prepare

    def prepare(self):
        o, report = self.o, self.report
        ensure_root(self.layout, self.host)
        self.host.lock(self.layout.lock, o["lock_timeout"])
        self.user(ensure_dirs)
        found = self.user(look, o["release"])
        report["previous"] = report["current"] = found["current"]
        marker = found["marker"] or {}
        if not o["sha256"]:
            o["sha256"] = recorded_sha256(o["release"], marker)
        if marker.get("sha256") == o["sha256"]:
            report["message"] = f"release {o['release']} is already on the host"
            return {"need_zip": False}
        dropped = self.layout.zip(o["sha256"])
        if o["zip_path"]:
            self.receive(o["zip_path"])
            report["uploaded"] = True
        elif os.path.isfile(dropped):  # put there by hand, perhaps as root
            self.receive(dropped)
        else:
            report["message"] = f"release {o['release']} needs its zip in {self.layout.incoming}"
            return {"need_zip": True}
        count = self.user(unpack, o["release"], o["sha256"], o["version_id"], o["binary"])
        report["changed"] = True
        report["message"] = f"release {o['release']} unpacked ({count} files)"
        return {"need_zip": False}

    def receive(self, zip_path):
        """Take over a zip: one in .incoming is handed to the app user, one in Ansible's temp
        dir is copied there (through an fd the app user could not open)."""
        fd = os.open(zip_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ReleaseError(f"{zip_path} is not a regular file")
            if os.path.dirname(zip_path) == self.layout.incoming:
                if os.geteuid() == 0:
                    os.fchown(fd, self.host.uid, self.host.gid)
                os.fchmod(fd, 0o600)
            else:
                self.user(receive_zip, fd, self.o["sha256"])
        finally:
            os.close(fd)

    # --- shared by activate, rollback and recover

    def begin(self, need_unit=True):
        ensure_root(self.layout, self.host)
        self.host.lock(self.layout.lock, self.o["lock_timeout"])
        self.user(ensure_dirs)
        found = self.user(look, self.o["release"])
        self.report["previous"] = self.report["current"] = found["current"]
        props = self.host.props(self.unit)
        if need_unit and props.get("LoadState") != "loaded":
            raise ReleaseError(
                f"the unit {self.unit} is not installed (LoadState {props.get('LoadState')}); "
                "install it first with the service role (service_state: installed)"
            )
        return found, props

    def is_unchanged(self, found, props):
        fragment = props.get("FragmentPath") or ""
        mtime = os.stat(fragment).st_mtime if os.path.isfile(fragment) else None
        outdated = unit_outdated(props, mtime, time.time(), time.monotonic())
        o = self.o
        same = unchanged(found["current"], o["release"], found["active"], o["sha256"], props)
        return same and not outdated and self.host.probe(o["port"], 2.0)[0]

    def switch_to(self, release):
        self.user(set_active, None)
        self.user(switch, release)
        self.report["current"] = release

    def restart(self):
        """reset-failed (fast redeploys must not hit the start limit), restart, wait for health;
        returns (healthy, why not)."""
        if self.host.props(self.unit).get("NeedDaemonReload") == "yes":
            self.host.systemctl("daemon-reload")
        self.host.run(["systemctl", "reset-failed", self.unit])
        self.restarted_at = time.time()
        try:
            self.host.systemctl("restart", self.unit)
        except ReleaseError as exc:
            return False, str(exc)
        o = self.o
        deadline = time.monotonic() + o["health_timeout"]
        while True:
            left = deadline - time.monotonic()
            healthy, error = self.host.probe(o["port"], max(min(2.0, left), 0.2))
            if healthy:
                return True, ""
            problem = exit_problem(self.host.props(self.unit))
            if problem or time.monotonic() >= deadline:
                return False, problem or f"no healthy answer in {o['health_timeout']:g}s ({error})"
            time.sleep(min(o["health_interval"], max(left, 0.01)))

    def failure(self, reason):
        """``reason`` with the app's last log lines, for health_error."""
        log = self.host.journal(self.unit, self.restarted_at - 1)
        return reason + (f"; last log lines: {log}" if log else "")

    def live(self, release):
        """Record the healthy release, so an unchanged redeploy can leave it alone."""
        marker = self.user(look, release)["marker"] or {}
        record = {key: marker.get(key) for key in ("release", "sha256", "version_id")}
        self.user(set_active, {**record, "deployment_id": self.deployment, "at": time.time()})
        self.report["healthy"] = True

    def stop(self):
        self.host.run(["systemctl", "stop", self.unit])

    def prune(self, previous):
        protected = sorted({self.report["current"], previous} - {None})
        o = self.o
        kept = sorted({self.deployment, o["restore_snapshot"]} - {""})
        removed, pruned = self.user(prune, o["keep_releases"], o["keep_snapshots"], protected, kept)
        self.report["removed"] += removed
        self.report["pruned_snapshots"] += pruned
        self.report["changed"] = self.report["changed"] or bool(removed or pruned)

    def end_on(self, release, data_from=None, aside=None):
        """Switch to ``release``, first copying ``data_from``'s databases into pb_data (the unit
        stopped, the ones there moved to ``aside``), restart; returns (healthy, why not)."""
        self.switch_to(release)
        if data_from:
            self.stop()
            self.user(restore, data_from, aside)
        self.report["changed"] = True
        return self.restart()

    # --- activate (deploy) and rollback

    def activate(self):
        """Deploy: snapshot, switch, restart, health; back to the previous release on failure.
        Rollback: the same with an existing release, optionally restoring a named snapshot."""
        o, report = self.o, self.report
        found, props = self.begin()
        if not o["sha256"]:
            o["sha256"] = recorded_sha256(o["release"], found["marker"] or {})
        if (found["marker"] or {}).get("sha256") != o["sha256"]:
            raise ReleaseError(f"releases/{o['release']} is missing or holds another zip")
        report["changed"] = report["uploaded"]
        previous, named = found["current"], o["restore_snapshot"]
        if not named and self.is_unchanged(found, props):
            report["healthy"] = True
            self.prune(previous)
            report["message"] = f"release {o['release']} is already live and healthy"
            return
        if named:
            data_from = self.layout.snapshot(named)
            report["snapshot"] = self.layout.snapshot(self.deployment)
            self.check_snapshot(named, data_from)
        else:
            data_from, report["snapshot"] = None, self.user(snapshot, self.deployment)
        healthy, error = self.end_on(o["release"], data_from, report["snapshot"])
        report.update(switched=previous != o["release"], restored_data=bool(named))
        if healthy:
            self.live(o["release"])
            self.prune(previous)
            report["message"] = f"release {o['release']} is live and healthy{self.notes(previous)}"
            return
        report["health_error"] = self.failure(error)
        self.go_back(previous, error)

    def check_snapshot(self, name, folder):
        if name == self.deployment:
            raise ReleaseError("restore_snapshot must name an earlier deployment than this one")
        if not self.user(has_databases, folder):
            raise ReleaseError(f"{folder} holds no database snapshot to restore")

    def notes(self, previous):
        report, o = self.report, self.o
        text = f" (was {previous or 'none'})"
        if report["restored_data"]:
            text += f"; data restored from backups/{o['restore_snapshot']}"
            text += f", the data it replaced is in {report['snapshot']}"
        elif report["snapshot"]:
            text += f"; data snapshot in {report['snapshot']}"
        if report["removed"]:
            text += f"; removed releases {joined(report['removed'])}"
        return text

    def go_back(self, previous, error):
        """After a failed health check: end on ``previous`` with the data it had."""
        o, report = self.o, self.report
        failed = f"release {o['release']} failed its health check: {error}"
        if not previous or previous == o["release"]:
            self.stop()
            report["message"] = f"{failed}; no earlier release to go back to, {self.unit} stopped"
            return
        added, data_from, aside = [], None, None
        if o["restore_snapshot"]:  # rollback: put back the data it moved aside
            data_from = report["snapshot"]
            aside = os.path.join(data_from, "failed-" + o["release"])
        elif report["snapshot"]:  # deploy: restore the snapshot if migrations were added
            added = added_migrations(
                self.user(migrations, o["release"]), self.user(migrations, previous)
            )
            data_from = report["snapshot"] if added else None
            aside = os.path.join(report["snapshot"], "failed-" + o["release"])
        healthy, again = self.end_on(previous, data_from, aside)
        report.update(switched=False, rolled_back=True, restored_data=bool(added))
        data = f"; data restored from {data_from} (it added {joined(added)})" if added else ""
        if healthy:
            self.live(previous)
            report["message"] = f"{failed}; back on {previous}, which is healthy{data}"
        else:
            report["message"] = f"{failed}; back on {previous}, also unhealthy ({again}){data}"

    def rollback(self):
        self.activate()

    # --- recover

    def recover(self):
        """Wait for a call still running, clean up, end on target, remove drop."""
        o, report = self.o, self.report
        found, props = self.begin(need_unit=bool(o["target"]))
        report["release"] = o["target"] or found["current"] or ""
        cleaned = self.user(clean_partials)
        report["changed"] = bool(cleaned)
        before = found["current"]
        if o["target"]:
            self.recover_to(o["target"], before, props)
        else:
            self.recover_without_target(before, props)
        droppable = o["drop"] not in ("", report["current"], o["target"])
        if droppable and self.user(remove_release, o["drop"]):
            report["removed"].append(o["drop"])
            report["changed"] = True
        found_text = f"current was {before or 'unset'}; cleaned {joined(cleaned)}"
        report["message"] = f"{report['message']} ({found_text})"

    def recover_to(self, target, before, props):
        report = self.report
        if not self.user(has_release, target):
            raise ReleaseError(f"the target release {target} is not on the host")
        running = before == target and props.get("ActiveState") == "active"
        if running and self.host.probe(self.o["port"], 2.0)[0]:
            self.live(target)
            report["message"] = f"{target} is live and healthy"
            return
        added = self.added_since(before, target) if before != target else []
        data_from = report["snapshot"] if added else None
        aside = os.path.join(report["snapshot"], f"failed-{before}") if added else None
        healthy, error = self.end_on(target, data_from, aside)
        report.update(switched=before != target, restored_data=bool(added))
        data = f", data restored from {data_from}" if added else ""
        if healthy:
            self.live(target)
            report["message"] = f"restarted on {target}, healthy{data}"
        else:
            report["health_error"] = self.failure(error)
            report["message"] = f"restarted on {target}, unhealthy ({error}){data}"

    def added_since(self, before, target):
        """Migrations ``before`` added over ``target`` when this deployment's snapshot exists
        (the cancelled switch may have applied them)."""
        folder = self.layout.snapshot(self.deployment)
        if not before or not self.o["deployment_id"] or not self.user(has_databases, folder):
            return []
        added = added_migrations(self.user(migrations, before), self.user(migrations, target))
        self.report["snapshot"] = folder if added else None
        return added

    def recover_without_target(self, before, props):
        """A first deploy cut short: keep a healthy app, otherwise stop the unit (if any)."""
        report = self.report
        active = props.get("ActiveState") == "active"
        if before and active and self.host.probe(self.o["port"], 2.0)[0]:
            report.update(healthy=True, message=f"kept {before}, which is healthy")
        elif props.get("LoadState") == "loaded" and props.get("ActiveState") != "inactive":
            self.stop()
            report.update(changed=True, message=f"no release to end on; stopped {self.unit}")
        else:
            report["message"] = "no release to end on; nothing runs"

    def perform(self):
        """Run the call's state; returns the extra result keys (prepare's need_zip)."""
        if self.o["state"] == "prepare":
            return self.prepare()
        getattr(self, self.o["state"])()
        return {}


def outcome(extra, report, options):
    """The module's answer: failed when the app ends unhealthy after switching releases (a
    recover without target only cleans up and is not expected to leave an app running)."""
    state = options["state"]
    failed = state in ("activate", "rollback") or (state == "recover" and options["target"])
    answer = {"changed": report["changed"], "report": report, "msg": report["message"], **extra}
    if failed and not report["healthy"]:
        answer["failed"] = True
    return answer


def predict(raw, report):
    """Check mode: whether a real call would change the host, found by reading only."""
    try:
        options = parse_options(raw)
    except ReleaseError as exc:
        report["message"] = str(exc)
        return {"failed": True, "changed": False, "msg": str(exc), "report": report}
    state, release = options["state"], options["release"]
    found = look(Layout(options["path"]), release) if state != "recover" else {"current": None}
    marker = found.get("marker") or {}
    on_host = bool(marker) and marker.get("sha256") == (options["sha256"] or marker.get("sha256"))
    live = on_host and found["current"] == release and not options["restore_snapshot"]
    changed = {"prepare": not on_host, "activate": not live, "rollback": not live}.get(state, False)
    report.update(previous=found["current"], current=found["current"], changed=changed)
    what = f"release {release} would be put on the host" if state == "prepare" else (
        f"release {release} would go live")
    report["message"] = "check mode: " + (what if changed else "nothing would change")
    return {"changed": changed, "msg": report["message"], "report": report}


def load_args(argv):
    if not ARGS_JSON.startswith("<<"):
        return json.loads(ARGS_JSON)
    if len(argv) < 2:
        raise ReleaseError("usage: release.py ARGS.json")
    with open(argv[1], encoding="utf-8") as handle:
        return json.load(handle)


def answer_for(raw, host=None):
    """The whole call: options, work, and an answer that carries the report even on errors."""
    report = new_report(str(raw.get("release") or raw.get("target") or ""))
    if as_bool(raw.get("_ansible_check_mode")):
        return predict(raw, report)
    try:
        options = parse_options(raw)
        release = Release(options, host or Host(options["user"], options["group"]))
        report = release.report
        return outcome(release.perform(), report, options)
    except ReleaseError as exc:
        message = str(exc)
    except Exception as exc:  # every failure must still carry the report
        message = f"{type(exc).__name__}: {exc}"
    report["message"] = message
    return {"failed": True, "changed": report["changed"], "msg": message, "report": report}


def main(argv=None):
    try:
        raw = load_args(sys.argv if argv is None else argv)
    except (OSError, ValueError, ReleaseError) as exc:
        raw, answer = None, {"failed": True, "msg": f"cannot read the arguments: {exc}"}
    if raw is not None:
        answer = answer_for(raw)
    sys.stdout.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

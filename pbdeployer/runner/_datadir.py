"""One private data dir per run, in ansible-runner's layout, and the pruning of old ones.

``runs/<run_id>/`` holds ``env/`` (envvars, settings, extravars, an empty ansible.cfg),
``inventory/hosts.yml``, ``project/`` (links to the content's playbooks and roles),
``collections/ansible_collections/pbdeployer/pocketbase`` (a link to the content root, the
collection the playbooks name their roles and plugins from), ``artifacts/<run_id>/``
(ansible-runner's job events) and ``tmp/``. No key material is ever written: servers name key
files, which the inventory references by path.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Collection
from pathlib import Path

import msgspec

from pbdeployer.content import COLLECTION_NAME, COLLECTION_NAMESPACE, ContentPaths

DONE_MARKER = ".done"
PRIVATE_VARS = "private-vars.yml"
_CFG = "# Settings for this run come from env/envvars (ANSIBLE_* variables).\n[defaults]\n"
# ansible-runner reads these from env/settings; output goes to our event handler only.
_RUNNER_SETTINGS = {
    "suppress_output_file": True,
    "suppress_ansible_output": True,
    "pexpect_timeout": 0.25,
    "pexpect_use_poll": True,
}


class RunFiles(msgspec.Struct, frozen=True, kw_only=True):
    """What goes into a run's data dir; all text is already rendered and checked."""

    envvars: dict[str, str]
    inventory: str
    extravars: str
    private_vars: str = ""
    """Secret extra variables (YAML); written to ``PRIVATE_VARS`` only while they are read."""


class RunPaths(msgspec.Struct, frozen=True, kw_only=True):
    root: Path
    run_id: str

    @classmethod
    def under(cls, runs_dir: Path, run_id: str) -> RunPaths:
        return cls(root=runs_dir.resolve() / run_id, run_id=run_id)

    @property
    def env(self) -> Path:
        return self.root / "env"

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def collections(self) -> Path:
        """The run's ANSIBLE_COLLECTIONS_PATH entry."""
        return self.root / "collections"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts" / self.run_id

    @property
    def private_vars(self) -> Path:
        return self.root / PRIVATE_VARS


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_data_dir(paths: RunPaths, files: RunFiles, content: ContentPaths) -> None:
    """Create the run's private data dir (mode 0700, files 0600)."""
    paths.root.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths.root.mkdir(mode=0o700)
    for sub in ("env", "inventory", "project", "tmp", "artifacts"):
        (paths.root / sub).mkdir(mode=0o700)
    _write(paths.env / "envvars", json.dumps(files.envvars, indent=2))
    _write(paths.env / "settings", json.dumps(_RUNNER_SETTINGS, indent=2))
    _write(paths.env / "extravars", files.extravars)
    _write(paths.env / "ansible.cfg", _CFG)
    _write(paths.root / "inventory" / "hosts.yml", files.inventory)
    if files.private_vars:
        _write(paths.private_vars, files.private_vars)
    (paths.project / "playbooks").symlink_to(content.playbooks, target_is_directory=True)
    (paths.project / "roles").symlink_to(content.roles, target_is_directory=True)
    namespace = paths.collections / "ansible_collections" / COLLECTION_NAMESPACE
    namespace.mkdir(mode=0o700, parents=True)
    (namespace / COLLECTION_NAME).symlink_to(content.root, target_is_directory=True)


def mark_done(paths: RunPaths) -> None:
    (paths.root / DONE_MARKER).touch(mode=0o600)


def prune_runs(
    runs_dir: Path, keep: int, active: Collection[str], stale_after: float
) -> list[Path]:
    """Remove all but the newest ``keep`` finished runs; return what was removed.

    Run ids sort by creation time. A run counts as finished when it carries the done marker
    or is older than ``stale_after`` seconds (its process died); active runs are never touched.
    """
    if not runs_dir.is_dir():
        return []
    entries = sorted(
        (p for p in runs_dir.iterdir() if p.is_dir() and not p.is_symlink()), key=lambda p: p.name
    )
    removed = []
    now = time.time()
    for path in entries[: max(len(entries) - max(keep, 1), 0)]:
        if path.name in active:
            continue
        finished = (path / DONE_MARKER).exists() or now - path.stat().st_mtime > stale_after
        if finished:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def remove_private_vars(paths: RunPaths) -> None:
    """ansible-playbook reads extra variables once, at start: past its first event the file
    is no longer needed, and it never outlives the run."""
    paths.private_vars.unlink(missing_ok=True)


def remove_partials(paths: RunPaths) -> None:
    """Drop the callback's unmerged event files a killed run leaves behind (unredacted data)."""
    events = paths.artifacts / "job_events"
    for partial in events.glob("*-partial.json") if events.is_dir() else ():
        partial.unlink(missing_ok=True)

"""The private data dir of a run, and pruning of old runs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pbdeployer.content import content_paths
from pbdeployer.models.ids import new_id
from pbdeployer.runner._datadir import (
    DONE_MARKER,
    RunFiles,
    RunPaths,
    mark_done,
    prune_runs,
    remove_partials,
    write_data_dir,
)


def make_run(runs: Path, *, done: bool = True, at_ms: int | None = None) -> RunPaths:
    paths = RunPaths.under(runs, new_id(at_ms))
    files = RunFiles(envvars={"A": "1"}, inventory="all: {}\n", extravars='x: !unsafe "y"\n')
    write_data_dir(paths, files, content_paths())
    if done:
        mark_done(paths)
    return paths


def test_layout_and_permissions(tmp_path: Path) -> None:
    paths = make_run(tmp_path / "runs", done=False)
    root = paths.root
    assert sorted(p.name for p in root.iterdir()) == [
        "artifacts", "collections", "env", "inventory", "project", "tmp",
    ]  # fmt: skip
    assert root.stat().st_mode & 0o777 == 0o700
    assert json.loads((root / "env" / "envvars").read_text()) == {"A": "1"}
    settings = json.loads((root / "env" / "settings").read_text())
    assert settings["suppress_output_file"] is True
    assert settings["suppress_ansible_output"] is True
    assert (root / "env" / "extravars").read_text() == 'x: !unsafe "y"\n'
    assert (root / "inventory" / "hosts.yml").read_text() == "all: {}\n"
    for name in ("envvars", "settings", "extravars", "ansible.cfg"):
        assert (root / "env" / name).stat().st_mode & 0o777 == 0o600
    assert (root / "project" / "playbooks").resolve() == content_paths().playbooks
    assert (root / "project" / "roles").resolve() == content_paths().roles
    assert (root / "project" / "playbooks" / "ping.yml").is_file()
    collection = root / "collections" / "ansible_collections" / "pbdeployer" / "pocketbase"
    assert collection.resolve() == content_paths().root
    assert (collection / "plugins" / "modules" / "release.py").is_file()


def test_prune_keeps_the_newest_finished_runs(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    now = int(time.time() * 1000)
    made = [make_run(runs, at_ms=now - 10_000 + i) for i in range(5)]
    removed = prune_runs(runs, keep=2, active=set(), stale_after=3600)
    assert removed == [p.root for p in made[:3]]
    assert sorted(p.name for p in runs.iterdir()) == [p.run_id for p in made[3:]]


def test_prune_never_touches_active_or_unfinished_runs(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    now = int(time.time() * 1000)
    active = make_run(runs, done=False, at_ms=now - 3000)
    unfinished = make_run(runs, done=False, at_ms=now - 2000)
    finished = make_run(runs, at_ms=now - 1000)
    newest = make_run(runs, at_ms=now)
    removed = prune_runs(runs, keep=1, active={active.run_id}, stale_after=3600)
    assert removed == [finished.root]
    assert {p.name for p in runs.iterdir()} == {active.run_id, unfinished.run_id, newest.run_id}


def test_prune_removes_stale_runs_of_dead_processes(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    old = make_run(runs, done=False)
    hour_ago = time.time() - 3600
    os.utime(old.root, (hour_ago, hour_ago))
    make_run(runs)
    assert prune_runs(runs, keep=1, active=set(), stale_after=600) == [old.root]


def test_prune_keeps_at_least_one_and_never_follows_links(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    only = make_run(runs)
    assert prune_runs(runs, keep=0, active=set(), stale_after=0) == []
    assert (only.root / DONE_MARKER).exists()
    assert (only.project / "playbooks" / "ping.yml").exists()
    second = make_run(runs)
    assert prune_runs(runs, keep=1, active=set(), stale_after=3600) == [only.root]
    assert (content_paths().playbooks / "ping.yml").exists()
    assert second.root.exists()


def test_remove_partials(tmp_path: Path) -> None:
    paths = make_run(tmp_path / "runs")
    events = paths.artifacts / "job_events"
    events.mkdir(parents=True)
    (events / "abc-partial.json").write_text("{}")
    (events / "1-abc.json").write_text("{}")
    remove_partials(paths)
    assert [p.name for p in events.iterdir()] == ["1-abc.json"]

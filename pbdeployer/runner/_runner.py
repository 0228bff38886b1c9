"""``Runner``: the one place pbdeployer runs Ansible.

``start`` checks and renders everything first (bad input raises ``InvalidInput`` before any
process starts), then runs the playbook in its own thread and returns a ``RunHandle`` at once.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Sequence
from pathlib import Path

from pbdeployer.content import ContentPaths, content_paths, playbook_path
from pbdeployer.errors import FieldProblem, InvalidInput
from pbdeployer.inventory import dump_untrusted_yaml, host_alias, render_inventory
from pbdeployer.models.ids import new_id
from pbdeployer.models.run import PlaybookInvocation, RunCredentials
from pbdeployer.models.servers import Server
from pbdeployer.runner._datadir import RunFiles, RunPaths, prune_runs
from pbdeployer.runner._env import ansible_env, control_dir
from pbdeployer.runner._handle import RunHandle
from pbdeployer.runner._procs import control_socket, kill_run_processes, marked_runs
from pbdeployer.runner._redact import has_key_material
from pbdeployer.runner._state import Limits, RunState
from pbdeployer.runner._worker import RunJob, RunWorker
from pbdeployer.settings import Settings

_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LIMIT = re.compile(r"^[A-Za-z0-9_.:,*!&]+$")
_TAG = re.compile(r"^[A-Za-z0-9_.-]+$")


class Runner:
    """Runs playbooks against servers; one instance per process, shared by all tasks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._active: dict[str, RunHandle] = {}
        self._lock = threading.Lock()

    def start(
        self,
        invocation: PlaybookInvocation,
        servers: Sequence[Server],
        credentials: RunCredentials | None = None,
    ) -> RunHandle:
        """Start a run in the background; must be called from a running event loop."""
        loop = asyncio.get_running_loop()
        credentials = credentials or RunCredentials()
        content = content_paths()
        job = self._job(invocation, servers, credentials, content)
        handle = RunHandle(job.paths.run_id, job.paths.root, loop)
        state = RunState(job.paths.run_id, {host_alias(s.id): s for s in servers})
        with self._lock:
            self._active[job.paths.run_id] = handle
        worker = RunWorker(job, state, handle, self._finished)
        threading.Thread(target=worker, name=f"run-{job.paths.run_id}", daemon=True).start()
        return handle

    def _job(
        self,
        invocation: PlaybookInvocation,
        servers: Sequence[Server],
        credentials: RunCredentials,
        content: ContentPaths,
    ) -> RunJob:
        _check_invocation(invocation, servers, credentials)
        playbook = _playbook_argument(invocation.playbook, content)
        inventory = render_inventory(servers)
        extravars = dump_untrusted_yaml(invocation.extravars, "extravars")
        if has_key_material(extravars):
            raise InvalidInput.single("extravars", "must not contain private key material")
        paths = RunPaths.under(self.settings.runs_dir, new_id())
        control = control_dir(self.settings)
        envvars = ansible_env(
            self.settings,
            run_id=paths.run_id,
            run_dir=paths.root,
            control=control,
            credentials=credentials,
            use_agent=any(s.use_ssh_agent for s in servers),
        )
        limits = Limits(
            run_timeout=self.settings.run_timeout_seconds,
            idle_timeout=self.settings.run_idle_timeout_seconds,
            known_hosts=self.settings.known_hosts_file.resolve(),
        )
        files = RunFiles(
            envvars=envvars,
            inventory=inventory,
            extravars=extravars,
            private_vars=dump_untrusted_yaml(invocation.private_vars, "private_vars")
            if invocation.private_vars
            else "",
        )
        return RunJob(
            paths=paths,
            files=files,
            content=content,
            playbook=playbook,
            invocation=invocation,
            limits=limits,
            sockets=tuple(
                control_socket(control, s.host, s.port, s.connection_user) for s in servers
            ),
        )

    def reap_orphans(self) -> int:
        """Kill processes left by runs of this data dir that no live handle owns.

        After a controller crash its ansible and ssh processes keep going; they would race the
        tasks that recovery marks interrupted. Returns how many runs had processes.
        """
        runs_dir = self.settings.runs_dir
        with self._lock:
            owned = set(self._active)
        orphans = [
            run_id
            for run_id in marked_runs()
            if run_id not in owned and (runs_dir / run_id).is_dir()
        ]
        for run_id in orphans:
            kill_run_processes(run_id)
        return len(orphans)

    def control_connections(self) -> int:
        """SSH master connections kept open for reuse (sockets in the control directory)."""
        return sum(1 for path in control_dir(self.settings).iterdir() if path.is_socket())

    @property
    def active_runs(self) -> int:
        with self._lock:
            return len(self._active)

    def cancel_all(self) -> int:
        """Cancel every run still going (e.g. on shutdown); return how many there were."""
        with self._lock:
            handles = list(self._active.values())
        for handle in handles:
            handle.cancel()
        return len(handles)

    def _finished(self, run_id: str) -> None:
        with self._lock:
            self._active.pop(run_id, None)
            active = set(self._active)
        prune_runs(
            self.settings.runs_dir,
            self.settings.run_artifacts_keep,
            active,
            stale_after=self.settings.run_timeout_seconds + 60,
        )


def _playbook_argument(name: str, content: ContentPaths) -> str:
    """The playbook as ansible-playbook sees it from ``project/``; outside paths stay absolute."""
    path = playbook_path(name)
    if content.playbooks in path.parents:
        return str(Path("playbooks") / path.relative_to(content.playbooks))
    return str(path)


def _check_invocation(
    invocation: PlaybookInvocation, servers: Sequence[Server], credentials: RunCredentials
) -> None:
    problems = [
        FieldProblem(field=f"{name}.{key}", reason="must be a plain variable name")
        for name, variables in (
            ("extravars", invocation.extravars),
            ("private_vars", invocation.private_vars),
        )
        for key in variables
        if not (isinstance(key, str) and _VAR_NAME.match(key))
    ]
    if invocation.limit is not None and not _LIMIT.match(invocation.limit):
        problems.append(FieldProblem(field="limit", reason="must be a host pattern of names"))
    problems += [
        FieldProblem(field="tags", reason=f"{tag!r} is not a plain tag name")
        for tag in invocation.tags
        if not _TAG.match(tag)
    ]
    if any(s.use_ssh_agent for s in servers) and not credentials.ssh_auth_sock:
        problems.append(
            FieldProblem(
                field="credentials.ssh_auth_sock",
                reason="a server uses ssh-agent, but no agent socket was given",
            )
        )
    if problems:
        raise InvalidInput(problems)

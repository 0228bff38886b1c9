"""The thread that runs one playbook through ansible-runner.

Its per-event callback does little: redact the dict in place (ansible-runner writes the same
dict to ``job_events/`` afterwards), decode it, note it, and hand it to the event loop. The
cancel callback, polled by ansible-runner four times a second, is where cancel and both
timeouts take effect: it kills every process of the run, then tells ansible-runner to stop.
"""

from __future__ import annotations

import logging
import shlex
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ansible_runner
import msgspec

from pbdeployer.content import ContentPaths
from pbdeployer.models.run import PlaybookInvocation, RunFinished, RunOutcome, RunResult
from pbdeployer.runner._datadir import (
    RunFiles,
    RunPaths,
    mark_done,
    remove_partials,
    remove_private_vars,
    write_data_dir,
)
from pbdeployer.runner._env import reduce_environment
from pbdeployer.runner._events import decode_event
from pbdeployer.runner._handle import RunHandle
from pbdeployer.runner._procs import close_control_masters, kill_run_processes
from pbdeployer.runner._redact import (
    redact_in_place,
    redact_secrets,
    scrub_tree,
    secret_forms,
)
from pbdeployer.runner._state import Limits, RunState, StopReason, Verdict, decide

logger = logging.getLogger(__name__)


class RunJob(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the worker needs, checked and rendered before the thread starts."""

    paths: RunPaths
    files: RunFiles
    content: ContentPaths
    playbook: str
    invocation: PlaybookInvocation
    limits: Limits
    sockets: tuple[Path, ...] = ()
    """SSH control sockets of the run's hosts, closed when the run is stopped."""


class RunWorker:
    def __init__(
        self,
        job: RunJob,
        state: RunState,
        handle: RunHandle,
        on_exit: Callable[[str], None],
    ) -> None:
        self.job = job
        self.state = state
        self.handle = handle
        self.on_exit = on_exit
        self.started = datetime.now(UTC)
        self._t0 = time.monotonic()
        self._stop: StopReason | None = None
        self._read_private_vars = False
        self._secrets = secret_forms(job.invocation.redact)

    def __call__(self) -> None:
        rc: int | None = None
        verdict: Verdict | None = None
        try:
            write_data_dir(self.job.paths, self.job.files, self.job.content)
            if self.handle.cancel_requested:
                self._stop = StopReason.CANCELLED
            else:
                rc = self._run_ansible()
        except Exception as exc:  # anything unexpected still ends the run with a verdict
            logger.exception("run %s could not be carried out", self.job.paths.run_id)
            self._kill()
            message = f"The run could not be carried out: {exc}"
            verdict = Verdict(outcome=RunOutcome.FAILED, message=message)
        finally:
            self._finish(rc, verdict)

    def _run_ansible(self) -> int | None:
        invocation = self.job.invocation
        config = ansible_runner.RunnerConfig(
            private_data_dir=str(self.job.paths.root),
            playbook=self.job.playbook,
            ident=self.job.paths.run_id,
            limit=invocation.limit,
            tags=",".join(invocation.tags) or None,
            cmdline=self._private_vars_argument(),
            quiet=True,
        )
        config.prepare()
        config.env = reduce_environment(config.env, self.job.files.envvars)
        runner = ansible_runner.Runner(
            config, event_handler=self._on_event, cancel_callback=self._should_stop
        )
        _status, rc = runner.run()
        return rc if isinstance(rc, int) else None

    def _private_vars_argument(self) -> str | None:
        if not self.job.files.private_vars:
            return None
        return f"-e @{shlex.quote(str(self.job.paths.private_vars))}"

    def _on_event(self, raw: dict[str, Any]) -> bool:
        if not self._read_private_vars:  # read at start-up, before any event
            self._read_private_vars = True
            remove_private_vars(self.job.paths)
        redact_in_place(raw)
        redact_secrets(raw, self._secrets)
        self.state.last_output = time.monotonic()
        event = decode_event(
            raw,
            seq=self.state.next_seq(),
            run_id=self.job.paths.run_id,
            wanted=frozenset(self.job.invocation.result_facts),
        )
        if event is not None:
            self.state.observe(event)
            self.handle.publish(event)
        return True

    def _should_stop(self) -> bool:
        if self._stop is None:
            self._stop = self._stop_reason()
            if self._stop is not None:
                killed = self._kill()
                logger.info(
                    "run %s: %s, killed %d processes",
                    self.job.paths.run_id,
                    self._stop.value,
                    killed,
                )
        return self._stop is not None

    def _kill(self) -> int:
        killed = kill_run_processes(self.job.paths.run_id)
        close_control_masters(self.job.sockets)
        return killed

    def _stop_reason(self) -> StopReason | None:
        now = time.monotonic()
        if self.handle.cancel_requested:
            return StopReason.CANCELLED
        if now - self._t0 > self.job.limits.run_timeout:
            return StopReason.RUN_TIMEOUT
        if now - self.state.last_output > self.job.limits.idle_timeout:
            return StopReason.IDLE_TIMEOUT
        return None

    def _finish(self, rc: int | None, verdict: Verdict | None) -> None:
        """Clean the data dir, then always deliver a final event and a result."""
        run_id = self.job.paths.run_id
        try:
            self._clean()
            verdict = verdict or decide(self.state, rc, self._stop, self.job.limits)
        except Exception as exc:
            logger.exception("run %s: finishing failed", run_id)
            verdict = Verdict(outcome=RunOutcome.FAILED, message=f"Finishing the run failed: {exc}")
        final, result = self._ending(rc, verdict)
        logger.info("run %s (%s) ended %s in %.1f s", run_id, self.job.invocation.playbook,
                    verdict.outcome.value, result.duration_seconds)  # fmt: skip
        try:
            self.on_exit(run_id)
        except Exception:
            logger.exception("run %s: pruning old runs failed", run_id)
        self.handle.finish(final, result)

    def _clean(self) -> None:
        paths = self.job.paths
        remove_private_vars(paths)
        remove_partials(paths)
        for path in scrub_tree(paths.root, self._secrets):
            logger.warning("run %s: redacted key material or a secret in %s", paths.run_id, path)
        mark_done(paths)

    def _ending(self, rc: int | None, verdict: Verdict) -> tuple[RunFinished, RunResult]:
        seq = self.state.next_seq()
        now = datetime.now(UTC)
        final = RunFinished(
            seq=seq, run_id=self.job.paths.run_id, created=now, outcome=verdict.outcome,
            event_count=seq, message=verdict.message, host=verdict.host, task=verdict.task,
        )  # fmt: skip
        result = RunResult(
            run_id=self.job.paths.run_id, outcome=verdict.outcome, rc=rc, event_count=seq,
            started=self.started, finished=now, message=verdict.message, host=verdict.host,
            task=verdict.task, stats=self.state.stats, facts=self.state.facts,
        )  # fmt: skip
        return final, result

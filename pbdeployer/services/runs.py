"""Running one playbook against one server and waiting for it, for every host operation."""

from __future__ import annotations

from collections.abc import Callable

from pbdeployer.models import Server
from pbdeployer.models.run import PlaybookInvocation, RunCredentials, RunEvent, RunResult
from pbdeployer.runner import Runner

EventCallback = Callable[[RunEvent], None]


class HostRuns:
    """Starts a run, hands each event to an optional callback, and returns the result.

    Errors of the run (``RunFailed``, ``HostUnreachable`` ...) propagate to the caller.
    """

    def __init__(self, runner: Runner, credentials: RunCredentials) -> None:
        self._runner = runner
        self._credentials = credentials

    async def run(
        self,
        invocation: PlaybookInvocation,
        server: Server,
        on_event: EventCallback | None = None,
    ) -> RunResult:
        handle = self._runner.start(invocation, [server], self._credentials)
        async for event in handle.events():
            if on_event is not None:
                on_event(event)
        return await handle.result()

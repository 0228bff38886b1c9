"""Running one playbook against one server and waiting for it, for every host operation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from pbdeployer.errors import HostKeyChanged, HostUnreachable, RunFailed
from pbdeployer.models import Server, ServerReachability
from pbdeployer.models.run import PlaybookInvocation, RunCredentials, RunEvent, RunResult
from pbdeployer.runner import RunHandle, Runner

EventCallback = Callable[[RunEvent], None]
STOP_WAIT_SECONDS = 10.0
"""How long a stopped run may take to end; its processes are killed within about a second."""


async def stop_run(handle: RunHandle) -> None:
    """Cancel the run and wait (bounded, even while being cancelled) until it has ended."""
    if handle.done:
        return
    handle.cancel()
    ended = asyncio.ensure_future(handle.wait())
    await asyncio.wait({ended}, timeout=STOP_WAIT_SECONDS)
    if not ended.done():
        ended.cancel()


class HostRuns:
    """Starts a run, hands each event to an optional callback, and returns the result.

    Errors of the run (``RunFailed``, ``HostUnreachable`` ...) propagate to the caller.
    """

    def __init__(self, runner: Runner, credentials: RunCredentials) -> None:
        self._runner = runner
        self._credentials = credentials
        self.reachability: dict[str, ServerReachability] = {}
        """The last thing each server's runs showed about reaching it (for health)."""

    async def run(
        self,
        invocation: PlaybookInvocation,
        server: Server,
        on_event: EventCallback | None = None,
    ) -> RunResult:
        handle = self._runner.start(invocation, [server], self._credentials)
        return await self._follow(handle, server, on_event)

    async def _follow(
        self, handle: RunHandle, server: Server, on_event: EventCallback | None
    ) -> RunResult:
        try:
            async for event in handle.events():
                if on_event is not None:
                    on_event(event)
            result = await handle.result()
        except (HostUnreachable, HostKeyChanged) as exc:
            self._note(server, reachable=False, message=exc.message)
            raise
        except RunFailed:
            self._note(server, reachable=True, message="reached; a task failed")
            raise
        except BaseException:
            # The caller stopped waiting (a cancel, a timeout, a raising ``on_event``): the run
            # must not go on changing the host unobserved, nor outlive a script that exits.
            await stop_run(handle)
            raise
        self._note(server, reachable=True, message="reached")
        return result

    def _note(self, server: Server, *, reachable: bool, message: str) -> None:
        self.reachability[server.id] = ServerReachability(
            server_id=server.id,
            reachable=reachable,
            checked_at=datetime.now(UTC),
            message=message,
        )

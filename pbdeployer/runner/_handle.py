"""The caller's side of a run: typed events as an async iterator, the result, and cancel.

The worker thread hands events over with ``loop.call_soon_threadsafe``; nothing else crosses
threads except the cancel flag, a ``threading.Event`` that any thread may set.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from pbdeployer.models.run import RunEvent, RunFinished, RunResult


class RunHandle:
    """A started run. ``events()`` has one consumer; ``cancel()`` works from any thread."""

    def __init__(self, run_id: str, data_dir: Path, loop: asyncio.AbstractEventLoop) -> None:
        self.run_id = run_id
        self.data_dir = data_dir
        self._loop = loop
        self._queue: asyncio.Queue[RunEvent] = asyncio.Queue()
        self._result: asyncio.Future[RunResult] = loop.create_future()
        self._cancel = threading.Event()
        self._consumed = False

    def cancel(self) -> None:
        """Ask the run to stop; its processes are killed within about a second."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return self._result.done()

    def events(self) -> AsyncIterator[RunEvent]:
        """Every event in ``seq`` order, ending with (and including) ``RunFinished``.

        The stream has one consumer (fan-out is the events layer's job); a second call raises
        ``RuntimeError`` instead of waiting forever on an emptied queue.
        """
        if self._consumed:
            msg = f"the events of run {self.run_id} are already being consumed"
            raise RuntimeError(msg)
        self._consumed = True
        return self._drain()

    async def _drain(self) -> AsyncIterator[RunEvent]:
        while True:
            event = await self._queue.get()
            yield event
            if isinstance(event, RunFinished):
                return

    async def wait(self) -> RunResult:
        """The result, whatever the outcome."""
        return await asyncio.shield(self._result)

    async def result(self) -> RunResult:
        """The result of a successful run; otherwise raise the outcome's ``RunError``."""
        return (await self.wait()).raise_for_outcome()

    # Called from the worker thread.

    def publish(self, event: RunEvent) -> None:
        self._call(self._queue.put_nowait, event)

    def finish(self, final: RunFinished, result: RunResult) -> None:
        self._call(self._complete, final, result)

    def _complete(self, final: RunFinished, result: RunResult) -> None:
        self._queue.put_nowait(final)
        if not self._result.done():
            self._result.set_result(result)

    def _call(self, func: Callable[..., None], *args: object) -> None:
        # A closed loop means nobody is listening any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(func, *args)

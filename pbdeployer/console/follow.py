"""Follow a task live: a progress bar and its current step, and Ctrl-C that asks, then cancels.

The events come from the target (the library's event iterator, or the API's WebSocket resumed
with ``after``). On a terminal a rich progress bar shows them; otherwise each new step is one
plain line, so logs and pipes stay readable. ``--json`` shows nothing while it runs.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from pbdeployer.console.render import Output
from pbdeployer.errors import PbDeployerError
from pbdeployer.models.task_events import (
    DeploymentProgress,
    TaskEvent,
    TaskFinished,
    TaskProgress,
)
from pbdeployer.models.tasks import TaskStatus

Cancel = Callable[[], Awaitable[None]]


class View(Protocol):
    def show(self, percent: int | None, step: str) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...


class BarView:
    """A live bar on a terminal."""

    def __init__(self, out: Output, title: str) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[step]}"),
            console=out.console,
        )
        self._id: TaskID = self._bar.add_task(title, total=100, step="queued")
        self._bar.start()

    def show(self, percent: int | None, step: str) -> None:
        self._bar.update(self._id, completed=percent, step=step)

    def pause(self) -> None:
        self._bar.stop()

    def resume(self) -> None:
        self._bar.start()


class LineView:
    """One line per new step, for logs and pipes (and nothing with ``--json``)."""

    def __init__(self, out: Output, title: str) -> None:
        self._out = out
        self._last: tuple[int, str] = (0, "")
        out.say(f"{title}: queued")

    def show(self, percent: int | None, step: str) -> None:
        shown = (self._last[0] if percent is None else percent, step or self._last[1])
        if shown[1] != self._last[1]:
            self._out.say(f"[{shown[0]:>3}%] {shown[1]}")
        self._last = shown

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass


def view_for(out: Output, title: str) -> View:
    if out.console.is_terminal and not out.json:
        return BarView(out, title)
    return LineView(out, title)


async def _consume(events: AsyncIterator[TaskEvent], view: View) -> TaskFinished:
    async for event in events:
        if isinstance(event, TaskProgress):
            view.show(event.percent, event.step)
        elif isinstance(event, DeploymentProgress) and event.step:
            view.show(None, event.step)
        elif isinstance(event, TaskFinished):
            view.show(100 if event.status is TaskStatus.SUCCEEDED else None, str(event.status))
            return event
    raise RuntimeError("the event stream ended before the task finished")


async def follow(
    events: AsyncIterator[TaskEvent], out: Output, title: str, cancel: Cancel
) -> TaskFinished:
    """Show the events to the task's end; on Ctrl-C ask, and cancel when the answer is yes."""
    view = view_for(out, title)
    interrupted = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, interrupted.set)
    consumer = asyncio.ensure_future(_consume(events, view))
    try:
        while True:
            waiter = asyncio.ensure_future(interrupted.wait())
            await asyncio.wait({consumer, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if consumer.done():
                waiter.cancel()
                view.pause()
                return consumer.result()
            interrupted.clear()
            view.pause()
            if await _ask(out, f"Cancel {title}? [y/N] ", consumer):
                out.say("cancelling…")
                try:
                    await cancel()
                except PbDeployerError as exc:  # it ended meanwhile: follow it to its end
                    out.error(exc.message)
            view.resume()
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        consumer.cancel()


async def _ask(out: Output, question: str, consumer: asyncio.Future[TaskFinished]) -> bool:
    """Yes or no from stdin, read without blocking the loop; no once the task ends first."""
    out.errors.print(question, end="", markup=False)
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def read() -> None:
        if not answer.done():
            answer.set_result(sys.stdin.readline())

    try:
        fd = sys.stdin.fileno()
        loop.add_reader(fd, read)
    except (OSError, ValueError):  # no stdin, or a file the loop cannot watch
        out.errors.print()
        return False
    try:
        waits: list[asyncio.Future[Any]] = [answer, consumer]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        loop.remove_reader(fd)
    if not answer.done():
        out.errors.print()
        return False
    return answer.result().strip().lower() in ("y", "yes")

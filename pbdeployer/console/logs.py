"""``logs APP [-f]``: the app's journal lines, and with ``-f`` new ones as they come."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import datetime

import click

from pbdeployer.console import resolve
from pbdeployer.console.context import json_option, run
from pbdeployer.console.render import Output
from pbdeployer.console.target import Target
from pbdeployer.models import App, LogLine

POLL_SECONDS = 2.0


class _Seen:
    """Lines already shown: a read ``since`` the newest time repeats the lines at that time."""

    def __init__(self) -> None:
        self.since: datetime | None = None
        self._at_since: set[str] = set()

    def new(self, lines: list[LogLine]) -> list[LogLine]:
        fresh = [
            line
            for line in lines
            if self.since is None
            or line.time > self.since
            or (line.time == self.since and line.message not in self._at_since)
        ]
        for line in fresh:
            if self.since is None or line.time > self.since:
                self.since, self._at_since = line.time, set()
            self._at_since.add(line.message)
        return fresh


def _show(out: Output, lines: list[LogLine], *, stream: bool) -> None:
    if out.json and not stream:
        out.data(lines)
        return
    for line in lines:
        if out.json:
            out.data(line)
        else:
            out.console.print(f"{line.time:%Y-%m-%d %H:%M:%S} {line.message}", markup=False)


async def _tail(target: Target, out: Output, app: App, seen: _Seen, count: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)
                break
            lines = await target.logs(app.server_id, app.service_name, count, seen.since)
            _show(out, seen.new(lines), stream=True)
    finally:
        loop.remove_signal_handler(signal.SIGINT)


@click.command("logs")
@click.argument("app")
@click.option("-n", "--lines", "count", default=100, show_default=True, help="how many lines")
@click.option("-f", "--follow", "live", is_flag=True, help="keep printing new lines (Ctrl-C ends)")
@json_option
def logs(app: str, count: int, live: bool) -> None:
    """Print the journal lines of APP's service on its server."""

    async def body(target: Target, out: Output) -> None:
        found = await resolve.app(target, app)
        seen = _Seen()
        lines = seen.new(await target.logs(found.server_id, found.service_name, count, None))
        _show(out, lines, stream=live)
        if live:
            await _tail(target, out, found, seen, count)

    run(body)

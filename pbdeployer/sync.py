"""``SyncDeployer``: the library from synchronous code (scripts, notebooks, Django views).

It runs a ``Deployer`` on an event loop of its own in a background thread, so it works the
same in a plain script and where a loop is already running (a notebook cell, an async
framework's sync handler), where ``asyncio.run`` would refuse. Every service method is
called like the async one, without ``await``; an async iterator (``deployments.events``)
becomes a plain iterator.

>>> with SyncDeployer.open() as deployer:
...     server = deployer.servers.create(ServerCreate(name="web1", host="203.0.113.7"))
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from pbdeployer.deployer import Deployer
from pbdeployer.errors import WrongEventLoop
from pbdeployer.settings import Settings

T = TypeVar("T")
CLOSE_JOIN_SECONDS = 30.0
"""How long ``close`` waits for the loop thread after the deployer closed."""


class SyncDeployer:
    """A ``Deployer`` for synchronous code; its services answer without ``await``.

    ``deployer.servers.list()`` returns a ``Page[Server]``; errors are the same classes. Use
    it as a context manager, or call ``close()``. The underlying async ``Deployer`` is
    ``.deployer``: it belongs to the background loop, and awaiting it from another loop
    raises ``WrongEventLoop``.
    """

    def __init__(self, deployer: Deployer) -> None:
        self.deployer: Deployer = deployer
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="pbdeployer-sync", daemon=True
        )
        self._thread.start()
        self._closed = False

    @classmethod
    def open(cls, settings: Settings | None = None, *, read_only: bool = False) -> SyncDeployer:
        """Build and start a deployer (see ``Deployer.open``) on its own loop."""
        opened = cls(Deployer.open(settings, read_only=read_only))
        try:
            opened.call(opened.deployer.start())
        except BaseException:
            opened._stop_loop()
            raise
        return opened

    def call(self, awaitable: Awaitable[T]) -> T:
        """Run ``awaitable`` on this deployer's loop and return its result (or raise)."""
        problem = None
        if self._closed:
            problem = "this SyncDeployer is closed; open a new one"
        elif threading.current_thread() is self._thread:
            problem = "a SyncDeployer cannot be called from its own loop's thread"
        if problem is not None:
            if inspect.iscoroutine(awaitable):
                awaitable.close()  # never run: no "was never awaited" warning
            raise WrongEventLoop(problem)
        future: Future[T] = asyncio.run_coroutine_threadsafe(_awaited(awaitable), self._loop)
        return future.result()

    def iterate(self, iterator: AsyncIterator[T]) -> Iterator[T]:
        """Pull an async iterator of the deployer (events) from synchronous code."""
        while True:
            try:
                yield self.call(anext(iterator))
            except StopAsyncIteration:
                return

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.deployer, name)
        if name.startswith("_") or not hasattr(value, "__dict__") or callable(value):
            return value
        return _SyncService(value, self)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(dir(self.deployer)))

    def close(self) -> None:
        """Close the deployer (see ``Deployer.close``), then stop the loop thread."""
        if self._closed:
            return
        try:
            self.call(self.deployer.close())
        finally:
            self._closed = True
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CLOSE_JOIN_SECONDS)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> SyncDeployer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _SyncService:
    """One service of a ``SyncDeployer``: coroutine methods run to their result."""

    def __init__(self, service: object, owner: SyncDeployer) -> None:
        self._service = service
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._service, name)
        if inspect.iscoroutinefunction(value):
            return _blocking(value, self._owner.call)
        if inspect.isasyncgenfunction(value):
            return lambda *args, **kwargs: self._owner.iterate(value(*args, **kwargs))
        return value

    def __dir__(self) -> list[str]:
        return [name for name in dir(self._service) if not name.startswith("_")]


def _blocking(method: Callable[..., Awaitable[T]], call: Callable[[Awaitable[T]], T]) -> Any:
    def run(*args: Any, **kwargs: Any) -> T:
        return call(method(*args, **kwargs))

    run.__doc__ = method.__doc__
    run.__name__ = getattr(method, "__name__", "method")
    return run


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable

"""WebSocket ``/api/v1/ws``: task events as they happen, with replay of what a client missed.

The protocol (every message a JSON text frame, told apart by ``type``; docs/events.md):

1. Authenticate: send ``Authorization: Bearer <token>`` with the upgrade, or (browsers cannot
   set headers) make the first message ``{"type": "auth", "token": "..."}`` within 10 s, or
   (the dashboard) carry its login cookie from a page of the same host (``Origin``). The
   server answers ``{"type": "ready"}``; a wrong or missing token closes with 4001.
2. ``{"type": "subscribe", "topics": [{"topic": "task:ID", "after": 12}, ...]}``. A
   ``task:{id}`` topic replays the task's stored events after ``after``, then continues live,
   with no gap and no duplicate, up to its ``task_finished``. ``tasks``, ``server:{id}``,
   ``app:{id}`` and ``deployment:{id}`` are live only. ``unsubscribe`` takes topic names.
3. Events arrive as ``{"type": "event", "topic": ..., "event": {...}}``; ``ping`` every 20 s
   when idle; ``error`` for a refused message or topic (the socket stays open).

Events wait in a bounded buffer per connection; a replay waits for room in it, and so do the
server's answers (``subscribed``, ``error``): while they have no room the server reads no more
of the client's messages. While it is full, ``task_progress`` events are coalesced (only the
newest per topic waits). A client that keeps it full (never read down to half) for 10 s is too
slow: the socket closes with 4008 after a ``closing`` message naming, per ``task:`` topic, the
last ``seq`` delivered: subscribe again with those as ``after``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.handlers import WebsocketRouteHandler

from pbdeployer.api import session
from pbdeployer.errors import PbDeployerError
from pbdeployer.models.task_events import TaskEvent, TaskProgress
from pbdeployer.services.tasks import TaskQueue
from pbdeployer.validation import MAX_COUNTER

PING_SECONDS = 20.0
AUTH_SECONDS = 10.0
BUFFER_SIZE = 256
"""Events waiting for a slow client before progress is coalesced and then the socket closed."""
SLOW_SECONDS = 10.0
"""How long the buffer may stay full (not read down to half) before the socket is closed."""
MAX_TOPICS = 100
CLOSE_UNAUTHORIZED = 4001
CLOSE_TOO_SLOW = 4008
_MAX_REASON_BYTES = 123
_NO_TEXT = b""
_NO_TEXT_REASON = "an empty or binary frame; send each message as a JSON text frame"
_LIVE_KINDS = ("server", "app", "deployment")


class Subscription(Protocol):
    def messages(self) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...


class TopicFeed(Protocol):
    """Live encoded task events by topic (what the event log publishes to)."""

    async def subscribe(self, topics: Sequence[str]) -> Subscription: ...


class Auth(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="auth"):
    token: str


class TopicFrom(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    topic: str
    after: int = 0


class Subscribe(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="subscribe"):
    topics: list[TopicFrom]


class Unsubscribe(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="unsubscribe"):
    topics: list[str]


ClientMessage = Auth | Subscribe | Unsubscribe


class Ready(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="ready"):
    pass


class Subscribed(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="subscribed"):
    topic: str
    after: int


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="event"):
    topic: str
    event: TaskEvent


class Error(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="error"):
    code: str
    message: str
    topic: str | None = None


class Ping(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="ping"):
    pass


class Closing(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="closing"):
    code: int
    reason: str
    resume: dict[str, int]
    """Per ``task:`` topic, the last ``seq`` delivered: resubscribe with it as ``after``."""


ServerMessage = Ready | Subscribed | Event | Error | Ping | Closing
_client_decoder = msgspec.json.Decoder(ClientMessage)
_event_decoder = msgspec.json.Decoder(TaskEvent)
_encoder = msgspec.json.Encoder()


class Outbox:
    """The bounded buffer between a socket's topic followers and its sender.

    ``offer`` keeps each topic's order. When the buffer is full a ``TaskProgress`` waits aside
    (a newer one replaces it) and goes out before that topic's next event; any other event
    that does not fit marks the outbox ``overflowed``. ``put`` and ``control`` first wait for
    room, as long as the client reads the buffer down to half within ``patience`` seconds.
    """

    def __init__(self, size: int = BUFFER_SIZE, patience: float = SLOW_SECONDS) -> None:
        self.size = size
        self.patience = patience
        self.overflowed: bool = False
        self._items: deque[ServerMessage] = deque()
        self._aside: dict[str, Event] = {}
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._full_since: float | None = None

    def __len__(self) -> int:
        return len(self._items) + len(self._aside)

    async def control(self, message: ServerMessage) -> bool:
        """Queue a message of the protocol itself once there is room; ``False`` once too slow.

        Answers take room like events do: a client sending refused subscribes faster than it
        reads the errors is held to the same bound and patience as a slow reader.
        """
        await self._room_for(1)
        if self.overflowed or len(self._items) >= self.size:
            self.overflowed = True
        else:
            self._items.append(message)
        self._ready.set()
        return not self.overflowed

    def offer(self, topic: str, event: TaskEvent) -> bool:
        """Queue an event; ``False`` once the client is too slow to keep the stream whole."""
        message = Event(topic=topic, event=event)
        aside = self._aside.get(topic)
        if aside is not None and len(self._items) < self.size:
            del self._aside[topic]
            self._items.append(aside)
        if len(self._items) < self.size:
            self._items.append(message)
        elif isinstance(event, TaskProgress):
            self._aside[topic] = message
        else:
            self.overflowed = True
        self._ready.set()
        return not self.overflowed

    async def put(self, topic: str, event: TaskEvent) -> bool:
        """``offer`` once there is room (for a progress waiting aside too), or once too slow.

        Followers wait here rather than buffer more: a replay reads storage no faster than
        the client reads, and live events wait in their subscription only while the client
        still reads the buffer down to half within ``patience`` seconds.
        """
        if not isinstance(event, TaskProgress):
            await self._room_for(1 + (topic in self._aside))
        return self.offer(topic, event)

    async def _room_for(self, needed: int) -> None:
        """Until ``needed`` messages fit, the outbox overflowed, or patience ran out."""
        loop = asyncio.get_running_loop()
        while not self.overflowed and self.size - len(self._items) < needed:
            if self._full_since is None:
                self._full_since = loop.time()
            left = self._full_since + self.patience - loop.time()
            if left <= 0:
                break
            self._room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), left)

    async def get(self, idle_seconds: float) -> ServerMessage | None:
        """The next message, or ``None`` after ``idle_seconds`` with nothing to send."""
        if not self._items and not self._aside:
            self._ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), idle_seconds)
        if len(self._items) <= self.size // 2:
            self._full_since = None
        self._room.set()
        if self._items:
            return self._items.popleft()
        if self._aside:
            return self._aside.pop(next(iter(self._aside)))
        return None


def _token_matches(presented: str, token: str) -> bool:
    return hmac.compare_digest(presented.strip().encode(), token.encode())


async def _authenticate(socket: WebSocket[Any, Any, Any], token: str) -> bool:
    """The header's token, the dashboard's cookie from this host's page, or else a first
    ``auth`` message within ``AUTH_SECONDS``."""
    header = socket.headers.get("authorization", "")
    if header:
        scheme, _, presented = header.partition(" ")
        return scheme.lower() == "bearer" and _token_matches(presented, token)
    if session.COOKIE in socket.cookies:  # another site's page would carry it too: check Origin
        return session.same_origin(socket) and session.cookie_matches(socket, token)
    try:
        async with asyncio.timeout(AUTH_SECONDS):
            text = await socket.receive_text()
        message = _client_decoder.decode(text)
    except (TimeoutError, msgspec.DecodeError, WebSocketDisconnect):
        return False
    return isinstance(message, Auth) and _token_matches(message.token, token)


def _resume_reason(resume: dict[str, int]) -> str:
    """``slow client; resume task:ID=seq ...`` cut to what a close frame can carry."""
    reason = "slow client; resume"
    for topic, seq in resume.items():
        more = f" {topic}={seq}"
        if len((reason + more).encode()) > _MAX_REASON_BYTES:
            break
        reason += more
    return reason


class Session:
    """One authenticated connection: its subscriptions, its outbox and its sender."""

    def __init__(self, socket: WebSocket[Any, Any, Any], queue: TaskQueue, feed: TopicFeed) -> None:
        self._socket = socket
        self._queue = queue
        self._feed = feed
        self._outbox = Outbox(BUFFER_SIZE, SLOW_SECONDS)
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._delivered: dict[str, int] = {}

    async def run(self) -> None:
        await self._send(Ready())
        sender = asyncio.create_task(self._send_loop())
        jobs = [sender, asyncio.create_task(self._receive_loop())]
        try:
            await asyncio.wait(jobs, return_when=asyncio.FIRST_COMPLETED)
            if self._outbox.overflowed and not sender.done():
                await asyncio.wait([sender])  # it says why it closes once the client reads
        finally:
            everything = [*jobs, *self._followers.values()]
            for job in everything:
                job.cancel()
            await asyncio.gather(*everything, return_exceptions=True)

    async def _send(self, message: ServerMessage) -> None:
        await self._socket.send_text(_encoder.encode(message).decode())

    async def _send_loop(self) -> None:
        while not self._outbox.overflowed:
            message = await self._outbox.get(PING_SECONDS)
            await self._send(message or Ping())
            if isinstance(message, Event) and message.topic.startswith("task:"):
                self._delivered[message.topic] = message.event.seq
        reason = _resume_reason(self._delivered)
        await self._send(Closing(code=CLOSE_TOO_SLOW, reason=reason, resume=self._delivered))
        await self._socket.close(code=CLOSE_TOO_SLOW, reason=reason)

    async def _receive_loop(self) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                text = await self._socket.receive_text()  # "" for a binary frame
                try:
                    message = _client_decoder.decode(text or _NO_TEXT)
                except (msgspec.DecodeError, RecursionError) as exc:
                    reason = _NO_TEXT_REASON if not text else str(exc)
                    answered = await self._outbox.control(Error(code="bad_message", message=reason))
                else:
                    answered = await self._handle(message)
                if not answered:
                    return

    async def _handle(self, message: ClientMessage) -> bool:
        """Act on one message; ``False`` once the client is too slow to take the answers."""
        if isinstance(message, Subscribe):
            for wanted in message.topics:
                if not await self._subscribe(wanted):
                    return False
        elif isinstance(message, Unsubscribe):
            for topic in message.topics:
                follower = self._followers.pop(topic, None)
                if follower is not None:
                    follower.cancel()
        else:
            return await self._outbox.control(
                Error(code="bad_message", message="already authenticated")
            )
        return True

    async def _subscribe(self, wanted: TopicFrom) -> bool:
        topic = wanted.topic
        problem = self._refusal(wanted)
        if problem is not None:
            return await self._outbox.control(
                Error(code=problem[0], message=problem[1], topic=topic)
            )
        if topic.startswith("task:"):
            job = self._follow_task(topic, topic.removeprefix("task:"), wanted.after)
        else:
            job = self._follow_live(topic)
        self._followers[topic] = asyncio.create_task(job)
        return True

    def _refusal(self, wanted: TopicFrom) -> tuple[str, str] | None:
        topic = wanted.topic
        kind, _, ident = topic.partition(":")
        live = topic == "tasks" or (kind in _LIVE_KINDS and bool(ident))
        if not (live or (kind == "task" and ident)):
            return "bad_topic", "a topic is tasks, task:ID, server:ID, app:ID or deployment:ID"
        if not 0 <= wanted.after <= MAX_COUNTER:
            return "bad_topic", f"after must be between 0 and {MAX_COUNTER}"
        if topic in self._followers and not self._followers[topic].done():
            return "already_subscribed", "unsubscribe first to subscribe again"
        if sum(not job.done() for job in self._followers.values()) >= MAX_TOPICS:
            return "too_many_topics", f"at most {MAX_TOPICS} topics per connection"
        return None

    async def _follow_task(self, topic: str, task_id: str, after: int) -> None:
        try:
            await self._queue.get(task_id)
            if not await self._outbox.control(Subscribed(topic=topic, after=after)):
                return
            async for event in self._queue.events(task_id, after):
                if not await self._outbox.put(topic, event):
                    return
        except PbDeployerError as exc:
            await self._outbox.control(Error(code=exc.code, message=exc.message, topic=topic))

    async def _follow_live(self, topic: str) -> None:
        subscription = await self._feed.subscribe([topic])
        try:
            if not await self._outbox.control(Subscribed(topic=topic, after=0)):
                return
            async for data in subscription.messages():
                if not await self._outbox.put(topic, _event_decoder.decode(data)):
                    return
        finally:
            await subscription.close()


def events_socket(token: str, queue: TaskQueue, feed: TopicFeed) -> WebsocketRouteHandler:
    """The ``/ws`` handler; it checks the token itself, so it can also come as a message."""

    @websocket("/ws", opt={"public": True}, name="events")
    async def events(socket: WebSocket[Any, Any, Any]) -> None:
        await socket.accept()
        if not await _authenticate(socket, token):
            await socket.close(code=CLOSE_UNAUTHORIZED, reason="missing or wrong API token")
            return
        await Session(socket, queue, feed).run()

    return events

"""The WebSocket over a real TCP connection: the app under uvicorn, a client that stops reading.

The test client hands every message over at once, so only a real socket shows what a slow
reader does to the server: its sends block, the bounded buffer fills, the socket closes 4008.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from websockets.exceptions import ConnectionClosed

from pbdeployer.api import create_app, ws
from pbdeployer.deployer import Deployer
from pbdeployer.models.task_events import TaskLogLine
from pbdeployer.models.tasks import Task, TaskKind
from pbdeployer.services.task_runner import InProcessTaskQueue
from pbdeployer.services.tasks import TaskContext
from pbdeployer.settings import Settings
from pbdeployer.store.tasks import TaskRepository
from tests.api.test_tasks import FINISHED
from tests.conftest import Json
from tests.served import EventSocket, ServerThread, api_client, wait_for

LINES = 2000
"""Log lines of about 1 kB each: far more than the buffer (256) and the small socket buffers."""
PATIENCE = 0.5
"""Seconds a full buffer may wait for the client here, before the socket closes 4008."""


async def flood(task: Task, ctx: TaskContext) -> int:
    for n in range(LINES):
        text = f"{n:05d} " + "x" * 1000
        ctx.emit(TaskLogLine(task_id=task.id, seq=ctx.next_seq(), created=_now(), text=text))
        if n % 200 == 199:
            await asyncio.sleep(0)
    return LINES


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def served(
    settings: Settings, token: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServerThread]:
    """The app with an audit body that floods its stream, served with small send buffers."""
    monkeypatch.setattr(ws, "SLOW_SECONDS", PATIENCE)
    deployer = Deployer.open(settings)
    tasks = TaskRepository(deployer.database.engine)
    deployer.tasks = InProcessTaskQueue(tasks, deployer.event_log, {TaskKind.AUDIT: flood})
    deployer.operations.queue = deployer.tasks
    app = create_app(settings, deployer=deployer, token=token)
    with ServerThread(app, send_buffer=65536) as up:
        yield up


def read_to_the_close(socket: EventSocket) -> tuple[list[Json], int]:
    """Every message up to the close frame, and the close code."""
    messages: list[Json] = []

    def read_all() -> None:
        while True:
            messages.append(socket.receive(timeout=10))

    with pytest.raises(ConnectionClosed) as closed:
        read_all()
    assert closed.value.rcvd is not None
    return messages, closed.value.rcvd.code


def test_a_client_that_stops_reading_is_closed_4008_and_resumes(
    served: ServerThread, token: str
) -> None:
    client = api_client(served.port, token)
    server = client.post("/servers", json={"name": "web1", "host": "203.0.113.10"}).json()
    slow = EventSocket(served.port, token)
    accepted = client.post(f"/servers/{server['id']}/security/audit")
    assert accepted.status_code == 202, accepted.text
    topic = f"task:{accepted.json()['id']}"
    slow.subscribe(topic)
    task = wait_for(client, accepted.json()["id"], FINISHED, 60)
    time.sleep(PATIENCE + 1)  # nobody reads: the buffer stays full past its patience

    messages, code = read_to_the_close(slow)
    *delivered, closing = messages
    events = [m["event"] for m in delivered if m["type"] == "event"]
    last = events[-1]["seq"]

    assert code == 4008
    assert [m["type"] for m in delivered] == ["subscribed"] + ["event"] * len(events)
    assert [e["seq"] for e in events] == list(range(1, last + 1))
    assert last < task["event_count"] - 256  # cut short: the buffer's worth never went out
    assert closing["type"] == "closing"
    assert (closing["code"], closing["resume"]) == (4008, {topic: last})
    assert f"{topic}={last}" in closing["reason"]

    again = EventSocket(served.port, token)
    again.subscribe(topic, after=last)
    rest = again.until_finished()
    again.close()
    assert [e["seq"] for e in rest] == list(range(last + 1, task["event_count"] + 1))
    assert rest[-1]["event_count"] == task["event_count"]


def test_a_long_replay_waits_for_a_reader_that_keeps_up(served: ServerThread, token: str) -> None:
    """Thousands of stored events replay through the 256-message buffer without a 4008."""
    client = api_client(served.port, token)
    server = client.post("/servers", json={"name": "web1", "host": "203.0.113.10"}).json()
    task_id = client.post(f"/servers/{server['id']}/security/audit").json()["id"]
    task = wait_for(client, task_id, FINISHED, 60)
    reader = EventSocket(served.port, token)
    reader.subscribe(f"task:{task_id}")
    events = reader.until_finished()
    reader.close()
    assert task["event_count"] > LINES
    assert [e["seq"] for e in events] == list(range(1, task["event_count"] + 1))


def test_a_client_that_floods_refusals_without_reading_is_closed_4008(
    served: ServerThread, token: str
) -> None:
    """Every refused topic is an answer the server must hold; they wait in the same bound."""
    flooder = EventSocket(served.port, token)
    refused = 100_000
    flooder.send({"type": "subscribe", "topics": [{"topic": "nonsense"}] * refused})
    time.sleep(PATIENCE + 1)  # nobody reads: the answers fill the buffer past its patience

    messages, code = read_to_the_close(flooder)
    *answers, closing = messages

    assert code == 4008
    assert (closing["type"], closing["resume"]) == ("closing", {})
    assert {(m["type"], m["code"]) for m in answers} == {("error", "bad_topic")}
    assert len(answers) < refused - ws.BUFFER_SIZE  # cut short, not queued whole


def test_answers_keep_flowing_to_a_client_that_reads(served: ServerThread, token: str) -> None:
    """The bound only holds a client back: one that reads gets an answer to every topic."""
    reader = EventSocket(served.port, token)
    refused = 3 * ws.BUFFER_SIZE
    reader.send({"type": "subscribe", "topics": [{"topic": "nonsense"}] * refused})
    answers = [reader.receive(timeout=10) for _ in range(refused)]
    reader.close()
    assert {m["code"] for m in answers} == {"bad_topic"}

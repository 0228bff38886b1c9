"""The WebSocket /api/v1/ws: token checks, replay from storage then live, live topics, backpressure.

Events come from real tasks: the audit's body is a real local ansible-playbook run.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import WebSocketTestSession

from pbdeployer.api import API_PREFIX
from pbdeployer.api.events_doc import events_markdown
from pbdeployer.api.ws import (
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHORIZED,
    Closing,
    Event,
    Outbox,
    Ping,
    _resume_reason,
)
from pbdeployer.models.task_events import TaskEvent, TaskLogLine, TaskProgress
from tests.api.test_tasks import Queued, finished, queued, server
from tests.conftest import Json

__all__ = ["queued", "server"]  # fixtures shared with test_tasks
WS_PATH = f"{API_PREFIX}/ws"  # the test client's websockets ignore its base URL


def events_until_finished(socket: WebSocketTestSession) -> list[Json]:
    found: list[Json] = []
    while not found or found[-1]["type"] != "task_finished":
        message = socket.receive_json(timeout=30)
        if message["type"] == "event":
            found.append(message["event"])
    return found


def audit(queued: Queued, server: Json) -> str:
    response = queued.client.post(f"/servers/{server['id']}/security/audit")
    assert response.status_code == 202, response.text
    task_id: str = response.json()["id"]
    return task_id


def test_the_header_token_opens_the_socket(queued: Queued) -> None:
    with queued.client.websocket_connect(WS_PATH) as socket:
        assert socket.receive_json(timeout=5) == {"type": "ready"}


def test_a_first_auth_message_opens_the_socket(queued: Queued, token: str) -> None:
    with queued.client.websocket_connect(WS_PATH, headers={"Authorization": ""}) as socket:
        socket.send_json({"type": "auth", "token": token})
        assert socket.receive_json(timeout=5) == {"type": "ready"}


@pytest.mark.parametrize(
    ("header", "first"),
    [("Bearer wrong", None), ("", {"type": "auth", "token": "wrong"}), ("", {"type": "hello"})],
)
def test_a_wrong_token_closes_with_4001(queued: Queued, header: str, first: Any) -> None:
    with queued.client.websocket_connect(WS_PATH, headers={"Authorization": header}) as socket:
        if first is not None:
            socket.send_json(first)
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json(timeout=5)
    assert closed.value.code == CLOSE_UNAUTHORIZED


def test_a_finished_task_replays_from_storage(queued: Queued, server: Json) -> None:
    task = finished(queued.client, audit(queued, server))
    with queued.client.websocket_connect(WS_PATH) as socket:
        socket.receive_json(timeout=5)
        socket.send_json({"type": "subscribe", "topics": [{"topic": f"task:{task['id']}"}]})
        assert socket.receive_json(timeout=5)["type"] == "subscribed"
        replayed = events_until_finished(socket)
        socket.send_json(
            {"type": "subscribe", "topics": [{"topic": f"task:{task['id']}", "after": 3}]}
        )
        rest = events_until_finished(socket)

    assert [e["seq"] for e in replayed] == list(range(1, task["event_count"] + 1))
    assert replayed[-1]["event_count"] == task["event_count"]
    assert any(e["type"] == "host_result" for e in replayed)
    assert rest == replayed[3:]


def test_a_running_task_streams_live_without_gap_or_duplicate(queued: Queued, server: Json) -> None:
    by_topic: dict[str, list[Json]] = {}
    with queued.client.websocket_connect(WS_PATH) as socket:
        socket.receive_json(timeout=5)
        socket.send_json({"type": "subscribe", "topics": [{"topic": f"server:{server['id']}"}]})
        assert socket.receive_json(timeout=5)["type"] == "subscribed"
        task_id = audit(queued, server)
        socket.send_json({"type": "subscribe", "topics": [{"topic": f"task:{task_id}"}]})
        while sum(e[-1]["type"] == "task_finished" for e in by_topic.values() if e) < 2:
            message = socket.receive_json(timeout=30)
            if message["type"] == "event":
                by_topic.setdefault(message["topic"], []).append(message["event"])

    count = finished(queued.client, task_id)["event_count"]
    assert [e["seq"] for e in by_topic[f"task:{task_id}"]] == list(range(1, count + 1))
    assert [e["seq"] for e in by_topic[f"server:{server['id']}"]] == list(range(1, count + 1))


def test_refused_topics_answer_an_error_and_keep_the_socket(queued: Queued) -> None:
    with queued.client.websocket_connect(WS_PATH) as socket:
        socket.receive_json(timeout=5)
        socket.send_json(
            {"type": "subscribe", "topics": [{"topic": "task:01NOSUCHTASK0000000000000"}]}
        )
        missing = socket.receive_json(timeout=5)
        socket.send_json({"type": "subscribe", "topics": [{"topic": "weather"}]})
        bad = socket.receive_json(timeout=5)
        socket.send_text("{not json")
        garbled = socket.receive_json(timeout=5)
        socket.send_text("[" * 10_000 + "]" * 10_000)
        deep = socket.receive_json(timeout=5)
        socket.send_bytes(b'{"type": "subscribe", "topics": [{"topic": "tasks"}]}')
        binary = socket.receive_json(timeout=5)
        socket.send_json({"type": "subscribe", "topics": [{"topic": "task:T", "after": 1 << 60}]})
        huge = socket.receive_json(timeout=5)
        socket.send_json({"type": "subscribe", "topics": [{"topic": "tasks"}]})
        fine = socket.receive_json(timeout=5)

    assert (missing["type"], missing["code"]) == ("error", "not_found")
    assert missing["topic"] == "task:01NOSUCHTASK0000000000000"
    assert (bad["code"], bad["topic"]) == ("bad_topic", "weather")
    assert garbled["code"] == "bad_message"
    assert deep["code"] == "bad_message"
    assert binary["code"] == "bad_message"
    assert "JSON text frame" in binary["message"]
    assert (huge["code"], huge["topic"]) == ("bad_topic", "task:T")
    assert fine == {"type": "subscribed", "topic": "tasks", "after": 0}


def _progress(seq: int) -> TaskEvent:
    return TaskProgress(task_id="T", seq=seq, created=datetime.now(UTC), percent=seq, step="")


def _line(seq: int) -> TaskEvent:
    return TaskLogLine(task_id="T", seq=seq, created=datetime.now(UTC), text=f"line {seq}")


async def _drain(outbox: Outbox) -> list[int]:
    seqs = []
    while (message := await outbox.get(0.01)) is not None:
        assert isinstance(message, Event)
        seqs.append(message.event.seq)
    return seqs


async def test_a_full_outbox_coalesces_progress_in_order() -> None:
    outbox = Outbox(size=2)
    assert outbox.offer("task:T", _line(1))
    assert outbox.offer("task:T", _line(2))
    for seq in (3, 4, 5):  # full: only the newest progress waits
        assert outbox.offer("task:T", _progress(seq))
    assert len(outbox) == 3
    assert await _drain(outbox) == [1, 2, 5]

    assert outbox.offer("task:T", _line(6))
    assert outbox.offer("task:T", _line(7))
    assert outbox.offer("task:T", _progress(8))
    for _ in range(2):
        assert isinstance(await outbox.get(0.01), Event)
    assert outbox.offer("task:T", _line(9))  # the waiting progress goes out first
    assert await _drain(outbox) == [8, 9]


async def test_a_full_outbox_overflows_on_anything_but_progress() -> None:
    outbox = Outbox(size=1)
    assert outbox.offer("task:T", _line(1))
    assert not outbox.offer("task:T", _line(2))
    assert outbox.overflowed


async def test_an_idle_outbox_returns_nothing_for_a_ping() -> None:
    outbox = Outbox()
    assert await asyncio.wait_for(outbox.get(0.01), 1) is None
    assert await outbox.control(Ping())
    assert await outbox.get(0.01) == Ping()


def test_the_close_reason_names_where_to_resume_within_a_frame() -> None:
    resume = {f"task:01JH8Z9A1B2C3D4E5F6G7H8J{n:02d}": 100 + n for n in range(10)}
    reason = _resume_reason(resume)
    assert reason.startswith("slow client; resume task:01JH8Z9A1B2C3D4E5F6G7H8J00=100")
    assert len(reason.encode()) <= 123
    closing = Closing(code=CLOSE_TOO_SLOW, reason=reason, resume=resume)
    assert closing.resume == resume


def test_the_events_doc_is_generated_from_the_structs() -> None:
    """Regenerate with `pbdeployer openapi` (it writes docs/events.md too)."""
    path = Path(__file__).resolve().parents[2] / "docs" / "events.md"
    assert path.read_text() == events_markdown(), "docs/events.md is stale; regenerate it"
    for tag in ("task_status", "task_progress", "host_result", "task_finished", "closing"):
        assert f"### `{tag}`" in path.read_text()

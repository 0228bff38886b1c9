"""The event log and the in-memory publisher, over a real migrated SQLite database."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from pbdeployer.events import EventLog, MemoryPublisher, Subscription, task_topics
from pbdeployer.events.log import REPLAY_CHUNK
from pbdeployer.models.task_events import TaskEvent, TaskFinished, TaskLogLine
from pbdeployer.models.tasks import Task, TaskKind, TaskStatus
from pbdeployer.settings import DATABASE_FILE, Settings
from pbdeployer.store import Database
from pbdeployer.store.events import TaskEventRepository
from pbdeployer.store.tasks import TaskRepository

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TASK = Task(
    id="01TASK0000000000000000000A", kind=TaskKind.DEPLOY, status=TaskStatus.RUNNING,
    mutating=True, server_id="01SERVER0000000000000000AA", app_id="01APP000000000000000000000",
    deployment_id="01DEPLOY000000000000000000", params={}, progress=0, step="", created=NOW,
    started_at=NOW, finished_at=None, error=None, result=None, event_count=0,
)  # fmt: skip


@pytest.fixture
async def rows(tmp_path: Path) -> AsyncIterator[TaskEventRepository]:
    database = Database(Settings(data_dir=tmp_path).sqlalchemy_url)
    await database.open()
    await TaskRepository(database.engine).add(TASK)
    yield TaskEventRepository(database.engine)
    await database.close()


def line(log: EventLog, text: str) -> TaskLogLine:
    return TaskLogLine(task_id=TASK.id, seq=log.next_seq(TASK.id), created=NOW, text=text)


def finished(log: EventLog) -> TaskFinished:
    seq = log.next_seq(TASK.id)
    return TaskFinished(
        task_id=TASK.id, seq=seq, created=NOW, status=TaskStatus.SUCCEEDED, event_count=seq
    )


async def received(subscription: Subscription, count: int) -> list[bytes]:
    messages = subscription.messages()
    return [await asyncio.wait_for(anext(messages), 2) for _ in range(count)]


def test_topics_name_every_record_the_task_touches() -> None:
    assert task_topics(TASK) == (
        "tasks",
        f"task:{TASK.id}",
        f"server:{TASK.server_id}",
        f"app:{TASK.app_id}",
        f"deployment:{TASK.deployment_id}",
    )
    bare = msgspec.structs.replace(TASK, server_id=None, app_id=None, deployment_id=None)
    assert task_topics(bare) == ("tasks", f"task:{TASK.id}")


async def test_memory_publisher_delivers_once_per_subscriber() -> None:
    publisher = MemoryPublisher()
    both = await publisher.subscribe(["a", "b"])
    other = await publisher.subscribe(["c"])
    publisher.publish(b"one", ["a", "b"])
    publisher.publish(b"two", ["b"])
    assert await received(both, 2) == [b"one", b"two"]
    await both.close()
    assert publisher.subscriber_count("a") == 0
    publisher.publish(b"three", ["c"])
    assert await received(other, 1) == [b"three"]


async def test_events_are_published_only_once_stored(rows: TaskEventRepository) -> None:
    publisher = MemoryPublisher()
    log = EventLog(rows, publisher)
    subscription = await publisher.subscribe([f"app:{TASK.app_id}"])
    log.emit(line(log, "hello"), task_topics(TASK))
    await asyncio.sleep(0.1)  # no consumer running: nothing is stored, nothing published
    assert await rows.count(TASK.id) == 0
    await log.flush()
    assert await rows.count(TASK.id) == 1
    [data] = await received(subscription, 1)
    assert msgspec.json.decode(data, type=TaskEvent) == (await rows.after(TASK.id))[0]


async def test_a_full_batch_is_written_before_the_interval(rows: TaskEventRepository) -> None:
    log = EventLog(rows, MemoryPublisher(), flush_interval=30, batch_size=50)
    log.start()
    try:
        for index in range(10):
            log.emit(line(log, str(index)), task_topics(TASK))
        await asyncio.sleep(0.2)
        assert await rows.count(TASK.id) == 0
        for index in range(40):
            log.emit(line(log, str(index)), task_topics(TASK))
        for _ in range(200):
            if await rows.count(TASK.id) == 50:
                break
            await asyncio.sleep(0.01)
        assert await rows.count(TASK.id) == 50
        log.emit(line(log, "last"), task_topics(TASK))
    finally:
        await log.stop()
    assert await rows.count(TASK.id) == 51


async def test_follow_replays_then_goes_live_without_gaps(rows: TaskEventRepository) -> None:
    log = EventLog(rows, MemoryPublisher())
    log.start()
    for index in range(5):
        log.emit(line(log, str(index)), task_topics(TASK))
    await log.flush()

    async def follow() -> list[TaskEvent]:
        return [event async for event in log.follow(TASK.id, after_seq=2)]

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    for index in range(5, 9):
        log.emit(line(log, str(index)), task_topics(TASK))
    log.emit(finished(log), task_topics(TASK))
    events = await asyncio.wait_for(follower, 5)
    await log.stop()
    assert [e.seq for e in events] == list(range(3, 11))
    assert isinstance(events[-1], TaskFinished)
    assert events[-1].event_count == 10


async def test_numbering_resumes_after_what_storage_holds(rows: TaskEventRepository) -> None:
    first = EventLog(rows, MemoryPublisher())
    for index in range(3):
        first.emit(line(first, str(index)), task_topics(TASK))
    await first.flush()
    second = EventLog(rows, MemoryPublisher())
    await second.resume(TASK.id)
    assert second.next_seq(TASK.id) == 4
    second.forget(TASK.id)
    assert second.next_seq(TASK.id) == 1


class FlushOnSubscribe(MemoryPublisher):
    """Stores and publishes pending events right after each subscribe: the racy moment."""

    log: EventLog

    async def subscribe(self, topics: Sequence[str]) -> Subscription:
        subscription = await super().subscribe(topics)
        await self.log.flush()
        return subscription


async def test_an_event_both_stored_and_live_arrives_once(rows: TaskEventRepository) -> None:
    publisher = FlushOnSubscribe()
    log = publisher.log = EventLog(rows, publisher)
    for index in range(5):
        log.emit(line(log, str(index)), task_topics(TASK))

    async def follow() -> list[TaskEvent]:
        return [event async for event in log.follow(TASK.id)]

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    log.emit(finished(log), task_topics(TASK))
    await log.flush()
    events = await asyncio.wait_for(follower, 5)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]


class SeesStorage(MemoryPublisher):
    """Reads the database file on every publish: what a reader elsewhere finds at that moment."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.seen: list[tuple[str, int]] = []

    def publish(self, data: bytes, topics: Sequence[str]) -> None:
        with closing(sqlite3.connect(self.path)) as db:
            [(status,)] = db.execute("SELECT status FROM tasks WHERE id = ?", (TASK.id,))
            [(count,)] = db.execute("SELECT count(*) FROM task_events WHERE task_id = ?", [TASK.id])
        self.seen.append((status, count))
        super().publish(data, topics)


async def test_a_stream_ends_with_its_row_and_events_stored_before_publication(
    rows: TaskEventRepository, tmp_path: Path
) -> None:
    publisher = SeesStorage(tmp_path / DATABASE_FILE)
    log = EventLog(rows, publisher)
    log.emit(line(log, "from the body"), task_topics(TASK))
    final = msgspec.structs.replace(TASK, status=TaskStatus.SUCCEEDED, finished_at=NOW)
    end = finished(log)
    await log.close_stream(msgspec.structs.replace(final, event_count=end.seq), [end])

    assert publisher.seen == [("succeeded", 2), ("succeeded", 2)]
    assert (await TaskRepository(rows.engine).get(TASK.id)).event_count == 2
    assert log.next_seq(TASK.id) == 1  # the numbering is forgotten with the stream


OTHER = msgspec.structs.replace(TASK, id="01TASK0000000000000000000B")


async def test_replay_gives_only_the_followed_tasks_events(rows: TaskEventRepository) -> None:
    await TaskRepository(rows.engine).add(OTHER)
    log = EventLog(rows, MemoryPublisher())
    for index in range(3):
        log.emit(line(log, f"mine {index}"), task_topics(TASK))
        seq = log.next_seq(OTHER.id)
        log.emit(TaskLogLine(task_id=OTHER.id, seq=seq, created=NOW, text="theirs"),
                 task_topics(OTHER))  # fmt: skip
    log.emit(finished(log), task_topics(TASK))
    await log.flush()

    events = [event async for event in log.follow(TASK.id)]
    assert [(e.task_id, e.seq) for e in events] == [(TASK.id, seq) for seq in (1, 2, 3, 4)]
    assert await rows.after(OTHER.id, 1) == (await rows.after(OTHER.id))[1:]
    assert (await rows.last_seq(OTHER.id), await rows.count(OTHER.id)) == (3, 3)


async def test_one_viewer_leaving_keeps_the_others_live_stream(rows: TaskEventRepository) -> None:
    publisher = MemoryPublisher()
    log = EventLog(rows, publisher)
    stays: list[TaskEvent] = []
    leaves: list[TaskEvent] = []

    async def follow(into: list[TaskEvent], until: int | None) -> None:
        async for event in log.follow(TASK.id):
            into.append(event)
            if event.seq == until:
                return

    staying = asyncio.create_task(follow(stays, None))
    leaving = asyncio.create_task(follow(leaves, 2))
    await asyncio.sleep(0.05)
    for index in range(2):
        log.emit(line(log, str(index)), task_topics(TASK))
    await log.flush()
    await asyncio.wait_for(leaving, 5)
    assert publisher.subscriber_count(f"task:{TASK.id}") == 1
    log.emit(line(log, "after one left"), task_topics(TASK))
    log.emit(finished(log), task_topics(TASK))
    await log.flush()
    await asyncio.wait_for(staying, 5)
    assert [e.seq for e in leaves] == [1, 2]
    assert [e.seq for e in stays] == [1, 2, 3, 4]
    assert publisher.subscriber_count(f"task:{TASK.id}") == 0


class BrokenStorage(TaskEventRepository):
    async def add_many(self, events: Sequence[TaskEvent], *, final: Task | None = None) -> None:
        raise OSError("disk full")


async def test_events_stay_live_when_storage_fails(
    rows: TaskEventRepository, caplog: pytest.LogCaptureFixture
) -> None:
    publisher = MemoryPublisher()
    log = EventLog(BrokenStorage(rows.engine), publisher)
    subscription = await publisher.subscribe([f"task:{TASK.id}"])
    log.emit(line(log, "one"), task_topics(TASK))
    log.emit(line(log, "two"), task_topics(TASK))
    await log.flush()
    assert len(await received(subscription, 2)) == 2
    assert "could not store 2 task events" in caplog.text
    log.forget("01NEVERSEEN000000000000000")  # forgetting an unknown task is harmless


async def test_stop_stores_what_waits_and_the_log_can_start_again(
    rows: TaskEventRepository,
) -> None:
    log = EventLog(rows, MemoryPublisher(), flush_interval=0.01)
    log.emit(line(log, "never started"), task_topics(TASK))
    await log.stop()
    assert await rows.count(TASK.id) == 1
    log.start()
    await log.stop()
    log.start()
    log.emit(line(log, "after a restart"), task_topics(TASK))
    for _ in range(200):
        if await rows.count(TASK.id) == 2:
            break
        await asyncio.sleep(0.01)
    assert await rows.count(TASK.id) == 2
    await log.stop()


class CountingRows(TaskEventRepository):
    """The real repository, noting how many events each read returned."""

    reads: list[int]

    async def after(
        self, task_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[TaskEvent]:
        found = await super().after(task_id, after_seq, limit)
        self.reads.append(len(found))
        return found


async def test_a_page_of_events_reads_only_its_rows(rows: TaskEventRepository) -> None:
    events = [TaskLogLine(task_id=TASK.id, seq=n, created=NOW, text=str(n)) for n in range(1, 31)]
    await rows.add_many(events)
    assert [e.seq for e in await rows.after(TASK.id, 3, limit=4)] == [4, 5, 6, 7]
    assert [e.seq for e in await rows.after(TASK.id, 28, limit=4)] == [29, 30]


async def test_replay_streams_a_long_history_in_chunks(rows: TaskEventRepository) -> None:
    total = REPLAY_CHUNK * 2 + 3
    stored = [TaskLogLine(task_id=TASK.id, seq=n, created=NOW, text="x") for n in range(1, total)]
    end = TaskFinished(
        task_id=TASK.id, seq=total, created=NOW, status=TaskStatus.SUCCEEDED, event_count=total
    )
    await rows.add_many([*stored, end])
    counting = CountingRows(rows.engine)
    counting.reads = []
    log = EventLog(counting, MemoryPublisher())

    replayed = [event.seq async for event in log.follow(TASK.id, after_seq=1)]

    assert replayed == list(range(2, total + 1))
    assert counting.reads == [REPLAY_CHUNK, REPLAY_CHUNK, 2]

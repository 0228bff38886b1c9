"""Decoding ansible-runner event dicts (recorded from real runs) into typed events."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from pbdeployer.models.run import (
    PlaybookStats,
    PlayStarted,
    RunEvent,
    RunOutput,
    TaskFailed,
    TaskOk,
    TaskSkipped,
    TaskStarted,
    TaskUnreachable,
)
from pbdeployer.runner._events import TEXT_LIMIT, decode_event, failure_message

RECORDED: dict[str, list[dict[str, Any]]] = json.loads(
    (Path(__file__).with_name("recorded_events.json")).read_text(encoding="utf-8")
)


def decode_all(raws: list[dict[str, Any]]) -> list[RunEvent]:
    events: list[RunEvent] = []
    for raw in raws:
        event = decode_event(raw, seq=len(events) + 1, run_id="RUN")
        if event is not None:
            events.append(event)
    return events


def test_failing_run_decodes_in_order() -> None:
    events = decode_all(RECORDED["fail"])
    assert [type(e) for e in events] == [
        PlayStarted,
        TaskStarted,
        TaskOk,
        TaskStarted,
        TaskSkipped,
        TaskStarted,
        TaskFailed,
        PlaybookStats,
    ]
    assert [e.seq for e in events] == list(range(1, 9))
    assert all(e.run_id == "RUN" for e in events)


def test_fields_are_lifted_from_event_data() -> None:
    events = decode_all(RECORDED["fail"])
    play, started, ok = events[0], events[1], events[2]
    assert isinstance(play, PlayStarted)
    assert play.play == "Fail"
    assert isinstance(started, TaskStarted)
    assert (started.task, started.action) == ("Ping first", "ansible.builtin.ping")
    assert isinstance(ok, TaskOk)
    assert ok.host == "srv_01LOCAL"
    assert ok.changed is False
    assert ok.duration is not None
    assert ok.duration > 0
    failed = events[6]
    assert isinstance(failed, TaskFailed)
    assert (failed.host, failed.task) == ("srv_01LOCAL", "Fail on purpose")
    assert failed.message == "this task fails on purpose"
    assert failed.ignored is False
    assert failed.result.msg == "this task fails on purpose"


def test_stats_are_per_host_counts() -> None:
    stats = decode_all(RECORDED["fail"])[-1]
    assert isinstance(stats, PlaybookStats)
    host = stats.hosts["srv_01LOCAL"]
    assert (host.ok, host.failures, host.skipped, host.unreachable) == (1, 1, 1, 0)


def test_loop_items_become_verbose_and_changed_is_kept() -> None:
    events = decode_all(RECORDED["loop"])
    outputs = [e for e in events if isinstance(e, RunOutput)]
    assert len(outputs) == 2
    assert all(o.text.startswith("ok: [srv_01LOCAL] => (item=") for o in outputs)
    changed = [e for e in events if isinstance(e, TaskOk) and e.changed]
    assert [e.task for e in changed] == ["Write the variables to a file"]
    read_back = [e for e in events if isinstance(e, TaskOk) and e.task == "Read the file back"]
    assert read_back[0].result.rc == 0
    assert read_back[0].result.stdout is not None


def test_events_without_output_are_dropped() -> None:
    kinds = {raw["event"] for raw in RECORDED["fail"]}
    assert {"playbook_on_start", "runner_on_start"} <= kinds
    for raw in RECORDED["fail"]:
        if raw["event"] in {"playbook_on_start", "runner_on_start"}:
            assert decode_event(raw, seq=1, run_id="RUN") is None


def test_unknown_event_with_output_is_verbose() -> None:
    raw = {"event": "playbook_on_include", "stdout": "\x1b[0;36mincluded: x.yml\x1b[0m\r\n",
           "created": "2025-01-01T00:00:00+00:00", "event_data": {}}  # fmt: skip
    event = decode_event(raw, seq=4, run_id="RUN")
    assert event == RunOutput(seq=4, run_id="RUN", created=event.created, text="included: x.yml")


def test_unreachable_event() -> None:
    raw = copy.deepcopy(RECORDED["fail"][10])
    raw["event"] = "runner_on_unreachable"
    raw["event_data"]["res"] = {
        "msg": "Failed to connect to the host via ssh: ssh: connect to host 10.200.0.99 port 22: "
        "Connection refused",
        "unreachable": True,
        "changed": False,
    }
    event = decode_event(raw, seq=1, run_id="RUN")
    assert isinstance(event, TaskUnreachable)
    assert event.message.endswith("Connection refused")
    assert event.task == "Fail on purpose"


def test_known_kind_with_wrong_shape_is_refused() -> None:
    raw = copy.deepcopy(RECORDED["fail"][4])
    del raw["event_data"]["host"]
    raw["stdout"] = ""
    assert decode_event(raw, seq=1, run_id="RUN") is None
    raw["stdout"] = "ok: [somewhere]"
    assert isinstance(decode_event(raw, seq=1, run_id="RUN"), RunOutput)


def test_long_output_keeps_its_end() -> None:
    raw = copy.deepcopy(RECORDED["loop"][-2])
    raw["event_data"]["res"]["stdout"] = "x" * 10_000 + "THE END"
    event = decode_event(raw, seq=1, run_id="RUN")
    assert isinstance(event, TaskOk)
    assert event.result.stdout is not None
    assert len(event.result.stdout) == TEXT_LIMIT
    assert event.result.stdout.endswith("THE END")


@pytest.mark.parametrize(
    ("res", "message"),
    [
        ({"msg": "boom"}, "boom"),
        ({"msg": "non-zero return code", "stderr": "no such file\n", "rc": 2},
         "non-zero return code: no such file"),
        ({"msg": "MODULE FAILURE", "module_stderr": "Traceback"}, "MODULE FAILURE: Traceback"),
        ({"rc": 3}, "exited with status 3"),
        ({"msg": ["a", "b"]}, '["a","b"]'),
        ({}, "failed without a message"),
    ],
)  # fmt: skip
def test_failure_message(res: dict[str, Any], message: str) -> None:
    assert failure_message(res) == message


def test_events_serialize_with_their_tag() -> None:
    event = decode_all(RECORDED["fail"])[6]
    encoded = msgspec.json.decode(msgspec.json.encode(event))
    assert encoded["event"] == "runner_on_failed"
    assert msgspec.json.decode(msgspec.json.encode(event), type=RunEvent) == event

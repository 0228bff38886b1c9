"""Turn ansible-runner's event dicts into typed ``RunEvent``s.

The runner dict nests what we need under ``event_data``; ``_project`` lifts those few fields
into a flat dict and ``msgspec.convert`` checks it against the tagged union, so an event of a
known kind with the wrong shape is refused rather than guessed at. Events of other kinds become
``verbose`` output when they printed something and are dropped otherwise (see models/run.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

import msgspec

from pbdeployer.models.run import RunEvent, RunOutput

logger = logging.getLogger(__name__)

TEXT_LIMIT = 4000
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_HOST_EVENTS = {"runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"}
_STAT_FIELDS = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failures",
    "dark": "unreachable",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}


def trim(text: str, limit: int = TEXT_LIMIT) -> str:
    """Keep the end of long text: errors and summaries come last."""
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def clean_output(text: str) -> str:
    return _ANSI.sub("", text).replace("\r\n", "\n").strip()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return trim(value if isinstance(value, str) else msgspec.json.encode(value).decode())


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def result_summary(res: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "msg": _text(res.get("msg")),
        "rc": _int(res.get("rc")),
        "stdout": _text(res.get("stdout") or res.get("module_stdout")),
        "stderr": _text(res.get("stderr") or res.get("module_stderr")),
    }


def failure_message(res: Mapping[str, Any]) -> str:
    """One line a person can act on: the module's msg, plus stderr when msg says little."""
    msg = _text(res.get("msg")) or ""
    detail = _text(res.get("stderr") or res.get("module_stderr") or res.get("module_stdout"))
    if detail and (not msg or msg in {"non-zero return code", "MODULE FAILURE"}):
        msg = f"{msg}: {detail.strip()}" if msg else detail.strip()
    if not msg and (rc := _int(res.get("rc"))) is not None:
        msg = f"exited with status {rc}"
    return msg or "failed without a message"


def wanted_facts(res: Mapping[str, Any], wanted: frozenset[str]) -> dict[str, Any]:
    facts = res.get("ansible_facts")
    if not wanted or not isinstance(facts, Mapping):
        return {}
    return {name: facts[name] for name in wanted if name in facts}


def _host_fields(
    name: str, data: Mapping[str, Any], wanted: frozenset[str] = frozenset()
) -> dict[str, Any]:
    given = data.get("res")
    res: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    flat: dict[str, Any] = {
        "host": data.get("host"),
        "task": data.get("task"),
        "action": data.get("resolved_action") or data.get("task_action") or "",
        "duration": data.get("duration"),
    }
    if name == "runner_on_ok":
        flat.update(
            changed=bool(res.get("changed")),
            result=result_summary(res),
            facts=wanted_facts(res, wanted),
        )
    elif name == "runner_on_failed":
        flat.update(
            message=failure_message(res),
            ignored=bool(data.get("ignore_errors")),
            result=result_summary(res),
        )
    elif name == "runner_on_unreachable":
        flat["message"] = failure_message(res)
    return flat


def host_stats(data: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    hosts: dict[str, dict[str, int]] = {}
    for source, target in _STAT_FIELDS.items():
        counts = data.get(source)
        for host, count in counts.items() if isinstance(counts, Mapping) else ():
            hosts.setdefault(host, {})[target] = count
    for host in data.get("processed") or {}:
        hosts.setdefault(host, {})
    return hosts


def _project(
    name: str, data: Mapping[str, Any], stdout: str, wanted: frozenset[str]
) -> dict[str, Any] | None:
    if name in _HOST_EVENTS:
        return _host_fields(name, data, wanted)
    if name == "playbook_on_play_start":
        return {"play": data.get("play") or data.get("name") or ""}
    if name == "playbook_on_task_start":
        return {
            "play": data.get("play", ""),
            "task": data.get("task") or data.get("name") or "",
            "action": data.get("resolved_action") or data.get("task_action") or "",
        }
    if name == "playbook_on_stats":
        return {"hosts": host_stats(data)}
    text = clean_output(stdout)
    return {"event": "verbose", "text": trim(text)} if text else None


def _created(raw: Mapping[str, Any]) -> datetime:
    value = raw.get("created")
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    return datetime.now(UTC)


def decode_event(
    raw: Mapping[str, Any], *, seq: int, run_id: str, wanted: frozenset[str] = frozenset()
) -> RunEvent | None:
    """The typed form of one (already redacted) runner event, or ``None`` to drop it.

    ``wanted`` names the facts an ok result may carry back (see ``result_facts``).
    """
    name = raw.get("event")
    data = raw.get("event_data")
    stdout = raw.get("stdout")
    flat = _project(
        name if isinstance(name, str) else "",
        data if isinstance(data, Mapping) else {},
        stdout if isinstance(stdout, str) else "",
        wanted,
    )
    if flat is None:
        return None
    flat.setdefault("event", name)
    flat.update(seq=seq, run_id=run_id, created=_created(raw))
    try:
        return cast("RunEvent", msgspec.convert(flat, RunEvent))
    except msgspec.ValidationError as exc:
        logger.warning("run %s: refused a malformed %s event: %s", run_id, name, exc)
        text = clean_output(stdout) if isinstance(stdout, str) else ""
        if not text:
            return None
        return RunOutput(seq=seq, run_id=run_id, created=flat["created"], text=trim(text))

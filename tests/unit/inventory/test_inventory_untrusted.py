"""YAML for Ansible where every string is data: round trips and refusals."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from pbdeployer.errors import InvalidInput
from pbdeployer.inventory import Unsafe, dump_untrusted_yaml, load_untrusted_yaml, mark_untrusted

TRICKY = [
    "{{ lookup('pipe', 'touch /tmp/pwned') }}",
    "line1\nline2\n\n  indented\n",
    "quote \" and ' and \\ backslash",
    "key: value # comment",
    "[group]\nansible_host=evil",
    "   leading and trailing   ",
    "\x01\x7f control \u2028 separator",
    "null",
    "yes",
    "0x1F",
    "",
]


class Color(enum.Enum):
    RED = "red"


class Note(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    when: datetime


@pytest.mark.parametrize("text", TRICKY)
def test_strings_round_trip_exactly(text: str) -> None:
    loaded = load_untrusted_yaml(dump_untrusted_yaml({"value": text, "items": [text]}))
    assert loaded == {"value": text, "items": [text]}
    assert isinstance(loaded["value"], Unsafe)
    assert isinstance(loaded["items"][0], Unsafe)


def test_scalars_other_than_strings_stay_typed() -> None:
    value = {"n": 3, "f": 1.5, "b": True, "none": None}
    loaded = load_untrusted_yaml(dump_untrusted_yaml(value))
    assert loaded == value
    assert loaded["b"] is True


def test_every_string_line_carries_the_tag() -> None:
    text = dump_untrusted_yaml({"a": "x", "b": ["y", {"c": "z"}]})
    assert text.count("!unsafe") == 3


def test_keys_that_could_be_templates_are_tagged_too() -> None:
    text = dump_untrusted_yaml({"plain_key": {"{{ 7 * 7 }}": 1, "with space": 2}})
    assert "plain_key:" in text
    assert '!unsafe "{{ 7 * 7 }}": 1' in text
    assert '!unsafe "with space": 2' in text
    loaded = load_untrusted_yaml(text)
    assert loaded == {"plain_key": {"{{ 7 * 7 }}": 1, "with space": 2}}


def test_structs_enums_and_datetimes_become_tagged_strings() -> None:
    when = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    marked = mark_untrusted({"note": Note(text="hi", when=when), "color": Color.RED})
    assert marked == {"note": {"text": "hi", "when": "2025-05-01T12:00:00Z"}, "color": "red"}
    assert all(isinstance(v, Unsafe) for v in [marked["color"], *marked["note"].values()])


@pytest.mark.parametrize("value", [{1: "x"}, {"a": {2: "y"}}, {"a": object()}])
def test_unsupported_values_are_refused(value: Any) -> None:
    with pytest.raises((InvalidInput, TypeError)):
        dump_untrusted_yaml(value, "extravars")


def test_refusal_names_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        dump_untrusted_yaml({"outer": {"inner": {3: "x"}}}, "extravars")
    assert caught.value.details[0].field == "extravars.outer.inner"

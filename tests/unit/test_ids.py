"""Record ids: 26 URL-safe characters that sort like their creation time."""

from __future__ import annotations

import itertools
import random
import time
import urllib.parse

import pytest

from pbdeployer.models import is_id, new_id

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _millis(record_id: str) -> int:
    """Decode the time part (first 10 characters) the way ULID readers do."""
    value = 0
    for char in record_id[:10]:
        value = value * 32 + CROCKFORD.index(char)
    return value


def test_an_id_is_26_url_safe_characters():
    record_id = new_id()

    assert len(record_id) == 26
    assert set(record_id) <= set(CROCKFORD)
    assert urllib.parse.quote(record_id, safe="") == record_id
    assert is_id(record_id)


def test_ids_carry_their_creation_time():
    before = int(time.time() * 1000)
    record_id = new_id()
    after = int(time.time() * 1000)

    assert before <= _millis(record_id) <= after


def test_ids_sort_like_their_times():
    rng = random.Random(7)
    times = [*rng.sample(range(2**48), 500), 0, 1, 2**48 - 1]

    ids = [new_id(now_ms=t) for t in times]

    assert sorted(ids) == [new_id_ for _, new_id_ in sorted(zip(times, ids, strict=True))]
    assert all(_millis(i) == t for i, t in zip(ids, times, strict=True))
    assert all(len(i) == 26 for i in ids)


def test_ids_made_later_sort_after_earlier_ones():
    first = new_id()
    time.sleep(0.002)
    second = new_id()

    assert first < second


def test_ten_thousand_ids_are_unique():
    ids = [new_id() for _ in range(10_000)]

    assert len(set(ids)) == 10_000


def test_ids_in_the_same_millisecond_differ_in_their_random_part():
    ids = {new_id(now_ms=1_700_000_000_000) for _ in range(1_000)}

    assert len(ids) == 1_000
    assert {i[:10] for i in ids} == {new_id(now_ms=1_700_000_000_000)[:10]}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "01JH8Z6X4T3D3Q9V4W0Y5K7B2",
        "01JH8Z6X4T3D3Q9V4W0Y5K7B2MM",
        "01jh8z6x4t3d3q9v4w0y5k7b2m",
        "01JH8Z6X4T3D3Q9V4W0Y5K7B2I",
        "01JH8Z6X4T3D3Q9V4W0Y5K7B2L",
        "01JH8Z6X4T3D3Q9V4W0Y5K7B2O",
        "01JH8Z6X4T3D3Q9V4W0Y5K7B2U",
        "01JH8Z6X4T3D3Q9V4W0Y5K7B/M",
        "01JH8Z6X4T3D3Q9V4W0Y5K7B%M",
    ],
)
def test_is_id_refuses_other_shapes(text):
    assert not is_id(text)


def test_is_id_accepts_any_well_formed_id():
    assert is_id("01JH8Z6X4T3D3Q9V4W0Y5K7B2M")
    assert is_id("0" * 26)
    assert is_id("7" + "Z" * 25)


def test_ids_made_in_the_same_millisecond_sort_in_creation_order():
    ids = [new_id() for _ in range(5_000)]

    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    same_millisecond = sum(a[:10] == b[:10] for a, b in itertools.pairwise(ids))
    assert same_millisecond > 100

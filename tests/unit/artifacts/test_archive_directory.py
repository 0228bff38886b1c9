"""The central directory: limits hold on what is parsed, whatever the end record claims."""

from __future__ import annotations

import struct
import time
import tracemalloc
from pathlib import Path

import pytest

from pbdeployer.artifacts import RejectCode, inspect_zip
from pbdeployer.errors import ArtifactRejected
from tests.unit.artifacts.zip_corpus import app, raw_zip

_EOCD = struct.Struct("<4s4H2IH")
_FORGED_ENTRIES = 1_000_000


def _forged_directory(path: Path, copies: int, claimed: int) -> None:
    """A good app whose directory repeats its first entry ``copies`` times behind a claim."""
    good = raw_zip(app())
    end = good.rindex(b"PK\x05\x06")
    *_, size, offset, _ = _EOCD.unpack_from(good, end)
    first = good[offset : good.index(b"PK\x01\x02", offset + 4)]
    directory = good[offset : offset + size] + first * copies
    record = _EOCD.pack(b"PK\x05\x06", 0, 0, claimed, claimed, len(directory), offset, 0)
    path.write_bytes(good[:offset] + directory + record)


def test_a_million_entries_behind_a_claim_of_one_cost_little(tmp_path: Path) -> None:
    path = tmp_path / "forged.zip"
    _forged_directory(path, _FORGED_ENTRIES, claimed=1)
    assert path.stat().st_size > 40_000_000
    tracemalloc.start()
    started = time.process_time()  # CPU time: a busy machine slows the clock, not the work
    try:
        with pytest.raises(ArtifactRejected) as caught:
            inspect_zip(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.code == RejectCode.TOO_MANY_ENTRIES.value
    assert "at least 10001 entries, above the limit of 10000" in caught.value.message
    assert peak < 32 * (1 << 20), f"peak {peak / (1 << 20):.0f} MiB"
    assert time.process_time() - started < 5


def test_a_directory_shorter_than_its_claim_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "forged.zip"
    _forged_directory(path, 3, claimed=9)
    with pytest.raises(ArtifactRejected) as caught:
        inspect_zip(path)
    assert caught.value.code == RejectCode.CORRUPT.value
    assert "it lists 5 entries but its end record says 9" in caught.value.message


@pytest.mark.parametrize("cut", [1, 4, 30, 1000])
def test_a_zip_with_its_first_bytes_cut_off_is_refused(cut: int, tmp_path: Path) -> None:
    path = tmp_path / "cut.zip"
    path.write_bytes(raw_zip(app())[cut:])
    with pytest.raises(ArtifactRejected) as caught:
        inspect_zip(path)
    assert caught.value.code == RejectCode.TRUNCATED.value
    assert "beginning is missing" in caught.value.message


def test_foreign_bytes_before_the_zip_are_skipped(tmp_path: Path) -> None:
    """A self-extractor's stub moves every offset; zipfile accepts it, and so do we."""
    path = tmp_path / "stub.zip"
    path.write_bytes(b"#!/bin/sh\nexit 0\n" + raw_zip(app()))
    assert inspect_zip(path).entry_count == 2

"""inspect_zip: every bad archive is refused with its own code; good apps are described."""

from __future__ import annotations

import bz2
import hashlib
import io
import random
import stat
import subprocess
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pbdeployer.artifacts import ArchiveInfo, ArchiveLimits, RejectCode, inspect_zip
from pbdeployer.artifacts._reject import human_size
from pbdeployer.errors import ArtifactRejected
from tests.pocketbase import build_app_zip, pocketbase_binary
from tests.unit.artifacts.bad_zips import BAD_BZIP2, BAD_DEFLATE, CASES
from tests.unit.artifacts.zip_corpus import (
    DIR,
    FAKE_BINARY,
    BadZip,
    RawEntry,
    app,
    binary,
    compress,
    raw_zip,
)

if TYPE_CHECKING:
    from typing_extensions import Buffer

_CHUNK = 1 << 20  # what the reader reads and inflates at a time
_RANDOMISH_64K = random.Random(64).randbytes(64 << 10)
MIGRATIONS = {"1700000002_posts.js": "migrate(() => {});", "1700000001_init.js": "migrate();"}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_zip_is_refused_with_its_code(case: BadZip, tmp_path: Path) -> None:
    path = case.write(tmp_path)
    with pytest.raises(ArtifactRejected) as caught:
        inspect_zip(path, limits=case.limits)
    assert caught.value.code == case.code.value, caught.value.message
    assert case.says in caught.value.message


def test_every_reject_code_has_a_case() -> None:
    assert {case.code for case in CASES} == set(RejectCode)


def test_the_corpus_writer_makes_valid_zips(tmp_path: Path) -> None:
    """Cases differ from a good app only by their flaw, so the writer itself must be sound."""
    extra = RawEntry("pb_public/index.html", b"<h1>hi</h1>" * 50, method=zipfile.ZIP_DEFLATED)
    path = tmp_path / "good.zip"
    path.write_bytes(raw_zip(app(extra)))
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
    assert (
        subprocess.run(["unzip", "-tq", str(path)], check=False, capture_output=True).returncode
        == 0
    )
    assert inspect_zip(path).entry_count == 3


def test_a_header_that_understates_its_size_fools_zipfile_but_not_inspect(tmp_path: Path) -> None:
    """Why entries are decompressed by our own bounded reader rather than ZipFile.read."""
    case = next(case for case in CASES if case.id == "size_understated")
    path = case.write(tmp_path)
    with zipfile.ZipFile(path) as archive:
        assert archive.read("pb_public/small.txt") == bytes(1000)
    with pytest.raises(ArtifactRejected, match="more than the 1000 B"):
        inspect_zip(path)


def test_good_app_is_described(tmp_path: Path) -> None:
    path = build_app_zip(
        tmp_path / "app.zip",
        binary=FAKE_BINARY,
        migrations={**MIGRATIONS, "README.md": "not a migration"},
        hooks={"main.pb.js": "routerAdd('GET', '/hi', (e) => e.string(200, 'hi'));"},
        public={"index.html": "<h1>hello</h1>"},
    )
    info = inspect_zip(path)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    assert info == ArchiveInfo(
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        size=path.stat().st_size,
        entry_count=6,
        uncompressed_size=sum(i.file_size for i in infos),
        migrations=("1700000001_init.js", "1700000002_posts.js"),
        has_hooks=True,
        has_public=True,
    )


def test_app_without_extras_has_no_hooks_public_or_migrations(tmp_path: Path) -> None:
    info = inspect_zip(build_app_zip(tmp_path / "app.zip", binary=FAKE_BINARY))
    assert (info.migrations, info.has_hooks, info.has_public) == ((), False, False)
    assert info.entry_count == 1


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2], ids=str
)
def test_each_supported_compression_passes_the_streamed_check(method: int, tmp_path: Path) -> None:
    content = b"".join(i.to_bytes(4, "little") for i in range(600_000))  # 2.4 MB, 3+ chunks
    entry = RawEntry("pb_public/data.bin", content, method=method)
    path = tmp_path / "app.zip"
    path.write_bytes(raw_zip(app(entry)))
    assert inspect_zip(path).uncompressed_size == len(FAKE_BINARY) + len(content) + 22


def test_zip64_end_record_is_read(tmp_path: Path) -> None:
    path = tmp_path / "app.zip"
    path.write_bytes(raw_zip(app(), zip64_count=2))
    assert inspect_zip(path).entry_count == 2


def test_binary_mode_is_not_required(tmp_path: Path) -> None:
    """Many zip tools drop unix modes; the deploy sets the executable bit on the host."""
    plain = RawEntry("pocketbase", FAKE_BINARY, mode=stat.S_IFREG | 0o644)
    no_mode = RawEntry("pocketbase", FAKE_BINARY, mode=0)
    for entry in (plain, no_mode):
        path = tmp_path / "app.zip"
        path.write_bytes(raw_zip([entry]))
        assert inspect_zip(path).entry_count == 1


def test_harmless_spellings_and_folder_entries_are_accepted(tmp_path: Path) -> None:
    entries = [
        RawEntry("./pocketbase", FAKE_BINARY),
        RawEntry("pb_migrations/", mode=DIR),
        RawEntry("pb_migrations/1_a.js", b"migrate();"),
        RawEntry("pb_migrations/nested/2_b.js", b"migrate();"),
        RawEntry("pb_public\\", mode=0),
        RawEntry("pb_hooks/", mode=0),
        RawEntry("pb_hooks/main.pb.js", b"routerAdd();"),
        RawEntry("pb_public/..hidden..", b"dots inside a name are fine"),
    ]
    path = tmp_path / "app.zip"
    path.write_bytes(raw_zip(entries))
    info = inspect_zip(path)
    assert info.migrations == ("1_a.js",)
    assert info.has_public
    assert info.entry_count == len(entries)


def test_zip_made_by_the_zip_tool_is_accepted(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "pb_migrations").mkdir(parents=True)
    (source / "pocketbase").write_bytes(FAKE_BINARY)
    (source / "pb_migrations" / "1_init.js").write_text("migrate();")
    (source / "pb_public").symlink_to(tmp_path)  # zip follows links unless told -y
    path = tmp_path / "app.zip"
    subprocess.run(["zip", "-qr", str(path), "pocketbase", "pb_migrations"], cwd=source, check=True)
    assert inspect_zip(path).migrations == ("1_init.js",)
    linked = tmp_path / "linked.zip"
    subprocess.run(["zip", "-qry", str(linked), "pocketbase", "pb_public"], cwd=source, check=True)
    with pytest.raises(ArtifactRejected) as caught:
        inspect_zip(linked)
    assert caught.value.code == RejectCode.SYMLINK


class _Unseekable(io.RawIOBase):
    """A pipe-like sink: zipfile then writes sizes in data descriptors after each entry."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: Buffer) -> int:
        view = memoryview(chunk)
        self.data += view
        return view.nbytes


def test_streamed_zip_with_data_descriptors_is_accepted(tmp_path: Path) -> None:
    sink = _Unseekable()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("pocketbase", FAKE_BINARY)
        archive.writestr("pb_migrations/1_init.js", "migrate();" * 100)
    path = tmp_path / "streamed.zip"
    path.write_bytes(bytes(sink.data))
    with zipfile.ZipFile(path) as archive:
        assert all(info.flag_bits & 0x08 for info in archive.infolist())
    assert inspect_zip(path).migrations == ("1_init.js",)


def test_custom_binary_name(tmp_path: Path) -> None:
    path = tmp_path / "app.zip"
    path.write_bytes(raw_zip([RawEntry("server", FAKE_BINARY)]))
    assert inspect_zip(path, binary_name="server").entry_count == 1
    with pytest.raises(ArtifactRejected, match="no file named 'pocketbase'"):
        inspect_zip(path)
    with pytest.raises(ValueError, match="plain file name"):
        inspect_zip(path, binary_name="bin/server")


def test_ratio_limit_ignores_small_entries(tmp_path: Path) -> None:
    """Text compresses far beyond 200:1 when small; only big entries are bomb suspects."""
    text = RawEntry("pb_public/blank.txt", bytes(512 << 10), method=zipfile.ZIP_DEFLATED)
    path = tmp_path / "app.zip"
    path.write_bytes(raw_zip([binary(), text]))
    assert inspect_zip(path).uncompressed_size == (512 << 10) + len(FAKE_BINARY)
    with pytest.raises(ArtifactRejected) as caught:
        inspect_zip(path, limits=ArchiveLimits(ratio_min_size=1000))
    assert caught.value.code == RejectCode.ZIP_BOMB


def test_limits_at_their_edge_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "app.zip"
    path.write_bytes(raw_zip(app()))
    size = len(FAKE_BINARY) + len(b"migrate((app) => {});\n")
    assert inspect_zip(path, limits=ArchiveLimits(max_entries=2, max_uncompressed=size))


def test_crc_is_checked_for_compressed_entries_too(tmp_path: Path) -> None:
    content = bytes(range(256)) * 100
    entry = RawEntry(
        "pb_public/a.bin", content, method=zipfile.ZIP_DEFLATED, declared_crc=zlib.crc32(b"x")
    )
    path = tmp_path / "app.zip"
    path.write_bytes(raw_zip(app(entry)))
    with pytest.raises(ArtifactRejected) as caught:
        inspect_zip(path)
    assert caught.value.code == RejectCode.CRC_MISMATCH


@pytest.fixture(scope="module")
def large_app_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 150 MB app: the real PocketBase binary plus incompressible filler."""
    path = tmp_path_factory.mktemp("large") / "app.zip"
    return build_app_zip(
        path, binary=pocketbase_binary("0.40.5"), migrations=MIGRATIONS, filler_bytes=140 << 20
    )


@pytest.mark.slow
def test_large_real_app_inspects_quickly(large_app_zip: Path) -> None:
    started = time.perf_counter()
    info = inspect_zip(large_app_zip)
    elapsed = time.perf_counter() - started
    print(f"inspect_zip of {info.size / 1e6:.0f} MB took {elapsed:.2f} s")
    assert info.size > 150_000_000
    assert info.migrations == tuple(sorted(MIGRATIONS))
    assert info.uncompressed_size > (140 << 20) + 30_000_000
    assert elapsed < 5.0


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2], ids=str)
def test_an_entry_that_inflates_far_past_a_chunk_is_read_whole(method: int, tmp_path: Path) -> None:
    # Text-like rows compress about 15-fold: each megabyte read inflates to many chunks.
    content = b"".join(b"%08d,pocketbase,record,%d\n" % (i, i % 97) for i in range(120_000))
    entry = RawEntry("pb_public/rows.csv", content, method=method)
    path = tmp_path / "app.zip"
    path.write_bytes(raw_zip(app(entry)))
    assert len(compress(entry)) * 4 < len(content)
    info = inspect_zip(path)
    assert info.uncompressed_size == len(FAKE_BINARY) + len(content) + 22


def _deflated_zeros(total: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    return b"".join(packer.compress(chunk) for _ in range(total >> 20)) + packer.flush()


def test_inspecting_a_bomb_that_understates_its_size_keeps_memory_flat(tmp_path: Path) -> None:
    payload = _deflated_zeros(64 << 20)  # 64 MB of zeros in about 64 KB
    bomb = RawEntry("pb_public/a.bin", b"", method=zipfile.ZIP_DEFLATED, payload=payload,
                    declared_size=4 << 20, declared_crc=0)  # fmt: skip
    path = tmp_path / "bomb.zip"
    path.write_bytes(raw_zip(app(bomb)))
    tracemalloc.start()
    try:
        with pytest.raises(ArtifactRejected) as caught:
            inspect_zip(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.code == RejectCode.ZIP_BOMB.value
    assert peak < 16 << 20, f"inspecting the bomb took {peak >> 20} MiB"


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        ((1 << 20) - 1, "1024.0 KiB"),
        (1 << 20, "1.0 MiB"),
        (5 << 20, "5.0 MiB"),
        (1 << 30, "1.0 GiB"),
        (100 << 30, "100.0 GiB"),
    ],
)
def test_sizes_in_refusals_read_as_a_person_reads_them(size: int, shown: str) -> None:
    assert human_size(size) == shown


def test_a_zip_without_the_binary_says_only_that(tmp_path: Path) -> None:
    path = tmp_path / "app.zip"
    path.write_bytes(raw_zip(app()[1:]))
    with pytest.raises(ArtifactRejected) as caught:
        inspect_zip(path)
    assert caught.value.message == "no file named 'pocketbase' at the root of the zip"


@pytest.mark.parametrize("case_id", ["damaged_deflate", "damaged_bzip2"])
def test_damaged_data_is_refused_with_the_decompressors_reason(
    case_id: str, tmp_path: Path
) -> None:
    case = next(case for case in CASES if case.id == case_id)
    try:
        if case_id == "damaged_deflate":
            zlib.decompressobj(-zlib.MAX_WBITS).decompress(BAD_DEFLATE)
        else:
            bz2.BZ2Decompressor().decompress(BAD_BZIP2)
    except (zlib.error, OSError) as exc:
        reason = str(exc)
    with pytest.raises(ArtifactRejected) as caught:
        inspect_zip(case.write(tmp_path))
    assert f"damaged compressed data ({reason})" in caught.value.message


@pytest.mark.parametrize("size", [_CHUNK - 1, _CHUNK, _CHUNK + 1])
def test_a_stored_entry_around_the_chunk_size_is_read_to_its_last_byte(
    size: int, tmp_path: Path
) -> None:
    content = random.Random(size).randbytes(size)
    path = tmp_path / "app.zip"
    path.write_bytes(raw_zip(app(RawEntry("pb_public/data.bin", content))))
    assert inspect_zip(path).uncompressed_size == len(FAKE_BINARY) + size + 22


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2], ids=str)
def test_compressed_data_that_spans_several_chunks_is_read_whole(
    method: int, tmp_path: Path
) -> None:
    content = random.Random(method).randbytes(_CHUNK + (_CHUNK >> 4))  # does not compress
    entry = RawEntry("pb_public/photo.jpg", content, method=method)
    assert len(compress(entry)) > _CHUNK
    path = tmp_path / "app.zip"
    path.write_bytes(raw_zip(app(entry)))
    assert inspect_zip(path).uncompressed_size == len(FAKE_BINARY) + len(content) + 22


def test_inspecting_a_bzip2_bomb_keeps_memory_flat(tmp_path: Path) -> None:
    payload = bz2.compress(bytes(48 << 20), 1)  # 48 MB of zeros in a few hundred bytes
    # Declared below the ratio checks' size floor, so only the bounded reader can catch it.
    bomb = RawEntry("pb_public/a.bin", b"", method=zipfile.ZIP_BZIP2, payload=payload,
                    declared_size=1000 << 10, declared_crc=0)  # fmt: skip
    path = tmp_path / "bomb.zip"
    path.write_bytes(raw_zip(app(bomb)))
    tracemalloc.start()
    try:
        with pytest.raises(ArtifactRejected) as caught:
            inspect_zip(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "unpacks to more than the 1000.0 KiB its header declares" in caught.value.message
    assert peak < 16 << 20, f"inspecting the bomb took {peak >> 20} MiB"


def test_names_outside_ascii_are_accepted_from_old_and_new_tools(tmp_path: Path) -> None:
    """New tools flag names as UTF-8; old ones write CP437 without the flag."""
    entries = [
        binary(),
        RawEntry("pb_public/café.html", b"<p>caf\xc3\xa9</p>"),
        RawEntry("pb_public/Übersicht.txt", b"alt", utf8=False),
    ]
    path = tmp_path / "app.zip"
    path.write_bytes(raw_zip(entries))
    assert inspect_zip(path).entry_count == 3


def test_ratio_limits_at_their_edge_are_accepted(tmp_path: Path) -> None:
    """An entry exactly at the ratio limit passes; one above the size floor is judged."""
    stored = RawEntry("pb_public/data.bin", _RANDOMISH_64K)  # stored: ratio exactly 1
    path = tmp_path / "app.zip"
    path.write_bytes(raw_zip([binary(), stored]))
    at_ratio = ArchiveLimits(max_ratio=1.0, ratio_min_size=0)
    assert inspect_zip(path, limits=at_ratio).entry_count == 2
    with pytest.raises(ArtifactRejected) as caught:
        inspect_zip(path, limits=ArchiveLimits(max_ratio=0.99, ratio_min_size=0))
    assert caught.value.code == RejectCode.ZIP_BOMB.value


def test_a_whole_zip_exactly_at_its_limits_is_accepted(tmp_path: Path) -> None:
    """Each entry is below the size floor; the zip's total sits exactly on both limits."""
    halves = [RawEntry(f"pb_public/{i}.bin", bytes(600_000), method=zipfile.ZIP_DEFLATED)
              for i in range(2)]  # fmt: skip
    zeros = raw_zip([binary(), *halves])
    total = len(FAKE_BINARY) + 1_200_000
    stub = b"#" * (-len(zeros) % 1000 + 1000)  # foreign bytes before the zip: size divides total
    size = len(stub) + len(zeros)
    while total % size:
        stub += b"#"
        size += 1
    path = tmp_path / "app.zip"
    path.write_bytes(stub + zeros)
    fold = total // size
    assert inspect_zip(path, limits=ArchiveLimits(max_ratio=fold - 1, ratio_min_size=total))
    assert inspect_zip(path, limits=ArchiveLimits(max_ratio=fold, ratio_min_size=700_000))
    with pytest.raises(ArtifactRejected) as caught:
        inspect_zip(path, limits=ArchiveLimits(max_ratio=fold - 1, ratio_min_size=700_000))
    assert f"the zip expands {fold}-fold (" in caught.value.message


def test_names_at_linuxs_limits_are_accepted_and_one_byte_more_is_not(tmp_path: Path) -> None:
    """255 bytes per path component and 4096 per path, as Linux filesystems allow."""
    longest_part = "pb_public/" + "a" * 255
    parts = ["pb_public", *(["b" * 254] * 16)]
    longest_path = "/".join(parts) + "/" + "c" * (4096 - len("/".join(parts)) - 1)
    assert (len(longest_part) - 10, len(longest_path)) == (255, 4096)
    path = tmp_path / "app.zip"
    path.write_bytes(raw_zip(app(RawEntry(longest_part, b"x"), RawEntry(longest_path, b"y"))))
    assert inspect_zip(path).entry_count == 4
    for too_long in (longest_part + "a", longest_path + "c"):
        path.write_bytes(raw_zip(app(RawEntry(too_long, b"x"))))
        with pytest.raises(ArtifactRejected) as caught:
            inspect_zip(path)
        assert caught.value.code == RejectCode.INVALID_NAME.value
        assert caught.value.message.startswith(f"entry {too_long[:80]!r}... has a name too long")

"""Bad zips made at test time: one case per way an archive can be unsafe or broken.

Each case breaks exactly one thing in an otherwise good app, so the refusal it gets proves
that one check.
"""

from __future__ import annotations

import gzip
import stat
import zipfile
import zlib
from collections.abc import Callable

from pbdeployer.artifacts import ArchiveLimits, RejectCode
from tests.unit.artifacts.zip_corpus import DIR, FAKE_BINARY, BadZip, RawEntry, app, raw_zip

_MIB = 1 << 20


def _cut(data: bytes, keep: float) -> bytes:
    return data[: int(len(data) * keep)]


def _patch_second_local_header(at: int, value: bytes) -> Callable[[], bytes]:
    """Overwrite bytes of the migration's local header, leaving the central directory true."""

    def build() -> bytes:
        data = bytearray(_GOOD())
        start = data.index(b"PK\x03\x04", 1) + at
        data[start : start + len(value)] = value
        return bytes(data)

    return build


def _central_only_encryption() -> bytes:
    """The last entry is flagged encrypted in the central directory but not in its local
    header: a reader that trusts the local header would unpack what it cannot decrypt."""
    data = bytearray(raw_zip(app(RawEntry("pb_public/secret.txt", b"s", flags=0x1))))
    last_local = data.rindex(b"PK\x03\x04", 0, data.index(b"PK\x01\x02"))
    data[last_local + 6 : last_local + 8] = (0x800).to_bytes(2, "little")
    return bytes(data)


def _last_entry_at_offset(where: Callable[[int], int]) -> Callable[[], bytes]:
    """A good app whose last central-directory entry points at ``where(file size)``."""

    def build() -> bytes:
        data = bytearray(_GOOD())
        last = data.rindex(b"PK\x01\x02")
        data[last + 42 : last + 46] = where(len(data)).to_bytes(4, "little")
        return bytes(data)

    return build


def _local_name_not_utf8() -> bytes:
    """A local header flagged UTF-8 whose name bytes are not UTF-8 at all."""
    good = raw_zip(app(RawEntry("pb_public/ab.txt", b"a", local_name="pb_public/\xe9.txt")))
    return good.replace("\xe9".encode(), b"\xff\xfe", 1)


def _entries(*extra: RawEntry, **options: int) -> Callable[[], bytes]:
    return lambda: raw_zip(app(*extra), **options)


BAD_DEFLATE = b"\xff" * 50
BAD_BZIP2 = b"BZh9" + b"\0" * 40
_ZEROS_10M = bytes(10 * _MIB)
_ONE_MIB_ZEROS = bytes(_MIB)
_RANDOMISH = bytes((i * 7919 + 13) % 251 for i in range(4000))
_GOOD = _entries()
_LAST_TOO_LONG = RawEntry("pb_public/app.js", b"x" * 100, declared_compressed_size=10_000)

CASES: tuple[BadZip, ...] = (
    BadZip("empty_file", RejectCode.NOT_A_ZIP, "empty", lambda: b""),
    BadZip(
        "text_file",
        RejectCode.NOT_A_ZIP,
        "the file is not a zip archive; upload a .zip (tar, gzip and other formats are not "
        "accepted)",
        lambda: b"hello, world\n" * 10,
    ),
    BadZip("gzip_file", RejectCode.NOT_A_ZIP, "not a zip", lambda: gzip.compress(b"x" * 999)),
    BadZip("cut_in_half", RejectCode.TRUNCATED, "cut off", lambda: _cut(_GOOD(), 0.5)),
    BadZip(
        "cut_before_end",
        RejectCode.TRUNCATED,
        "the zip ends before its table of contents; the upload was probably cut off, upload it "
        "again",
        lambda: _GOOD()[:-10],
    ),
    BadZip(
        "data_past_end",
        RejectCode.TRUNCATED,
        "'pb_public/app.js' runs past the end of the file; the upload was probably cut off, "
        "upload it again",
        _entries(_LAST_TOO_LONG),
    ),
    BadZip(
        "header_past_end",
        RejectCode.TRUNCATED,
        "'pb_migrations/1700000000_init.js' runs past the end of the file",
        _last_entry_at_offset(lambda size: size + 10),
    ),
    BadZip(
        "central_directory_damaged",
        RejectCode.CORRUPT,
        "table of contents",
        lambda: _GOOD().replace(b"PK\x01\x02", b"XX\x01\x02", 1),
    ),
    BadZip(
        "local_name_differs",
        RejectCode.CORRUPT,
        "is named 'pb_public/b.txt' in its local header; tools disagree on which name wins, so "
        "re-create the zip",
        _entries(RawEntry("pb_public/a.txt", b"a", local_name="pb_public/b.txt")),
    ),
    BadZip(
        "local_name_not_utf8",
        RejectCode.CORRUPT,
        "in its local header",
        _local_name_not_utf8,
    ),
    BadZip(
        "local_header_damaged",
        RejectCode.CORRUPT,
        "no local header",
        _patch_second_local_header(0, b"XX"),
    ),
    BadZip(
        "damaged_deflate",
        RejectCode.CORRUPT,
        "entry 'pb_public/a.txt' holds damaged compressed data",
        _entries(
            RawEntry(
                "pb_public/a.txt", b"a" * 100, method=zipfile.ZIP_DEFLATED, payload=BAD_DEFLATE
            )
        ),
    ),
    BadZip(
        "damaged_bzip2",
        RejectCode.CORRUPT,
        "damaged compressed data",
        _entries(RawEntry("pb_public/a.txt", b"a", method=zipfile.ZIP_BZIP2, payload=BAD_BZIP2)),
    ),
    BadZip(
        "shorter_than_declared",
        RejectCode.CORRUPT,
        "less than",
        _entries(RawEntry("pb_public/a.txt", b"abc", declared_size=5, payload=b"abc")),
    ),
    BadZip(
        "encrypted_flag",
        RejectCode.ENCRYPTED,
        "password",
        _entries(RawEntry("pb_public/secret.txt", b"s", flags=0x1)),
    ),
    BadZip(
        "encrypted_in_central_directory_only",
        RejectCode.ENCRYPTED,
        "password",
        _central_only_encryption,
    ),
    BadZip(
        "encrypted_in_local_header",
        RejectCode.ENCRYPTED,
        "password",
        _patch_second_local_header(6, bytes([0x01, 0x08])),
    ),
    BadZip(
        "aes_method",
        RejectCode.ENCRYPTED,
        "password",
        _entries(RawEntry("pb_public/secret.txt", b"s", method=99)),
    ),
    BadZip(
        "lzma_method",
        RejectCode.UNSUPPORTED_COMPRESSION,
        "uses LZMA compression, which hosts cannot unpack; re-create the zip with deflate, the "
        "default of zip and most tools",
        _entries(RawEntry("pb_public/a.txt", b"a", method=14, payload=b"\x00" * 9)),
    ),
    BadZip(
        "unknown_method",
        RejectCode.UNSUPPORTED_COMPRESSION,
        "'pb_public/a.txt' uses method 7 compression",
        _entries(RawEntry("pb_public/a.txt", b"a", method=7)),
    ),
    BadZip(
        "newline_in_name",
        RejectCode.INVALID_NAME,
        "control characters",
        _entries(RawEntry("pb_public/a\nb.txt", b"a")),
    ),
    BadZip(
        "nul_in_name",
        RejectCode.INVALID_NAME,
        "control characters",
        lambda: raw_zip([RawEntry("pocketbase\x00.txt", FAKE_BINARY)]),
    ),
    BadZip(
        "component_too_long",
        RejectCode.INVALID_NAME,
        "too long",
        _entries(RawEntry("pb_public/" + "x" * 300, b"a")),
    ),
    BadZip(
        "dot_only_name",
        RejectCode.INVALID_NAME,
        "no file name",
        _entries(RawEntry("./", b"", mode=DIR)),
    ),
    BadZip(
        "absolute_unix",
        RejectCode.ABSOLUTE_PATH,
        "'/etc/cron.d/evil' has an absolute path",
        _entries(RawEntry("/etc/cron.d/evil", b"* * * * * root id\n")),
    ),
    BadZip(
        "absolute_backslash",
        RejectCode.ABSOLUTE_PATH,
        "absolute path",
        _entries(RawEntry("\\Windows\\evil.dll", b"MZ")),
    ),
    BadZip(
        "absolute_drive",
        RejectCode.ABSOLUTE_PATH,
        "absolute path",
        _entries(RawEntry("C:/evil.dll", b"MZ")),
    ),
    BadZip(
        "dotdot_leading",
        RejectCode.PATH_TRAVERSAL,
        "'../evil' escapes the app directory",
        _entries(RawEntry("../evil", b"x")),
    ),
    BadZip(
        "dotdot_nested",
        RejectCode.PATH_TRAVERSAL,
        "entry 'a/../../etc/passwd' escapes the app directory",
        _entries(RawEntry("a/../../etc/passwd", b"root::0:0::/:/bin/sh\n")),
    ),
    BadZip(
        "dotdot_backslash",
        RejectCode.PATH_TRAVERSAL,
        "escapes the app directory",
        _entries(RawEntry("pb_public\\..\\..\\evil", b"x")),
    ),
    BadZip(
        "dotdot_mixed",
        RejectCode.PATH_TRAVERSAL,
        "escapes the app directory",
        _entries(RawEntry("pb_public/..\\../evil", b"x")),
    ),
    BadZip(
        "symlink",
        RejectCode.SYMLINK,
        "entry 'pb_public/passwd' is a symbolic link, which could point outside the app "
        "directory; put the file itself in the zip",
        _entries(RawEntry("pb_public/passwd", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)),
    ),
    BadZip(
        "char_device",
        RejectCode.SPECIAL_FILE,
        "character device",
        _entries(RawEntry("pb_public/null", mode=stat.S_IFCHR | 0o666)),
    ),
    BadZip(
        "block_device",
        RejectCode.SPECIAL_FILE,
        "block device",
        _entries(RawEntry("pb_public/sda", mode=stat.S_IFBLK | 0o660)),
    ),
    BadZip(
        "fifo",
        RejectCode.SPECIAL_FILE,
        "named pipe",
        _entries(RawEntry("pb_public/pipe", mode=stat.S_IFIFO | 0o644)),
    ),
    BadZip(
        "socket",
        RejectCode.SPECIAL_FILE,
        "socket",
        _entries(RawEntry("pb_public/sock", mode=stat.S_IFSOCK | 0o644)),
    ),
    BadZip(
        "same_name_twice",
        RejectCode.DUPLICATE_ENTRY,
        "'pocketbase' appears more than once",
        _entries(RawEntry("pocketbase", b"second binary")),
    ),
    BadZip(
        "same_path_spelled_twice",
        RejectCode.DUPLICATE_ENTRY,
        "more than once",
        _entries(RawEntry("./pb_public//index.html", b"a"), RawEntry("pb_public/index.html")),
    ),
    BadZip(
        "file_and_folder",
        RejectCode.DUPLICATE_ENTRY,
        "'pb_hooks' is both a file and the folder of entry 'pb_hooks/main.pb.js'; rename one of "
        "them",
        _entries(RawEntry("pb_hooks", b"x"), RawEntry("pb_hooks/main.pb.js", b"y")),
    ),
    BadZip(
        "file_and_folder_deeper",
        RejectCode.DUPLICATE_ENTRY,
        "'pb_public/img' is both a file and the folder of entry 'pb_public/img/a/b/c.png'",
        _entries(RawEntry("pb_public/img", b"x"), RawEntry("pb_public/img/a/b/c.png", b"y")),
    ),
    BadZip(
        "too_many_entries",
        RejectCode.TOO_MANY_ENTRIES,
        "above the limit of 5; leave node_modules, pb_data and build caches out of the zip",
        _entries(*(RawEntry(f"pb_public/{i}.txt", b"x") for i in range(4))),
        ArchiveLimits(max_entries=5),
    ),
    BadZip(
        "count_understated",
        RejectCode.TOO_MANY_ENTRIES,
        "above the limit of 5",
        _entries(*(RawEntry(f"pb_public/{i}.txt", b"x") for i in range(4)), declared_count=2),
        ArchiveLimits(max_entries=5),
    ),
    BadZip(
        "zip64_count",
        RejectCode.TOO_MANY_ENTRIES,
        "declares 70000 entries",
        _entries(zip64_count=70_000),
    ),
    BadZip(
        "default_entry_limit",
        RejectCode.TOO_MANY_ENTRIES,
        "above the limit of 10000",
        _entries(*(RawEntry(f"pb_public/{i}") for i in range(10_000))),
    ),
    BadZip(
        "too_large",
        RejectCode.TOO_LARGE_UNCOMPRESSED,
        "above the 1.0 KiB limit; leave pb_data and other large files out of the zip",
        _entries(RawEntry("pb_public/data.bin", _RANDOMISH)),
        ArchiveLimits(max_uncompressed=1024),
    ),
    BadZip(
        "entry_ratio",
        RejectCode.ZIP_BOMB,
        "'pb_public/zeros.bin' expands",
        _entries(RawEntry("pb_public/zeros.bin", _ZEROS_10M, method=zipfile.ZIP_DEFLATED)),
    ),
    BadZip(
        "bzip2_ratio",
        RejectCode.ZIP_BOMB,
        "-fold limit; real files do not compress this well, so it is refused as a zip bomb",
        _entries(RawEntry("pb_public/zeros.bin", _ZEROS_10M, method=zipfile.ZIP_BZIP2)),
    ),
    BadZip(
        "overall_ratio",
        RejectCode.ZIP_BOMB,
        "beyond the 200-fold limit; real apps do not compress this well, so it is refused as a "
        "zip bomb",
        _entries(
            *(
                RawEntry(f"pb_public/{i}.bin", _ONE_MIB_ZEROS, method=zipfile.ZIP_DEFLATED)
                for i in range(20)
            )
        ),
    ),
    BadZip(
        "size_understated",
        RejectCode.ZIP_BOMB,
        "more than the 1000 B its header declares",
        _entries(
            RawEntry(
                "pb_public/small.txt",
                _ZEROS_10M,
                method=zipfile.ZIP_DEFLATED,
                declared_size=1000,
                declared_crc=zlib.crc32(bytes(1000)),
            )
        ),
    ),
    BadZip(
        "bzip2_size_understated",
        RejectCode.ZIP_BOMB,
        "more than the 1000 B its header declares",
        _entries(
            RawEntry(
                "pb_public/small.txt",
                _ZEROS_10M,
                method=zipfile.ZIP_BZIP2,
                declared_size=1000,
                declared_crc=zlib.crc32(bytes(1000)),
            )
        ),
    ),
    BadZip(
        "overlapping_entries",
        RejectCode.ZIP_BOMB,
        "share the same bytes; overlapping entries are how zip bombs multiply their size",
        _entries(
            RawEntry("pb_public/a.txt", _RANDOMISH),
            RawEntry("pb_public/b.txt", _RANDOMISH, same_bytes_as="pb_public/a.txt"),
        ),
    ),
    BadZip(
        "crc_wrong",
        RejectCode.CRC_MISMATCH,
        "'pb_public/a.txt' fails its CRC check, so its content is damaged; upload the zip again "
        "or re-create it",
        _entries(RawEntry("pb_public/a.txt", b"hello", declared_crc=zlib.crc32(b"hellp"))),
    ),
    BadZip(
        "no_binary",
        RejectCode.MISSING_BINARY,
        "no file named 'pocketbase' at the root",
        lambda: raw_zip(app()[1:]),
    ),
    BadZip(
        "binary_in_folder",
        RejectCode.MISSING_BINARY,
        "found 'myapp/pocketbase'",
        lambda: raw_zip([RawEntry("myapp/pocketbase", FAKE_BINARY), *app()[1:]]),
    ),
    BadZip(
        "binary_two_folders_down",
        RejectCode.MISSING_BINARY,
        "found 'dist/myapp/pocketbase': zip the folder's contents",
        lambda: raw_zip([RawEntry("dist/myapp/pocketbase", FAKE_BINARY), *app()[1:]]),
    ),
    BadZip(
        "binary_is_folder",
        RejectCode.MISSING_BINARY,
        "no file named 'pocketbase'",
        lambda: raw_zip([RawEntry("pocketbase/", mode=DIR), *app()[1:]]),
    ),
    BadZip(
        "binary_empty",
        RejectCode.MISSING_BINARY,
        "is empty",
        lambda: raw_zip([RawEntry("pocketbase"), *app()[1:]]),
    ),
)

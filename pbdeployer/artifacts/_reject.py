"""Why an archive was refused: stable codes clients can branch on, and readable sizes."""

from __future__ import annotations

from enum import StrEnum

from pbdeployer.errors import ArtifactRejected


class RejectCode(StrEnum):
    """The stable ``code`` carried by every ``ArtifactRejected`` the archive checks raise."""

    NOT_A_ZIP = "not_a_zip"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    ENCRYPTED = "encrypted"
    UNSUPPORTED_COMPRESSION = "unsupported_compression"
    INVALID_NAME = "invalid_name"
    ABSOLUTE_PATH = "absolute_path"
    PATH_TRAVERSAL = "path_traversal"
    SYMLINK = "symlink"
    SPECIAL_FILE = "special_file"
    DUPLICATE_ENTRY = "duplicate_entry"
    TOO_MANY_ENTRIES = "too_many_entries"
    TOO_LARGE_UNCOMPRESSED = "too_large_uncompressed"
    ZIP_BOMB = "zip_bomb"
    CRC_MISMATCH = "crc_mismatch"
    MISSING_BINARY = "missing_binary"


def reject(code: RejectCode, message: str) -> ArtifactRejected:
    """Build the error; callers ``raise reject(...)`` so the raise stays visible."""
    return ArtifactRejected(message, code=code.value)


def human_size(n: int) -> str:
    """Bytes as a person reads them: ``1.5 GiB``."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB"):
        value /= 1024
        if value < 1024:
            return f"{value:.1f} {unit}"
    return f"{value / 1024:.1f} GiB"


def too_many_entries(how_many: str, limit: int) -> Exception:
    """The one message for a zip over the entry limit, however the count was learnt."""
    return reject(
        RejectCode.TOO_MANY_ENTRIES,
        f"the zip {how_many} entries, above the limit of {limit}; "
        "leave node_modules, pb_data and build caches out of the zip",
    )

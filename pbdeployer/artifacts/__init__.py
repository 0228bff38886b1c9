"""Version artifacts: checking app zips and storing them by content.

Pure and host-independent: nothing here extracts, runs or uploads anything.
"""

from pbdeployer.artifacts.archive import ArchiveInfo, ArchiveLimits, RejectCode, inspect_zip
from pbdeployer.artifacts.blobs import BlobStore, StagedBlob

__all__ = [
    "ArchiveInfo",
    "ArchiveLimits",
    "BlobStore",
    "RejectCode",
    "StagedBlob",
    "inspect_zip",
]

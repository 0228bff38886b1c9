"""Build this scenario's app zips into DIR, each with DIR/<name>.sha256: python zips.py DIR.

v1: PocketBase 0.40.5 with a migration creating the collection "notes" (anyone may create
and list records); v2: 0.40.6 with one more migration ("tags"); broken: a binary that exits
at once, with a third migration.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.pocketbase import build_app_zip, collection_migration, pocketbase_binary

NOTES = collection_migration("notes")
TAGS = collection_migration("tags")
EXTRA = collection_migration("extra")


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    zips = {
        "v1": build_app_zip(folder / "v1.zip", binary=pocketbase_binary("0.40.5"),
                            migrations={"1_notes.js": NOTES}),
        "v2": build_app_zip(folder / "v2.zip", binary=pocketbase_binary("0.40.6"),
                            migrations={"1_notes.js": NOTES, "2_tags.js": TAGS}),
        "broken": build_app_zip(folder / "broken.zip", binary=b"#!/bin/sh\nexit 1\n",
                                migrations={"1_notes.js": NOTES, "2_tags.js": TAGS,
                                            "3_extra.js": EXTRA}),
    }  # fmt: skip
    for name, path in zips.items():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        (folder / f"{name}.sha256").write_text(digest)


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""Where the Ansible content lives, installed or in a source checkout.

A wheel carries ``playbooks/``, ``roles/``, ``plugins/``, ``inventory_templates/`` and the
collection's ``galaxy.yml`` inside the package at ``pbdeployer/_content/``; a source checkout
keeps them at the repository root next to the package. Both are found through
``importlib.resources`` so ``pip install`` works anywhere. The root is the Ansible collection
``pbdeployer.pocketbase`` itself: runs load it from there, as a person's install loads the
built collection, so both run the same content.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import msgspec

from pbdeployer.errors import InvalidInput

_PARTS = ("playbooks", "roles", "plugins", "inventory_templates")
# The collection the playbooks name their roles and plugins by (galaxy.yml).
COLLECTION_NAMESPACE = "pbdeployer"
COLLECTION_NAME = "pocketbase"


class ContentPaths(msgspec.Struct, frozen=True, kw_only=True):
    root: Path
    playbooks: Path
    roles: Path
    inventory_templates: Path


def _has_content(root: Path) -> bool:
    parts = all((root / part).is_dir() for part in _PARTS)
    return parts and (root / "galaxy.yml").is_file()


def _package_dir() -> Path:
    located = resources.files("pbdeployer")
    if not isinstance(located, Path):
        msg = "pbdeployer must be installed as files on disk, not imported from an archive"
        raise RuntimeError(msg)
    return located


@functools.cache
def content_paths() -> ContentPaths:
    """Locate the content once per process."""
    return locate_content(_package_dir())


def locate_content(package: Path) -> ContentPaths:
    """The content for the package at ``package``: the wheel's copy wins over a checkout's."""
    for candidate in (package / "_content", package.parent):
        if _has_content(candidate):
            root = candidate.resolve()
            return ContentPaths(
                root=root,
                playbooks=root / "playbooks",
                roles=root / "roles",
                inventory_templates=root / "inventory_templates",
            )
    msg = f"Ansible content ({', '.join(_PARTS)}) not found in {package} or its parent"
    raise RuntimeError(msg)


def playbook_path(name: str) -> Path:
    """Resolve a playbook name under ``playbooks/``; an absolute path is taken as given.

    Names cannot climb out of ``playbooks/``, so a name can never point at other files.
    """
    given = Path(name)
    if given.is_absolute():
        path = given
    else:
        base = content_paths().playbooks
        path = (base / name).resolve()
        if base not in path.parents:
            raise InvalidInput.single("playbook", "must name a playbook inside playbooks/")
    if not path.is_file():
        raise InvalidInput.single("playbook", f"no such playbook: {name}")
    return path

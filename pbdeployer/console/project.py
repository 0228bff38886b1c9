"""``pbdeployer.toml``: what ``pbdeployer deploy`` with no arguments deploys, from where.

    app = "notes"          # the app to deploy
    server = "web1"        # the server it runs on; the app is created there when missing
    source = "dist"        # a directory (zipped on the fly) or a zip, relative to this file

The file is looked for in the current directory and its parents, as git looks for ``.git``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec

from pbdeployer.console.exits import CommandError

FILE_NAME = "pbdeployer.toml"


class Project(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    app: str
    server: str | None = None
    source: str = "."
    notes: str = ""


class FoundProject(msgspec.Struct, frozen=True, kw_only=True):
    project: Project
    source: Path
    """The source resolved against the file's directory."""


def find_project(start: Path) -> FoundProject | None:
    for folder in (start, *start.parents):
        path = folder / FILE_NAME
        if path.is_file():
            return _load(path)
    return None


def _load(path: Path) -> FoundProject:
    try:
        project = msgspec.convert(tomllib.loads(path.read_text()), Project)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise CommandError(f"{path}: {exc}") from exc
    return FoundProject(project=project, source=(path.parent / project.source).resolve())

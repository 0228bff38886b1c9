"""``versions``: labelled builds of an app, from a zip or a directory zipped on the fly."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from pbdeployer.console import resolve
from pbdeployer.console.context import json_option, run
from pbdeployer.console.exits import CommandError
from pbdeployer.console.render import Column, Output
from pbdeployer.console.target import Target
from pbdeployer.models import App, Version, VersionCreate

VERSION_COLUMNS: list[Column[Version]] = [
    Column("VERSION", lambda v: v.version_number),
    Column("SIZE", lambda v: f"{(v.zip_size or 0) / 1e6:.1f} MB" if v.zip_size else ""),
    Column("UPLOADED", lambda v: v.uploaded_at),
    Column("NOTES", lambda v: v.notes),
    Column("ID", lambda v: v.id),
]
VERSION_FIELDS: list[Column[Version]] = [
    Column("version", lambda v: v.version_number),
    Column("id", lambda v: v.id),
    Column("app", lambda v: v.app_id),
    Column("zip bytes", lambda v: v.zip_size),
    Column("zip entries", lambda v: v.zip_entry_count),
    Column("uploaded", lambda v: v.uploaded_at),
    Column("notes", lambda v: v.notes),
]


def default_label() -> str:
    """A label for a version nobody named: the UTC time, which sorts and never repeats soon."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


@contextmanager
def zip_of(source: Path) -> Iterator[Path]:
    """``source`` itself when it is a zip; a directory zipped (its contents at the root)."""
    if source.is_file():
        yield source
        return
    if not source.is_dir():
        raise CommandError(f"{source} is neither a zip nor a directory")
    with tempfile.TemporaryDirectory(prefix="pbdeployer-zip-") as scratch:
        base = Path(scratch) / (source.resolve().name or "app")
        yield Path(shutil.make_archive(str(base), "zip", root_dir=source))


async def add_version(
    target: Target, app: App, source: Path, label: str | None, notes: str
) -> Version:
    data = VersionCreate(app_id=app.id, version_number=label or default_label(), notes=notes)
    with zip_of(source) as path:
        return await target.add_version(data, path)


@click.group("versions")
def versions() -> None:
    """Versions (builds) of an app."""


@versions.command("create")
@click.argument("app")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--label", help="the version's label (default: the UTC time)")
@click.option("--notes", default="", help="free text kept with the version")
@json_option
def create(app: str, source: Path, label: str | None, notes: str) -> None:
    """Create a version of APP from a zip or a directory (zipped on the fly)."""

    async def body(target: Target, out: Output) -> None:
        found = await resolve.app(target, app)
        out.record(await add_version(target, found, source, label, notes), VERSION_FIELDS)

    run(body)


@versions.command("list")
@click.argument("app")
@json_option
def list_versions(app: str) -> None:
    """List the versions of APP, oldest first."""

    async def body(target: Target, out: Output) -> None:
        found = await resolve.app(target, app)
        items = await resolve.every(lambda page: target.versions(page, found.id))
        out.table(items, VERSION_COLUMNS)

    run(body)

"""Names people type (``web1``, ``notes``, ``v2``) to the records they stand for; ids work too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pbdeployer.console.target import Target
from pbdeployer.errors import NotFound
from pbdeployer.models import MAX_PER_PAGE, App, Page, PageRequest, Server, Version, is_id

T = TypeVar("T")
Fetch = Callable[[PageRequest], Awaitable[Page[T]]]


async def every(fetch: Fetch[T]) -> list[T]:
    """All items of a paged list, oldest first."""
    found: list[T] = []
    page = 1
    while True:
        got = await fetch(PageRequest(page=page, per_page=MAX_PER_PAGE))
        found.extend(got.items)
        if page >= got.total_pages:
            return found
        page += 1


async def newest(fetch: Fetch[T], count: int) -> list[T]:
    """The ``count`` newest items of a paged list (oldest first), in at most three requests."""
    count = max(1, min(count, MAX_PER_PAGE))
    first = await fetch(PageRequest(page=1, per_page=count))
    if first.total <= count:
        return first.items
    last_page = -(-first.total // count)
    last = await fetch(PageRequest(page=last_page, per_page=count))
    if len(last.items) == count:
        return last.items
    before = await fetch(PageRequest(page=last_page - 1, per_page=count))
    return (before.items + last.items)[-count:]


async def server(target: Target, ref: str) -> Server:
    if is_id(ref):
        try:
            return await target.server(ref)
        except NotFound:
            pass
    for found in await every(target.servers):
        if found.name == ref:
            return found
    raise NotFound(f"no server named '{ref}' (see 'pbdeployer servers list')")


async def app(target: Target, ref: str) -> App:
    if is_id(ref):
        try:
            return await target.app(ref)
        except NotFound:
            pass
    for found in await every(target.apps):
        if found.name == ref:
            return found
    raise NotFound(f"no app named '{ref}' (see 'pbdeployer apps list')")


async def version(target: Target, of: App, ref: str) -> Version:
    """The app's version labelled ``ref`` (or with that id)."""
    versions = await every(lambda page: target.versions(page, of.id))
    for found in versions:
        if ref in (found.version_number, found.id):
            return found
    raise NotFound(f"app '{of.name}' has no version '{ref}' (see 'pbdeployer versions list')")


async def latest_version(target: Target, of: App) -> Version:
    versions = await newest(lambda page: target.versions(page, of.id), 1)
    if not versions:
        raise NotFound(f"app '{of.name}' has no version yet: give a zip or a directory")
    return versions[-1]

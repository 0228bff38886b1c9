"""Shapes shared by every resource: pages of results and the list query."""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import msgspec

from pbdeployer.errors import InvalidInput

T = TypeVar("T")

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000


MAX_CURSOR_CHARS = 200


class ListOrder(enum.StrEnum):
    """Which end of a list comes first: by creation time (deployments) or id (the others),
    which sort the same way (ids are time-sortable ULIDs)."""

    OLDEST = "oldest"
    NEWEST = "newest"


class Page(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """One page of a list, in a stable order (oldest first unless ``newest`` was asked)."""

    items: list[T]
    page: int
    per_page: int
    total: int
    total_pages: int
    next_cursor: str | None = None
    """Pass as ``cursor`` for the page after this one; ``None`` on the last page."""


class PageRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A numbered page (``page``), or the page after a ``cursor`` a previous page gave.

    A cursor page costs what the first page costs however deep it is.
    """

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    order: ListOrder = ListOrder.OLDEST
    cursor: str | None = None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def by_id(item: Any) -> tuple[str, ...]:
    """The sort key of every list but deployments'."""
    return (str(item.id),)


def encode_cursor(key: Sequence[str]) -> str:
    """An opaque cursor naming the sort key of the last item of a page."""
    return base64.urlsafe_b64encode(msgspec.json.encode(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str]:
    """The sort key a cursor names; a 422 on ``cursor`` for anything a page did not give out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = msgspec.json.decode(raw, type=list[str])
    except (binascii.Error, ValueError, msgspec.DecodeError):
        key = []
    if len(cursor) > MAX_CURSOR_CHARS or len(key) != size:
        raise InvalidInput.single("cursor", "is not a cursor this list gave out")
    return key


def make_page(
    items: list[T],
    request: PageRequest,
    total: int,
    sort_key: Callable[[T], tuple[str, ...]] = by_id,
) -> Page[T]:
    """The page; a next cursor when the page is full (the next one may be empty)."""
    next_cursor = encode_cursor(sort_key(items[-1])) if len(items) == request.per_page else None
    pages = (total + request.per_page - 1) // request.per_page
    return Page(
        items=items, page=request.page, per_page=request.per_page, total=total,
        total_pages=pages, next_cursor=next_cursor,
    )  # fmt: skip

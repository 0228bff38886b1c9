"""Shapes shared by every resource: pages of results and the list query."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

T = TypeVar("T")

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000


class Page(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """One page of a list, in a stable order (oldest first)."""

    items: list[T]
    page: int
    per_page: int
    total: int
    total_pages: int


class PageRequest(msgspec.Struct, frozen=True, kw_only=True):
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def make_page(items: list[T], request: PageRequest, total: int) -> Page[T]:
    pages = (total + request.per_page - 1) // request.per_page
    return Page(
        items=items, page=request.page, per_page=request.per_page, total=total, total_pages=pages
    )

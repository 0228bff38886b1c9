"""Query parameters every list shares."""

from __future__ import annotations

from typing import Annotated

from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from pbdeployer.deployer import Deployer
from pbdeployer.models.common import (
    DEFAULT_PER_PAGE,
    MAX_CURSOR_CHARS,
    MAX_PAGE,
    MAX_PER_PAGE,
    ListOrder,
    PageRequest,
)

PageNumber = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="1-based page number")]
PerPage = Annotated[
    int, QueryParameter(ge=1, le=MAX_PER_PAGE, description=f"items per page (max {MAX_PER_PAGE})")
]
Order = Annotated[
    ListOrder,
    QueryParameter(description="`oldest` first (the default) or `newest` first, by creation"),
]
Cursor = Annotated[
    str | None,
    QueryParameter(
        max_length=MAX_CURSOR_CHARS,
        description="`next_cursor` of the previous page: the page after it, as cheap as the "
        "first however deep (leave `page` out)",
    ),
]
Search = Annotated[
    str | None, QueryParameter(max_length=100, description="case-insensitive name search")
]


DeployerDep = NamedDependency[Deployer]
Id = FromPath[str]
OptionalId = FromQuery[str | None]


def page_request(
    page: int, per_page: int, order: ListOrder = ListOrder.OLDEST, cursor: str | None = None
) -> PageRequest:
    return PageRequest(page=page, per_page=per_page, order=order, cursor=cursor)


__all__ = [
    "DEFAULT_PER_PAGE",
    "Cursor",
    "DeployerDep",
    "Id",
    "ListOrder",
    "OptionalId",
    "Order",
    "PageNumber",
    "PerPage",
    "Search",
    "page_request",
]

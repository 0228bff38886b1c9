"""Page requests are checked the same way for every list."""

from __future__ import annotations

from pbdeployer.models.common import MAX_PAGE, MAX_PER_PAGE, PageRequest
from pbdeployer.validation import Problems


def checked_page(request: PageRequest) -> PageRequest:
    problems = Problems()
    if not 1 <= request.page <= MAX_PAGE:
        problems.add("page", f"must be between 1 and {MAX_PAGE}")
    if not 1 <= request.per_page <= MAX_PER_PAGE:
        problems.add("per_page", f"must be between 1 and {MAX_PER_PAGE}")
    if request.cursor is not None and request.page != 1:
        problems.add("page", "must be 1 (or left out) with a cursor")
    problems.raise_if_any()
    return request

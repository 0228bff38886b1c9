"""Page requests are checked the same way for every list."""

from __future__ import annotations

from pbdeployer.models import MAX_PER_PAGE, PageRequest
from pbdeployer.validation import Problems


def checked_page(request: PageRequest) -> PageRequest:
    problems = Problems()
    if request.page < 1:
        problems.add("page", "must be 1 or more")
    if not 1 <= request.per_page <= MAX_PER_PAGE:
        problems.add("per_page", f"must be between 1 and {MAX_PER_PAGE}")
    problems.raise_if_any()
    return request
